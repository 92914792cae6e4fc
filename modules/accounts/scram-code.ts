import type { Asset, Assets } from '../../firmware/device/core/assets';
import { scramServer } from './scram-server';

/**
 * Where the SCRAM server's code comes from: the bundle itself here; the Kaluma build replaces this
 * file with one that evaluates it from the image's assets at each login (firmware/host/ondemand.ts,
 * core/code.ts).
 */
export function scramCode(_assets: Assets, _id: Asset.CODE_SCRAM): typeof scramServer {
  return scramServer;
}

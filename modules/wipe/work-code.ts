import type { Asset, Assets } from '../../firmware/device/core/assets';
import { wipeWorkCode } from './work';

/**
 * Where the factory wipe's work (work.ts) comes from: the bundle itself here (host and Espruino).
 * The Kaluma image build replaces this file with core/code.ts's `loadCode` itself, which evaluates
 * asset `id` (12, which callers pass) from the image's assets when a wipe is asked for or resumed
 * (firmware/host/ondemand.ts): the work runs once in a unit's life, JerryScript keeps the bytecode of
 * everything the program parses for as long as it runs, and the image holds no function for this.
 */
export function wipeWork(_assets: Pick<Assets, 'find' | 'read'>, _id: Asset.CODE_WIPE): typeof wipeWorkCode {
  return wipeWorkCode;
}

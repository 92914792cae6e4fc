import type { Asset } from '../../firmware/device/core/assets';
import type { AssetReader } from '../../hal/board';
import { picoConnect } from './tcp-client';

/**
 * Where the Pico W's TCP client comes from. Here, from the bundle itself (library bundles, tests).
 * The Kaluma image build replaces this file with one that evaluates the client's text from the
 * image's assets (asset 9) when a pull connects (firmware/host/ondemand.ts, core/code.ts):
 * JerryScript keeps the bytecode of everything the program parses in its heap for as long as the
 * program runs, and a unit pulls once a day at most.
 */
export function tcpClient(_assets: AssetReader, _id: Asset.CODE_TCP_CLIENT): typeof picoConnect {
  return picoConnect;
}

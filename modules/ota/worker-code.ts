import type { Asset, Assets } from '../../firmware/device/core/assets';
import type { ModuleContext } from '../../firmware/device/core/module';
import { createWorker, type UpdateWorker } from './worker';

/**
 * Where the update worker's code comes from. Here, from the bundle itself (host and Espruino: an
 * Espruino image runs from Storage, where function code stays in flash until called). The Kaluma
 * build replaces this file with one that evaluates the worker's text from the image's assets when
 * an update begins (firmware/host/ondemand.ts, core/code.ts): JerryScript keeps the bytecode of
 * everything the program parses in its heap for as long as the program runs.
 */
export function updateWorker(_assets: Assets, _id: Asset.CODE_UPDATE_WORKER): (context: ModuleContext, restartDelay: number) => UpdateWorker {
  return createWorker;
}

import type { Asset, Assets } from '../../firmware/device/core/assets';
import { scheduleInput } from './schedule-input';

/**
 * Where the schedule's parser (schedule-input.ts) comes from. Here, from the bundle itself (host
 * and Espruino, library bundles). The Kaluma image build replaces this file with one that
 * evaluates its text from the image's assets (asset 11) when a schedule arrives
 * (firmware/host/ondemand.ts, core/code.ts): JerryScript keeps the bytecode of everything the
 * program parses in its heap for as long as the program runs.
 */
export function scheduleCode(_assets: Assets, _id: Asset.CODE_SCHEDULE): typeof scheduleInput {
  return scheduleInput;
}

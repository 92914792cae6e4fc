import type { Asset, Assets } from '../../firmware/device/core/assets';
import { passwordTools } from './password-check';

/**
 * Where the new-password check's code (and the filter's slices') comes from: the bundle itself here; the Kaluma build
 * replaces this file with one that evaluates it from the image's assets when a password is
 * changed (firmware/host/ondemand.ts, core/code.ts).
 */
export function passwordCheck(_assets: Assets, _id: Asset.CODE_PASSWORD_CHECK): typeof passwordTools {
  return passwordTools;
}

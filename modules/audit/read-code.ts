import type { Asset, Assets } from '../../firmware/device/core/assets';
import { auditReader } from './read';

/**
 * Where the log's reader code comes from (`GET /api/log`, `GET /api/security`, and the log's forget
 * at a factory wipe): the bundle itself here. Like modules/ota/worker-code.ts, a Kaluma build
 * replaces this file, here with core/code.ts's `loadCode` itself, which evaluates asset `id` (13,
 * which callers pass) from the image's assets when an administrator reads the log or the unit is
 * wiped (firmware/host/ondemand.ts), so that the reader's code takes heap only while it runs and the
 * image holds no function for this.
 */
export function auditRead(_assets: Pick<Assets, 'find' | 'read'> | undefined, _id: Asset.CODE_AUDIT_READER): typeof auditReader {
  return auditReader;
}

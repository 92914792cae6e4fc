import type { Assets } from '../../firmware/device/core/assets';
import { auditReader } from './read';

/**
 * Where the log's reader code comes from (`GET /api/log`, `GET /api/security`): the bundle itself
 * here. Like modules/ota/worker-code.ts, a Kaluma build can replace this file with one that evaluates
 * the reader from the image's assets when an administrator reads the log (firmware/host/ondemand.ts,
 * core/code.ts), so that its code takes heap only while it answers.
 */
export function auditRead(_assets: Assets): typeof auditReader {
  return auditReader;
}

import { bytesAscii } from '../../firmware/device/core/bytes';
import { encodeSchedule, parseSchedule, type ScheduleEntry } from './schedule';

/**
 * The body of PUT /api/relay/schedule: the entries and their stored form, or why they are refused
 * (schedule.ts `parseSchedule`). A schedule changes now and then, so a Kaluma image reads this code
 * from its assets when one arrives (asset 11: firmware/host/ondemand.ts, schedule-code.ts) and
 * lets it go once it has answered.
 */
export function scheduleInput(body: Uint8Array): { ok: true; entries: ScheduleEntry[]; stored: Uint8Array } | { ok: false; reason: string } {
  const parsed = parseSchedule(bytesAscii(body));
  return parsed.ok ? { ok: true, entries: parsed.entries, stored: encodeSchedule(parsed.entries) } : parsed;
}

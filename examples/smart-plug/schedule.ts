/**
 * The smart plug's schedule: up to eight daily switch times in UTC ("HH:MM", on or off). Parsed
 * from untrusted JSON by `parseSchedule`, which never throws and names what it refused.
 */
export interface ScheduleEntry {
  /** Minutes after midnight UTC, 0..1439. */
  minute: number;
  on: boolean;
}

/** The schedule's numbers (a const enum: the bundler writes the values into the code). */
export const enum Schedule {
  MAX_ENTRIES = 8,
}
export const MAX_ENTRIES = Schedule.MAX_ENTRIES;

/** The key named "at" (read by name: a literal `.at` reads like Array.prototype.at, which the runtimes lack). */
const AT = 'at';

export type ScheduleResult = { ok: true; entries: ScheduleEntry[] } | { ok: false; reason: string };

/** "HH:MM" (00:00-23:59) → minutes, or -1. */
export function parseTime(text: unknown): number {
  if (typeof text !== 'string' || text.length !== 5) return -1;
  // Digits, and ":" at 2 (char codes: 48-57 are "0"-"9", 58 is ":").
  for (let i = 0; i < 5; i++) {
    const c = text.charCodeAt(i);
    if (i === 2 ? c !== 58 : c < 48 || c > 57) return -1;
  }
  const h = Number(text.slice(0, 2));
  const m = Number(text.slice(3));
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

/** `{"entries": [{"at": "07:30", "on": true}, …]}`: at most eight, no two at the same minute, no other keys. */
export function parseSchedule(body: string): ScheduleResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: 'the body is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'the body must be an object {"entries": [...]}' };
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'entries') return { ok: false, reason: 'the body must have exactly one key, "entries"' };
  const list = (value as { entries: unknown }).entries;
  if (!Array.isArray(list)) return { ok: false, reason: '"entries" must be an array' };
  if (list.length > Schedule.MAX_ENTRIES) return { ok: false, reason: 'at most ' + Schedule.MAX_ENTRIES + ' entries' };
  const entries: ScheduleEntry[] = [];
  const seen: { [minute: string]: boolean } = {};
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return { ok: false, reason: 'entry ' + i + ' must be an object {"at": "HH:MM", "on": true|false}' };
    const k = Object.keys(e).sort();
    if (k.length !== 2 || k[0] !== 'at' || k[1] !== 'on') return { ok: false, reason: 'entry ' + i + ' must have exactly the keys "at" and "on"' };
    const fields = e as { [key: string]: unknown };
    const minute = parseTime(fields[AT]);
    if (minute < 0) return { ok: false, reason: 'entry ' + i + ': "at" must be a UTC time "HH:MM" from 00:00 to 23:59' };
    const on = fields.on;
    if (typeof on !== 'boolean') return { ok: false, reason: 'entry ' + i + ': "on" must be true or false' };
    if (seen[minute]) return { ok: false, reason: 'entry ' + i + ': another entry already switches at that minute' };
    seen[minute] = true;
    entries.push({ minute: minute, on: on });
  }
  return { ok: true, entries: entries };
}

/** The entry due at `wallTime` (ms since the epoch), or undefined. */
export function dueEntry(entries: ScheduleEntry[], wallTime: number): ScheduleEntry | undefined {
  const minute = Math.floor(wallTime / 60000) % 1440;
  for (let i = 0; i < entries.length; i++) if (entries[i]!.minute === minute) return entries[i];
  return undefined;
}

export function formatTime(minute: number): string {
  const h = Math.floor(minute / 60);
  const m = minute % 60;
  return (h < 10 ? '0' : '') + h + ':' + (m < 10 ? '0' : '') + m;
}

/** Stored form of a schedule: 3 bytes per entry, minute (16-bit little-endian) then on (0 or 1). */
export function encodeSchedule(entries: ScheduleEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * 3);
  for (let i = 0; i < entries.length; i++) {
    out[i * 3] = entries[i]!.minute & 255;
    out[i * 3 + 1] = entries[i]!.minute >> 8;
    out[i * 3 + 2] = entries[i]!.on ? 1 : 0;
  }
  return out;
}

/**
 * A stored schedule (untrusted bytes): the entries, or undefined if they are not a valid schedule.
 * `release`: a device reads it once, at start, and lets go of this function (a `let`: its bytecode
 * is freed once it returns).
 */
export let decodeSchedule = function (bytes: Uint8Array, release?: boolean): ScheduleEntry[] | undefined {
  if (release) decodeSchedule = undefined as never;
  if (bytes.length % 3 !== 0 || bytes.length > Schedule.MAX_ENTRIES * 3) return undefined;
  const entries: ScheduleEntry[] = [];
  const seen: { [minute: string]: boolean } = {};
  for (let i = 0; i < bytes.length; i += 3) {
    const minute = bytes[i]! | (bytes[i + 1]! << 8);
    const on = bytes[i + 2];
    if (minute >= 1440 || (on !== 0 && on !== 1) || seen[minute]) return undefined;
    seen[minute] = true;
    entries.push({ minute: minute, on: on === 1 });
  }
  return entries;
};

import type { Flash } from '../../../hal/flash';
import { partition } from '../../../hal/flash';
import { putU32, u16, u32 } from './bytes';
import { crc32 } from './crc32';
import { message } from './messages';

/**
 * The boot control record and the A/B slots of signed updates (docs/formats/update.md §3–5),
 * shared by the loader (firmware/device/loader.ts), the boards and modules/ota.
 *
 * The record lives in two erase units (the two halves of the `bootctl` partition). Each half holds
 * at most one record, at offset 0; the valid one with the highest `seq` is current. A new record
 * goes to the other half: erase it, write the record, so a power cut at any point leaves the
 * previous record or the new one current, never none. Stored bytes are untrusted: reading never
 * throws on them (a bad half is skipped; no valid half reads as the factory default).
 */

/** Slot states (§5, slot info offset 0). */
export const enum SlotState {
  EMPTY = 0,
  RECEIVING = 1,
  RECEIVED = 2,
  VERIFY = 3,
  VERIFIED = 4,
  TRIAL = 5,
  GOOD = 6,
  BAD = 7,
}

export const enum Boot {
  /** A slot's first 4 KB: u32 L, the COSE_Sign1 that filled it (L ≤ 1024), FF (§4); the payload follows. */
  SLOT_HEADER = 4096,
  /** Bytes written per record (§5). */
  RECORD = 512,
  /** `trial` when no slot is on trial. */
  NO_TRIAL = 0xff,
  MAX_KEYS = 4,
  MAX_RETIRED = 8,
  /** How many §6 codes there are, the empty one included (UPDATE_REASONS.length). */
  REASONS = 25,
}

/**
 * The §6 codes the loader itself writes, by their index in UPDATE_REASONS: the loader uses these
 * numbers, not the names, so that none of the names is a literal of its text (on Kaluma every
 * literal of the parsed loader stays in the heap for good).
 */
export const enum Reason {
  PACKAGE_MALFORMED = 2,
  NOT_CONFIRMED = 22,
  TRIAL_CRASHED = 23,
}

/** Record layout (§5): offsets and sizes, for this file only. */
const enum Layout {
  SEQ = 4,
  ACTIVE = 8,
  TRIAL = 9,
  TRIES = 10,
  FLOOR = 12,
  SLOTS = 16,
  SLOT = 64,
  KEY_COUNT = 144,
  RETIRED_COUNT = 145,
  KEYS = 148,
  KEY = 40,
  RETIRED = 308,
  CRC = 372,
  /** Bytes 0 … 375 carry the record; 376 … 511 are FF. */
  END = 376,
  /** The payload's pieces are aligned to this (the assets container starts at a multiple of it, §3). */
  ALIGN = 4096,
}

/** One slot's info (§5, 64 bytes). */
export interface SlotInfo {
  state: number;
  /** Index of the §6 code in UPDATE_REASONS (0: none). */
  reason: number;
  /** [major, minor, patch]. */
  version: number[];
  counter: number;
  /** Payload bytes. */
  size: number;
  /** App text bytes (0: not known, e.g. the factory default: see appOf). */
  app: number;
  /** Payload bytes written so far (state receiving). */
  received: number;
  /** SHA-256 of the payload, 32 bytes. */
  digest: Uint8Array;
  /** The signer's kid, 8 bytes (zeros for the factory image). */
  kid: Uint8Array;
}

/** The boot control record (§5). */
export interface BootRecord {
  /** 0 for the factory default (no record stored); writeBootRecord sets it. */
  seq: number;
  /** The slot booted normally (0 = A, 1 = B). */
  active: number;
  /** The slot booted on trial while tries remain, or Boot.NO_TRIAL. */
  trial: number;
  /** Trial boots left. */
  tries: number;
  /** Counter floor: the highest committed security counter. */
  floor: number;
  /** A then B. */
  slots: SlotInfo[];
  /** Keys added by key-rotation packages (at most Boot.MAX_KEYS). */
  keys: { kid: Uint8Array; key: Uint8Array }[];
  /** Retired kids (at most Boot.MAX_RETIRED). */
  retired: Uint8Array[];
}

/** The refusal codes of §6 in order; a bad slot keeps the index of its code (0: none). */
export const UPDATE_REASONS: string[] = [
  '',
  'package-truncated',
  'package-malformed',
  'package-too-large',
  'alg-unsupported',
  'manifest-malformed',
  'manifest-unknown-field',
  'format-unsupported',
  'key-unknown',
  'key-retired',
  'signature-invalid',
  'wrong-vendor',
  'wrong-model',
  'wrong-runtime',
  'wrong-board',
  'counter-rollback',
  'version-not-newer',
  'image-too-large',
  'size-mismatch',
  'digest-mismatch',
  'offset-mismatch',
  'update-busy',
  'not-confirmed',
  'trial-crashed',
  'key-rotation-refused',
];

/** A slot's info as the factory default has it: `state`, everything else zero. */
export function emptySlot(state: number): SlotInfo {
  return { state: state, reason: 0, version: [0, 0, 0], counter: 0, size: 0, app: 0, received: 0, digest: new Uint8Array(32), kid: new Uint8Array(8) };
}

/** The factory default (§5): slot A active and good, B empty, floor 0, no keys added or retired, seq 0 (none stored). */
export function factoryRecord(): BootRecord {
  return { seq: 0, active: 0, trial: Boot.NO_TRIAL, tries: 0, floor: 0, slots: [emptySlot(SlotState.GOOD), emptySlot(SlotState.EMPTY)], keys: [], retired: [] };
}

function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
}

function putBytes(b: Uint8Array, at: number, v: Uint8Array, n: number, what: string): void {
  if (!v || v.length !== n) throw new RangeError('boot record: ' + what + ' must be ' + n + ' bytes');
  b.set(v, at);
}

function byte(v: number, max: number, what: string): number {
  if (!(v >= 0 && v <= max) || v !== Math.floor(v)) throw new RangeError('boot record: ' + what + ' out of range');
  return v;
}

/**
 * The 512 bytes of `r` (§5). A value out of its field's range is a programming error: RangeError
 * naming the field.
 */
export function encodeBootRecord(r: BootRecord): Uint8Array {
  const b = new Uint8Array(Boot.RECORD);
  b[0] = 0x48;
  b[1] = 0x42;
  b[2] = 0x43;
  b[3] = 0x31;
  putU32(b, Layout.SEQ, r.seq);
  b[Layout.ACTIVE] = byte(r.active, 1, 'active');
  b[Layout.TRIAL] = r.trial === Boot.NO_TRIAL ? Boot.NO_TRIAL : byte(r.trial, 1, 'trial');
  b[Layout.TRIES] = byte(r.tries, 255, 'tries');
  putU32(b, Layout.FLOOR, r.floor);
  if (!r.slots || r.slots.length !== 2) throw new RangeError('boot record: slots must be two');
  for (let i = 0; i < 2; i++) {
    const s = r.slots[i];
    const p = Layout.SLOTS + i * Layout.SLOT;
    b[p] = byte(s.state, SlotState.BAD, message('slot state'));
    b[p + 1] = byte(s.reason, Boot.REASONS - 1, message('slot reason'));
    for (let j = 0; j < 3; j++) putU16(b, p + 2 + 2 * j, byte(s.version[j], 65535, message('slot version')));
    putU32(b, p + 8, s.counter);
    putU32(b, p + 12, s.size);
    putU32(b, p + 16, s.app);
    putU32(b, p + 20, s.received);
    putBytes(b, p + 24, s.digest, 32, message('slot digest'));
    putBytes(b, p + 56, s.kid, 8, message('slot kid'));
  }
  b[Layout.KEY_COUNT] = byte(r.keys.length, Boot.MAX_KEYS, 'keys');
  b[Layout.RETIRED_COUNT] = byte(r.retired.length, Boot.MAX_RETIRED, 'retired');
  for (let i = 0; i < r.keys.length; i++) {
    putBytes(b, Layout.KEYS + i * Layout.KEY, r.keys[i].kid, 8, message('added key kid'));
    putBytes(b, Layout.KEYS + i * Layout.KEY + 8, r.keys[i].key, 32, 'key');
  }
  for (let i = 0; i < r.retired.length; i++) putBytes(b, Layout.RETIRED + i * 8, r.retired[i], 8, message('retired kid'));
  putU32(b, Layout.CRC, crc32(b, 0, Layout.CRC));
  b.fill(0xff, Layout.END);
  return b;
}

/**
 * The record in `bytes` (at least the first 376 of them), or undefined: wrong magic or CRC-32, or
 * a field no writer produces (active not 0/1, trial not 0/1/FF, a state past 7, a reason past the
 * table, more than 4 keys or 8 retired kids, reserved bytes not 0). Never throws on the bytes.
 */
export function decodeBootRecord(bytes: Uint8Array): BootRecord | undefined {
  if (!bytes || bytes.length < Layout.END) return undefined;
  if (bytes[0] !== 0x48 || bytes[1] !== 0x42 || bytes[2] !== 0x43 || bytes[3] !== 0x31) return undefined;
  if (crc32(bytes, 0, Layout.CRC) !== u32(bytes, Layout.CRC)) return undefined;
  const trial = bytes[Layout.TRIAL];
  const k = bytes[Layout.KEY_COUNT];
  const n = bytes[Layout.RETIRED_COUNT];
  if (bytes[Layout.ACTIVE] > 1 || (trial > 1 && trial !== Boot.NO_TRIAL) || bytes[11] !== 0 || k > Boot.MAX_KEYS || n > Boot.MAX_RETIRED || u16(bytes, 146) !== 0) return undefined;
  const slots: SlotInfo[] = [];
  for (let i = 0; i < 2; i++) {
    const p = Layout.SLOTS + i * Layout.SLOT;
    if (bytes[p] > SlotState.BAD || bytes[p + 1] >= Boot.REASONS) return undefined;
    slots.push({
      state: bytes[p],
      reason: bytes[p + 1],
      version: [u16(bytes, p + 2), u16(bytes, p + 4), u16(bytes, p + 6)],
      counter: u32(bytes, p + 8),
      size: u32(bytes, p + 12),
      app: u32(bytes, p + 16),
      received: u32(bytes, p + 20),
      digest: bytes.slice(p + 24, p + 56),
      kid: bytes.slice(p + 56, p + 64),
    });
  }
  const keys: { kid: Uint8Array; key: Uint8Array }[] = [];
  for (let i = 0; i < k; i++) {
    const p = Layout.KEYS + i * Layout.KEY;
    keys.push({ kid: bytes.slice(p, p + 8), key: bytes.slice(p + 8, p + Layout.KEY) });
  }
  const retired: Uint8Array[] = [];
  for (let i = 0; i < n; i++) retired.push(bytes.slice(Layout.RETIRED + i * 8, Layout.RETIRED + i * 8 + 8));
  return { seq: u32(bytes, Layout.SEQ), active: bytes[Layout.ACTIVE], trial: trial, tries: bytes[Layout.TRIES], floor: u32(bytes, Layout.FLOOR), slots: slots, keys: keys, retired: retired };
}

/** The half (0 or 1) of `bootctl` holding the current record, or -1 if neither holds a valid one; `found` receives the record. */
function current(bootctl: Flash, found: BootRecord[]): number {
  const half = bootctl.size / 2;
  let unit = -1;
  for (let i = 0; i < 2; i++) {
    const r = decodeBootRecord(bootctl.read(i * half, Layout.END));
    if (r && (unit < 0 || r.seq > found[0].seq)) {
      unit = i;
      found[0] = r;
    }
  }
  return unit;
}

/** The current record of `bootctl` (two halves, each a whole number of erase units), or the factory default. Never throws on stored bytes. */
export function readBootRecord(bootctl: Flash): BootRecord {
  const found: BootRecord[] = [];
  return current(bootctl, found) < 0 ? factoryRecord() : found[0];
}

/**
 * Writes `record` as the new current record (§5): its `seq` becomes the stored current's + 1 (1 if
 * none), into the half that does not hold the current record: erase that half, write 512 bytes
 * (padded with FF to whole write units). A power cut leaves the previous record or this one current.
 */
export function writeBootRecord(bootctl: Flash, record: BootRecord): void {
  const found: BootRecord[] = [];
  const unit = current(bootctl, found);
  record.seq = unit < 0 ? 1 : (found[0].seq + 1) >>> 0;
  const bytes = encodeBootRecord(record);
  const half = bootctl.size / 2;
  const at = unit === 0 ? half : 0;
  const w = bootctl.writeSize;
  let data = bytes;
  if (Boot.RECORD % w !== 0) {
    data = new Uint8Array(Math.ceil(Boot.RECORD / w) * w).fill(0xff);
    data.set(bytes);
  }
  bootctl.erase(at, half);
  bootctl.write(at, data);
}

/** The slot the device runs: the trial slot while one is set, else the active one. */
export function runningSlot(record: BootRecord): number {
  return record.trial === Boot.NO_TRIAL ? record.active : record.trial;
}

/**
 * The length of the app text in `slot` (§3): `app` when the record knows it (non-zero), otherwise
 * found in the slot — the app text holds neither 00 nor FF, so the first payload boundary of 4 KB
 * whose previous byte is 00 or FF ends the app's span, and the app ends at the NUL before the FF
 * run there. 0 if the slot holds no app text. Reads a byte per 4 KB and one 4 KB block.
 */
export function appOf(slot: Flash, app: number): number {
  if (app > 0) return app;
  const end = slot.size - Boot.SLOT_HEADER;
  let at = Layout.ALIGN;
  for (; at <= end; at += Layout.ALIGN) {
    const b = slot.read(Boot.SLOT_HEADER + at - 1, 1)[0];
    if (b === 0 || b === 0xff) break;
  }
  if (at > end) return 0;
  const block = slot.read(Boot.SLOT_HEADER + at - Layout.ALIGN, Layout.ALIGN);
  let i = Layout.ALIGN - 1;
  while (i >= 0 && block[i] === 0xff) i--;
  return i >= 0 && block[i] === 0 && at - Layout.ALIGN + i > 0 ? at - Layout.ALIGN + i : 0;
}

/**
 * The assets container region of `slot` (§3: from the first 4 KB boundary of the payload after the
 * app text's NUL to the end of the slot), as a flash of its own; undefined if the slot holds no app
 * text or leaves no room after it. `app` is the record's (0: found with appOf).
 */
export function assetsOf(slot: Flash, app: number): Flash | undefined {
  const n = appOf(slot, app);
  if (n <= 0) return undefined;
  const start = Boot.SLOT_HEADER + Math.ceil((n + 1) / Layout.ALIGN) * Layout.ALIGN;
  return start < slot.size ? partition(slot, start, slot.size - start) : undefined;
}

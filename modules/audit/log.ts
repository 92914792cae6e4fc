import { Asset, type Assets } from '../../firmware/device/core/assets';
import { putU32, u16, u32 } from '../../firmware/device/core/bytes';
import { crc32 } from '../../firmware/device/core/crc32';
import type { HttpRequest, HttpResponse } from '../../firmware/device/core/module';
import type { Clock } from '../../hal/clock';
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { Audit, headerOf } from './format';
import { auditRead } from './read-code';

/**
 * The security log's ring (docs/formats/audit.md): fixed 64-byte entries appended in order, each
 * MAC'd over the one before it, sector by sector, the oldest sector erased when the ring comes back
 * to it. An event costs one program of its entry and one of its commit byte, and every E / 64 − 1
 * entries an erase and a header program. This file is the writer: the open (once per boot, let go
 * of on a device once it has run), and the append with its sector start and the counters, resident
 * while the device runs. A factory wipe's forget is forget.ts, the reader (`GET /api/log`,
 * `GET /api/security`) read.ts: a Kaluma image reads both from its assets when it needs them
 * (read-code.ts). Never throws on what the flash holds.
 */

/** The anomaly counters' window: ten-minute buckets, the current one and the six before it. */
export const enum Window {
  BUCKET_MS = 600000,
  BUCKETS = 7,
  /** Numbers per counter in `Ring.counts`: 4, then the buckets. */
  COUNTER = 11,
}

/** Where the log's flash comes from: `log`, read each time the log writes or reads it. */
export interface LogPartition {
  readonly log?: Flash;
}

/** The ring as the writer keeps it in RAM, and the reader reads it. */
export interface Ring {
  /**
   * The log's flash is `part.log`: a board's partitions, which on Kaluma and the ESP32 make the
   * flash object when asked for, so that the log holds none between its writes (on Kaluma one is
   * about 380 bytes of heap); or an object holding the flash (the host, tests).
   */
  part: LogPartition;
  /** Sector bytes, sectors, slots per sector (the header's included). */
  E: number;
  N: number;
  S: number;
  /** The newest sector's ring position (−1: none) and sequence number, and its next free slot. */
  pos: number;
  sector: number;
  slot: number;
  /** The next entry's sequence number, and the MAC it chains from (the last entry's, or the anchor). */
  seq: number;
  mac: Uint8Array;
  /** This boot's number (one more than the last entry's at open; 1 in a new log). */
  boot: number;
  /** The newest sector holds a forget's wipe entry and nothing after it. */
  wiped: boolean;
  /** The chain key (modules/keys `audit-log`). */
  key: Uint8Array;
  clock: Clock;
  /**
   * Failed logins (from 0) and refused updates (from `Window.COUNTER`), in RAM: since boot, the
   * newest bucket's number, the last one's uptime s, its wall time s (0: none), then the buckets'
   * counts; and the last one's detail of each. Made at the first event counted (until then: none).
   */
  counts?: number[];
  details?: string[];
}

/** The assets a Kaluma image reads forget.ts and read.ts from (none: the code is linked, as on the host). */
export type CodeAssets = Pick<Assets, 'find' | 'read'> | undefined;

export interface AuditLog {
  ring: Ring;
  /** Records an event (core/services SecurityLog.event): never throws. */
  event(kind: string, detail?: string): void;
  /** SecurityLog.forget: throws if the flash fails (a wipe is then resumed at the next boot). */
  forget(): void;
  /** The handler of `GET /api/log` and `GET /api/security`: the reader's answer (read.ts, read-code.ts). */
  serve(request: HttpRequest, reply: (response: HttpResponse) => void): void;
}

/** The sequence number of the oldest entry kept: the first in ring order after the newest sector whose header is in the ring's range. */
export function oldestSeq(r: Ring): number {
  const flash = r.part.log!;
  for (let i = 1; i <= r.N; i++) {
    const h = headerOf(flash.read(((r.pos + i) % r.N) * r.E, Audit.HEADER));
    if (h && h[0] <= r.sector && h[0] + r.N > r.sector) return h[1];
  }
  return r.seq;
}

/** Programs `bytes` at `at` of `flash`, padded with 0xff to whole write units (0xff leaves a byte as it is). */
export function program(flash: Flash, at: number, bytes: Uint8Array): void {
  const w = flash.writeSize;
  const from = at - (at % w);
  const data = new Uint8Array(Math.ceil((at + bytes.length) / w) * w - from);
  data.fill(0xff);
  data.set(bytes, at - from);
  flash.write(from, data);
}

/**
 * Appends an entry of `text` to the ring: the entry, then its commit byte; the slot is used even if
 * a write fails. Throws if the flash fails. When the newest sector is full (or none was started), the
 * next sector is started first: erased whole (the oldest sector's entries go), then its header,
 * anchored to the last entry's MAC; a power cut anywhere in that leaves the newest sector as it was.
 * Without `text`, it only does that (a full sector at open); with `r.slot` set to `r.S`, a new sector
 * is started whether or not the newest is full (a wipe's forget). All in one function: on Kaluma
 * each function costs its own heap.
 */
export function append(r: Ring, p: CryptoProvider, text?: string): void {
  const flash = r.part.log!;
  if (r.slot >= r.S) {
    const next = r.pos < 0 ? 0 : (r.pos + 1) % r.N;
    flash.erase(next * r.E, r.E);
    // Its header (docs/formats/audit.md): magic "HSLG", version, sector and first entry's numbers,
    // the anchor (the last entry's MAC), the CRC-32 of the 32 bytes before it.
    const h = new Uint8Array(Audit.HEADER);
    h.set([0x48, 0x53, 0x4c, 0x47, Audit.VERSION]);
    putU32(h, Audit.SECTOR_AT, r.sector + 1);
    putU32(h, Audit.FIRST_AT, r.seq);
    h.set(r.mac, Audit.ANCHOR_AT);
    putU32(h, Audit.CRC_AT, crc32(h, 0, Audit.CRC_AT));
    program(flash, next * r.E, h);
    r.pos = next;
    r.sector++;
    r.slot = 1;
  }
  if (text === undefined) return;
  const at = r.pos * r.E + r.slot * Audit.SLOT;
  r.slot++;
  const b = new Uint8Array(Audit.SLOT);
  const wall = r.clock.wallTime();
  putU32(b, 0, r.seq);
  putU32(b, Audit.WALL_AT, wall === undefined ? 0 : Math.floor(wall / 1000));
  putU32(b, Audit.UPTIME_AT, Math.floor(r.clock.now() / 1000));
  b[Audit.BOOT_AT] = r.boot & 255;
  b[Audit.BOOT_AT + 1] = r.boot >> 8;
  // Printable ASCII; anything else becomes "?", and a text cut short ends with "~".
  for (let i = 0; i < text.length && i < Audit.TEXT; i++) {
    const c = text.charCodeAt(i);
    b[Audit.TEXT_AT + i] = i === Audit.TEXT - 1 && text.length > Audit.TEXT ? Audit.CUT : c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  // The MAC: the first 16 bytes of HMAC-SHA-256(key, the previous entry's MAC (or the anchor) ‖
  // the entry's bytes 0–46).
  const input = new Uint8Array(Audit.MAC + Audit.MAC_AT);
  input.set(r.mac, 0);
  input.set(b.subarray(0, Audit.MAC_AT), Audit.MAC);
  const m = p.hmacSha256(r.key, input).subarray(0, Audit.MAC);
  b.set(m, Audit.MAC_AT);
  b[Audit.COMMIT_AT] = 0xff;
  program(flash, at, b);
  program(flash, at + Audit.COMMIT_AT, new Uint8Array([Audit.COMMIT]));
  r.mac = new Uint8Array(m);
  r.seq++;
  r.wiped = false;
}

/**
 * Opens the log in `flash`, keyed by `key` (32 bytes: modules/keys `audit-log`). At open: the
 * newest sector is the valid header with the greatest sector sequence number; its last programmed
 * slot is found (slots are programmed in order), and the chain continues from its last complete
 * entry; slots without the commit byte (torn by a power cut) are skipped and said on the console.
 * When that sector is full the next one is started at once, so that an erase cut by a power loss
 * never leaves a half-erased sector in the log. Afterwards the log reads `flash` as `part.log`
 * (a device passes its board's partitions). A device opens once (`release`): the opening code is
 * then let go, and what stays is the ring and the log's functions, which hold the ring, `p` and
 * `assets` (a Kaluma image's, where forget.ts and read.ts are read from).
 */
export let openLog = function (flash: Flash, p: CryptoProvider, key: Uint8Array, clock: Clock, release?: boolean, assets?: CodeAssets, part?: LogPartition): AuditLog {
  if (release) openLog = undefined as never;
  const E = flash.eraseSize;
  const N = Math.floor(flash.size / E);
  const S = Math.floor(E / Audit.SLOT);
  const r: Ring = { part: part || { log: flash }, E: E, N: N, S: S, pos: -1, sector: 0, slot: S, seq: 1, mac: new Uint8Array(Audit.MAC), boot: 1, wiped: false, key: key, clock: clock };
  // A header's sector and first entry's numbers, or undefined (format.ts headerOf, repeated here:
  // on a device it goes with this function. This function's own functions use none of its
  // variables, or they would stay in the heap with the log's.)
  const header = function (b: Uint8Array): number[] | undefined {
    if (b[0] !== 0x48 || b[1] !== 0x53 || b[2] !== 0x4c || b[3] !== 0x47 || b[4] !== Audit.VERSION || (b[5] | b[6] | b[7]) !== 0 || crc32(b, 0, Audit.CRC_AT) !== u32(b, Audit.CRC_AT)) return undefined;
    const s = u32(b, Audit.SECTOR_AT);
    const f = u32(b, Audit.FIRST_AT);
    return s > 0 && f > 0 ? [s, f] : undefined;
  };
  const erased = function (b: Uint8Array, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (b[i] !== 0xff) return false;
    return true;
  };
  for (let i = 0; i < N; i++) {
    const b = flash.read(i * E, Audit.HEADER);
    const h = header(b);
    if (h && h[0] > r.sector) {
      r.sector = h[0];
      r.pos = i;
    } else if (!h && !erased(b, 0, Audit.HEADER)) console.log('[audit] sector ' + i + ' of the log is unreadable: erased when the ring reaches it');
  }
  if (r.pos >= 0) {
    // The newest sector in one read; its last programmed slot by bisection (programmed slots come first).
    const sec = flash.read(r.pos * E, E);
    let lo = 0;
    let hi = S;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (erased(sec, mid * Audit.SLOT, (mid + 1) * Audit.SLOT)) hi = mid;
      else lo = mid;
    }
    r.slot = lo + 1;
    let last = -1;
    let complete = 0;
    for (let s = 1; s <= lo; s++) {
      if (sec[s * Audit.SLOT + Audit.COMMIT_AT] !== Audit.COMMIT) continue;
      complete++;
      last = s * Audit.SLOT;
    }
    if (lo > complete) console.log('[audit] ' + (lo - complete) + ' slots of the newest sector hold no complete entry (writes cut by a power loss): skipped');
    // A forget's wipe entry alone in its sector ("wipe" or "wipe …").
    r.wiped = lo === 1 && complete === 1 && sec[78] === 0x77 && sec[79] === 0x69 && sec[80] === 0x70 && sec[81] === 0x65 && (sec[82] === 0 || sec[82] === 0x20);
    let b = last < 0 ? undefined : sec.subarray(last, last + Audit.SLOT);
    if (b) {
      r.seq = u32(b, 0) + 1;
      r.mac = new Uint8Array(b.subarray(Audit.MAC_AT, Audit.MAC_AT + Audit.MAC));
    } else {
      r.seq = u32(sec, Audit.FIRST_AT);
      r.mac = new Uint8Array(sec.subarray(Audit.ANCHOR_AT, Audit.ANCHOR_AT + Audit.MAC));
      // The boot number from the last complete entry of the sector before.
      const before = ((r.pos + N - 1) % N) * E;
      const h = header(flash.read(before, Audit.HEADER));
      for (let s = S - 1; h && h[0] === r.sector - 1 && s > 0 && !b; s--) {
        const x = flash.read(before + s * Audit.SLOT, Audit.SLOT);
        if (x[Audit.COMMIT_AT] === Audit.COMMIT) b = x;
      }
    }
    if (b) r.boot = (u16(b, Audit.BOOT_AT) + 1) & 0xffff;
  }

  // A full newest sector: the next one now (its erase, if a power cut interrupted it, is done again).
  try {
    if (r.pos >= 0 && r.slot >= S) append(r, p);
  } catch (error) {
    console.log('[audit] the next sector could not be started: ' + String((error as Error).message || error));
  }

  return {
    ring: r,
    event: function (kind: string, detail?: string): void {
      // The anomaly counters first (RAM: they count what the log could not write too).
      const k = kind === 'login-failed' ? 0 : kind === 'update-refused' ? Window.COUNTER : -1;
      if (k >= 0) {
        if (!r.counts) {
          r.counts = [];
          for (let i = 0; i < 2 * Window.COUNTER; i++) r.counts.push(0);
          r.details = ['', ''];
        }
        const c = r.counts;
        const now = r.clock.now();
        const e = Math.floor(now / Window.BUCKET_MS);
        for (let x = c[k + 1] + 1; x <= e && x <= c[k + 1] + Window.BUCKETS; x++) c[k + 4 + (x % Window.BUCKETS)] = 0;
        if (e > c[k + 1]) c[k + 1] = e;
        const wall = r.clock.wallTime();
        c[k]++;
        c[k + 4 + (c[k + 1] % Window.BUCKETS)]++;
        c[k + 2] = Math.floor(now / 1000);
        c[k + 3] = wall === undefined ? 0 : Math.floor(wall / 1000);
        r.details![k ? 1 : 0] = detail || '';
      }
      try {
        append(r, p, detail ? kind + ' ' + detail : kind);
      } catch (error) {
        console.log('[audit] ' + kind + ' not written: ' + String((error as Error).message || error));
      }
    },
    // forget.ts (with the reader's code): a new sector holding the wipe entry, then every other sector erased.
    forget: function (): void {
      auditRead(assets, Asset.CODE_AUDIT_READER).forget(r, p);
    },
    // read.ts, its code fetched per request.
    serve: function (request: HttpRequest, reply: (response: HttpResponse) => void): void {
      reply(auditRead(assets, Asset.CODE_AUDIT_READER).answer(r, request));
    },
  };
};

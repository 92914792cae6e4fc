import { putU32, u16, u32 } from '../../firmware/device/core/bytes';
import type { Clock } from '../../hal/clock';
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { Audit, encodeHeader, entryMac, headerOf } from './format';

/**
 * The security log's ring (docs/formats/audit.md): fixed 64-byte entries appended in order, each
 * MAC'd over the one before it, sector by sector, the oldest sector erased when the ring comes back
 * to it. An event costs one program of its entry and one of its commit byte, and every E / 64 − 1
 * entries an erase and a header program. This file is the writer, resident while the device runs;
 * the reader (`GET /api/log`, `GET /api/security`) is read.ts. Never throws on what the flash holds.
 */

/** The anomaly counters' window: ten-minute buckets, the current one and the six before it. */
export const enum Window {
  BUCKET_MS = 600000,
  BUCKETS = 7,
}

/** The ring as the writer keeps it in RAM, and the reader reads it. */
export interface Ring {
  flash: Flash;
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
   * Failed logins (0) and refused updates (1), in RAM: [since boot, the newest bucket's number, the
   * last one's uptime s, its wall time s (0: none), then the buckets' counts], and the last detail.
   */
  counts: number[][];
  details: string[];
}

export interface AuditLog {
  ring: Ring;
  /** Records an event (core/services SecurityLog.event): never throws. */
  event(kind: string, detail?: string): void;
  /** SecurityLog.forget: throws if the flash fails (a wipe is then resumed at the next boot). */
  forget(): void;
}

/** The sequence number of the oldest entry kept: the first in ring order after the newest sector whose header is in the ring's range. */
export function oldestSeq(r: Ring): number {
  for (let i = 1; i <= r.N; i++) {
    const h = headerOf(r.flash.read(((r.pos + i) % r.N) * r.E, Audit.HEADER));
    if (h && h[0] <= r.sector && h[0] + r.N > r.sector) return h[1];
  }
  return r.seq;
}

/**
 * Opens the log in `flash`, keyed by `key` (32 bytes: modules/keys `audit-log`). At open: the
 * newest sector is the valid header with the greatest sector sequence number; its last programmed
 * slot is found (slots are programmed in order), and the chain continues from its last complete
 * entry; slots without the commit byte (torn by a power cut) are skipped and said on the console.
 * When that sector is full the next one is started at once, so that an erase cut by a power loss
 * never leaves a half-erased sector in the log. A device opens once (`release`): the opening code is
 * then let go.
 */
export let openLog = function (flash: Flash, p: CryptoProvider, key: Uint8Array, clock: Clock, release?: boolean): AuditLog {
  if (release) openLog = undefined as never;
  const E = flash.eraseSize;
  const N = Math.floor(flash.size / E);
  const S = Math.floor(E / Audit.SLOT);
  const r: Ring = { flash: flash, E: E, N: N, S: S, pos: -1, sector: 0, slot: S, seq: 1, mac: new Uint8Array(Audit.MAC), boot: 1, wiped: false, key: key, clock: clock, counts: [], details: ['', ''] };
  for (let k = 0; k < 2; k++) {
    const c: number[] = [];
    for (let i = 0; i < 4 + Window.BUCKETS; i++) c.push(0);
    r.counts.push(c);
  }
  // (Code that runs once, here rather than in format.ts: on a device it goes with this function.)
  const erased = function (b: Uint8Array, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (b[i] !== 0xff) return false;
    return true;
  };
  for (let i = 0; i < N; i++) {
    const b = flash.read(i * E, Audit.HEADER);
    const h = headerOf(b);
    if (h && h[0] > r.sector) {
      r.sector = h[0];
      r.pos = i;
    } else if (!h && !erased(b, 0, Audit.HEADER)) console.log('[audit] sector ' + i + ' of the log is unreadable: erased when the ring reaches it');
  }
  if (r.pos >= 0) {
    // The newest sector in one read; its last programmed slot by bisection (programmed slots come first).
    const sec = flash.read(r.pos * E, E);
    const empty = function (s: number): boolean {
      return erased(sec, s * Audit.SLOT, (s + 1) * Audit.SLOT);
    };
    let lo = 0;
    let hi = S;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (empty(mid)) hi = mid;
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
      const h = headerOf(flash.read(before, Audit.HEADER));
      for (let s = S - 1; h && h[0] === r.sector - 1 && s > 0 && !b; s--) {
        const x = flash.read(before + s * Audit.SLOT, Audit.SLOT);
        if (x[Audit.COMMIT_AT] === Audit.COMMIT) b = x;
      }
    }
    if (b) r.boot = (u16(b, Audit.BOOT_AT) + 1) & 0xffff;
  }

  /** Programs `bytes` at `at`, padded with 0xff to whole write units (0xff leaves a byte as it is). */
  const program = function (at: number, bytes: Uint8Array): void {
    const w = flash.writeSize;
    const from = at - (at % w);
    const data = new Uint8Array(Math.ceil((at + bytes.length) / w) * w - from);
    data.fill(0xff);
    data.set(bytes, at - from);
    flash.write(from, data);
  };
  /**
   * Starts the next sector of the ring: erased whole (the oldest sector's entries go), then its
   * header, anchored to the last entry's MAC. A power cut anywhere leaves the newest sector as it was.
   */
  const next = function (): void {
    const at = r.pos < 0 ? 0 : (r.pos + 1) % N;
    flash.erase(at * E, E);
    program(at * E, encodeHeader(r.sector + 1, r.seq, r.mac));
    r.pos = at;
    r.sector++;
    r.slot = 1;
  };
  /** Appends an entry of `text`: the entry, then its commit byte; the slot is used even if a write fails. */
  const append = function (text: string): void {
    if (r.slot >= S) next();
    const at = r.pos * E + r.slot * Audit.SLOT;
    r.slot++;
    const b = new Uint8Array(Audit.SLOT);
    const wall = clock.wallTime();
    putU32(b, 0, r.seq);
    putU32(b, Audit.WALL_AT, wall === undefined ? 0 : Math.floor(wall / 1000));
    putU32(b, Audit.UPTIME_AT, Math.floor(clock.now() / 1000));
    b[Audit.BOOT_AT] = r.boot & 255;
    b[Audit.BOOT_AT + 1] = r.boot >> 8;
    // Printable ASCII; anything else becomes "?", and a text cut short ends with "~".
    for (let i = 0; i < text.length && i < Audit.TEXT; i++) {
      const c = text.charCodeAt(i);
      b[Audit.TEXT_AT + i] = i === Audit.TEXT - 1 && text.length > Audit.TEXT ? Audit.CUT : c >= 0x20 && c < 0x7f ? c : 0x3f;
    }
    const m = entryMac(p, key, r.mac, b);
    b.set(m, Audit.MAC_AT);
    b[Audit.COMMIT_AT] = 0xff;
    program(at, b);
    program(at + Audit.COMMIT_AT, new Uint8Array([Audit.COMMIT]));
    r.mac = new Uint8Array(m);
    r.seq++;
    r.wiped = false;
  };

  // A full newest sector: the next one now (its erase, if a power cut interrupted it, is done again).
  try {
    if (r.pos >= 0 && r.slot >= S) next();
  } catch (error) {
    console.log('[audit] the next sector could not be started: ' + String((error as Error).message || error));
  }

  return {
    ring: r,
    event: function (kind: string, detail?: string): void {
      // The anomaly counters first (RAM: they count what the log could not write too).
      const k = kind === 'login-failed' ? 0 : kind === 'update-refused' ? 1 : -1;
      if (k >= 0) {
        const c = r.counts[k];
        const now = clock.now();
        const e = Math.floor(now / Window.BUCKET_MS);
        for (let x = c[1] + 1; x <= e && x <= c[1] + Window.BUCKETS; x++) c[4 + (x % Window.BUCKETS)] = 0;
        if (e > c[1]) c[1] = e;
        const wall = clock.wallTime();
        c[0]++;
        c[4 + (c[1] % Window.BUCKETS)]++;
        c[2] = Math.floor(now / 1000);
        c[3] = wall === undefined ? 0 : Math.floor(wall / 1000);
        r.details[k] = detail || '';
      }
      try {
        append(detail ? kind + ' ' + detail : kind);
      } catch (error) {
        console.log('[audit] ' + kind + ' not written: ' + String((error as Error).message || error));
      }
    },
    // A new sector anchored to the last entry holds the wipe entry before anything is erased: a
    // power cut never loses the chain's last MAC or sequence number. Resumed, it only erases.
    forget: function (): void {
      if (!r.wiped) {
        const first = oldestSeq(r);
        next();
        append('wipe' + (r.seq > first ? ' ' + first + '-' + (r.seq - 1) : ''));
        r.wiped = true;
      }
      for (let i = 0; i < N; i++) if (i !== r.pos) flash.erase(i * E, E);
    },
  };
};

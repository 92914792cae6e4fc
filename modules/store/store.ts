import type { BlockCipher } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { putU32 } from '../../firmware/device/core/bytes';
import type { Store, StoreRead, StoreReserve } from '../../firmware/device/core/services';
import { Format, checkKey, crcOk, openValue, parseRecord, valueFootprint } from './format';
import { recover, releaseRecovery } from './scan';
import type { StoreState } from './state';
import { Asset, type Assets } from '../../firmware/device/core/assets';
import type { storeWrite } from './write';
import { storeWriter } from './write-code';
import { message } from '../../firmware/device/core/messages';

/**
 * A power-loss-safe record store over one flash region (S1.1-11, S1.1-14). Format byte by byte,
 * what open() does with whatever it finds, and the capacity rule: docs/formats/store.md.
 *
 * - The region is a ring of sectors. Records are only ever appended; nothing is rewritten in
 *   place. A value is replaced by appending a newer record for its key.
 * - A stand-alone record counts once its commit word, programmed in a separate operation after
 *   the record, is complete. Several changes commit together: their records, then one COMMIT
 *   record; none counts until that COMMIT is complete.
 * - A generation is a run of consecutive sectors that starts with a snapshot of every live record
 *   (itself committed by a COMMIT record). When a change does not fit in the generation's sector
 *   budget, a new generation is written in sectors the current one does not use — the live records
 *   as the change leaves them — and only once its snapshot is committed does the old generation
 *   stop counting. A power cut anywhere leaves one complete generation.
 * - Capacity: a change that makes a key larger is accepted only if a snapshot of the result,
 *   packed as compaction packs it (records never span sectors) with room counted for every reserved
 *   key, fits in one sector less than the budget. So whatever was accepted can always be compacted,
 *   and deletes, overwrites no larger than before and reserved keys within their reserve are never
 *   refused.
 * - purge() compacts the live records into a new generation and, once its snapshot is committed,
 *   erases every other sector: no superseded or deleted value stays on the flash (a factory wipe).
 * - Every record carries a CRC-32; sealed values carry an AES-CCM tag as well, under a key derived
 *   from the device secret (modules/keys), with the key name as associated data. A sealed value's
 *   nonce is where it was first written (sector sequence number, offset).
 * - RAM: an index of the live keys (one small object each), their names in packing order, the
 *   sector headers in typed arrays; reads and writes use buffers the size of one record.
 *   Implementation: format.ts (bytes), scan.ts (open and recovery), write.ts (appends, compaction,
 *   capacity), over one explicit state (state.ts).
 */

export interface StoreOptions {
  /** AES key schedule for sealed values (modules/keys derives it from the device secret). */
  seal?: BlockCipher;
  /** Sectors a generation may span; at most half the region. Default 4. */
  generationSectors?: number;
  /** Keys that must always be writable, with their largest values (the modules' declared reserves). */
  reserve?: StoreReserve[];
  /** Called with each nonce just before a sealed value is programmed (audits and tests). */
  onNonce?: (nonce: Uint8Array) => void;
  /** The only open of this program's life (boot on a device): the recovery code is let go after it. */
  once?: boolean;
  /** The running image's assets, where a Kaluma image reads the store's writer from (write-code.ts). */
  code?: Pick<Assets, 'find' | 'read'>;
}

/**
 * The writer (write.ts): linked, or on Kaluma read from the assets at the first write after the
 * store was idle (write-code.ts), and kept until it is idle again.
 */
function writer(st: StoreState): typeof storeWrite {
  return st.writer || (st.writer = storeWriter(st.code, Asset.CODE_STORE_WRITER));
}

/** The value of `key` in the state, or why not. Never throws on stored bytes. */
function readValue(st: StoreState, key: string): StoreRead {
  const e = st.index['#' + key];
  if (!e) return { ok: false, reason: 'absent' };
  const b = st.flash.read(e.s * st.E + e.o, e.n);
  const p = parseRecord(b, 0);
  if (!p || p.type !== Format.TYPE_SET || p.key !== key || !crcOk(b, 0, e.n)) return { ok: false, reason: 'corrupt' };
  const v = b[4] | (b[5] << 8);
  const value = b.subarray(Format.RECORD_HEADER + key.length, Format.RECORD_HEADER + key.length + v);
  if ((p.flags & Format.FLAG_SEALED) === 0) return { ok: true, value: new Uint8Array(value) };
  if (!st.seal) return { ok: false, reason: 'no-seal-key' };
  const plain = openValue(st.seal, key, value);
  return plain ? { ok: true, value: plain } : { ok: false, reason: 'not-authentic' };
}

/**
 * Opens the store in `flash`. Never throws on what the region holds. Throws only on programming
 * errors: a region of fewer than 4 sectors, a generation budget over half of it, a bad reserve.
 */
export function openStore(flash: Flash, options?: StoreOptions): Store {
  const opts = options || {};
  const E = flash.eraseSize;
  const N = Math.floor(flash.size / E);
  const G = opts.generationSectors || 4;
  if (N < 4) throw new Error('store: the region must hold at least 4 sectors');
  if (G < 2 || 2 * G > N) throw new Error('store: generationSectors must be 2..' + Math.floor(N / 2) + ' for this region');
  if (E > 65536 || E % 4 !== 0) throw new Error('store: sectors must be at most 64 KB');
  const st: StoreState = {
    report: { generation: 0, sectors: 0, keys: 0, budget: G, skipped: [] },
    onNonce: opts.onNonce,
    seal: opts.seal,
    broken: undefined,
    needsRepair: false,
    reserve: [],
    maxSeq: 0,
    live: 0,
    G: G,
    stats: { appended: 0, erases: 0, programs: 0, compactions: 0 },
    code: opts.code,
    writer: undefined,
    reserved: {},
    sectors: [],
    names: [],
    index: {},
    gens: new Uint32Array(N),
    seqs: new Uint32Array(N),
    kinds: new Uint8Array(N),
    N: N,
    E: E,
    flash: flash,
    head: N - 1,
    tail: E,
  };
  const reserve = opts.reserve || [];
  for (let i = 0; i < reserve.length; i++) {
    const r = reserve[i];
    checkKey(r.key);
    if (st.reserved['#' + r.key] !== undefined) throw new Error('store: key "' + r.key + '" reserved twice');
    if (!(r.bytes >= 0 && r.bytes <= Format.MAX_VALUE)) throw new RangeError('store: the reserve of "' + r.key + '" must be 0..' + Format.MAX_VALUE + ' bytes');
    if (r.sealed && !st.seal) continue; // no seal key: such a key cannot be written at all
    st.reserve.push(r);
    st.reserved['#' + r.key] = valueFootprint(r.key, r.bytes, r.sealed);
  }
  const half = Math.floor(N / 2);
  // The writer's capacity rule, for the open's checks. A Kaluma image whose assets lack the writer
  // (a damaged partition) still opens its store to read; each write then throws why.
  let w: typeof storeWrite | undefined;
  try {
    w = writer(st);
  } catch (error) {
    st.report.skipped.push(String((error as Error).message || error));
  }
  if (w && st.reserve.length && w.packing(st, undefined, [], true).sectors > half - 1) throw new Error('store: the reserves alone need more than ' + (half - 1) + ' sectors');
  if (!recover) throw new Error('store: opened once already, and the recovery code released');
  recover(st);
  if (opts.once) releaseRecovery();
  // The budget in effect: more sectors when what is stored (a smaller budget than it was written
  // with, or new reserves) needs them, so that deletes and overwrites stay possible.
  const need = w && (st.names.length || st.reserve.length) ? w.packing(st, undefined, [], true).sectors + 1 : 2;
  if (need > st.G) {
    st.G = need < half ? need : half;
    st.report.skipped.push(message('stored keys and reserves need ') + need + message(' sectors: budget ') + st.G + ', not ' + G + (need > st.G ? message(' (over-full: no key may grow)') : ''));
  }
  st.report.budget = st.G;
  return {
    report: st.report,
    stats: st.stats,
    read: function (key: string): StoreRead {
      return readValue(st, key);
    },
    get: function (key: string): Uint8Array | undefined {
      const r = readValue(st, key);
      return r.ok ? r.value : undefined;
    },
    set: function (key: string, value: Uint8Array, sealed?: boolean): void {
      writer(st).commit(st, [{ key: key, value: value, sealed: sealed }]);
    },
    delete: function (key: string): void {
      writer(st).commit(st, [{ key: key }]);
    },
    commit: function (changes): void {
      writer(st).commit(st, changes);
    },
    keys: function (): string[] {
      const out: string[] = [];
      for (let i = 0; i < st.names.length; i++) out.push(st.names[i].substring(1));
      return out;
    },
    liveBytes: function (): number {
      return st.live;
    },
    // Where the next record goes: sector sequence number and offset, the number moved on by the
    // jump while an unreadable header or a jumped number not yet in use is on the flash.
    stamp: function (): Uint8Array {
      const out = new Uint8Array(8);
      const formatted = st.sectors.length > 0;
      const seq = formatted ? st.seqs[st.head] : st.maxSeq;
      putU32(out, 0, seq + (st.needsRepair || st.maxSeq > seq + Format.SEQUENCE_JUMP ? Format.SEQUENCE_JUMP : 0));
      putU32(out, 4, formatted ? st.tail : st.E);
      return out;
    },
    purge: function (): void {
      writer(st).commit(st, [], true);
    },
    idle: function (): void {
      st.writer = undefined;
    },
  };
}

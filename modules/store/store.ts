import type { BlockCipher } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { ccmOpen, ccmSeal } from '../crypto/ccm';
import { crc32 } from './crc32';

/**
 * A power-loss-safe record store over one flash region (S1.1-11, S1.1-14). Format byte by byte,
 * and what open() does with whatever it finds: docs/formats/store.md.
 *
 * - The region is a ring of sectors. Records are only ever appended; nothing is rewritten in
 *   place. A value is replaced by appending a newer record for its key; the older one stays
 *   until its whole sector is recycled.
 * - A stand-alone record counts once its commit word, programmed in a separate operation after
 *   the record, is complete. Several changes commit together: their records, then one COMMIT
 *   record; none counts until that COMMIT is complete.
 * - A generation is a run of consecutive sectors that starts with a snapshot of every live record
 *   (itself committed by a COMMIT record). When the generation reaches its sector budget, the live
 *   records are copied into a fresh generation in sectors the current one does not use; only once
 *   that snapshot is committed does the old generation stop counting, and its sectors are erased
 *   later, when the ring comes back to them. A power cut anywhere leaves one complete generation.
 * - Every record carries a CRC-32 over its header, key and value; sealed values carry an AES-CCM
 *   tag as well, under a key derived from the device secret (modules/keys), with the key name as
 *   associated data. A sealed value's nonce is where it was first written (sector sequence number,
 *   offset): flash can be programmed once per erase, and sector sequence numbers never repeat, so
 *   no two sealed writes ever share a nonce, whatever the power does.
 * - RAM: an index of the live keys (one small object each) and a few numbers; reads and writes
 *   use buffers the size of one record. Open reads one sector at a time.
 */

/** On-flash format version, in every sector header. */
export const STORE_VERSION = 1;
export const SECTOR_HEADER = 20;
export const RECORD_HEADER = 8;
export const MAX_KEY = 48;
export const MAX_VALUE = 2048;
/** Sealed value: sector sequence (4) and offset (2) of its first write, then ciphertext and tag. */
export const SEAL_NONCE_PREFIX = 6;
export const SEAL_TAG = 16;

const MAGIC0 = 0x48; // "HSST"
const MAGIC1 = 0x53;
const MAGIC2 = 0x53;
const MAGIC3 = 0x54;
export const KIND_START = 1;
export const KIND_NEXT = 2;
export const TYPE_SET = 0x53; // "S"
export const TYPE_DELETE = 0x44; // "D"
export const TYPE_COMMIT = 0x43; // "C"
export const FLAG_SEALED = 1;
export const FLAG_TXN = 2;
/** On the first record of a transaction: whatever was pending before it never committed. */
export const FLAG_BEGIN = 4;
/** "CMIT": the last word of every record; a stand-alone record counts once it is complete. */
export const COMMIT_WORD = [0x43, 0x4d, 0x49, 0x54];
/** Added to the next sector sequence number when open() finds a sector header it cannot read. */
export const SEQUENCE_JUMP = 65536;
const UNREADABLE = 255;
const COMMIT_RECORD = RECORD_HEADER + 4 + 8;

/** Why a value cannot be returned. */
export const STORE_READ_REASONS = {
  absent: 'no value is stored under this key',
  corrupt: 'the stored record fails its CRC-32 (flash corruption): the value is not returned',
  'not-authentic': 'the sealed value fails authentication (wrong device key, or altered)',
  'no-seal-key': 'the value is sealed and the store was opened without a sealing key',
};
export type StoreReadReason = keyof typeof STORE_READ_REASONS;
export type StoreRead = { ok: true; value: Uint8Array } | { ok: false; reason: StoreReadReason };

/** One change of a commit: `value` undefined deletes the key. */
export interface StoreChange {
  key: string;
  value?: Uint8Array;
  /** Encrypt and authenticate the value (needs the store's seal key). */
  sealed?: boolean;
}

export interface StoreOptions {
  /** AES key schedule for sealed values (modules/keys derives it from the device secret). */
  seal?: BlockCipher;
  /** Sectors a generation may span before compaction; at most half the region. Default 4. */
  generationSectors?: number;
  /** Called with each nonce just before a sealed value is programmed (audits and tests). */
  onNonce?: (nonce: Uint8Array) => void;
}

/** What open() found. */
export interface StoreReport {
  /** Sequence number of the generation in use; 0 if the region holds none (new or unreadable). */
  generation: number;
  /** Sectors of the generation in use. */
  sectors: number;
  /** Live keys. */
  keys: number;
  /** What was skipped and why: torn writes, uncommitted transactions, corrupt bytes. */
  skipped: string[];
}

export interface StoreStats {
  /** Bytes appended since open: records, commit records and sector headers, copies included. */
  appended: number;
  erases: number;
  /** Program operations (flash.write calls). */
  programs: number;
  compactions: number;
}

export interface Store {
  readonly report: StoreReport;
  readonly stats: StoreStats;
  /** The value of `key`, or why not. Never throws on stored bytes. */
  read(key: string): StoreRead;
  /** The value of `key`, or undefined if absent or unreadable (`read` says why). */
  get(key: string): Uint8Array | undefined;
  /** Stores `value` under `key`; once it returns, the value survives any power cut. */
  set(key: string, value: Uint8Array, sealed?: boolean): void;
  /** Removes `key`; once it returns, the key never comes back. */
  delete(key: string): void;
  /** Applies every change or, after a power cut at any point, none. */
  commit(changes: StoreChange[]): void;
  /** The live keys. */
  keys(): string[];
  /** Footprint in flash of the live records, bytes. */
  liveBytes(): number;
  /**
   * Where the next record will go: sector sequence number (4 bytes) and offset (4 bytes), little
   * endian. Once a record has been programmed there, however partly, every later stamp is greater:
   * a value that never repeats across boots and power cuts (modules/keys uses it as the DRBG's
   * instantiation nonce).
   */
  stamp(): Uint8Array;
}

interface Entry {
  /** Ring position of the sector, offset and footprint of the record. */
  s: number;
  o: number;
  n: number;
  sealed: boolean;
}

interface Header {
  valid: boolean;
  erased: boolean;
  kind: number;
  seq: number;
  gen: number;
}

interface Parsed {
  type: number;
  flags: number;
  key: string;
  size: number;
  committed: boolean;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = (v >>> 24) & 255;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Footprint of a record with a key of `k` bytes and a value of `v` bytes. */
export function recordSize(k: number, v: number): number {
  return align4(RECORD_HEADER + k + v) + 8;
}

/** Footprint of a stored value of `length` bytes under `key` (sealed adds nonce and tag). */
export function valueFootprint(key: string, length: number, sealed: boolean): number {
  return recordSize(key.length, sealed ? length + SEAL_NONCE_PREFIX + SEAL_TAG : length);
}

function keyBytes(key: string): Uint8Array {
  const b = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) b[i] = key.charCodeAt(i);
  return b;
}

/** Keys are 1..48 printable ASCII characters (0x21..0x7e). */
function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_KEY) throw new RangeError('store: key must be 1..' + MAX_KEY + ' characters');
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new RangeError('store: key must be printable ASCII without spaces');
  }
}

/** True if every byte of `b` from `from` (a multiple of 4) to its end is 0xff. */
function erasedFrom(b: Uint8Array, from: number): boolean {
  let i = from;
  if (b.byteOffset % 4 === 0 && from % 4 === 0) {
    const words = new Uint32Array(b.buffer, b.byteOffset + from, (b.length - from) >> 2);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0xffffffff) return false;
    i = from + words.length * 4;
  }
  for (; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

function parseHeader(b: Uint8Array): Header {
  const h: Header = { valid: false, erased: false, kind: 0, seq: 0, gen: 0 };
  let erased = true;
  for (let i = 0; i < SECTOR_HEADER; i++) if (b[i] !== 0xff) erased = false;
  if (erased) {
    h.erased = true;
    return h;
  }
  if (b[0] !== MAGIC0 || b[1] !== MAGIC1 || b[2] !== MAGIC2 || b[3] !== MAGIC3) return h;
  if (b[4] !== STORE_VERSION || (b[5] !== KIND_START && b[5] !== KIND_NEXT) || b[6] !== 0 || b[7] !== 0) return h;
  if (crc32(b, 0, 16) !== u32(b, 16)) return h;
  h.kind = b[5];
  h.seq = u32(b, 8);
  h.gen = u32(b, 12);
  h.valid = h.seq > 0 && (h.kind === KIND_START ? h.gen === h.seq : h.gen < h.seq);
  return h;
}

/** A record header at `at` in sector buffer `b`, or undefined if it cannot be one. */
function parseRecord(b: Uint8Array, at: number): Parsed | undefined {
  if (at + RECORD_HEADER > b.length) return undefined;
  const type = b[at];
  const flags = b[at + 1];
  const k = b[at + 2];
  const v = b[at + 4] | (b[at + 5] << 8);
  if (b[at + 3] !== 0 || b[at + 6] !== 0 || b[at + 7] !== 0) return undefined;
  if (type === TYPE_SET) {
    if (k < 1 || k > MAX_KEY || (flags & ~(FLAG_SEALED | FLAG_TXN | FLAG_BEGIN)) !== 0 || flags === FLAG_BEGIN) return undefined;
    const limit = (flags & FLAG_SEALED) !== 0 ? MAX_VALUE + SEAL_NONCE_PREFIX + SEAL_TAG : MAX_VALUE;
    if (v > limit || ((flags & FLAG_SEALED) !== 0 && v < SEAL_NONCE_PREFIX + SEAL_TAG)) return undefined;
  } else if (type === TYPE_DELETE) {
    if (k < 1 || k > MAX_KEY || v !== 0 || (flags !== 0 && flags !== FLAG_TXN && flags !== (FLAG_TXN | FLAG_BEGIN))) return undefined;
  } else if (type === TYPE_COMMIT) {
    if (k !== 0 || v !== 4 || flags !== 0) return undefined;
  } else {
    return undefined;
  }
  const size = recordSize(k, v);
  if (at + size > b.length) return undefined;
  let key = '';
  for (let i = 0; i < k; i++) {
    const c = b[at + RECORD_HEADER + i];
    if (c < 0x21 || c > 0x7e) return undefined;
    key += String.fromCharCode(c);
  }
  const end = at + size - 4;
  const committed = b[end] === COMMIT_WORD[0] && b[end + 1] === COMMIT_WORD[1] && b[end + 2] === COMMIT_WORD[2] && b[end + 3] === COMMIT_WORD[3];
  return { type: type, flags: flags, key: key, size: size, committed: committed };
}

/** True if the CRC-32 of the record at `at` (of footprint `size`) matches. */
function crcOk(b: Uint8Array, at: number, size: number): boolean {
  return crc32(b, at, at + size - 8) === u32(b, at + size - 8);
}

/** A record's bytes: header, key, value, zero padding, CRC-32, commit word. */
function buildRecord(type: number, flags: number, key: Uint8Array, value: Uint8Array): Uint8Array {
  const size = recordSize(key.length, value.length);
  const r = new Uint8Array(size);
  r[0] = type;
  r[1] = flags;
  r[2] = key.length;
  r[4] = value.length & 255;
  r[5] = value.length >>> 8;
  r.set(key, RECORD_HEADER);
  r.set(value, RECORD_HEADER + key.length);
  putU32(r, size - 8, crc32(r, 0, size - 8));
  r.set(COMMIT_WORD, size - 4);
  return r;
}

/** A COMMIT record closing `count` records. */
function commitRecord(count: number): Uint8Array {
  const c = new Uint8Array(4);
  putU32(c, 0, count);
  return buildRecord(TYPE_COMMIT, 0, new Uint8Array(0), c);
}

/** The 13-byte CCM nonce of a sealed value first written at (sector sequence, offset). */
export function sealNonce(seq: number, offset: number): Uint8Array {
  const n = new Uint8Array(13);
  putU32(n, 0, seq);
  n[4] = offset & 255;
  n[5] = offset >>> 8;
  return n;
}

/** Associated data of a sealed value: the format version and the key name. */
function sealAad(key: Uint8Array): Uint8Array {
  const a = new Uint8Array(1 + key.length);
  a[0] = STORE_VERSION;
  a.set(key, 1);
  return a;
}

interface Scan {
  complete: boolean;
  index: { [k: string]: Entry };
  live: number;
  count: number;
  sectors: number[];
  tail: number;
  skipped: string[];
}

/**
 * Opens the store in `flash`. Never throws on what the region holds: it finds the newest complete
 * generation, applies every committed record in order and reports what it skipped. Throws only on
 * programming errors (a region of fewer than 4 sectors, a generation budget over half of it).
 */
export function openStore(flash: Flash, options?: StoreOptions): Store {
  const opts = options || {};
  const E = flash.eraseSize;
  const N = Math.floor(flash.size / E);
  const G = opts.generationSectors || 4;
  if (N < 4) throw new Error('store: the region must hold at least 4 sectors');
  if (G < 2 || 2 * G > N) throw new Error('store: generationSectors must be 2..' + Math.floor(N / 2) + ' for this region');
  if (E > 65536 || E % 4 !== 0) throw new Error('store: sectors must be at most 64 KB');
  const payload = E - SECTOR_HEADER;
  /** Largest footprint of live records: leaves a sector of the generation for new records. */
  const capacity = (G - 1) * payload - COMMIT_RECORD;

  // What each sector's header says, in typed arrays (a few bytes per sector, also on Espruino).
  const kinds = new Uint8Array(N); // 0 erased, KIND_START, KIND_NEXT, UNREADABLE
  const seqs = new Uint32Array(N);
  const gens = new Uint32Array(N);
  let maxSeq = 0;
  let unreadable = 0;
  for (let s = 0; s < N; s++) {
    const h = parseHeader(flash.read(s * E, SECTOR_HEADER));
    kinds[s] = h.valid ? h.kind : h.erased ? 0 : UNREADABLE;
    seqs[s] = h.seq;
    gens[s] = h.gen;
    if (h.valid && h.seq > maxSeq) maxSeq = h.seq;
    if (kinds[s] === UNREADABLE) unreadable++;
  }

  function scanGeneration(start: number): Scan {
    const result: Scan = { complete: false, index: {}, live: 0, count: 0, sectors: [], tail: E, skipped: [] };
    const gen = seqs[start];
    let pending: { p: Parsed; s: number; o: number }[] = [];
    let inSnapshot = true;
    const drop = (why: string): void => {
      if (pending.length) result.skipped.push(why + ': ' + pending.length + ' uncommitted record(s) of a transaction dropped');
      pending = [];
    };
    const apply = (p: Parsed, s: number, o: number): void => {
      const name = '#' + p.key;
      const old = result.index[name];
      if (old) {
        result.live -= old.n;
        result.count--;
        delete result.index[name];
      }
      if (p.type === TYPE_SET) {
        result.index[name] = { s: s, o: o, n: p.size, sealed: (p.flags & FLAG_SEALED) !== 0 };
        result.live += p.size;
        result.count++;
      }
    };
    let prevSeq = 0;
    for (let i = 0, s = start; i < N; i++, s = (s + 1) % N) {
      if (i > 0 && (kinds[s] !== KIND_NEXT || gens[s] !== gen || seqs[s] <= prevSeq)) break;
      prevSeq = seqs[s];
      result.sectors.push(s);
      const b = flash.read(s * E, E);
      let at = SECTOR_HEADER;
      let tail = E;
      while (at < E) {
        if (b[at] === 0xff && erasedFrom(b, at)) {
          tail = at;
          break;
        }
        const p = parseRecord(b, at);
        if (!p) {
          result.skipped.push('sector ' + s + ' offset ' + at + ': unreadable bytes up to the end of the sector');
          drop('sector ' + s);
          break;
        }
        if (p.type === TYPE_COMMIT) {
          const count = p.committed && crcOk(b, at, p.size) ? u32(b, at + RECORD_HEADER) : -1;
          if (count === pending.length) {
            for (let j = 0; j < pending.length; j++) apply(pending[j].p, pending[j].s, pending[j].o);
            pending = [];
            inSnapshot = false;
          } else {
            drop('sector ' + s + ' offset ' + at + (count < 0 ? ': torn or corrupt commit record' : ': commit record does not match its records'));
          }
        } else if (inSnapshot || (p.flags & FLAG_TXN) !== 0) {
          if (!inSnapshot && (p.flags & FLAG_BEGIN) !== 0) drop('sector ' + s + ' offset ' + at + ': a new transaction begins');
          pending.push({ p: p, s: s, o: at });
        } else {
          drop('sector ' + s + ' offset ' + at);
          if (!p.committed) result.skipped.push('sector ' + s + ' offset ' + at + ': uncommitted record (torn write) for "' + p.key + '"');
          else if (p.type === TYPE_DELETE && !crcOk(b, at, p.size)) result.skipped.push('sector ' + s + ' offset ' + at + ': corrupt delete record');
          else apply(p, s, at);
        }
        at += p.size;
      }
      result.tail = tail;
    }
    drop('end of the generation');
    result.complete = !inSnapshot;
    return result;
  }

  // The newest generation whose snapshot committed.
  const starts: number[] = [];
  for (let s = 0; s < N; s++) if (kinds[s] === KIND_START) starts.push(s);
  starts.sort((a, b) => seqs[b] - seqs[a]);
  let scan: Scan | undefined;
  const skipped: string[] = [];
  for (let i = 0; i < starts.length && !scan; i++) {
    const r = scanGeneration(starts[i]);
    if (r.complete) scan = r;
    else skipped.push('generation ' + seqs[starts[i]] + ' (sector ' + starts[i] + '): snapshot never committed (compaction interrupted); older generation used');
  }
  if (unreadable) skipped.push(unreadable + ' sector header(s) unreadable (interrupted erase, or corruption): erased before reuse');
  if (!scan && (starts.length || maxSeq)) skipped.push('no complete generation: the store starts empty');

  let index: { [k: string]: Entry } = scan ? scan.index : {};
  let live = scan ? scan.live : 0;
  let count = scan ? scan.count : 0;
  let sectors: number[] = scan ? scan.sectors : [];
  // With no generation, the first write starts one after the newest sector seen (wear).
  let head = sectors.length ? sectors[sectors.length - 1] : N - 1;
  if (!scan) for (let s = 0; s < N; s++) if ((kinds[s] === KIND_START || kinds[s] === KIND_NEXT) && seqs[s] === maxSeq) head = s;
  let tail = scan ? scan.tail : E;
  let needsRepair = unreadable > 0;
  let broken: string | undefined;
  if (scan) for (let i = 0; i < scan.skipped.length; i++) skipped.push(scan.skipped[i]);

  const report: StoreReport = { generation: scan ? seqs[sectors[0]] : 0, sectors: sectors.length, keys: count, skipped: skipped };
  const stats: StoreStats = { appended: 0, erases: 0, programs: 0, compactions: 0 };

  /** Programs `bytes` at `offset` of sector `s`, padded with 0xff to whole write units. */
  function program(s: number, offset: number, bytes: Uint8Array): void {
    const w = flash.writeSize;
    const from = offset - (offset % w);
    const to = Math.ceil((offset + bytes.length) / w) * w;
    let data = bytes;
    if (from !== offset || to !== offset + bytes.length) {
      data = new Uint8Array(to - from);
      data.fill(0xff);
      data.set(bytes, offset - from);
    }
    stats.programs++;
    flash.write(s * E + from, data);
  }

  /** Erases the sector at ring position `s` unless it already reads erased. */
  function prepare(s: number): void {
    if (erasedFrom(flash.read(s * E, E), 0)) return;
    stats.erases++;
    flash.erase(s * E, E);
  }

  /** Erases sectors whose header could not be read and moves the sequence on (docs/formats/store.md). */
  function repair(): void {
    for (let s = 0; s < N; s++) {
      if (kinds[s] !== UNREADABLE) continue;
      prepare(s);
      kinds[s] = 0;
    }
    maxSeq += SEQUENCE_JUMP;
    needsRepair = false;
  }

  /** Starts a new sector after `head`: a generation start (new generation) or its next sector. */
  function allocate(kind: number, gen: number): number {
    if (needsRepair) repair();
    if (maxSeq >= 0xfffffff0) throw new Error('store: sector sequence numbers exhausted');
    const s = (head + 1) % N;
    prepare(s);
    const seq = ++maxSeq;
    const h = new Uint8Array(SECTOR_HEADER);
    h[0] = MAGIC0;
    h[1] = MAGIC1;
    h[2] = MAGIC2;
    h[3] = MAGIC3;
    h[4] = STORE_VERSION;
    h[5] = kind;
    putU32(h, 8, seq);
    putU32(h, 12, kind === KIND_START ? seq : gen);
    putU32(h, 16, crc32(h, 0, 16));
    program(s, 0, h);
    kinds[s] = kind;
    seqs[s] = seq;
    gens[s] = kind === KIND_START ? seq : gen;
    stats.appended += SECTOR_HEADER;
    head = s;
    tail = SECTOR_HEADER;
    return seq;
  }

  /** Room for a record of `size` bytes: the current sector, or a new sector of the generation. */
  function place(size: number, gen: number, into: number[]): number {
    if (tail + size > E) {
      allocate(KIND_NEXT, gen);
      into.push(head);
    }
    const at = tail;
    tail += size;
    stats.appended += size;
    return at;
  }

  /** Whether records of `sizes` fit after `from` bytes of the last sector with `spare` sectors left. */
  function fits(sizes: number[], from: number, spare: number): boolean {
    let t = from;
    for (let i = 0; i < sizes.length; i++) {
      if (t + sizes[i] > E) {
        if (spare <= 0) return false;
        spare--;
        t = SECTOR_HEADER;
      }
      t += sizes[i];
    }
    return true;
  }

  /**
   * Copies every live record into a new generation, then commits it. Until the COMMIT is complete
   * the current generation is the one open() uses; the new one lies in sectors it does not use.
   */
  function compact(): void {
    const gen = allocate(KIND_START, 0);
    const into = [head];
    const next: { [k: string]: Entry } = {};
    const names = Object.keys(index);
    let n = 0;
    for (let i = 0; i < names.length; i++) {
      const e = index[names[i]];
      const bytes = flash.read(e.s * E + e.o, e.n);
      const at = place(e.n, gen, into);
      program(head, at, bytes);
      next[names[i]] = { s: head, o: at, n: e.n, sealed: e.sealed };
      n++;
    }
    writeStandalone(commitRecord(n), gen, into);
    index = next;
    sectors = into;
    stats.compactions++;
  }

  /** A record that counts on its own: its body, then its commit word in a second operation. */
  function writeStandalone(record: Uint8Array, gen: number, into: number[]): void {
    const at = place(record.length, gen, into);
    programStandalone(at, record);
  }

  function programStandalone(at: number, record: Uint8Array): void {
    program(head, at, record.subarray(0, record.length - 4));
    program(head, at + record.length - 4, record.subarray(record.length - 4));
  }

  interface Pending {
    key: string;
    kb: Uint8Array;
    value: Uint8Array | undefined;
    sealed: boolean;
    size: number;
  }

  /** The record for one change, built once its position (hence a sealed value's nonce) is known. */
  function recordFor(c: Pending, flags: number, seq: number, at: number): Uint8Array {
    if (!c.value) return buildRecord(TYPE_DELETE, flags, c.kb, new Uint8Array(0));
    if (!c.sealed) return buildRecord(TYPE_SET, flags, c.kb, c.value);
    const nonce = sealNonce(seq, at);
    if (opts.onNonce) opts.onNonce(nonce);
    const sealed = ccmSeal(opts.seal!, nonce, sealAad(c.kb), c.value, SEAL_TAG);
    const v = new Uint8Array(SEAL_NONCE_PREFIX + sealed.length);
    v.set(nonce.subarray(0, SEAL_NONCE_PREFIX), 0);
    v.set(sealed, SEAL_NONCE_PREFIX);
    return buildRecord(TYPE_SET, flags | FLAG_SEALED, c.kb, v);
  }

  function commitNow(changes: StoreChange[]): void {
    if (broken) throw new Error('store: a write failed (' + broken + '); open the store again');
    const list: Pending[] = [];
    const seen: { [k: string]: boolean } = {};
    let liveAfter = live;
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      checkKey(c.key);
      if (seen['#' + c.key]) throw new Error('store: key "' + c.key + '" appears twice in one commit');
      seen['#' + c.key] = true;
      const old = index['#' + c.key];
      if (c.value === undefined) {
        if (!old) continue;
        liveAfter -= old.n;
        list.push({ key: c.key, kb: keyBytes(c.key), value: undefined, sealed: false, size: recordSize(c.key.length, 0) });
        continue;
      }
      if (!(c.value instanceof Uint8Array) || c.value.length > MAX_VALUE) throw new RangeError('store: value must be a Uint8Array of at most ' + MAX_VALUE + ' bytes');
      if (c.sealed && !opts.seal) throw new Error('store: opened without a seal key, cannot seal "' + c.key + '"');
      const size = valueFootprint(c.key, c.value.length, c.sealed === true);
      liveAfter += size - (old ? old.n : 0);
      list.push({ key: c.key, kb: keyBytes(c.key), value: c.value, sealed: c.sealed === true, size: size });
    }
    if (list.length === 0) return;
    if (liveAfter > capacity) throw new Error('store: full (' + liveAfter + ' bytes of live records, capacity ' + capacity + ')');
    const txn = list.length > 1;
    const sizes: number[] = [];
    for (let i = 0; i < list.length; i++) sizes.push(list[i].size);
    if (txn) sizes.push(COMMIT_RECORD);

    const compacting = sectors.length === 0 || !fits(sizes, tail, G - sectors.length);
    if (compacting) {
      // The new generation holds the snapshot, its commit record and this change, within G sectors.
      const all: number[] = [];
      const names = Object.keys(index);
      for (let i = 0; i < names.length; i++) all.push(index[names[i]].n);
      all.push(COMMIT_RECORD);
      if (!fits(all.concat(sizes), SECTOR_HEADER, G - 1)) throw new Error('store: full (live records and this change do not fit in ' + G + ' sectors)');
    }

    try {
      if (compacting) compact();
      const gen = seqs[sectors[0]];
      const placed: Entry[] = [];
      for (let i = 0; i < list.length; i++) {
        const at = place(list[i].size, gen, sectors);
        const record = recordFor(list[i], txn ? (i === 0 ? FLAG_TXN | FLAG_BEGIN : FLAG_TXN) : 0, seqs[head], at);
        if (txn) program(head, at, record);
        else programStandalone(at, record);
        placed.push({ s: head, o: at, n: record.length, sealed: list[i].sealed });
      }
      if (txn) writeStandalone(commitRecord(list.length), gen, sectors);
      for (let i = 0; i < list.length; i++) {
        const name = '#' + list[i].key;
        const old = index[name];
        if (old) {
          live -= old.n;
          count--;
          delete index[name];
        }
        if (list[i].value) {
          index[name] = placed[i];
          live += placed[i].n;
          count++;
        }
      }
      report.keys = count;
    } catch (error) {
      broken = (error as Error).message;
      throw error;
    }
  }

  function read(key: string): StoreRead {
    const e = index['#' + key];
    if (!e) return { ok: false, reason: 'absent' };
    const b = flash.read(e.s * E + e.o, e.n);
    const p = parseRecord(b, 0);
    if (!p || p.type !== TYPE_SET || p.key !== key || !crcOk(b, 0, e.n)) return { ok: false, reason: 'corrupt' };
    const v = b[4] | (b[5] << 8);
    const value = b.subarray(RECORD_HEADER + key.length, RECORD_HEADER + key.length + v);
    if ((p.flags & FLAG_SEALED) === 0) return { ok: true, value: new Uint8Array(value) };
    if (!opts.seal) return { ok: false, reason: 'no-seal-key' };
    const seq = u32(value, 0);
    const nonce = sealNonce(seq, value[4] | (value[5] << 8));
    const plain = ccmOpen(opts.seal, nonce, sealAad(keyBytes(key)), value.subarray(SEAL_NONCE_PREFIX), SEAL_TAG);
    if (!plain) return { ok: false, reason: 'not-authentic' };
    return { ok: true, value: plain };
  }

  return {
    report: report,
    stats: stats,
    read: read,
    get: (key: string): Uint8Array | undefined => {
      const r = read(key);
      return r.ok ? r.value : undefined;
    },
    set: (key: string, value: Uint8Array, sealed?: boolean): void => commitNow([{ key: key, value: value, sealed: sealed }]),
    delete: (key: string): void => commitNow([{ key: key }]),
    commit: commitNow,
    keys: (): string[] => {
      const names = Object.keys(index);
      const out: string[] = [];
      for (let i = 0; i < names.length; i++) out.push(names[i].substring(1));
      return out;
    },
    liveBytes: (): number => live,
    stamp: (): Uint8Array => {
      const out = new Uint8Array(8);
      const formatted = sectors.length > 0;
      putU32(out, 0, formatted ? seqs[head] + (needsRepair ? SEQUENCE_JUMP : 0) : maxSeq + (needsRepair ? SEQUENCE_JUMP : 0));
      putU32(out, 4, formatted ? tail : E);
      return out;
    },
  };
}

import type { BlockCipher } from '../../hal/crypto';
import { asciiBytes, putU32, u16, u32 } from '../../firmware/device/core/bytes';
import { crc32 } from '../../firmware/device/core/crc32';
import { ccmOpen, ccmSeal } from '../crypto/ccm';

/**
 * The store's on-flash format, byte by byte as docs/formats/store.md gives it: sector headers,
 * records, sealed values. Pure functions over byte arrays; no state.
 */

/**
 * The format's numbers. A const enum: esbuild writes each value into the code that uses it, so on
 * the device they cost no variable (about 40 bytes of Kaluma's heap each as top-level constants).
 * The same numbers are exported one by one below for host tools and tests.
 */
export const enum Format {
  /** On-flash format version, in every sector header. */
  STORE_VERSION = 1,
  SECTOR_HEADER = 20,
  RECORD_HEADER = 8,
  MAX_KEY = 48,
  MAX_VALUE = 2048,
  /** Sealed value: sector sequence (4) and offset (2) of its first write, then ciphertext and tag. */
  SEAL_NONCE_PREFIX = 6,
  SEAL_TAG = 16,
  KIND_START = 1,
  KIND_NEXT = 2,
  /** Not a header kind on flash: what open() notes for a sector whose header it cannot read. */
  KIND_UNREADABLE = 255,
  TYPE_SET = 0x53, // "S"
  TYPE_DELETE = 0x44, // "D"
  TYPE_COMMIT = 0x43, // "C"
  FLAG_SEALED = 1,
  FLAG_TXN = 2,
  /** On the first record of a transaction: whatever was pending before it never committed. */
  FLAG_BEGIN = 4,
  /** Added to the next sector sequence number when open() finds a sector header it cannot read. */
  SEQUENCE_JUMP = 65536,
  /** Footprint of a COMMIT record (no key, a 4-byte count). */
  COMMIT_RECORD = 20,
}

export const STORE_VERSION = Format.STORE_VERSION;
export const SECTOR_HEADER = Format.SECTOR_HEADER;
export const RECORD_HEADER = Format.RECORD_HEADER;
export const MAX_KEY = Format.MAX_KEY;
export const MAX_VALUE = Format.MAX_VALUE;
export const SEAL_NONCE_PREFIX = Format.SEAL_NONCE_PREFIX;
export const SEAL_TAG = Format.SEAL_TAG;
export const TYPE_SET = Format.TYPE_SET;

// The magic "HSST" (0x48 0x53 0x53 0x54) starts every sector header, and the commit word "CMIT"
// (0x43 0x4d 0x49 0x54) ends every record: a stand-alone record counts once it is complete. Both
// are written out where they are used (as arrays, each would hold a variable and an array).

export interface Header {
  valid: boolean;
  erased: boolean;
  kind: number;
  seq: number;
  gen: number;
}

export interface Parsed {
  type: number;
  flags: number;
  key: string;
  size: number;
  committed: boolean;
}

/** Footprint of a record with a key of `k` bytes and a value of `v` bytes (header, key and value padded to 4 bytes, CRC-32, commit word). */
export function recordSize(k: number, v: number): number {
  return ((Format.RECORD_HEADER + k + v + 3) & ~3) + 8;
}

/** Footprint of a stored value of `length` bytes under `key` (sealed adds nonce and tag). */
export function valueFootprint(key: string, length: number, sealed: boolean): number {
  return recordSize(key.length, sealed ? length + Format.SEAL_NONCE_PREFIX + Format.SEAL_TAG : length);
}

/** Keys are 1..48 printable ASCII characters (0x21..0x7e); anything else is a programming error. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > Format.MAX_KEY) throw new RangeError('store: key must be 1..' + Format.MAX_KEY + ' characters');
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new RangeError('store: key must be printable ASCII without spaces');
  }
}

/** True if every byte of `b` from `from` (a multiple of 4) to its end is 0xff. */
export function erasedFrom(b: Uint8Array, from: number): boolean {
  let i = from;
  if (b.byteOffset % 4 === 0 && from % 4 === 0) {
    // Whole groups of four signed words (all ones is -1, a small integer on both engines), then the
    // bytes after them: a purge reads every sector of the region this way.
    const n = ((b.length - from) >> 4) << 2;
    const words = new Int32Array(b.buffer, b.byteOffset + from, n);
    for (let w = 0; w < n; w += 4) if ((words[w] & words[w + 1] & words[w + 2] & words[w + 3]) !== -1) return false;
    i = from + n * 4;
  }
  for (; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** A sector header's fields; `valid` only if every check of docs/formats/store.md passes. */
export function parseHeader(b: Uint8Array): Header {
  const h: Header = { valid: false, erased: false, kind: 0, seq: 0, gen: 0 };
  let erased = true;
  for (let i = 0; i < Format.SECTOR_HEADER; i++) if (b[i] !== 0xff) erased = false;
  if (erased) {
    h.erased = true;
    return h;
  }
  if (b[0] !== 0x48 || b[1] !== 0x53 || b[2] !== 0x53 || b[3] !== 0x54) return h;
  if (b[4] !== Format.STORE_VERSION || (b[5] !== Format.KIND_START && b[5] !== Format.KIND_NEXT) || b[6] !== 0 || b[7] !== 0) return h;
  if (crc32(b, 0, 16) !== u32(b, 16)) return h;
  h.kind = b[5];
  h.seq = u32(b, 8);
  h.gen = u32(b, 12);
  h.valid = h.seq > 0 && (h.kind === Format.KIND_START ? h.gen === h.seq : h.gen < h.seq);
  return h;
}

/** The 20 bytes of a sector header. */
export function buildHeader(kind: number, seq: number, gen: number): Uint8Array {
  const h = new Uint8Array(Format.SECTOR_HEADER);
  h[0] = 0x48;
  h[1] = 0x53;
  h[2] = 0x53;
  h[3] = 0x54;
  h[4] = Format.STORE_VERSION;
  h[5] = kind;
  putU32(h, 8, seq);
  putU32(h, 12, gen);
  putU32(h, 16, crc32(h, 0, 16));
  return h;
}

/** A record header at `at` in sector buffer `b`, or undefined if it cannot be one. */
export function parseRecord(b: Uint8Array, at: number): Parsed | undefined {
  if (at + Format.RECORD_HEADER > b.length) return undefined;
  const type = b[at];
  const flags = b[at + 1];
  const k = b[at + 2];
  const v = u16(b, at + 4);
  if (b[at + 3] !== 0 || b[at + 6] !== 0 || b[at + 7] !== 0) return undefined;
  if (type === Format.TYPE_SET) {
    if (k < 1 || k > Format.MAX_KEY || (flags & ~(Format.FLAG_SEALED | Format.FLAG_TXN | Format.FLAG_BEGIN)) !== 0 || flags === Format.FLAG_BEGIN) return undefined;
    const limit = (flags & Format.FLAG_SEALED) !== 0 ? Format.MAX_VALUE + Format.SEAL_NONCE_PREFIX + Format.SEAL_TAG : Format.MAX_VALUE;
    if (v > limit || ((flags & Format.FLAG_SEALED) !== 0 && v < Format.SEAL_NONCE_PREFIX + Format.SEAL_TAG)) return undefined;
  } else if (type === Format.TYPE_DELETE) {
    if (k < 1 || k > Format.MAX_KEY || v !== 0 || (flags !== 0 && flags !== Format.FLAG_TXN && flags !== (Format.FLAG_TXN | Format.FLAG_BEGIN))) return undefined;
  } else if (type === Format.TYPE_COMMIT) {
    if (k !== 0 || v !== 4 || flags !== 0) return undefined;
  } else {
    return undefined;
  }
  const size = recordSize(k, v);
  if (at + size > b.length) return undefined;
  let key = '';
  for (let i = 0; i < k; i++) {
    const c = b[at + Format.RECORD_HEADER + i];
    if (c < 0x21 || c > 0x7e) return undefined;
    key += String.fromCharCode(c);
  }
  const end = at + size - 4;
  const committed = b[end] === 0x43 && b[end + 1] === 0x4d && b[end + 2] === 0x49 && b[end + 3] === 0x54;
  return { type: type, flags: flags, key: key, size: size, committed: committed };
}

/** True if the CRC-32 of the record at `at` (of footprint `size`) matches. */
export function crcOk(b: Uint8Array, at: number, size: number): boolean {
  return crc32(b, at, at + size - 8) === u32(b, at + size - 8);
}

/** A record's bytes: header, key (its ASCII bytes), value, zero padding, CRC-32, commit word. */
export function buildRecord(type: number, flags: number, key: Uint8Array, value: Uint8Array): Uint8Array {
  const size = recordSize(key.length, value.length);
  const r = new Uint8Array(size);
  r[0] = type;
  r[1] = flags;
  r[2] = key.length;
  r[4] = value.length & 255;
  r[5] = value.length >>> 8;
  r.set(key, Format.RECORD_HEADER);
  r.set(value, Format.RECORD_HEADER + key.length);
  putU32(r, size - 8, crc32(r, 0, size - 8));
  r[size - 4] = 0x43;
  r[size - 3] = 0x4d;
  r[size - 2] = 0x49;
  r[size - 1] = 0x54;
  return r;
}

/** A COMMIT record closing `count` records. */
export function commitRecord(count: number): Uint8Array {
  const c = new Uint8Array(4);
  putU32(c, 0, count);
  return buildRecord(Format.TYPE_COMMIT, 0, new Uint8Array(0), c);
}

/** The 13-byte CCM nonce of a sealed value first written at (sector sequence, offset). */
export function sealNonce(seq: number, offset: number): Uint8Array {
  const n = new Uint8Array(13);
  putU32(n, 0, seq);
  n[4] = offset & 255;
  n[5] = offset >>> 8;
  return n;
}

/**
 * The stored value of a sealed SET record first written at (seq, offset): nonce prefix, ciphertext,
 * tag. The associated data is the format version and the key name.
 */
export function sealValue(cipher: BlockCipher, key: Uint8Array, plain: Uint8Array, nonce: Uint8Array): Uint8Array {
  const aad = new Uint8Array(1 + key.length);
  aad[0] = Format.STORE_VERSION;
  aad.set(key, 1);
  const sealed = ccmSeal(cipher, nonce, aad, plain, Format.SEAL_TAG);
  const v = new Uint8Array(Format.SEAL_NONCE_PREFIX + sealed.length);
  v.set(nonce.subarray(0, Format.SEAL_NONCE_PREFIX), 0);
  v.set(sealed, Format.SEAL_NONCE_PREFIX);
  return v;
}

/** The plaintext of a stored sealed value, or undefined if it fails authentication (associated data as sealValue's). */
export function openValue(cipher: BlockCipher, key: string, stored: Uint8Array): Uint8Array | undefined {
  const nonce = sealNonce(u32(stored, 0), u16(stored, 4));
  return ccmOpen(cipher, nonce, asciiBytes(String.fromCharCode(Format.STORE_VERSION) + key), stored.subarray(Format.SEAL_NONCE_PREFIX), Format.SEAL_TAG);
}

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Asset, ASSETS_MAGIC } from '../device/core/assets';
import { putU32 } from '../device/core/bytes';
import { crc32 } from '../device/core/crc32';
import type { Flash } from '../../hal/flash';
import { Bloom, bloomIndices } from '../../modules/accounts/common';
import { MAX_PASSWORD } from '../../modules/accounts/policy';
import { buildPage } from './page';

/**
 * The assets container (docs/formats/assets.md) and what goes in it: the admin page (gzip, from
 * page.ts) and the common-password filter. `hoshi flash` writes the container next to the image;
 * the simulator writes it into slot A at its start. The device reads it with firmware/device/core/assets.ts
 * and modules/accounts/common.ts: the constants and the hash are theirs.
 */

/**
 * The most a container may hold. It travels in the update payload after the app text (docs/formats/
 * update.md §3), so the real bound is each board's slot capacity (firmware/host/payload.ts checks
 * it); this catches a runaway asset. 192 KB: the page, the filter, a Kaluma image's messages, the
 * update verifier's text (29 KB on Kaluma, 23 KB on Espruino) and a Kaluma image's on-demand code
 * (the update worker, the login, the password checks, the store's writer, the loader's slot check
 * and the rest of firmware/host/ondemand.ts: 161 KB for the smart plug on Kaluma).
 */
export const ASSETS_MAX_BYTES = 192 * 1024;

/** One asset of the container. */
export interface AssetEntry {
  id: number;
  bytes: Uint8Array;
}

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * The container holding `entries`, in order: header "HSAS" · version · count · 2 reserved bytes,
 * one 16-byte entry per asset {id, flags 0, reserved 0, offset, length, CRC-32}, the CRC-32 of
 * header and entries, then each asset's bytes from a 4-byte aligned offset (padding 0xFF).
 */
export function encodeAssets(entries: AssetEntry[]): Uint8Array {
  if (entries.length > Asset.MAX_ENTRIES) throw new RangeError('assets: at most ' + Asset.MAX_ENTRIES + ' entries');
  const seen = new Set<number>();
  for (const e of entries) {
    if (!Number.isInteger(e.id) || e.id < 1 || e.id > 255) throw new RangeError('assets: an id is a byte from 1 to 255');
    if (seen.has(e.id)) throw new RangeError('assets: id ' + e.id + ' twice');
    seen.add(e.id);
  }
  const table = Asset.HEADER + entries.length * Asset.ENTRY;
  let at = align4(table + 4);
  const offsets = entries.map((e) => {
    const o = at;
    at = align4(o + e.bytes.length);
    return o;
  });
  const total = entries.length ? offsets[entries.length - 1]! + entries[entries.length - 1]!.bytes.length : table + 4;
  const out = new Uint8Array(total).fill(0xff);
  out.set(ASSETS_MAGIC, 0);
  out[4] = Asset.VERSION;
  out[5] = entries.length;
  out[6] = 0;
  out[7] = 0;
  entries.forEach((e, i) => {
    const p = Asset.HEADER + i * Asset.ENTRY;
    out[p] = e.id;
    out[p + 1] = 0;
    out[p + 2] = 0;
    out[p + 3] = 0;
    putU32(out, p + 4, offsets[i]!);
    putU32(out, p + 8, e.bytes.length);
    putU32(out, p + 12, crc32(e.bytes, 0, e.bytes.length));
    out.set(e.bytes, offsets[i]!);
  });
  putU32(out, table, crc32(out, 0, table));
  return out;
}

/** What a container holds, for tools and the bench: each entry's id, offset and length (no checks beyond the header's shape). */
export function describeAssets(container: Uint8Array): { id: number; offset: number; length: number }[] {
  const count = container[5]!;
  const out: { id: number; offset: number; length: number }[] = [];
  const view = new DataView(container.buffer, container.byteOffset, container.byteLength);
  for (let i = 0; i < count; i++) {
    const p = Asset.HEADER + i * Asset.ENTRY;
    out.push({ id: container[p]!, offset: view.getUint32(p + 4, true), length: view.getUint32(p + 8, true) });
  }
  return out;
}

/** SHA-256, as the device's filter lookup takes it. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The shortest password the policy ever accepts (★1's minimum): shorter common passwords need no filter. */
export const COMMON_MIN_LENGTH = 8;

let words: string[] | undefined;

/**
 * The words the filter holds: every password of `@zxcvbn-ts/language-common`'s frequency list
 * (MIT; docs/formats/assets.md) of 8 to 64 printable ASCII characters, lower-cased, each once, in
 * the list's order (most frequent first). The length rule refuses the shorter ones before the
 * filter is asked, and the policy refuses anything that is not printable ASCII.
 */
export function commonPasswordList(): string[] {
  if (!words) {
    const list = createRequire(import.meta.url)('@zxcvbn-ts/language-common/src/passwords.json') as string[];
    const seen = new Set<string>();
    for (const w of list) {
      if (typeof w !== 'string' || w.length < COMMON_MIN_LENGTH || w.length > MAX_PASSWORD || !/^[\x20-\x7e]+$/.test(w)) continue;
      seen.add(w.toLowerCase());
    }
    words = [...seen];
  }
  return words;
}

let wordSet: Set<string> | undefined;

/** Exact check for host tools (the device asks the filter): true if `lowerCase` is one of the filter's words. */
export function isCommonPassword(lowerCase: string): boolean {
  if (!wordSet) wordSet = new Set(commonPasswordList());
  return wordSet.has(lowerCase);
}

/** A Bloom filter's bytes and parameters. */
export interface CommonFilter {
  /** Layout of modules/accounts/common.ts: k, three zero bytes, m (u32 LE), the ⌈m/8⌉ bytes of the bit array. */
  bytes: Uint8Array;
  /** Words it holds (n). */
  words: number;
  /** Hash functions (bit indices per word). */
  k: number;
  /** Bits in the array. */
  m: number;
  /** The expected false-positive rate (1 − e^(−kn/m))^k. */
  falsePositiveRate: number;
}

/** The filter's parameters for `n` words at false-positive rate `p`: m = ⌈−n·ln p / (ln 2)²⌉ rounded up to whole bytes, k = round(m/n · ln 2). */
export function bloomParameters(n: number, p: number): { k: number; m: number; falsePositiveRate: number } {
  if (!(n >= 1) || !(p > 0 && p < 1)) throw new RangeError('bloom: n ≥ 1 and 0 < p < 1');
  const m = Math.ceil(Math.ceil((-n * Math.log(p)) / (Math.LN2 * Math.LN2)) / 8) * 8;
  const k = Math.min(Bloom.MAX_K, Math.max(1, Math.round((m / n) * Math.LN2)));
  return { k, m, falsePositiveRate: Math.pow(1 - Math.exp((-k * n) / m), k) };
}

/** A filter holding `list` (default: the common passwords) at false-positive rate near `p` (default 1 %). */
export function buildCommonFilter(list: string[] = commonPasswordList(), p = 0.01): CommonFilter {
  const { k, m, falsePositiveRate } = bloomParameters(list.length, p);
  const bytes = new Uint8Array(Bloom.HEADER + m / 8);
  bytes[0] = k;
  putU32(bytes, 4, m);
  for (const word of list) {
    for (const j of bloomIndices(sha256, word, k, m)) bytes[Bloom.HEADER + (j >> 3)]! |= 1 << (j & 7);
  }
  return { bytes, words: list.length, k, m, falsePositiveRate };
}

/** True if the filter `bytes` (common.ts's layout) answers "probably common" for `lowerCase`: the host's twin of the device lookup. */
export function filterHas(bytes: Uint8Array, lowerCase: string): boolean {
  const k = bytes[0]!;
  const m = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  return bloomIndices(sha256, lowerCase, k, m).every((j) => (bytes[Bloom.HEADER + (j >> 3)]! & (1 << (j & 7))) !== 0);
}

/** mulberry32: a small seeded generator, so that measured rates are reproducible (nothing secret). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random printable-ASCII strings of 8 to 16 characters, lower-cased, none of them a listed word. */
export function randomProbes(count: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const out: string[] = [];
  while (out.length < count) {
    const n = 8 + Math.floor(random() * 9);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + Math.floor(random() * 95));
    s = s.toLowerCase();
    if (!isCommonPassword(s)) out.push(s);
  }
  return out;
}

/**
 * Real-looking passwords that are not listed: the list's own short passwords (under 8 characters,
 * which the filter does not hold) and the common diceware words of the same package, each with a
 * year, a number or a symbol added the way people do ("dragon1987", "monkey!!", "apple_42"), kept
 * when 8 to 64 characters long and not a listed word. Deterministic, in the list's order.
 */
export function heldOutPasswords(count: number, seed = 2): string[] {
  const require = createRequire(import.meta.url);
  const list = require('@zxcvbn-ts/language-common/src/passwords.json') as string[];
  const dice = require('@zxcvbn-ts/language-common/src/diceware.json') as string[];
  const bases = [...list.filter((w) => w.length >= 4 && w.length < COMMON_MIN_LENGTH && /^[a-z0-9]+$/i.test(w)), ...dice];
  const random = seededRandom(seed);
  const suffix = (): string => {
    const r = random();
    if (r < 0.35) return String(1950 + Math.floor(random() * 76));
    if (r < 0.6) return String(Math.floor(random() * 1000));
    if (r < 0.8) return '!@#$%&*?'[Math.floor(random() * 8)]!.repeat(1 + Math.floor(random() * 2));
    return '_' + String(Math.floor(random() * 100));
  };
  const out = new Set<string>();
  for (let round = 0; out.size < count && round < 20; round++) {
    for (const base of bases) {
      if (out.size >= count) break;
      const w = (base + suffix()).toLowerCase();
      if (w.length >= COMMON_MIN_LENGTH && w.length <= MAX_PASSWORD && !isCommonPassword(w)) out.add(w);
    }
  }
  return [...out];
}

/** The share of `probes` the filter answers "probably common" for. */
export function measureFalsePositives(bytes: Uint8Array, probes: string[]): number {
  let hits = 0;
  for (const w of probes) if (filterHas(bytes, w)) hits++;
  return hits / probes.length;
}

let built: Promise<Uint8Array> | undefined;

/**
 * The whole container: the admin page (gzip) and the common-password filter, built once per
 * process; with a Kaluma image's `messages` and the update `verifier`'s text (Kaluma and Espruino
 * payloads), those too.
 */
export function buildAssets(messages?: Uint8Array, verifier?: Uint8Array, code?: AssetEntry[]): Promise<Uint8Array> {
  if (messages || verifier || code) return buildAssets().then(() => assetsWith(messages, verifier, code));
  if (!built) {
    built = (async () => {
      page = (await buildPage()).gzip;
      filter = buildCommonFilter().bytes;
      return assetsWith(undefined, undefined);
    })();
    built.catch(() => {
      built = undefined;
    });
  }
  return built;
}

/** The page and the filter of this process's container (a Kaluma image's adds its messages to them). */
let page: Uint8Array | undefined;
let filter: Uint8Array | undefined;

/** The container: the page, the filter, for a Kaluma image its message table (core/messages.ts), and the update verifier. */
function assetsWith(messages: Uint8Array | undefined, verifier?: Uint8Array, code?: AssetEntry[]): Uint8Array {
  const entries = [
    { id: Asset.PAGE, bytes: page! },
    { id: Asset.COMMON_PASSWORDS, bytes: filter! },
  ];
  if (messages) entries.push({ id: Asset.MESSAGES, bytes: messages });
  if (verifier) entries.push({ id: Asset.VERIFIER, bytes: verifier });
  // A Kaluma image's on-demand code (firmware/host/ondemand.ts).
  for (const c of code ?? []) entries.push(c);
  const container = encodeAssets(entries);
  if (container.length > ASSETS_MAX_BYTES) throw new Error('assets: the container is ' + container.length + ' bytes; the boards hold ' + ASSETS_MAX_BYTES);
  return container;
}

/**
 * Writes `container` into an assets partition as flashing does: erases the whole partition, then
 * programs the container padded with 0xFF to whole write units, header last (a write cut short
 * leaves no valid header over partial data: the reader finds `erased`).
 */
export function writeAssets(partition: Flash, container: Uint8Array): void {
  if (container.length > partition.size) throw new Error('assets: the container is ' + container.length + ' bytes; the partition holds ' + partition.size);
  const unit = partition.writeSize;
  const padded = new Uint8Array(Math.ceil(container.length / unit) * unit).fill(partition.erasedValue);
  padded.set(container);
  partition.erase(0, partition.size);
  const chunk = Math.max(unit, Math.floor(4096 / unit) * unit);
  const starts: number[] = [];
  for (let at = 0; at < padded.length; at += chunk) starts.push(at);
  for (const at of starts.reverse()) partition.write(at, padded.subarray(at, Math.min(padded.length, at + chunk)));
}

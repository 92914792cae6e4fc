import { createHash, sign as edSign, verify as edVerify, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Signed update packages on the host: docs/formats/update.md §1–3 (the package, the manifest, the
 * payload) and §9 (the signed `latest.cose` pointers of `hoshi publish`).
 *
 * A package is a CBOR sequence of two items: a COSE_Sign1 (tag 18) whose payload is the manifest,
 * then a byte string holding the payload. Everything is encoded deterministically (RFC 8949
 * §4.2.1) by the small encoder below, and read back by a strict decoder that refuses what the
 * device refuses (modules/ota/cbor.ts): indefinite lengths, non-shortest heads, unsorted or
 * duplicate map keys, tags other than the outer 18, floating-point and simple values, nesting past
 * 4 levels, invalid UTF-8; and, as the device reads them, the manifest's text fields hold printable
 * ASCII only (bytes 20-7E). The host never writes what it would refuse: every manifest
 * and pointer is checked with the same rules before it is signed.
 */

/** COSE algorithm identifiers for Ed25519 (update.md §1): -8 is emitted, both are accepted. */
export const ALG_EDDSA = -8;
export const ALG_ED25519 = -19;
export const ALGS_ACCEPTED: readonly number[] = [ALG_EDDSA, ALG_ED25519];
/** COSE header labels (RFC 9052 §3.1). */
export const HEADER_ALG = 1;
export const HEADER_KID = 4;
/** The COSE_Sign1 tag (RFC 9052 §2). */
export const TAG_SIGN1 = 18;
/** The largest COSE_Sign1, tag included (update.md §1). */
export const SIGN1_MAX = 1024;
/** Manifest format (key 0) this code reads and writes. */
export const FORMAT = 1;
export const KIND_IMAGE = 1;
export const KIND_ROTATION = 2;
export const KID_BYTES = 8;
export const DIGEST_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Containers nested deeper than this are refused (update.md §6, package-malformed). */
export const MAX_DEPTH = 4;
export const RUNTIMES: readonly string[] = ['kaluma', 'espruino', 'host'];
/** Payload layout (update.md §3): the assets container starts at the next multiple of this after the app text and its NUL. */
export const PAYLOAD_ALIGN = 4096;

/**
 * A slot's capacity per board (update.md §4: slot size − 4096). The manifest's `size` must fit it
 * (`image-too-large`). Boards not listed here are not checked on the host.
 */
export const SLOT_CAPACITY: { readonly [board: string]: number } = {
  host: 450560,
  'kaluma-pico-w': 241664,
  'kaluma-pico': 241664,
  'espruino-esp32': 262144,
};

/** Manifest keys (update.md §2). */
const enum Key {
  FORMAT = 0,
  KIND = 1,
  VENDOR = 2,
  MODEL = 3,
  RUNTIME = 4,
  BOARD = 5,
  VERSION = 6,
  COUNTER = 7,
  SIZE = 8,
  DIGEST = 9,
  KID = 10,
  APP = 11,
  NOTES = 12,
  ADD = 13,
  RETIRE = 14,
}
/** Names of the manifest keys, by key. */
export const MANIFEST_KEYS: readonly string[] = ['format', 'kind', 'vendor', 'model', 'runtime', 'board', 'version', 'counter', 'size', 'digest', 'kid', 'app', 'notes', 'add', 'retire'];

/**
 * Refusal codes the host tools report: update.md §6's codes that a package alone can earn, plus
 * `pointer-mismatch` (a `latest.cose` pointer whose package differs from what it names, §9).
 */
export type UpdateCode =
  | 'package-truncated'
  | 'package-malformed'
  | 'package-too-large'
  | 'alg-unsupported'
  | 'manifest-malformed'
  | 'manifest-unknown-field'
  | 'format-unsupported'
  | 'key-unknown'
  | 'signature-invalid'
  | 'image-too-large'
  | 'size-mismatch'
  | 'digest-mismatch'
  | 'pointer-mismatch';

/** A result of checking untrusted bytes: the value, or a code and a reason. Never an exception. */
export type Checked<T> = { ok: true; value: T } | { ok: false; code: UpdateCode; reason: string };

// ---------------------------------------------------------------------------------------------
// Deterministic CBOR (RFC 8949 §4.2.1)

/** A CBOR map: integer or text keys. Encoded in the deterministic key order whatever the insertion order. */
export type CborMap = Map<number | string, Cbor>;
export interface CborTag {
  tag: number;
  value: Cbor;
}
export type Cbor = number | string | Uint8Array | Cbor[] | CborMap | CborTag;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A CBOR head (RFC 8949 §3): major type and argument, in its shortest form. */
function head(major: number, n: number, out: number[]): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('cbor: argument ' + n + ' is not an unsigned integer below 2^53');
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out.push(m | 27, 0, 0, (hi >> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
  }
}

function push(out: number[], bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function encodeInto(value: Cbor, out: number[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError('cbor: ' + value + ' is not a safe integer (floats are not encoded)');
    if (value >= 0) head(0, value, out);
    else head(1, -1 - value, out);
  } else if (typeof value === 'string') {
    const b = utf8.encode(value);
    head(3, b.length, out);
    push(out, b);
  } else if (value instanceof Uint8Array) {
    head(2, value.length, out);
    push(out, value);
  } else if (Array.isArray(value)) {
    head(4, value.length, out);
    for (const item of value) encodeInto(item, out);
  } else if (value instanceof Map) {
    // Keys in the bytewise order of their encodings (§4.2.1), duplicates refused.
    const entries = [...value].map(([k, v]) => ({ key: encodeCbor(k), value: v }));
    entries.sort((a, b) => compareBytes(a.key, b.key));
    for (let i = 1; i < entries.length; i++) if (compareBytes(entries[i - 1]!.key, entries[i]!.key) === 0) throw new Error('cbor: duplicate map key');
    head(5, entries.length, out);
    for (const e of entries) {
      push(out, e.key);
      encodeInto(e.value, out);
    }
  } else if ('tag' in value) {
    head(6, value.tag, out);
    encodeInto(value.value, out);
  } else {
    throw new TypeError('cbor: cannot encode ' + String(value));
  }
}

/** The deterministic encoding (RFC 8949 §4.2.1) of `value`. Throws on what it cannot encode (programming errors). */
export function encodeCbor(value: Cbor): Uint8Array {
  const out: number[] = [];
  encodeInto(value, out);
  return Uint8Array.from(out);
}

/** The head of a byte string of `length` bytes: what precedes the payload in a package. */
export function bstrHead(length: number): Uint8Array {
  const out: number[] = [];
  head(2, length, out);
  return Uint8Array.from(out);
}

/** Why a decode stopped: `short` when the bytes end inside an item (truncation), `bad` otherwise. */
interface CborFailure {
  cborFailure: 'short' | 'bad';
  /** Where the item that ran short would have ended, at least (to tell truncation from size). */
  needed: number;
  reason: string;
}

function fail(kind: 'short' | 'bad', reason: string, needed = 0): never {
  throw { cborFailure: kind, needed, reason } satisfies CborFailure;
}

function isFailure(e: unknown): e is CborFailure {
  return typeof e === 'object' && e !== null && 'cborFailure' in e;
}

interface Reader {
  bytes: Uint8Array;
  at: number;
  end: number;
}

/** Reads a head; refuses reserved and indefinite forms and arguments not in their shortest form. */
function readHead(r: Reader): { major: number; info: number; n: number } {
  if (r.at >= r.end) fail('short', 'the bytes end before an item', r.at + 1);
  const ib = r.bytes[r.at++]!;
  const major = ib >> 5;
  const info = ib & 31;
  if (info < 24) return { major, info, n: info };
  if (info > 27) fail('bad', info === 31 ? 'an indefinite length or a break (deterministic CBOR has definite lengths only)' : 'a reserved head (additional information ' + info + ')');
  const size = 1 << (info - 24);
  if (r.at + size > r.end) fail('short', 'the bytes end inside a head', r.at + size);
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + r.bytes[r.at + i]!;
  r.at += size;
  if (major === 7) fail('bad', info > 24 ? 'a floating-point value (this format has none)' : 'a simple value (this format has none)');
  const min = info === 24 ? 24 : info === 25 ? 0x100 : info === 26 ? 0x10000 : 0x100000000;
  if (n < min) fail('bad', 'an integer or length not in its shortest form (' + n + ' in ' + size + ' bytes)');
  return { major, info, n };
}

/**
 * Decodes one item at `r.at` strictly. `tagAllowed`: the one place a tag may be (the outer 18).
 * Throws a CborFailure (caught by the callers below, never reaching theirs).
 */
function readItem(r: Reader, depth: number, tagAllowed: boolean): Cbor {
  const start = r.at;
  const { major, n } = readHead(r);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
    case 3: {
      if (n > r.end - r.at) fail('short', 'a string runs past the end', r.at + n);
      const b = r.bytes.subarray(r.at, r.at + n);
      r.at += n;
      if (major === 2) return b;
      try {
        return utf8Strict.decode(b);
      } catch {
        return fail('bad', 'a text string that is not UTF-8');
      }
    }
    case 4:
    case 5: {
      if (depth >= MAX_DEPTH) fail('bad', 'nesting past ' + MAX_DEPTH + ' levels');
      // Each item takes a byte at least: a count past the end is a truncation, found before looping.
      if (n * (major === 5 ? 2 : 1) > r.end - r.at) fail('short', (major === 4 ? 'an array' : 'a map') + ' of ' + n + ' items runs past the end', r.at + n);
      if (major === 4) {
        const items: Cbor[] = [];
        for (let i = 0; i < n; i++) items.push(readItem(r, depth + 1, false));
        return items;
      }
      const map: CborMap = new Map();
      let previous: Uint8Array | undefined;
      for (let i = 0; i < n; i++) {
        const keyStart = r.at;
        const key = readItem(r, depth + 1, false);
        if (typeof key !== 'number' && typeof key !== 'string') fail('bad', 'a map key that is not an integer or a text string');
        const keyBytes = r.bytes.subarray(keyStart, r.at);
        if (previous && compareBytes(previous, keyBytes) >= 0) fail('bad', compareBytes(previous, keyBytes) === 0 ? 'a duplicate map key (' + String(key) + ')' : 'map keys out of the deterministic order (' + String(key) + ')');
        previous = keyBytes;
        map.set(key, readItem(r, depth + 1, false));
      }
      return map;
    }
    case 6:
      if (!tagAllowed || n !== TAG_SIGN1) fail('bad', 'tag ' + n + (tagAllowed ? ' (only 18, COSE_Sign1, is allowed)' : ' inside the package (only the outer 18 is allowed)'));
      return { tag: n, value: readItem(r, depth, false) };
    default:
      return fail('bad', 'a simple value (' + n + ') at byte ' + start + ': this format has none');
  }
}

/**
 * Decodes the one item that fills `bytes` exactly (a protected header, a manifest, a pointer's
 * map): running short of, or past, its enclosing byte string is malformed, not truncated.
 */
export function decodeExact(bytes: Uint8Array): Checked<Cbor> {
  const r: Reader = { bytes, at: 0, end: bytes.length };
  try {
    const value = readItem(r, 0, false);
    if (r.at !== r.end) return { ok: false, code: 'package-malformed', reason: (bytes.length - r.at) + ' bytes after the item inside its byte string' };
    return { ok: true, value };
  } catch (e) {
    if (!isFailure(e)) throw e;
    return { ok: false, code: 'package-malformed', reason: e.reason + (e.cborFailure === 'short' ? ' (inside its byte string)' : '') };
  }
}

/**
 * Decodes one item of a sequence at `offset` (a package's outer items): running past the end of
 * `bytes` is `package-truncated`. `tagAllowed`: the COSE_Sign1's tag.
 */
function decodeAt(bytes: Uint8Array, offset: number, tagAllowed: boolean): Checked<{ value: Cbor; end: number }> | { ok: false; code: 'package-truncated'; reason: string; needed: number } {
  const r: Reader = { bytes, at: offset, end: bytes.length };
  try {
    const value = readItem(r, 0, tagAllowed);
    return { ok: true, value: { value, end: r.at } };
  } catch (e) {
    if (!isFailure(e)) throw e;
    if (e.cborFailure === 'short') return { ok: false, code: 'package-truncated', reason: e.reason, needed: e.needed };
    return { ok: false, code: 'package-malformed', reason: e.reason };
  }
}

// ---------------------------------------------------------------------------------------------
// Keys, COSE_Sign1

/** The kid of a public key (update.md §1): the first 8 bytes of SHA-256 of its 32 bytes. */
export function kidOf(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError('publicKey: ' + PUBLIC_KEY_BYTES + ' bytes');
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, KID_BYTES));
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An Ed25519 signing key: node's private key object, its 32-byte public key and its kid. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  kid: Uint8Array;
}

/** Node's public key object for 32 raw Ed25519 public key bytes. */
export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
}

/**
 * The COSE Sig_structure of a COSE_Sign1 (RFC 9052 §4.4), external AAD empty:
 * `["Signature1", protected, h'', payload]`, encoded deterministically: the bytes Ed25519 signs.
 */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

/** The protected header of update.md §1: `{1: alg, 4: kid}`, deterministic. */
export function protectedHeader(kid: Uint8Array, alg = ALG_EDDSA): Uint8Array {
  return encodeCbor(
    new Map<number, Cbor>([
      [HEADER_ALG, alg],
      [HEADER_KID, kid],
    ]),
  );
}

/** A tagged COSE_Sign1 over `payload` with an empty unprotected header. Throws if over SIGN1_MAX. */
export function signSign1(payload: Uint8Array, key: SigningKey, alg = ALG_EDDSA): Uint8Array {
  if (!ALGS_ACCEPTED.includes(alg)) throw new RangeError('alg: -8 or -19');
  const p = protectedHeader(key.kid, alg);
  const signature = new Uint8Array(edSign(null, sigStructure(p, payload), key.privateKey));
  const out = encodeCbor({ tag: TAG_SIGN1, value: [p, new Map(), payload, signature] });
  if (out.length > SIGN1_MAX) throw new RangeError('the COSE_Sign1 is ' + out.length + ' bytes: at most ' + SIGN1_MAX + ' (update.md §1)');
  return out;
}

/** A COSE_Sign1 as read: its parts and the bytes its signature covers. */
export interface Sign1 {
  alg: number;
  kid: Uint8Array;
  protectedBytes: Uint8Array;
  /** The signed payload (a manifest, or a pointer's map). */
  payload: Uint8Array;
  signature: Uint8Array;
  /** The Sig_structure: what the signature covers. */
  toBeSigned: Uint8Array;
  /** Bytes of the COSE_Sign1, tag included. */
  length: number;
}

/**
 * Reads the COSE_Sign1 at the start of `bytes` under update.md §1: tag 18, four items, a
 * protected header of exactly {1: alg, 4: kid}, an empty unprotected header, a 64-byte signature,
 * at most 1024 bytes. Never throws.
 */
export function parseSign1(bytes: Uint8Array): Checked<Sign1> {
  const item = decodeAt(bytes, 0, true);
  if (!item.ok) {
    // Declared lengths past 1024 bytes: the item is too large whether or not the file holds it.
    if (item.code === 'package-truncated' && 'needed' in item && item.needed > SIGN1_MAX) return { ok: false, code: 'package-too-large', reason: 'the COSE_Sign1 declares more than ' + SIGN1_MAX + ' bytes' };
    return { ok: false, code: item.code, reason: item.reason };
  }
  const { value, end } = item.value;
  if (end > SIGN1_MAX) return { ok: false, code: 'package-too-large', reason: 'the COSE_Sign1 is ' + end + ' bytes: at most ' + SIGN1_MAX };
  const malformed = (reason: string): Checked<Sign1> => ({ ok: false, code: 'package-malformed', reason });
  if (typeof value !== 'object' || !('tag' in value)) return malformed('the first item is not a COSE_Sign1 (tag 18)');
  const a = value.value;
  if (!Array.isArray(a) || a.length !== 4) return malformed('the COSE_Sign1 is not an array of 4 items');
  const [p, u, payload, signature] = a;
  if (!(p instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) return malformed('the COSE_Sign1 items are not byte strings where RFC 9052 puts them');
  if (!(u instanceof Map) || u.size !== 0) return malformed('the unprotected header is not an empty map');
  if (signature.length !== SIGNATURE_BYTES) return malformed('the signature is ' + signature.length + ' bytes, not 64');
  const header = decodeExact(p);
  if (!header.ok) return { ok: false, code: header.code, reason: 'protected header: ' + header.reason };
  const h = header.value;
  if (!(h instanceof Map) || h.size !== 2 || !h.has(HEADER_ALG) || !h.has(HEADER_KID)) return malformed('the protected header is not a map of exactly alg (1) and kid (4)');
  const alg = h.get(HEADER_ALG);
  if (typeof alg !== 'number' || !ALGS_ACCEPTED.includes(alg)) return { ok: false, code: 'alg-unsupported', reason: 'alg ' + describeValue(alg!) + ': only -8 (EdDSA) and -19 (Ed25519)' };
  const kid = h.get(HEADER_KID);
  if (!(kid instanceof Uint8Array) || kid.length !== KID_BYTES) return malformed('the kid is not an 8-byte byte string');
  return { ok: true, value: { alg, kid, protectedBytes: p, payload, signature, toBeSigned: sigStructure(p, payload), length: end } };
}

/** Whether `signature` of `sign1` verifies under `publicKey` (32 bytes). Never throws. */
export function signatureValid(sign1: Sign1, publicKey: Uint8Array): boolean {
  try {
    return edVerify(null, sign1.toBeSigned, publicKeyObject(publicKey), sign1.signature);
  } catch {
    return false;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

// ---------------------------------------------------------------------------------------------
// The manifest

/** A manifest (update.md §2) as fields. */
export interface Manifest {
  format: number;
  kind: number;
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  /** Image packages only. */
  version?: string;
  counter: number;
  /** Image packages only. */
  size?: number;
  /** Image packages only: SHA-256 of the payload. */
  digest?: Uint8Array;
  kid: Uint8Array;
  /** Image packages only: length of the app text. */
  app?: number;
  notes?: string;
  /** Key rotation only: a public key to trust. */
  add?: Uint8Array;
  /** Key rotation only: a kid to retire. */
  retire?: Uint8Array;
}

const VERSION = /^(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})$/;

/** `MAJOR.MINOR.PATCH`, each 0–65535 without leading zeros (update.md §2), as numbers; undefined otherwise. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const m = VERSION.exec(version);
  if (!m) return undefined;
  const v: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return v.every((n) => n <= 65535) ? v : undefined;
}

/** Semantic-version order of two valid versions: negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new RangeError('versions: MAJOR.MINOR.PATCH');
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

const utf8Length = (s: string): number => utf8.encode(s).length;
/** Printable ASCII, bytes 20-7E: the manifest's text as the device reads it (modules/ota/cbor.ts `ascii`). */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Keys required, and allowed, per kind (update.md §2.1, §2.2). */
const REQUIRED: { [kind: number]: number[] } = {
  [KIND_IMAGE]: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  [KIND_ROTATION]: [0, 1, 2, 3, 4, 5, 7, 10],
};
const ALLOWED: { [kind: number]: number[] } = {
  [KIND_IMAGE]: [...REQUIRED[KIND_IMAGE]!, 12],
  // Notes (12) is neither required nor forbidden for key rotation in §2.2: allowed.
  [KIND_ROTATION]: [...REQUIRED[KIND_ROTATION]!, 12, 13, 14],
};

function describeValue(v: Cbor): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return "h'" + hex(v) + "'";
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Map) return 'a map';
  return 'tag ' + v.tag;
}

/**
 * Checks a decoded manifest map against update.md §2 and returns its fields. Order: the format
 * first (a later format may change everything else), unknown keys, the kind and what belongs to
 * it, then each value's type and rule. Never throws.
 */
export function checkManifest(map: Cbor): Checked<Manifest> {
  const malformed = (reason: string): Checked<Manifest> => ({ ok: false, code: 'manifest-malformed', reason });
  if (!(map instanceof Map)) return malformed('the manifest is not a map');
  const format = map.get(Key.FORMAT);
  if (format === undefined) return malformed('format (0) is missing');
  if (typeof format !== 'number' || format < 0) return malformed('format (0) is not an unsigned integer');
  if (format !== FORMAT) return { ok: false, code: 'format-unsupported', reason: 'manifest format ' + format + ': this tool reads format ' + FORMAT };
  for (const k of map.keys()) {
    if (typeof k !== 'number' || k < 0) return malformed('manifest key ' + describeValue(k) + ' is not an unsigned integer');
    if (k > Key.RETIRE) return { ok: false, code: 'manifest-unknown-field', reason: 'manifest key ' + k + ' is not in format 1' };
  }
  const kind = map.get(Key.KIND);
  if (kind !== KIND_IMAGE && kind !== KIND_ROTATION) return malformed('kind (1) is ' + (kind === undefined ? 'missing' : describeValue(kind)) + ': 1 (image) or 2 (key rotation)');
  for (const k of REQUIRED[kind]!) if (!map.has(k)) return malformed(MANIFEST_KEYS[k] + ' (' + k + ') is missing');
  for (const k of map.keys()) if (!ALLOWED[kind]!.includes(k as number)) return malformed(MANIFEST_KEYS[k as number] + ' (' + k + ') does not belong to a ' + (kind === KIND_IMAGE ? 'image' : 'key-rotation') + ' package');
  if (kind === KIND_ROTATION && !map.has(Key.ADD) && !map.has(Key.RETIRE)) return malformed('a key-rotation package needs add (13) or retire (14)');

  // Text fields: printable ASCII (as the device reads them), min to max bytes.
  const text = (k: Key, min: number, max: number): string | undefined => {
    const v = map.get(k);
    return typeof v === 'string' && PRINTABLE.test(v) && v.length >= min && v.length <= max ? v : undefined;
  };
  const uint = (k: Key, min: number, max: number): number | undefined => {
    const v = map.get(k);
    return typeof v === 'number' && v >= min && v <= max ? v : undefined;
  };
  const bytes = (k: Key, n: number): Uint8Array | undefined => {
    const v = map.get(k);
    return v instanceof Uint8Array && v.length === n ? v : undefined;
  };
  const bad = (k: Key, rule: string): Checked<Manifest> => malformed(MANIFEST_KEYS[k] + ' (' + k + ') is ' + describeValue(map.get(k)!) + ': ' + rule);

  const vendor = text(Key.VENDOR, 1, 64);
  if (vendor === undefined) return bad(Key.VENDOR, 'printable ASCII text of 1-64 bytes');
  const model = text(Key.MODEL, 1, 64);
  if (model === undefined) return bad(Key.MODEL, 'printable ASCII text of 1-64 bytes');
  const runtime = map.get(Key.RUNTIME);
  if (typeof runtime !== 'string' || !RUNTIMES.includes(runtime)) return bad(Key.RUNTIME, 'kaluma, espruino or host');
  const board = text(Key.BOARD, 1, 32);
  if (board === undefined) return bad(Key.BOARD, 'printable ASCII text of 1-32 bytes');
  const counter = uint(Key.COUNTER, 0, 0xffffffff);
  if (counter === undefined) return bad(Key.COUNTER, 'an unsigned integer up to 2^32 - 1');
  const kid = bytes(Key.KID, KID_BYTES);
  if (!kid) return bad(Key.KID, 'an 8-byte byte string');
  const manifest: Manifest = { format, kind, vendor, model, runtime, board, counter, kid };
  if (map.has(Key.NOTES)) {
    const notes = text(Key.NOTES, 1, 200);
    if (notes === undefined || !notes.startsWith('https://') || notes.length <= 8) return bad(Key.NOTES, 'an https:// URL of at most 200 bytes of printable ASCII');
    manifest.notes = notes;
  }
  if (kind === KIND_IMAGE) {
    const version = map.get(Key.VERSION);
    if (typeof version !== 'string' || !parseVersion(version)) return bad(Key.VERSION, 'MAJOR.MINOR.PATCH, each 0-65535 without leading zeros');
    const size = uint(Key.SIZE, 1, 0xffffffff);
    if (size === undefined) return bad(Key.SIZE, 'an unsigned integer in 1 … 2^32 − 1');
    const digest = bytes(Key.DIGEST, DIGEST_BYTES);
    if (!digest) return bad(Key.DIGEST, 'a 32-byte byte string');
    const app = uint(Key.APP, 1, size - 1);
    if (app === undefined) return bad(Key.APP, 'an unsigned integer in 1 … size − 1');
    Object.assign(manifest, { version, size, digest, app });
  } else {
    if (map.has(Key.ADD)) {
      const add = bytes(Key.ADD, PUBLIC_KEY_BYTES);
      if (!add) return bad(Key.ADD, 'a 32-byte byte string');
      manifest.add = add;
    }
    if (map.has(Key.RETIRE)) {
      const retire = bytes(Key.RETIRE, KID_BYTES);
      if (!retire) return bad(Key.RETIRE, 'an 8-byte byte string');
      manifest.retire = retire;
    }
  }
  return { ok: true, value: manifest };
}

/** A manifest's fields as its CBOR map (no checks: see encodeManifest). */
function manifestMap(m: Manifest): CborMap {
  const map: CborMap = new Map();
  const fields: [Key, Cbor | undefined][] = [
    [Key.FORMAT, m.format],
    [Key.KIND, m.kind],
    [Key.VENDOR, m.vendor],
    [Key.MODEL, m.model],
    [Key.RUNTIME, m.runtime],
    [Key.BOARD, m.board],
    [Key.VERSION, m.version],
    [Key.COUNTER, m.counter],
    [Key.SIZE, m.size],
    [Key.DIGEST, m.digest],
    [Key.KID, m.kid],
    [Key.APP, m.app],
    [Key.NOTES, m.notes],
    [Key.ADD, m.add],
    [Key.RETIRE, m.retire],
  ];
  for (const [k, v] of fields) if (v !== undefined) map.set(k, v);
  return map;
}

/**
 * The deterministic encoding of a manifest, checked first with the rules a verifier applies
 * (checkManifest): the host never signs what it would refuse. Throws naming the field.
 */
export function encodeManifest(m: Manifest): Uint8Array {
  const map = manifestMap(m);
  const checked = checkManifest(map);
  if (!checked.ok) throw new Error('manifest: ' + checked.reason);
  return encodeCbor(map);
}

// ---------------------------------------------------------------------------------------------
// Packages

/** A package as read: its COSE_Sign1, its manifest and where its payload is. */
export interface ParsedPackage extends Sign1 {
  manifest: Manifest;
  /** Offset of the payload's first byte in the package. */
  payloadOffset: number;
  payloadLength: number;
  /** The payload bytes (a view into the package). */
  body: Uint8Array;
  /** Bytes of the whole package. */
  packageLength: number;
}

/**
 * Reads a package under update.md §1–2: the COSE_Sign1 and the manifest, then the payload byte
 * string, which must end the file. Checks the structure only (no key, no digest: verifyPackage).
 * Never throws.
 */
export function parsePackage(bytes: Uint8Array): Checked<ParsedPackage> {
  const sign1 = parseSign1(bytes);
  if (!sign1.ok) return sign1;
  const s = sign1.value;
  const decoded = decodeExact(s.payload);
  if (!decoded.ok) return { ok: false, code: decoded.code, reason: 'manifest: ' + decoded.reason };
  const manifest = checkManifest(decoded.value);
  if (!manifest.ok) return manifest;
  const m = manifest.value;
  if (!equalBytes(m.kid, s.kid)) return { ok: false, code: 'manifest-malformed', reason: "the manifest's kid (10) " + hex(m.kid) + " is not the protected header's " + hex(s.kid) };
  if (s.length === bytes.length) return { ok: false, code: 'package-truncated', reason: 'the package ends after its COSE_Sign1: no payload byte string' };
  const body = decodeAt(bytes, s.length, false);
  if (!body.ok) return { ok: false, code: body.code, reason: 'payload: ' + body.reason };
  if (!(body.value.value instanceof Uint8Array)) return { ok: false, code: 'package-malformed', reason: 'the second item is not a byte string' };
  if (body.value.end !== bytes.length) return { ok: false, code: 'package-malformed', reason: (bytes.length - body.value.end) + ' bytes after the payload: a package is exactly two items' };
  const payload = body.value.value;
  return { ok: true, value: { ...s, manifest: m, payloadOffset: body.value.end - payload.length, payloadLength: payload.length, body: payload, packageLength: bytes.length } };
}

/**
 * The checks of a parsed package that need no key: the payload's length is the manifest's size
 * (empty for key rotation), it fits its board's slot, and its SHA-256 is the digest.
 */
export function checkPayload(p: ParsedPackage): Checked<ParsedPackage> {
  const m = p.manifest;
  if (m.kind === KIND_ROTATION) {
    if (p.payloadLength !== 0) return { ok: false, code: 'size-mismatch', reason: 'a key-rotation package carries an empty payload, not ' + p.payloadLength + ' bytes' };
    return { ok: true, value: p };
  }
  if (p.payloadLength !== m.size) return { ok: false, code: 'size-mismatch', reason: 'the payload is ' + p.payloadLength + ' bytes; the manifest says ' + m.size };
  const capacity = SLOT_CAPACITY[m.board];
  if (capacity !== undefined && m.size! > capacity) return { ok: false, code: 'image-too-large', reason: 'the payload is ' + m.size + ' bytes; a ' + m.board + ' slot holds ' + capacity };
  if (!equalBytes(sha256(p.body), m.digest!)) return { ok: false, code: 'digest-mismatch', reason: "the payload's SHA-256 is not the manifest's digest (9)" };
  return { ok: true, value: p };
}

/**
 * Verifies a package fully against the public keys given (32 bytes each): structure, strict CBOR,
 * the signer's kid among the keys (`key-unknown`), the signature, the payload's size, its slot and
 * its digest. Never throws.
 */
export function verifyPackage(bytes: Uint8Array, publicKeys: Uint8Array[]): Checked<ParsedPackage> {
  const parsed = parsePackage(bytes);
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const key = publicKeys.find((k) => k.length === PUBLIC_KEY_BYTES && equalBytes(kidOf(k), p.kid));
  if (!key) return { ok: false, code: 'key-unknown', reason: 'signed by kid ' + hex(p.kid) + ', not ' + (publicKeys.length ? 'the key given (' + publicKeys.map((k) => hex(kidOf(k))).join(', ') + ')' : 'any key given') };
  if (!signatureValid(p, key)) return { ok: false, code: 'signature-invalid', reason: 'the signature does not verify under kid ' + hex(p.kid) };
  return checkPayload(p);
}

/** What an image package is made of, besides its key. */
export interface ImageFields {
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  version: string;
  counter: number;
  /** Length of the app text at the start of the payload. */
  app: number;
  notes?: string;
}

/** A package: the COSE_Sign1 over `manifest`, then the payload byte string (update.md §1). */
export function encodePackage(manifest: Manifest, payload: Uint8Array, key: SigningKey, alg = ALG_EDDSA): Uint8Array {
  const sign1 = signSign1(encodeManifest(manifest), key, alg);
  const h = bstrHead(payload.length);
  const out = new Uint8Array(sign1.length + h.length + payload.length);
  out.set(sign1, 0);
  out.set(h, sign1.length);
  out.set(payload, sign1.length + h.length);
  return out;
}

/**
 * Checks a payload's layout (update.md §3): `app` bytes of ASCII text without NUL, a NUL, FF to
 * the next multiple of 4096, then the assets (or nothing). Returns the reason it is not, or undefined.
 */
export function checkPayloadLayout(payload: Uint8Array, app: number): string | undefined {
  if (!(app >= 1 && app < payload.length)) return 'app ' + app + ' is not in 1 … ' + (payload.length - 1);
  for (let i = 0; i < app; i++) if (payload[i] === 0 || payload[i]! > 0x7e) return 'the app text has a byte 0x' + payload[i]!.toString(16) + ' at ' + i + ' (ASCII without NUL)';
  if (payload[app] !== 0) return 'no NUL after the app text';
  const aligned = Math.ceil((app + 1) / PAYLOAD_ALIGN) * PAYLOAD_ALIGN;
  if (payload.length !== app + 1 && payload.length <= aligned) return 'the payload ends inside the padding (' + payload.length + ' bytes; the assets start at ' + aligned + ')';
  for (let i = app + 1; i < Math.min(aligned, payload.length); i++) if (payload[i] !== 0xff) return 'the padding after the NUL is not FF (at ' + i + ')';
  return undefined;
}

/** A signed image package for `payload` (its layout checked: update.md §3). Throws naming what is wrong. */
export function createImagePackage(fields: ImageFields, payload: Uint8Array, key: SigningKey, alg = ALG_EDDSA): Uint8Array {
  const layout = checkPayloadLayout(payload, fields.app);
  if (layout) throw new Error('payload: ' + layout);
  const capacity = SLOT_CAPACITY[fields.board];
  if (capacity !== undefined && payload.length > capacity) throw new Error('payload: ' + payload.length + ' bytes; a ' + fields.board + ' slot holds ' + capacity);
  const manifest: Manifest = {
    format: FORMAT,
    kind: KIND_IMAGE,
    vendor: fields.vendor,
    model: fields.model,
    runtime: fields.runtime,
    board: fields.board,
    version: fields.version,
    counter: fields.counter,
    size: payload.length,
    digest: sha256(payload),
    kid: key.kid,
    app: fields.app,
    notes: fields.notes,
  };
  return encodePackage(manifest, payload, key, alg);
}

/** What a key-rotation package is made of (update.md §2.2). */
export interface RotationFields {
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  counter: number;
  /** A public key (32 bytes) to trust. */
  add?: Uint8Array;
  /** The kid (8 bytes) of a key to retire. */
  retire?: Uint8Array;
}

/**
 * A signed key-rotation package. Refuses what every device refuses whatever its state: neither
 * add nor retire, adding the signer's own key, retiring the signer's own kid without adding another.
 */
export function createRotationPackage(fields: RotationFields, key: SigningKey, alg = ALG_EDDSA): Uint8Array {
  if (!fields.add && !fields.retire) throw new Error('rotation: add a key, retire a kid, or both');
  if (fields.add && fields.add.length === PUBLIC_KEY_BYTES && equalBytes(kidOf(fields.add), key.kid)) throw new Error('rotation: the key to add is the signing key, trusted already');
  if (fields.retire && equalBytes(fields.retire, key.kid) && !fields.add) throw new Error('rotation: retiring the signing key needs another key added in the same package (update.md §2.2)');
  if (fields.add && fields.retire && fields.add.length === PUBLIC_KEY_BYTES && equalBytes(kidOf(fields.add), fields.retire)) throw new Error('rotation: the key added is the one retired');
  const manifest: Manifest = {
    format: FORMAT,
    kind: KIND_ROTATION,
    vendor: fields.vendor,
    model: fields.model,
    runtime: fields.runtime,
    board: fields.board,
    counter: fields.counter,
    kid: key.kid,
    add: fields.add,
    retire: fields.retire,
  };
  return encodePackage(manifest, new Uint8Array(0), key, alg);
}

// ---------------------------------------------------------------------------------------------
// Pointers (`latest.cose`, update.md §9)

/** A signed pointer to the newest package of one model, runtime and board. */
export interface Pointer {
  format: number;
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  version: string;
  counter: number;
  /** The package, relative to the pointer's own URL: `<version>.hoshi`. */
  path: string;
  /** SHA-256 of the package file. */
  sha256: Uint8Array;
  /** Bytes of the package file. */
  size: number;
}

const POINTER_KEYS = ['format', 'vendor', 'model', 'runtime', 'board', 'version', 'counter', 'path', 'sha256', 'size'];

/**
 * Checks a decoded pointer map (update.md §9): exactly the text keys of `Pointer`, each of its
 * type; `path` is `<version>.hoshi`. Never throws.
 */
export function checkPointer(map: Cbor): Checked<Pointer> {
  const malformed = (reason: string): Checked<Pointer> => ({ ok: false, code: 'manifest-malformed', reason: 'pointer: ' + reason });
  if (!(map instanceof Map)) return malformed('not a map');
  const format = map.get('format');
  if (typeof format !== 'number') return malformed('format is missing or not an unsigned integer');
  if (format !== FORMAT) return { ok: false, code: 'format-unsupported', reason: 'pointer format ' + format + ': this tool reads format ' + FORMAT };
  for (const k of map.keys()) if (typeof k !== 'string' || !POINTER_KEYS.includes(k)) return { ok: false, code: 'manifest-unknown-field', reason: 'pointer key ' + describeValue(k) + ' is not in format 1' };
  for (const k of POINTER_KEYS) if (!map.has(k)) return malformed(k + ' is missing');
  const str = (k: string, max: number): string | undefined => {
    const v = map.get(k);
    return typeof v === 'string' && PRINTABLE.test(v) && v.length >= 1 && v.length <= max ? v : undefined;
  };
  const vendor = str('vendor', 64);
  const model = str('model', 64);
  const runtime = str('runtime', 8);
  const board = str('board', 32);
  const version = str('version', 17);
  const path = str('path', 64);
  const counter = map.get('counter');
  const size = map.get('size');
  const digest = map.get('sha256');
  if (vendor === undefined || model === undefined || board === undefined) return malformed('vendor, model and board are text strings of 1-64, 1-64 and 1-32 bytes');
  if (runtime === undefined || !RUNTIMES.includes(runtime)) return malformed('runtime is kaluma, espruino or host');
  if (version === undefined || !parseVersion(version)) return malformed('version is MAJOR.MINOR.PATCH');
  if (typeof counter !== 'number' || counter < 0 || counter > 0xffffffff) return malformed('counter is an unsigned integer up to 2^32 - 1');
  if (typeof size !== 'number' || size < 1) return malformed('size is an unsigned integer of at least 1');
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) return malformed('sha256 is a 32-byte byte string');
  if (path !== version + '.hoshi') return malformed('path is "' + version + '.hoshi" (the package beside the pointer), not ' + describeValue(map.get('path')!));
  return { ok: true, value: { format, vendor, model, runtime, board, version, counter, path, sha256: digest, size } };
}

/** A signed pointer (COSE_Sign1 over the pointer's deterministic map). Throws if the pointer is not valid. */
export function createPointer(pointer: Pointer, key: SigningKey, alg = ALG_EDDSA): Uint8Array {
  const map: CborMap = new Map();
  for (const k of POINTER_KEYS) map.set(k, (pointer as unknown as { [k: string]: Cbor })[k]!);
  const checked = checkPointer(map);
  if (!checked.ok) throw new Error(checked.reason);
  return signSign1(encodeCbor(map), key, alg);
}

export interface ParsedPointer extends Sign1 {
  pointer: Pointer;
}

/** Reads a pointer file: one COSE_Sign1 (update.md §1's rules) whose payload is a pointer map, and nothing after it. Never throws. */
export function parsePointer(bytes: Uint8Array): Checked<ParsedPointer> {
  const sign1 = parseSign1(bytes);
  if (!sign1.ok) return sign1;
  if (sign1.value.length !== bytes.length) return { ok: false, code: 'package-malformed', reason: (bytes.length - sign1.value.length) + ' bytes after the pointer' };
  const decoded = decodeExact(sign1.value.payload);
  if (!decoded.ok) return { ok: false, code: decoded.code, reason: 'pointer: ' + decoded.reason };
  const pointer = checkPointer(decoded.value);
  if (!pointer.ok) return pointer;
  return { ok: true, value: { ...sign1.value, pointer: pointer.value } };
}

/** Verifies a pointer's signature under one of `publicKeys`. Never throws. */
export function verifyPointer(bytes: Uint8Array, publicKeys: Uint8Array[]): Checked<ParsedPointer> {
  const parsed = parsePointer(bytes);
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const key = publicKeys.find((k) => k.length === PUBLIC_KEY_BYTES && equalBytes(kidOf(k), p.kid));
  if (!key) return { ok: false, code: 'key-unknown', reason: 'pointer signed by kid ' + hex(p.kid) + ', not by a key given' };
  if (!signatureValid(p, key)) return { ok: false, code: 'signature-invalid', reason: "the pointer's signature does not verify under kid " + hex(p.kid) };
  return parsed;
}

/**
 * Whether a file's first COSE_Sign1 carries a pointer (its payload a map with text keys) rather
 * than a manifest (integer keys): how `hoshi verify` and `hoshi inspect` tell them apart.
 */
export function looksLikePointer(bytes: Uint8Array): boolean {
  const s = parseSign1(bytes);
  if (!s.ok) return false;
  const d = decodeExact(s.value.payload);
  return d.ok && d.value instanceof Map && d.value.size > 0 && [...d.value.keys()].every((k) => typeof k === 'string');
}

/** Checks that `packageBytes` is what `pointer` names: size, SHA-256, and the manifest's fields. */
export function checkPointerTarget(pointer: Pointer, packageBytes: Uint8Array): Checked<ParsedPackage> {
  const mismatch = (reason: string): Checked<ParsedPackage> => ({ ok: false, code: 'pointer-mismatch', reason });
  if (packageBytes.length !== pointer.size) return mismatch('the package is ' + packageBytes.length + ' bytes; the pointer says ' + pointer.size);
  if (!equalBytes(sha256(packageBytes), pointer.sha256)) return mismatch("the package's SHA-256 is not the pointer's");
  const parsed = parsePackage(packageBytes);
  if (!parsed.ok) return parsed;
  const m = parsed.value.manifest;
  for (const k of ['vendor', 'model', 'runtime', 'board', 'version', 'counter'] as const) {
    if (m[k] !== pointer[k]) return mismatch('the package\'s ' + k + ' is ' + String(m[k]) + '; the pointer says ' + String(pointer[k]));
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Description (hoshi inspect)

const ALG_NAMES: { [alg: number]: string } = { [ALG_EDDSA]: 'EdDSA', [ALG_ED25519]: 'Ed25519' };

function headerLines(s: Sign1): string[] {
  return [
    'COSE_Sign1: ' + s.length + ' bytes (at most ' + SIGN1_MAX + '), tag 18',
    'protected header (' + s.protectedBytes.length + ' bytes): alg ' + s.alg + ' (' + ALG_NAMES[s.alg] + '), kid ' + hex(s.kid),
    'signature: ' + hex(s.signature) + ' (not checked: `hoshi verify --pub` checks it)',
  ];
}

/** A package's header, manifest, sizes and overhead as text lines (what `hoshi inspect` prints). */
export function describePackage(p: ParsedPackage): string[] {
  const m = p.manifest;
  const lines = ['package: ' + p.packageLength + ' bytes', ...headerLines(p), 'manifest (' + p.payload.length + ' bytes):'];
  const value = (k: number, v: unknown): string => {
    if (v instanceof Uint8Array) return hex(v);
    if (k === Key.KIND) return v + (v === KIND_IMAGE ? ' (image)' : ' (key rotation)');
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  };
  MANIFEST_KEYS.forEach((name, k) => {
    const v = (m as unknown as { [k: string]: unknown })[name];
    if (v !== undefined) lines.push('  ' + String(k).padStart(2) + ' ' + name.padEnd(8) + ' ' + value(k, v));
  });
  if (m.kind === KIND_IMAGE) {
    const aligned = Math.ceil((m.app! + 1) / PAYLOAD_ALIGN) * PAYLOAD_ALIGN;
    const assets = p.payloadLength > aligned ? p.payloadLength - aligned : 0;
    lines.push('payload: ' + p.payloadLength + ' bytes at offset ' + p.payloadOffset + ': app text ' + m.app + ' bytes, assets ' + assets + ' bytes at offset ' + (assets ? aligned : '-'));
    const capacity = SLOT_CAPACITY[m.board];
    if (capacity !== undefined) lines.push('slot: ' + m.board + ' holds ' + capacity + ' bytes (' + ((p.payloadLength / capacity) * 100).toFixed(1) + ' % used)');
  } else {
    lines.push('payload: ' + p.payloadLength + ' bytes (a key-rotation package)');
    if (m.add) lines.push('adds key ' + hex(m.add) + ' (kid ' + hex(kidOf(m.add)) + ')');
    if (m.retire) lines.push('retires kid ' + hex(m.retire));
  }
  lines.push('overhead: ' + (p.packageLength - p.payloadLength) + ' bytes (package length ' + p.packageLength + ' − payload length ' + p.payloadLength + ')');
  return lines;
}

/** A pointer's header and fields as text lines. */
export function describePointer(p: ParsedPointer): string[] {
  const q = p.pointer;
  return [
    'pointer: ' + p.length + ' bytes',
    ...headerLines(p),
    'points at: ' + q.path + ' (' + q.size + ' bytes, SHA-256 ' + hex(q.sha256) + ')',
    '  vendor ' + JSON.stringify(q.vendor) + ', model ' + JSON.stringify(q.model) + ', runtime ' + q.runtime + ', board ' + q.board,
    '  version ' + q.version + ', counter ' + q.counter,
  ];
}

import { constantTimeEqual } from '../crypto/compare';
import { ascii, body, count, enter, fail, has, head, leave, Major, reader, type Reader } from './cbor';

/**
 * The device's reader of an update package's head (docs/formats/update.md §1, §2, §6): the
 * COSE_Sign1 with its manifest, and the head of the payload byte string after it. Every input
 * gets a result, never an exception: the head, or a refusal with its §6 code and a reason naming
 * the field and the rule. The signature and the payload's digest are the caller's (it has the
 * keys and the bytes); `checkManifest` holds the manifest against the device (§2.1, §2.2).
 *
 * One pass over at most 1024 + 9 bytes, head by head (cbor.ts): the structure is the format's, so
 * nothing recurses and nothing unknown is skipped. The result holds no view of the input: its
 * byte values are copies, so the caller may reuse its buffer.
 */

/** The manifest's kinds (§2 key 1). */
export const enum Kind {
  IMAGE = 1,
  KEYS = 2,
}

/** The format's numbers (a const enum: the bundler writes the values into the code). */
export const enum Update {
  /** Manifest key 0: the format this device reads. */
  FORMAT = 1,
  /** Largest COSE_Sign1, tag included, bytes (§1). */
  SIGN1_MAX = 1024,
  /** Largest head of the payload byte string: 5B and an 8-byte length. */
  PAYLOAD_HEAD_MAX = 9,
  /** COSE algorithms: EdDSA (RFC 9053 §2.2) and Ed25519 (RFC 9864), treated alike. */
  ALG_EDDSA = -8,
  ALG_ED25519 = -19,
  KID = 8,
  SIGNATURE = 64,
  /** Manifest keys by kind, as bit masks (bit k: key k). Image: 0-11 required, 12 optional. */
  IMAGE_REQUIRED = 0xfff,
  IMAGE_ALLOWED = 0x1fff,
  /** Key rotation: 0-5, 7 and 10 required; 12, 13 and 14 optional (13 or 14 at least). */
  KEYS_REQUIRED = 0x4bf,
  KEYS_ALLOWED = 0x74bf,
  KEYS_ACTION = 0x6000,
  /** Keys whose value is an unsigned integer (0, 1, 7, 8, 11), a text string (2-6, 12); the rest are byte strings. */
  UINT_KEYS = 0x983,
  TEXT_KEYS = 0x107c,
  LAST_KEY = 14,
  U32_MAX = 4294967295,
}

export interface Manifest {
  kind: number;
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  /** "" for KEYS. */
  version: string;
  counter: number;
  /** 0 for KEYS. */
  size: number;
  digest: Uint8Array | undefined;
  kid: Uint8Array;
  /** 0 for KEYS. */
  app: number;
  notes: string | undefined;
  add: Uint8Array | undefined;
  retire: Uint8Array | undefined;
}

export interface PackageHead {
  manifest: Manifest;
  alg: number;
  kid: Uint8Array;
  /** The Sig_structure bytes, RFC 9052 §4.4: ["Signature1", protected, h'', payload]. */
  toBeSigned: Uint8Array;
  signature: Uint8Array;
  /** Bytes of the COSE_Sign1 item. */
  length: number;
  /** Offset in the package of the first payload byte, after the bstr head. */
  payloadOffset: number;
  /** Equals the manifest's size (0 for KEYS): checked here (size-mismatch). */
  payloadLength: number;
}

export type HeadResult = { ok: true; value: PackageHead } | { ok: false; code: string; reason: string };

/** "manifest <name> (key k)", for reasons. */
function field(key: number): string {
  return 'manifest ' + 'format kind vendor model runtime board version counter size digest kid app notes add retire'.split(' ')[key] + ' (key ' + key + ')';
}

/**
 * The manifest map (§2) at the reader's position, inside the payload byte string. `kid` is the
 * protected header's. Values are views of the input (the caller copies them); on a refusal the
 * manifest is partial and the reader holds why.
 */
function readManifest(r: Reader, kid: Uint8Array): Manifest {
  const m: Manifest = { kind: 0, vendor: '', model: '', runtime: '', board: '', version: '', counter: 0, size: 0, digest: undefined, kid: kid, app: 0, notes: undefined, add: undefined, retire: undefined };
  // Each key's range: of the unsigned integer's value, or of the string's length in bytes.
  const lo = [1, 1, 1, 1, 4, 1, 5, 0, 1, 32, 8, 1, 9, 32, 8];
  const hi = [1, 2, 64, 64, 8, 32, 17, Update.U32_MAX, Update.U32_MAX, 32, 8, Update.U32_MAX, 200, 32, 8];
  if (head(r) !== Major.MAP) fail(r, 'manifest-malformed', 'the manifest is not a map (payload of the COSE_Sign1)');
  const n = count(r, 2);
  let seen = 0;
  let last = -1;
  for (let i = 0; i < n && r.code === ''; i++) {
    const t = head(r);
    const key = r.arg;
    if (t !== Major.UINT) fail(r, 'manifest-malformed', 'a manifest key is not an unsigned integer, at byte ' + r.pos);
    else if (key <= last) fail(r, 'package-malformed', (key === last ? 'a manifest key appears twice: ' : 'manifest keys are not in increasing order at key ') + key);
    else if (key > Update.LAST_KEY) fail(r, 'manifest-unknown-field', 'the manifest holds key ' + key + ', which is not a field of format 1');
    if (r.code !== '') break;
    last = key;
    seen |= 1 << key;
    const want = (Update.UINT_KEYS >> key) & 1 ? Major.UINT : (Update.TEXT_KEYS >> key) & 1 ? Major.TSTR : Major.BSTR;
    const type = head(r);
    const x = r.arg;
    const v = body(r);
    const size = type === Major.UINT ? x : v.length;
    if (r.code !== '') break;
    // Type, range, then the text's characters (within its range: at most 200 bytes) and the value's own rule.
    const s = type === want && type === Major.TSTR && size >= lo[key] && size <= hi[key] ? ascii(v) : undefined;
    if (type !== want) fail(r, 'manifest-malformed', field(key) + ' is not ' + (want === Major.UINT ? 'an unsigned integer' : want === Major.TSTR ? 'a text string (tstr)' : 'a byte string (bstr)'));
    else if (key === 0 && x !== Update.FORMAT) fail(r, 'format-unsupported', 'manifest format ' + x + ' is not 1, the format this device reads');
    else if (size < lo[key] || size > hi[key]) fail(r, 'manifest-malformed', field(key) + ' is outside ' + lo[key] + ' to ' + hi[key] + (type === Major.UINT ? '' : ' bytes'));
    else if (type === Major.TSTR && s === undefined) fail(r, 'manifest-malformed', field(key) + ' is not printable ASCII (bytes 20-7E)');
    else if (key === 4 && s !== 'kaluma' && s !== 'espruino' && s !== 'host') fail(r, 'manifest-malformed', 'manifest runtime (key 4) is not kaluma, espruino or host');
    else if (key === 6 && !parseVersion(s!)) fail(r, 'manifest-malformed', 'manifest version (key 6) is not MAJOR.MINOR.PATCH, each 0-65535 without leading zeros');
    else if (key === 10 && !constantTimeEqual(v, kid)) fail(r, 'manifest-malformed', 'manifest kid (key 10) differs from the protected header\'s kid');
    else if (key === 12 && s!.substring(0, 8) !== 'https://') fail(r, 'manifest-malformed', 'manifest notes (key 12) is not an https:// URL');
    if (key === 1) m.kind = x;
    else if (key === 2) m.vendor = s!;
    else if (key === 3) m.model = s!;
    else if (key === 4) m.runtime = s!;
    else if (key === 5) m.board = s!;
    else if (key === 6) m.version = s!;
    else if (key === 7) m.counter = x;
    else if (key === 8) m.size = x;
    else if (key === 9) m.digest = v;
    else if (key === 11) m.app = x;
    else if (key === 12) m.notes = s;
    else if (key === 13) m.add = v;
    else if (key === 14) m.retire = v;
  }
  const image = m.kind === Kind.IMAGE;
  const need = image ? Update.IMAGE_REQUIRED : Update.KEYS_REQUIRED;
  const allowed = image ? Update.IMAGE_ALLOWED : Update.KEYS_ALLOWED;
  for (let k = 0; k <= Update.LAST_KEY && r.code === ''; k++) {
    if ((need >> k) & 1 && !((seen >> k) & 1)) fail(r, 'manifest-malformed', field(k) + ' is required and missing');
    else if ((seen >> k) & 1 && !((allowed >> k) & 1)) fail(r, 'manifest-malformed', field(k) + ' does not belong to ' + (image ? 'an image package' : 'a key-rotation package'));
  }
  if (!image && !(seen & Update.KEYS_ACTION)) fail(r, 'manifest-malformed', 'a key-rotation manifest holds neither add (key 13) nor retire (key 14)');
  if (image && m.app >= m.size) fail(r, 'manifest-malformed', 'manifest app (key 11) is not below size (key 8): the payload holds the app text, a 00, then the assets');
  return m;
}

function copy(v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : new Uint8Array(v);
}

/**
 * Parses the head of a package (§1): the COSE_Sign1 and its manifest, then the payload byte
 * string's head. `bytes`: the first bytes of a package (at most 1024 + 9 are ever needed; more are
 * not looked at). Code "package-truncated" means: more bytes needed (the caller decides whether
 * more can come). The payload's length is held to the manifest's size (0 for key rotation):
 * "size-mismatch" otherwise.
 */
export function parsePackageHead(bytes: Uint8Array): HeadResult {
  const r = reader(bytes, Update.SIGN1_MAX);
  // The one tag allowed is the outer 18, in its one-byte head.
  if (has(r, 1) && bytes[0] !== 0xd2) fail(r, 'package-malformed', 'the package does not start with tag 18 (COSE_Sign1) in its one-byte head, d2');
  r.pos = 1;
  if (head(r) !== Major.ARRAY || r.arg !== 4) fail(r, 'package-malformed', 'the COSE_Sign1 is not an array of 4 items');
  // protected: bstr .cbor {1: alg, 4: kid}
  const p0 = r.pos;
  if (head(r) !== Major.BSTR) fail(r, 'package-malformed', 'the protected header is not a byte string');
  let saved = enter(r);
  if (head(r) !== Major.MAP || r.arg !== 2) fail(r, 'package-malformed', 'the protected header is not a map of exactly alg (1) and kid (4)');
  if (head(r) !== Major.UINT || r.arg !== 1) fail(r, 'package-malformed', 'the protected header is not a map of exactly alg (1) and kid (4)');
  const alg = head(r) === Major.NINT ? -1 - r.arg : 0;
  if (alg !== Update.ALG_EDDSA && alg !== Update.ALG_ED25519) fail(r, 'alg-unsupported', 'alg (protected header 1) is not -8 (EdDSA) or -19 (Ed25519)');
  if (head(r) !== Major.UINT || r.arg !== 4) fail(r, 'package-malformed', 'the protected header is not a map of exactly alg (1) and kid (4)');
  head(r);
  const kid = body(r);
  if (r.major !== Major.BSTR || kid.length !== Update.KID) fail(r, 'package-malformed', 'kid (protected header 4) is not an 8-byte byte string');
  if (r.code === '' && r.pos !== r.end) fail(r, 'package-malformed', 'bytes follow the protected header inside its byte string, at byte ' + r.pos);
  leave(r, saved);
  const p1 = r.pos;
  if (head(r) !== Major.MAP || r.arg !== 0) fail(r, 'package-malformed', 'the unprotected header is not an empty map');
  // payload: bstr .cbor manifest
  const m0 = r.pos;
  if (head(r) !== Major.BSTR) fail(r, 'package-malformed', 'the COSE_Sign1 payload is not a byte string holding the manifest');
  saved = enter(r);
  // The signature's 66 bytes must fit after the payload: refused before the manifest is read.
  if (r.code === '' && r.end + 2 + Update.SIGNATURE > Update.SIGN1_MAX) fail(r, 'package-too-large', 'the COSE_Sign1 runs past 1024 bytes: its payload ends at byte ' + r.end + ', the signature takes 66 more');
  const m = readManifest(r, kid);
  if (r.code === '' && r.pos !== r.end) fail(r, 'package-malformed', 'bytes follow the manifest inside its byte string, at byte ' + r.pos);
  leave(r, saved);
  const m1 = r.pos;
  head(r);
  const signature = body(r);
  if (r.major !== Major.BSTR || signature.length !== Update.SIGNATURE) fail(r, 'package-malformed', 'the signature is not a 64-byte byte string');
  const length = r.pos;
  // The payload's head, past the COSE_Sign1's limit.
  r.end = length + Update.PAYLOAD_HEAD_MAX;
  if (head(r) !== Major.BSTR) fail(r, 'package-malformed', 'the item after the COSE_Sign1 is not a byte string (the payload)');
  if (m.kind === Kind.IMAGE && r.arg !== m.size) fail(r, 'size-mismatch', 'the payload byte string holds ' + r.arg + ' bytes, the manifest\'s size (key 8) ' + m.size);
  else if (m.kind !== Kind.IMAGE && r.arg !== 0) fail(r, 'size-mismatch', 'a key-rotation package\'s payload byte string is empty, this one holds ' + r.arg + ' bytes');
  if (r.code !== '') return { ok: false, code: r.code, reason: r.reason };
  // Sig_structure: array(4), "Signature1", the protected bstr as sent, h'' (no external AAD), the payload bstr as sent.
  const tbs = new Uint8Array(13 + p1 - p0 + m1 - m0);
  // 84, then "Signature1" as a 10-byte text string (6A).
  tbs.set([0x84, 0x6a, 0x53, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65, 0x31], 0);
  tbs.set(bytes.subarray(p0, p1), 12);
  tbs[12 + p1 - p0] = 0x40;
  tbs.set(bytes.subarray(m0, m1), 13 + p1 - p0);
  const k = new Uint8Array(kid);
  m.kid = k;
  m.digest = copy(m.digest);
  m.add = copy(m.add);
  m.retire = copy(m.retire);
  return { ok: true, value: { manifest: m, alg: alg, kid: k, toBeSigned: tbs, signature: new Uint8Array(signature), length: length, payloadOffset: r.pos, payloadLength: r.arg } };
}

/** [major, minor, patch] of "MAJOR.MINOR.PATCH", each 0-65535 in decimal without leading zeros; else undefined. */
export function parseVersion(version: string): number[] | undefined {
  const out: number[] = [];
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= version.length; i++) {
    // The end reads as a dot.
    const c = i < version.length ? version.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || out.length === 3) return undefined;
      out.push(n);
      n = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && !(digits === 1 && n === 0)) {
      n = n * 10 + c - 0x30;
      digits++;
      if (n > 65535) return undefined;
    } else return undefined;
  }
  return out.length === 3 ? out : undefined;
}

/** Semantic-version order of two parsed versions: negative, 0 or positive. */
export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** What the device knows to hold a manifest against (§2.1, §2.2). */
export interface DeviceFacts {
  vendor: string;
  model: string;
  runtime: string;
  board: string;
  /** The running image's version. */
  version: string;
  counterFloor: number;
  /** The inactive slot's capacity, bytes (§4). */
  capacity: number;
  keyState(kid: Uint8Array): 'trusted' | 'retired' | 'unknown';
}

/**
 * Every check of §2.1/§2.2 except the signature and the digest, in §2.1's order: undefined when
 * the manifest is acceptable. Of the key-rotation rules, only the one the manifest alone decides
 * (a package never retires its own signer without adding a key); the key store applies the rest
 * (the last trusted key, a key retired before, the 4 and 8 limits).
 */
export function checkManifest(m: Manifest, facts: DeviceFacts): { code: string; reason: string } | undefined {
  const state = facts.keyState(m.kid);
  if (state === 'retired') return { code: 'key-retired', reason: 'the package is signed by a retired key (manifest kid)' };
  if (state !== 'trusted') return { code: 'key-unknown', reason: 'the package is signed by a key this device does not trust' };
  if (m.vendor !== facts.vendor) return { code: 'wrong-vendor', reason: 'the package is for vendor ' + m.vendor + ', this device is of vendor ' + facts.vendor };
  if (m.model !== facts.model) return { code: 'wrong-model', reason: 'the package is for model ' + m.model + ', this device is a ' + facts.model };
  if (m.runtime !== facts.runtime) return { code: 'wrong-runtime', reason: 'the package is for runtime ' + m.runtime + ', this device runs ' + facts.runtime };
  if (m.board !== facts.board) return { code: 'wrong-board', reason: 'the package is for board ' + m.board + ', this device is a ' + facts.board };
  if (m.counter < facts.counterFloor) return { code: 'counter-rollback', reason: 'the package\'s security counter ' + m.counter + ' is below the device\'s floor ' + facts.counterFloor };
  if (m.kind === Kind.IMAGE) {
    const v = parseVersion(m.version);
    const running = parseVersion(facts.version);
    if (!v || !running || compareVersions(v, running) <= 0) return { code: 'version-not-newer', reason: 'the package\'s version ' + m.version + ' is not newer than the running ' + facts.version };
    if (m.size > facts.capacity) return { code: 'image-too-large', reason: 'the package\'s payload of ' + m.size + ' bytes exceeds the slot\'s capacity of ' + facts.capacity };
  } else if (m.retire !== undefined && m.add === undefined && constantTimeEqual(m.retire, m.kid)) {
    return { code: 'key-rotation-refused', reason: 'a key-rotation package retires its own signer without adding a key' };
  }
  return undefined;
}

/** A key's kid (§1): the first 8 bytes of SHA-256 of the 32-byte Ed25519 public key. */
export function kidOf(sha256: (d: Uint8Array) => Uint8Array, publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(sha256(publicKey).subarray(0, Update.KID));
}

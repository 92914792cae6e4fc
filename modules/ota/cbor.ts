/**
 * A strict reader of the CBOR that update packages use (docs/formats/update.md §1), for untrusted
 * bytes: unsigned and negative integers, byte and text strings, arrays and maps, each with its
 * head in the shortest form (RFC 8949 §4.2.1) and a definite length. Tags, floating-point and
 * simple values, indefinite lengths and reserved heads are refused where they stand (the outer
 * tag 18 is the caller's: manifest.ts reads it by its byte). Text is read as printable ASCII only
 * (bytes 20-7E, a subset of UTF-8: every text field of the format is ASCII), the caller refusing
 * anything else.
 *
 * The reader never recurses and never skips an item it does not understand: the caller reads the
 * format's fixed structure head by head, and a head of another type where a value is expected is
 * refused at that head (10,000 nested arrays cost one head). Containers therefore nest only as the
 * format nests them (COSE_Sign1 array, then a map inside a byte string: 2 levels, within the
 * format's limit of 4). Map key order is the caller's (its keys are unsigned integers, whose
 * shortest encodings sort bytewise as the numbers do).
 *
 * Failure is sticky: the first refusal is kept in the reader (`code`, `reason`) and every later
 * read does nothing and returns a failure, so a caller checks once, at the end. Nothing is copied
 * or allocated before its declared length has been checked against the bytes there.
 */

/** CBOR major types (RFC 8949 §3.1) the format uses. */
export const enum Major {
  UINT = 0,
  NINT = 1,
  BSTR = 2,
  TSTR = 3,
  ARRAY = 4,
  MAP = 5,
}

/** A read position in untrusted bytes, and the first refusal met. */
export interface Reader {
  b: Uint8Array;
  pos: number;
  /** End of what is being read: the enclosing byte string's end inside one, else the top item's largest allowed end. */
  end: number;
  /** 0 at the top level: a read past `end` means the item is too large, past the bytes given that they are truncated. Inside a byte string (1 or more): a length past its end is malformed. */
  inner: number;
  /** The last head read: its major type and argument (lengths of 8-byte heads as the nearest double). */
  major: number;
  arg: number;
  /** '' until the first refusal: then its code (docs/formats/update.md §6) and reason. */
  code: string;
  reason: string;
}

/** A reader over `b` whose top item may end at `end` at most. */
export function reader(b: Uint8Array, end: number): Reader {
  return { b: b, pos: 0, end: end, inner: 0, major: -1, arg: 0, code: '', reason: '' };
}

/** Keeps the first refusal only. */
export function fail(r: Reader, code: string, reason: string): void {
  if (r.code === '') {
    r.code = code;
    r.reason = reason;
  }
}

/** True if `n` more bytes are there; else refuses (too large, truncated or, inside a byte string, malformed). */
export function has(r: Reader, n: number): boolean {
  const p = r.pos + n;
  if (r.code !== '') return false;
  if (p <= r.end && p <= r.b.length) return true;
  if (p > r.end && r.inner > 0) fail(r, 'package-malformed', 'an item runs past the end of its enclosing byte string, at byte ' + r.pos);
  else if (p > r.end) fail(r, 'package-too-large', 'the COSE_Sign1 runs past 1024 bytes, at byte ' + r.pos);
  else fail(r, 'package-truncated', 'the package ends inside its COSE_Sign1 or the payload head, at byte ' + r.pos);
  return false;
}

/**
 * Reads one head: sets `major` and `arg` and returns the major type, or -1 (refused: a tag, a
 * floating-point or simple value, a reserved or indefinite length, a head longer than needed).
 */
export function head(r: Reader): number {
  const at = r.pos;
  // The common case calls nothing: `has` is called to say why only when the bytes are not there.
  if (r.code !== '' || at >= r.end || at >= r.b.length) {
    has(r, 1);
    return -1;
  }
  const ib = r.b[at];
  const major = ib >> 5;
  const ai = ib & 31;
  if (ai === 31) fail(r, 'package-malformed', 'an indefinite length or a break (only definite lengths), at byte ' + at);
  else if (major === 6) fail(r, 'package-malformed', 'a tag other than the outer 18 (COSE_Sign1), at byte ' + at);
  else if (major === 7) fail(r, 'package-malformed', 'a floating-point or simple value, at byte ' + at);
  else if (ai > 27) fail(r, 'package-malformed', 'a reserved additional information value, at byte ' + at);
  // 0, 1, 2, 4 or 8 bytes of argument after the initial byte.
  const k = ai < 24 ? 0 : 1 << (ai - 24);
  if (r.code !== '') return -1;
  if (at + 1 + k > r.end || at + 1 + k > r.b.length) {
    has(r, 1 + k);
    return -1;
  }
  let v = ai < 24 ? ai : 0;
  for (let i = 1; i <= k; i++) v = v * 256 + r.b[at + i];
  if (k > 0 && v < (k === 1 ? 24 : k === 2 ? 256 : k === 4 ? 65536 : 4294967296)) {
    fail(r, 'package-malformed', 'a head not in its shortest form (RFC 8949 4.2.1), at byte ' + at);
    return -1;
  }
  r.pos = at + 1 + k;
  r.major = major;
  r.arg = v;
  return major;
}

/** The content of the byte or text string whose head was just read (a view of the input), once its length is checked. */
export function body(r: Reader): Uint8Array {
  const at = r.pos;
  const end = at + r.arg;
  if (r.code !== '' || (r.major !== Major.BSTR && r.major !== Major.TSTR) || end > r.end || end > r.b.length) {
    if (r.major === Major.BSTR || r.major === Major.TSTR) has(r, r.arg);
    return r.b.subarray(0, 0);
  }
  r.pos = end;
  return r.b.subarray(at, end);
}

/**
 * Enters the byte string whose head was just read, to read the CBOR item inside it (`bstr .cbor`):
 * returns the end to give back to `leave`.
 */
export function enter(r: Reader): number {
  const saved = r.end;
  if (r.major === Major.BSTR && has(r, r.arg)) {
    r.end = r.pos + r.arg;
    r.inner++;
  }
  return saved;
}

/** Leaves the byte string entered with `enter` (the caller has checked that its item ended at its end). */
export function leave(r: Reader, saved: number): void {
  r.end = saved;
  r.inner--;
}

/**
 * The map or array whose head was just read, with at least `per` bytes per declared item: its count,
 * or -1 if the count cannot fit in what is left of the enclosing byte string (refused).
 */
export function count(r: Reader, per: number): number {
  if (r.code !== '') return -1;
  if (r.arg * per > r.end - r.pos) {
    fail(r, 'package-malformed', 'a declared count runs past its enclosing byte string, at byte ' + r.pos);
    return -1;
  }
  return r.arg;
}

/**
 * The string of `v` if it is printable ASCII (20-7E), else undefined. At most 255 bytes (Espruino's
 * Function.apply takes 256 arguments; the longest text field is 200): longer is undefined. One
 * native call and one match instead of a loop per byte (on JerryScript a loop costs about 5,000
 * instructions per byte, building the string by concatenation as much again).
 */
export function ascii(v: Uint8Array): string | undefined {
  if (v.length > 255) return undefined;
  const s: string = String.fromCharCode.apply(null, v as unknown as number[]);
  return /^[ -~]*$/.test(s) ? s : undefined;
}

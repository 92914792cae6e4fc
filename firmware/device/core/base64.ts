/**
 * Base64 (RFC 4648 §4, standard alphabet, padded), as SCRAM (RFC 5802) and JSON bodies carry bytes.
 * The decoder is strict: it returns undefined for any character outside the alphabet, a wrong
 * length, misplaced padding or non-zero pad bits, so a value has exactly one spelling.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8) | (i + 2 < b.length ? b[i + 2] : 0);
    s += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63);
    s += i + 1 < b.length ? ALPHABET.charAt((n >> 6) & 63) : '=';
    s += i + 2 < b.length ? ALPHABET.charAt(n & 63) : '=';
  }
  return s;
}

/** The value of base64 character code `c`, or -1. */
function sextet(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43) return 62;
  if (c === 47) return 63;
  return -1;
}

/** The bytes `s` encodes, or undefined if `s` is not canonical padded base64. */
export function base64Decode(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0) return undefined;
  let pad = 0;
  if (s.length > 0 && s.charCodeAt(s.length - 1) === 61) pad = s.charCodeAt(s.length - 2) === 61 ? 2 : 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let at = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const v = last && j >= 4 - pad ? 0 : sextet(s.charCodeAt(i + j));
      if (v < 0) return undefined;
      n = (n << 6) | v;
    }
    // The bits after the last byte must be zero (one spelling per value).
    if (last && ((pad === 2 && (n & 0xffff) !== 0) || (pad === 1 && (n & 0xff) !== 0))) return undefined;
    out[at++] = n >> 16;
    if (at < out.length) out[at++] = (n >> 8) & 255;
    if (at < out.length) out[at++] = n & 255;
  }
  return out;
}

import type { CryptoProvider } from '../../hal/crypto';

/**
 * HKDF-SHA-256 (RFC 5869): one call per derived key, with a distinct `info` label per purpose.
 * HMAC comes from the board's provider (native on Espruino, modules/crypto elsewhere).
 */

/** RFC 5869 §2.2: PRK = HMAC(salt, IKM); an absent salt is 32 zero bytes. */
export function hkdfExtract(p: CryptoProvider, salt: Uint8Array | undefined, ikm: Uint8Array): Uint8Array {
  return p.hmacSha256(salt && salt.length ? salt : new Uint8Array(32), ikm);
}

/** RFC 5869 §2.3: OKM = T(1) | T(2) | …, T(i) = HMAC(PRK, T(i-1) | info | i), at most 255 × 32 bytes. */
export function hkdfExpand(p: CryptoProvider, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!(length >= 0 && length <= 255 * 32) || length !== Math.floor(length)) throw new RangeError('hkdf: length must be 0..8160');
  if (prk.length < 32) throw new RangeError('hkdf: PRK must be at least 32 bytes');
  const out = new Uint8Array(length);
  const input = new Uint8Array(32 + info.length + 1);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, at = 0; at < length; i++) {
    input.set(t, 0);
    input.set(info, t.length);
    input[t.length + info.length] = i;
    t = p.hmacSha256(prk, input.subarray(0, t.length + info.length + 1));
    for (let j = 0; j < 32 && at < length; j++) out[at++] = t[j];
  }
  return out;
}

/** HKDF-SHA-256(salt, IKM, info) → `length` bytes. */
export function hkdf(p: CryptoProvider, salt: Uint8Array | undefined, ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(p, hkdfExtract(p, salt, ikm), info, length);
}

import { sha256Clone, sha256Digest, sha256Init, sha256Update, sha256, type Sha256State } from './sha256';

/** SHA-256 block size in bytes (a const enum: the bundler writes the values into the code). */
const enum Sha256Block {
  BLOCK = 64,
}

/**
 * HMAC-SHA-256 (RFC 2104, FIPS 198-1). A key is prepared once into its two padded states
 * (K ⊕ ipad, K ⊕ opad already absorbed), so each MAC under it costs two compressions fewer.
 */
export interface HmacKey {
  inner: Sha256State;
  outer: Sha256State;
}

/** RFC 2104 §2: keys longer than the block are hashed first; then K ⊕ ipad and K ⊕ opad. */
export function hmacKey(key: Uint8Array): HmacKey {
  const k = key.length > Sha256Block.BLOCK ? sha256(key) : key;
  const pad = new Uint8Array(Sha256Block.BLOCK);
  for (let i = 0; i < Sha256Block.BLOCK; i++) pad[i] = (i < k.length ? k[i] : 0) ^ 0x36;
  const inner = sha256Init();
  sha256Update(inner, pad);
  for (let i = 0; i < Sha256Block.BLOCK; i++) pad[i] ^= 0x36 ^ 0x5c;
  const outer = sha256Init();
  sha256Update(outer, pad);
  pad.fill(0);
  return { inner: inner, outer: outer };
}

/** HMAC under a prepared key. */
export function hmacWith(key: HmacKey, data: Uint8Array): Uint8Array {
  const inner = sha256Clone(key.inner);
  sha256Update(inner, data);
  const outer = sha256Clone(key.outer);
  sha256Update(outer, sha256Digest(inner));
  return sha256Digest(outer);
}

/** HMAC-SHA-256(key, data), 32 bytes. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmacWith(hmacKey(key), data);
}

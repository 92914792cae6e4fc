import { hmacKey } from './hmac';
import { sha256Copy, sha256Digest, sha256Init, sha256Update, type Sha256State } from './sha256';

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2). The password's HMAC pad states are prepared once; each
 * iteration restores them into two working states and absorbs 32 bytes: no allocation per
 * iteration beyond the two digests.
 */
export function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
  if (!(iterations >= 1) || iterations !== Math.floor(iterations)) throw new RangeError('pbkdf2: iterations must be a positive integer');
  if (!(length >= 1) || length !== Math.floor(length) || length > 1024) throw new RangeError('pbkdf2: length must be 1..1024');
  const key = hmacKey(password);
  const inner: Sha256State = sha256Init();
  const outer: Sha256State = sha256Init();
  const out = new Uint8Array(length);
  const index = new Uint8Array(4);
  for (let block = 1, at = 0; at < length; block++) {
    index[0] = block >>> 24;
    index[1] = block >>> 16;
    index[2] = block >>> 8;
    index[3] = block;
    // U1 = PRF(P, S || INT(i))
    sha256Copy(inner, key.inner);
    sha256Update(inner, salt);
    sha256Update(inner, index);
    sha256Copy(outer, key.outer);
    sha256Update(outer, sha256Digest(inner));
    let u = sha256Digest(outer);
    const t = new Uint8Array(u);
    // Uj = PRF(P, Uj-1); T = U1 ^ U2 ^ … ^ Uc
    for (let j = 1; j < iterations; j++) {
      sha256Copy(inner, key.inner);
      sha256Update(inner, u);
      sha256Copy(outer, key.outer);
      sha256Update(outer, sha256Digest(inner));
      u = sha256Digest(outer);
      for (let k = 0; k < 32; k++) t[k] ^= u[k];
    }
    for (let k = 0; k < 32 && at < length; k++) out[at++] = t[k];
  }
  return out;
}

import type { BlockCipher } from '../../hal/crypto';
import { constantTimeEqual } from './compare';

/**
 * AES-CCM (NIST SP 800-38C), the AEAD of Hoshi's sealed values: authenticated encryption with
 * associated data that needs only the AES forward cipher. Chosen over AES-GCM and AES-CTR +
 * HMAC-SHA-256 by its cost on the targets (docs/performance.md): GHASH in JavaScript costs more
 * than AES itself, and for the short values a device seals CCM's 2 AES blocks per 16 bytes cost
 * less than HMAC-SHA-256's fixed 3 compressions; on Espruino both halves map to one native call
 * each (ECB for the counter blocks, CBC for the MAC).
 *
 * Nonce 7..13 bytes (n), tag 4..16 bytes, even (t); associated data shorter than 65,280 bytes
 * (the two-byte length encoding of §A.2.2); payload shorter than 2^(8(15-n)) bytes.
 * A nonce must never repeat under one key.
 */

function check(nonce: Uint8Array, aad: Uint8Array, length: number, tagLength: number): void {
  if (nonce.length < 7 || nonce.length > 13) throw new RangeError('ccm: nonce must be 7..13 bytes');
  if (tagLength < 4 || tagLength > 16 || tagLength % 2 !== 0) throw new RangeError('ccm: tag must be 4..16 bytes, even');
  if (aad.length >= 65280) throw new RangeError('ccm: associated data must be shorter than 65280 bytes');
  const q = 15 - nonce.length;
  if (q < 4 && length >= Math.pow(2, 8 * q)) throw new RangeError('ccm: payload too long for this nonce length');
}

/** §A.2: B0 ‖ encoded associated data ‖ payload, each zero-padded to whole blocks; then CBC-MAC (§6.1 steps 2-4). */
function mac(cipher: BlockCipher, nonce: Uint8Array, aad: Uint8Array, payload: Uint8Array, tagLength: number): Uint8Array {
  const q = 15 - nonce.length;
  const aadBlocks = aad.length > 0 ? (aad.length + 2 + 15) & ~15 : 0;
  const payloadBlocks = (payload.length + 15) & ~15;
  const b = new Uint8Array(16 + aadBlocks + payloadBlocks);
  // §A.2.1 B0: flags = Adata·64 + ((t-2)/2)·8 + (q-1), then N, then Q in q bytes.
  b[0] = (aad.length > 0 ? 64 : 0) | (((tagLength - 2) / 2) << 3) | (q - 1);
  b.set(nonce, 1);
  for (let i = 15, n = payload.length; i > nonce.length; i--, n = Math.floor(n / 256)) b[i] = n & 255;
  // §A.2.2: a < 2^16 - 2^8 is encoded as two bytes.
  if (aad.length > 0) {
    b[16] = aad.length >>> 8;
    b[17] = aad.length & 255;
    b.set(aad, 18);
  }
  b.set(payload, 16 + aadBlocks);
  return cipher.cbcMac(b).subarray(0, tagLength);
}

/** Keystream S0 ‖ S1 ‖ … for `length` payload bytes: Ctr_0 … Ctr_m enciphered. */
function keystream(cipher: BlockCipher, nonce: Uint8Array, length: number): Uint8Array {
  const blocks = 1 + ((length + 15) >> 4);
  // §A.3: Ctr_i = flags (q-1) ‖ N ‖ [i] in q bytes; Ctr_0 for the tag, Ctr_1… for the payload.
  const c = new Uint8Array(16);
  c[0] = 15 - nonce.length - 1;
  c.set(nonce, 1);
  const all = new Uint8Array(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    all.set(c, i * 16);
    for (let j = 15; j > nonce.length; j--) {
      c[j] = (c[j] + 1) & 255;
      if (c[j] !== 0) break;
    }
  }
  return cipher.encryptBlocks(all);
}

/** §6.1 Generation-Encryption: ciphertext ‖ tag. */
export function ccmSeal(cipher: BlockCipher, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number): Uint8Array {
  check(nonce, aad, plaintext.length, tagLength);
  const tag = mac(cipher, nonce, aad, plaintext, tagLength);
  const s = keystream(cipher, nonce, plaintext.length);
  const out = new Uint8Array(plaintext.length + tagLength);
  for (let i = 0; i < plaintext.length; i++) out[i] = plaintext[i] ^ s[16 + i];
  for (let i = 0; i < tagLength; i++) out[plaintext.length + i] = tag[i] ^ s[i];
  return out;
}

/**
 * §6.2 Decryption-Verification: the plaintext, or undefined if `sealed` is not authentic under
 * this key, nonce and associated data (the plaintext is never released before the tag is checked).
 */
export function ccmOpen(cipher: BlockCipher, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number): Uint8Array | undefined {
  if (sealed.length < tagLength) return undefined;
  const length = sealed.length - tagLength;
  check(nonce, aad, length, tagLength);
  const s = keystream(cipher, nonce, length);
  const plaintext = new Uint8Array(length);
  for (let i = 0; i < length; i++) plaintext[i] = sealed[i] ^ s[16 + i];
  const tag = new Uint8Array(tagLength);
  for (let i = 0; i < tagLength; i++) tag[i] = sealed[length + i] ^ s[i];
  const ok = constantTimeEqual(tag, mac(cipher, nonce, aad, plaintext, tagLength));
  if (!ok) {
    plaintext.fill(0);
    return undefined;
  }
  return plaintext;
}

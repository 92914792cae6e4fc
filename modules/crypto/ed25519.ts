import type { CryptoProvider } from '../../hal/crypto';
import { ed25519VerifyCore } from './ed25519-core.js';
import { sha512 } from './sha512.js';

/**
 * Ed25519 signature verification (RFC 8032 §5.1.7). Only verification runs on a device; signing
 * is the host tools' job. Strict where RFC 8032 allows a choice, as Wycheproof expects: S ≥ L is
 * refused (no malleable signatures), a public key whose y is not canonical (y ≥ p) or that does
 * not decode is refused, and R is compared byte for byte with the canonical encoding of
 * [S]B − [k]A, so a non-canonical R never verifies. The equation is the cofactorless one
 * (as tweetnacl and libsodium check it).
 *
 * Field arithmetic: 13 limbs of radix 2^20 in doubles, generated and unrolled, with a joint
 * wNAF double-scalar multiplication and a precomputed table of multiples of B
 * (ed25519-core.js; costs and the alternatives measured are in docs/performance.md).
 * SHA-512 comes from the board's provider where it is native, from modules/crypto/sha512 otherwise.
 */
export function ed25519Verify(p: CryptoProvider, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  return ed25519VerifyCore(publicKey, message, signature, p.sha512 || sha512);
}

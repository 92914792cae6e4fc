import type { CryptoProvider } from '../../hal/crypto';
import { ed25519StepsCore } from './ed25519-core.js';
import { sha512 } from './sha512.js';

/** A verification in progress: each step() does a bounded amount of work (ed25519VerifySteps). */
export interface Ed25519Steps {
  /** 0: more work to do, 1: valid, -1: invalid; once finished, the same result again. */
  step(): number;
}

/**
 * Ed25519 signature verification (RFC 8032 §5.1.7) in bounded steps. Only verification runs on a
 * device; signing is the host tools' job. Strict where RFC 8032 allows a choice, as Wycheproof
 * expects: S ≥ L is refused (no malleable signatures), a public key whose y is not canonical (y ≥ p)
 * or that does not decode is refused, and R is compared byte for byte with the canonical encoding of
 * [S]B − [k]A, so a non-canonical R never verifies. The equation is the cofactorless one (as
 * tweetnacl and libsodium check it).
 *
 * Each step() does at most about 5.7 M x86 instructions of JerryScript (Kaluma 1.2.1) work, ≈ 0.3–0.45 s
 * on a Pico: the square root of the key's decompression and the final inversion 50 field operations
 * at a time, SHA-512 of R ‖ A ‖ M 40 rounds at a time (a native one-shot SHA-512 of the provider in
 * one step), the double-scalar multiplication a few doublings at a time. A verification takes about
 * 87 steps for a 300-byte message on Kaluma (docs/design/espruino-update-authentication.md has the
 * figures). The arguments must not change until it ends.
 *
 * `share` (0 < share ≤ 1, 1 when omitted) scales each step's budgets down for a slower engine or a
 * device that must answer sooner: 0.2 keeps a step to about one point addition (on Espruino at most
 * about 11 M x86 instructions, 0.3–0.5 s on an ESP32, against 53 M with the share 1), in about five
 * times as many steps; the answer is the same. Any other value throws a RangeError.
 *
 * Field arithmetic: 13 limbs of radix 2^20 in doubles, generated and unrolled, with a joint
 * wNAF double-scalar multiplication and a precomputed table of multiples of B
 * (ed25519-core.js; costs and the alternatives measured are in docs/performance.md).
 */
export function ed25519VerifySteps(p: CryptoProvider, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, share?: number): Ed25519Steps {
  // The pure-JavaScript one-shot SHA-512 would take a whole hash in one step: its steps are used instead.
  return ed25519StepsCore(publicKey, message, signature, p.sha512 && p.sha512 !== sha512 ? p.sha512 : undefined, share);
}

/** The same verification run to its end: true if the signature is valid. */
export function ed25519Verify(p: CryptoProvider, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const s = ed25519VerifySteps(p, publicKey, message, signature);
  let r = 0;
  while (r === 0) r = s.step();
  return r === 1;
}

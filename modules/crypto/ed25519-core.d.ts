/**
 * Ed25519 verification (RFC 8032 §5.1.7, strict: S < L, canonical A, cofactorless equation) in
 * bounded steps: step() returns 0 (more to do), 1 (valid) or -1 (invalid), then its result again.
 * `sha512`: a one-shot SHA-512 of R ‖ A ‖ M, or undefined for modules/crypto/sha512's steps.
 */
export declare function ed25519StepsCore(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512?: (data: Uint8Array) => Uint8Array): { step(): number };

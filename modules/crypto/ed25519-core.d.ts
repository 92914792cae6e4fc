/**
 * Ed25519 verification (RFC 8032 §5.1.7, strict: S < L, canonical A, cofactorless equation) in
 * bounded steps: step() returns 0 (more to do), 1 (valid) or -1 (invalid), then its result again.
 * `sha512`: a one-shot SHA-512 of R ‖ A ‖ M, or undefined for modules/crypto/sha512's steps.
 * `share`: 0 < share ≤ 1 (1 when omitted), the part of the default work per step that a step may
 * do: budgets scaled down, never below one doubling, one addition, one field operation or one
 * SHA-512 round, so a smaller share makes more, shorter steps with the same answer. Any other
 * value throws a RangeError.
 */
export declare function ed25519StepsCore(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512?: (data: Uint8Array) => Uint8Array, share?: number): { step(): number };

/**
 * Ed25519 verification (RFC 8032 §5.1.7, strict: S < L, canonical A, cofactorless equation).
 * `sha512` hashes R ‖ A ‖ M.
 */
export declare function ed25519VerifyCore(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512: (data: Uint8Array) => Uint8Array): boolean;

/**
 * The primitives a runtime may have natively, behind one interface: the board picks the
 * implementation (pure JavaScript from modules/crypto on Kaluma and the host, Espruino's native
 * `crypto` on ESP32). Everything else in modules/crypto (HKDF, CTR, CCM, the DRBG, Ed25519) is
 * built on these, so it runs unchanged on every board and is tested against the same vectors.
 * Inputs are never modified; outputs are new arrays.
 */
export interface BlockCipher {
  /** AES forward cipher of each 16-byte block of `blocks` (ECB; length a multiple of 16). */
  encryptBlocks(blocks: Uint8Array): Uint8Array;
  /** CBC-MAC with a zero IV: the last block of the CBC encryption of `blocks` (length a multiple of 16). */
  cbcMac(blocks: Uint8Array): Uint8Array;
}

export interface CryptoProvider {
  /** "js" or the runtime providing it natively, e.g. "espruino-native". */
  readonly name: string;
  /** SHA-256 (FIPS 180-4), 32 bytes. */
  sha256(data: Uint8Array): Uint8Array;
  /**
   * SHA-512 (FIPS 180-4), 64 bytes: where the runtime has it natively (Espruino). A board whose
   * provider is pure JavaScript leaves it out, so that images which never use it do not carry its
   * code (7.7 KB of Kaluma's heap); a module that needs it falls back to modules/crypto/sha512.
   */
  sha512?(data: Uint8Array): Uint8Array;
  /** HMAC-SHA-256 (RFC 2104), 32 bytes. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2), `length` bytes (1..1024), iterations ≥ 1: native where the
   * runtime has it; otherwise modules/crypto/pbkdf2 for a module that needs it.
   */
  pbkdf2Sha256?(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  /** AES-128 or AES-256 (FIPS 197) under a 16- or 32-byte key. */
  aes(key: Uint8Array): BlockCipher;
}

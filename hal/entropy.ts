/**
 * Quality of a board's entropy source, stated by the board, never guessed:
 * - `hardware`: a hardware random number generator the vendor documents as suitable for keys;
 * - `weak`: some unpredictability (ring oscillator, timing jitter) that is not claimed to be
 *   cryptographic: mix it in, never rely on it alone;
 * - `none`: the bytes are predictable (e.g. Espruino's `E.hwRand()` is libc `rand()` with a fixed
 *   seed); they add nothing.
 */
export type EntropyQuality = 'hardware' | 'weak' | 'none';

/**
 * Entropy: raw bytes from the board. Keys and nonces never come from here directly: they come
 * from the DRBG, seeded at provisioning from the host's CSPRNG, with these bytes mixed in.
 */
export interface Entropy {
  readonly quality: EntropyQuality;
  /** Returns `length` fresh bytes. */
  bytes(length: number): Uint8Array;
}

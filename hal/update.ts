/**
 * What a board offers for signed updates (modules/ota, docs/formats/update.md).
 *
 * Where a received package's signature is checked is chosen per runtime by measurement
 * (docs/performance.md, "Updates"):
 * - `"image"`: in the running image, in slices between which the device keeps serving
 *   (`signatureSteps` loads the verifier from flash only while a package is checked);
 * - `"loader"`: by the fixed loader at the next boot, with the whole heap, the watchdog fed
 *   between slices (the device is unreachable meanwhile).
 */
export interface UpdateSupport {
  /** The runtime a package must name (docs/formats/update.md §2: "kaluma", "espruino", "host"). */
  readonly runtime: string;
  readonly verifyIn: 'image' | 'loader';
  /** Package bytes hashed per slice while the device keeps serving (the payload's SHA-256 in JavaScript). */
  readonly hashSlice: number;
  /**
   * `"image"` boards: an Ed25519 verification (RFC 8032, strict) run a bounded slice per `step()`
   * call: 0 while there is work left, 1 valid, -1 invalid.
   */
  signatureSteps?(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): { step(): number };
}

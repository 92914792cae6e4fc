import { asciiBytes } from '../../firmware/device/core/bytes';
import type { CryptoProvider } from '../../hal/crypto';
import type { Entropy } from '../../hal/entropy';

/**
 * HMAC_DRBG with HMAC-SHA-256 (NIST SP 800-90A Rev. 1 §10.1.2), security strength 256 bits.
 *
 * Fails closed: `drbgGenerate` throws until `drbgInstantiate` has run with at least 32 bytes of
 * entropy input, and again once `RESEED_INTERVAL` requests have been served without a reseed.
 * No target gives JavaScript a trustworthy entropy source, so the caller builds the entropy input
 * from the unit's provisioned seed plus whatever its board offers, and persists the state's
 * advance before using any output (modules/keys and modules/store do this; docs/security.md).
 */
export interface Drbg {
  /** Key K and value V (§10.1.2.1); empty until instantiated. */
  key: Uint8Array;
  value: Uint8Array;
  /** reseed_counter (§10.1.2.1); 0 while not instantiated. */
  counter: number;
  provider: CryptoProvider;
}

/** The DRBG's limits (a const enum: the bundler writes the values into the code). */
export const enum Limits {
  /** §10.1: security_strength 256 → min entropy 32 bytes; max_number_of_bits_per_request ≤ 2^19. */
  MIN_ENTROPY_BYTES = 32,
  MAX_REQUEST_BYTES = 1024,
  /** reseed_interval: far below the 2^48 §10.1 allows, so a device reseeds from its board regularly. */
  RESEED_INTERVAL = 65536,
}
export const RESEED_INTERVAL = Limits.RESEED_INTERVAL;

export function createDrbg(provider: CryptoProvider): Drbg {
  return { key: new Uint8Array(0), value: new Uint8Array(0), counter: 0, provider: provider };
}

function concat(parts: (Uint8Array | undefined)[]): Uint8Array {
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += parts[i] ? parts[i]!.length : 0;
  const out = new Uint8Array(n);
  for (let i = 0, at = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p) {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

/** §10.1.2.2 HMAC_DRBG_Update. */
function update(d: Drbg, provided: Uint8Array): void {
  const h = d.provider;
  d.key = h.hmacSha256(d.key, concat([d.value, new Uint8Array([0]), provided]));
  d.value = h.hmacSha256(d.key, d.value);
  if (provided.length === 0) return;
  d.key = h.hmacSha256(d.key, concat([d.value, new Uint8Array([1]), provided]));
  d.value = h.hmacSha256(d.key, d.value);
}

/** §10.1.2.3 Instantiate: seed_material = entropy ‖ nonce ‖ personalization; K = 0x00…, V = 0x01…. */
export function drbgInstantiate(d: Drbg, entropy: Uint8Array, nonce: Uint8Array, personalization?: Uint8Array): void {
  if (entropy.length < Limits.MIN_ENTROPY_BYTES) throw new RangeError('drbg: entropy input must be at least 32 bytes');
  d.key = new Uint8Array(32);
  d.value = new Uint8Array(32).fill(1);
  update(d, concat([entropy, nonce, personalization]));
  d.counter = 1;
}

/** §10.1.2.4 Reseed: seed_material = entropy ‖ additional_input. */
export function drbgReseed(d: Drbg, entropy: Uint8Array, additional?: Uint8Array): void {
  if (d.counter === 0) throw new Error('drbg: not instantiated');
  if (entropy.length < Limits.MIN_ENTROPY_BYTES) throw new RangeError('drbg: entropy input must be at least 32 bytes');
  update(d, concat([entropy, additional]));
  d.counter = 1;
}

/** §10.1.2.5 Generate: `length` bytes (1..1024). Throws if not instantiated or a reseed is due. */
export function drbgGenerate(d: Drbg, length: number, additional?: Uint8Array): Uint8Array {
  if (d.counter === 0) throw new Error('drbg: not instantiated');
  if (d.counter > Limits.RESEED_INTERVAL) throw new Error('drbg: reseed required');
  if (!(length >= 1 && length <= Limits.MAX_REQUEST_BYTES) || length !== Math.floor(length)) throw new RangeError('drbg: length must be 1..1024');
  const add = additional && additional.length ? additional : new Uint8Array(0);
  if (add.length) update(d, add);
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 32) {
    d.value = d.provider.hmacSha256(d.key, d.value);
    for (let i = 0; i < 32 && at + i < length; i++) out[at + i] = d.value[i];
  }
  update(d, add);
  d.counter++;
  return out;
}

/**
 * Instantiates `d` for a unit (SP 800-90A §8.6.5 and §10.1.2.3): entropy input = the unit's
 * provisioned seed (48 bytes from the factory's CSPRNG, the only input Hoshi relies on) ‖ 32 bytes
 * from the board's entropy source (mixed in whatever their quality: on a board of quality `none`
 * they add nothing, and nothing is lost) ‖ `carry` if given (output of the previous boot, persisted
 * so that the entropy of every boot accumulates); nonce = `nonce` (a value that differs at every
 * boot: modules/keys uses the store's stamp); personalization = the label and the
 * board's quality, so the two cannot be confused across purposes. Returns the board's entropy
 * quality for the caller to state. Throws (fails closed) if the seed is shorter than 32 bytes.
 * Unless the state's advance is persisted before output is used, two boots with the same nonce
 * would repeat outputs: the nonce carries that duty.
 */
export function drbgInstantiateForUnit(d: Drbg, provisionedSeed: Uint8Array, entropy: Entropy, nonce: Uint8Array, carry?: Uint8Array): string {
  if (provisionedSeed.length < Limits.MIN_ENTROPY_BYTES) throw new RangeError('drbg: provisioned seed must be at least 32 bytes');
  const board = entropy.bytes(32);
  const extra = carry ? carry.length : 0;
  const input = new Uint8Array(provisionedSeed.length + board.length + extra);
  input.set(provisionedSeed, 0);
  input.set(board, provisionedSeed.length);
  if (carry) input.set(carry, provisionedSeed.length + board.length);
  drbgInstantiate(d, input, nonce, asciiBytes('hoshi drbg v1 ' + entropy.quality));
  input.fill(0);
  return entropy.quality;
}

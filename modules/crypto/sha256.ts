/**
 * SHA-256 (FIPS 180-4 §6.2), incremental, for interpreters.
 *
 * Words are held as 16-bit halves so that JerryScript (Kaluma) never allocates a number: the
 * compression function is generated (firmware/host/gen/sha256-rounds.ts, reasons and figures in
 * docs/performance.md). State is a plain object passed in and out; nothing is allocated per block.
 */
import { sha256Rounds } from './sha256-rounds';

/** FIPS 180-4 §4.2.2: K as 16-bit halves, high first. */
const K: number[] = [];
(function () {
  const k = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  for (let i = 0; i < 64; i++) K.push(Math.floor(k[i] / 65536), k[i] % 65536);
})();

/** FIPS 180-4 §5.3.3: initial hash value, as 16-bit halves. */
const H0 = [0x6a09, 0xe667, 0xbb67, 0xae85, 0x3c6e, 0xf372, 0xa54f, 0xf53a, 0x510e, 0x527f, 0x9b05, 0x688c, 0x1f83, 0xd9ab, 0x5be0, 0xcd19];

export interface Sha256State {
  /** Chaining value H0..H7 as 16 halves, high first. */
  h: number[];
  /** Message schedule scratch, 128 halves. */
  w: number[];
  /** Pending bytes of an incomplete block. */
  block: Uint8Array;
  /** Bytes in `block`. */
  fill: number;
  /** Message length so far, bytes (exact up to 2^53). */
  total: number;
}

export function sha256Init(): Sha256State {
  const w: number[] = [];
  for (let i = 0; i < 128; i++) w.push(0);
  return { h: H0.slice(), w: w, block: new Uint8Array(64), fill: 0, total: 0 };
}

/** A copy of `s` that can be continued on its own (HMAC keeps its padded-key states this way). */
export function sha256Clone(s: Sha256State): Sha256State {
  return { h: s.h.slice(), w: s.w.slice(), block: new Uint8Array(s.block), fill: s.fill, total: s.total };
}

/** Copies `from` into `into` without allocating (PBKDF2's inner loop restores its pad states this way). */
export function sha256Copy(into: Sha256State, from: Sha256State): void {
  for (let i = 0; i < 16; i++) into.h[i] = from.h[i];
  into.block.set(from.block);
  into.fill = from.fill;
  into.total = from.total;
}

function compress(s: Sha256State, p: Uint8Array, at: number): void {
  sha256Rounds(s.h, p, at, K, s.w);
}

/** Absorbs `data`. */
export function sha256Update(s: Sha256State, data: Uint8Array): void {
  let i = 0;
  const n = data.length;
  s.total += n;
  if (s.fill > 0) {
    while (s.fill < 64 && i < n) s.block[s.fill++] = data[i++];
    if (s.fill < 64) return;
    compress(s, s.block, 0);
    s.fill = 0;
  }
  for (; i + 64 <= n; i += 64) compress(s, data, i);
  while (i < n) s.block[s.fill++] = data[i++];
}

/** FIPS 180-4 §5.1.1 padding, then the digest (32 bytes). The state is spent. */
export function sha256Digest(s: Sha256State): Uint8Array {
  const bits = s.total * 8;
  const block = s.block;
  block[s.fill++] = 0x80;
  if (s.fill > 56) {
    while (s.fill < 64) block[s.fill++] = 0;
    compress(s, block, 0);
    s.fill = 0;
  }
  while (s.fill < 56) block[s.fill++] = 0;
  const high = Math.floor(bits / 0x100000000);
  const low = bits - high * 0x100000000;
  block[56] = high >>> 24;
  block[57] = high >>> 16;
  block[58] = high >>> 8;
  block[59] = high;
  block[60] = low >>> 24;
  block[61] = low >>> 16;
  block[62] = low >>> 8;
  block[63] = low;
  compress(s, block, 0);
  const out = new Uint8Array(32);
  for (let i = 0; i < 16; i++) {
    out[i * 2] = s.h[i] >>> 8;
    out[i * 2 + 1] = s.h[i];
  }
  return out;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const s = sha256Init();
  sha256Update(s, data);
  return sha256Digest(s);
}

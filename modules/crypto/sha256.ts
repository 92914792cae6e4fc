/**
 * SHA-256 (FIPS 180-4 §6.2), incremental, for interpreters.
 *
 * State is a plain object passed in and out (no class, no closure per call). The message schedule
 * and the working variables are held in one Int32Array per state, built once: nothing is
 * allocated per block. Words are kept as signed 32-bit integers (`| 0`).
 */

/** FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 §5.3.3: initial hash value. */
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export interface Sha256State {
  /** Chaining value H0..H7. */
  h: Int32Array;
  /** Message schedule W0..W63. */
  w: Int32Array;
  /** Pending bytes of an incomplete block. */
  block: Uint8Array;
  /** Bytes in `block`. */
  fill: number;
  /** Message length so far, bytes (exact up to 2^53). */
  length: number;
}

export function sha256Init(): Sha256State {
  const h = new Int32Array(8);
  for (let i = 0; i < 8; i++) h[i] = H0[i];
  return { h: h, w: new Int32Array(64), block: new Uint8Array(64), fill: 0, length: 0 };
}

/** A copy of `s` that can be continued on its own (HMAC keeps its padded-key states this way). */
export function sha256Clone(s: Sha256State): Sha256State {
  return { h: new Int32Array(s.h), w: new Int32Array(64), block: new Uint8Array(s.block), fill: s.fill, length: s.length };
}

/** Copies `from` into `into` without allocating (PBKDF2's inner loop restores its pad states this way). */
export function sha256Copy(into: Sha256State, from: Sha256State): void {
  into.h.set(from.h);
  into.block.set(from.block);
  into.fill = from.fill;
  into.length = from.length;
}

/** FIPS 180-4 §6.2.2: one 64-byte block at `p[at]`. */
function compress(s: Sha256State, p: Uint8Array, at: number): void {
  const w = s.w;
  const h = s.h;
  for (let t = 0; t < 16; t++, at += 4) w[t] = (p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15];
    const y = w[t - 2];
    // σ0 and σ1 (§4.1.2, equations 4.6 and 4.7)
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (s1 + w[t - 7] + s0 + w[t - 16]) | 0;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let k = h[7];
  for (let t = 0; t < 64; t++) {
    // Σ1, Ch, Σ0, Maj (§4.1.2, equations 4.2-4.5)
    const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + k) | 0;
}

/** Absorbs `data`. */
export function sha256Update(s: Sha256State, data: Uint8Array): void {
  let i = 0;
  const n = data.length;
  s.length += n;
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
  const bits = s.length * 8;
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
  for (let i = 0; i < 8; i++) {
    const v = s.h[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const s = sha256Init();
  sha256Update(s, data);
  return sha256Digest(s);
}

/**
 * SHA-256 (FIPS 180-4 §6.2), incremental, for interpreters.
 *
 * Words are held as 16-bit halves so that JerryScript (Kaluma) never allocates a number: the
 * compression function is generated (firmware/host/gen/sha256-rounds.ts, reasons and figures in
 * docs/performance.md). State is a plain object passed in and out; nothing is allocated per block.
 */
import { sha256Rounds } from './sha256-rounds';

/**
 * FIPS 180-4 §4.2.2: K as 16-bit halves, high first (K0 = 0x428a2f98 is 0x428a, 0x2f98). Written as
 * halves, every literal is a small integer: as 32-bit literals, each of the 64 would stay in
 * Kaluma's heap as a number for as long as the program runs.
 */
const K: number[] = [
  0x428a, 0x2f98, 0x7137, 0x4491, 0xb5c0, 0xfbcf, 0xe9b5, 0xdba5,
  0x3956, 0xc25b, 0x59f1, 0x11f1, 0x923f, 0x82a4, 0xab1c, 0x5ed5,
  0xd807, 0xaa98, 0x1283, 0x5b01, 0x2431, 0x85be, 0x550c, 0x7dc3,
  0x72be, 0x5d74, 0x80de, 0xb1fe, 0x9bdc, 0x06a7, 0xc19b, 0xf174,
  0xe49b, 0x69c1, 0xefbe, 0x4786, 0x0fc1, 0x9dc6, 0x240c, 0xa1cc,
  0x2de9, 0x2c6f, 0x4a74, 0x84aa, 0x5cb0, 0xa9dc, 0x76f9, 0x88da,
  0x983e, 0x5152, 0xa831, 0xc66d, 0xb003, 0x27c8, 0xbf59, 0x7fc7,
  0xc6e0, 0x0bf3, 0xd5a7, 0x9147, 0x06ca, 0x6351, 0x1429, 0x2967,
  0x27b7, 0x0a85, 0x2e1b, 0x2138, 0x4d2c, 0x6dfc, 0x5338, 0x0d13,
  0x650a, 0x7354, 0x766a, 0x0abb, 0x81c2, 0xc92e, 0x9272, 0x2c85,
  0xa2bf, 0xe8a1, 0xa81a, 0x664b, 0xc24b, 0x8b70, 0xc76c, 0x51a3,
  0xd192, 0xe819, 0xd699, 0x0624, 0xf40e, 0x3585, 0x106a, 0xa070,
  0x19a4, 0xc116, 0x1e37, 0x6c08, 0x2748, 0x774c, 0x34b0, 0xbcb5,
  0x391c, 0x0cb3, 0x4ed8, 0xaa4a, 0x5b9c, 0xca4f, 0x682e, 0x6ff3,
  0x748f, 0x82ee, 0x78a5, 0x636f, 0x84c8, 0x7814, 0x8cc7, 0x0208,
  0x90be, 0xfffa, 0xa450, 0x6ceb, 0xbef9, 0xa3f7, 0xc671, 0x78f2,
];

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
  // FIPS 180-4 §5.3.3: initial hash value, as 16-bit halves.
  const h = [0x6a09, 0xe667, 0xbb67, 0xae85, 0x3c6e, 0xf372, 0xa54f, 0xf53a, 0x510e, 0x527f, 0x9b05, 0x688c, 0x1f83, 0xd9ab, 0x5be0, 0xcd19];
  return { h: h, w: w, block: new Uint8Array(64), fill: 0, total: 0 };
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

/** Absorbs `data`. */
export function sha256Update(s: Sha256State, data: Uint8Array): void {
  let i = 0;
  const n = data.length;
  s.total += n;
  if (s.fill > 0) {
    while (s.fill < 64 && i < n) s.block[s.fill++] = data[i++];
    if (s.fill < 64) return;
    sha256Rounds(s.h, s.block, 0, K, s.w);
    s.fill = 0;
  }
  for (; i + 64 <= n; i += 64) sha256Rounds(s.h, data, i, K, s.w);
  while (i < n) s.block[s.fill++] = data[i++];
}

/** FIPS 180-4 §5.1.1 padding, then the digest (32 bytes). The state is spent. */
export function sha256Digest(s: Sha256State): Uint8Array {
  const bits = s.total * 8;
  const block = s.block;
  block[s.fill++] = 0x80;
  if (s.fill > 56) {
    while (s.fill < 64) block[s.fill++] = 0;
    sha256Rounds(s.h, block, 0, K, s.w);
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
  sha256Rounds(s.h, block, 0, K, s.w);
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

/** SHA-256 fed in pieces (an update's payload, hashed a slice at a time as it is read back from flash). */
export function sha256Stream(): { update(data: Uint8Array): void; digest(): Uint8Array } {
  const s = sha256Init();
  return {
    update: function (data: Uint8Array): void {
      sha256Update(s, data);
    },
    digest: function (): Uint8Array {
      return sha256Digest(s);
    },
  };
}

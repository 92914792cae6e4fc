/**
 * AES-128 and AES-256 forward cipher (FIPS 197), for interpreters: the only direction CTR and CCM
 * use, so no inverse cipher is carried. Byte-oriented: the state is 16 locals, round keys are a
 * plain array of byte pairs, and one 256-entry table built at first use holds, for every byte x,
 * the S-box value S(x) (FIPS 197 §5.1.1) and its xtime (§4.2.1) as S(x) | xtime(S(x)) << 8:
 * MixColumns needs xtime only of S-box outputs (xtime is linear), so one lookup gives both. The
 * table is a Uint16Array (512 bytes of Kaluma's heap, where an S-box and an xtime table as plain
 * arrays held 2 KB); JerryScript reads a typed array more slowly than a plain one, and the single
 * lookup and the MixColumns below pay that back: a block costs what it did with the two plain
 * tables. Every value stays below 2^16, so JerryScript never allocates a number; see
 * docs/performance.md for the cost per block on each engine.
 */

/** FIPS 197 §5.1.1 S-box with the xtime of each value: SX[x] = S(x) | xtime(S(x)) << 8. Built at first use. */
let SX: Uint16Array | undefined;

export interface AesKey {
  /**
   * Round keys w[0..4(Nr+1)-1] (FIPS 197 §5.2) as bytes in pairs: rk[j] = byte 2j | byte 2j+1 << 8
   * (half the heap of one entry per byte, for the same number of operations per round).
   */
  rk: number[];
  /** Nr: 10 for AES-128, 14 for AES-256. */
  rounds: number;
}

/** FIPS 197 §5.2 KeyExpansion, for 16- or 32-byte keys. */
export function aesKey(key: Uint8Array): AesKey {
  if (key.length !== 16 && key.length !== 32) throw new RangeError('aes: key must be 16 or 32 bytes');
  if (!SX) {
    SX = new Uint16Array(256);
    // S-box from its definition: multiplicative inverse in GF(2^8) then the affine map (§5.1.1).
    // p runs over the powers of the generator 3, q over those of its inverse.
    let p = 1;
    let q = 1;
    SX[0] = 0x63 | (0xc6 << 8); // S(0) = 0x63, xtime(0x63) = 0xc6
    do {
      p = p ^ (((p << 1) ^ (p & 128 ? 0x1b : 0)) & 255);
      q = q ^ (q << 1);
      q = q ^ (q << 2);
      q = q ^ (q << 4);
      q = q & 255;
      if (q & 128) q = q ^ 0x09;
      const x = (q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4)) ^ 0x63) & 255;
      SX[p] = x | ((((x << 1) ^ (x & 128 ? 0x1b : 0)) & 255) << 8);
    } while (p !== 1);
  }
  const nk = key.length / 4;
  const rounds = nk + 6;
  const rk: number[] = [];
  for (let i = 0; i < key.length; i++) rk.push(key[i]);
  let rcon = 1;
  for (let i = nk; i < 4 * (rounds + 1); i++) {
    const at = (i - 1) * 4;
    let a = rk[at];
    let b = rk[at + 1];
    let c = rk[at + 2];
    let d = rk[at + 3];
    if (i % nk === 0) {
      // RotWord, SubWord, Rcon
      const t = a;
      a = (SX[b] & 255) ^ rcon;
      b = SX[c] & 255;
      c = SX[d] & 255;
      d = SX[t] & 255;
      rcon = ((rcon << 1) ^ (rcon & 128 ? 0x1b : 0)) & 255;
    } else if (nk > 6 && i % nk === 4) {
      a = SX[a] & 255;
      b = SX[b] & 255;
      c = SX[c] & 255;
      d = SX[d] & 255;
    }
    const back = (i - nk) * 4;
    rk.push(rk[back] ^ a, rk[back + 1] ^ b, rk[back + 2] ^ c, rk[back + 3] ^ d);
  }
  const pairs: number[] = [];
  for (let i = 0; i < rk.length; i += 2) pairs.push(rk[i] | (rk[i + 1] << 8));
  return { rk: pairs, rounds: rounds };
}

/** FIPS 197 §5.1 Cipher: encrypts the block at input[inAt] into output[outAt] (may be the same place). */
export function aesEncryptBlock(key: AesKey, input: Uint8Array, inAt: number, output: Uint8Array, outAt: number): void {
  const rk = key.rk;
  const rounds = key.rounds;
  const S = SX!;
  // AddRoundKey with w[0..3]
  let s0 = input[inAt + 0] ^ (rk[0] & 255), s1 = input[inAt + 1] ^ (rk[0] >> 8), s2 = input[inAt + 2] ^ (rk[1] & 255), s3 = input[inAt + 3] ^ (rk[1] >> 8), s4 = input[inAt + 4] ^ (rk[2] & 255), s5 = input[inAt + 5] ^ (rk[2] >> 8), s6 = input[inAt + 6] ^ (rk[3] & 255), s7 = input[inAt + 7] ^ (rk[3] >> 8), s8 = input[inAt + 8] ^ (rk[4] & 255), s9 = input[inAt + 9] ^ (rk[4] >> 8), s10 = input[inAt + 10] ^ (rk[5] & 255), s11 = input[inAt + 11] ^ (rk[5] >> 8), s12 = input[inAt + 12] ^ (rk[6] & 255), s13 = input[inAt + 13] ^ (rk[6] >> 8), s14 = input[inAt + 14] ^ (rk[7] & 255), s15 = input[inAt + 15] ^ (rk[7] >> 8);
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0, t8 = 0, t9 = 0, t10 = 0, t11 = 0, t12 = 0, t13 = 0, t14 = 0, t15 = 0;
  let w = 0, v = 0, k = 8;
  for (let r = 1; r <= rounds; r++) {
    // SubBytes and ShiftRows (§5.1.1, §5.1.2): row r moves left by r columns (each t holds S and its xtime).
    t0 = S[s0]; t1 = S[s5]; t2 = S[s10]; t3 = S[s15]; t4 = S[s4]; t5 = S[s9]; t6 = S[s14]; t7 = S[s3]; t8 = S[s8]; t9 = S[s13]; t10 = S[s2]; t11 = S[s7]; t12 = S[s12]; t13 = S[s1]; t14 = S[s6]; t15 = S[s11];
    if (r === rounds) break;
    // MixColumns (§5.1.3): b_i = a_i ^ u ^ xtime(a_i ^ a_i+1), u = a0 ^ a1 ^ a2 ^ a3; then AddRoundKey
    // (§5.1.4). With w = t0 ^ t1 ^ t2 ^ t3, the low byte of t_i ^ w is a_i ^ u, and (t_i ^ t_i+1) >> 8
    // is xtime(a_i) ^ xtime(a_i+1) = xtime(a_i ^ a_i+1).
    w = t0 ^ t1 ^ t2 ^ t3;
    v = rk[k + 0];
    s0 = (t0 ^ w ^ ((t0 ^ t1) >> 8) ^ v) & 255;
    s1 = (t1 ^ w ^ ((t1 ^ t2) >> 8) ^ (v >> 8)) & 255;
    v = rk[k + 1];
    s2 = (t2 ^ w ^ ((t2 ^ t3) >> 8) ^ v) & 255;
    s3 = (t3 ^ w ^ ((t3 ^ t0) >> 8) ^ (v >> 8)) & 255;
    w = t4 ^ t5 ^ t6 ^ t7;
    v = rk[k + 2];
    s4 = (t4 ^ w ^ ((t4 ^ t5) >> 8) ^ v) & 255;
    s5 = (t5 ^ w ^ ((t5 ^ t6) >> 8) ^ (v >> 8)) & 255;
    v = rk[k + 3];
    s6 = (t6 ^ w ^ ((t6 ^ t7) >> 8) ^ v) & 255;
    s7 = (t7 ^ w ^ ((t7 ^ t4) >> 8) ^ (v >> 8)) & 255;
    w = t8 ^ t9 ^ t10 ^ t11;
    v = rk[k + 4];
    s8 = (t8 ^ w ^ ((t8 ^ t9) >> 8) ^ v) & 255;
    s9 = (t9 ^ w ^ ((t9 ^ t10) >> 8) ^ (v >> 8)) & 255;
    v = rk[k + 5];
    s10 = (t10 ^ w ^ ((t10 ^ t11) >> 8) ^ v) & 255;
    s11 = (t11 ^ w ^ ((t11 ^ t8) >> 8) ^ (v >> 8)) & 255;
    w = t12 ^ t13 ^ t14 ^ t15;
    v = rk[k + 6];
    s12 = (t12 ^ w ^ ((t12 ^ t13) >> 8) ^ v) & 255;
    s13 = (t13 ^ w ^ ((t13 ^ t14) >> 8) ^ (v >> 8)) & 255;
    v = rk[k + 7];
    s14 = (t14 ^ w ^ ((t14 ^ t15) >> 8) ^ v) & 255;
    s15 = (t15 ^ w ^ ((t15 ^ t12) >> 8) ^ (v >> 8)) & 255;
    k = k + 8;
  }
  // Final round: no MixColumns.
  v = rk[k + 0];
  output[outAt + 0] = (t0 ^ v) & 255;
  output[outAt + 1] = (t1 & 255) ^ (v >> 8);
  v = rk[k + 1];
  output[outAt + 2] = (t2 ^ v) & 255;
  output[outAt + 3] = (t3 & 255) ^ (v >> 8);
  v = rk[k + 2];
  output[outAt + 4] = (t4 ^ v) & 255;
  output[outAt + 5] = (t5 & 255) ^ (v >> 8);
  v = rk[k + 3];
  output[outAt + 6] = (t6 ^ v) & 255;
  output[outAt + 7] = (t7 & 255) ^ (v >> 8);
  v = rk[k + 4];
  output[outAt + 8] = (t8 ^ v) & 255;
  output[outAt + 9] = (t9 & 255) ^ (v >> 8);
  v = rk[k + 5];
  output[outAt + 10] = (t10 ^ v) & 255;
  output[outAt + 11] = (t11 & 255) ^ (v >> 8);
  v = rk[k + 6];
  output[outAt + 12] = (t12 ^ v) & 255;
  output[outAt + 13] = (t13 & 255) ^ (v >> 8);
  v = rk[k + 7];
  output[outAt + 14] = (t14 ^ v) & 255;
  output[outAt + 15] = (t15 & 255) ^ (v >> 8);
}

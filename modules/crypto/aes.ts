/**
 * AES-128 and AES-256 forward cipher (FIPS 197), for interpreters: the only direction CTR and CCM
 * use, so no inverse cipher is carried. Byte-oriented: the state is 16 locals, S-box and xtime are
 * two 256-entry plain arrays built once (FIPS 197 §5.1.1 and §4.2.1), round keys are a plain array
 * of bytes. Every value stays below 2^9, so JerryScript never allocates a number; see
 * docs/performance.md for the cost per block on each engine.
 */

/** FIPS 197 §5.1.1 S-box, and xtime (§4.2.1) of every byte. Built at first use. */
const SBOX: number[] = [];
const XTIME: number[] = [];

function tables(): void {
  // S-box from its definition: multiplicative inverse in GF(2^8) then the affine map (§5.1.1).
  // p runs over the powers of the generator 3, q over those of its inverse.
  let p = 1;
  let q = 1;
  for (let i = 0; i < 256; i++) SBOX.push(0);
  do {
    p = p ^ ((p << 1) & 255) ^ (p & 128 ? 0x1b : 0);
    q = q ^ (q << 1);
    q = q ^ (q << 2);
    q = q ^ (q << 4);
    q = q & 255;
    if (q & 128) q = q ^ 0x09;
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    SBOX[p] = (x ^ 0x63) & 255;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) XTIME.push(((i << 1) ^ (i & 128 ? 0x1b : 0)) & 255);
}

export interface AesKey {
  /** Round keys w[0..4(Nr+1)-1] as bytes (FIPS 197 §5.2). */
  rk: number[];
  /** Nr: 10 for AES-128, 14 for AES-256. */
  rounds: number;
}

/** FIPS 197 §5.2 KeyExpansion, for 16- or 32-byte keys. */
export function aesKey(key: Uint8Array): AesKey {
  if (key.length !== 16 && key.length !== 32) throw new RangeError('aes: key must be 16 or 32 bytes');
  if (SBOX.length === 0) tables();
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
      a = SBOX[b] ^ rcon;
      b = SBOX[c];
      c = SBOX[d];
      d = SBOX[t];
      rcon = XTIME[rcon];
    } else if (nk > 6 && i % nk === 4) {
      a = SBOX[a];
      b = SBOX[b];
      c = SBOX[c];
      d = SBOX[d];
    }
    const back = (i - nk) * 4;
    rk.push(rk[back] ^ a, rk[back + 1] ^ b, rk[back + 2] ^ c, rk[back + 3] ^ d);
  }
  return { rk: rk, rounds: rounds };
}

/** FIPS 197 §5.1 Cipher: encrypts the block at input[inAt] into output[outAt] (may be the same place). */
export function aesEncryptBlock(key: AesKey, input: Uint8Array, inAt: number, output: Uint8Array, outAt: number): void {
  const rk = key.rk;
  const S = SBOX;
  const X = XTIME;
  // AddRoundKey with w[0..3]
  let s0 = input[inAt + 0] ^ rk[0], s1 = input[inAt + 1] ^ rk[1], s2 = input[inAt + 2] ^ rk[2], s3 = input[inAt + 3] ^ rk[3], s4 = input[inAt + 4] ^ rk[4], s5 = input[inAt + 5] ^ rk[5], s6 = input[inAt + 6] ^ rk[6], s7 = input[inAt + 7] ^ rk[7], s8 = input[inAt + 8] ^ rk[8], s9 = input[inAt + 9] ^ rk[9], s10 = input[inAt + 10] ^ rk[10], s11 = input[inAt + 11] ^ rk[11], s12 = input[inAt + 12] ^ rk[12], s13 = input[inAt + 13] ^ rk[13], s14 = input[inAt + 14] ^ rk[14], s15 = input[inAt + 15] ^ rk[15];
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0, t8 = 0, t9 = 0, t10 = 0, t11 = 0, t12 = 0, t13 = 0, t14 = 0, t15 = 0, u = 0, k = 16;
  for (let r = 1; r <= key.rounds; r++) {
    // SubBytes and ShiftRows (§5.1.1, §5.1.2): row r moves left by r columns.
    t0 = S[s0]; t1 = S[s5]; t2 = S[s10]; t3 = S[s15]; t4 = S[s4]; t5 = S[s9]; t6 = S[s14]; t7 = S[s3]; t8 = S[s8]; t9 = S[s13]; t10 = S[s2]; t11 = S[s7]; t12 = S[s12]; t13 = S[s1]; t14 = S[s6]; t15 = S[s11];
    if (r === key.rounds) break;
    // MixColumns (§5.1.3): b_i = a_i ^ u ^ xtime(a_i ^ a_i+1), u = a0 ^ a1 ^ a2 ^ a3; then AddRoundKey (§5.1.4).
    u = t0 ^ t1 ^ t2 ^ t3;
    s0 = t0 ^ u ^ X[t0 ^ t1] ^ rk[k + 0];
    s1 = t1 ^ u ^ X[t1 ^ t2] ^ rk[k + 1];
    s2 = t2 ^ u ^ X[t2 ^ t3] ^ rk[k + 2];
    s3 = t3 ^ u ^ X[t3 ^ t0] ^ rk[k + 3];
    u = t4 ^ t5 ^ t6 ^ t7;
    s4 = t4 ^ u ^ X[t4 ^ t5] ^ rk[k + 4];
    s5 = t5 ^ u ^ X[t5 ^ t6] ^ rk[k + 5];
    s6 = t6 ^ u ^ X[t6 ^ t7] ^ rk[k + 6];
    s7 = t7 ^ u ^ X[t7 ^ t4] ^ rk[k + 7];
    u = t8 ^ t9 ^ t10 ^ t11;
    s8 = t8 ^ u ^ X[t8 ^ t9] ^ rk[k + 8];
    s9 = t9 ^ u ^ X[t9 ^ t10] ^ rk[k + 9];
    s10 = t10 ^ u ^ X[t10 ^ t11] ^ rk[k + 10];
    s11 = t11 ^ u ^ X[t11 ^ t8] ^ rk[k + 11];
    u = t12 ^ t13 ^ t14 ^ t15;
    s12 = t12 ^ u ^ X[t12 ^ t13] ^ rk[k + 12];
    s13 = t13 ^ u ^ X[t13 ^ t14] ^ rk[k + 13];
    s14 = t14 ^ u ^ X[t14 ^ t15] ^ rk[k + 14];
    s15 = t15 ^ u ^ X[t15 ^ t12] ^ rk[k + 15];
    k = k + 16;
  }
  // Final round: no MixColumns.
  output[outAt + 0] = t0 ^ rk[k + 0];
  output[outAt + 1] = t1 ^ rk[k + 1];
  output[outAt + 2] = t2 ^ rk[k + 2];
  output[outAt + 3] = t3 ^ rk[k + 3];
  output[outAt + 4] = t4 ^ rk[k + 4];
  output[outAt + 5] = t5 ^ rk[k + 5];
  output[outAt + 6] = t6 ^ rk[k + 6];
  output[outAt + 7] = t7 ^ rk[k + 7];
  output[outAt + 8] = t8 ^ rk[k + 8];
  output[outAt + 9] = t9 ^ rk[k + 9];
  output[outAt + 10] = t10 ^ rk[k + 10];
  output[outAt + 11] = t11 ^ rk[k + 11];
  output[outAt + 12] = t12 ^ rk[k + 12];
  output[outAt + 13] = t13 ^ rk[k + 13];
  output[outAt + 14] = t14 ^ rk[k + 14];
  output[outAt + 15] = t15 ^ rk[k + 15];
}

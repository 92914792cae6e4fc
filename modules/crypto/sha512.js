// SHA-512 (FIPS 180-4 §6.4), plain ES5 for the device profiles: 64-bit words as (hi, lo) pairs of
// int32. Used on short inputs only (Ed25519's R ‖ A ‖ M of a signed manifest); Espruino uses its
// native SHA512 through the board's CryptoProvider instead.
// Written for Hoshi and checked against node:crypto on random inputs (test/crypto-ed25519.test.ts).
var sha512Impl;
(function () {
// 64-bit words as (hi, lo) pairs of int32.  Section 4.2.3 constants K0..K79:
var SK = (function () { return [
0x428a2f98,0xd728ae22,0x71374491,0x23ef65cd,0xb5c0fbcf,0xec4d3b2f,0xe9b5dba5,0x8189dbbc,0x3956c25b,0xf348b538,
0x59f111f1,0xb605d019,0x923f82a4,0xaf194f9b,0xab1c5ed5,0xda6d8118,0xd807aa98,0xa3030242,0x12835b01,0x45706fbe,
0x243185be,0x4ee4b28c,0x550c7dc3,0xd5ffb4e2,0x72be5d74,0xf27b896f,0x80deb1fe,0x3b1696b1,0x9bdc06a7,0x25c71235,
0xc19bf174,0xcf692694,0xe49b69c1,0x9ef14ad2,0xefbe4786,0x384f25e3,0x0fc19dc6,0x8b8cd5b5,0x240ca1cc,0x77ac9c65,
0x2de92c6f,0x592b0275,0x4a7484aa,0x6ea6e483,0x5cb0a9dc,0xbd41fbd4,0x76f988da,0x831153b5,0x983e5152,0xee66dfab,
0xa831c66d,0x2db43210,0xb00327c8,0x98fb213f,0xbf597fc7,0xbeef0ee4,0xc6e00bf3,0x3da88fc2,0xd5a79147,0x930aa725,
0x06ca6351,0xe003826f,0x14292967,0x0a0e6e70,0x27b70a85,0x46d22ffc,0x2e1b2138,0x5c26c926,0x4d2c6dfc,0x5ac42aed,
0x53380d13,0x9d95b3df,0x650a7354,0x8baf63de,0x766a0abb,0x3c77b2a8,0x81c2c92e,0x47edaee6,0x92722c85,0x1482353b,
0xa2bfe8a1,0x4cf10364,0xa81a664b,0xbc423001,0xc24b8b70,0xd0f89791,0xc76c51a3,0x0654be30,0xd192e819,0xd6ef5218,
0xd6990624,0x5565a910,0xf40e3585,0x5771202a,0x106aa070,0x32bbd1b8,0x19a4c116,0xb8d2d0c8,0x1e376c08,0x5141ab53,
0x2748774c,0xdf8eeb99,0x34b0bcb5,0xe19b48a8,0x391c0cb3,0xc5c95a63,0x4ed8aa4a,0xe3418acb,0x5b9cca4f,0x7763e373,
0x682e6ff3,0xd6b2b8a3,0x748f82ee,0x5defb2fc,0x78a5636f,0x43172f60,0x84c87814,0xa1f0ab72,0x8cc70208,0x1a6439ec,
0x90befffa,0x23631e28,0xa4506ceb,0xde82bde9,0xbef9a3f7,0xb2c67915,0xc67178f2,0xe372532b,0xca273ece,0xea26619c,
0xd186b8c7,0x21c0c207,0xeada7dd6,0xcde0eb1e,0xf57d4f7f,0xee6ed178,0x06f067aa,0x72176fba,0x0a637dc5,0xa2c898a6,
0x113f9804,0xbef90dae,0x1b710b35,0x131c471b,0x28db77f5,0x23047d84,0x32caab7b,0x40c72493,0x3c9ebe0a,0x15c9bebc,
0x431d67c4,0x9c100d4c,0x4cc5d4be,0xcb3e42b6,0x597f299c,0xfc657e2a,0x5fcb6fab,0x3ad6faec,0x6c44198c,0x4a475817]; })();
for (var i = 0; i < 160; i++) SK[i] = SK[i] | 0;
var SW = new Int32Array(32);          // message schedule ring: 16 words W[t mod 16] as (hi,lo)  (6.4.2 step 1)

// FIPS 180-4 6.4.2: process 128-byte blocks of m[pos..pos+n) into state H (Int32Array(16), hi/lo pairs)
function sha512blocks(H, m, pos, n) {
  var W = SW, K = SK;
  var ah = H[0], al = H[1], bh = H[2], bl = H[3], ch = H[4], cl = H[5], dh = H[6], dl = H[7],
      eh = H[8], el = H[9], fh = H[10], fl = H[11], gh = H[12], gl = H[13], hh = H[14], hl = H[15];
  var t, j, xh, xl, yh, yl, s0h, s0l, s1h, s1l, l, t1h, t1l, t2h, t2l;
  while (n >= 128) {
    for (t = 0; t < 80; t++) {
      j = (t & 15) << 1;
      if (t < 16) {                                    // W_t = M_t (big endian)
        W[j] = (m[pos] << 24) | (m[pos + 1] << 16) | (m[pos + 2] << 8) | m[pos + 3];
        W[j + 1] = (m[pos + 4] << 24) | (m[pos + 5] << 16) | (m[pos + 6] << 8) | m[pos + 7];
        pos += 8;
      } else {                                         // W_t = s1(W_t-2) + W_t-7 + s0(W_t-15) + W_t-16   (4.13)
        xh = W[(j + 28) & 31]; xl = W[(j + 29) & 31];  // W_t-2
        s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
        s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
        xh = W[(j + 2) & 31]; xl = W[(j + 3) & 31];    // W_t-15
        s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
        s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
        yh = W[(j + 18) & 31]; yl = W[(j + 19) & 31];  // W_t-7
        l = (s1l >>> 0) + (s0l >>> 0) + (yl >>> 0) + (W[j + 1] >>> 0);
        W[j] = (s1h + s0h + yh + W[j] + ((l / 4294967296) | 0)) | 0;
        W[j + 1] = l | 0;
      }
      // T1 = h + S1(e) + Ch(e,f,g) + K_t + W_t ; T2 = S0(a) + Maj(a,b,c)   (4.10, 4.11, 4.8, 4.9)
      s1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      s1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      l = (hl >>> 0) + (s1l >>> 0) + (((el & fl) ^ (~el & gl)) >>> 0) + (K[2 * t + 1] >>> 0) + (W[j + 1] >>> 0);
      t1h = hh + s1h + ((eh & fh) ^ (~eh & gh)) + K[2 * t] + W[j] + ((l / 4294967296) | 0);
      t1l = l >>> 0;
      s0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      s0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      t2h = s0h + ((ah & bh) ^ (ah & ch) ^ (bh & ch));
      t2l = (s0l >>> 0) + (((al & bl) ^ (al & cl) ^ (bl & cl)) >>> 0);
      hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el;
      l = (dl >>> 0) + t1l;                            // e = d + T1
      eh = (dh + t1h + ((l / 4294967296) | 0)) | 0; el = l | 0;
      dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al;
      l = t1l + t2l;                                   // a = T1 + T2
      ah = (t1h + t2h + ((l / 4294967296) | 0)) | 0; al = l | 0;
    }
    // H_i = H_i + working variable (6.4.2 step 4)
    l = (H[1] >>> 0) + (al >>> 0); H[0] = (H[0] + ah + ((l / 4294967296) | 0)) | 0; H[1] = l | 0; ah = H[0]; al = H[1];
    l = (H[3] >>> 0) + (bl >>> 0); H[2] = (H[2] + bh + ((l / 4294967296) | 0)) | 0; H[3] = l | 0; bh = H[2]; bl = H[3];
    l = (H[5] >>> 0) + (cl >>> 0); H[4] = (H[4] + ch + ((l / 4294967296) | 0)) | 0; H[5] = l | 0; ch = H[4]; cl = H[5];
    l = (H[7] >>> 0) + (dl >>> 0); H[6] = (H[6] + dh + ((l / 4294967296) | 0)) | 0; H[7] = l | 0; dh = H[6]; dl = H[7];
    l = (H[9] >>> 0) + (el >>> 0); H[8] = (H[8] + eh + ((l / 4294967296) | 0)) | 0; H[9] = l | 0; eh = H[8]; el = H[9];
    l = (H[11] >>> 0) + (fl >>> 0); H[10] = (H[10] + fh + ((l / 4294967296) | 0)) | 0; H[11] = l | 0; fh = H[10]; fl = H[11];
    l = (H[13] >>> 0) + (gl >>> 0); H[12] = (H[12] + gh + ((l / 4294967296) | 0)) | 0; H[13] = l | 0; gh = H[12]; gl = H[13];
    l = (H[15] >>> 0) + (hl >>> 0); H[14] = (H[14] + hh + ((l / 4294967296) | 0)) | 0; H[15] = l | 0; hh = H[14]; hl = H[15];
    n -= 128;
  }
}
// FIPS 180-4 5.3.5 initial hash value
var SIV = [0x6a09e667,0xf3bcc908,0xbb67ae85,0x84caa73b,0x3c6ef372,0xfe94f82b,0xa54ff53a,0x5f1d36f1,
           0x510e527f,0xade682d1,0x9b05688c,0x2b3e6c1f,0x1f83d9ab,0xfb41bd6b,0x5be0cd19,0x137e2179];
// sha512 of the concatenation of byte arrays in `parts`
function sha512parts(parts) {
  var H = new Int32Array(16), i, j, n = 0, full, tail, blk = new Uint8Array(256), m, k, off;
  for (i = 0; i < 16; i++) H[i] = SIV[i] | 0;
  // gather whole blocks part by part; leftover bytes go into blk
  k = 0;                                           // bytes in blk
  for (i = 0; i < parts.length; i++) {
    m = parts[i]; n += m.length; off = 0;
    if (k > 0) { while (k < 128 && off < m.length) blk[k++] = m[off++]; if (k === 128) { sha512blocks(H, blk, 0, 128); k = 0; } }
    full = (m.length - off) & ~127;
    if (full > 0) { sha512blocks(H, m, off, full); off += full; }
    while (off < m.length) blk[k++] = m[off++];
  }
  // 5.1.2 padding: 0x80, zeros, 128-bit big-endian length in bits (messages < 2^32 bytes here)
  blk[k++] = 0x80;
  tail = k <= 112 ? 128 : 256;
  while (k < tail) blk[k++] = 0;
  blk[tail - 1] = (n << 3) & 255; blk[tail - 2] = (n >>> 5) & 255; blk[tail - 3] = (n >>> 13) & 255;
  blk[tail - 4] = (n >>> 21) & 255; blk[tail - 5] = (n >>> 29) & 255;
  sha512blocks(H, blk, 0, tail);
  var out = new Uint8Array(64);
  for (i = 0; i < 16; i++) { j = H[i]; out[4 * i] = j >>> 24; out[4 * i + 1] = (j >>> 16) & 255; out[4 * i + 2] = (j >>> 8) & 255; out[4 * i + 3] = j & 255; }
  return out;
}
sha512Impl = function (bytes) { return sha512parts([bytes]); };
})();
export var sha512 = sha512Impl;

// SHA-512 (FIPS 180-4 §6.4), plain ES5 for the device profiles: 64-bit words as (hi, lo) pairs of
// int32. Used on short inputs only (Ed25519's R ‖ A ‖ M of a signed manifest); Espruino uses its
// native SHA512 through the board's CryptoProvider instead. sha512Begin/sha512Step hash the same
// a few rounds per call, so a verification can be run in bounded steps (ed25519VerifySteps); the
// update verifier asset carries this file's text (firmware/host/verifier-asset.ts).
// Written for Hoshi and checked against node:crypto on random inputs (test/crypto-ed25519.test.ts).
var sha512Impl, sha512BeginImpl, sha512StepImpl;
(function () {
// 64-bit words as (hi, lo) pairs of int32.  Section 4.2.3 constants K0..K79, written as 16-bit halves:
// a 32-bit number literal would stay in a JerryScript heap for the program's life (13 bytes each),
// even once the code using it is gone (the verifier asset is loaded only while an update is checked).
function words(h) {
  var w = [], i;
  for (i = 0; i < h.length; i += 2) w.push((h[i] << 16) | h[i + 1]);
  return w;
}
var SK = words([
0x428a,0x2f98,0xd728,0xae22,0x7137,0x4491,0x23ef,0x65cd,0xb5c0,0xfbcf,0xec4d,0x3b2f,0xe9b5,0xdba5,0x8189,0xdbbc,
0x3956,0xc25b,0xf348,0xb538,0x59f1,0x11f1,0xb605,0xd019,0x923f,0x82a4,0xaf19,0x4f9b,0xab1c,0x5ed5,0xda6d,0x8118,
0xd807,0xaa98,0xa303,0x0242,0x1283,0x5b01,0x4570,0x6fbe,0x2431,0x85be,0x4ee4,0xb28c,0x550c,0x7dc3,0xd5ff,0xb4e2,
0x72be,0x5d74,0xf27b,0x896f,0x80de,0xb1fe,0x3b16,0x96b1,0x9bdc,0x06a7,0x25c7,0x1235,0xc19b,0xf174,0xcf69,0x2694,
0xe49b,0x69c1,0x9ef1,0x4ad2,0xefbe,0x4786,0x384f,0x25e3,0x0fc1,0x9dc6,0x8b8c,0xd5b5,0x240c,0xa1cc,0x77ac,0x9c65,
0x2de9,0x2c6f,0x592b,0x0275,0x4a74,0x84aa,0x6ea6,0xe483,0x5cb0,0xa9dc,0xbd41,0xfbd4,0x76f9,0x88da,0x8311,0x53b5,
0x983e,0x5152,0xee66,0xdfab,0xa831,0xc66d,0x2db4,0x3210,0xb003,0x27c8,0x98fb,0x213f,0xbf59,0x7fc7,0xbeef,0x0ee4,
0xc6e0,0x0bf3,0x3da8,0x8fc2,0xd5a7,0x9147,0x930a,0xa725,0x06ca,0x6351,0xe003,0x826f,0x1429,0x2967,0x0a0e,0x6e70,
0x27b7,0x0a85,0x46d2,0x2ffc,0x2e1b,0x2138,0x5c26,0xc926,0x4d2c,0x6dfc,0x5ac4,0x2aed,0x5338,0x0d13,0x9d95,0xb3df,
0x650a,0x7354,0x8baf,0x63de,0x766a,0x0abb,0x3c77,0xb2a8,0x81c2,0xc92e,0x47ed,0xaee6,0x9272,0x2c85,0x1482,0x353b,
0xa2bf,0xe8a1,0x4cf1,0x0364,0xa81a,0x664b,0xbc42,0x3001,0xc24b,0x8b70,0xd0f8,0x9791,0xc76c,0x51a3,0x0654,0xbe30,
0xd192,0xe819,0xd6ef,0x5218,0xd699,0x0624,0x5565,0xa910,0xf40e,0x3585,0x5771,0x202a,0x106a,0xa070,0x32bb,0xd1b8,
0x19a4,0xc116,0xb8d2,0xd0c8,0x1e37,0x6c08,0x5141,0xab53,0x2748,0x774c,0xdf8e,0xeb99,0x34b0,0xbcb5,0xe19b,0x48a8,
0x391c,0x0cb3,0xc5c9,0x5a63,0x4ed8,0xaa4a,0xe341,0x8acb,0x5b9c,0xca4f,0x7763,0xe373,0x682e,0x6ff3,0xd6b2,0xb8a3,
0x748f,0x82ee,0x5def,0xb2fc,0x78a5,0x636f,0x4317,0x2f60,0x84c8,0x7814,0xa1f0,0xab72,0x8cc7,0x0208,0x1a64,0x39ec,
0x90be,0xfffa,0x2363,0x1e28,0xa450,0x6ceb,0xde82,0xbde9,0xbef9,0xa3f7,0xb2c6,0x7915,0xc671,0x78f2,0xe372,0x532b,
0xca27,0x3ece,0xea26,0x619c,0xd186,0xb8c7,0x21c0,0xc207,0xeada,0x7dd6,0xcde0,0xeb1e,0xf57d,0x4f7f,0xee6e,0xd178,
0x06f0,0x67aa,0x7217,0x6fba,0x0a63,0x7dc5,0xa2c8,0x98a6,0x113f,0x9804,0xbef9,0x0dae,0x1b71,0x0b35,0x131c,0x471b,
0x28db,0x77f5,0x2304,0x7d84,0x32ca,0xab7b,0x40c7,0x2493,0x3c9e,0xbe0a,0x15c9,0xbebc,0x431d,0x67c4,0x9c10,0x0d4c,
0x4cc5,0xd4be,0xcb3e,0x42b6,0x597f,0x299c,0xfc65,0x7e2a,0x5fcb,0x6fab,0x3ad6,0xfaec,0x6c44,0x198c,0x4a47,0x5817]);

// FIPS 180-4 6.4.2, rounds t0 .. t1-1 of the block at m[pos..pos+128) on state H (Int32Array(16),
// hi/lo pairs). The working variables a..h start from H when t0 = 0, from V otherwise, and are left
// in V when t1 < 80; at t1 = 80 they are added into H (step 4). W is the schedule ring: rounds may be
// split across calls (SHA-512 fed in steps: sha512Begin/sha512Step below).
function sha512rounds(H, V, W, m, pos, t0, t1) {
  var K = SK, S = t0 ? V : H;
  var ah = S[0], al = S[1], bh = S[2], bl = S[3], ch = S[4], cl = S[5], dh = S[6], dl = S[7],
      eh = S[8], el = S[9], fh = S[10], fl = S[11], gh = S[12], gl = S[13], hh = S[14], hl = S[15];
  var t, j, xh, xl, yh, yl, s0h, s0l, s1h, s1l, l, t1h, t1l, t2h, t2l;
  for (t = t0; t < t1; t++) {
    j = (t & 15) << 1;
    if (t < 16) {                                    // W_t = M_t (big endian)
      xl = pos + 8 * t;
      W[j] = (m[xl] << 24) | (m[xl + 1] << 16) | (m[xl + 2] << 8) | m[xl + 3];
      W[j + 1] = (m[xl + 4] << 24) | (m[xl + 5] << 16) | (m[xl + 6] << 8) | m[xl + 7];
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
  if (t1 < 80) {
    V[0] = ah; V[1] = al; V[2] = bh; V[3] = bl; V[4] = ch; V[5] = cl; V[6] = dh; V[7] = dl;
    V[8] = eh; V[9] = el; V[10] = fh; V[11] = fl; V[12] = gh; V[13] = gl; V[14] = hh; V[15] = hl;
    return;
  }
  // H_i = H_i + working variable (6.4.2 step 4)
  l = (H[1] >>> 0) + (al >>> 0); H[0] = (H[0] + ah + ((l / 4294967296) | 0)) | 0; H[1] = l | 0;
  l = (H[3] >>> 0) + (bl >>> 0); H[2] = (H[2] + bh + ((l / 4294967296) | 0)) | 0; H[3] = l | 0;
  l = (H[5] >>> 0) + (cl >>> 0); H[4] = (H[4] + ch + ((l / 4294967296) | 0)) | 0; H[5] = l | 0;
  l = (H[7] >>> 0) + (dl >>> 0); H[6] = (H[6] + dh + ((l / 4294967296) | 0)) | 0; H[7] = l | 0;
  l = (H[9] >>> 0) + (el >>> 0); H[8] = (H[8] + eh + ((l / 4294967296) | 0)) | 0; H[9] = l | 0;
  l = (H[11] >>> 0) + (fl >>> 0); H[10] = (H[10] + fh + ((l / 4294967296) | 0)) | 0; H[11] = l | 0;
  l = (H[13] >>> 0) + (gl >>> 0); H[12] = (H[12] + gh + ((l / 4294967296) | 0)) | 0; H[13] = l | 0;
  l = (H[15] >>> 0) + (hl >>> 0); H[14] = (H[14] + hh + ((l / 4294967296) | 0)) | 0; H[15] = l | 0;
}
// FIPS 180-4 5.3.5 initial hash value
var SIV = words([0x6a09,0xe667,0xf3bc,0xc908,0xbb67,0xae85,0x84ca,0xa73b,0x3c6e,0xf372,0xfe94,0xf82b,0xa54f,0xf53a,0x5f1d,0x36f1,
                 0x510e,0x527f,0xade6,0x82d1,0x9b05,0x688c,0x2b3e,0x6c1f,0x1f83,0xd9ab,0xfb41,0xbd6b,0x5be0,0xcd19,0x137e,0x2179]);
// The state of a SHA-512 of the concatenation of the byte arrays in `parts` (total < 2^32 bytes):
// H, V (working variables between calls), W (schedule ring), B (the block being hashed), the next
// part and offset to read, the total length n, the next round t, and z: 0 while data remains,
// 1 once 0x80 is in, 2 when B is the last block (the length written).
sha512BeginImpl = function (parts) {
  var H = new Int32Array(16), i, n = 0;
  for (i = 0; i < 16; i++) H[i] = SIV[i];
  for (i = 0; i < parts.length; i++) n += parts[i].length;
  return { H: H, V: new Int32Array(16), W: new Int32Array(32), B: new Uint8Array(128), p: parts, i: 0, o: 0, n: n, t: 0, z: 0 };
};
// Runs r rounds (r divides 80) of the hash, loading the next block first when one starts.
// Returns the 64-byte digest once the last block is done, null before.
sha512StepImpl = function (S, r) {
  var B = S.B, P = S.p, t = S.t, k, m, i, o, n;
  if (t === 0) {
    k = 0; i = S.i; o = S.o;
    while (k < 128 && i < P.length) {
      m = P[i];
      while (k < 128 && o < m.length) B[k++] = m[o++];
      if (o >= m.length) { i++; o = 0; }
    }
    S.i = i; S.o = o;
    if (k < 128) {                                   // 5.1.2 padding: 0x80, zeros, then the length in bits
      if (S.z === 0) { B[k++] = 128; S.z = 1; }
      o = k;
      while (k < 128) B[k++] = 0;
      if (o <= 112) {                                // room for the 128-bit length: the last block
        n = S.n;
        B[127] = (n << 3) & 255; B[126] = (n >>> 5) & 255; B[125] = (n >>> 13) & 255; B[124] = (n >>> 21) & 255; B[123] = (n >>> 29) & 255;
        S.z = 2;
      }
    }
  }
  sha512rounds(S.H, S.V, S.W, B, 0, t, t + r);
  t = t + r;
  S.t = t === 80 ? 0 : t;
  if (t < 80 || S.z !== 2) return null;
  var out = new Uint8Array(64), H = S.H;
  for (i = 0; i < 16; i++) { m = H[i]; out[4 * i] = m >>> 24; out[4 * i + 1] = (m >>> 16) & 255; out[4 * i + 2] = (m >>> 8) & 255; out[4 * i + 3] = m & 255; }
  return out;
};
sha512Impl = function (bytes) {
  var S = sha512BeginImpl([bytes]), d = null;
  while (d === null) d = sha512StepImpl(S, 80);
  return d;
};
})();
export var sha512 = sha512Impl;
export var sha512Begin = sha512BeginImpl;
export var sha512Step = sha512StepImpl;

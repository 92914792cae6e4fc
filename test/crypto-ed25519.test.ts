import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import type { CryptoProvider } from '../hal/crypto';
import nacl from 'tweetnacl';
import { ed25519Verify, ed25519VerifySteps } from '../modules/crypto/ed25519';
import { jsCrypto } from '../modules/crypto/provider-js';
import { sha512, sha512Begin, sha512Step } from '../modules/crypto/sha512.js';
import { readFileSync } from 'node:fs';
import { ed25519CoreSource, ED25519_CORE_FILE } from '../firmware/host/gen/ed25519-core';
import { bytes, ED25519_RFC8032, hex, wycheproof } from './vectors';

const verify = (pub: Uint8Array, m: Uint8Array, sig: Uint8Array): boolean => ed25519Verify(jsCrypto, pub, m, sig);

test('Ed25519: the committed core is the generator\'s output', (t) => {
  t.is(readFileSync(ED25519_CORE_FILE, 'utf8'), ed25519CoreSource(), 'run npx tsx firmware/host/gen/ed25519-core.ts');
});

test('SHA-512: FIPS 180-4 examples and node:crypto on random lengths', (t) => {
  t.is(hex(sha512(new TextEncoder().encode('abc'))), 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
  t.is(hex(sha512(new Uint8Array(0))), 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
  for (let n = 0; n <= 300; n++) {
    const m = randomBytes(n);
    t.is(hex(sha512(m)), createHash('sha512').update(m).digest('hex'));
  }
});

test('SHA-512 in steps: node:crypto on random lengths, split into parts, 16 to 80 rounds per step', (t) => {
  for (let n = 0; n <= 420; n += 3) {
    const m = randomBytes(n);
    const want = createHash('sha512').update(m).digest('hex');
    const a = n % 37;
    const b = Math.min(n, a + (n % 129));
    for (const rounds of [16, 40, 80]) {
      const s = sha512Begin([m.subarray(0, a), new Uint8Array(0), m.subarray(a, b), m.subarray(b)]);
      let d: Uint8Array | null = null;
      let calls = 0;
      while (d === null) {
        d = sha512Step(s, rounds);
        calls++;
      }
      t.is(hex(d), want);
      // One block per 80 rounds: the message, 0x80 and the 16-byte length.
      t.is(calls, (Math.ceil((n + 17) / 128) * 80) / rounds);
    }
  }
});

/** Runs a stepped verification to its end: its answer and the number of step() calls. */
function run(steps: { step(): number }): [number, number] {
  let r = 0;
  let n = 0;
  while (r === 0) {
    r = steps.step();
    n++;
    if (n > 5000) throw new Error('no end');
  }
  return [r, n];
}

// A provider with a one-shot SHA-512 of its own (as Espruino's native one): hashed in one step.
const native: CryptoProvider = { ...jsCrypto, name: 'native-sha512', sha512: (d: Uint8Array) => new Uint8Array(createHash('sha512').update(d).digest()) };

type Check = (pub: Uint8Array, m: Uint8Array, sig: Uint8Array, want: boolean, what: string) => void;

/**
 * `check` over the RFC 8032 vectors, every Wycheproof vector, and `n` tweetnacl signatures (message
 * i of `size(i)` bytes), each also with one bit flipped in the signature, the key and the message
 * (byte `(i * stride) % length` of it).
 */
function everyCase(check: Check, n: number, size: (i: number) => number, stride: number): void {
  for (const [pub, msg, sig] of ED25519_RFC8032) check(bytes(pub), bytes(msg), bytes(sig), true, 'RFC 8032');
  for (const v of wycheproof('ed25519_test.json')) check(bytes(v.group.publicKey.pk), bytes(v.msg), bytes(v.sig), v.result === 'valid', `tcId ${v.tcId}`);
  for (let i = 0; i < n; i++) {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(size(i));
    const sig = nacl.sign.detached(m, kp.secretKey);
    check(kp.publicKey, m, sig, true, 'tweetnacl');
    const bad = new Uint8Array(sig);
    bad[(i * 7) % 64] ^= 1 << (i % 8);
    check(kp.publicKey, m, bad, nacl.sign.detached.verify(m, bad, kp.publicKey), 'flipped signature bit ' + i);
    const pk = new Uint8Array(kp.publicKey);
    pk[(i * 5) % 32] ^= 1 << (i % 8);
    check(pk, m, sig, false, 'flipped key bit ' + i);
    const m2 = new Uint8Array(m.length ? m : [0]);
    m2[(i * stride) % m2.length] ^= 1 << (i % 8);
    check(kp.publicKey, m2, sig, false, 'flipped message bit ' + i);
  }
}

test('Ed25519 in steps: the answers of ed25519Verify and tweetnacl, in a bounded number of steps that repeat their result', (t) => {
  const check = (pub: Uint8Array, m: Uint8Array, sig: Uint8Array, want: boolean, what: string): void => {
    for (const p of [jsCrypto, native]) {
      const steps = ed25519VerifySteps(p, pub, m, sig);
      const [r, n] = run(steps);
      t.is(r, want ? 1 : -1, what + ' (' + p.name + ')');
      t.is(steps.step(), r);
      t.is(steps.step(), r);
      // 77–86 steps besides the pure-JavaScript SHA-512, which takes two per 128-byte block of R ‖ A ‖ M
      // (3,000 random signatures: 77–86; the RFC 8032 and Wycheproof vectors up to 86).
      t.true(n <= 90 + (p === jsCrypto ? 2 * Math.ceil((m.length + 81) / 128) : 0), what + ': ' + n + ' steps');
    }
    t.is(verify(pub, m, sig), want, what + ' (ed25519Verify)');
  };
  everyCase(check, 60, (i) => 230 + i, 11);
  t.is(run(ed25519VerifySteps(jsCrypto, new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)))[0], -1);
  t.is(run(ed25519VerifySteps(jsCrypto, new Uint8Array(32), new Uint8Array(0), new Uint8Array(65)))[0], -1);
});

// Shares below 1 (ed25519VerifySteps' fifth argument): Espruino's 0.2, and one so small that every
// step does a single piece of work.
const SHARES = [0.5, 0.2, 0.05, 1e-6];

test('Ed25519 in steps with a share below 1: the answers of the share 1, ed25519Verify and tweetnacl', (t) => {
  const check = (pub: Uint8Array, m: Uint8Array, sig: Uint8Array, want: boolean, what: string): void => {
    for (const p of [jsCrypto, native]) {
      t.is(run(ed25519VerifySteps(p, pub, m, sig, 1))[0], want ? 1 : -1, what + ' (' + p.name + ', share 1)');
      for (const share of SHARES) {
        const steps = ed25519VerifySteps(p, pub, m, sig, share);
        const [r] = run(steps);
        t.is(r, want ? 1 : -1, what + ' (' + p.name + ', share ' + share + ')');
        t.is(steps.step(), r);
      }
    }
  };
  everyCase(check, 24, (i) => 11 * i, 3);
});

test('Ed25519 in steps: a share outside (0, 1] is refused; without one, the share 1', (t) => {
  const kp = nacl.sign.keyPair();
  const m = randomBytes(40);
  const sig = nacl.sign.detached(m, kp.secretKey);
  for (const share of [0, -0.5, 1.5, NaN, Infinity, null]) {
    t.throws(() => ed25519VerifySteps(native, kp.publicKey, m, sig, share as number), { instanceOf: RangeError }, String(share));
  }
  t.is(run(ed25519VerifySteps(native, kp.publicKey, m, sig, undefined))[1], run(ed25519VerifySteps(native, kp.publicKey, m, sig, 1))[1]);
});

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b = mod(b, P); e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}
const le = (b: Uint8Array): bigint => b.reduceRight((a, x) => (a << 8n) | BigInt(x), 0n);
/** The width-w NAF digits of a 256-bit scalar, 257 of them, as the core computes them. */
function wnafDigits(s: bigint, w: number): number[] {
  const naf = new Array<number>(257).fill(0);
  let pos = 0;
  let carry = 0;
  while (pos < 256) {
    const win = Number((s >> BigInt(pos)) & BigInt((1 << w) - 1)) + carry;
    if ((win & 1) === 0) {
      pos++;
      continue;
    }
    carry = win < 1 << (w - 1) ? 0 : 1;
    naf[pos] = win - carry * (1 << w);
    pos += w;
  }
  naf[256] = carry;
  return naf;
}
/**
 * The steps of a verification that reaches its final comparison when each step does one piece of
 * work: the start of A's decoding; the square root's 262 field operations; the decoding's end (3, 4
 * when x needs sqrt(-1)); the hash's rounds one by one when streamed (80 per 128-byte block); the
 * hash into k (1), k mod L's 32 rows and its end (33), the digits of S and k (2); the table of A's
 * multiples (17); a doubling per digit position below the top nonzero digit, an addition per nonzero
 * digit; the inversion's 265 field operations; the encoding of R' (2).
 */
function onePieceEach(pk: Uint8Array, m: Uint8Array, sig: Uint8Array, streamed: boolean): number {
  const d = mod(-121665n * pow(121666n, P - 2n), P);
  const y = le(pk) & (2n ** 255n - 1n);
  const u = mod(y * y - 1n, P);
  const v = mod(d * y * y + 1n, P);
  const x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n), P);
  const end = mod(v * x * x, P) === u ? 3 : 4;
  const k = mod(le(createHash('sha512').update(sig.subarray(0, 32)).update(pk).update(m).digest()), L);
  const ns = wnafDigits(le(sig.subarray(32)), 7);
  const nk = wnafDigits(k, 5);
  let top = 0;
  let additions = 0;
  for (let i = 0; i <= 256; i++) {
    if (ns[i] || nk[i]) top = i;
    additions += (ns[i] ? 1 : 0) + (nk[i] ? 1 : 0);
  }
  return 1 + 262 + end + (streamed ? 80 * Math.ceil((64 + m.length + 17) / 128) : 0) + 36 + 17 + top + additions + 265 + 2;
}

test('Ed25519 in steps: the smaller the share, the more steps, down to one piece of work per step', (t) => {
  const shares = [1, 0.75, 0.5, 0.3, 0.2, 0.1, 0.05, 0.01, 1e-6];
  // SHA-512 rounds per step: 40 × share rounded down to a divisor of 80, at least 1
  const rounds = (share: number): number => [40, 20, 16, 10, 8, 5, 4, 2, 1].find((r) => r <= 40 * share) ?? 1;
  for (let i = 0; i < 30; i++) {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(9 * i);
    const sig = nacl.sign.detached(m, kp.secretKey);
    // A changed message is refused only by the final comparison: every phase still runs.
    if (i % 3 === 2) m[0] ^= 1;
    const want = i % 3 === 2 ? -1 : 1;
    const counts = [native, jsCrypto].map((p) => shares.map((share) => {
      const [r, n] = run(ed25519VerifySteps(p, kp.publicKey, m, sig, share));
      t.is(r, want);
      return n;
    }));
    const [withNative, streamed] = counts as [number[], number[]];
    for (let k = 1; k < shares.length; k++) {
      t.true(withNative[k]! >= withNative[k - 1]!, 'share ' + shares[k] + ': ' + withNative[k] + ' steps, share ' + shares[k - 1] + ': ' + withNative[k - 1]);
      t.true(streamed[k]! >= streamed[k - 1]!);
    }
    // The hash in steps adds its rounds, as many per step as the share allows.
    shares.forEach((share, k) => t.is(streamed[k]! - withNative[k]!, (80 / rounds(share)) * Math.ceil((64 + m.length + 17) / 128), 'share ' + share));
    // Espruino's 0.2: about five times the steps of the share 1 (one doubling or addition each).
    t.true(withNative[4]! >= 4.5 * withNative[0]! && withNative[4]! <= 5.5 * withNative[0]!, withNative[0] + ' → ' + withNative[4]);
    t.is(withNative[8], onePieceEach(kp.publicKey, m, sig, false));
    t.is(streamed[8], onePieceEach(kp.publicKey, m, sig, true));
  }
});

test('Ed25519 in steps: verifications may be interleaved step by step', (t) => {
  const cases = Array.from({ length: 6 }, (_, i) => {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(40 * i);
    const sig = nacl.sign.detached(m, kp.secretKey);
    if (i % 2) sig[33] ^= 4;
    return { steps: ed25519VerifySteps(i % 3 ? jsCrypto : native, kp.publicKey, m, sig), want: i % 2 ? -1 : 1, r: 0 };
  });
  for (let round = 0; cases.some((c) => c.r === 0); round++) {
    // Each round steps the cases in another order.
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j * (round % 5 + 1)) % cases.length]!;
      if (c.r === 0) c.r = c.steps.step();
    }
  }
  t.deepEqual(cases.map((c) => c.r), cases.map((c) => c.want));
});

test('Ed25519 in steps: verifications of different shares may be interleaved step by step', (t) => {
  const shares = [1, 0.2, 1e-6];
  const cases = Array.from({ length: 9 }, (_, i) => {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(30 * i);
    const sig = nacl.sign.detached(m, kp.secretKey);
    if (i % 2) sig[(i * 5) % 32] ^= 2;
    return { steps: ed25519VerifySteps(i % 4 ? jsCrypto : native, kp.publicKey, m, sig, shares[i % 3]), want: i % 2 ? -1 : 1, r: 0 };
  });
  for (let round = 0; cases.some((c) => c.r === 0); round++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j * (round % 7 + 1)) % cases.length]!;
      if (c.r === 0) c.r = c.steps.step();
    }
  }
  t.deepEqual(cases.map((c) => c.r), cases.map((c) => c.want));
});

test('Ed25519: RFC 8032 §7.1 vectors verify; any altered byte does not', (t) => {
  for (const [pub, msg, sig] of ED25519_RFC8032) {
    t.true(verify(bytes(pub), bytes(msg), bytes(sig)));
    const s = bytes(sig);
    s[5] ^= 1;
    t.false(verify(bytes(pub), bytes(msg), s));
    const p = bytes(pub);
    p[3] ^= 0x10;
    t.false(verify(p, bytes(msg), bytes(sig)));
  }
});

test('Ed25519: every Wycheproof vector (non-canonical and malleable signatures refused)', (t) => {
  const vectors = wycheproof('ed25519_test.json');
  t.true(vectors.length >= 150);
  for (const v of vectors) {
    t.is(verify(bytes(v.group.publicKey.pk), bytes(v.msg), bytes(v.sig)), v.result === 'valid', `tcId ${v.tcId} (${v.comment})`);
  }
});

test('Ed25519: agrees with tweetnacl on random keys and messages, and on corrupted signatures; S ≥ L refused', (t) => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  for (let i = 0; i < 150; i++) {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(i % 200);
    const sig = nacl.sign.detached(m, kp.secretKey);
    t.true(verify(kp.publicKey, m, sig));
    const bad = new Uint8Array(sig);
    bad[i % 64] ^= 1 << (i % 8);
    t.is(verify(kp.publicKey, m, bad), nacl.sign.detached.verify(m, bad, kp.publicKey));
    if (m.length) {
      const m2 = new Uint8Array(m);
      m2[0] ^= 1;
      t.false(verify(kp.publicKey, m2, sig));
    }
    if (i < 20) {
      // S + L encodes the same scalar: tweetnacl accepts it, RFC 8032 §5.1.7 says reject.
      let s = 0n;
      for (let j = 63; j >= 32; j--) s = (s << 8n) | BigInt(sig[j]!);
      s += L;
      const mall = new Uint8Array(sig);
      for (let j = 32; j < 64; j++, s >>= 8n) mall[j] = Number(s & 255n);
      if (s === 0n) t.false(verify(kp.publicKey, m, mall));
    }
  }
  t.false(verify(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)));
  t.false(verify(new Uint8Array(32), new Uint8Array(0), new Uint8Array(63)));
});

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
    if (n > 1000) throw new Error('no end');
  }
  return [r, n];
}

// A provider with a one-shot SHA-512 of its own (as Espruino's native one): hashed in one step.
const native: CryptoProvider = { ...jsCrypto, name: 'native-sha512', sha512: (d: Uint8Array) => new Uint8Array(createHash('sha512').update(d).digest()) };

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
  for (const [pub, msg, sig] of ED25519_RFC8032) check(bytes(pub), bytes(msg), bytes(sig), true, 'RFC 8032');
  for (const v of wycheproof('ed25519_test.json')) check(bytes(v.group.publicKey.pk), bytes(v.msg), bytes(v.sig), v.result === 'valid', `tcId ${v.tcId}`);
  for (let i = 0; i < 60; i++) {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(230 + i);
    const sig = nacl.sign.detached(m, kp.secretKey);
    check(kp.publicKey, m, sig, true, 'tweetnacl');
    const bad = new Uint8Array(sig);
    bad[(i * 7) % 64] ^= 1 << (i % 8);
    check(kp.publicKey, m, bad, nacl.sign.detached.verify(m, bad, kp.publicKey), 'flipped signature bit ' + i);
    const pk = new Uint8Array(kp.publicKey);
    pk[(i * 5) % 32] ^= 1 << (i % 8);
    check(pk, m, sig, false, 'flipped key bit ' + i);
    const m2 = new Uint8Array(m);
    m2[(i * 11) % m2.length] ^= 1 << (i % 8);
    check(kp.publicKey, m2, sig, false, 'flipped message bit ' + i);
  }
  t.is(run(ed25519VerifySteps(jsCrypto, new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)))[0], -1);
  t.is(run(ed25519VerifySteps(jsCrypto, new Uint8Array(32), new Uint8Array(0), new Uint8Array(65)))[0], -1);
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

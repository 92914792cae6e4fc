import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { ed25519Verify } from '../modules/crypto/ed25519';
import { jsCrypto } from '../modules/crypto/provider-js';
import { sha512 } from '../modules/crypto/sha512.js';
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

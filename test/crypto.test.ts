import test from 'ava';
import { createHash, createHmac, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { hkdf as hkdfWith, hkdfExpand as hkdfExpandWith } from '../modules/crypto/hkdf';
import { jsCrypto } from '../modules/crypto/provider-js';
import { hmacSha256 } from '../modules/crypto/hmac';
import { pbkdf2Sha256 } from '../modules/crypto/pbkdf2';
import { sha256, sha256Digest, sha256Init, sha256Update } from '../modules/crypto/sha256';
import { readFileSync } from 'node:fs';
import { sha256RoundsSource, SHA256_ROUNDS_FILE } from '../firmware/host/gen/sha256-rounds';
import { ascii, bytes, hex, RFC4231, RFC5869, RFC7914, SHA256_KAT, wycheproof } from './vectors';

const hkdf = (salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, n: number): Uint8Array => hkdfWith(jsCrypto, salt, ikm, info, n);
const hkdfExpand = (prk: Uint8Array, info: Uint8Array, n: number): Uint8Array => hkdfExpandWith(jsCrypto, prk, info, n);

test('SHA-256: the committed compression function is the generator\'s output', (t) => {
  t.is(readFileSync(SHA256_ROUNDS_FILE, 'utf8'), sha256RoundsSource(), 'run npx tsx firmware/host/gen/sha256-rounds.ts');
});

test('SHA-256: FIPS 180-4 examples', (t) => {
  for (const [m, d] of SHA256_KAT) t.is(hex(sha256(m)), d);
});

test('SHA-256: equals node:crypto on random messages fed in random pieces', (t) => {
  for (let i = 0; i < 1500; i++) {
    const m = randomBytes(i % 200 === 0 ? 5000 : i % 257);
    const s = sha256Init();
    let at = 0;
    while (at < m.length) {
      const n = Math.min(m.length - at, 1 + Math.floor(Math.random() * 90));
      sha256Update(s, m.subarray(at, at + n));
      at += n;
    }
    t.is(hex(sha256Digest(s)), createHash('sha256').update(m).digest('hex'));
  }
});

test('HMAC-SHA-256: RFC 4231 test cases', (t) => {
  for (const [k, m, tag, n] of RFC4231) t.is(hex(hmacSha256(bytes(k), bytes(m))).slice(0, (n ?? 32) * 2), tag);
});

test('HMAC-SHA-256: Wycheproof (valid tags match, invalid ones do not)', (t) => {
  const tests = wycheproof('hmac_sha256_test.json');
  t.true(tests.length > 100);
  for (const v of tests) {
    const tag = hex(hmacSha256(bytes(v.key), bytes(v.msg))).slice(0, v.group.tagSize / 4);
    t.is(tag === v.tag, v.result === 'valid', 'tcId ' + v.tcId);
  }
});

test('HMAC-SHA-256: equals node:crypto on random keys and messages', (t) => {
  for (let i = 0; i < 500; i++) {
    const k = randomBytes(i % 150);
    const m = randomBytes((i * 7) % 300);
    t.is(hex(hmacSha256(k, m)), createHmac('sha256', k).update(m).digest('hex'));
  }
});

test('HKDF-SHA-256: RFC 5869 and Wycheproof', (t) => {
  for (const [ikm, salt, info, n, okm] of RFC5869) t.is(hex(hkdf(bytes(salt), bytes(ikm), bytes(info), n)), okm);
  for (const v of wycheproof('hkdf_sha256_test.json')) {
    if (v.result === 'valid') t.is(hex(hkdf(bytes(v.salt), bytes(v.ikm), bytes(v.info), v.size)), v.okm, 'tcId ' + v.tcId);
    else t.throws(() => hkdf(bytes(v.salt), bytes(v.ikm), bytes(v.info), v.size), { instanceOf: RangeError }, 'tcId ' + v.tcId);
  }
});

test('HKDF-SHA-256: equals node:crypto on random inputs; refuses bad lengths and short PRKs', (t) => {
  for (let i = 0; i < 200; i++) {
    const ikm = randomBytes(1 + (i % 80));
    const salt = randomBytes(i % 70);
    const info = randomBytes(i % 50);
    const n = 1 + ((i * 37) % 400);
    t.is(hex(hkdf(salt, ikm, info, n)), Buffer.from(hkdfSync('sha256', ikm, salt, info, n)).toString('hex'));
  }
  t.throws(() => hkdfExpand(new Uint8Array(32), new Uint8Array(0), 8161), { instanceOf: RangeError });
  t.throws(() => hkdfExpand(new Uint8Array(16), new Uint8Array(0), 32), { instanceOf: RangeError });
});

test('PBKDF2-HMAC-SHA-256: RFC 7914 and Wycheproof', (t) => {
  for (const [p, s, c, n, dk] of RFC7914) t.is(hex(pbkdf2Sha256(ascii(p), ascii(s), c, n)), dk);
  for (const v of wycheproof('pbkdf2_hmacsha256_test.json')) {
    t.is(hex(pbkdf2Sha256(bytes(v.password), bytes(v.salt), v.iterationCount, v.dkLen)), v.dk, 'tcId ' + v.tcId);
  }
});

test('PBKDF2-HMAC-SHA-256: equals node:crypto on random inputs; refuses bad parameters', (t) => {
  for (let i = 0; i < 100; i++) {
    const p = randomBytes(i % 90);
    const s = randomBytes(i % 40);
    const c = 1 + (i % 17);
    const n = 1 + ((i * 13) % 100);
    t.is(hex(pbkdf2Sha256(p, s, c, n)), pbkdf2Sync(p, s, c, n, 'sha256').toString('hex'));
  }
  t.throws(() => pbkdf2Sha256(new Uint8Array(1), new Uint8Array(1), 0, 32), { instanceOf: RangeError });
  t.throws(() => pbkdf2Sha256(new Uint8Array(1), new Uint8Array(1), 1.5, 32), { instanceOf: RangeError });
  t.throws(() => pbkdf2Sha256(new Uint8Array(1), new Uint8Array(1), 1, 0), { instanceOf: RangeError });
});

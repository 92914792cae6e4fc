import test from 'ava';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ccmOpen, ccmSeal } from '../modules/crypto/ccm';
import { constantTimeEqual } from '../modules/crypto/compare';
import { ctr } from '../modules/crypto/ctr';
import { createDrbg, drbgGenerate, drbgInstantiate, drbgInstantiateForUnit, drbgReseed, RESEED_INTERVAL } from '../modules/crypto/drbg';
import { jsAes } from '../modules/crypto/provider-core';
import { jsCrypto } from '../modules/crypto/provider-js';
import { bytes, drbgVectors, FIPS197, hex, SP800_38A_CTR, SP800_38C, wycheproof } from './vectors';

test('AES: FIPS 197 examples; ECB and CBC-MAC equal node:crypto on random keys and blocks', (t) => {
  for (const [k, p, c] of FIPS197) t.is(hex(jsAes(bytes(k)).encryptBlocks(bytes(p))), c);
  for (let i = 0; i < 300; i++) {
    const bits = i % 2 ? 256 : 128;
    const k = randomBytes(bits / 8);
    const m = randomBytes(16 * (1 + (i % 9)));
    const ecb = createCipheriv(`aes-${bits}-ecb`, k, null).setAutoPadding(false).update(m);
    t.is(hex(jsAes(k).encryptBlocks(m)), ecb.toString('hex'));
    const cbc = createCipheriv(`aes-${bits}-cbc`, k, Buffer.alloc(16)).setAutoPadding(false).update(m);
    t.is(hex(jsAes(k).cbcMac(m)), cbc.subarray(cbc.length - 16).toString('hex'));
  }
  t.throws(() => jsAes(new Uint8Array(24)), { instanceOf: RangeError });
  t.throws(() => jsAes(new Uint8Array(16)).encryptBlocks(new Uint8Array(15)), { instanceOf: RangeError });
  t.throws(() => jsAes(new Uint8Array(16)).cbcMac(new Uint8Array(0)), { instanceOf: RangeError });
});

test('AES-CTR: SP 800-38A F.5.1 and F.5.5; equals node:crypto, including the 128-bit counter wrap', (t) => {
  for (const [k, c, p, out] of SP800_38A_CTR) {
    t.is(hex(ctr(jsAes(bytes(k)), bytes(c), bytes(p))), out);
    t.is(hex(ctr(jsAes(bytes(k)), bytes(c), bytes(out))), p);
  }
  for (let i = 0; i < 200; i++) {
    const bits = i % 2 ? 256 : 128;
    const k = randomBytes(bits / 8);
    const c = randomBytes(16);
    if (i % 10 === 0) c.fill(0xff, 8); // carries across the low 64 bits
    if (i % 25 === 0) c.fill(0xff); // wraps to zero
    const m = randomBytes((i * 37) % 700);
    t.is(hex(ctr(jsAes(k), c, m)), createCipheriv(`aes-${bits}-ctr`, k, c).update(m).toString('hex'));
  }
  t.throws(() => ctr(jsAes(new Uint8Array(16)), new Uint8Array(12), new Uint8Array(1)), { instanceOf: RangeError });
});

test('AES-CCM: SP 800-38C examples', (t) => {
  for (const [k, n, a, p, tl, c] of SP800_38C) {
    t.is(hex(ccmSeal(jsAes(bytes(k)), bytes(n), bytes(a), bytes(p), tl)), c);
    t.is(hex(ccmOpen(jsAes(bytes(k)), bytes(n), bytes(a), bytes(c), tl)!), p);
  }
});

test('AES-CCM: Wycheproof (AES-128 and AES-256; valid seal and open, invalid refused)', (t) => {
  let checked = 0;
  for (const v of wycheproof('aes_ccm_test.json')) {
    if (v.group.keySize === 192) continue; // Hoshi carries AES-128 and AES-256 only
    const key = jsAes(bytes(v.key));
    const tl = v.group.tagSize / 8;
    const params = v.group.ivSize >= 56 && v.group.ivSize <= 104 && tl >= 4 && tl <= 16 && tl % 2 === 0;
    const sealed = bytes(v.ct + v.tag);
    if (!params) {
      t.is(v.result, 'invalid', 'tcId ' + v.tcId);
      t.throws(() => ccmOpen(key, bytes(v.iv), bytes(v.aad), sealed, tl), { instanceOf: RangeError }, 'tcId ' + v.tcId);
    } else if (v.result === 'valid') {
      t.is(hex(ccmSeal(key, bytes(v.iv), bytes(v.aad), bytes(v.msg), tl)), v.ct + v.tag, 'tcId ' + v.tcId);
      t.is(hex(ccmOpen(key, bytes(v.iv), bytes(v.aad), sealed, tl)!), v.msg, 'tcId ' + v.tcId);
    } else {
      t.is(ccmOpen(key, bytes(v.iv), bytes(v.aad), sealed, tl), undefined, 'tcId ' + v.tcId);
    }
    checked++;
  }
  t.true(checked > 350);
});

test('AES-CCM: equals node:crypto on random inputs; any altered byte is refused', (t) => {
  for (let i = 0; i < 200; i++) {
    const bits = i % 2 ? 256 : 128;
    const k = randomBytes(bits / 8);
    const n = randomBytes(7 + (i % 7));
    const tl = 4 + 2 * (i % 7);
    const a = randomBytes((i * 11) % 90);
    const p = randomBytes(1 + ((i * 29) % 300)); // node:crypto (OpenSSL) refuses CCM with an empty payload; Wycheproof covers it
    const c = createCipheriv(`aes-${bits}-ccm` as 'aes-128-ccm', k, n, { authTagLength: tl });
    if (a.length) c.setAAD(a, { plaintextLength: p.length });
    else c.setAAD(Buffer.alloc(0), { plaintextLength: p.length });
    const want = Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
    const sealed = ccmSeal(jsAes(k), n, a, p, tl);
    t.is(hex(sealed), want.toString('hex'));
    const d = createDecipheriv(`aes-${bits}-ccm` as 'aes-128-ccm', k, n, { authTagLength: tl });
    d.setAuthTag(want.subarray(p.length));
    d.setAAD(a, { plaintextLength: p.length });
    t.is(d.update(want.subarray(0, p.length)).toString('hex'), hex(p));
    const bad = new Uint8Array(sealed);
    bad[(i * 7) % bad.length] ^= 1 << (i % 8);
    t.is(ccmOpen(jsAes(k), n, a, bad, tl), undefined);
    if (a.length) {
      const badA = new Uint8Array(a);
      badA[0] ^= 0x80;
      t.is(ccmOpen(jsAes(k), n, badA, sealed, tl), undefined);
    }
  }
  t.is(ccmOpen(jsAes(new Uint8Array(16)), new Uint8Array(13), new Uint8Array(0), new Uint8Array(3), 4), undefined);
});

test('constant-time comparison', (t) => {
  t.true(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  t.false(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  t.false(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])));
  t.true(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)));
});

test('HMAC_DRBG: NIST CAVP vectors (SP 800-90A, SHA-256)', (t) => {
  const vectors = drbgVectors();
  t.true(vectors.length >= 30);
  for (const v of vectors) {
    const d = createDrbg(jsCrypto);
    drbgInstantiate(d, bytes(v.entropy), bytes(v.nonce), bytes(v.pers ?? ''));
    const n = v.expected.length / 2;
    drbgGenerate(d, n, bytes(v.add[0] ?? ''));
    t.is(hex(drbgGenerate(d, n, bytes(v.add[1] ?? ''))), v.expected, 'vector ' + v.name);
  }
});

test('HMAC_DRBG: fails closed until instantiated, on short entropy, and when a reseed is due', (t) => {
  const d = createDrbg(jsCrypto);
  t.throws(() => drbgGenerate(d, 16), { message: /not instantiated/ });
  t.throws(() => drbgReseed(d, new Uint8Array(32)), { message: /not instantiated/ });
  t.throws(() => drbgInstantiate(d, new Uint8Array(31), new Uint8Array(16)), { instanceOf: RangeError });
  t.throws(() => drbgGenerate(d, 16), { message: /not instantiated/ });
  drbgInstantiate(d, randomBytes(32), randomBytes(16));
  const a = drbgGenerate(d, 32);
  const b = drbgGenerate(d, 32);
  t.not(hex(a), hex(b));
  t.throws(() => drbgGenerate(d, 0), { instanceOf: RangeError });
  t.throws(() => drbgGenerate(d, 1025), { instanceOf: RangeError });
  d.counter = RESEED_INTERVAL + 1;
  t.throws(() => drbgGenerate(d, 16), { message: /reseed required/ });
  drbgReseed(d, randomBytes(32));
  t.is(drbgGenerate(d, 16).length, 16);
});

test('HMAC_DRBG for a unit: provisioned seed ‖ board bytes, nonce and quality bound in; short seeds refused', (t) => {
  const seed = randomBytes(48);
  const fixed = { quality: 'none' as const, bytes: (n: number): Uint8Array => new Uint8Array(n).fill(7) };
  const a = createDrbg(jsCrypto);
  t.is(drbgInstantiateForUnit(a, seed, fixed, new Uint8Array([0, 0, 0, 1])), 'none');
  const b = createDrbg(jsCrypto);
  drbgInstantiateForUnit(b, seed, fixed, new Uint8Array([0, 0, 0, 2]));
  const c = createDrbg(jsCrypto);
  drbgInstantiateForUnit(c, randomBytes(48), fixed, new Uint8Array([0, 0, 0, 1]));
  const outputs = [a, b, c].map((d) => hex(drbgGenerate(d, 32)));
  t.is(new Set(outputs).size, 3, 'another boot nonce or another unit gives other bytes');
  // Same inputs, same output: the construction is SP 800-90A's, nothing hidden.
  const again = createDrbg(jsCrypto);
  drbgInstantiateForUnit(again, seed, fixed, new Uint8Array([0, 0, 0, 1]));
  t.is(hex(drbgGenerate(again, 32)), outputs[0]);
  const label = new TextEncoder().encode('hoshi drbg v1 none');
  const reference = createDrbg(jsCrypto);
  drbgInstantiate(reference, Buffer.concat([seed, Buffer.alloc(32, 7)]), new Uint8Array([0, 0, 0, 1]), label);
  t.is(hex(drbgGenerate(reference, 32)), outputs[0]);
  t.throws(() => drbgInstantiateForUnit(createDrbg(jsCrypto), new Uint8Array(16), fixed, new Uint8Array(4)), { instanceOf: RangeError });
});

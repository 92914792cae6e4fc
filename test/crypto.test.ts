import test from 'ava';
import { createHash, createHmac, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import type { DeviceTarget } from '../firmware/host/profiles';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import { hkdf, hkdfExpand } from '../modules/crypto/hkdf';
import { hmacSha256 } from '../modules/crypto/hmac';
import { pbkdf2Sha256 } from '../modules/crypto/pbkdf2';
import { sha256, sha256Digest, sha256Init, sha256Update } from '../modules/crypto/sha256';
import { sha256RoundsSource, SHA256_ROUNDS_FILE } from '../firmware/host/gen/sha256-rounds';
import { bundleFixture } from './helpers';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Wycheproof vectors from ../shared/vectors (CI has ../shared beside the clone). */
function wycheproof(file: string): any[] {
  const data = JSON.parse(readFileSync(join(ROOT, '..', 'shared', 'vectors', 'wycheproof', file), 'utf8'));
  return data.testGroups.flatMap((g: any) => g.tests.map((t: any) => ({ ...t, group: g })));
}

// FIPS 180-4 examples (NIST "Example Algorithms", SHA256.pdf) and the classic million-a message.
const SHA256_KAT: [Uint8Array, string][] = [
  [ascii(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  [ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'), 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  [new Uint8Array(1000000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

// RFC 4231 §4.2-4.8 (test case 5 is truncated to 128 bits).
const RFC4231: [string, string, string, number?][] = [
  ['0b'.repeat(20), hex(ascii('Hi There')), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  [hex(ascii('Jefe')), hex(ascii('what do ya want for nothing?')), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ['aa'.repeat(20), 'dd'.repeat(50), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
  ['0102030405060708090a0b0c0d0e0f10111213141516171819', 'cd'.repeat(50), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
  ['0c'.repeat(20), hex(ascii('Test With Truncation')), 'a3b6167473100ee06e0c796c2955552b', 16],
  ['aa'.repeat(131), hex(ascii('Test Using Larger Than Block-Size Key - Hash Key First')), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ['aa'.repeat(131), hex(ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
];

// RFC 5869 Appendix A.1-A.3 (SHA-256 cases).
const RFC5869: [string, string, string, number, string][] = [
  ['0b'.repeat(22), '000102030405060708090a0b0c', 'f0f1f2f3f4f5f6f7f8f9', 42, '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'],
  [
    Array.from({ length: 80 }, (_, i) => i.toString(16).padStart(2, '0')).join(''),
    Array.from({ length: 80 }, (_, i) => (0x60 + i).toString(16).padStart(2, '0')).join(''),
    Array.from({ length: 80 }, (_, i) => (0xb0 + i).toString(16).padStart(2, '0')).join(''),
    82,
    'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  ],
  ['0b'.repeat(22), '', '', 42, '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8'],
];

// RFC 7914 §11 (PBKDF2-HMAC-SHA256).
const RFC7914: [string, string, number, number, string][] = [
  ['passwd', 'salt', 1, 64, '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783'],
  ['Password', 'NaCl', 80000, 64, '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d'],
];

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

const q = (s: string): string => JSON.stringify(s);

for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
  test(`the built ${target} bundle passes the profile check and the same vectors in the engine`, async (t) => {
    const { code, map } = await bundleFixture('crypto-entry.ts', target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const probes: string[] = [];
    const expected: string[] = [];
    for (const [m, d] of SHA256_KAT.slice(0, 4)) {
      probes.push(`hoshiCrypto.sha256(${q(hex(m))})`);
      expected.push(d);
    }
    for (let i = 0; i < 40; i++) {
      const m = randomBytes(i * 5);
      probes.push(`hoshiCrypto.sha256(${q(hex(m))})`);
      expected.push(createHash('sha256').update(m).digest('hex'));
    }
    for (const [k, m, tag, n] of RFC4231) {
      probes.push(`hoshiCrypto.hmac(${q(k)}, ${q(m)}).slice(0, ${(n ?? 32) * 2})`);
      expected.push(tag);
    }
    for (const v of wycheproof('hmac_sha256_test.json').filter((v) => v.result === 'valid')) {
      probes.push(`hoshiCrypto.hmac(${q(v.key)}, ${q(v.msg)}).slice(0, ${v.group.tagSize / 4})`);
      expected.push(v.tag);
    }
    for (const v of wycheproof('hkdf_sha256_test.json').filter((v) => v.result === 'valid')) {
      probes.push(`hoshiCrypto.hkdf(${q(v.salt)}, ${q(v.ikm)}, ${q(v.info)}, ${v.size})`);
      expected.push(v.okm);
    }
    // The engine interprets (≈ 1,000× slower than the host): a few 4,096-iteration vectors here,
    // all of them on the host above.
    const pbkdf2 = wycheproof('pbkdf2_hmacsha256_test.json');
    for (const v of pbkdf2.filter((v) => v.iterationCount === 1).concat(pbkdf2.filter((v) => v.iterationCount === 4096).slice(0, 3))) {
      probes.push(`hoshiCrypto.pbkdf2(${q(v.password)}, ${q(v.salt)}, ${v.iterationCount}, ${v.dkLen})`);
      expected.push(v.dk);
    }
    const report = await runInEngine(code, target, { library: true, probes, timeoutMs: 120000 });
    t.true(report.booted, report.error);
    t.is(report.values.length, expected.length);
    let mismatches = 0;
    for (let i = 0; i < expected.length; i++) if (report.values[i] !== expected[i]) mismatches++;
    t.is(mismatches, 0, `${mismatches} of ${expected.length} vectors differ in the ${target} bundle`);
  });
}

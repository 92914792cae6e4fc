import test from 'ava';
import { createCipheriv, createHash, createHmac, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { bundleFixture } from './helpers';
import { drbgVectors, ED25519_RFC8032, FIPS197, hex, RFC4231, RFC5869, SHA256_KAT, SP800_38A_CTR, SP800_38C, wycheproof } from './vectors';

/**
 * The same vectors on the built device bundles, in the engine check: the pure-JavaScript provider
 * on both profiles, and Espruino's native provider through the fake of its crypto module. The
 * engine interprets, so the few slow cases (PBKDF2 with thousands of iterations, thousands of
 * random inputs) run a sample here and all of them on the host (test/crypto*.test.ts).
 */
const q = (s: string): string => JSON.stringify(s);

function probes(api: string, ed25519: boolean): [string, string][] {
  const out: [string, string][] = [];
  const p = (expr: string, want: string): void => {
    out.push([`hoshiCrypto.${api}.${expr}`, want]);
  };
  for (const [m, d] of SHA256_KAT.slice(0, 4)) p(`sha256(${q(hex(m))})`, d);
  for (let i = 0; i < 30; i++) {
    const m = randomBytes(i * 7);
    p(`sha256(${q(hex(m))})`, createHash('sha256').update(m).digest('hex'));
  }
  for (let i = 0; i < 8; i++) {
    const m = randomBytes(i * 41);
    p(`sha512(${q(hex(m))})`, createHash('sha512').update(m).digest('hex'));
  }
  for (const [k, m, tag, n] of RFC4231) p(`hmac(${q(k)}, ${q(m)}).slice(0, ${(n ?? 32) * 2})`, tag);
  for (let i = 0; i < 10; i++) {
    const k = randomBytes(i * 9);
    const m = randomBytes(i * 13);
    p(`hmac(${q(hex(k))}, ${q(hex(m))})`, createHmac('sha256', k).update(m).digest('hex'));
  }
  for (const v of wycheproof('hmac_sha256_test.json').filter((v) => v.result === 'valid')) p(`hmac(${q(v.key)}, ${q(v.msg)}).slice(0, ${v.group.tagSize / 4})`, v.tag);
  for (const [ikm, salt, info, n, okm] of RFC5869) p(`hkdf(${q(salt)}, ${q(ikm)}, ${q(info)}, ${n})`, okm);
  for (const v of wycheproof('hkdf_sha256_test.json').filter((v) => v.result === 'valid')) p(`hkdf(${q(v.salt)}, ${q(v.ikm)}, ${q(v.info)}, ${v.size})`, v.okm);
  for (const v of wycheproof('pbkdf2_hmacsha256_test.json').filter((v) => v.iterationCount === 1).slice(0, 6)) {
    p(`pbkdf2(${q(v.password)}, ${q(v.salt)}, 1, ${v.dkLen})`, v.dk);
  }
  p(`pbkdf2("70617373776f7264", "73616c74", 200, 20)`, pbkdf2Sync('password', 'salt', 200, 20, 'sha256').toString('hex'));
  for (const [k, m, c] of FIPS197) p(`ecb(${q(k)}, ${q(m)})`, c);
  for (const [k, c, m, out] of SP800_38A_CTR) p(`ctr(${q(k)}, ${q(c)}, ${q(m)})`, out);
  for (let i = 0; i < 6; i++) {
    const k = randomBytes(i % 2 ? 32 : 16);
    const c = randomBytes(16);
    const m = randomBytes(i * 45);
    p(`ctr(${q(hex(k))}, ${q(hex(c))}, ${q(hex(m))})`, createCipheriv(i % 2 ? 'aes-256-ctr' : 'aes-128-ctr', k, c).update(m).toString('hex'));
  }
  for (const [k, n, a, m, tl, c] of SP800_38C) {
    p(`ccmSeal(${q(k)}, ${q(n)}, ${q(a)}, ${q(m)}, ${tl})`, c);
    p(`ccmOpen(${q(k)}, ${q(n)}, ${q(a)}, ${q(c)}, ${tl})`, m);
  }
  const ccm = wycheproof('aes_ccm_test.json').filter((v) => v.group.keySize !== 192 && v.group.ivSize >= 56 && v.group.ivSize <= 104 && v.group.tagSize % 16 === 0 && v.group.tagSize >= 32);
  for (const v of ccm) {
    const sealed = v.ct + v.tag;
    p(`ccmOpen(${q(v.key)}, ${q(v.iv)}, ${q(v.aad)}, ${q(sealed)}, ${v.group.tagSize / 8})`, v.result === 'valid' ? v.msg : 'FAIL');
  }
  for (const v of drbgVectors()) {
    const n = v.expected.length / 2;
    p(`drbg(${q(v.entropy)}, ${q(v.nonce)}, ${q(v.pers ?? '')}, ${q(v.add[0] ?? '')}, ${q(v.add[1] ?? '')}, ${n})`, v.expected);
  }
  p(`equal("0102", "0102") + ":" + hoshiCrypto.${api}.equal("0102", "0103")`, 'true:false');
  // Ed25519: RFC 8032 §7.1, a Wycheproof sample (valid and invalid), and tweetnacl signatures.
  if (!ed25519) return out;
  for (const [pub, msg, sig] of ED25519_RFC8032) p(`verify(${q(pub)}, ${q(msg)}, ${q(sig)})`, 'true');
  const ed = wycheproof('ed25519_test.json');
  for (const v of ed) p(`verify(${q(v.group.publicKey.pk)}, ${q(v.msg)}, ${q(v.sig)})`, String(v.result === 'valid'));
  for (let i = 0; i < 6; i++) {
    const kp = nacl.sign.keyPair();
    const m = randomBytes(20 + i * 50);
    const sig = nacl.sign.detached(m, kp.secretKey);
    p(`verify(${q(hex(kp.publicKey))}, ${q(hex(m))}, ${q(hex(sig))})`, 'true');
    sig[(i * 23) % 64] ^= 4;
    p(`verify(${q(hex(kp.publicKey))}, ${q(hex(m))}, ${q(hex(sig))})`, 'false');
  }
  return out;
}

// The pure-JS bundle also runs under the Espruino profile (its fallback); Espruino devices do not
// carry Ed25519 (it does not fit their memory, docs/performance.md), so the native bundle has none.
const CASES: [DeviceTarget, string, string, boolean][] = [
  ['kaluma', 'crypto-entry.ts', 'js', true],
  ['espruino', 'crypto-entry.ts', 'js', true],
  ['espruino', 'crypto-espruino-entry.ts', 'native', false],
];

/**
 * These bundles hold every primitive plus a test driver, more than any image carries: the engine
 * check runs them for correctness with room to spare, and the memory each primitive takes is
 * measured on the real engines by `npm run bench` (docs/performance.md).
 */
const LIBRARY_BUDGET = 512 * 1024;

for (const [target, fixture, api, ed25519] of CASES) {
  test(`${target} bundle, ${api} provider: profile check, then every primitive's vectors in the engine`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const cases = probes(api, ed25519);
    const report = await runInEngine(code, target, { library: true, probes: cases.map((c) => `String(${c[0]})`), timeoutMs: 600000, budgetBytes: LIBRARY_BUDGET });
    t.true(report.booted, report.error);
    t.is(report.values.length, cases.length);
    const wrong = cases.filter((c, i) => report.values[i] !== c[1]).map((c) => c[0].slice(0, 120));
    t.deepEqual(wrong, [], `${wrong.length} of ${cases.length} vectors differ`);
    t.deepEqual(report.missing, [], 'the runtime fake lacks members the bundle used');
  });
}

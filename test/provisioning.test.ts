import test from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from '../firmware/device/core/crc32';
import {
  DEVICE_SECRET_BYTES,
  parseProvisioning,
  PROVISIONING_HEADER,
  PROVISIONING_MAGIC,
  PROVISIONING_REASONS,
  readProvisioning,
  VERIFIER_ITERATIONS_MAX,
  VERIFIER_ITERATIONS_MIN,
  VERIFIER_KEY_BYTES,
  VERIFIER_SALT_MAX,
  VERIFIER_SALT_MIN,
  type ProvisioningReason,
  type ProvisioningRecord,
} from '../firmware/device/core/provisioning';
import {
  defaultPassword,
  defaultPasswordCheck,
  encodeProvisioning,
  newProvisioningRecord,
  PASSWORD_ALPHABET,
  PASSWORD_LENGTH,
  randomSerial,
  writeProvisioning,
} from '../firmware/host/provision';
import { nodeScramCrypto } from '../firmware/host/client';
import { memoryBacking, openSimFlash } from '../boards/host/flash';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys } from '../modules/keys/keys';
import { Scram, scramVerifier, verifyProof } from '../modules/accounts/scram';
import { scramPassword } from '../modules/channel/setup';

/** Tests make their records with the smallest iteration count a device accepts: the format is the same. */
const FAST = { iterations: 4096 };
const newRecord = (): ProvisioningRecord => newProvisioningRecord(undefined, FAST).record;

/** Recomputes the CRC so a test reaches the field checks behind it. */
function reseal(bytes: Uint8Array): Uint8Array {
  const length = bytes[6]! | (bytes[7]! << 8);
  const end = PROVISIONING_HEADER + length;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(end, crc32(bytes, 0, end), true);
  return bytes;
}

/** A record of `version` (1 unless given) with raw fields (tag, value) encoded as the format says, valid CRC. */
function withFields(fields: [number, Uint8Array][], version = 1): Uint8Array {
  const body: number[] = [];
  for (const [tag, value] of fields) body.push(tag, value.length, ...value);
  const out = new Uint8Array(PROVISIONING_HEADER + body.length + 4);
  out.set([0x48, 0x53, 0x50, 0x52, version, 0, body.length & 0xff, body.length >> 8]);
  out.set(body, PROVISIONING_HEADER);
  return reseal(out);
}

const serial = new TextEncoder().encode('HS0123456789AB');
const secret = () => new Uint8Array(randomBytes(32));
const seed = () => new Uint8Array(randomBytes(48));
const bytes = (n: number) => new Uint8Array(randomBytes(n));
const u32le = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

/** The fields of a valid version-2 record, each replaceable (value undefined: left out). */
function v2(change: { [tag: number]: Uint8Array | undefined } = {}, extra: [number, Uint8Array][] = []): Uint8Array {
  const fields: [number, Uint8Array | undefined][] = [
    [1, serial],
    [2, secret()],
    [3, seed()],
    [4, bytes(16)],
    [5, u32le(4096)],
    [6, bytes(32)],
    [7, bytes(32)],
    [8, bytes(32)],
  ];
  const out: [number, Uint8Array][] = [];
  for (const [tag, value] of fields) {
    const v = tag in change ? change[tag] : value;
    if (v) out.push([tag, v]);
  }
  return withFields([...out, ...extra], 2);
}

/** The fields of a valid version-3 record: version 2's and the setup key (tag 9), each replaceable. */
function v3(change: { [tag: number]: Uint8Array | undefined } = {}, extra: [number, Uint8Array][] = []): Uint8Array {
  const b = v2(change, [...(9 in change ? (change[9] ? [[9, change[9]] as [number, Uint8Array]] : []) : [[9, bytes(16)] as [number, Uint8Array]]), ...extra]);
  b[4] = 3;
  return reseal(b);
}

/** A public key's stand-in: 32 random bytes (the parser checks length and variety, not the curve). */
const updateKey = () => bytes(32);

/** The fields of a valid version-4 record: version 3's and the update keys (tag 10: one key unless changed), each replaceable. */
function v4(change: { [tag: number]: Uint8Array | undefined } = {}, extra: [number, Uint8Array][] = []): Uint8Array {
  const b = v3(change, [...(10 in change ? (change[10] ? [[10, change[10]] as [number, Uint8Array]] : []) : [[10, updateKey()] as [number, Uint8Array]]), ...extra]);
  b[4] = 4;
  return reseal(b);
}

test('a record round-trips through encode and parse (version 3, with the verifier, the default check and the setup key)', (t) => {
  const record = newRecord();
  const encoded = encodeProvisioning(record);
  t.is(encoded[4], 3, 'the host tool writes version 3');
  const parsed = parseProvisioning(encoded);
  t.deepEqual(parsed, { ok: true, record });
  t.truthy(parsed.ok && parsed.record.verifier);
  t.is(parsed.ok && parsed.record.setupKey!.length, 16);
  // The setup key is the last field: tag 9, 16 bytes, just before the CRC.
  t.deepEqual([...encoded.subarray(encoded.length - 4 - 18, encoded.length - 4)], [0x09, 16, ...record.setupKey!]);
  t.true(encoded.length <= 256, 'a record with a 16-byte salt and a 14-character serial fits one 256-byte write page: ' + encoded.length);
});

test('records round-trip at the edges of every field', (t) => {
  for (const [salt, iterations, s] of [
    [VERIFIER_SALT_MIN, VERIFIER_ITERATIONS_MIN, 'HS01'],
    [VERIFIER_SALT_MAX, VERIFIER_ITERATIONS_MAX, 'H'.repeat(32)],
    [40, 100000, 'HS0123456789AB'],
  ] as const) {
    const record: ProvisioningRecord = {
      ...newRecord(),
      serial: s,
      verifier: { salt: bytes(salt), iterations, storedKey: bytes(32), serverKey: bytes(32) },
    };
    t.deepEqual(parseProvisioning(encodeProvisioning(record)), { ok: true, record });
  }
});

test('a version-1 record still parses, without a verifier or a default check', (t) => {
  const s1 = secret();
  const d1 = seed();
  const parsed = parseProvisioning(withFields([[1, serial], [2, s1], [3, d1]]));
  t.deepEqual(parsed, { ok: true, record: { serial: 'HS0123456789AB', deviceSecret: s1, drbgSeed: d1, updateKeys: [] } });
  t.true(parsed.ok && parsed.record.verifier === undefined && parsed.record.defaultCheck === undefined);
});

test('a version-2 record still parses, with its verifier and default check but no setup key', (t) => {
  const [s2, d2, salt, storedKey, serverKey, check] = [secret(), seed(), bytes(16), bytes(32), bytes(32), bytes(32)];
  const parsed = parseProvisioning(withFields([[1, serial], [2, s2], [3, d2], [4, salt], [5, u32le(5000)], [6, storedKey], [7, serverKey], [8, check]], 2));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.like(parsed.record, { serial: 'HS0123456789AB', deviceSecret: s2, drbgSeed: d2, verifier: { salt, iterations: 5000, storedKey, serverKey }, defaultCheck: check });
  t.is(parsed.record.setupKey, undefined, 'no setup key: the accounts module serves public routes only (503 no-setup-key)');
  t.true(parseProvisioning(v2()).ok);
});

test('a version-4 record carries the update keys (1 to 4, in the order given); without keys the host tool writes version 3', (t) => {
  for (const n of [1, 2, 3, 4]) {
    const keys = Array.from({ length: n }, updateKey);
    const record = newProvisioningRecord(undefined, { ...FAST, updateKeys: keys }).record;
    const encoded = encodeProvisioning(record);
    t.is(encoded[4], 4, 'version 4 with ' + n + ' key(s)');
    const parsed = parseProvisioning(encoded);
    if (!parsed.ok) return t.fail(parsed.reason);
    t.deepEqual(parsed.record, record);
    t.deepEqual(parsed.record.updateKeys, keys);
    // The update keys are the last field: tag 0A, n × 32 bytes, concatenated, just before the CRC.
    t.deepEqual([...encoded.subarray(encoded.length - 4 - 2 - 32 * n, encoded.length - 4)], [0x0a, 32 * n, ...keys.flatMap((k) => [...k])]);
  }
  const plain = encodeProvisioning(newRecord());
  t.is(plain[4], 3, 'no update keys: version 3, as before');
  const parsed = parseProvisioning(plain);
  t.deepEqual(parsed.ok && parsed.record.updateKeys, []);
  // Versions 1 to 3 read with no update keys.
  for (const old of [withFields([[1, serial], [2, secret()], [3, seed()]]), v2(), v3()]) {
    const r = parseProvisioning(old);
    t.deepEqual(r.ok && r.record.updateKeys, [], 'version ' + old[4]);
  }
  const four = parseProvisioning(v4({ 10: bytes(128) }));
  t.is(four.ok && four.record.updateKeys!.length, 4);
  t.true(encodeProvisioning(newProvisioningRecord(undefined, { ...FAST, updateKeys: [updateKey(), updateKey(), updateKey(), updateKey()] }).record).length <= 512, 'two write pages at most');
});

test('the host tool refuses update keys the device would refuse', (t) => {
  t.throws(() => newProvisioningRecord(undefined, { ...FAST, updateKeys: [1, 2, 3, 4, 5].map(updateKey) }), { message: /at most 4/ });
  t.throws(() => newProvisioningRecord(undefined, { ...FAST, updateKeys: [bytes(31)] }), { message: /updateKeys\[0\]: 32 bytes/ });
  t.throws(() => newProvisioningRecord(undefined, { ...FAST, updateKeys: [updateKey(), new Uint8Array(32)] }), { message: /updateKeys\[1\]: constant/ });
  const k = updateKey();
  t.throws(() => newProvisioningRecord(undefined, { ...FAST, updateKeys: [k, k.slice()] }), { message: /updateKeys\[1\]: given twice/ });
  const r = newRecord();
  t.throws(() => encodeProvisioning({ ...r, updateKeys: [bytes(33)] }), { message: /32 bytes/ });
});

test("the record's verifier limits are SCRAM's", (t) => {
  t.is(Number(VERIFIER_SALT_MIN), Number(Scram.MIN_SALT));
  t.is(Number(VERIFIER_SALT_MAX), Number(Scram.MAX_SALT));
  t.is(Number(VERIFIER_ITERATIONS_MIN), Number(Scram.MIN_ITERATIONS));
  t.is(Number(VERIFIER_ITERATIONS_MAX), Number(Scram.MAX_ITERATIONS));
  t.is(Number(VERIFIER_KEY_BYTES), Number(Scram.KEY));
});

test('the parser checks the magic and the 32-byte fields with the constants the host tool writes', (t) => {
  // parseProvisioning spells PROVISIONING_MAGIC as two 16-bit halves, and checks the device secret
  // with KEY_BYTES (one length for every 32-byte field).
  t.deepEqual(PROVISIONING_MAGIC, [0x48, 0x53, 0x50, 0x52]);
  t.is(Number(DEVICE_SECRET_BYTES), Number(VERIFIER_KEY_BYTES));
  t.true(parseProvisioning(encodeProvisioning(newRecord())).ok);
});

test('a parse with `release` (boot on a device) drops the parser; without it the parser stays', async (t) => {
  // A fresh instance of the module, so that this file's parser is left alone.
  const fresh = (await import(new URL('../firmware/device/core/provisioning.ts?release', import.meta.url).href)) as typeof import('../firmware/device/core/provisioning');
  const encoded = encodeProvisioning(newRecord());
  t.true(fresh.parseProvisioning(encoded).ok);
  t.true(fresh.parseProvisioning(encoded, false).ok);
  t.is(typeof fresh.parseProvisioning, 'function');
  t.true(fresh.parseProvisioning(encoded, true).ok, 'the releasing call still parses');
  t.is(typeof fresh.parseProvisioning, 'undefined');
  t.is(typeof parseProvisioning, 'function');
});

test('the verifier is SCRAM-SHA-256 of the default password pre-hashed with the setup key: node:crypto agrees with modules/accounts/scram.ts on jsCrypto', (t) => {
  const { record, password } = newProvisioningRecord(undefined, FAST);
  const v = record.verifier!;
  t.is(v.salt.length, 16);
  t.is(v.iterations, 4096);
  // SCRAM's password: base64 of HMAC-SHA-256(setup key, password), checked against node:crypto.
  const pre = scramPassword(jsCrypto, record.setupKey!, password);
  t.is(pre, createHmac('sha256', record.setupKey!).update(password).digest('base64'));
  const js = scramVerifier({ sha256: jsCrypto.sha256, hmacSha256: jsCrypto.hmacSha256, pbkdf2Sha256: jsCrypto.pbkdf2Sha256! }, pre, v.salt, v.iterations);
  t.deepEqual(js, v);
  t.deepEqual(scramVerifier(nodeScramCrypto, pre, v.salt, v.iterations), v);
  t.notDeepEqual(scramVerifier(nodeScramCrypto, password, v.salt, v.iterations), v, 'not the password itself');
  // And the device's check of a proof accepts the pre-hashed password (ClientKey → StoredKey).
  const clientKey = jsCrypto.hmacSha256(jsCrypto.pbkdf2Sha256!(new TextEncoder().encode(pre), v.salt, v.iterations, 32), new TextEncoder().encode('Client Key'));
  const message = new TextEncoder().encode('n=admin,r=x,r=xy,s=AAAA,i=4096,c=biws,r=xy');
  const signature = jsCrypto.hmacSha256(v.storedKey, message);
  const proof = clientKey.map((b, i) => b ^ signature[i]!);
  t.truthy(verifyProof(jsCrypto, v.storedKey, message, proof));
});

test('the default iteration count is 100,000, and a fresh salt every time', (t) => {
  const a = newProvisioningRecord();
  const b = newProvisioningRecord();
  t.is(a.record.verifier!.iterations, 100000);
  t.notDeepEqual(a.record.verifier!.salt, b.record.verifier!.salt);
  t.not(a.password, b.password);
  t.throws(() => newProvisioningRecord(undefined, { iterations: 4095 }), { message: /iterations/ });
});

test('the default check is HMAC-SHA-256 of the password under the unit key "default-password"', (t) => {
  const { record, password } = newProvisioningRecord(undefined, FAST);
  const key = deviceKeys(jsCrypto, record.deviceSecret).key('default-password');
  t.deepEqual(record.defaultCheck, jsCrypto.hmacSha256(key, new TextEncoder().encode(password)));
  t.deepEqual(record.defaultCheck, new Uint8Array(createHmac('sha256', key).update(password).digest()));
  t.deepEqual(defaultPasswordCheck(record.deviceSecret, password), record.defaultCheck);
  t.notDeepEqual(defaultPasswordCheck(record.deviceSecret, password + 'x'), record.defaultCheck);
});

test('default passwords: 12 characters of an unambiguous alphabet, uniform, at least 55 bits', (t) => {
  t.is(PASSWORD_LENGTH, 12);
  t.is(new Set(PASSWORD_ALPHABET).size, PASSWORD_ALPHABET.length);
  for (const c of '01oOlLiI') t.false(PASSWORD_ALPHABET.includes(c), c);
  t.true(PASSWORD_LENGTH * Math.log2(PASSWORD_ALPHABET.length) >= 55);
  const counts = new Map<string, number>();
  const n = 4000;
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const p = defaultPassword();
    t.is(p.length, 12);
    seen.add(p);
    for (const c of p) {
      t.true(PASSWORD_ALPHABET.includes(c));
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  t.is(seen.size, n);
  // Uniform: a chi-squared statistic over 31 symbols (30 degrees of freedom) far below 70 (p ≈ 5e-5).
  // A modulo bias (b % 31 over all 256 bytes) would give the first 8 symbols 9/8 of their share:
  // about +660 counts each here, a statistic near 500.
  const expected = (n * 12) / PASSWORD_ALPHABET.length;
  let chi = 0;
  for (const c of PASSWORD_ALPHABET) chi += ((counts.get(c) ?? 0) - expected) ** 2 / expected;
  t.true(chi < 70, 'chi-squared ' + chi.toFixed(1));
});

test('the default password is not derived from the serial: the same serial gives other passwords and keys', (t) => {
  const a = newProvisioningRecord('HSSAME000001', FAST);
  const b = newProvisioningRecord('HSSAME000001', FAST);
  t.not(a.password, b.password);
  t.notDeepEqual(a.record.verifier!.storedKey, b.record.verifier!.storedKey);
  t.notDeepEqual(a.record.defaultCheck, b.record.defaultCheck);
});

test('serials are random, public-looking and unambiguous', (t) => {
  const serials = new Set(Array.from({ length: 200 }, () => randomSerial()));
  t.is(serials.size, 200);
  for (const s of serials) t.regex(s, /^HS[0-9A-HJKMNP-TV-Z]{12}$/);
});

test('every unit gets its own secret, seed and setup key from the CSPRNG', (t) => {
  const a = newRecord();
  const b = newRecord();
  t.notDeepEqual(a.deviceSecret, b.deviceSecret);
  t.notDeepEqual(a.drbgSeed, b.drbgSeed);
  t.is(a.setupKey!.length, 16);
  t.notDeepEqual(a.setupKey, b.setupKey);
  // Not derived from the serial, nor from the device secret's public relatives.
  const c = newProvisioningRecord('HSSAME000001', FAST).record;
  const d = newProvisioningRecord('HSSAME000001', FAST).record;
  t.notDeepEqual(c.setupKey, d.setupKey);
});

const hostile: [string, () => Uint8Array, ProvisioningReason][] = [
  ['an erased partition', () => new Uint8Array(256).fill(0xff), 'erased'],
  ['zeroes', () => new Uint8Array(256), 'bad-magic'],
  ['too short to hold a header', () => new Uint8Array(5), 'bad-length'],
  ['version 5', () => reseal(Object.assign(encodeProvisioning(newRecord()), { 4: 5 })), 'bad-version'],
  ['version 4 without update keys (a version-3 record relabelled)', () => reseal(Object.assign(encodeProvisioning(newRecord()), { 4: 4 })), 'missing-field'],
  ['version 4 without update keys', () => v4({ 10: undefined }), 'missing-field'],
  ['version 4 without a setup key', () => v4({ 9: undefined }), 'missing-field'],
  ['version 4 with two update-key fields', () => v4({}, [[10, updateKey()]]), 'duplicate-field'],
  ['version 4 with tag 11', () => v4({}, [[11, bytes(4)]]), 'unknown-field'],
  ['version 2 with update keys', () => v2({}, [[10, updateKey()]]), 'unknown-field'],
  ['version 1 with update keys', () => withFields([[1, serial], [2, secret()], [3, seed()], [10, updateKey()]]), 'unknown-field'],
  ['empty update keys', () => v4({ 10: new Uint8Array(0) }), 'bad-update-keys'],
  ['a 31-byte update key', () => v4({ 10: bytes(31) }), 'bad-update-keys'],
  ['a 33-byte update key', () => v4({ 10: bytes(33) }), 'bad-update-keys'],
  ['update keys of 48 bytes (one and a half keys)', () => v4({ 10: bytes(48) }), 'bad-update-keys'],
  ['five update keys', () => v4({ 10: bytes(160) }), 'bad-update-keys'],
  ['an all-zero update key', () => v4({ 10: new Uint8Array(32) }), 'bad-update-keys'],
  ['an erased (all-FF) second update key', () => v4({ 10: Uint8Array.from([...updateKey(), ...new Uint8Array(32).fill(0xff)]) }), 'bad-update-keys'],
  ['an all-zero last update key of four', () => v4({ 10: Uint8Array.from([...bytes(96), ...new Uint8Array(32)]) }), 'bad-update-keys'],
  ['update keys running past the end', () => reseal(Object.assign(v4(), { [v4().length - 4 - 33]: 0xff })), 'bad-field'],
  ['version 255', () => reseal(Object.assign(encodeProvisioning(newRecord()), { 4: 255 })), 'bad-version'],
  ['version 0', () => reseal(Object.assign(encodeProvisioning(newRecord()), { 4: 0 })), 'bad-version'],
  ['non-zero flags', () => reseal(Object.assign(encodeProvisioning(newRecord()), { 5: 1 })), 'bad-flags'],
  ['a length past the end', () => Object.assign(encodeProvisioning(newRecord()), { 6: 0xff, 7: 0x01 }), 'bad-length'],
  ['a length over the maximum', () => Object.assign(encodeProvisioning(newRecord()), { 6: 0x01, 7: 0x08 }), 'bad-length'],
  ['one flipped bit', () => { const b = encodeProvisioning(newRecord()); b[20]! ^= 4; return b; }, 'bad-crc'],
  ['version 1 with a version-2 field (salt)', () => withFields([[1, serial], [2, secret()], [3, seed()], [4, bytes(16)]]), 'unknown-field'],
  ['version 1 with a default check', () => withFields([[1, serial], [2, secret()], [3, seed()], [8, bytes(32)]]), 'unknown-field'],
  ['version 1 with tag 0', () => withFields([[0, bytes(4)], [1, serial], [2, secret()], [3, seed()]]), 'unknown-field'],
  ['version 2 with tag 9', () => v2({}, [[9, bytes(4)]]), 'unknown-field'],
  ['version 2 with a setup key', () => v2({}, [[9, bytes(16)]]), 'unknown-field'],
  ['version 1 with a setup key', () => withFields([[1, serial], [2, secret()], [3, seed()], [9, bytes(16)]]), 'unknown-field'],
  ['version 3 without a setup key', () => v3({ 9: undefined }), 'missing-field'],
  ['version 3 with the version-2 fields only (a version-2 record relabelled)', () => reseal(Object.assign(v2(), { 4: 3 })), 'missing-field'],
  ['version 3 with two setup keys', () => v3({}, [[9, bytes(16)]]), 'duplicate-field'],
  ['version 3 with tag 10', () => v3({}, [[10, bytes(16)]]), 'unknown-field'],
  ['version 3 with tag 0', () => v3({}, [[0, bytes(1)]]), 'unknown-field'],
  ['version 3 without the default check', () => v3({ 8: undefined }), 'missing-field'],
  ['a 15-byte setup key', () => v3({ 9: bytes(15) }), 'bad-setup-key'],
  ['a 17-byte setup key', () => v3({ 9: bytes(17) }), 'bad-setup-key'],
  ['a 32-byte setup key', () => v3({ 9: bytes(32) }), 'bad-setup-key'],
  ['an empty setup key', () => v3({ 9: new Uint8Array(0) }), 'bad-setup-key'],
  ['an all-zero setup key', () => v3({ 9: new Uint8Array(16) }), 'bad-setup-key'],
  ['an all-0xff setup key', () => v3({ 9: new Uint8Array(16).fill(0xff) }), 'bad-setup-key'],
  ['a setup key running past the end', () => reseal(Object.assign(v3(), { [v3().length - 4 - 17]: 0xff })), 'bad-field'],
  ['version 2 with tag 0', () => v2({}, [[0, bytes(1)]]), 'unknown-field'],
  ['version 2 with tag 255', () => v2({}, [[255, bytes(1)]]), 'unknown-field'],
  ['version 2 with the version-1 fields only', () => withFields([[1, serial], [2, secret()], [3, seed()]], 2), 'missing-field'],
  ['version 2 without a salt', () => v2({ 4: undefined }), 'missing-field'],
  ['version 2 without an iteration count', () => v2({ 5: undefined }), 'missing-field'],
  ['version 2 without StoredKey', () => v2({ 6: undefined }), 'missing-field'],
  ['version 2 without ServerKey', () => v2({ 7: undefined }), 'missing-field'],
  ['version 2 without the default check', () => v2({ 8: undefined }), 'missing-field'],
  ['version 2 with two salts', () => v2({}, [[4, bytes(16)]]), 'duplicate-field'],
  ['version 2 with two iteration counts', () => v2({}, [[5, u32le(5000)]]), 'duplicate-field'],
  ['version 2 with two StoredKeys', () => v2({}, [[6, bytes(32)]]), 'duplicate-field'],
  ['version 2 with two ServerKeys', () => v2({}, [[7, bytes(32)]]), 'duplicate-field'],
  ['version 2 with two default checks', () => v2({}, [[8, bytes(32)]]), 'duplicate-field'],
  ['a 15-byte salt', () => v2({ 4: bytes(15) }), 'bad-verifier'],
  ['a 65-byte salt', () => v2({ 4: bytes(65) }), 'bad-verifier'],
  ['an empty salt', () => v2({ 4: new Uint8Array(0) }), 'bad-verifier'],
  ['an all-zero salt', () => v2({ 4: new Uint8Array(16) }), 'bad-verifier'],
  ['4095 iterations', () => v2({ 5: u32le(4095) }), 'bad-verifier'],
  ['0 iterations', () => v2({ 5: u32le(0) }), 'bad-verifier'],
  ['10,000,001 iterations', () => v2({ 5: u32le(10000001) }), 'bad-verifier'],
  ['0xffffffff iterations', () => v2({ 5: u32le(0xffffffff) }), 'bad-verifier'],
  ['a 3-byte iteration count', () => v2({ 5: u32le(5000).slice(0, 3) }), 'bad-verifier'],
  ['an 8-byte iteration count', () => v2({ 5: new Uint8Array([0x00, 0x10, 0, 0, 0, 0, 0, 0]) }), 'bad-verifier'],
  ['a 31-byte StoredKey', () => v2({ 6: bytes(31) }), 'bad-verifier'],
  ['a 33-byte ServerKey', () => v2({ 7: bytes(33) }), 'bad-verifier'],
  ['an all-zero StoredKey', () => v2({ 6: new Uint8Array(32) }), 'bad-verifier'],
  ['an all-0xff ServerKey', () => v2({ 7: new Uint8Array(32).fill(0xff) }), 'bad-verifier'],
  ['a 16-byte default check', () => v2({ 8: bytes(16) }), 'bad-default-check'],
  ['an all-zero default check', () => v2({ 8: new Uint8Array(32) }), 'bad-default-check'],
  ['version 2 with a bad serial', () => v2({ 1: new Uint8Array([65, 32, 66, 67]) }), 'bad-serial'],
  ['version 2 with a constant secret', () => v2({ 2: new Uint8Array(32) }), 'bad-secret'],
  ['a field running past the end', () => reseal(Object.assign(withFields([[1, serial], [2, secret()], [3, seed()]]), { [PROVISIONING_HEADER + 1]: 0xff })), 'bad-field'],
  ['an unknown field', () => withFields([[1, serial], [2, secret()], [3, seed()], [0x7f, new Uint8Array(4)]]), 'unknown-field'],
  ['a duplicate serial', () => withFields([[1, serial], [1, serial], [2, secret()], [3, seed()]]), 'duplicate-field'],
  ['a duplicate secret', () => withFields([[1, serial], [2, secret()], [2, secret()], [3, seed()]]), 'duplicate-field'],
  ['no seed', () => withFields([[1, serial], [2, secret()]]), 'missing-field'],
  ['no fields at all', () => withFields([]), 'missing-field'],
  ['a short serial', () => withFields([[1, new Uint8Array([65, 66])], [2, secret()], [3, seed()]]), 'bad-serial'],
  ['a serial with a control character', () => withFields([[1, new Uint8Array([65, 66, 10, 67])], [2, secret()], [3, seed()]]), 'bad-serial'],
  ['a 16-byte secret', () => withFields([[1, serial], [2, secret().slice(0, 16)], [3, seed()]]), 'bad-secret'],
  ['an all-zero secret', () => withFields([[1, serial], [2, new Uint8Array(32)], [3, seed()]]), 'bad-secret'],
  ['an all-0xff seed', () => withFields([[1, serial], [2, secret()], [3, new Uint8Array(48).fill(0xff)]]), 'bad-seed'],
];

for (const [name, make, reason] of hostile) {
  test(`hostile record: ${name} → ${reason}`, (t) => {
    const result = parseProvisioning(make());
    t.deepEqual(result, { ok: false, reason });
    t.truthy(PROVISIONING_REASONS[reason]);
  });
}

test('a field header cut at the end of the fields is refused, not read past', (t) => {
  const good = withFields([[1, serial], [2, secret()], [3, seed()]]);
  // Grow the fields length by one byte holding a lone tag: the parser must see a malformed field.
  const body = good.slice(PROVISIONING_HEADER, good.length - 4);
  const grown = new Uint8Array(PROVISIONING_HEADER + body.length + 1 + 4);
  grown.set(good.slice(0, PROVISIONING_HEADER));
  grown[6] = (body.length + 1) & 0xff;
  grown[7] = (body.length + 1) >> 8;
  grown.set(body, PROVISIONING_HEADER);
  grown[PROVISIONING_HEADER + body.length] = 1;
  t.deepEqual(parseProvisioning(reseal(grown)), { ok: false, reason: 'bad-field' });
});

test('random bytes, truncations and bit flips never throw and never parse as valid', (t) => {
  const good = encodeProvisioning(newRecord());
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const r1 = parseProvisioning(new Uint8Array(randomBytes(1 + (i % 300))));
    const r2 = parseProvisioning(good.slice(0, i % good.length));
    const flipped = good.slice();
    flipped[i % good.length]! ^= 1 << (i % 8);
    const r3 = parseProvisioning(flipped);
    for (const r of [r1, r2, r3]) {
      t.false(r.ok);
      refused++;
    }
  }
  t.is(refused, 6000);
});

test('hostile mutations behind a valid CRC (versions 1, 2, 3 and 4) never throw, and every answer is a record or a known reason', (t) => {
  const records = [encodeProvisioning(newRecord()), withFields([[1, serial], [2, secret()], [3, seed()]]), v2(), v4({ 10: bytes(64) })];
  const reasons = new Map<string, number>();
  let valid = 0;
  for (let i = 0; i < 6000; i++) {
    const base = records[i % records.length]!;
    const b = base.slice();
    const fieldsEnd = b.length - 4;
    const kind = i % 4;
    if (kind === 0) {
      // a byte of the fields (tags, lengths, values) replaced
      b[PROVISIONING_HEADER + (i * 7919) % (fieldsEnd - PROVISIONING_HEADER)] = (i * 31) & 0xff;
    } else if (kind === 1) {
      // a field's length byte set to anything
      b[PROVISIONING_HEADER + 1] = i & 0xff;
    } else if (kind === 2) {
      // the version changed: each record read as each other version
      b[4] = 1 + ((b[4]! + (i >> 2) % 3) % 4);
    } else {
      // a run of random bytes inside the fields
      const at = PROVISIONING_HEADER + (i % (fieldsEnd - PROVISIONING_HEADER));
      b.set(randomBytes(Math.min(8, fieldsEnd - at)), at);
    }
    const r = parseProvisioning(reseal(b));
    if (r.ok) {
      valid++;
      t.true(r.record.verifier === undefined || (r.record.verifier.iterations >= 4096 && r.record.verifier.salt.length >= 16));
      t.true(r.record.setupKey === undefined || (r.record.setupKey.length === 16 && new Set(r.record.setupKey).size > 1));
      t.true(r.record.updateKeys!.length <= 4 && r.record.updateKeys!.every((k) => k.length === 32 && new Set(k).size > 1));
    } else {
      t.truthy(PROVISIONING_REASONS[r.reason], r.reason);
      reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
  }
  t.true(reasons.size >= 6, [...reasons.keys()].join(' '));
  t.true(valid < 6000);
});

test('the host tool writes a record once; the device reads it back', (t) => {
  const flash = openSimFlash(memoryBacking(4096));
  const record = newRecord();
  writeProvisioning(flash, encodeProvisioning(record));
  t.deepEqual(readProvisioning(flash), { ok: true, record });
  t.throws(() => writeProvisioning(flash, encodeProvisioning(newRecord())), { message: /already provisioned/ });
  t.deepEqual(readProvisioning(flash), { ok: true, record }, 'the first record is intact');
});

test('encode refuses fields the device would refuse', (t) => {
  const r = newRecord();
  const v = r.verifier!;
  t.throws(() => encodeProvisioning({ ...r, serial: 'a b' }), { message: /serial/ });
  t.throws(() => encodeProvisioning({ ...r, deviceSecret: new Uint8Array(31) }), { message: /deviceSecret/ });
  t.throws(() => encodeProvisioning({ ...r, drbgSeed: new Uint8Array(47) }), { message: /drbgSeed/ });
  t.throws(() => encodeProvisioning({ ...r, verifier: undefined }), { message: /verifier: required/ });
  t.throws(() => encodeProvisioning({ ...r, verifier: { ...v, salt: new Uint8Array(15) } }), { message: /salt/ });
  t.throws(() => encodeProvisioning({ ...r, verifier: { ...v, iterations: 4095 } }), { message: /iterations/ });
  t.throws(() => encodeProvisioning({ ...r, verifier: { ...v, iterations: 5000.5 } }), { message: /iterations/ });
  t.throws(() => encodeProvisioning({ ...r, verifier: { ...v, storedKey: new Uint8Array(31) } }), { message: /storedKey/ });
  t.throws(() => encodeProvisioning({ ...r, defaultCheck: undefined }), { message: /defaultCheck/ });
  t.throws(() => encodeProvisioning({ ...r, setupKey: undefined }), { message: /setupKey/ });
  t.throws(() => encodeProvisioning({ ...r, setupKey: new Uint8Array(15) }), { message: /setupKey/ });
});

test('the CRC is CRC-32/IEEE', (t) => {
  t.is(crc32(new TextEncoder().encode('123456789'), 0, 9), 0xcbf43926);
});

test('a power cut at every point of the provisioning write never leaves a wrong valid record', (t) => {
  const record = newRecord();
  const encoded = encodeProvisioning(record);
  const words = 256 / 4;
  let checked = 0;
  // The write is one page program: cut it cleanly, and torn after every number of 32-bit words.
  for (let tear = -1; tear <= words; tear++) {
    const backing = memoryBacking(4096);
    const flash = openSimFlash(backing);
    flash.cutAt(1, tear < 0 ? {} : { tearWords: tear });
    const error = t.throws(() => writeProvisioning(flash, encoded));
    t.is(error?.name, 'PowerCutError');
    const found = readProvisioning(openSimFlash(backing));
    if (found.ok) {
      t.deepEqual(found.record, record, 'tear ' + tear);
      t.true(tear * 4 >= encoded.length, 'a record is valid only once all its bytes are written');
    } else {
      t.true(['erased', 'bad-crc', 'bad-length', 'bad-magic', 'bad-version', 'bad-flags'].includes(found.reason), found.reason);
    }
    checked++;
  }
  t.is(checked, words + 2);
});

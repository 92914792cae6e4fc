import test from 'ava';
import { randomBytes } from 'node:crypto';
import { crc32 } from '../firmware/device/core/crc32';
import {
  parseProvisioning,
  PROVISIONING_HEADER,
  PROVISIONING_REASONS,
  readProvisioning,
  type ProvisioningReason,
} from '../firmware/device/core/provisioning';
import { encodeProvisioning, newProvisioningRecord, randomSerial, writeProvisioning } from '../firmware/host/provision';
import { memoryBacking, openSimFlash } from '../boards/host/flash';

/** Recomputes the CRC so a test reaches the field checks behind it. */
function reseal(bytes: Uint8Array): Uint8Array {
  const length = bytes[6]! | (bytes[7]! << 8);
  const end = PROVISIONING_HEADER + length;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(end, crc32(bytes, 0, end), true);
  return bytes;
}

/** A record with raw fields (tag, value) encoded as the format says, valid CRC. */
function withFields(fields: [number, Uint8Array][]): Uint8Array {
  const body: number[] = [];
  for (const [tag, value] of fields) body.push(tag, value.length, ...value);
  const out = new Uint8Array(PROVISIONING_HEADER + body.length + 4);
  out.set([0x48, 0x53, 0x50, 0x52, 1, 0, body.length & 0xff, body.length >> 8]);
  out.set(body, PROVISIONING_HEADER);
  return reseal(out);
}

const serial = new TextEncoder().encode('HS0123456789AB');
const secret = () => new Uint8Array(randomBytes(32));
const seed = () => new Uint8Array(randomBytes(48));

test('a record round-trips through encode and parse', (t) => {
  const record = newProvisioningRecord();
  const parsed = parseProvisioning(encodeProvisioning(record));
  t.deepEqual(parsed, { ok: true, record });
});

test('serials are random, public-looking and unambiguous', (t) => {
  const serials = new Set(Array.from({ length: 200 }, () => randomSerial()));
  t.is(serials.size, 200);
  for (const s of serials) t.regex(s, /^HS[0-9A-HJKMNP-TV-Z]{12}$/);
});

test('every unit gets its own secret and seed from the CSPRNG', (t) => {
  const a = newProvisioningRecord();
  const b = newProvisioningRecord();
  t.notDeepEqual(a.deviceSecret, b.deviceSecret);
  t.notDeepEqual(a.drbgSeed, b.drbgSeed);
});

const hostile: [string, () => Uint8Array, ProvisioningReason][] = [
  ['an erased partition', () => new Uint8Array(256).fill(0xff), 'erased'],
  ['zeroes', () => new Uint8Array(256), 'bad-magic'],
  ['too short to hold a header', () => new Uint8Array(5), 'bad-length'],
  ['another version', () => reseal(Object.assign(encodeProvisioning(newProvisioningRecord()), { 4: 2 })), 'bad-version'],
  ['non-zero flags', () => reseal(Object.assign(encodeProvisioning(newProvisioningRecord()), { 5: 1 })), 'bad-flags'],
  ['a length past the end', () => Object.assign(encodeProvisioning(newProvisioningRecord()), { 6: 0xff, 7: 0x00 }), 'bad-length'],
  ['a length over the maximum', () => Object.assign(encodeProvisioning(newProvisioningRecord()), { 6: 0x01, 7: 0x08 }), 'bad-length'],
  ['one flipped bit', () => { const b = encodeProvisioning(newProvisioningRecord()); b[20]! ^= 4; return b; }, 'bad-crc'],
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
  const good = encodeProvisioning(newProvisioningRecord());
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

test('the host tool writes a record once; the device reads it back', (t) => {
  const flash = openSimFlash(memoryBacking(4096));
  const record = newProvisioningRecord();
  writeProvisioning(flash, encodeProvisioning(record));
  t.deepEqual(readProvisioning(flash), { ok: true, record });
  t.throws(() => writeProvisioning(flash, encodeProvisioning(newProvisioningRecord())), { message: /already provisioned/ });
  t.deepEqual(readProvisioning(flash), { ok: true, record }, 'the first record is intact');
});

test('encode refuses fields the device would refuse', (t) => {
  const r = newProvisioningRecord();
  t.throws(() => encodeProvisioning({ ...r, serial: 'a b' }), { message: /serial/ });
  t.throws(() => encodeProvisioning({ ...r, deviceSecret: new Uint8Array(31) }), { message: /deviceSecret/ });
  t.throws(() => encodeProvisioning({ ...r, drbgSeed: new Uint8Array(47) }), { message: /drbgSeed/ });
});

test('the CRC is CRC-32/IEEE', (t) => {
  t.is(crc32(new TextEncoder().encode('123456789'), 0, 9), 0xcbf43926);
});

test('a power cut at every point of the provisioning write never leaves a wrong valid record', (t) => {
  const record = newProvisioningRecord();
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

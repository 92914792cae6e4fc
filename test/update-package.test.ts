import test from 'ava';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign as edSign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder, decode as cborxDecode } from 'cbor-x';
import { encodeCBOR as coseEncode } from '@ldclabs/cose-ts/utils';
import { buildImage, ROOT } from '../firmware/host/build';
import { parseProvisioning } from '../firmware/device/core/provisioning';
import { ALG_ED25519, ALG_EDDSA, bstrHead, checkManifest, compareVersions, createImagePackage, createPointer, createRotationPackage, decodeExact, describePackage, encodeCbor, encodeManifest, encodePackage, looksLikePointer, parsePackage, parsePointer, parseSign1, parseVersion, sha256, sigStructure, SLOT_CAPACITY, verifyPackage, verifyPointer, type Cbor, type CborMap, type ImageFields, type Manifest, type SigningKey, type UpdateCode } from '../firmware/host/update/package';
import { insideRepository, newSigningKey, readPublicKey, readSigningKey, resolveReal, ToolError, writeKeyPair } from '../firmware/host/update/keys';
import { EXIT, inspect, keygen, publishCommand, release, rotate, updateCommands, verify, type BuildPayload } from '../firmware/host/update/commands';

/**
 * The host side of signed update packages (docs/formats/update.md §1–3, §9): the deterministic
 * encoder and the strict decoder, packages and pointers, and the commands with their exit codes.
 * Interoperability with other implementations: test/update-interop.test.ts.
 */

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));


/** A payload as update.md §3 lays it out: `app` bytes of ASCII text, 00, FF to 4096, then `assets` bytes. */
function makePayload(app = 5000, assets = 3000): Uint8Array {
  const aligned = Math.ceil((app + 1) / 4096) * 4096;
  const out = new Uint8Array(assets ? aligned + assets : app + 1).fill(0xff);
  for (let i = 0; i < app; i++) out[i] = 0x20 + ((i * 7) % 95);
  out[app] = 0;
  if (assets) out.set(randomBytes(assets), aligned);
  return out;
}

const FIELDS: ImageFields = { vendor: 'Hoshi example vendor', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', version: '1.2.3', counter: 7, app: 5000 };

const key = newSigningKey();
const payload = makePayload();
const good = createImagePackage(FIELDS, payload, key);

/** The manifest map of `good`, for tests to change and sign again. */
function manifestMap(p = payload, k = key): CborMap {
  return new Map<number, Cbor>([
    [0, 1],
    [1, 1],
    [2, FIELDS.vendor],
    [3, FIELDS.model],
    [4, FIELDS.runtime],
    [5, FIELDS.board],
    [6, FIELDS.version],
    [7, FIELDS.counter],
    [8, p.length],
    [9, sha256(p)],
    [10, k.kid],
    [11, FIELDS.app],
  ]);
}

/** A COSE_Sign1 signed over whatever parts are given (no checks): hostile packages. */
function rawSign1(manifestBytes: Uint8Array, k = key, o: { protectedBytes?: Uint8Array; unprotected?: Cbor; tag?: number; signature?: Uint8Array } = {}): Uint8Array {
  const p = o.protectedBytes ?? encodeCbor(new Map<number, Cbor>([[1, ALG_EDDSA], [4, k.kid]]));
  const signature = o.signature ?? new Uint8Array(edSign(null, sigStructure(p, manifestBytes), k.privateKey));
  return encodeCbor({ tag: o.tag ?? 18, value: [p, o.unprotected ?? new Map(), manifestBytes, signature] });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function rawPackage(manifestBytes: Uint8Array, p = payload, k = key, o: Parameters<typeof rawSign1>[2] = {}): Uint8Array {
  return concat(rawSign1(manifestBytes, k, o), bstrHead(p.length), p);
}

function refusal(bytes: Uint8Array, keys = [key.publicKey]): { code: UpdateCode; reason: string } | 'ok' {
  const r = verifyPackage(bytes, keys);
  return r.ok ? 'ok' : { code: r.code, reason: r.reason };
}

// ---------------------------------------------------------------------------------------------
// Deterministic CBOR

test('the encoder writes what cbor-x writes for every value the format uses (integers within 32 bits, strings, arrays, maps in key order)', (t) => {
  const cborx = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);
  const values: Cbor[] = [
    0, 1, 23, 24, 255, 256, 65535, 65536, 0xffffffff, -1, -24, -25, -256, -257, -65536, -65537, -0x100000000,
    '', 'a', 'HS-PLUG-01', 'x'.repeat(23), 'x'.repeat(24), 'x'.repeat(255), 'x'.repeat(256), 'Signature1',
    new Uint8Array(0), new Uint8Array(23), new Uint8Array(24), new Uint8Array(300), new Uint8Array(70000),
    [], [1, [2, [3]]], ['Signature1', new Uint8Array([0xa1]), new Uint8Array(0), new Uint8Array(3)],
    new Map<number, Cbor>([[0, 1], [1, -8], [4, new Uint8Array(8)], [10, 'x'], [14, new Uint8Array(2)], [23, 1], [24, 2], [255, 3], [256, 4]]),
    new Map<string, Cbor>([['a', 1], ['z', 2], ['aa', 3], ['path', 'x'], ['format', 1], ['counter', 0]].sort((a, b) => (a[0] as string).length - (b[0] as string).length || (a[0]! < b[0]! ? -1 : 1)) as [string, Cbor][]),
  ];
  for (const v of values) {
    const mine = encodeCbor(v);
    t.is(hex(mine), hex(cborx.encode(v)), String(v instanceof Map ? [...v.keys()] : v).slice(0, 40));
    t.is(hex(mine), hex(coseEncode(v)), 'cose-ts (cborg, RFC 8949 map order) agrees');
    if (typeof v === 'number' || typeof v === 'string') t.deepEqual(cborxDecode(mine), v);
  }
  // Beyond 32 bits cbor-x writes a float64; the format has no such integer, cborg writes the uint64 as we do.
  t.is(hex(encodeCbor(2 ** 32)), '1b0000000100000000');
  t.is(hex(coseEncode(2 ** 32)), '1b0000000100000000');
  t.is(hex(encodeCbor(-(2 ** 32) - 1)), '3b0000000100000000');
  t.is(hex(encodeCbor({ tag: 18, value: [] })), 'd280');
});

test('map keys go out in the deterministic order whatever the insertion order; duplicates are refused', (t) => {
  const entries: [number | string, Cbor][] = [[14, 1], [0, 2], [-1, 3], [10, 4], ['b', 5], ['aa', 6], ['a', 7], [24, 8], [-25, 9], [1, 10]];
  const expected = encodeCbor(new Map(entries));
  for (let i = 0; i < 50; i++) {
    const shuffled = [...entries].sort(() => Math.random() - 0.5);
    t.deepEqual(encodeCbor(new Map(shuffled)), expected);
  }
  // Bytewise order of the encoded keys: 0 1 10 14 24 (18 18) -1 (20) -25 (38 18) "a" "b" "aa".
  const r = decodeExact(expected);
  t.true(r.ok);
  t.deepEqual(r.ok && [...(r.value as CborMap).keys()], [0, 1, 10, 14, 24, -1, -25, 'a', 'b', 'aa']);
  t.throws(() => encodeCbor(1.5), { message: /not a safe integer/ });
  t.throws(() => encodeCbor(2 ** 53), { message: /not a safe integer/ });
});

test('decoding and encoding again gives the same bytes: the manifest, the protected header and the whole COSE_Sign1', (t) => {
  const s = parseSign1(good);
  if (!s.ok) return t.fail(s.reason);
  const manifest = decodeExact(s.value.payload);
  const header = decodeExact(s.value.protectedBytes);
  t.true(manifest.ok && header.ok);
  if (!manifest.ok || !header.ok) return;
  t.deepEqual(encodeCbor(manifest.value), s.value.payload);
  t.deepEqual(encodeCbor(header.value), s.value.protectedBytes);
  t.deepEqual(encodeCbor({ tag: 18, value: [s.value.protectedBytes, new Map(), s.value.payload, s.value.signature] }), good.subarray(0, s.value.length));
  // The manifest's keys are 0..11 in order, each a one-byte head.
  const m = s.value.payload;
  t.is(m[0], 0xac, 'a map of 12 entries');
  const keys = [...(manifest.value as CborMap).keys()];
  t.deepEqual(keys, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  // The same inputs give the same package: Ed25519 is deterministic, and so is the encoding.
  t.deepEqual(createImagePackage(FIELDS, payload, key), good);
  // And the manifest re-encoded from its parsed fields.
  const parsed = parsePackage(good);
  t.true(parsed.ok && hex(encodeManifest(parsed.value.manifest)) === hex(m));
});

test('the package is laid out as update.md §1 says: tag 18, the protected header {1: -8, 4: kid}, an empty unprotected map, the payload byte string last', (t) => {
  const parsed = parsePackage(good);
  if (!parsed.ok) return t.fail(parsed.reason);
  const p = parsed.value;
  t.is(good[0], 0xd2, 'tag 18 in its one-byte head');
  t.is(good[1], 0x84, 'an array of 4');
  t.is(hex(p.protectedBytes), 'a2' + '0127' + '0448' + hex(key.kid));
  t.is(good[2], 0x4d, 'the protected header: a 13-byte byte string');
  t.is(good[2 + 14], 0xa0, 'the unprotected header: an empty map');
  t.is(p.alg, -8);
  t.deepEqual(p.kid, kid8(key.publicKey));
  t.is(p.payloadOffset, good.length - payload.length);
  t.is(p.payloadLength, payload.length);
  t.deepEqual(p.body, payload);
  t.is(hex(good.subarray(p.length, p.payloadOffset)), hex(bstrHead(payload.length)));
  t.true(p.length <= 1024);
  // The Sig_structure, spelled out: 84, "Signature1" (6a …), the protected bstr, 40, the manifest bstr.
  const tbs = concat(Uint8Array.from([0x84, 0x6a]), ascii('Signature1'), Uint8Array.from([0x4d]), p.protectedBytes, Uint8Array.from([0x40]), bstrHead(p.payload.length), p.payload);
  t.deepEqual(p.toBeSigned, tbs);
  t.deepEqual(p.manifest, {
    format: 1, kind: 1, vendor: FIELDS.vendor, model: FIELDS.model, runtime: 'kaluma', board: 'kaluma-pico-w', version: '1.2.3', counter: 7, size: payload.length, digest: sha256(payload), kid: key.kid, app: 5000,
  } satisfies Manifest);
});

function kid8(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, 8);
}

test('a package round-trips: verifies under its key, with notes, with alg -19, and the overhead is small', (t) => {
  const r = verifyPackage(good, [key.publicKey]);
  t.true(r.ok);
  const withNotes = createImagePackage({ ...FIELDS, notes: 'https://example.com/releases/1.2.3' }, payload, key);
  const n = verifyPackage(withNotes, [newSigningKey().publicKey, key.publicKey]);
  t.is(n.ok && n.value.manifest.notes, 'https://example.com/releases/1.2.3');
  const ed = createImagePackage(FIELDS, payload, key, ALG_ED25519);
  const e = verifyPackage(ed, [key.publicKey]);
  t.is(e.ok && e.value.alg, -19);
  const overhead = good.length - payload.length;
  t.log('overhead: ' + overhead + ' bytes (COSE_Sign1 ' + (r.ok && r.value.length) + ', payload head ' + bstrHead(payload.length).length + ')');
  t.true(overhead < 300, String(overhead));
  // No payload assets: the payload ends at the NUL.
  const bare = makePayload(100, 0);
  t.true(verifyPackage(createImagePackage({ ...FIELDS, app: 100 }, bare, key), [key.publicKey]).ok);
});

test('createImagePackage refuses what a verifier would refuse, naming it', (t) => {
  t.throws(() => createImagePackage({ ...FIELDS, version: '1.2' }, payload, key), { message: /version \(6\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, version: '1.02.3' }, payload, key), { message: /version \(6\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, counter: 2 ** 32 }, payload, key), { message: /counter \(7\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, vendor: '' }, payload, key), { message: /vendor \(2\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, vendor: 'ホシ' }, payload, key), { message: /vendor \(2\).*printable ASCII/ });
  t.throws(() => createImagePackage({ ...FIELDS, runtime: 'node' }, payload, key), { message: /runtime \(4\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, notes: 'http://example.com/' }, payload, key), { message: /notes \(12\)/ });
  t.throws(() => createImagePackage({ ...FIELDS, app: 4999 }, payload, key), { message: /payload: no NUL/ });
  t.throws(() => createImagePackage({ ...FIELDS, app: 5000 }, Object.assign(payload.slice(), { 17: 0 }), key), { message: /payload: the app text has a byte 0x0 at 17/ });
  t.throws(() => createImagePackage({ ...FIELDS, app: 5000 }, Object.assign(payload.slice(), { 6000: 0 }), key), { message: /padding/ });
  t.throws(() => createImagePackage({ ...FIELDS }, payload.slice(0, 6000), key), { message: /ends inside the padding/ });
  const big = makePayload(100, SLOT_CAPACITY['kaluma-pico-w']! - 4096 + 1);
  t.throws(() => createImagePackage({ ...FIELDS, app: 100 }, big, key), { message: /a kaluma-pico-w slot holds 241664/ });
  t.notThrows(() => createImagePackage({ ...FIELDS, app: 100 }, big.subarray(0, SLOT_CAPACITY['kaluma-pico-w']!), key));
});

test('versions: MAJOR.MINOR.PATCH, each 0-65535 without leading zeros, in semantic-version order', (t) => {
  for (const v of ['0.0.0', '1.2.3', '65535.65535.65535', '10.0.1']) t.truthy(parseVersion(v), v);
  for (const v of ['1.2', '1.2.3.4', '01.2.3', '1.02.3', '1.2.03', '65536.0.0', '1.2.3-rc1', ' 1.2.3', '1..3', '', 'a.b.c', '+1.2.3']) t.is(parseVersion(v), undefined, v);
  t.true(compareVersions('1.10.0', '1.9.9') > 0);
  t.true(compareVersions('2.0.0', '10.0.0') < 0);
  t.is(compareVersions('1.2.3', '1.2.3'), 0);
});

// ---------------------------------------------------------------------------------------------
// Refusals: every code of update.md §6 a package alone can earn

/** Manifest changes, each signed properly, and the code a verifier must give. */
const manifestCases: [string, (m: CborMap) => void, UpdateCode][] = [
  ['format 2', (m) => m.set(0, 2), 'format-unsupported'],
  ['format 0', (m) => m.set(0, 0), 'format-unsupported'],
  ['no format', (m) => m.delete(0), 'manifest-malformed'],
  ['format as text', (m) => m.set(0, '1'), 'manifest-malformed'],
  ['key 15', (m) => m.set(15, 1), 'manifest-unknown-field'],
  ['key 1000', (m) => m.set(1000, 1), 'manifest-unknown-field'],
  ['a text key', (m) => m.set('vendor', 'x'), 'manifest-malformed'],
  ['a negative key', (m) => m.set(-1, 'x'), 'manifest-malformed'],
  ['kind 3', (m) => m.set(1, 3), 'manifest-malformed'],
  ['kind 0', (m) => m.set(1, 0), 'manifest-malformed'],
  ['no kind', (m) => m.delete(1), 'manifest-malformed'],
  ['an empty vendor', (m) => m.set(2, ''), 'manifest-malformed'],
  ['a vendor of 65 bytes', (m) => m.set(2, 'v'.repeat(65)), 'manifest-malformed'],
  ['a vendor not ASCII', (m) => m.set(2, 'Hoshi ベンダー'), 'manifest-malformed'],
  ['a vendor with a control character', (m) => m.set(2, 'Hoshi\nvendor'), 'manifest-malformed'],
  ['a vendor as bytes', (m) => m.set(2, ascii('Hoshi')), 'manifest-malformed'],
  ['a model of 65 bytes', (m) => m.set(3, 'm'.repeat(65)), 'manifest-malformed'],
  ['runtime nodejs', (m) => m.set(4, 'nodejs'), 'manifest-malformed'],
  ['a board of 33 bytes', (m) => m.set(5, 'b'.repeat(33)), 'manifest-malformed'],
  ['version 1.2', (m) => m.set(6, '1.2'), 'manifest-malformed'],
  ['version 01.2.3', (m) => m.set(6, '01.2.3'), 'manifest-malformed'],
  ['version 1.2.65536', (m) => m.set(6, '1.2.65536'), 'manifest-malformed'],
  ['version 1.2.3-rc1', (m) => m.set(6, '1.2.3-rc1'), 'manifest-malformed'],
  ['version as a number', (m) => m.set(6, 123), 'manifest-malformed'],
  ['no version', (m) => m.delete(6), 'manifest-malformed'],
  ['counter 2^32', (m) => m.set(7, 2 ** 32), 'manifest-malformed'],
  ['counter -1', (m) => m.set(7, -1), 'manifest-malformed'],
  ['size 0', (m) => m.set(8, 0), 'manifest-malformed'],
  ['size 2^32', (m) => m.set(8, 2 ** 32), 'manifest-malformed'],
  ['a 31-byte digest', (m) => m.set(9, new Uint8Array(31)), 'manifest-malformed'],
  ['a digest as text', (m) => m.set(9, 'ab'), 'manifest-malformed'],
  ['a 7-byte kid', (m) => m.set(10, new Uint8Array(7)), 'manifest-malformed'],
  ["a kid that is not the header's", (m) => m.set(10, new Uint8Array(8)), 'manifest-malformed'],
  ['no kid', (m) => m.delete(10), 'manifest-malformed'],
  ['app 0', (m) => m.set(11, 0), 'manifest-malformed'],
  ['app = size', (m) => m.set(11, payload.length), 'manifest-malformed'],
  ['no app', (m) => m.delete(11), 'manifest-malformed'],
  ['notes over http', (m) => m.set(12, 'http://example.com/'), 'manifest-malformed'],
  ['notes of 201 bytes', (m) => m.set(12, 'https://' + 'n'.repeat(193)), 'manifest-malformed'],
  ['notes "https://" alone', (m) => m.set(12, 'https://'), 'manifest-malformed'],
  ['an image package that adds a key', (m) => m.set(13, new Uint8Array(32).fill(1)), 'manifest-malformed'],
  ['an image package that retires a kid', (m) => m.set(14, new Uint8Array(8).fill(1)), 'manifest-malformed'],
  ['a key rotation with a version', (m) => { m.set(1, 2).set(13, randomBytes(32)).delete(8); m.delete(9); m.delete(11); }, 'manifest-malformed'],
  ['a key rotation with neither add nor retire', (m) => { m.set(1, 2).delete(6); m.delete(8); m.delete(9); m.delete(11); }, 'manifest-malformed'],
  ['a key rotation adding 31 bytes', (m) => { m.set(1, 2).set(13, new Uint8Array(31)).delete(6); m.delete(8); m.delete(9); m.delete(11); }, 'manifest-malformed'],
  ['the manifest an array', (m) => m.clear(), 'manifest-malformed'],
];

for (const [name, change, code] of manifestCases) {
  test(`hostile manifest: ${name} → ${code}`, (t) => {
    const m = manifestMap();
    change(m);
    const bytes = name === 'the manifest an array' ? encodeCbor([1, 2]) : encodeCbor(m);
    const r = refusal(rawPackage(bytes));
    t.like(r, { code });
    t.is(typeof r === 'object' && typeof r.reason, 'string');
    // The encoder refuses the same values (keys it does not know it cannot write; the header's kid it does not see).
    const known = [...m.keys()].every((k) => typeof k === 'number' && k >= 0 && k <= 14);
    if (known && code !== 'format-unsupported' && !name.includes("header's")) t.throws(() => encodeManifest(toManifest(m)));
  });
}

/** A map turned back into Manifest fields (for encodeManifest's own refusals). */
function toManifest(m: CborMap): Manifest {
  const names = ['format', 'kind', 'vendor', 'model', 'runtime', 'board', 'version', 'counter', 'size', 'digest', 'kid', 'app', 'notes', 'add', 'retire'];
  const out: { [k: string]: unknown } = {};
  for (const [k, v] of m) out[names[k as number] ?? 'x' + String(k)] = v;
  return out as unknown as Manifest;
}

/** Manifest bytes written by hand: what the encoder never writes. */
function manifestWith(tail: number[], count = 13): Uint8Array {
  const body = encodeCbor(manifestMap()).subarray(1);
  return concat(Uint8Array.from([0xa0 | count]), body, Uint8Array.from(tail));
}

const cborCases: [string, () => Uint8Array, UpdateCode][] = [
  ['a non-shortest integer in the manifest (counter 7 as 18 07)', () => replaceManifest((b) => swap(b, concat(ascii('1.2.3'), Uint8Array.from([0x07, 0x07])), concat(ascii('1.2.3'), Uint8Array.from([0x07, 0x18, 0x07])))), 'package-malformed'],
  ['a non-shortest map head', () => rawPackage(concat(Uint8Array.from([0xb8, 12]), encodeCbor(manifestMap()).subarray(1))), 'package-malformed'],
  ['an indefinite-length map', () => rawPackage(concat(Uint8Array.from([0xbf]), encodeCbor(manifestMap()).subarray(1), Uint8Array.from([0xff]))), 'package-malformed'],
  ['an indefinite-length text string', () => replaceManifest((b) => swap(b, concat(Uint8Array.from([0x03, 0x6a]), ascii('HS-PLUG-01')), concat(Uint8Array.from([0x03, 0x7f, 0x6a]), ascii('HS-PLUG-01'), Uint8Array.from([0xff])))), 'package-malformed'],
  ['keys out of order', () => rawPackage(encodeKeysAsGiven([[1, 1], [0, 1]])), 'package-malformed'],
  ['a duplicate key', () => rawPackage(manifestWith([0x00, 0x01])), 'package-malformed'],
  ['a tag inside the manifest', () => rawPackage(manifestWith([0x0c, 0xd8, 0x20, 0x73, ...ascii('https://example.com')])), 'package-malformed'],
  ['a float in the manifest', () => rawPackage(manifestWith([0x0c, 0xf9, 0x3c, 0x00])), 'package-malformed'],
  ['a simple value (true) in the manifest', () => rawPackage(manifestWith([0x0c, 0xf5])), 'package-malformed'],
  ['null in the manifest', () => rawPackage(manifestWith([0x0c, 0xf6])), 'package-malformed'],
  ['nesting past 4 levels', () => rawPackage(manifestWith([0x0c, 0x81, 0x81, 0x81, 0x81, 0x01])), 'package-malformed'],
  ['nesting of 4 levels (a value of the wrong type)', () => rawPackage(manifestWith([0x0c, 0x81, 0x81, 0x81, 0x01])), 'manifest-malformed'],
  ['invalid UTF-8 in a text string', () => replaceManifest((b) => swap(b, ascii('HS-PLUG-01'), Uint8Array.from([0x48, 0x53, 0xc3, 0x28, 0x4c, 0x55, 0x47, 0x2d, 0x30, 0x31]))), 'package-malformed'],
  ['a reserved head (1c)', () => rawPackage(manifestWith([0x1c])), 'package-malformed'],
  ['a map count past the manifest', () => rawPackage(manifestWith([], 14)), 'package-malformed'],
  ['a text length past the manifest', () => rawPackage(manifestWith([0x0c, 0x78, 0xff, 0x68])), 'package-malformed'],
  ['bytes after the manifest inside its byte string', () => rawPackage(concat(encodeCbor(manifestMap()), Uint8Array.from([0x00]))), 'package-malformed'],
  ['an untagged COSE_Sign1', () => rawSign1(encodeCbor(manifestMap())).subarray(1), 'package-malformed'],
  ['tag 98 (COSE_Sign)', () => rawPackage(encodeCbor(manifestMap()), payload, key, { tag: 98 }), 'package-malformed'],
  ['tag 18 in a two-byte head', () => concat(Uint8Array.from([0xd8, 0x12]), good.subarray(1)), 'package-malformed'],
  ['tag 18 twice', () => concat(Uint8Array.from([0xd2]), good), 'package-malformed'],
  ['an array of 3', () => concat(Uint8Array.from([0xd2, 0x83]), good.subarray(2)), 'package-malformed'],
  ['a protected header with a third key', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -8], [3, 'application/x'], [4, key.kid]])) }), 'package-malformed'],
  ['a protected header without kid', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -8]])) }), 'package-malformed'],
  ['a protected header with a 7-byte kid', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -8], [4, key.kid.subarray(0, 7)]])) }), 'package-malformed'],
  ['an empty protected header', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: new Uint8Array(0) }), 'package-malformed'],
  ['alg -7 (ES256)', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -7], [4, key.kid]])) }), 'alg-unsupported'],
  ['alg "EdDSA" as text', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, 'EdDSA'], [4, key.kid]])) }), 'alg-unsupported'],
  ['alg -50 (ML-DSA-44)', () => rawPackage(encodeCbor(manifestMap()), payload, key, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -50], [4, key.kid]])) }), 'alg-unsupported'],
  ['the kid in the unprotected header', () => rawPackage(encodeCbor(manifestMap()), payload, key, { unprotected: new Map<number, Cbor>([[4, key.kid]]) }), 'package-malformed'],
  ['a 63-byte signature', () => rawPackage(encodeCbor(manifestMap()), payload, key, { signature: new Uint8Array(63) }), 'package-malformed'],
  ['bytes after the payload', () => concat(good, Uint8Array.from([0x00])), 'package-malformed'],
  ['a text string as the payload', () => concat(rawSign1(encodeCbor(manifestMap())), Uint8Array.from([0x60])), 'package-malformed'],
  ['a payload head not in its shortest form', () => concat(rawSign1(encodeCbor(manifestMap())), Uint8Array.from([0x5b, 0, 0, 0, 0, 0, 0, 0x1f, 0x40]), payload), 'package-malformed'],
  ['a COSE_Sign1 over 1024 bytes', () => rawPackage(encodeCbor(manifestMap().set(12, 'https://' + 'n'.repeat(1000)))), 'package-too-large'],
  ['a COSE_Sign1 declaring a 64 KB manifest, cut short', () => concat(Uint8Array.from([0xd2, 0x84, 0x40, 0xa0, 0x59, 0xff, 0xff]), new Uint8Array(100)), 'package-too-large'],
  ['an empty file', () => new Uint8Array(0), 'package-truncated'],
  ['the COSE_Sign1 alone', () => rawSign1(encodeCbor(manifestMap())), 'package-truncated'],
  ['a payload cut short', () => good.subarray(0, good.length - 1), 'package-truncated'],
  ['a key rotation whose payload is not empty', () => rawPackage(encodeCbor(new Map<number, Cbor>([[0, 1], [1, 2], [2, 'v'], [3, 'm'], [4, 'host'], [5, 'host'], [7, 1], [10, key.kid], [13, newSigningKey().publicKey]])), new Uint8Array(1)), 'size-mismatch'],
  ['a payload one byte longer than size', () => rawPackage(encodeCbor(manifestMap()), concat(payload, Uint8Array.from([1]))), 'size-mismatch'],
  ['a payload whose SHA-256 is not the digest', () => rawPackage(encodeCbor(manifestMap()), Object.assign(payload.slice(), { 7000: payload[7000]! ^ 1 })), 'digest-mismatch'],
  ['a payload past the slot', () => { const big = makePayload(100, 241665 - 4096); const m = manifestMap(big); m.set(11, 100); return rawPackage(encodeCbor(m), big); }, 'image-too-large'],
  ['another key', () => createImagePackage(FIELDS, payload, newSigningKey()), 'key-unknown'],
  ['a flipped signature bit', () => Object.assign(good.slice(), { [parsedLength() - 1]: good[parsedLength() - 1]! ^ 1 }), 'signature-invalid'],
  ['a changed manifest (counter 7 → 8) under the old signature', () => swapOnce(good, concat(ascii('1.2.3'), Uint8Array.from([0x07, 0x07])), concat(ascii('1.2.3'), Uint8Array.from([0x07, 0x08]))), 'signature-invalid'],
  ['a signature by the right kid but another key', () => { const other = newSigningKey(); return rawPackage(encodeCbor(manifestMap()), payload, key, { signature: new Uint8Array(edSign(null, sigStructure(encodeCbor(new Map<number, Cbor>([[1, -8], [4, key.kid]])), encodeCbor(manifestMap())), other.privateKey)) }); }, 'signature-invalid'],
];

function parsedLength(): number {
  const s = parseSign1(good);
  return s.ok ? s.value.length : 0;
}

function swap(b: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const at = Buffer.from(b).indexOf(Buffer.from(from));
  if (at < 0) throw new Error('pattern not found');
  return concat(b.subarray(0, at), to, b.subarray(at + from.length));
}

function swapOnce(b: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  if (from.length !== to.length) throw new Error('same length only');
  return swap(b, from, to);
}

function replaceManifest(change: (manifest: Uint8Array) => Uint8Array): Uint8Array {
  return rawPackage(change(encodeCbor(manifestMap())));
}

/** A manifest map whose first keys are written in the order given (then the rest, in order). */
function encodeKeysAsGiven(first: [number, Cbor][]): Uint8Array {
  const m = manifestMap();
  for (const [k] of first) m.delete(k);
  const rest = encodeCbor(m).subarray(1);
  return concat(Uint8Array.from([0xa0 | (m.size + first.length)]), ...first.map(([k, v]) => concat(encodeCbor(k), encodeCbor(v))), rest);
}

for (const [name, make, code] of cborCases) {
  test(`hostile package: ${name} → ${code}`, (t) => {
    const bytes = make();
    t.like(refusal(bytes), { code });
  });
}

test('every prefix of a package is package-truncated; the whole verifies', (t) => {
  const small = createImagePackage({ ...FIELDS, app: 10 }, makePayload(10, 0), key);
  for (let n = 0; n < small.length; n++) t.like(refusal(small.subarray(0, n)), { code: 'package-truncated' }, 'prefix ' + n);
  t.is(refusal(small), 'ok');
});

test('random bytes, bit flips and truncations never throw and never verify', (t) => {
  const small = createImagePackage({ ...FIELDS, app: 300 }, makePayload(300, 0), key);
  const codes = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const b = small.slice();
    const kind = i % 4;
    if (kind === 0) b[(i * 7919) % b.length]! ^= 1 << (i % 8);
    else if (kind === 1) b.set(randomBytes(4), (i * 31) % (b.length - 4));
    else if (kind === 2) b[(i * 13) % 400] = (i * 37) & 0xff;
    const bytes = kind === 3 ? new Uint8Array(randomBytes(1 + (i % 600))) : b;
    if (Buffer.compare(bytes, small) === 0) continue;
    let r: ReturnType<typeof verifyPackage> | undefined;
    t.notThrows(() => (r = verifyPackage(bytes, [key.publicKey])));
    t.false(r!.ok);
    if (!r!.ok) codes.set(r!.code, (codes.get(r!.code) ?? 0) + 1);
    t.notThrows(() => parsePointer(bytes));
  }
  t.log([...codes].map(([c, n]) => c + ' ' + n).join(', '));
  t.true(codes.size >= 6);
});

test('decodeExact refuses what is not deterministic CBOR, and never throws', (t) => {
  const bad = ['1805', '190005', '1a00000005', '1b0000000000000005', '5f40ff', '9f01ff', 'bf0001ff', 'a2010000', 'a201000100', 'f4', 'f97e00', 'fb3ff0000000000000', 'd81801', 'c1a0', 'a1a00000', '61', '62ff', '1c', 'ff', '8181818181', ''];
  for (const h of bad) {
    const r = decodeExact(new Uint8Array(Buffer.from(h, 'hex')));
    t.false(r.ok, h);
    t.is(!r.ok && r.code, 'package-malformed', h);
  }
  for (const h of ['17', '1818', '190100', '1a00010000', '1b0000000100000000', '20', '3818', '40', '60', '80', 'a0', '81818101', 'a201000201', 'a1616101', 'a20001616101']) t.true(decodeExact(new Uint8Array(Buffer.from(h, 'hex'))).ok, h);
  t.is(checkManifest(1).ok, false);
});

// ---------------------------------------------------------------------------------------------
// Key rotation and pointers

test('key-rotation packages: add, retire or both; empty payload; what every device refuses is refused here', (t) => {
  const next = newSigningKey();
  const base = { vendor: 'Hoshi example vendor', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', counter: 7 };
  const add = createRotationPackage({ ...base, add: next.publicKey }, key);
  const a = verifyPackage(add, [key.publicKey]);
  if (!a.ok) return t.fail(a.reason);
  t.is(a.value.manifest.kind, 2);
  t.deepEqual(a.value.manifest.add, next.publicKey);
  t.is(a.value.payloadLength, 0);
  t.is(add[add.length - 1], 0x40, 'an empty byte string ends it');
  t.deepEqual([...(decodeExact(a.value.payload).ok ? ((decodeExact(a.value.payload) as { value: CborMap }).value.keys()) : [])], [0, 1, 2, 3, 4, 5, 7, 10, 13]);
  const both = verifyPackage(createRotationPackage({ ...base, add: next.publicKey, retire: key.kid }, key), [key.publicKey]);
  t.true(both.ok && !!both.value.manifest.retire);
  t.true(verifyPackage(createRotationPackage({ ...base, retire: newSigningKey().kid }, key), [key.publicKey]).ok);
  t.throws(() => createRotationPackage({ ...base }, key), { message: /add a key, retire a kid/ });
  t.throws(() => createRotationPackage({ ...base, retire: key.kid }, key), { message: /retiring the signing key/ });
  t.throws(() => createRotationPackage({ ...base, add: key.publicKey }, key), { message: /signing key, trusted already/ });
  t.throws(() => createRotationPackage({ ...base, add: next.publicKey, retire: next.kid }, key), { message: /added is the one retired/ });
  t.true(describePackage(a.value).some((l) => l.includes('adds key ' + hex(next.publicKey))));
});

test('pointers: a signed map of text keys, told apart from packages both ways', (t) => {
  const pointer = { format: 1, vendor: FIELDS.vendor, model: FIELDS.model, runtime: 'kaluma', board: 'kaluma-pico-w', version: '1.2.3', counter: 7, path: '1.2.3.hoshi', sha256: sha256(good), size: good.length };
  const bytes = createPointer(pointer, key);
  const v = verifyPointer(bytes, [key.publicKey]);
  if (!v.ok) return t.fail(v.reason);
  t.deepEqual(v.value.pointer, pointer);
  t.true(looksLikePointer(bytes));
  t.false(looksLikePointer(good));
  // A pointer is no package (no integer keys: the device's parser refuses its map), and the reverse.
  t.like(refusal(concat(bytes, Uint8Array.from([0x40]))), { code: 'manifest-malformed' });
  t.like(parsePointer(good), { ok: false, code: 'package-malformed' });
  t.like(verifyPointer(bytes, [newSigningKey().publicKey]), { ok: false, code: 'key-unknown' });
  t.like(verifyPointer(Object.assign(bytes.slice(), { [bytes.length - 1]: bytes[bytes.length - 1]! ^ 1 }), [key.publicKey]), { ok: false, code: 'signature-invalid' });
  t.throws(() => createPointer({ ...pointer, path: '../1.2.3.hoshi' }, key), { message: /path/ });
  t.throws(() => createPointer({ ...pointer, path: '1.2.4.hoshi' }, key), { message: /path/ });
  // The keys in deterministic order: shorter first, then bytewise.
  const s = parseSign1(bytes);
  const m = s.ok && decodeExact(s.value.payload);
  t.deepEqual(m && m.ok && [...(m.value as CborMap).keys()], ['path', 'size', 'board', 'model', 'format', 'sha256', 'vendor', 'counter', 'runtime', 'version']);
});

// ---------------------------------------------------------------------------------------------
// Key files

test('key files: PKCS#8 private key mode 0600, SPKI public key beside it; read back; the kid is SHA-256 of the public key, first 8 bytes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'release.key');
  const w = writeKeyPair(file);
  t.is(statSync(file).mode & 0o777, 0o600);
  t.regex(readFileSync(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  t.regex(readFileSync(file + '.pub', 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const k = readSigningKey(file);
  t.deepEqual(k.publicKey, w.publicKey);
  t.deepEqual(readPublicKey(file + '.pub'), w.publicKey);
  t.deepEqual(k.kid, sha256(w.publicKey).subarray(0, 8));
  t.true(verifyPackage(createImagePackage(FIELDS, payload, k), [readPublicKey(file + '.pub')]).ok);
  // Never replaced.
  t.throws(() => writeKeyPair(file), { instanceOf: ToolError, message: /exists/ });
  writeFileSync(join(dir, 'other.key.pub'), 'x');
  t.throws(() => writeKeyPair(join(dir, 'other.key')), { message: /other\.key\.pub exists/ });
  t.false(existsSync(join(dir, 'other.key')), 'nothing written when the .pub is in the way');
  // Read refusals.
  chmodSync(file, 0o644);
  t.throws(() => readSigningKey(file), { message: /can be read by others/ });
  chmodSync(file, 0o600);
  t.throws(() => readSigningKey(file + '.pub'), { message: /not a PEM private key/ });
  t.throws(() => readPublicKey(file), { message: /holds a private key/ });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'ec.key'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  t.throws(() => readSigningKey(join(dir, 'ec.key')), { message: /ec key, not Ed25519/ });
  t.throws(() => readSigningKey(join(dir, 'none.key')), { message: /cannot read/ });
});

test('key files are never written inside the repository, however the path reaches it (symbolic links, ..)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.true(insideRepository(join(ROOT, 'release.key')));
  t.true(insideRepository(join(ROOT, 'docs', 'deep', 'new', 'release.key')));
  t.true(insideRepository(ROOT));
  t.true(insideRepository('release.key', ROOT, ROOT), 'relative to a working directory in the repository');
  t.false(insideRepository(join(dir, 'release.key')));
  t.false(insideRepository(ROOT + '-sibling/release.key'));
  symlinkSync(ROOT, join(dir, 'repo'));
  t.true(insideRepository(join(dir, 'repo', 'release.key')), 'through a link to the repository');
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(ROOT, 'docs'), join(dir, 'real', 'docs-link'));
  // dir/real/docs-link/.. is the repository (the system resolves the link first), not dir/real.
  t.true(insideRepository(join(dir, 'real') + '/docs-link/../release.key'));
  t.is(resolveReal(join(dir, 'real') + '/docs-link/../x'), join(ROOT, 'x'));
  symlinkSync(join(ROOT, 'no-such-file.key'), join(dir, 'dangling.key'));
  t.throws(() => writeKeyPair(join(dir, 'dangling.key')), { instanceOf: ToolError });
  t.false(existsSync(join(ROOT, 'no-such-file.key')));
  for (const f of [join(ROOT, 'release.key'), join(dir, 'repo', 'release.key')]) {
    const e = t.throws(() => writeKeyPair(f), { instanceOf: ToolError, message: /inside the repository/ });
    t.is((e as ToolError).code, 'inside-repository');
  }
  t.false(existsSync(join(ROOT, 'release.key')));
});

// ---------------------------------------------------------------------------------------------
// Commands: messages and exit codes

/** Runs a command with its console output captured (tests using it run serially). */
async function capture(run: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    return { code: await run(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A workspace with a key pair made by `hoshi keygen`. */
async function workspace(t: { teardown(f: () => void): void }): Promise<{ dir: string; keyFile: string; pubFile: string; key: SigningKey }> {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'release.key');
  const r = await capture(() => keygen(['--out', keyFile]));
  if (r.code !== 0) throw new Error(r.err);
  return { dir, keyFile, pubFile: keyFile + '.pub', key: readSigningKey(keyFile) };
}

/** A payload builder standing in for firmware/host/payload.ts: the layout of update.md §3 for any example. */
const fakeBuild: BuildPayload = async (example, target, options) => {
  if (example !== 'smart-plug') throw new Error('example ' + example + ': cannot read examples/' + example + '/manifest.json');
  const board = options.board ?? (target === 'kaluma' ? 'kaluma-pico-w' : target === 'espruino' ? 'espruino-esp32' : 'host');
  return { payload: makePayload(5000, 3000), app: 5000, runtime: target, board, vendor: 'Hoshi example vendor', model: 'HS-PLUG-01' };
};

test.serial('hoshi keygen: prints the kid, writes 0600 + .pub, refuses the repository (3), an existing file (4), a usage error (2)', async (t) => {
  const { dir, keyFile, key: k } = await workspace(t);
  const again = await capture(() => keygen(['--out', keyFile]));
  t.is(again.code, EXIT.exists);
  t.is(again.code, 4);
  t.regex(again.err, /release\.key exists/);
  const fresh = await capture(() => keygen(['--out', join(dir, 'b.key')]));
  t.is(fresh.code, 0);
  t.regex(fresh.out, new RegExp('^kid ' + hex(readSigningKey(join(dir, 'b.key')).kid) + '\\n'));
  t.is(statSync(join(dir, 'b.key')).mode & 0o777, 0o600);
  t.true(statSync(join(dir, 'b.key.pub')).isFile());
  t.notDeepEqual(readSigningKey(join(dir, 'b.key')).kid, k.kid);
  const repo = await capture(() => keygen(['--out', join(ROOT, 'test', 'release.key')]));
  t.is(repo.code, 3);
  t.regex(repo.err, /inside the repository/);
  t.false(existsSync(join(ROOT, 'test', 'release.key')));
  symlinkSync(join(ROOT, 'test'), join(dir, 'in-repo'));
  t.is((await capture(() => keygen(['--out', join(dir, 'in-repo', 'x.key')]))).code, 3);
  t.false(existsSync(join(ROOT, 'test', 'x.key')));
  for (const args of [[], ['--out'], ['--bogus', 'x'], ['file', '--out', join(dir, 'c.key')]]) {
    const u = await capture(() => keygen(args));
    t.is(u.code, 2, args.join(' '));
    t.regex(u.err, /usage:/);
  }
});

test.serial('hoshi release: writes <model>-<version>-<board>.hoshi here, never replaces it; every refusal has its exit code', async (t) => {
  const { dir, keyFile, pubFile, key: k } = await workspace(t);
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const ok = await capture(() => release(['smart-plug', '--version', '1.2.3', '--counter', '7', '--key', keyFile, '--notes', 'https://example.com/notes'], fakeBuild));
  t.is(ok.code, 0, ok.err);
  const file = join(dir, 'HS-PLUG-01-1.2.3-kaluma-pico-w.hoshi');
  t.regex(ok.out, /HS-PLUG-01-1\.2\.3-kaluma-pico-w\.hoshi: HS-PLUG-01 1\.2\.3 for kaluma on kaluma-pico-w, counter 7/);
  const v = verifyPackage(new Uint8Array(readFileSync(file)), [readPublicKey(pubFile)]);
  if (!v.ok) return t.fail(v.reason);
  t.like(v.value.manifest, { version: '1.2.3', counter: 7, runtime: 'kaluma', board: 'kaluma-pico-w', notes: 'https://example.com/notes', app: 5000 });
  t.deepEqual(v.value.kid, k.kid);
  const before = readFileSync(file);
  t.is((await capture(() => release(['smart-plug', '--version', '1.2.3', '--counter', '7', '--key', keyFile], fakeBuild))).code, 4);
  t.deepEqual(readFileSync(file), before, 'not replaced');
  const other = await capture(() => release(['smart-plug', '--version', '1.2.4', '--counter', '8', '--key', keyFile, '--target', 'espruino', '--out', join(dir, 'x.hoshi')], fakeBuild));
  t.is(other.code, 0, other.err);
  t.like(parsePackage(new Uint8Array(readFileSync(join(dir, 'x.hoshi')))), { ok: true, value: { manifest: { runtime: 'espruino', board: 'espruino-esp32' } } });
  const host = await capture(() => release(['smart-plug', '--version', '1.2.4', '--counter', '8', '--key', keyFile, '--target', 'host'], fakeBuild));
  t.is(host.code, 0, host.err);
  t.true(existsSync(join(dir, 'HS-PLUG-01-1.2.4-host.hoshi')));
  const usage: string[][] = [
    [],
    ['smart-plug'],
    ['smart-plug', '--version', '1.2', '--counter', '1', '--key', keyFile],
    ['smart-plug', '--version', '1.2.3', '--counter', '-1', '--key', keyFile],
    ['smart-plug', '--version', '1.2.3', '--counter', '4294967296', '--key', keyFile],
    ['smart-plug', '--version', '1.2.3', '--counter', '1'],
    ['smart-plug', '--version', '1.2.3', '--counter', '1', '--key', keyFile, '--target', 'arduino'],
    ['smart-plug', '--version', '1.2.3', '--counter', '1', '--key', keyFile, '--board', 'espruino-esp32'],
    ['smart-plug', '--version', '1.2.3', '--counter', '1', '--key', keyFile, '--notes', 'http://example.com'],
    ['smart-plug', '--version', '1.2.3', '--counter', '1', '--key', keyFile, '--version', '1.2.4'],
  ];
  for (const args of usage) t.is((await capture(() => release(args, fakeBuild))).code, 2, args.join(' '));
  t.is((await capture(() => release(['smart-plug', '--version', '2.0.0', '--counter', '1', '--key', pubFile], fakeBuild))).code, 5, 'a public key to sign with');
  t.is((await capture(() => release(['smart-plug', '--version', '2.0.0', '--counter', '1', '--key', join(dir, 'none')], fakeBuild))).code, 5);
  const missing = await capture(() => release(['no-such-example', '--version', '2.0.0', '--counter', '1', '--key', keyFile], fakeBuild));
  t.is(missing.code, 1);
  t.regex(missing.err, /no-such-example/);
  const tooBig: BuildPayload = async (e, target, o) => ({ ...(await fakeBuild(e, target, o)), payload: makePayload(100, 250000), app: 100 });
  const big = await capture(() => release(['smart-plug', '--version', '2.0.0', '--counter', '1', '--key', keyFile], tooBig));
  t.is(big.code, 1);
  t.regex(big.err, /slot holds 241664/);
  t.false(existsSync(join(dir, 'HS-PLUG-01-2.0.0-kaluma-pico-w.hoshi')));
});

test.serial('hoshi verify: OK for a good package (exit 0), and one exit code per refusal', async (t) => {
  const { dir, keyFile, pubFile, key: k } = await workspace(t);
  const write = (name: string, bytes: Uint8Array): string => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const pkg = createImagePackage(FIELDS, payload, k);
  const ok = await capture(() => verify([write('good.hoshi', pkg), '--pub', pubFile]));
  t.is(ok.code, 0, ok.err);
  t.regex(ok.out, new RegExp('good\\.hoshi: OK, HS-PLUG-01 1\\.2\\.3 \\(kaluma, kaluma-pico-w, counter 7, ' + payload.length + ' bytes\\), signed by kid [0-9a-f]{16} \\(alg -8\\)'));
  const other = join(dir, 'other.key');
  await capture(() => keygen(['--out', other]));
  t.is((await capture(() => verify([join(dir, 'good.hoshi'), '--pub', other + '.pub', '--pub', pubFile]))).code, 0, 'any of the keys given');
  const cases: [string, Uint8Array, number][] = [
    ['truncated', pkg.subarray(0, pkg.length - 10), 10],
    ['malformed', concat(pkg, Uint8Array.from([0])), 11],
    ['too-large', concat(Uint8Array.from([0xd2, 0x84, 0x40, 0xa0, 0x59, 0xff, 0xff]), new Uint8Array(100)), 12],
    ['alg', rawPackage(encodeCbor(manifestMap(payload, k)), payload, k, { protectedBytes: encodeCbor(new Map<number, Cbor>([[1, -7], [4, k.kid]])) }), 13],
    ['manifest', rawPackage(encodeCbor(manifestMap(payload, k).set(6, '1.2')), payload, k), 14],
    ['unknown-field', rawPackage(encodeCbor(manifestMap(payload, k).set(15, 1)), payload, k), 15],
    ['format', rawPackage(encodeCbor(manifestMap(payload, k).set(0, 2)), payload, k), 16],
    ['key-unknown', createImagePackage(FIELDS, payload, newSigningKey()), 17],
    ['signature', Object.assign(pkg.slice(), { 200: pkg[200]! ^ 1 }), 18],
    ['too-large-image', (() => { const big = makePayload(100, 241665 - 4096); return rawPackage(encodeCbor(manifestMap(big, k).set(11, 100)), big, k); })(), 19],
    ['size', rawPackage(encodeCbor(manifestMap(payload, k)), concat(payload, Uint8Array.from([1])), k), 20],
    ['digest', rawPackage(encodeCbor(manifestMap(payload, k)), Object.assign(payload.slice(), { 5: 0x41 }), k), 21],
  ];
  for (const [name, bytes, code] of cases) {
    const r = await capture(() => verify([write(name + '.hoshi', bytes), '--pub', pubFile]));
    t.is(r.code, code, name + ': ' + r.err);
    t.regex(r.err, /^hoshi verify: .*\.hoshi: [a-z-]+: ./, name);
    t.is(r.out, '');
  }
  t.is((await capture(() => verify([join(dir, 'good.hoshi')]))).code, 2, 'no --pub');
  t.is((await capture(() => verify(['--pub', pubFile]))).code, 2, 'no file');
  t.is((await capture(() => verify([join(dir, 'none.hoshi'), '--pub', pubFile]))).code, 1);
  t.is((await capture(() => verify([join(dir, 'good.hoshi'), '--pub', keyFile]))).code, 5, 'a private key as --pub');
});

test.serial('hoshi inspect: header, manifest, sizes and overhead without a key; refusals keep their exit codes', async (t) => {
  const { dir, key: k } = await workspace(t);
  const pkg = createImagePackage({ ...FIELDS, notes: 'https://example.com/n' }, payload, k);
  writeFileSync(join(dir, 'p.hoshi'), pkg);
  const r = await capture(() => inspect([join(dir, 'p.hoshi')]));
  t.is(r.code, 0, r.err);
  const s = parseSign1(pkg);
  const sign1 = s.ok ? s.value.length : 0;
  for (const line of [
    'package: ' + pkg.length + ' bytes',
    'COSE_Sign1: ' + sign1 + ' bytes (at most 1024), tag 18',
    'protected header (13 bytes): alg -8 (EdDSA), kid ' + hex(k.kid),
    '   0 format   1',
    '   1 kind     1 (image)',
    '   2 vendor   "Hoshi example vendor"',
    '   6 version  "1.2.3"',
    '   7 counter  7',
    '   8 size     ' + payload.length,
    '   9 digest   ' + hex(sha256(payload)),
    '  10 kid      ' + hex(k.kid),
    '  11 app      5000',
    '  12 notes    "https://example.com/n"',
    'payload: ' + payload.length + ' bytes at offset ' + (pkg.length - payload.length) + ': app text 5000 bytes, assets 3000 bytes at offset 8192',
    'overhead: ' + (pkg.length - payload.length) + ' bytes (package length ' + pkg.length + ' − payload length ' + payload.length + ')',
    "digest: the payload's SHA-256 matches",
  ]) t.true(r.out.includes(line + '\n'), line + '\n---\n' + r.out);
  t.log(r.out);
  writeFileSync(join(dir, 'd.hoshi'), concat(pkg.subarray(0, pkg.length - 1), Uint8Array.from([pkg[pkg.length - 1]! ^ 1])));
  const d = await capture(() => inspect([join(dir, 'd.hoshi')]));
  t.is(d.code, 21);
  t.regex(d.out, /overhead/);
  writeFileSync(join(dir, 't.hoshi'), pkg.subarray(0, 100));
  t.is((await capture(() => inspect([join(dir, 't.hoshi')]))).code, 10);
  t.is((await capture(() => inspect([]))).code, 2);
  t.is((await capture(() => inspect([join(dir, 'p.hoshi'), '--pub', 'x']))).code, 2);
});

test.serial('hoshi rotate: a key-rotation package; its refusals', async (t) => {
  const { dir, keyFile, pubFile, key: k } = await workspace(t);
  const next = join(dir, 'next.key');
  await capture(() => keygen(['--out', next]));
  const nextKey = readSigningKey(next);
  const base = ['--key', keyFile, '--vendor', 'Hoshi example vendor', '--model', 'HS-PLUG-01', '--runtime', 'kaluma', '--board', 'kaluma-pico-w', '--counter', '9'];
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const r = await capture(() => rotate([...base, '--add', next + '.pub', '--retire', hex(k.kid)]));
  t.is(r.code, 0, r.err);
  const file = join(dir, 'HS-PLUG-01-rotate-9-kaluma-pico-w.hoshi');
  const v = verifyPackage(new Uint8Array(readFileSync(file)), [readPublicKey(pubFile)]);
  if (!v.ok) return t.fail(v.reason);
  t.like(v.value.manifest, { kind: 2, counter: 9, board: 'kaluma-pico-w' });
  t.deepEqual(v.value.manifest.add, nextKey.publicKey);
  t.deepEqual(v.value.manifest.retire, k.kid);
  t.is((await capture(() => verify([file, '--pub', pubFile]))).code, 0);
  t.is((await capture(() => rotate([...base, '--add', next + '.pub']))).code, 4, 'the file exists');
  t.is((await capture(() => rotate([...base, '--retire', hex(nextKey.kid), '--out', join(dir, 'r2.hoshi')]))).code, 0);
  for (const args of [
    base,
    [...base, '--retire', hex(k.kid), '--out', 'a.hoshi'],
    [...base, '--add', pubFile, '--out', 'b.hoshi'],
    [...base, '--retire', 'abcd', '--out', 'c.hoshi'],
    [...base.slice(0, -2), '--add', next + '.pub'],
    [...base, '--runtime', 'espruino', '--add', next + '.pub'],
    ['--key', keyFile, '--vendor', 'v', '--model', 'm', '--runtime', 'espruino', '--board', 'kaluma-pico-w', '--counter', '1', '--add', next + '.pub'],
  ]) t.is((await capture(() => rotate(args))).code, 2, args.join(' '));
  t.is((await capture(() => rotate([...base, '--add', next, '--out', 'd.hoshi']))).code, 5, 'a private key as --add');
});

test.serial('hoshi publish: static files, a signed latest.cose naming the newest version; a version is published once; the pointer never goes back', async (t) => {
  const { dir, keyFile, pubFile, key: k } = await workspace(t);
  const out = join(dir, 'site');
  const pkgs: { [v: string]: string } = {};
  for (const [v, c] of [['1.0.0', 1], ['1.2.0', 2], ['1.10.0', 3]] as const) {
    pkgs[v] = join(dir, v + '.in');
    writeFileSync(pkgs[v]!, createImagePackage({ ...FIELDS, version: v, counter: c }, payload, k));
  }
  const espruino = join(dir, 'esp.in');
  writeFileSync(espruino, createImagePackage({ ...FIELDS, runtime: 'espruino', board: 'espruino-esp32', version: '0.9.0' }, payload, k));
  const r = await capture(() => publishCommand([out, pkgs['1.0.0']!, pkgs['1.10.0']!, pkgs['1.2.0']!, espruino, '--key', keyFile]));
  t.is(r.code, 0, r.err);
  const base = join(out, 'Hoshi example vendor', 'HS-PLUG-01', 'kaluma-kaluma-pico-w');
  for (const v of ['1.0.0', '1.2.0', '1.10.0']) t.deepEqual(readFileSync(join(base, v + '.hoshi')), readFileSync(pkgs[v]!));
  const latest = join(base, 'latest.cose');
  const p = verifyPointer(new Uint8Array(readFileSync(latest)), [k.publicKey]);
  if (!p.ok) return t.fail(p.reason);
  t.like(p.value.pointer, { format: 1, version: '1.10.0', counter: 3, path: '1.10.0.hoshi', size: readFileSync(pkgs['1.10.0']!).length, model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', vendor: FIELDS.vendor });
  t.deepEqual(p.value.pointer.sha256, sha256(new Uint8Array(readFileSync(pkgs['1.10.0']!))));
  const espLatest = join(out, 'Hoshi example vendor', 'HS-PLUG-01', 'espruino-espruino-esp32', 'latest.cose');
  t.like(verifyPointer(new Uint8Array(readFileSync(espLatest)), [k.publicKey]), { ok: true, value: { pointer: { version: '0.9.0' } } });
  // hoshi verify checks a pointer and the package beside it.
  const vp = await capture(() => verify([latest, '--pub', pubFile]));
  t.is(vp.code, 0, vp.err);
  t.regex(vp.out, /a pointer to HS-PLUG-01 1\.10\.0 .*1\.10\.0\.hoshi matches it and verifies/);
  const ip = await capture(() => inspect([latest]));
  t.is(ip.code, 0);
  t.regex(ip.out, /points at: 1\.10\.0\.hoshi/);
  // Again: nothing changes.
  const again = await capture(() => publishCommand([out, pkgs['1.2.0']!, '--key', keyFile]));
  t.is(again.code, 0, again.err);
  t.regex(again.out, /already published/);
  t.regex(again.out, /kept, it names 1\.10\.0, newer than 1\.2\.0/);
  t.like(verifyPointer(new Uint8Array(readFileSync(latest)), [k.publicKey]), { ok: true, value: { pointer: { version: '1.10.0' } } });
  // A different package under a published version: refused (4), nothing written.
  const forged = join(dir, 'forged.in');
  writeFileSync(forged, createImagePackage({ ...FIELDS, version: '1.2.0', counter: 9 }, payload, k));
  const f = await capture(() => publishCommand([out, forged, '--key', keyFile]));
  t.is(f.code, 4);
  t.regex(f.err, /a version is published once/);
  t.deepEqual(readFileSync(join(base, '1.2.0.hoshi')), readFileSync(pkgs['1.2.0']!));
  // Two different packages of one version at once: refused.
  const other13 = [join(dir, 'a13.in'), join(dir, 'b13.in')];
  writeFileSync(other13[0]!, createImagePackage({ ...FIELDS, version: '1.3.0', counter: 4 }, payload, k));
  writeFileSync(other13[1]!, createImagePackage({ ...FIELDS, version: '1.3.0', counter: 5 }, payload, k));
  t.is((await capture(() => publishCommand([out, ...other13, '--key', keyFile]))).code, 4);
  t.false(existsSync(join(base, '1.3.0.hoshi')));
  // A package that does not verify under the publishing key: its own code; with --pub, accepted.
  const stranger = newSigningKey();
  const foreign = join(dir, 'foreign.in');
  writeFileSync(foreign, createImagePackage({ ...FIELDS, version: '2.0.0', counter: 6 }, payload, stranger));
  t.is((await capture(() => publishCommand([out, foreign, '--key', keyFile]))).code, 17);
  const strangerPub = join(dir, 'stranger.pub');
  writeFileSync(strangerPub, (await import('../firmware/host/update/keys')).publicKeyPem(stranger.publicKey));
  const withPub = await capture(() => publishCommand([out, foreign, '--key', keyFile, '--pub', strangerPub]));
  t.is(withPub.code, 0, withPub.err);
  const p2 = verifyPointer(new Uint8Array(readFileSync(latest)), [k.publicKey]);
  t.like(p2, { ok: true, value: { pointer: { version: '2.0.0' }, kid: k.kid } }, 'the pointer is signed by the publishing key');
  // A tampered package beside the pointer: pointer-mismatch (22).
  writeFileSync(join(base, '2.0.0.hoshi'), readFileSync(pkgs['1.0.0']!));
  t.is((await capture(() => verify([latest, '--pub', pubFile, '--pub', strangerPub]))).code, 22);
  // A damaged package, a key rotation, a vendor that is no directory name: refused.
  writeFileSync(join(dir, 'bad.in'), readFileSync(pkgs['1.0.0']!).subarray(0, 50));
  t.is((await capture(() => publishCommand([out, join(dir, 'bad.in'), '--key', keyFile]))).code, 10);
  writeFileSync(join(dir, 'rot.in'), createRotationPackage({ vendor: 'v', model: 'm', runtime: 'host', board: 'host', counter: 1, add: newSigningKey().publicKey }, k));
  t.is((await capture(() => publishCommand([out, join(dir, 'rot.in'), '--key', keyFile]))).code, 1);
  writeFileSync(join(dir, 'dots.in'), createImagePackage({ ...FIELDS, vendor: '..' }, payload, k));
  const dots = await capture(() => publishCommand([out, join(dir, 'dots.in'), '--key', keyFile]));
  t.is(dots.code, 1);
  t.regex(dots.err, /cannot be a directory name/);
  writeFileSync(join(dir, 'slash.in'), createImagePackage({ ...FIELDS, model: 'a/../../x' }, payload, k));
  t.is((await capture(() => publishCommand([out, join(dir, 'slash.in'), '--key', keyFile]))).code, 1);
  t.false(existsSync(join(dir, 'x')));
  t.is((await capture(() => publishCommand([out, '--key', keyFile]))).code, 2);
  t.is((await capture(() => publishCommand([out, pkgs['1.0.0']!]))).code, 2);
});

test("the slot capacities the host checks are each board's slot less its 4 KB header (update.md §4), and the payload builder's", async (t) => {
  const { KALUMA_PARTITIONS } = await import('../boards/kaluma-pico-w/board');
  const { ESP32_BOOT } = await import('../boards/espruino-esp32/board');
  const { HOST_PARTITIONS } = await import('../boards/host/board');
  t.is(SLOT_CAPACITY.host, HOST_PARTITIONS.slots[0]!.size - 4096);
  t.is(SLOT_CAPACITY['kaluma-pico-w'], KALUMA_PARTITIONS.slots[0]!.count * 4096 - 4096);
  t.is(SLOT_CAPACITY['kaluma-pico'], KALUMA_PARTITIONS.slots[0]!.count * 4096 - 4096);
  t.is(SLOT_CAPACITY['espruino-esp32'], ESP32_BOOT.slotSize - 4096);
  t.is((await import('../firmware/host/payload')).SLOT_CAPACITY, SLOT_CAPACITY);
});

test('the update commands are all there for the CLI, each resolving to an exit code', (t) => {
  t.deepEqual(Object.keys(updateCommands).sort(), ['inspect', 'keygen', 'publish', 'release', 'rotate', 'verify']);
});

test('through bin/hoshi.js: the commands, their exit codes, and hoshi provision --update-key writing a version-4 record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-cli-update-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hoshi = (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((done) => {
      execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: dir, encoding: 'utf8' }, (error, stdout, stderr) => done({ status: error ? Number(error.code) : 0, stdout, stderr }));
    });
  writeKeyPair(join(dir, 'a.key'));
  writeKeyPair(join(dir, 'b.key'));
  // The processes run side by side: each starts the whole CLI.
  const [k, u, p, bad] = await Promise.all([
    hoshi('keygen', '--out', join(dir, 'c.key')),
    hoshi('verify', join(dir, 'a.key')),
    hoshi('provision', '--out', join(dir, 'unit.secret.bin'), '--model', 'HS-PLUG-01', '--iterations', '4096', '--update-key', join(dir, 'a.key.pub'), '--update-key', join(dir, 'b.key.pub')),
    hoshi('provision', '--out', join(dir, 'unit2.secret.bin'), '--model', 'HS-PLUG-01', '--iterations', '4096', '--update-key', join(dir, 'a.key')),
  ]);
  t.is(k.status, 0, k.stderr);
  t.regex(k.stdout, /^kid [0-9a-f]{16}\n/);
  t.is(u.status, 2);
  t.regex(u.stderr, /hoshi publish OUT-DIR/, 'the usage lists the update commands');
  t.is(p.status, 0, p.stderr);
  const record = parseProvisioning(new Uint8Array(readFileSync(join(dir, 'unit.secret.bin'))));
  if (!record.ok) return t.fail(record.reason);
  t.is(readFileSync(join(dir, 'unit.secret.bin'))[4], 4);
  t.deepEqual(record.record.updateKeys, [readPublicKey(join(dir, 'a.key.pub')), readPublicKey(join(dir, 'b.key.pub'))]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /holds a private key/);
  t.false(existsSync(join(dir, 'unit2.secret.bin')));
});

// ---------------------------------------------------------------------------------------------
// buildImage overrides (hoshi release builds the image at the release's version)

test('buildImage with overrides.firmwareVersion: the built image sets that version before it boots', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'hoshi-version-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  for (const target of ['kaluma', 'espruino'] as const) {
    const built = await buildImage('smart-plug', target, out, undefined, { firmwareVersion: '9.8.7' });
    // The last two statements: the version set on the image, then boot(createBoard(), image).
    // Identifiers as the minifier names them: letters, digits, _ and $.
    t.regex(built.code, /([\w$]+)\.config\.firmwareVersion="9\.8\.7";\s*[\w$]+\([\w$]+\(\),\1\);?\s*$/, target);
    const plain = await buildImage('smart-plug', target, out);
    t.false(plain.code.includes('9.8.7'), target);
  }
  const host = await buildImage('smart-plug', 'host', out, undefined, { firmwareVersion: '9.8.7' });
  t.regex(host.code, /\.config\.firmwareVersion = "9\.8\.7";\s*runImage\(/);
  await t.throwsAsync(buildImage('smart-plug', 'kaluma', out, undefined, { firmwareVersion: '1.0' }), { message: /overrides\.firmwareVersion/ });
});

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { checkManifest, compareVersions, kidOf, parsePackageHead, parseVersion, type DeviceFacts, type Manifest } from '../modules/ota/manifest';
import { b, encode, hex, imageFields, keyFields, packageHead, t as text, testKey, u, type Fields, type Item, type PackageParts } from './update-head';

/**
 * The manifest's rules (docs/formats/update.md §2, §6) through parsePackageHead: every field with a
 * wrong type and out of its range, unknown, duplicate and misordered keys, what each kind requires
 * and forbids, the protected header; then checkManifest's rules against the device, the version
 * order, the kid; and the module built for both device profiles and run in the engine check.
 */

const key = testKey();
const other = testKey();

function refused(tt: ExecutionContext, parts: PackageParts, code: string, reason: RegExp, what: string): void {
  const r = parsePackageHead(packageHead(key, parts));
  if (r.ok) tt.fail(what + ': accepted, expected ' + code);
  else if (r.code !== code || !reason.test(r.reason)) tt.fail(what + ': ' + r.code + ' (' + r.reason + '), expected ' + code + ' ' + reason);
  else tt.pass();
}

function manifestOf(tt: ExecutionContext, parts: PackageParts, what = ''): Manifest {
  const r = parsePackageHead(packageHead(key, parts));
  if (r.ok) return r.value.manifest;
  const message = what + ': refused ' + r.code + ': ' + r.reason;
  tt.fail(message);
  throw new Error(message);
}

const image = (over: { [k: number]: Item }): PackageParts => ({ fields: imageFields(key.kid, over) });
const rotation = (over: { [k: number]: Item }): PackageParts => ({ fields: keyFields(key.kid, over) });
const without = (f: Fields, ...keys: number[]): PackageParts => {
  const g = new Map(f);
  for (const k of keys) g.delete(k);
  return { fields: g };
};

const NAMES = ['format', 'kind', 'vendor', 'model', 'runtime', 'board', 'version', 'counter', 'size', 'digest', 'kid', 'app', 'notes', 'add', 'retire'];
/** Each key's type: u(nsigned), t(ext), b(ytes). */
const TYPES = ['u', 'u', 't', 't', 't', 't', 't', 'u', 'u', 'b', 'b', 'u', 't', 'b', 'b'];
const WRONG: { [type: string]: Item } = { u: u(1), n: ['n', 0], t: text('https://x.example'), b: b(new Uint8Array(8)), a: ['a', []], m: ['m', []] };

test('every field with a value of another type is manifest-malformed, naming the field', (tt) => {
  for (let k = 0; k < 15; k++) {
    for (const [type, value] of Object.entries(WRONG)) {
      if (type === TYPES[k]) continue;
      const parts = k >= 13 ? rotation({ [k]: value }) : image({ [k]: value });
      const want = TYPES[k] === 'u' ? 'an unsigned integer' : TYPES[k] === 't' ? 'a text string \\(tstr\\)' : 'a byte string \\(bstr\\)';
      refused(tt, parts, 'manifest-malformed', new RegExp('^manifest ' + NAMES[k] + ' \\(key ' + k + '\\) is not ' + want + '$'), NAMES[k] + ' as ' + type);
    }
  }
});

test('every field out of its range is refused with its code, naming the field and the rule', (tt) => {
  const long = (n: number): Item => text('x'.repeat(n));
  const cases: [string, PackageParts, string, RegExp][] = [
    ['format 0', image({ 0: u(0) }), 'format-unsupported', /^manifest format 0 is not 1, the format this device reads$/],
    ['format 2', image({ 0: u(2) }), 'format-unsupported', /format 2/],
    ['format 2^32', image({ 0: u(4294967296) }), 'format-unsupported', /format 4294967296/],
    ['kind 0', image({ 1: u(0) }), 'manifest-malformed', /^manifest kind \(key 1\) is outside 1 to 2$/],
    ['kind 3', image({ 1: u(3) }), 'manifest-malformed', /kind \(key 1\) is outside 1 to 2/],
    ['vendor empty', image({ 2: text('') }), 'manifest-malformed', /^manifest vendor \(key 2\) is outside 1 to 64 bytes$/],
    ['vendor 65', image({ 2: long(65) }), 'manifest-malformed', /vendor \(key 2\) is outside 1 to 64 bytes/],
    ['vendor non-ASCII', image({ 2: text('Hoshi Wörks') }), 'manifest-malformed', /^manifest vendor \(key 2\) is not printable ASCII \(bytes 20-7E\)$/],
    ['vendor control', image({ 2: text('Hoshi\tWorks') }), 'manifest-malformed', /vendor \(key 2\) is not printable ASCII/],
    ['model empty', image({ 3: text('') }), 'manifest-malformed', /model \(key 3\) is outside 1 to 64 bytes/],
    ['model 65', image({ 3: long(65) }), 'manifest-malformed', /model \(key 3\) is outside 1 to 64 bytes/],
    ['model DEL', image({ 3: text('HS\x7f') }), 'manifest-malformed', /model \(key 3\) is not printable ASCII/],
    ['runtime other', image({ 4: text('micropython') }), 'manifest-malformed', /^manifest runtime \(key 4\) is outside 4 to 8 bytes$/],
    ['runtime other', image({ 4: text('nodejs') }), 'manifest-malformed', /^manifest runtime \(key 4\) is not kaluma, espruino or host$/],
    ['runtime case', image({ 4: text('Kaluma') }), 'manifest-malformed', /runtime \(key 4\)/],
    ['runtime empty', image({ 4: text('') }), 'manifest-malformed', /runtime \(key 4\)/],
    ['board empty', image({ 5: text('') }), 'manifest-malformed', /board \(key 5\) is outside 1 to 32 bytes/],
    ['board 33', image({ 5: long(33) }), 'manifest-malformed', /board \(key 5\) is outside 1 to 32 bytes/],
    ['counter 2^32', image({ 7: u(4294967296) }), 'manifest-malformed', /^manifest counter \(key 7\) is outside 0 to 4294967295$/],
    ['counter 2^64-1', image({ 7: u(18446744073709551615n) }), 'manifest-malformed', /counter \(key 7\) is outside 0 to 4294967295/],
    ['size 0', image({ 8: u(0) }), 'manifest-malformed', /size \(key 8\) is outside 1 to 4294967295/],
    ['size 2^32', image({ 8: u(4294967296) }), 'manifest-malformed', /size \(key 8\) is outside 1 to 4294967295/],
    ['digest 31', image({ 9: b(new Uint8Array(31)) }), 'manifest-malformed', /^manifest digest \(key 9\) is outside 32 to 32 bytes$/],
    ['digest 33', image({ 9: b(new Uint8Array(33)) }), 'manifest-malformed', /digest \(key 9\) is outside 32 to 32 bytes/],
    ['kid 7', image({ 10: b(key.kid.subarray(0, 7)) }), 'manifest-malformed', /kid \(key 10\) is outside 8 to 8 bytes/],
    ['kid 9', image({ 10: b([...key.kid, 0]) }), 'manifest-malformed', /kid \(key 10\) is outside 8 to 8 bytes/],
    ['kid of another key', image({ 10: b(other.kid) }), 'manifest-malformed', /^manifest kid \(key 10\) differs from the protected header's kid$/],
    ['app 0', image({ 11: u(0) }), 'manifest-malformed', /app \(key 11\) is outside 1 to 4294967295/],
    ['app = size', image({ 11: u(70000) }), 'manifest-malformed', /^manifest app \(key 11\) is not below size \(key 8\)/],
    ['app > size', image({ 11: u(70001) }), 'manifest-malformed', /app \(key 11\) is not below size/],
    ['app 2^32', image({ 11: u(4294967296) }), 'manifest-malformed', /app \(key 11\) is outside 1 to 4294967295/],
    ['notes http', image({ 12: text('http://example.com/notes') }), 'manifest-malformed', /^manifest notes \(key 12\) is not an https:\/\/ URL$/],
    ['notes HTTPS', image({ 12: text('HTTPS://example.com/notes') }), 'manifest-malformed', /notes \(key 12\) is not an https:\/\/ URL/],
    ['notes bare', image({ 12: text('https://') }), 'manifest-malformed', /notes \(key 12\) is outside 9 to 200 bytes/],
    ['notes 201', image({ 12: text('https://' + 'x'.repeat(193)) }), 'manifest-malformed', /notes \(key 12\) is outside 9 to 200 bytes/],
    ['add 31', rotation({ 13: b(new Uint8Array(31)) }), 'manifest-malformed', /add \(key 13\) is outside 32 to 32 bytes/],
    ['add 33', rotation({ 13: b(new Uint8Array(33)) }), 'manifest-malformed', /add \(key 13\) is outside 32 to 32 bytes/],
    ['retire 7', rotation({ 14: b(new Uint8Array(7)) }), 'manifest-malformed', /retire \(key 14\) is outside 8 to 8 bytes/],
    ['retire 9', rotation({ 14: b(new Uint8Array(9)) }), 'manifest-malformed', /retire \(key 14\) is outside 8 to 8 bytes/],
  ];
  for (const [what, parts, code, reason] of cases) refused(tt, parts, code, reason, what);
  // The edges inside are read.
  const m = manifestOf(tt, image({ 2: long(64), 3: text('m'), 5: long(32), 7: u(4294967295), 8: u(4294967295), 11: u(4294967294), 12: text('https://' + 'x'.repeat(192)) }));
  tt.like(m, { vendor: 'x'.repeat(64), model: 'm', board: 'x'.repeat(32), counter: 4294967295, size: 4294967295, app: 4294967294 });
  tt.is(m.notes!.length, 200);
  for (const runtime of ['kaluma', 'espruino', 'host']) tt.is(manifestOf(tt, image({ 4: text(runtime) })).runtime, runtime);
  tt.is(manifestOf(tt, image({ 12: text('https://x') })).notes, 'https://x');
});

test('version (key 6): MAJOR.MINOR.PATCH, each 0-65535 without leading zeros', (tt) => {
  for (const v of ['0.0.0', '1.2.3', '65535.65535.65535', '10.0.100']) tt.is(manifestOf(tt, image({ 6: text(v) })).version, v);
  for (const v of ['', '1', '1.2', '1.2.3.4', '01.2.3', '1.02.3', '1.2.03', '00.1.1', '1.2.65536', '65536.0.0', '1.2.-1', ' 1.2.3', '1.2.3 ', 'a.b.c', '1..3', '.1.2', '1.2.', '1.2.3-rc1', '+1.2.3', '999999.1.1', '1.2.3.4.5.6.7.8.9']) {
    refused(tt, image({ 6: text(v) }), 'manifest-malformed', v.length < 5 ? /^manifest version \(key 6\) is outside 5 to 17 bytes$/ : /^manifest version \(key 6\) is not MAJOR\.MINOR\.PATCH, each 0-65535 without leading zeros$/, JSON.stringify(v));
  }
  refused(tt, image({ 6: text('1.2.3\x00') }), 'manifest-malformed', /^manifest version \(key 6\) is not printable ASCII/, 'NUL');
});

test('unknown keys are manifest-unknown-field; keys that are not unsigned integers are manifest-malformed', (tt) => {
  for (const k of [15, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, 18446744073709551615n]) {
    refused(tt, { manifest: ['m', [...[...imageFields(key.kid).entries()].map(([k2, v]) => [u(k2), v] as [Item, Item]), [u(k), u(1)]]] }, 'manifest-unknown-field', new RegExp('^the manifest holds key ' + String(Number(k)) + ', which is not a field of format 1$'), 'key ' + k);
  }
  const entries = (extra: [Item, Item]): PackageParts => ({ manifest: ['m', [...[...imageFields(key.kid).entries()].map(([k, v]) => [u(k), v] as [Item, Item]), extra]] });
  for (const [what, k] of [['-1', ['n', 0]], ['"format"', text('format')], ['bytes', b([0])], ['array', ['a', [u(0)]]], ['map', ['m', []]]] as [string, Item][]) {
    refused(tt, entries([k, u(1)]), 'manifest-malformed', /^a manifest key is not an unsigned integer, at byte \d+$/, 'key ' + what);
  }
  // Key rotation, too.
  refused(tt, rotation({ 15: b(new Uint8Array(32)) }), 'manifest-unknown-field', /holds key 15,/, 'rotation key 15');
});

test('duplicate and misordered manifest keys are package-malformed', (tt) => {
  const list = [...imageFields(key.kid).entries()].map(([k, v]) => [u(k), v] as [Item, Item]);
  const m = (entries: [Item, Item][]): PackageParts => ({ manifest: ['m', entries] });
  const keep = (parts: PackageParts): Uint8Array => packageHead(key, parts, { keepOrder: true });
  const check = (bytes: Uint8Array, reason: RegExp, what: string): void => {
    const r = parsePackageHead(bytes);
    tt.true(!r.ok && r.code === 'package-malformed' && reason.test(r.reason), what + ': ' + (r.ok ? 'accepted' : r.code + ' ' + r.reason));
  };
  check(keep(m([list[0]!, list[0]!, ...list.slice(1)])), /^a manifest key appears twice: 0$/, 'format twice');
  check(keep(m([...list, list[11]!])), /appears twice: 11/, 'app twice');
  check(keep(m([list[0]!, list[2]!, list[1]!, ...list.slice(3)])), /^manifest keys are not in increasing order at key 1$/, 'kind after vendor');
  check(keep(m([...list.slice(1), list[0]!])), /not in increasing order at key 0/, 'format last');
  check(keep(m([...list.slice(0, 11), [u(12), text('https://x')], list[11]!])), /not in increasing order at key 11/, 'notes before app');
  // The same entries in order are read.
  tt.true(parsePackageHead(keep(m(list))).ok);
});

test('what each kind requires and forbids', (tt) => {
  const img = imageFields(key.kid);
  for (let k = 0; k <= 11; k++) {
    refused(tt, without(img, k), 'manifest-malformed', new RegExp('^manifest ' + NAMES[k] + ' \\(key ' + k + '\\) is required and missing$'), 'image without ' + NAMES[k]);
  }
  for (const k of [13, 14]) refused(tt, image({ [k]: b(new Uint8Array(k === 13 ? 32 : 8)) }), 'manifest-malformed', new RegExp('^manifest ' + NAMES[k] + ' \\(key ' + k + '\\) does not belong to an image package$'), 'image with ' + NAMES[k]);
  const rot = keyFields(key.kid);
  for (const k of [0, 1, 2, 3, 4, 5, 7, 10]) refused(tt, without(rot, k), 'manifest-malformed', new RegExp('manifest ' + NAMES[k] + ' \\(key ' + k + '\\) is required and missing$'), 'rotation without ' + NAMES[k]);
  const forbidden: { [k: number]: Item } = { 6: text('1.0.0'), 8: u(10), 9: b(new Uint8Array(32)), 11: u(5) };
  for (const k of [6, 8, 9, 11]) {
    refused(tt, { ...rotation({ [k]: forbidden[k]! }), payloadLength: 0 }, 'manifest-malformed', new RegExp('^manifest ' + NAMES[k] + ' \\(key ' + k + '\\) does not belong to a key-rotation package$'), 'rotation with ' + NAMES[k]);
  }
  refused(tt, without(rot, 13), 'manifest-malformed', /^a key-rotation manifest holds neither add \(key 13\) nor retire \(key 14\)$/, 'rotation doing nothing');
  // add alone, retire alone, both; notes allowed in both kinds.
  tt.true(parsePackageHead(packageHead(key, rotation({ 12: text('https://example.com/r') }))).ok);
  tt.true(parsePackageHead(packageHead(key, { fields: new Map([...without(rot, 13).fields!.entries(), [14, b(other.kid)]]) })).ok);
  tt.true(parsePackageHead(packageHead(key, rotation({ 14: b(other.kid) }))).ok);
  // An empty manifest, and one that is not a map.
  refused(tt, { manifest: ['m', []] }, 'manifest-malformed', /format \(key 0\) is required and missing/, 'empty map');
  refused(tt, { manifest: ['a', [u(1)]] }, 'manifest-malformed', /^the manifest is not a map/, 'array');
  refused(tt, { manifest: text('manifest') }, 'manifest-malformed', /the manifest is not a map/, 'text');
  refused(tt, { payloadItem: ['cbor', ['raw', new Uint8Array([...encode(['m', [...img.entries()].map(([k, v]) => [u(k), v] as [Item, Item])]), 0x00])]] }, 'package-malformed', /^bytes follow the manifest inside its byte string/, 'a byte after the manifest');
});

test('the protected header: exactly {1: -8 or -19, 4: an 8-byte kid}; the unprotected header empty; the signature 64 bytes', (tt) => {
  for (const [what, alg] of [['-7', ['n', 6]], ['-35', ['n', 34]], ['-9', ['n', 8]], ['8', u(8)], ['"EdDSA"', text('EdDSA')], ['bytes', b([0x27])]] as [string, Item][]) {
    refused(tt, { alg }, 'alg-unsupported', /^alg \(protected header 1\) is not -8 \(EdDSA\) or -19 \(Ed25519\)$/, 'alg ' + what);
  }
  const map = /^the protected header is not a map of exactly alg \(1\) and kid \(4\)$/;
  refused(tt, { protectedMap: ['m', [[u(4), b(key.kid)]]] }, 'package-malformed', map, 'no alg');
  refused(tt, { protectedMap: ['m', [[u(1), ['n', 7]]]] }, 'package-malformed', map, 'no kid');
  refused(tt, { protectedMap: ['m', [[u(1), ['n', 7]], [u(3), u(0)], [u(4), b(key.kid)]]] }, 'package-malformed', map, 'content type too');
  refused(tt, { protectedMap: ['m', [[u(1), ['n', 7]], [u(2), u(0)]]] }, 'package-malformed', map, 'crit instead of kid');
  const reversed = packageHead(key, { protectedMap: ['m', [[u(4), b(key.kid)], [u(1), ['n', 7]]]] }, { keepOrder: true });
  const r = parsePackageHead(reversed);
  tt.true(!r.ok && r.code === 'package-malformed' && map.test(r.reason));
  refused(tt, { protectedMap: ['a', [u(1), ['n', 7]]] }, 'package-malformed', map, 'an array');
  refused(tt, { protectedItem: b([]) }, 'package-malformed', /runs past the end of its enclosing byte string/, 'empty protected bstr');
  refused(tt, { protectedItem: ['m', [[u(1), ['n', 7]], [u(4), b(key.kid)]]] }, 'package-malformed', /^the protected header is not a byte string$/, 'a map, not wrapped');
  refused(tt, { protectedItem: ['cbor', ['raw', new Uint8Array([...encode(['m', [[u(1), ['n', 7]], [u(4), b(key.kid)]]]), 0xa0])]] }, 'package-malformed', /^bytes follow the protected header inside its byte string/, 'trailing bytes');
  for (const [what, kid] of [['7 bytes', b(key.kid.subarray(0, 7))], ['9 bytes', b([...key.kid, 1])], ['text', text('abcdefgh')], ['uint', u(8)]] as [string, Item][]) {
    refused(tt, { kid }, 'package-malformed', /^kid \(protected header 4\) is not an 8-byte byte string$/, 'kid ' + what);
  }
  refused(tt, { kid: b(other.kid) }, 'manifest-malformed', /^manifest kid \(key 10\) differs from the protected header's kid$/, 'kid mismatch');
  refused(tt, { unprotected: ['m', [[u(4), b(key.kid)]]] }, 'package-malformed', /^the unprotected header is not an empty map$/, 'kid unprotected');
  refused(tt, { unprotected: ['a', []] }, 'package-malformed', /unprotected header is not an empty map/, 'unprotected array');
  for (const [what, sig] of [['63', b(new Uint8Array(63))], ['65', b(new Uint8Array(65))], ['text', text('x'.repeat(64))], ['array', ['a', []]]] as [string, Item][]) {
    refused(tt, { signature: sig }, 'package-malformed', /^the signature is not a 64-byte byte string$/, 'signature ' + what);
  }
  for (const n of [3, 5]) {
    const items: Item[] = [['cbor', ['m', [[u(1), ['n', 7]], [u(4), b(key.kid)]]]], ['m', []], ['cbor', ['m', [...imageFields(key.kid).entries()].map(([k, v]) => [u(k), v] as [Item, Item])]], b(new Uint8Array(64)), u(0)];
    refused(tt, { sign1: ['tag', 18, ['a', items.slice(0, n)]] }, 'package-malformed', /^the COSE_Sign1 is not an array of 4 items$/, n + ' items');
  }
  refused(tt, { payloadItem: text('manifest') }, 'package-malformed', /^the COSE_Sign1 payload is not a byte string holding the manifest$/, 'payload text');
  refused(tt, { payloadItem: ['raw', new Uint8Array([0xf6])] }, 'package-malformed', /floating-point or simple value/, 'detached payload (nil)');
});

const facts = (over: Partial<DeviceFacts> = {}): DeviceFacts => ({
  vendor: 'Hoshi Works',
  model: 'HS-PLUG-01',
  runtime: 'kaluma',
  board: 'kaluma-pico-w',
  version: '0.1.0',
  counterFloor: 3,
  capacity: 184320,
  keyState: (kid) => (hex(kid) === hex(key.kid) ? 'trusted' : hex(kid) === hex(other.kid) ? 'retired' : 'unknown'),
  ...over,
});

function checked(tt: ExecutionContext, parts: PackageParts, f: DeviceFacts, signer = key): { code: string; reason: string } | undefined {
  const r = parsePackageHead(packageHead(signer, parts));
  if (!r.ok) throw new Error('refused ' + r.code + ': ' + r.reason);
  const c = checkManifest(r.value.manifest, f);
  if (c) tt.true(c.reason.length >= 16, c.reason);
  return c;
}

test('checkManifest: every rule of §2.1 and §2.2 against the device, in order', (tt) => {
  tt.is(checked(tt, {}, facts()), undefined);
  const cases: [string, PackageParts, Partial<DeviceFacts>, string, RegExp][] = [
    ['unknown key', {}, { keyState: () => 'unknown' }, 'key-unknown', /^the package is signed by a key this device does not trust$/],
    ['retired key', {}, { keyState: () => 'retired' }, 'key-retired', /^the package is signed by a retired key/],
    ['vendor', {}, { vendor: 'Other Works' }, 'wrong-vendor', /^the package is for vendor Hoshi Works, this device is of vendor Other Works$/],
    ['model', {}, { model: 'HS-ENV-01' }, 'wrong-model', /^the package is for model HS-PLUG-01, this device is a HS-ENV-01$/],
    ['runtime', image({ 4: text('espruino') }), {}, 'wrong-runtime', /^the package is for runtime espruino, this device runs kaluma$/],
    ['board', {}, { board: 'kaluma-pico' }, 'wrong-board', /^the package is for board kaluma-pico-w, this device is a kaluma-pico$/],
    ['counter below the floor', image({ 7: u(2) }), {}, 'counter-rollback', /^the package's security counter 2 is below the device's floor 3$/],
    ['same version', image({ 6: text('0.1.0') }), {}, 'version-not-newer', /^the package's version 0\.1\.0 is not newer than the running 0\.1\.0$/],
    ['older version', image({ 6: text('0.0.9') }), {}, 'version-not-newer', /version 0\.0\.9 is not newer/],
    ['older major', image({ 6: text('0.9.9') }), { version: '1.0.0' }, 'version-not-newer', /not newer than the running 1\.0\.0/],
    ['running version unreadable', {}, { version: 'dev' }, 'version-not-newer', /not newer than the running dev/],
    ['size over capacity', image({ 8: u(184321) }), {}, 'image-too-large', /^the package's payload of 184321 bytes exceeds the slot's capacity of 184320$/],
    // Order: the key before all; the vendor before the counter; the counter before the version.
    ['unknown key and wrong vendor', {}, { keyState: () => 'unknown', vendor: 'x' }, 'key-unknown', /trust/],
    ['wrong vendor and old counter', image({ 7: u(0) }), { vendor: 'x' }, 'wrong-vendor', /vendor/],
    ['old counter and old version', image({ 7: u(0), 6: text('0.0.1') }), {}, 'counter-rollback', /counter/],
  ];
  for (const [what, parts, over, code, reason] of cases) {
    const c = checked(tt, parts, facts(over));
    tt.true(c !== undefined && c.code === code && reason.test(c.reason), what + ': ' + JSON.stringify(c));
  }
  // The edges that pass: counter at the floor, the next patch, minor and major, size at capacity.
  for (const [parts, over] of [[image({ 7: u(3) }), {}], [image({ 6: text('0.1.1') }), {}], [image({ 6: text('0.10.0') }), { version: '0.9.0' }], [image({ 6: text('1.0.0') }), { version: '0.65535.65535' }], [image({ 8: u(184320) }), {}]] as [PackageParts, Partial<DeviceFacts>][]) {
    tt.is(checked(tt, parts, facts(over)), undefined, JSON.stringify(over));
  }
});

test('checkManifest on key rotation: key, product and counter rules; never retiring its own signer without adding a key', (tt) => {
  tt.is(checked(tt, rotation({}), facts()), undefined);
  tt.is(checked(tt, rotation({ 14: b(other.kid) }), facts()), undefined);
  tt.is(checked(tt, rotation({ 14: b(key.kid) }), facts()), undefined, 'retires its signer while adding a key');
  const own = checked(tt, { fields: new Map([...without(keyFields(key.kid), 13).fields!.entries(), [14, b(key.kid)]]) }, facts());
  tt.deepEqual(own, { code: 'key-rotation-refused', reason: 'a key-rotation package retires its own signer without adding a key' });
  tt.is(checked(tt, rotation({ 7: u(2) }), facts())?.code, 'counter-rollback');
  tt.is(checked(tt, rotation({}), facts({ model: 'HS-ENV-01' }))?.code, 'wrong-model');
  tt.is(checked(tt, rotation({}), facts({ keyState: () => 'retired' }))?.code, 'key-retired');
  // No version, size or capacity rule for key rotation.
  tt.is(checked(tt, rotation({}), facts({ version: '9.9.9', capacity: 0 })), undefined);
});

test('parseVersion and compareVersions', (tt) => {
  tt.deepEqual(parseVersion('0.0.0'), [0, 0, 0]);
  tt.deepEqual(parseVersion('65535.65535.65535'), [65535, 65535, 65535]);
  tt.deepEqual(parseVersion('1.20.300'), [1, 20, 300]);
  for (const v of ['', '1.2', '1.2.3.4', '01.0.0', '0.00.0', '1.2.65536', 'x.y.z', '1.2.3 ', '1,2,3', '١.٢.٣', '1.2.3\n']) tt.is(parseVersion(v), undefined, JSON.stringify(v));
  const order = ['0.0.0', '0.0.1', '0.0.10', '0.1.0', '0.9.0', '0.10.0', '1.0.0', '1.0.1', '2.0.0', '10.0.0', '65535.0.0'];
  for (let i = 0; i < order.length; i++) {
    for (let j = 0; j < order.length; j++) {
      const c = compareVersions(parseVersion(order[i]!)!, parseVersion(order[j]!)!);
      tt.is(Math.sign(c), Math.sign(i - j), order[i] + ' vs ' + order[j]);
    }
  }
});

test('kidOf: the first 8 bytes of SHA-256 of the public key', (tt) => {
  const sha = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(d).digest());
  tt.is(hex(kidOf(sha, key.publicKey)), hex(key.kid));
  tt.is(kidOf(sha, key.publicKey).length, 8);
  tt.is(hex(kidOf(sha, new Uint8Array(32))), createHash('sha256').update(new Uint8Array(32)).digest('hex').slice(0, 16));
});

// The device bundle: the module's exports and a driver that prints what the host test compares.
const ENTRY = (file: string): string => `
import { checkManifest, parsePackageHead, parseVersion, compareVersions } from ${JSON.stringify(file)};
function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
  return out;
}
function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}
(globalThis as unknown as { __ota: unknown }).__ota = function (h: string, kid: string): string {
  const r = parsePackageHead(fromHex(h));
  if (!r.ok) return r.code + ': ' + r.reason;
  const m = r.value.manifest;
  const bad = checkManifest(m, { vendor: 'Hoshi Works', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', version: '0.1.0', counterFloor: 3, capacity: 184320,
    keyState: function (k: Uint8Array): 'trusted' | 'retired' | 'unknown' { return toHex(k) === kid ? 'trusted' : 'unknown'; } });
  return [r.value.alg, r.value.length, r.value.payloadOffset, r.value.payloadLength, toHex(r.value.toBeSigned), toHex(r.value.signature), m.kind, m.vendor, m.model, m.runtime, m.board, m.version, m.counter, m.size,
    m.digest ? toHex(m.digest) : '-', toHex(m.kid), m.app, m.notes || '-', m.add ? toHex(m.add) : '-', m.retire ? toHex(m.retire) : '-', bad ? bad.code + ': ' + bad.reason : 'accepted', compareVersions(parseVersion(m.version || '0.0.0')!, [0, 1, 0])].join(' ');
};
`;

function summary(bytes: Uint8Array): string {
  const r = parsePackageHead(bytes);
  if (!r.ok) return r.code + ': ' + r.reason;
  const m = r.value.manifest;
  const bad = checkManifest(m, facts({ keyState: (k) => (hex(k) === hex(key.kid) ? 'trusted' : 'unknown') }));
  return [r.value.alg, r.value.length, r.value.payloadOffset, r.value.payloadLength, hex(r.value.toBeSigned), hex(r.value.signature), m.kind, m.vendor, m.model, m.runtime, m.board, m.version, m.counter, m.size,
    m.digest ? hex(m.digest) : '-', hex(m.kid), m.app, m.notes || '-', m.add ? hex(m.add) : '-', m.retire ? hex(m.retire) : '-', bad ? bad.code + ': ' + bad.reason : 'accepted', compareVersions(parseVersion(m.version || '0.0.0')!, [0, 1, 0])].join(' ');
}

for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
  test(`modules/ota/manifest.ts bundled for ${target}: no profile findings, and the engine check parses as the host does`, async (tt) => {
    const { code, map } = await bundleDevice(ENTRY(join(ROOT, 'modules/ota/manifest.ts')), ROOT, target, join(ROOT, 'dist/test', target, 'ota-manifest.js'));
    const report = checkProfile(code, target, map);
    tt.deepEqual(report.violations, [], formatViolations(report));
    const heads: Uint8Array[] = [
      packageHead(key),
      packageHead(key, rotation({ 14: b(other.kid), 12: text('https://example.com/r') })),
      packageHead(key, image({ 6: text('0.0.9') })),
      packageHead(key, image({ 2: text('Other') })),
      packageHead(key, image({ 7: u(4294967295), 8: u(184321), 6: text('65535.0.0') })),
      packageHead(key, image({ 2: text('x'.repeat(65)) })),
      packageHead(key, image({ 15: u(1) })),
      packageHead(key, { alg: ['n', 6] }),
      packageHead(key, {}, { widen: 7 }),
      packageHead(key, {}, { indefinite: 12 }),
      packageHead(key).subarray(0, 100),
      packageHead(key, { payloadLength: 4294967295 }),
      new Uint8Array([0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array(3000).fill(0x81),
    ];
    const run = await runInEngine(code, target, { library: true, probes: heads.map((h) => `__ota(${JSON.stringify(hex(h))}, ${JSON.stringify(hex(key.kid))})`), budgetBytes: 256 * 1024, timeoutMs: 120000 });
    tt.true(run.booted, run.error);
    tt.deepEqual(run.missing, []);
    tt.deepEqual(run.values, heads.map(summary));
    // On the real engine too, when it is given (as `npm run bench` takes it).
    const bin = target === 'kaluma' ? process.env.HOSHI_JERRY : process.env.HOSHI_ESPRUINO;
    if (!bin) return;
    const dir = mkdtempSync(join(tmpdir(), 'hoshi-ota-'));
    tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const say = target === 'kaluma' ? 'print' : 'console.log';
    // The driver in a function: the bundle's minified top-level names are globals.
    writeFileSync(join(dir, 'app.js'), code + '\n(function () {\n' + heads.map((h) => `${say}('R ' + __ota(${JSON.stringify(hex(h))}, ${JSON.stringify(hex(key.kid))}));`).join('\n') + '\n})();\n');
    const out = spawnSync(bin, [join(dir, 'app.js')], { encoding: 'utf8', timeout: 60000, input: '' });
    tt.deepEqual([...(out.stdout ?? '').matchAll(/^R (.*)$/gm)].map((m) => m[1]), heads.map(summary), target + ' on ' + bin + ':\n' + (out.stderr ?? ''));
  });
}

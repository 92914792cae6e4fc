import test, { type ExecutionContext } from 'ava';
import { createHash, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { ROOT } from '../firmware/host/build';
import { Kind, parsePackageHead, type HeadResult, type PackageHead } from '../modules/ota/manifest';
import { b, encode, encodeSeq, expectedToBeSigned, hex, imageFields, keyFields, packageHead, packageItems, prng, t as text, testKey, u, type Fields, type Item, type PackageParts } from './update-head';

/**
 * The hostile-input suite of the update package head's CBOR (modules/ota/cbor.ts through
 * parsePackageHead; docs/formats/update.md §1, §6): generated valid packages against cbor-x, then
 * every prefix, every changed byte, indefinite and longer-than-needed heads at every head, huge
 * declared lengths, deep nesting, tags, floating-point and simple values, the 1024-byte limit, and
 * random bytes. The manifest's own rules: test/update-manifest.test.ts.
 */

/** The codes of §6, read from the format's own text. */
const SPEC = readFileSync(join(ROOT, 'docs/formats/update.md'), 'utf8');
const CODES = [...SPEC.slice(SPEC.indexOf('## 6. Refusals'), SPEC.indexOf('## 7.')).matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!);

const key = testKey();
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false, variableMapSize: true });
const same = (a: Uint8Array | undefined, c: Uint8Array | undefined): boolean => (a === undefined || c === undefined ? a === c : Buffer.compare(Buffer.from(a), Buffer.from(c)) === 0);

/** Parses, failing the test on an exception; a refusal must carry a §6 code and a reason of at least 16 characters. */
function parse(tt: ExecutionContext, bytes: Uint8Array, what = ''): HeadResult {
  let r: HeadResult;
  try {
    r = parsePackageHead(bytes);
  } catch (e) {
    tt.fail('threw on ' + what + ' ' + hex(bytes.subarray(0, 64)) + ': ' + String(e));
    throw e;
  }
  if (!r.ok && (!CODES.includes(r.code) || r.reason.length < 16)) tt.fail(what + ': refusal ' + r.code + ' / ' + r.reason);
  return r;
}

function refused(tt: ExecutionContext, bytes: Uint8Array, code: string, reason?: RegExp, what = ''): void {
  const r = parse(tt, bytes, what);
  if (r.ok) {
    tt.fail(what + ': accepted, expected ' + code);
    return;
  }
  if (r.code !== code || (reason && !reason.test(r.reason))) tt.fail(what + ': ' + r.code + ' (' + r.reason + '), expected ' + code + (reason ? ' ' + reason : ''));
  else tt.pass();
}

function ok(tt: ExecutionContext, bytes: Uint8Array, what = ''): PackageHead {
  const r = parse(tt, bytes, what);
  if (!r.ok) throw new Error(what + ': refused ' + r.code + ': ' + r.reason);
  return r.value;
}

/** cbor-x decodes the COSE_Sign1 and the payload's head to what the parser returned. */
function crossCheck(tt: ExecutionContext, bytes: Uint8Array, h: PackageHead, what = ''): void {
  const problems: string[] = [];
  const want = (c: boolean, s: string): void => {
    if (!c) problems.push(s);
  };
  const cose = decoder.decode(bytes.subarray(0, h.length)) as Tag;
  want(cose instanceof Tag && cose.tag === 18 && Array.isArray(cose.value) && cose.value.length === 4, 'tag 18 of 4 items');
  const [prot, unprot, payload, sig] = cose.value as [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];
  const p = decoder.decode(prot) as Map<number, unknown>;
  want(p.size === 2 && p.get(1) === h.alg && same(p.get(4) as Uint8Array, h.kid), 'protected header');
  want(unprot instanceof Map && unprot.size === 0, 'unprotected header');
  want(same(sig, h.signature), 'signature');
  const m = decoder.decode(payload) as Map<number, unknown>;
  const mf = h.manifest;
  const image = mf.kind === Kind.IMAGE;
  const expect: [number, unknown][] = [[0, 1], [1, mf.kind], [2, mf.vendor], [3, mf.model], [4, mf.runtime], [5, mf.board], [6, image ? mf.version : undefined], [7, mf.counter], [8, image ? mf.size : undefined],
    [9, mf.digest], [10, mf.kid], [11, image ? mf.app : undefined], [12, mf.notes], [13, mf.add], [14, mf.retire]];
  for (const [k, v] of expect) {
    const got = m.get(k);
    want(v instanceof Uint8Array || got instanceof Uint8Array ? same(got as Uint8Array, v as Uint8Array) : got === v, 'manifest key ' + k + ': ' + String(got) + ' vs ' + String(v));
  }
  want(m.size === expect.filter((e) => e[1] !== undefined).length, 'manifest size ' + m.size);
  // The Sig_structure, encoded by cbor-x, and the payload's head decoded with (zero) bytes behind it.
  want(same(encoder.encode(['Signature1', prot, new Uint8Array(0), payload]), h.toBeSigned), 'toBeSigned');
  if (h.payloadLength < 1 << 20) {
    const whole = new Uint8Array(h.payloadOffset - h.length + h.payloadLength);
    whole.set(bytes.subarray(h.length, h.payloadOffset));
    want((decoder.decode(whole) as Uint8Array).length === h.payloadLength, 'payload length');
  }
  if (problems.length) tt.fail(what + ': cbor-x differs: ' + problems.join('; '));
}

/** A random valid manifest (every field within its rule, lengths at their edges often). */
function randomFields(g: ReturnType<typeof prng>, image: boolean): Fields {
  const edge = (lo: number, hi: number): number => g.pick([lo, hi, lo + g.int(hi - lo + 1), lo + g.int(Math.min(hi - lo + 1, 30))]);
  const uint = (lo: number, hi: number): number => Math.min(hi, Math.max(lo, g.pick([lo, hi, 23, 24, 255, 256, 65535, 65536, 4294967295, g.int(hi - lo + 1) + lo])));
  const f: Fields = new Map<number, Item>([
    [0, u(1)],
    [1, u(image ? 1 : 2)],
    [2, text(g.text(edge(1, 64), edge(1, 64)))],
    [3, text(g.text(1, 64))],
    [4, text(g.pick(['kaluma', 'espruino', 'host']))],
    [5, text(g.text(1, 32))],
    [7, u(uint(0, 4294967295))],
    [10, b(key.kid)],
  ]);
  if (image) {
    const size = uint(2, 4294967295);
    f.set(6, text([g.int(65536), g.pick([0, 9, 10, 65535]), g.int(100)].join('.')));
    f.set(8, u(size));
    f.set(9, b(g.bytes(32)));
    f.set(11, u(uint(1, size - 1)));
  } else {
    const which = g.int(3);
    if (which !== 1) f.set(13, b(g.bytes(32)));
    if (which !== 0) f.set(14, b(g.bytes(8)));
  }
  if (g.int(2)) f.set(12, text('https://' + g.text(1, 192)));
  return f;
}

test('the codes of the format are read from its §6', (tt) => {
  tt.true(CODES.length >= 20);
  for (const c of ['package-truncated', 'package-malformed', 'package-too-large', 'alg-unsupported', 'manifest-malformed', 'manifest-unknown-field', 'format-unsupported', 'size-mismatch']) tt.true(CODES.includes(c), c);
});

test('a valid image head parses: the Sig_structure is returned, and the Ed25519 signature verifies over it', (tt) => {
  const bytes = packageHead(key);
  const h = ok(tt, bytes);
  tt.is(hex(h.toBeSigned), hex(expectedToBeSigned(key)));
  tt.true(verify(null, h.toBeSigned, key.privateKey, h.signature));
  tt.is(h.alg, -8);
  tt.is(hex(h.kid), hex(key.kid));
  tt.is(h.payloadOffset, bytes.length);
  tt.is(h.payloadLength, 70000);
  tt.is(h.length, bytes.length - 5);
  tt.like(h.manifest, { kind: 1, vendor: 'Hoshi Works', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', version: '0.2.0', counter: 3, size: 70000, app: 60000, notes: undefined, add: undefined, retire: undefined });
  tt.is(hex(h.manifest.digest!), createHash('sha256').update('payload').digest('hex'));
  crossCheck(tt, bytes, h);
  // The result holds no view of the input.
  const copy = new Uint8Array(bytes);
  const h2 = ok(tt, copy);
  copy.fill(0);
  tt.is(hex(h2.kid), hex(key.kid));
  tt.is(hex(h2.manifest.digest!), hex(h.manifest.digest!));
  tt.is(hex(h2.signature), hex(h.signature));
  tt.is(hex(h2.toBeSigned), hex(h.toBeSigned));
});

test('a valid key-rotation head parses, with an empty payload; alg -19 is read as -8 is', (tt) => {
  const fields = keyFields(key.kid, { 14: b([1, 2, 3, 4, 5, 6, 7, 8]), 12: text('https://example.com/keys') });
  const bytes = packageHead(key, { fields, alg: ['n', 18] });
  const h = ok(tt, bytes);
  tt.is(h.alg, -19);
  tt.is(h.payloadLength, 0);
  tt.like(h.manifest, { kind: 2, version: '', size: 0, app: 0, digest: undefined, notes: 'https://example.com/keys' });
  tt.is(hex(h.manifest.add!), '07'.repeat(32));
  tt.is(hex(h.manifest.retire!), '0102030405060708');
  tt.true(verify(null, h.toBeSigned, key.privateKey, h.signature));
  crossCheck(tt, bytes, h);
});

test('generated valid packages: the parse equals cbor-x\'s decoding, and cbor-x encodes them to the same bytes', (tt) => {
  const seed = Date.now() >>> 0;
  tt.log('seed ' + seed);
  const g = prng(seed);
  for (let i = 0; i < 400; i++) {
    const fields = randomFields(g, i % 3 !== 0);
    const parts: PackageParts = { fields, alg: g.int(2) ? ['n', 7] : ['n', 18] };
    const bytes = packageHead(key, parts);
    const h = ok(tt, bytes, 'package ' + i + ' (seed ' + seed + ')');
    crossCheck(tt, bytes, h, 'package ' + i + ' (seed ' + seed + ')');
    tt.is(hex(h.toBeSigned), hex(expectedToBeSigned(key, parts)));
    // cbor-x, given the same values (maps in key order), writes the same COSE_Sign1.
    const m = new Map<number, unknown>([...fields.entries()].sort((x, y) => x[0] - y[0]).map(([k, v]) => [k, v[0] === 'b' ? v[1] : v[1]] as [number, unknown]));
    const prot = encoder.encode(new Map<number, unknown>([[1, h.alg], [4, key.kid]]));
    const cose = encoder.encode(new Tag([prot, new Map(), encoder.encode(m), h.signature], 18));
    if (hex(cose) !== hex(bytes.subarray(0, h.length))) tt.fail('package ' + i + ': cbor-x encodes it otherwise');
  }
});

/** Packages whose heads span the cases: lengths of 1, 2 and 3-byte heads, both kinds, a long notes URL. */
function samples(): { what: string; bytes: Uint8Array }[] {
  return [
    { what: 'image', bytes: packageHead(key) },
    { what: 'image with notes', bytes: packageHead(key, { fields: imageFields(key.kid, { 12: text('https://example.com/' + 'n'.repeat(180)), 7: u(4294967295), 8: u(4294967295), 11: u(24) }) }) },
    { what: 'key rotation', bytes: packageHead(key, { fields: keyFields(key.kid, { 14: b([9, 9, 9, 9, 9, 9, 9, 9]) }) }) },
    { what: 'small image', bytes: packageHead(key, { fields: imageFields(key.kid, { 8: u(2), 11: u(1), 7: u(0), 2: text('v'), 3: text('m'), 5: text('b'), 4: text('host') }) }) },
  ];
}

test('every prefix of a valid head is package-truncated; the whole head parses', (tt) => {
  for (const s of samples()) {
    for (let n = 0; n < s.bytes.length; n++) refused(tt, s.bytes.subarray(0, n), 'package-truncated', /^the package ends inside its COSE_Sign1 or the payload head, at byte \d+$/, s.what + ' prefix ' + n);
    ok(tt, s.bytes, s.what);
    // Bytes past the payload's head are the payload's: not looked at.
    const more = new Uint8Array(s.bytes.length + 100).fill(0xff);
    more.set(s.bytes);
    tt.is(ok(tt, more, s.what + ' with payload').payloadOffset, s.bytes.length);
  }
});

test('every byte of a head changed to every other value: never a throw; a refusal with a §6 code, or a parse whose signed bytes differ and that cbor-x reads alike', (tt) => {
  let accepted = 0;
  let refusals = 0;
  const codes = new Map<string, number>();
  for (const s of samples().slice(0, 3)) {
    const h0 = ok(tt, s.bytes);
    for (let i = 0; i < s.bytes.length; i++) {
      for (let v = 0; v < 256; v++) {
        if (v === s.bytes[i]) continue;
        const bytes = new Uint8Array(s.bytes);
        bytes[i] = v;
        const r = parse(tt, bytes, s.what + ' byte ' + i + ' = ' + v);
        if (!r.ok) {
          refusals++;
          codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          continue;
        }
        accepted++;
        if (same(r.value.toBeSigned, h0.toBeSigned) && same(r.value.signature, h0.signature)) tt.fail(s.what + ' byte ' + i + ' = ' + v + ': accepted with the same signed bytes and signature');
        // Anything accepted is inside a text or byte value (or the signature), and reads alike in cbor-x.
        if (accepted % 31 === 0) crossCheck(tt, bytes, r.value, s.what + ' byte ' + i + ' = ' + v);
      }
    }
  }
  tt.log('accepted ' + accepted + ', refused ' + refusals + ': ' + [...codes.entries()].map(([c, n]) => c + ' ' + n).join(', '));
  tt.true(accepted > 0 && refusals > 0);
});

test('an indefinite length at every head of a head is package-malformed', (tt) => {
  for (const s of [{ what: 'image', items: packageItems(key) }, { what: 'key rotation', items: packageItems(key, { fields: keyFields(key.kid, { 14: b(new Uint8Array(8)) }) }) }]) {
    const heads = encodeSeq(s.items).heads;
    tt.true(heads > 30);
    for (let i = 0; i < heads; i++) {
      const e = encodeSeq(s.items, { indefinite: i });
      tt.true(e.changed);
      refused(tt, e.bytes, 'package-malformed', i === 0 ? /tag 18/ : /indefinite length or a break/, s.what + ' head ' + i);
    }
  }
  // Each major type's ai 31 where a value stands (0, 1, 6 and 7 are ill-formed; 7's is a lone break).
  for (const ib of [0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xdf, 0xff]) {
    refused(tt, packageHead(key, { fields: imageFields(key.kid, { 7: ['raw', new Uint8Array([ib, 0x01, 0xff])] }) }), 'package-malformed', /indefinite length or a break \(only definite lengths\), at byte/, 'counter ' + ib.toString(16));
    refused(tt, packageHead(key, { unprotected: ['raw', new Uint8Array([ib, 0xff])] }), 'package-malformed', /indefinite/, 'unprotected ' + ib.toString(16));
  }
});

test('a head longer than needed, at every head of a head, is package-malformed', (tt) => {
  for (const s of samples()) {
    const items = s.what === 'image' ? packageItems(key) : undefined;
    if (!items) continue;
    const heads = encodeSeq(items).heads;
    for (let i = 0; i < heads; i++) {
      const e = encodeSeq(items, { widen: i });
      tt.true(e.changed);
      refused(tt, e.bytes, 'package-malformed', i === 0 ? /tag 18/ : /shortest form/, 'head ' + i);
    }
  }
  // Each length of head one size too long, at a value: 1, 2, 4 and 8-byte arguments.
  for (const raw of [[0x18, 0x17], [0x19, 0x00, 0xff], [0x1a, 0x00, 0x00, 0xff, 0xff], [0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], [0x1b, 0, 0, 0, 0, 0, 0, 0, 3]]) {
    refused(tt, packageHead(key, { fields: imageFields(key.kid, { 7: ['raw', new Uint8Array(raw)] }) }), 'package-malformed', /shortest form/, 'counter ' + hex(new Uint8Array(raw)));
  }
  // The shortest forms of the edges are read.
  for (const v of [23, 24, 255, 256, 65535, 65536, 4294967295]) tt.is(ok(tt, packageHead(key, { fields: imageFields(key.kid, { 7: u(v) }) })).manifest.counter, v);
});

test('huge declared lengths are refused before anything is read into: past 1024 bytes at the top, past the enclosing byte string inside', (tt) => {
  const L32 = [0xff, 0xff, 0xff, 0xff];
  const L64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  const cases: [string, (h: number[]) => PackageParts, string, RegExp][] = [
    ['protected header bstr', (h) => ({ protectedItem: ['raw', new Uint8Array([0x40 | h[0]!, ...h.slice(1), 0xa2, 0x01, 0x27])] }), 'package-too-large', /past 1024 bytes/],
    ['payload bstr', (h) => ({ payloadItem: ['raw', new Uint8Array([0x40 | h[0]!, ...h.slice(1), 0xa0])] }), 'package-too-large', /past 1024 bytes/],
    ['signature bstr', (h) => ({ signature: ['raw', new Uint8Array([0x40 | h[0]!, ...h.slice(1), 1, 2, 3])] }), 'package-too-large', /past 1024 bytes/],
    ['COSE_Sign1 array', (h) => ({ sign1: ['raw', new Uint8Array([0xd2, 0x80 | h[0]!, ...h.slice(1), 0x40])] }), 'package-malformed', /array of 4 items/],
    ['protected map', (h) => ({ protectedItem: ['cbor', ['raw', new Uint8Array([0xa0 | h[0]!, ...h.slice(1), 1, 0x27])]] }), 'package-malformed', /exactly alg/],
    ['kid bstr', (h) => ({ kid: ['raw', new Uint8Array([0x40 | h[0]!, ...h.slice(1), 1, 2])] }), 'package-malformed', /runs past the end of its enclosing byte string/],
    ['unprotected map', (h) => ({ unprotected: ['raw', new Uint8Array([0xa0 | h[0]!, ...h.slice(1)])] }), 'package-malformed', /empty map/],
    ['manifest map', (h) => ({ manifest: ['raw', new Uint8Array([0xa0 | h[0]!, ...h.slice(1), 0, 1])] }), 'package-malformed', /declared count runs past/],
    ['vendor tstr', (h) => ({ fields: imageFields(key.kid, { 2: ['raw', new Uint8Array([0x60 | h[0]!, ...h.slice(1), 0x41])] }) }), 'package-malformed', /runs past the end of its enclosing byte string/],
    ['digest bstr', (h) => ({ fields: imageFields(key.kid, { 9: ['raw', new Uint8Array([0x40 | h[0]!, ...h.slice(1), 0x41])] }) }), 'package-malformed', /runs past the end/],
    ['notes array', (h) => ({ fields: imageFields(key.kid, { 12: ['raw', new Uint8Array([0x80 | h[0]!, ...h.slice(1), 0x41])] }) }), 'manifest-malformed', /notes \(key 12\) is not a text string \(tstr\)/],
    ['payload head', (h) => ({ payloadLength: h.length === 5 ? 4294967295 : 18446744073709551615n }), 'size-mismatch', /payload byte string holds/],
  ];
  for (const [what, parts, code, reason] of cases) {
    for (const h of [[26, ...L32], [27, ...L64]]) refused(tt, packageHead(key, parts(h)), code, reason, what + ' ' + (h.length === 5 ? '2^32-1' : '2^64-1'));
  }
  // An 8-byte length read as the nearest double still refuses at once (2^53 + 1 and 2^64 - 1).
  refused(tt, packageHead(key, { protectedItem: ['raw', new Uint8Array([0x5b, 0, 0x20, 0, 0, 0, 0, 0, 1])] }), 'package-too-large', /past 1024/);
});

test('deep nesting is refused at its first head: 10,000 nested arrays, maps or tags cost one head', (tt) => {
  const deep = (open: number[], n: number): Uint8Array => {
    const out = new Uint8Array(open.length * n + 1);
    for (let i = 0; i < n; i++) out.set(open, i * open.length);
    return out;
  };
  const started = process.hrtime.bigint();
  refused(tt, deep([0x81], 10000), 'package-malformed', /tag 18/, 'arrays from the start');
  refused(tt, new Uint8Array([0xd2, ...deep([0x81], 10000)]), 'package-malformed', /array of 4 items/, 'arrays in the tag');
  refused(tt, new Uint8Array([0xd2, 0x84, ...deep([0x81], 10000)]), 'package-malformed', /protected header is not a byte string/, 'arrays as the protected header');
  refused(tt, new Uint8Array([0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x27, 0x04, 0x48, ...key.kid, ...deep([0xa1, 0x00], 10000)]), 'package-malformed', /unprotected header is not an empty map/, 'maps as the unprotected header');
  refused(tt, deep([0xd2], 10000), 'package-malformed', /a tag other than the outer 18/, 'tags');
  refused(tt, new Uint8Array([0xd2, 0x84, ...deep([0xd2], 10000)]), 'package-malformed', /a tag other than the outer 18/, 'tags inside');
  // Inside the manifest, within the 1024 bytes: as a value, and as a key.
  refused(tt, packageHead(key, { fields: imageFields(key.kid, { 2: ['raw', deep([0x81], 600)] }) }), 'manifest-malformed', /vendor \(key 2\) is not a text string \(tstr\)/);
  refused(tt, packageHead(key, { manifest: ['raw', new Uint8Array([0xa1, ...deep([0x81], 600)])] }), 'manifest-malformed', /key is not an unsigned integer/);
  refused(tt, packageHead(key, { protectedMap: ['m', [[u(1), ['raw', deep([0x81], 600)]], [u(4), b(key.kid)]]] }), 'alg-unsupported', /alg/);
  tt.true(process.hrtime.bigint() - started < 2_000_000_000n);
});

test('the outer tag must be 18 in its one-byte head, and no other tag stands anywhere', (tt) => {
  const inner = encode(['a', [['cbor', ['m', [[u(1), ['n', 7]], [u(4), b(key.kid)]]]], ['m', []], b([0xa0]), b(new Uint8Array(64))]]);
  for (const start of [[0xd0], [0xd1], [0xd3], [0xd8, 0x12], [0xd8, 0x62], [0xd9, 0x00, 0x12], [0xc0]]) refused(tt, new Uint8Array([...start, ...inner]), 'package-malformed', /tag 18/, 'start ' + hex(new Uint8Array(start)));
  refused(tt, inner, 'package-malformed', /tag 18/, 'untagged');
  // Tags inside: around the payload, the protected header, the kid, a key, a value (bignum, tag 24, nested 18).
  const cases: [string, PackageParts][] = [
    ['tag 24 around the payload', { payloadItem: ['tag', 24, ['cbor', ['m', [...imageFields(key.kid).entries()].map(([k, v]) => [u(k), v] as [Item, Item])]]] }],
    ['tag 18 around the protected header', { protectedItem: ['tag', 18, ['cbor', ['m', [[u(1), ['n', 7]], [u(4), b(key.kid)]]]]] }],
    ['tag on the kid', { kid: ['tag', 2, b(key.kid)] }],
    ['bignum counter', { fields: imageFields(key.kid, { 7: ['tag', 2, b([1, 0])] }) }],
    ['epoch date version', { fields: imageFields(key.kid, { 6: ['tag', 1, u(1700000000)] }) }],
    ['tag 55799 on the manifest', { manifest: ['tag', 55799, ['m', [...imageFields(key.kid).entries()].map(([k, v]) => [u(k), v] as [Item, Item])]] }],
    ['tagged key', { manifest: ['m', [[['tag', 0, u(0)], u(1)]]] }],
    ['tag on the signature', { signature: ['tag', 64, b(new Uint8Array(64))] }],
    ['tag on the unprotected header', { unprotected: ['tag', 259, ['m', []]] }],
  ];
  for (const [what, parts] of cases) refused(tt, packageHead(key, parts), 'package-malformed', /a tag other than the outer 18/, what);
});

test('floating-point, simple and reserved values are package-malformed', (tt) => {
  const values: [string, number[]][] = [
    ['half float', [0xf9, 0x3c, 0x00]], ['float', [0xfa, 0x3f, 0x80, 0, 0]], ['double', [0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]], ['false', [0xf4]], ['true', [0xf5]], ['null', [0xf6]],
    ['undefined', [0xf7]], ['simple 32', [0xf8, 0x20]], ['simple 0', [0xe0]],
  ];
  for (const [what, raw] of values) {
    refused(tt, packageHead(key, { fields: imageFields(key.kid, { 7: ['raw', new Uint8Array(raw)] }) }), 'package-malformed', /floating-point or simple value/, 'counter ' + what);
    refused(tt, packageHead(key, { payloadItem: ['raw', new Uint8Array(raw)] }), 'package-malformed', /floating-point or simple value/, 'payload ' + what);
    refused(tt, packageHead(key, { alg: ['raw', new Uint8Array(raw)] }), 'package-malformed', /floating-point or simple value/, 'alg ' + what);
  }
  for (const ib of [0x1c, 0x1d, 0x1e, 0x3c, 0x5d, 0x7e, 0x9c, 0xbd, 0xfc]) {
    refused(tt, packageHead(key, { fields: imageFields(key.kid, { 7: ['raw', new Uint8Array([ib, 0, 0, 0, 0, 0, 0, 0, 0, 0])] }) }), 'package-malformed', ib >= 0xe0 ? /floating-point/ : /reserved additional information/, 'ai ' + hex(new Uint8Array([ib])));
  }
});

test('the COSE_Sign1 may take 1024 bytes, not 1025: package-too-large', (tt) => {
  // notes as long as it takes to end the COSE_Sign1 at 1024 or 1025 (the notes rule then refuses at 1024: read, not too large).
  const at = (n: number): Uint8Array => packageHead(key, { fields: imageFields(key.kid, { 12: text('https://' + 'x'.repeat(n)) }) });
  const base = ok(tt, at(100)).length;
  const fill = 100 + 1024 - base - 1; // one more byte of head for notes past 255
  let exact: Uint8Array | undefined;
  for (let n = fill - 4; n <= fill + 4; n++) {
    const bytes = at(n);
    const r = parse(tt, bytes);
    const length = bytes.length - 5;
    if (length === 1024) exact = bytes;
    if (length <= 1024) tt.true(!r.ok && r.code === 'manifest-malformed' && /notes/.test(r.reason), length + ': ' + (r.ok ? 'ok' : r.reason));
    else tt.true(!r.ok && r.code === 'package-too-large', length + ': ' + (r.ok ? 'ok' : r.code));
  }
  tt.truthy(exact, 'a COSE_Sign1 of exactly 1024 bytes was built');
  refused(tt, new Uint8Array(2000).fill(0x41).map((v, i) => (i === 0 ? 0xd2 : i === 1 ? 0x84 : i === 2 ? 0x59 : i === 3 ? 0x04 : i === 4 ? 0x00 : v)), 'package-too-large', /past 1024/);
});

test('the payload\'s head: a byte string, shortest, whole, of the manifest\'s size (0 for key rotation)', (tt) => {
  refused(tt, packageHead(key, { payloadLength: 69999 }), 'size-mismatch', /holds 69999 bytes, the manifest's size \(key 8\) 70000/);
  refused(tt, packageHead(key, { payloadLength: 0 }), 'size-mismatch');
  refused(tt, packageHead(key, { fields: keyFields(key.kid), payloadLength: 1 }), 'size-mismatch', /^a key-rotation package's payload byte string is empty, this one holds 1 bytes$/);
  const h = ok(tt, packageHead(key));
  const bytes = packageHead(key);
  for (const second of [[0x60], [0x80], [0xa0], [0x1a, 0, 1, 0x11, 0x70], [0xf6], [0xd8, 0x40, 0x40]]) {
    const b2 = new Uint8Array([...bytes.subarray(0, h.length), ...second]);
    refused(tt, b2, 'package-malformed', /not a byte string \(the payload\)|tag other|floating/, 'second item ' + hex(new Uint8Array(second)));
  }
});

test('random bytes and randomly damaged heads never throw; what is accepted reads alike in cbor-x', (tt) => {
  const seed = (Date.now() * 7) >>> 0;
  tt.log('seed ' + seed);
  const g = prng(seed);
  const base = samples().map((s) => s.bytes);
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    let bytes: Uint8Array;
    if (i % 4 === 0) {
      bytes = g.bytes(g.int(1100));
      if (g.int(2)) bytes[0] = 0xd2;
      if (g.int(2) && bytes.length > 1) bytes[1] = 0x84;
    } else {
      const src = g.pick(base);
      const a = Array.from(src);
      const edits = 1 + g.int(6);
      for (let e = 0; e < edits; e++) {
        const at = g.int(a.length);
        const op = g.int(4);
        if (op === 0) a[at] = g.int(256);
        else if (op === 1) a.splice(at, 1);
        else if (op === 2) a.splice(at, 0, g.int(256));
        else a[at] = g.pick([0x18, 0x19, 0x1a, 0x1b, 0x5f, 0x9f, 0xbf, 0xff, 0xf6, 0xd2, 0x5b, 0x7b]);
      }
      bytes = new Uint8Array(g.int(5) === 0 ? a.slice(0, g.int(a.length)) : a);
    }
    const r = parse(tt, bytes, 'seed ' + seed + ' input ' + i);
    if (r.ok) {
      accepted++;
      crossCheck(tt, bytes, r.value, 'seed ' + seed + ' input ' + i);
    }
  }
  tt.log(accepted + ' of 20000 accepted');
  tt.pass();
});

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMultiple, Tag } from 'cbor-x';
import { Ed25519Key } from '@ldclabs/cose-ts/ed25519';
import { Header } from '@ldclabs/cose-ts/header';
import { Sign1Message } from '@ldclabs/cose-ts/sign1';
import { decodeCBOR, encodeCBOR } from '@ldclabs/cose-ts/utils';
import {
  ALG_ED25519,
  ALG_EDDSA,
  createImagePackage,
  createRotationPackage,
  kidOf,
  sha256,
  verifyPackage,
  type ImageFields,
  type SigningKey,
} from '../firmware/host/update/package';
import { rawPublicKey, readPublicKey } from '../firmware/host/update/keys';
import { keygen, release } from '../firmware/host/update/commands';
import { jsCrypto } from '../modules/crypto/provider-js';
import { ed25519Verify } from '../modules/crypto/ed25519';

/**
 * Update packages (docs/formats/update.md §1–3) against implementations that are not Hoshi's:
 * - `@ldclabs/cose-ts` (its Sign1Message and Ed25519Key, CBOR by cborg in RFC 8949 order);
 * - Python: cbor2 and PyNaCl (test/interop/update_verify.py, update_sign.py), Debian's
 *   python3-cbor2 and python3-nacl (test/ensure-packages.mjs installs them; npm test runs it);
 * - the device's own reader (modules/ota/manifest.ts parsePackageHead, then modules/crypto's
 *   Ed25519 over its Sig_structure).
 * Each verifies what the others make, and all of them make byte-identical packages from the same
 * key, manifest and payload: the encoding is deterministic, and so is Ed25519.
 */

const PYTHON_DEFAULT = '/usr/bin/python3';
const VERIFY_PY = fileURLToPath(new URL('./interop/update_verify.py', import.meta.url));
const SIGN_PY = fileURLToPath(new URL('./interop/update_sign.py', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

async function python(): Promise<string> {
  // test/ensure-packages.mjs names the interpreter its packages are installed for.
  const specifier = './ensure-packages.mjs';
  try {
    return ((await import(specifier)) as { PYTHON: string }).PYTHON;
  } catch {
    return PYTHON_DEFAULT;
  }
}

function runPython<T>(py: string, script: string, jobs: unknown[]): T {
  const r = spawnSync(py, [script], { input: JSON.stringify(jobs), encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(script + ' failed (' + r.status + '): ' + r.stderr + (r.error ? String(r.error) : ''));
  return JSON.parse(r.stdout) as T;
}

interface PyVerdict {
  ok: boolean;
  error?: string;
  alg?: number;
  kid?: string;
  manifest?: { [key: string]: unknown };
  deterministic?: boolean;
  unprotected_empty?: boolean;
}

/** A signing key from a 32-byte seed (RFC 8032 private key), as node:crypto, cose-ts and PyNaCl all take it. */
function keyFromSeed(seed: Uint8Array): SigningKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const publicKey = rawPublicKey(privateKey);
  return { privateKey, publicKey, kid: kidOf(publicKey) };
}

function makePayload(app: number, assets: number): Uint8Array {
  const aligned = Math.ceil((app + 1) / 4096) * 4096;
  const out = new Uint8Array(aligned + assets).fill(0xff);
  for (let i = 0; i < app; i++) out[i] = 0x20 + ((i * 11) % 95);
  out[app] = 0;
  out.set(randomBytes(assets), aligned);
  return out;
}

const seed = new Uint8Array(randomBytes(32));
const key = keyFromSeed(seed);
const FIELDS: ImageFields = { vendor: 'Hoshi example vendor', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', version: '2.3.4', counter: 12, app: 6000, notes: 'https://example.com/releases/2.3.4' };
const payload = makePayload(6000, 5000);

/** The package made by cose-ts from the same manifest (its own CBOR encoder, its own Ed25519). */
function coseTsPackage(alg: number, fields = FIELDS, p = payload): Uint8Array {
  const k = Ed25519Key.fromSecret(seed);
  k.alg = alg; // cose-ts keys carry EdDSA (-8); -19 must be set by hand
  const manifest = new Map<number, unknown>([
    [0, 1],
    [1, 1],
    [2, fields.vendor],
    [3, fields.model],
    [4, fields.runtime],
    [5, fields.board],
    [6, fields.version],
    [7, fields.counter],
    [8, p.length],
    [9, sha256(p)],
    [10, kidOf(k.getPublicKey())],
    [11, fields.app],
  ]);
  if (fields.notes) manifest.set(12, fields.notes);
  const h = new Header();
  h.setParam(1, alg);
  h.setParam(4, kidOf(k.getPublicKey()));
  const sign1 = Sign1Message.withTag(new Sign1Message(encodeCBOR(manifest), h, new Header()).toBytes(k));
  return new Uint8Array(Buffer.concat([sign1, encodeCBOR(p)]));
}

/** Splits a package into its COSE_Sign1 bytes and its payload with cbor-x (not Hoshi's decoder). */
function splitWithCborX(bytes: Uint8Array): { sign1: Uint8Array; payload: Uint8Array } {
  const items = decodeMultiple(bytes) as unknown[];
  if (items.length !== 2 || !(items[0] instanceof Tag) || (items[0] as Tag).tag !== 18 || !(items[1] instanceof Uint8Array)) throw new Error('not a COSE_Sign1 and a byte string');
  const body = items[1] as Uint8Array;
  const n = body.length;
  const head = n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
  return { sign1: bytes.subarray(0, bytes.length - n - head), payload: new Uint8Array(body) };
}

/** cose-ts verifies a package: Sign1Message.fromBytes with the public key, then the manifest's digest. */
function coseTsVerify(bytes: Uint8Array, alg?: number): { manifest: Map<number, unknown> } {
  const { sign1, payload: body } = splitWithCborX(bytes);
  const k = Ed25519Key.fromPublic(key.publicKey);
  if (alg !== undefined) k.alg = alg;
  const message = Sign1Message.fromBytes(k, sign1);
  const manifest = decodeCBOR(message.payload) as Map<number, unknown>;
  if (hex(sha256(body)) !== hex(manifest.get(9) as Uint8Array)) throw new Error('digest mismatch');
  if (body.length !== manifest.get(8)) throw new Error('size mismatch');
  return { manifest };
}

/** The device's reader (modules/ota/manifest.ts), then the device's Ed25519 over its Sig_structure, then the digest. */
async function deviceVerify(bytes: Uint8Array): Promise<{ ok: true; alg: number; toBeSigned: Uint8Array } | { ok: false; code: string; reason: string }> {
  const specifier = '../modules/ota/manifest.ts';
  const { parsePackageHead } = (await import(specifier)) as typeof import('../modules/ota/manifest');
  const head = parsePackageHead(bytes.subarray(0, 1024 + 9));
  if (!head.ok) return head;
  const v = head.value;
  if (hex(v.kid) !== hex(kidOf(key.publicKey))) return { ok: false, code: 'key-unknown', reason: 'kid' };
  if (!ed25519Verify(jsCrypto, key.publicKey, v.toBeSigned, v.signature)) return { ok: false, code: 'signature-invalid', reason: 'signature' };
  const body = bytes.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength);
  if (v.payloadOffset + v.payloadLength !== bytes.length) return { ok: false, code: 'size-mismatch', reason: 'length' };
  if (v.manifest.kind === 1 && hex(jsCrypto.sha256(body)) !== hex(v.manifest.digest!)) return { ok: false, code: 'digest-mismatch', reason: 'digest' };
  return { ok: true, alg: v.alg, toBeSigned: v.toBeSigned };
}

const deviceParserPresent = existsSync(fileURLToPath(new URL('../modules/ota/manifest.ts', import.meta.url)));

test('a Hoshi package verifies with cose-ts (alg -8); cose-ts refuses -19 unless its key is told -19', (t) => {
  const pkg = createImagePackage(FIELDS, payload, key);
  const { manifest } = coseTsVerify(pkg);
  t.is(manifest.get(6), '2.3.4');
  t.is(manifest.get(12), FIELDS.notes);
  const ed = createImagePackage(FIELDS, payload, key, ALG_ED25519);
  // Recorded: @ldclabs/cose-ts 1.5.0 holds the header's alg against its key's, and its Ed25519Key is EdDSA (-8).
  t.throws(() => coseTsVerify(ed), { message: /alg mismatch, expected -19, got -8/ });
  t.notThrows(() => coseTsVerify(ed, ALG_ED25519));
  const tampered = pkg.slice();
  tampered[pkg.length - 1]! ^= 1;
  t.throws(() => coseTsVerify(tampered), { message: /digest mismatch/ });
});

test('Hoshi packages verify with Python (cbor2 + PyNaCl, the Sig_structure rebuilt), alg -8 and -19, and cbor2 finds them canonical', async (t) => {
  const py = await python();
  if (!existsSync(py)) return t.fail(py + ' is missing: run `node test/ensure-packages.mjs` (npm test does)');
  const next = keyFromSeed(new Uint8Array(randomBytes(32)));
  const packages = [
    createImagePackage(FIELDS, payload, key),
    createImagePackage(FIELDS, payload, key, ALG_ED25519),
    createImagePackage({ ...FIELDS, notes: undefined, app: 10 }, makePayload(10, 0).subarray(0, 11), key),
    createRotationPackage({ vendor: FIELDS.vendor, model: FIELDS.model, runtime: 'kaluma', board: 'kaluma-pico-w', counter: 12, add: next.publicKey, retire: key.kid }, key),
  ];
  const tampered = packages[0]!.slice();
  tampered[200]! ^= 1;
  const wrongPayload = packages[0]!.slice();
  wrongPayload[wrongPayload.length - 10]! ^= 1;
  const verdicts = runPython<PyVerdict[]>(py, VERIFY_PY, [...packages, tampered, wrongPayload].map((p) => ({ package: hex(p), public_key: hex(key.publicKey) })));
  for (const [i, v] of verdicts.slice(0, 4).entries()) {
    t.true(v.ok, i + ': ' + v.error);
    t.true(v.deterministic, i + ': cbor2 canonical re-encoding gives the same bytes');
    t.true(v.unprotected_empty);
    t.is(v.kid, hex(key.kid));
  }
  t.is(verdicts[0]!.alg, -8);
  t.is(verdicts[1]!.alg, -19);
  t.is(verdicts[0]!.manifest!['6'], '2.3.4');
  t.is(verdicts[0]!.manifest!['9'], hex(sha256(payload)));
  t.is(verdicts[3]!.manifest!['13'], hex(next.publicKey));
  t.like(verdicts[4], { ok: false, error: 'signature-invalid' });
  t.like(verdicts[5], { ok: false, error: 'digest-mismatch' });
});

test('packages made by cose-ts and by Python verify with Hoshi (and the device reader); all three make the same bytes', async (t) => {
  const py = await python();
  if (!existsSync(py)) return t.fail(py + ' is missing: run `node test/ensure-packages.mjs` (npm test does)');
  const fromPython = runPython<{ package: string; public_key: string }[]>(py, SIGN_PY, [
    { seed: hex(seed), alg: -8, fields: FIELDS, payload: hex(payload) },
    { seed: hex(seed), alg: -19, fields: FIELDS, payload: hex(payload) },
  ]);
  t.is(fromPython[0]!.public_key, hex(key.publicKey), 'the same key from the same seed');
  for (const [i, alg] of [ALG_EDDSA, ALG_ED25519].entries()) {
    const hoshi = createImagePackage(FIELDS, payload, key, alg);
    const python = fromHex(fromPython[i]!.package);
    const cose = coseTsPackage(alg);
    t.is(hex(python), hex(hoshi), 'Python makes the very bytes Hoshi makes (alg ' + alg + ')');
    t.is(hex(cose), hex(hoshi), 'cose-ts makes the very bytes Hoshi makes (alg ' + alg + ')');
    for (const [who, bytes] of [['Python', python], ['cose-ts', cose]] as const) {
      const v = verifyPackage(bytes, [key.publicKey]);
      t.true(v.ok, who + ' ' + alg + ': ' + (!v.ok ? v.code + ' ' + v.reason : ''));
      t.is(v.ok && v.value.alg, alg);
      if (deviceParserPresent) t.like(await deviceVerify(bytes), { ok: true, alg }, who + ' ' + alg + ' on the device reader');
    }
  }
  t.notThrows(() => coseTsVerify(fromHex(fromPython[0]!.package)), 'cose-ts verifies what Python made');
});

test("the device reader accepts Hoshi's packages and reads the same Sig_structure; host and device agree on mutated packages", async (t) => {
  if (!deviceParserPresent) return t.pass('modules/ota/manifest.ts is not there yet');
  const small = makePayload(300, 200);
  const pkg = createImagePackage({ ...FIELDS, app: 300 }, small, key);
  const host = verifyPackage(pkg, [key.publicKey]);
  const device = await deviceVerify(pkg);
  if (!host.ok || !device.ok) return t.fail('both accept the package');
  t.deepEqual(device.toBeSigned, host.value.toBeSigned);
  for (const alg of [ALG_EDDSA, ALG_ED25519]) t.like(await deviceVerify(createImagePackage(FIELDS, payload, key, alg)), { ok: true, alg });
  // One mutated byte at a time over the head (the device reads only the head and the payload it is sent).
  let agreed = 0;
  const disagreements: string[] = [];
  const otherCodes = new Map<string, number>();
  for (let i = 0; i < Math.min(pkg.length, 1200); i++) {
    for (const x of [1, 0x80, 0xff]) {
      const b = pkg.slice();
      b[i]! ^= x;
      const h = verifyPackage(b, [key.publicKey]);
      const d = await deviceVerify(b);
      if (h.ok !== d.ok) disagreements.push(i + '^' + x + ': host ' + (h.ok ? 'ok' : h.code) + ', device ' + (d.ok ? 'ok' : d.code));
      else agreed++;
      if (!h.ok && !d.ok && h.code !== d.code) otherCodes.set(h.code + ' / ' + d.code, (otherCodes.get(h.code + ' / ' + d.code) ?? 0) + 1);
    }
  }
  t.deepEqual(disagreements, []);
  t.log(agreed + ' mutations: host and device agree on every one');
  // Where both refuse, the host reads the whole file and the device the head: codes may differ in order of discovery.
  t.log('refused with different codes (host / device): ' + ([...otherCodes].map(([c, n]) => c + ' ' + n).join(', ') || 'none'));
});

test.serial('end to end: hoshi release builds the smart plug for Kaluma at the version given; Hoshi, the device reader, cose-ts and Python accept the package', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-release-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = console.log;
  console.log = () => undefined;
  let code: number;
  try {
    t.is(await keygen(['--out', join(dir, 'release.key')]), 0);
    code = await release(['smart-plug', '--version', '3.4.5', '--counter', '21', '--key', join(dir, 'release.key'), '--out', join(dir, 'plug.hoshi')]);
  } finally {
    console.log = quiet;
  }
  t.is(code, 0);
  const pub = readPublicKey(join(dir, 'release.key.pub'));
  const bytes = new Uint8Array(readFileSync(join(dir, 'plug.hoshi')));
  const v = verifyPackage(bytes, [pub]);
  if (!v.ok) return t.fail(v.code + ': ' + v.reason);
  const m = v.value.manifest;
  t.like(m, { vendor: 'Hoshi example vendor', model: 'HS-PLUG-01', runtime: 'kaluma', board: 'kaluma-pico-w', version: '3.4.5', counter: 21 });
  const app = Buffer.from(v.value.body.subarray(0, m.app)).toString('latin1');
  t.regex(app, /\.config\.firmwareVersion="3\.4\.5";\s*\w+\(\w+\(\),\w+\);?\s*$/, 'the image reports the release version');
  t.is(v.value.body[m.app!], 0);
  t.log('payload ' + m.size + ' bytes (app ' + m.app + '), package ' + bytes.length + ' bytes, ' + ((m.size! / 184320) * 100).toFixed(1) + ' % of a Pico W slot');
  if (deviceParserPresent) {
    const specifier = '../modules/ota/manifest.ts';
    const { parsePackageHead } = (await import(specifier)) as typeof import('../modules/ota/manifest');
    const head = parsePackageHead(bytes.subarray(0, 1033));
    if (!head.ok) return t.fail(head.code + ': ' + head.reason);
    t.true(ed25519Verify(jsCrypto, pub, head.value.toBeSigned, head.value.signature), 'the device verifies the signature');
    t.is(head.value.payloadOffset + head.value.payloadLength, bytes.length);
  }
  const { sign1 } = splitWithCborX(bytes);
  const k = Ed25519Key.fromPublic(pub);
  t.notThrows(() => Sign1Message.fromBytes(k, sign1), 'cose-ts');
  const py = await python();
  const [verdict] = runPython<PyVerdict[]>(py, VERIFY_PY, [{ package: hex(bytes), public_key: hex(pub) }]);
  t.true(verdict!.ok && verdict!.deterministic, 'Python: ' + verdict!.error);
});

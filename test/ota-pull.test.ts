import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import smartPlug from '../examples/smart-plug/image';
import { memoryBacking } from '../boards/host/flash';
import { HOST_FLASH_SIZE } from '../boards/host/board';
import { readBootRecord, SlotState } from '../firmware/device/core/bootctl';
import { defineImage, type Image } from '../firmware/device/image';
import { changePassword, deviceInfo, login, type Session } from '../firmware/host/client';
import { buildPayload } from '../firmware/host/payload';
import { hostSlots, startSimulator, type Simulator } from '../firmware/host/simulator';
import { newSigningKey } from '../firmware/host/update/keys';
import { createImagePackage, createPointer, encodeCbor, parsePointer as hostParsePointer, sha256, signSign1, type Cbor, type SigningKey } from '../firmware/host/update/package';
import { publish } from '../firmware/host/update/publish';
import { parseSetupKey } from '../modules/channel/setup';
import { ota } from '../modules/ota';
import { parsePointer } from '../modules/ota/pull';

/**
 * Pulling updates (modules/ota/pull.ts, docs/formats/update.md §10) on the simulated unit: a
 * static web server serves what `hoshi publish` wrote; the unit checks it on its schedule (here
 * every second), installs what is newer and comes back on it; the owner's opt-out stops every
 * fetch; pointers and packages it must not take are refused with their reason while it serves on.
 */

const PASSWORD = 'Juniper-otter 47 lantern';


const KEY = newSigningKey();
const OTHER = newSigningKey();
const FIELDS = { vendor: smartPlug.config.vendor, model: smartPlug.config.model, runtime: 'host', board: 'host' };
/** Where `hoshi publish` puts this model's host packages, percent-encoded as a URL path. */
const DIR = '/' + encodeURIComponent(FIELDS.vendor) + '/' + FIELDS.model + '/host-host/';

let hostPayload: Promise<{ payload: Uint8Array; app: number }> | undefined;
function payload020(): Promise<{ payload: Uint8Array; app: number }> {
  hostPayload ??= buildPayload('smart-plug', 'host', { version: '0.2.0' });
  return hostPayload;
}

async function imagePackage(o: { version?: string; key?: SigningKey; model?: string } = {}): Promise<Uint8Array> {
  const p = await payload020();
  return createImagePackage({ ...FIELDS, model: o.model ?? FIELDS.model, version: o.version ?? '0.2.0', counter: 1, app: p.app }, p.payload, o.key ?? KEY);
}

/** A static file server over `root` (what any web server does with `hoshi publish`'s output); it logs each path asked for. */
async function staticServer(t: ExecutionContext): Promise<{ root: string; base: string; log: string[] }> {
  const root = mkdtempSync(join(tmpdir(), 'hoshi-releases-'));
  const log: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    log.push(path);
    const file = normalize(join(root, decodeURIComponent(path)));
    let bytes: Buffer | undefined;
    try {
      if (file.startsWith(root + '/')) bytes = readFileSync(file);
    } catch {
      bytes = undefined;
    }
    if (!bytes) {
      response.writeHead(404, { 'Content-Length': 0 }).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    server.closeAllConnections();
    rmSync(root, { recursive: true, force: true });
  });
  return { root, base: 'http://127.0.0.1:' + (server.address() as AddressInfo).port, log };
}

/** Publishes `packages` under `root/<prefix>` with `key`, as `hoshi publish` does. */
function published(root: string, prefix: string, packages: Uint8Array[], key = KEY): void {
  const files = packages.map((p) => {
    const f = join(root, '..', 'pkg-' + randomBytes(6).toString('hex') + '.hoshi');
    writeFileSync(f, p);
    return f;
  });
  publish(join(root, prefix), files, key, [OTHER.publicKey]);
  for (const f of files) rmSync(f);
}

/** The smart plug with its ota module configured (`ota(options)` in place of `ota()`). */
function imageWith(options: { releaseUrl?: string; checkEveryS?: number }): Image {
  return defineImage({ config: smartPlug.config, modules: smartPlug.modules.map((m) => (m.name === 'ota' ? ota(options) : m)) });
}

interface Unit {
  sim: Simulator;
  session(): Promise<Session>;
}

async function unit(t: ExecutionContext, image: Image, o: { backing?: ReturnType<typeof memoryBacking>; uid?: string; setupKey?: Uint8Array } = {}): Promise<Unit & { setupKey: Uint8Array }> {
  const sim = await startSimulator({ image, quiet: true, iterations: 4096, updateKeys: [KEY.publicKey], backing: o.backing, uid: o.uid });
  t.teardown(() => sim.stop());
  let setupKey = o.setupKey;
  if (!setupKey) {
    setupKey = parseSetupKey(sim.label!.setupKey)!;
    const first = await login(sim.url, sim.label!.defaultPassword, setupKey);
    await changePassword(first, setupKey, PASSWORD, { iterations: 4096 });
  }
  const key = setupKey;
  return { sim, setupKey: key, session: () => login(sim.url, PASSWORD, key) };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function version(u: Unit): Promise<string> {
  return ((await deviceInfo(u.sim.url)) as unknown as { firmwareVersion: string }).firmwareVersion;
}

/** Polls GET /api/update until its `check` is no longer running; returns it. */
async function lastCheck(session: Session, waitMs = 10000): Promise<{ result: string; reason: string; version: string | null; secondsAgo: number | null }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const a = await session.call('GET', '/api/update');
    const c = a.body.check as { result: string; reason: string; version: string | null; secondsAgo: number | null };
    if (c && c.result !== null && c.result !== 'checking') return c;
    if (Date.now() > deadline) throw new Error('the check did not end: ' + JSON.stringify(a.body));
    await pause(50);
  }
}

test('a unit configured with a release URL checks it on schedule, installs the newer version and comes back on it (S1.1-06)', async (t) => {
  const srv = await staticServer(t);
  published(srv.root, 'r', [await imagePackage()]);
  const url = srv.base + '/r' + DIR + 'latest.cose';
  const u = await unit(t, imageWith({ releaseUrl: url, checkEveryS: 1 }));
  const settings = await (await u.session()).call('GET', '/api/update/settings');
  t.deepEqual(settings.body, { auto: true, url });
  const back = u.sim.nextBoot();
  await back;
  t.is(await version(u), '0.2.0');
  t.deepEqual(srv.log.slice(0, 2), ['/r' + DIR + 'latest.cose', '/r' + DIR + '0.2.0.hoshi']);
  const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(r.active, 1);
  t.is(r.slots[1]!.state, SlotState.GOOD);
});

test('opt-out: with automatic installs off, the unit fetches nothing on its schedule; turned on, it installs', async (t) => {
  const srv = await staticServer(t);
  published(srv.root, 'r', [await imagePackage()]);
  const url = srv.base + '/r' + DIR + 'latest.cose';
  // The owner turns automatic installs off (the image's schedule is long enough for that to come first)…
  const backing = memoryBacking(HOST_FLASH_SIZE);
  const uid = randomBytes(8).toString('hex');
  const first = await unit(t, imageWith({ releaseUrl: url, checkEveryS: 3600 }), { backing, uid });
  const off = await (await first.session()).call('PUT', '/api/update/settings', { auto: false, url });
  t.deepEqual(off.body, { auto: false, url });
  first.sim.stop();
  // …which holds across a restart, now with a one-second schedule: nothing is fetched.
  const u = await unit(t, imageWith({ releaseUrl: url, checkEveryS: 1 }), { backing, uid, setupKey: first.setupKey });
  await pause(3000);
  t.deepEqual(srv.log, []);
  const session = await u.session();
  t.deepEqual((await session.call('GET', '/api/update/settings')).body, { auto: false, url });
  t.is(((await session.call('GET', '/api/update')).body.check as { result: unknown }).result, null);
  t.is(await version(u), '0.1.0');
  // Turned back on: the next tick fetches and installs.
  const back = u.sim.nextBoot();
  t.is((await session.call('PUT', '/api/update/settings', { auto: true, url })).status, 200);
  await back;
  t.is(await version(u), '0.2.0');
  t.true(srv.log.includes('/r' + DIR + '0.2.0.hoshi'));
});

test('refused offers, each with its reason in the state, the unit serving on its version: another model, an older or the same version, bad pointers, a package signed by an unknown key', async (t) => {
  const srv = await staticServer(t);
  // A unit without a URL: it checks nothing by itself; the owner sets URLs and checks on demand.
  const u = await unit(t, imageWith({ checkEveryS: 1 }));
  const session = await u.session();
  t.deepEqual((await session.call('GET', '/api/update/settings')).body, { auto: false, url: null });
  await pause(1500);
  t.deepEqual(srv.log, []);
  const none = await session.call('POST', '/api/update/check');
  t.is(none.status, 409);
  t.is(none.body.error, 'no-release-url');

  published(srv.root, 'model', [await imagePackage({ model: 'HS-OTHER-01' })]);
  published(srv.root, 'older', [await imagePackage({ version: '0.0.9' })]);
  published(srv.root, 'same', [await imagePackage({ version: '0.1.0' })]);
  published(srv.root, 'key', [await imagePackage({ key: OTHER })], OTHER);
  // Hand-made pointers: garbage, one with a key of another format, one whose size is not its package's.
  const pkg = await imagePackage();
  published(srv.root, 'size', [pkg]);
  const pointer = (fields: { [k: string]: Cbor }): Uint8Array => signSign1(encodeCbor(new Map(Object.entries(fields))), KEY);
  const good = { format: 1, ...FIELDS, version: '0.2.0', counter: 1, path: '0.2.0.hoshi', sha256: sha256(pkg), size: pkg.length };
  writeFileSync(join(srv.root, 'size', DIR, 'latest.cose').replace(/%20/g, ' '), createPointer({ ...good, size: pkg.length + 10 }, KEY));
  const badDir = join(srv.root, 'size', decodeURIComponent(DIR));
  writeFileSync(join(badDir, 'garbage.cose'), randomBytes(300));
  writeFileSync(join(badDir, 'extra.cose'), pointer({ ...good, mirror: 'http://elsewhere/' }));
  writeFileSync(join(badDir, 'long.cose'), new Uint8Array([...createPointer(good, KEY), 0]));

  const cases: [string, string, string][] = [
    ['model' + DIR.replace(FIELDS.model, 'HS-OTHER-01') + 'latest.cose', 'wrong-model', '0.2.0'],
    ['older' + DIR + 'latest.cose', 'version-not-newer', '0.0.9'],
    ['same' + DIR + 'latest.cose', 'up-to-date', '0.1.0'],
    ['key' + DIR + 'latest.cose', 'key-unknown', '0.2.0'],
    ['size' + DIR + 'latest.cose', 'pointer-mismatch', '0.2.0'],
    ['size' + DIR + 'garbage.cose', 'package-malformed', ''],
    ['size' + DIR + 'extra.cose', 'manifest-unknown-field', ''],
    ['size' + DIR + 'long.cose', 'package-malformed', ''],
    ['size' + DIR + 'missing.cose', 'http-status', ''],
  ];
  for (const [path, code, named] of cases) {
    const url = srv.base + '/' + path;
    t.is((await session.call('PUT', '/api/update/settings', { auto: false, url })).status, 200);
    const started = await session.call('POST', '/api/update/check');
    t.is(started.status, 202, JSON.stringify(started.body));
    const c = await lastCheck(session);
    t.is(c.result, code, path + ': ' + c.reason);
    t.true(c.reason.length > 0);
    t.is(c.version, named || null, path);
    t.true(c.secondsAgo !== null && c.secondsAgo >= 0);
    // Still serving, on its version, its slots as they were.
    t.is(await version(u), '0.1.0');
    const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
    t.is(r.active, 0);
    t.not(r.slots[1]!.state, SlotState.RECEIVING);
    t.is(((await session.call('GET', '/api/update')).body as { phase: string }).phase, 'idle');
  }
  // The refused package was fetched (the pointer is not verified), and refused at its head.
  t.true(srv.log.includes('/key' + DIR + '0.2.0.hoshi'));
  // A server that is not there.
  t.is((await session.call('PUT', '/api/update/settings', { auto: false, url: 'http://127.0.0.1:1/latest.cose' })).status, 200);
  t.is((await session.call('POST', '/api/update/check')).status, 202);
  t.is((await lastCheck(session)).result, 'net-refused');
});

test('settings: exactly {auto, url}, an http:// URL or null; the image\'s configuration checked at build', async (t) => {
  const u = await unit(t, imageWith({}));
  const session = await u.session();
  for (const body of [{ auto: 'yes', url: null }, { auto: true }, { auto: true, url: null, extra: 1 }, { auto: true, url: 'https://example.com/latest.cose' }, { auto: true, url: 'http://example.com/a b' }, { auto: true, url: 5 }, [], 'x']) {
    const a = await session.call('PUT', '/api/update/settings', body);
    t.is(a.status, 400, JSON.stringify(body));
    t.is(a.body.error, 'bad-settings');
  }
  t.deepEqual((await session.call('GET', '/api/update/settings')).body, { auto: false, url: null });
  t.deepEqual((await session.call('PUT', '/api/update/settings', { auto: true, url: null })).body, { auto: true, url: null });
  t.is((await session.call('POST', '/api/update/check')).body.error, 'no-release-url');
  t.throws(() => ota({ releaseUrl: 'https://example.com/latest.cose' }), { message: /releaseUrl/ });
  t.throws(() => ota({ releaseUrl: 'http://example.com/latest.cose', checkEveryS: 0.5 }), { message: /checkEveryS/ });
  t.notThrows(() => ota({ releaseUrl: 'http://192.168.1.10:8000/acme/latest.cose', checkEveryS: 60 }));
});

test('the device\'s pointer decoder: what hoshi publish writes, and hostile pointers, each refused with its code, never a throw', (t) => {
  const pkg = new Uint8Array(5000).fill(3);
  const good = { format: 1, ...FIELDS, version: '1.2.3', counter: 7, path: '1.2.3.hoshi', sha256: sha256(pkg), size: pkg.length };
  const bytes = createPointer(good, KEY);
  t.true(hostParsePointer(bytes).ok);
  t.deepEqual(parsePointer(bytes), { path: '1.2.3.hoshi', size: 5000, board: 'host', model: FIELDS.model, vendor: FIELDS.vendor, counter: 7, runtime: 'host', version: '1.2.3' });
  const codes = new Set(['package-truncated', 'package-malformed', 'package-too-large', 'alg-unsupported', 'manifest-malformed', 'manifest-unknown-field', 'format-unsupported']);
  const refusedWith = (b: Uint8Array): string => {
    const r = parsePointer(b) as { code?: string; reason?: string };
    return r.code ?? 'ok';
  };
  // Every truncation, every bit flipped: refused or (a flip in the signature or kid, which are not checked) accepted as the same fields.
  for (let n = 0; n < bytes.length; n++) t.true(codes.has(refusedWith(bytes.subarray(0, n))), 'truncated at ' + n);
  for (let i = 0; i < bytes.length; i++) {
    for (const bit of [0x01, 0x20, 0x80]) {
      const b = new Uint8Array(bytes);
      b[i]! ^= bit;
      const code = refusedWith(b);
      if (code !== 'ok') t.true(codes.has(code), 'flip at ' + i + ': ' + code);
      else {
        // Accepted only where the host's decoder accepts too, with the same meaning (a flipped letter in a text value, the signature, the kid).
        const host = hostParsePointer(b);
        t.true(host.ok, 'flip at ' + i + ' accepted by the device, refused by the host: ' + (host.ok ? '' : host.reason));
      }
    }
  }
  const map = (pairs: [string, Cbor][]): Uint8Array => {
    const out: number[] = [0xa0 + pairs.length];
    for (const [k, v] of pairs) out.push(...encodeCbor(k), ...encodeCbor(v));
    return Uint8Array.from(out);
  };
  const ordered = (): [string, Cbor][] => ['path', 'size', 'board', 'model', 'format', 'sha256', 'vendor', 'counter', 'runtime', 'version'].map((k) => [k, (good as { [k: string]: Cbor })[k]!]);
  const signed = (payload: Uint8Array): Uint8Array => signSign1(payload, KEY);
  t.is(refusedWith(signed(map(ordered()))), 'ok');
  const swapped = ordered();
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  t.is(refusedWith(signed(map(swapped))), 'package-malformed');
  t.is(refusedWith(signed(map([...ordered(), ['version', '9.9.9']]))), 'package-malformed');
  t.is(refusedWith(signed(map([...ordered(), ['zzz', 1]]))), 'manifest-unknown-field');
  t.is(refusedWith(signed(map(ordered().slice(0, 9)))), 'manifest-malformed');
  t.is(refusedWith(signed(encodeCbor(new Map<number | string, Cbor>([...ordered(), ['format', 2]])))), 'format-unsupported');
  for (const [k, v] of [['size', 0], ['size', 'x'], ['counter', 2 ** 32], ['runtime', 'node'], ['version', '1.02.3'], ['path', '../x.hoshi'], ['sha256', new Uint8Array(31)], ['board', 'b'.repeat(33)], ['model', ''], ['vendor', 'caf\u00e9']] as [string, Cbor][]) {
    t.is(refusedWith(signed(encodeCbor(new Map<number | string, Cbor>([...ordered(), [k, v]])))), 'manifest-malformed', k + ' = ' + String(v));
  }
  // A package's COSE_Sign1 (integer keys) is not a pointer; nor is a map inside an array, a tag, an indefinite map.
  t.is(refusedWith(signed(encodeCbor(new Map<number | string, Cbor>([[0, 1], [1, 1]])))), 'manifest-malformed');
  t.is(refusedWith(signed(new Uint8Array([0xbf, 0xff]))), 'package-malformed');
  t.is(refusedWith(signed(new Uint8Array([0xc1, 0x00]))), 'package-malformed');
  t.is(refusedWith(new Uint8Array([0xd2, 0x84, ...new Array(3000).fill(0x81), 0x00])), 'package-malformed');
  t.is(refusedWith(new Uint8Array(0)), 'package-truncated');
  t.is(refusedWith(new Uint8Array(1100).fill(0xd2)), 'package-malformed');
});

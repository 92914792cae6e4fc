import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { picoConnect } from '../boards/kaluma-pico-w/tcp-client';
import smartPlug from '../examples/smart-plug/image';
import { scheduleInput } from '../examples/smart-plug/schedule-input';
import { Asset } from '../firmware/device/core/assets';
import { crc32 } from '../firmware/device/core/crc32';
import { loadParts } from '../firmware/device/core/code';
import type { ModuleContext } from '../firmware/device/core/module';
import { encodeAssets } from '../firmware/host/assets';
import { verifyRegion } from '../firmware/host/audit-log';
import { buildImage, bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine, type EngineSession } from '../firmware/host/engine';
import { ON_DEMAND_OF } from '../firmware/host/ondemand';
import { encodeProvisioning, newProvisioningRecord, padTo, seedStateSector } from '../firmware/host/provision';
import { MESSAGES_OF } from '../firmware/host/strings';
import { passwordTools } from '../modules/accounts/password-check';
import { scramServer } from '../modules/accounts/scram-server';
import { openLog, type AuditLog } from '../modules/audit/log';
import { auditReader } from '../modules/audit/read';
import { setupAccessPoint } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';
import { decodeWifi } from '../modules/network/wifi';
import { checkWifi, wifiSetup, type WifiSetup } from '../modules/network/wifi-setup';
import { deviceKeys } from '../modules/keys/keys';
import { createWorker } from '../modules/ota/worker';
import { wipeWorkCode, type WipeState } from '../modules/wipe/work';
import { assetsOf } from './helpers';
import { memoryBacking, openSimFlash } from '../boards/host/flash';

/**
 * Code a Kaluma image reads from its assets on demand (firmware/host/ondemand.ts, core/code.ts
 * `loadParts`): the Wi-Fi module's setup code (asset 10: the setup access point, the credentials'
 * PUT) and the smart plug's schedule parser (asset 11) are out of the image's text, read when a unit
 * is set up or a schedule arrives, and answer as the same code linked into host and Espruino
 * bundles does; their messages are in each asset's leading comment, read from flash when used.
 */

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

test('Kaluma image: the Wi-Fi setup code and the schedule parser are assets 10 and 11, out of its text; their messages are in each asset\'s comment, not in its code nor the image\'s table', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const assets = ON_DEMAND_OF.get(built.code)!;
  t.true([10, 11].every((id) => assets.some((a) => a.id === id)), 'assets 10 and 11 are written with the image');
  const table = text(built.messages!);
  const cases: [number, string[], string[]][] = [
    [10, ['the body must have exactly the keys "ssid" and "passphrase"', '"passphrase" must be printable ASCII', 'the unit has no device secret to seal the credentials with'], ['hoshi setup ap v1', 'bad-credentials']],
    [11, ['"entries" must be an array', ': another entry already switches at that minute'], ['"entries"']],
  ];
  for (const [id, messages, kept] of cases) {
    const asset = text(assets.find((a) => a.id === id)!.bytes);
    t.true(asset.startsWith('/*'), 'asset ' + id + ' starts with its messages');
    const end = asset.indexOf('*/');
    for (const m of messages) {
      t.true(asset.slice(2, end).includes(m), m);
      t.false(asset.slice(end).includes(m), 'not in the code: ' + m);
      t.false(built.code.includes(m), 'not in the image: ' + m);
      t.false(table.includes(m), 'not in the image\'s table: ' + m);
    }
    for (const k of kept) t.true(asset.slice(end).includes(k), 'a literal the code computes with stays in it: ' + k);
  }
  t.false(built.code.includes('hoshi setup ap v1'), 'the setup access point is derived in asset 10 only');
  // The loader's slot check keeps the form loaders already on units evaluate.
  t.true(text(assets.find((a) => a.id === 8)!.bytes).startsWith("'use strict';"));
});

test('loadParts: each asset an image reads gives the export the bundle links elsewhere; assets 10 and 11 answer hostile bodies as the linked code, their reasons read from the asset', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const assets = assetsOf(ON_DEMAND_OF.get(built.code)!);
  const linked: [number, unknown][] = [[5, createWorker], [6, passwordTools], [7, scramServer], [9, picoConnect], [10, wifiSetup], [11, scheduleInput]];
  for (const [id, value] of linked) {
    const loaded = loadParts(assets, id);
    t.is(typeof loaded, typeof value, 'asset ' + id);
    if (typeof value === 'object') t.deepEqual(Object.keys(loaded as object).sort(), Object.keys(value as object).sort(), 'asset ' + id);
  }
  const setup = loadParts(assets, 10) as WifiSetup;
  const bodies = [
    '', '{', '[]', 'null', '{"ssid":"a"}', '{"ssid":"a","passphrase":"12345678","x":1}', '{"ssid":"","passphrase":"12345678"}',
    '{"ssid":"' + 'x'.repeat(33) + '","passphrase":"12345678"}', '{"ssid":"a\\u0000b","passphrase":"12345678"}', '{"ssid":"a","passphrase":"short"}',
    '{"ssid":"a","passphrase":"' + 'p'.repeat(64) + '"}', '{"ssid":"a","passphrase":12345678}', '{"ssid":"a","passphrase":"pässphrase"}',
    '{"passphrase":"","ssid":"Open Cafe"}', '{"ssid":"Home","passphrase":"correct horse battery"}',
  ];
  for (const body of bodies) {
    for (const provisioned of [true, false]) {
      const bytes = new TextEncoder().encode(body);
      t.deepEqual(setup.put(bytes, provisioned), wifiSetup.put(bytes, provisioned), body);
    }
  }
  t.regex(String((setup.put(new Uint8Array(0), true) as { body: string }).body), /the body is not JSON/);
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const context = { board: { crypto: jsCrypto }, config: { model: 'HS-TEST-01' }, provisioning: record } as unknown as ModuleContext;
  t.deepEqual(setup.accessPoint(context), setupAccessPoint(jsCrypto, record.setupKey!, 'HS-TEST-01', record.serial));
  const log = console.log;
  const logged: unknown[] = [];
  console.log = (line: unknown) => logged.push(line);
  try {
    t.is(setup.accessPoint({ ...context, provisioning: undefined } as ModuleContext), undefined);
  } finally {
    console.log = log;
  }
  t.deepEqual(logged, ['[wifi] no setup key in the provisioning record: no setup access point'], 'the log line read from the asset');
  const parse = loadParts(assets, 11) as typeof scheduleInput;
  for (const body of [
    '', '[]', '{"entries":{}}', '{"entries":[],"x":1}', '{"entries":[1]}', '{"entries":[{"at":"24:00","on":true}]}', '{"entries":[{"at":"07:30","on":"yes"}]}',
    '{"entries":[{"at":"07:30","on":true,"x":0}]}', '{"entries":[{"at":"07:30","on":true},{"at":"07:30","on":false}]}',
    JSON.stringify({ entries: Array.from({ length: 9 }, (_, i) => ({ at: '0' + i + ':00', on: true })) }), '{"entries":[{"at":"07:30","on":true},{"on":false,"at":"23:59"}]}',
  ]) {
    const bytes = new TextEncoder().encode(body);
    t.deepEqual(parse(bytes), scheduleInput(bytes), body);
  }
});

/** The fixture image (the Wi-Fi module and the relay behind a guard that grants every route), bundled as an image is: messages and on-demand code in its assets. */
async function fixture(): Promise<string> {
  const { code } = await bundleDevice('import ' + JSON.stringify(join(ROOT, 'test/fixtures/ondemand-kaluma.ts')) + ';', ROOT, 'kaluma', join(ROOT, 'dist/test/kaluma/ondemand-kaluma.js'), true);
  return code;
}

const json = (s: string): any => JSON.parse(s);
const body = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const HOME = 'correct horse battery';

function onEngine(code: string, options: { assets?: Uint8Array; stored?: boolean }, session: (e: EngineSession) => void) {
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const at = KALUMA_PARTITIONS.provisioning.sector * 4096;
  // A unit the factory gave credentials (`hoshi provision --wifi-ssid`), or one to be set up.
  const state = options.stored ? seedStateSector(record, KALUMA_PARTITIONS.state.count * 4096, 256, { ssid: 'Home', passphrase: HOME }) : undefined;
  return runInEngine(code, 'kaluma', {
    network: 'down',
    serverLater: true,
    assets: options.assets,
    prelude:
      `__engine.flash.load(${at}, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))}); __engine.wifi.networks.Home = ${JSON.stringify(HOME)};` +
      (state ? `__engine.flash.load(${KALUMA_PARTITIONS.state.sector * 4096}, ${JSON.stringify(Array.from(state))});` : ''),
    session,
  });
}

test('kaluma (Pico W), engine check: a unit being set up opens its access point with asset 10, takes credentials over PUT with it and joins; a schedule is parsed by asset 11; reasons read from the assets', async (t) => {
  const code = await fixture();
  const report = await onEngine(code, {}, (e) => {
    const ap = e.js('__engine.wifi.ap') as { ssid: string; password: string } | null;
    t.regex(ap?.ssid ?? '', /^HS-TEST-01-[0-9A-Z]{4}$/, 'asset 10 derived it and the module opened it');
    t.true(e.js(`__engine.wifi.joinAp(${JSON.stringify(ap!.password)})`) as boolean);
    t.like(json(e.request({ method: 'GET', url: '/api/network/wifi' }).text), { ssid: null, joined: false, setupAp: { ssid: ap!.ssid, open: true } });
    const refused = e.request({ method: 'PUT', url: '/api/network/wifi', body: body({ ssid: 'Home', passphrase: 'short' }) });
    t.deepEqual([refused.status, json(refused.text)], [400, { error: 'bad-credentials', reason: '"passphrase" must be 8 to 63 characters, or "" for an open network' }]);
    t.like(json(e.request({ method: 'PUT', url: '/api/network/wifi', body: body({ ssid: 'Home', passphrase: HOME }) }).text), { ssid: 'Home', joined: false });
    e.advance(1100);
    t.is(e.js('__engine.wifi.ap'), null);
    t.is(e.js('__engine.wifi.joined'), 'Home');
    t.like(json(e.request({ method: 'GET', url: '/api/network/wifi' }).text), { ssid: 'Home', joined: true, setupAp: { open: false } });
    const bad = e.request({ method: 'PUT', url: '/api/relay/schedule', body: body('{"entries":[{"at":"07:30","on":true},{"at":"07:30","on":false}]}') });
    t.deepEqual([bad.status, json(bad.text)], [400, { error: 'bad-schedule', reason: 'entry 1: another entry already switches at that minute' }]);
    const entries = [{ at: '22:00', on: false }, { at: '07:30', on: true }];
    const good = e.request({ method: 'PUT', url: '/api/relay/schedule', body: body({ entries }) });
    t.deepEqual([good.status, json(good.text)], [200, { entries }]);
    t.deepEqual(json(e.request({ method: 'GET', url: '/api/relay/schedule' }).text), { entries });
  });
  t.true(report.booted, report.error);
  t.true(report.logs.some((l) => /^\[wifi\] setup access point "HS-TEST-01-[0-9A-Z]{4}" open$/.test(l)), report.logs.join('\n'));
  t.deepEqual(report.missing, []);
  t.deepEqual(report.swallowed, []);
  t.false(report.logs.join('\n').includes(HOME));
});

test('kaluma (Pico W), engine check: without assets 10 and 11 (a damaged partition) a unit still boots and says why it opens no access point; one with credentials serves, and only the two PUTs fail', async (t) => {
  const code = await fixture();
  const assets = encodeAssets([{ id: Asset.MESSAGES, bytes: MESSAGES_OF.get(code)! }]);
  const unset = await onEngine(code, { assets }, (e) => t.is(e.js('__engine.wifi.ap'), null));
  t.true(unset.booted, unset.error);
  t.true(unset.logs.includes('[wifi] no setup access point: the code asset 10 is missing from the assets'), unset.logs.join('\n'));
  const joined = await onEngine(code, { assets, stored: true }, (e) => {
    t.is(e.js('__engine.wifi.joined'), 'Home');
    t.deepEqual(json(e.request({ method: 'GET', url: '/api/relay' }).text), { on: false });
    t.like(json(e.request({ method: 'GET', url: '/api/network/wifi' }).text), { ssid: 'Home', joined: true, setupAp: null });
    const schedule = e.request({ method: 'PUT', url: '/api/relay/schedule', body: body({ entries: [] }) });
    const wifi = e.request({ method: 'PUT', url: '/api/network/wifi', body: body({ ssid: 'Home', passphrase: HOME }) });
    t.deepEqual([schedule.status, json(schedule.text).error, wifi.status, json(wifi.text).error], [500, 'internal-error', 500, 'internal-error']);
    t.deepEqual(json(e.request({ method: 'GET', url: '/api/relay/schedule' }).text), { entries: [] });
  });
  t.true(joined.booted, joined.error);
  t.deepEqual(joined.swallowed, []);
});

test('the stored credentials\' check (decodeWifi, resident at start) follows checkWifi\'s rules (read on demand): random and mutated stored forms', (t) => {
  const reference = (b: Uint8Array) => {
    if (b.length < 2 || 1 + b[0]! + 1 > b.length || 2 + b[0]! + b[1 + b[0]!]! !== b.length) return undefined;
    const c = { ssid: String.fromCharCode(...b.subarray(1, 1 + b[0]!)), passphrase: String.fromCharCode(...b.subarray(2 + b[0]!)) };
    return checkWifi(c.ssid, c.passphrase) ? undefined : c;
  };
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let valid = 0;
  for (let i = 0; i < 20000; i++) {
    const ssid = Array.from({ length: random(36) }, () => (random(20) === 0 ? random(256) : 0x20 + random(95)));
    const pass = Array.from({ length: random(4) === 0 ? 0 : random(68) }, () => (random(30) === 0 ? random(256) : 0x20 + random(95)));
    const b = [ssid.length, ...ssid, pass.length, ...pass];
    // Some stored forms damaged: a length byte off, a byte cut or added.
    const kind = random(6);
    if (kind === 0) b[random(b.length)] = random(256);
    else if (kind === 1) b.pop();
    else if (kind === 2) b.push(random(256));
    const bytes = new Uint8Array(b);
    const expected = reference(bytes);
    if (expected) valid++;
    t.deepEqual(decodeWifi(bytes), expected, JSON.stringify(b));
  }
  t.true(valid > 500, valid + ' valid');
});

const JERRY = process.env.HOSHI_JERRY;

/** The lines JerryScript prints running `code` (a library bundle) then `driver`. */
function onJerry(t: ExecutionContext, code: string, driver: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-ondemand-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'load.js'), code);
  writeFileSync(join(dir, 'drive.js'), driver);
  return execFileSync(JERRY!, [join(dir, 'load.js'), join(dir, 'drive.js')], { encoding: 'latin1' }).trim().split('\n');
}

/** Code assets laid end to end, as in the assets partition: the bytes and each id's [offset, length]. */
function laidOut(entries: { id: number; bytes: Uint8Array }[]): { all: Uint8Array; spans: { [id: number]: [number, number] } } {
  const all = new Uint8Array(entries.reduce((n, e) => n + e.bytes.length, 0));
  const spans: { [id: number]: [number, number] } = {};
  let at = 0;
  for (const e of entries) {
    all.set(e.bytes, at);
    spans[e.id] = [at, e.bytes.length];
    at += e.bytes.length;
  }
  return { all, spans };
}

(JERRY ? test : test.skip)('on JerryScript (Kaluma 1.2.1 build): core/code.ts loads assets 10 and 11 from bytes and they answer as the linked code', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const entries = ON_DEMAND_OF.get(built.code)!.filter((e) => e.id === 10 || e.id === 11);
  const { code } = await bundleDevice('import { loadParts } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + '; globalThis.__loadCode = loadParts;', ROOT, 'kaluma', join(ROOT, 'dist/test/kaluma/ondemand-load.js'));
  const wifiBodies = ['', '{"ssid":"a","passphrase":"short"}', '{"ssid":"a\\u0000b","passphrase":"12345678"}', '{"ssid":"Home","passphrase":"correct horse battery"}'];
  const scheduleBodies = ['[]', '{"entries":[{"at":"24:00","on":true}]}', '{"entries":[{"at":"07:30","on":true},{"on":false,"at":"23:59"}]}'];
  const { all, spans } = laidOut(entries);
  const bytes = (s: string): string => JSON.stringify(Array.from(new TextEncoder().encode(s)));
  const driver = [
    'var B = new Uint8Array(' + JSON.stringify(Array.from(all)) + ');',
    'var S = ' + JSON.stringify(spans) + ';',
    'var A = { find: function (id) { return S[id] && { offset: S[id][0], length: S[id][1] }; }, read: function (o, n) { return B.slice(o, o + n); } };',
    'var setup = __loadCode(A, 10);',
    ...wifiBodies.map((b) => 'var r = setup.put(new Uint8Array(' + bytes(b) + '), true); print(r.stored ? "stored " + r.credentials.ssid + " " + r.stored.length : r.status + " " + r.body);'),
    'var parse = __loadCode(A, 11);',
    ...scheduleBodies.map((b) => 'var p = parse(new Uint8Array(' + bytes(b) + ')); print(p.ok ? "ok " + JSON.stringify(p.entries) + " " + p.stored.length : "refused " + p.reason);'),
  ].join('\n');
  const out = onJerry(t, code, driver);
  const expected = [
    ...wifiBodies.map((b) => {
      const r = wifiSetup.put(new TextEncoder().encode(b), true);
      return 'stored' in r ? 'stored ' + r.credentials.ssid + ' ' + r.stored.length : r.status + ' ' + r.body;
    }),
    ...scheduleBodies.map((b) => {
      const p = scheduleInput(new TextEncoder().encode(b));
      return p.ok ? 'ok ' + JSON.stringify(p.entries) + ' ' + p.stored.length : 'refused ' + p.reason;
    }),
  ];
  t.deepEqual(out, expected);
});

// ---- The factory wipe's work (asset 12) and the security log's reader with its forget (asset 13) ----

/** A fixed clock (6 s of uptime, no wall time). */
const CLOCK = { now: () => 6000, wallTime: (): number | undefined => undefined };
const LOG_KEY = new Uint8Array(32).fill(7);

/** A log of `n` events on a simulated Pico flash of 4 sectors, and its backing. */
function logOf(n: number): { log: AuditLog; read(): Uint8Array } {
  const backing = memoryBacking(4 * 4096);
  const log = openLog(openSimFlash(backing), jsCrypto, LOG_KEY, CLOCK);
  for (let i = 0; i < n; i++) log.event(i % 3 ? 'login' : 'login-failed', '10.0.0.' + i);
  return { log, read: () => backing.read(0, 4 * 4096) };
}

test('Kaluma image: the wipe\'s work is asset 12 and the log\'s forget comes with its reader (asset 13), out of its text; loaded, they do what the linked code does', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const entries = ON_DEMAND_OF.get(built.code)!;
  t.true([12, 13].every((id) => entries.some((a) => a.id === id)), 'assets 12 and 13 are written with the image');
  const wipeText = text(entries.find((a) => a.id === 12)!.bytes);
  const end = wipeText.indexOf('*/');
  for (const m of ['a wipe needs {"confirm":"wipe"}: it deletes every user setting and restarts the unit', 'a wipe is already running']) {
    t.true(wipeText.slice(2, end).includes(m), m);
    t.false(built.code.includes(m), 'not in the image: ' + m);
    t.false(text(built.messages!).includes(m), 'not in the image\'s table: ' + m);
  }
  for (const code of ['wipe-running', 'confirm-required']) t.false(built.code.includes(code), 'the wipe\'s work is out of the image: ' + code);
  const assets = assetsOf(entries);
  const work = loadParts(assets, 12) as typeof wipeWorkCode;
  t.deepEqual(Object.keys(work).sort(), Object.keys(wipeWorkCode).sort());
  const reader = loadParts(assets, 13) as typeof auditReader;
  t.deepEqual(Object.keys(reader).sort(), Object.keys(auditReader).sort());
  t.true(typeof reader.forget === 'function');

  // POST /api/wipe refused as the linked code refuses it, reasons read from the asset.
  const answers = (code: typeof wipeWorkCode, body: string, running: boolean) => {
    const out: unknown[] = [];
    const w = { context: {} as ModuleContext, running } as WipeState;
    code.post(w, { method: 'POST', path: '/api/wipe', body: new TextEncoder().encode(body) } as never, (r) => out.push(r));
    return out;
  };
  for (const [body, running] of [['', false], ['{', false], ['{"confirm":"yes"}', false], ['[]', false], ['{"confirm":"wipe"}', true]] as [string, boolean][]) {
    t.deepEqual(answers(work, body, running), answers(wipeWorkCode, body, running), body);
  }
  t.is(json(String((answers(work, '{}', false)[0] as { body: string }).body)).reason, 'a wipe needs {"confirm":"wipe"}: it deletes every user setting and restarts the unit', 'the reason read from the asset');

  // The forget from asset 13 leaves the flash as the linked forget does, and the chain verifies.
  const loaded = logOf(70);
  const linked = logOf(70);
  reader.forget(loaded.log.ring, jsCrypto);
  auditReader.forget(linked.log.ring, jsCrypto);
  t.deepEqual(loaded.read(), linked.read());
  const report = verifyRegion(loaded.read(), LOG_KEY);
  t.true(report.ok, JSON.stringify(report.breaks));
  t.deepEqual(report.entries.map((e) => [e.seq, e.kind, e.detail]), [[71, 'wipe', '1-70']]);
});

/** A Pico W image of the log and the wipe (and the relay's stored state) behind a guard that grants every route, bundled as an image is. */
async function wipeFixture(): Promise<string> {
  const entry = [
    "import { createBoard } from " + JSON.stringify(join(ROOT, 'boards/kaluma-pico-w/board.ts')) + ';',
    "import { relay } from " + JSON.stringify(join(ROOT, 'examples/smart-plug/relay.ts')) + ';',
    "import { boot } from " + JSON.stringify(join(ROOT, 'firmware/device/boot.ts')) + ';',
    "import { defineImage } from " + JSON.stringify(join(ROOT, 'firmware/device/image.ts')) + ';',
    "import { audit } from " + JSON.stringify(join(ROOT, 'modules/audit/index.ts')) + ';',
    "import { wipe } from " + JSON.stringify(join(ROOT, 'modules/wipe/index.ts')) + ';',
    "const grantAll = { name: 'grant-all (test)', start: function (context) { context.guard(function () { return undefined; }); } };",
    'boot(createBoard(), defineImage({',
    "  config: { model: 'HS-TEST-01', hardwareRevision: 'A', vendor: 'Hoshi test vendor', firmwareVersion: '0.1.0', supportEnd: '2031-12-31',",
    "    vulnerabilityDisclosureUrl: 'https://example.com/security/disclosure', interfaces: { http: { port: 80, maxBodyBytes: 1024, maxHeaderBytes: 2048 }, console: 'off' } },",
    "  modules: [grantAll, audit(), wipe(), relay({ 'kaluma-pico-w': 15 })],",
    '}));',
  ].join('\n');
  const { code } = await bundleDevice(entry, ROOT, 'kaluma', join(ROOT, 'dist/test/kaluma/ondemand-wipe.js'), true);
  return code;
}

test('kaluma (Pico W), engine check: a wipe runs with asset 12 and the log forgets with asset 13: refusals read from the asset, the stored state deleted, the log down to its wipe entry, verified, and the unit restarts; without asset 12 only the wipe fails', async (t) => {
  const code = await wipeFixture();
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const prelude = `__engine.flash.load(${KALUMA_PARTITIONS.provisioning.sector * 4096}, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))});`;
  const log = (r: { flash: { read(region: string, at: number, length: number): Uint8Array } }) => verifyRegion(r.flash.read('flash', KALUMA_PARTITIONS.log.sector * 4096, KALUMA_PARTITIONS.log.count * 4096), deviceKeys(jsCrypto, record.deviceSecret).key('audit-log'));
  const report = await runInEngine(code, 'kaluma', {
    prelude,
    session: (e) => {
      t.is(e.request({ method: 'PUT', url: '/api/relay', body: body({ on: true }) }).status, 200);
      const refused = e.request({ method: 'POST', url: '/api/wipe', body: body({ confirm: 'yes' }) });
      t.deepEqual([refused.status, json(refused.text)], [400, { error: 'confirm-required', reason: 'a wipe needs {"confirm":"wipe"}: it deletes every user setting and restarts the unit' }]);
      const begun = e.request({ method: 'POST', url: '/api/wipe', body: body({ confirm: 'wipe' }) });
      t.deepEqual([begun.status, json(begun.text)], [202, { wiping: true, restart: true }]);
      const again = e.request({ method: 'POST', url: '/api/wipe', body: body({ confirm: 'wipe' }) });
      t.deepEqual([again.status, json(again.text)], [409, { error: 'wipe-running', reason: 'a wipe is already running' }]);
      t.is(e.js('__engine.reset'), null);
      e.advance(700);
      t.is(e.js('__engine.reset'), 'watchdog', 'the unit restarts');
    },
  });
  t.true(report.booted, report.error);
  t.deepEqual(report.missing, []);
  t.deepEqual(report.swallowed, []);
  t.true(report.logs.some((l) => /^\[wipe\] \d+ keys deleted \(admin\)$/.test(l)), report.logs.join('\n'));
  t.true(report.logs.includes('[wipe] done: restarting'), report.logs.join('\n'));
  const forgotten = log(report);
  t.true(forgotten.ok, JSON.stringify(forgotten.breaks));
  t.deepEqual(forgotten.entries.map((e) => [e.seq, e.kind, e.detail]), [[2, 'wipe', '1-1']], 'boot\'s entry forgotten, the chain goes on with the wipe entry');

  // A damaged partition without asset 12: the wipe answers 500 and nothing is deleted; the unit serves.
  const assets = encodeAssets(ON_DEMAND_OF.get(code)!.filter((a) => a.id !== 12).concat([{ id: Asset.MESSAGES, bytes: MESSAGES_OF.get(code)! }]).sort((a, b) => a.id - b.id));
  const damaged = await runInEngine(code, 'kaluma', {
    prelude,
    assets,
    session: (e) => {
      const failed = e.request({ method: 'POST', url: '/api/wipe', body: body({ confirm: 'wipe' }) });
      t.deepEqual([failed.status, json(failed.text).error], [500, 'internal-error']);
      e.advance(700);
      t.is(e.js('__engine.reset'), null);
      t.deepEqual(json(e.request({ method: 'GET', url: '/api/relay' }).text), { on: false });
    },
  });
  t.true(damaged.booted, damaged.error);
  t.deepEqual(log(damaged).entries.map((e) => e.kind), ['boot'], 'nothing forgotten');
});

(JERRY ? test : test.skip)('on JerryScript (Kaluma 1.2.1 build): core/code.ts loads assets 12 and 13 from bytes; the wipe refuses as the linked code, and the forget leaves the flash as the linked forget', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const entries = ON_DEMAND_OF.get(built.code)!.filter((e) => e.id === 12 || e.id === 13);
  const lib = [
    'import { loadParts } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
    'import { crc32 } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/crc32.ts')) + ';',
    'import { openLog } from ' + JSON.stringify(join(ROOT, 'modules/audit/log.ts')) + ';',
    'import { jsCrypto } from ' + JSON.stringify(join(ROOT, 'modules/crypto/provider-js.ts')) + ';',
    'globalThis.__loadCode = loadParts; globalThis.__crc32 = crc32; globalThis.__openLog = openLog; globalThis.__crypto = jsCrypto;',
  ].join('\n');
  const { code } = await bundleDevice(lib, ROOT, 'kaluma', join(ROOT, 'dist/test/kaluma/ondemand-load-wipe.js'));
  const { all, spans } = laidOut(entries);
  const bodies = ['', '{"confirm":"yes"}', '{"confirm":"wipe"}'];
  const driver = [
    'var B = new Uint8Array(' + JSON.stringify(Array.from(all)) + ');',
    'var S = ' + JSON.stringify(spans) + ';',
    'var A = { find: function (id) { return S[id] && { offset: S[id][0], length: S[id][1] }; }, read: function (o, n) { return B.slice(o, o + n); } };',
    'var work = __loadCode(A, 12);',
    'var bytes = function (s) { var b = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i); return b; };',
    ...bodies.map((b) => 'work.post({ running: true }, { body: bytes(' + JSON.stringify(b) + ') }, function (r) { print(r.status + " " + r.body); });'),
    // The Pico's flash, as boards/host/flash.ts simulates it: programming clears bits.
    'var F = new Uint8Array(4 * 4096).fill(255);',
    'var flash = { size: F.length, eraseSize: 4096, writeSize: 256, erasedValue: 255,',
    '  read: function (o, n) { return F.slice(o, o + n); },',
    '  write: function (o, d) { for (var i = 0; i < d.length; i++) F[o + i] &= d[i]; },',
    '  erase: function (o, n) { F.fill(255, o, o + n); } };',
    'var log = __openLog(flash, __crypto, new Uint8Array(32).fill(7), { now: function () { return 6000; }, wallTime: function () { return undefined; } });',
    'for (var i = 0; i < 70; i++) log.event(i % 3 ? "login" : "login-failed", "10.0.0." + i);',
    '__loadCode(A, 13).forget(log.ring, __crypto);',
    'print("forgot " + log.ring.seq + " " + log.ring.pos + " " + __crc32(F, 0, F.length));',
  ].join('\n');
  const out = onJerry(t, code, driver);
  const linked = logOf(70);
  auditReader.forget(linked.log.ring, jsCrypto);
  const expected = [
    ...bodies.map((b) => {
      const replies: { status: number; body: unknown }[] = [];
      wipeWorkCode.post({ running: true } as WipeState, { body: new TextEncoder().encode(b) } as never, (r) => replies.push(r as never));
      return replies[0]!.status + ' ' + String(replies[0]!.body);
    }),
    'forgot ' + linked.log.ring.seq + ' ' + linked.log.ring.pos + ' ' + crc32(linked.read(), 0, 4 * 4096),
  ];
  t.deepEqual(out, expected);
});

test('a Kaluma image carries the code read on demand that it reads, not the other images\': the smart plug all of it, an image without its schedule not the schedule parser', async (t) => {
  const plug = await buildImage('smart-plug', 'kaluma');
  const plugIds = ON_DEMAND_OF.get(plug.code)!.map((e) => e.id).sort((a, b) => a - b);
  t.deepEqual(plugIds, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  // The smart plug without its own relay module (where the schedule is): the same kit, another product.
  const entry = [
    'import { createBoard } from ' + JSON.stringify(join(ROOT, 'boards/kaluma-pico-w/board.ts')) + ';',
    'import { boot } from ' + JSON.stringify(join(ROOT, 'firmware/device/boot.ts')) + ';',
    'import { deviceInfo } from ' + JSON.stringify(join(ROOT, 'modules/device-info/index.ts')) + ';',
    'import { accounts } from ' + JSON.stringify(join(ROOT, 'modules/accounts/index.ts')) + ';',
    'boot(createBoard(), { config: ' + JSON.stringify(smartPlug.config) + ', modules: [deviceInfo(), accounts({})] });',
  ].join('\n');
  const other = await bundleDevice(entry, ROOT, 'kaluma', join(ROOT, 'dist/test/kaluma/ondemand-other.js'), true);
  const ids = other.onDemand!.map((e) => e.id);
  t.log('smart plug: ' + plugIds.join(', ') + '; the other image: ' + ids.join(', '));
  t.true(ids.includes(8), 'the loader\'s slot check (no image reads it) stays');
  t.true(ids.includes(6) && ids.includes(7), 'the accounts module\'s code read on demand');
  t.false(ids.includes(11), 'no schedule parser');
});

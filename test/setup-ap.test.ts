import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_PARTITIONS } from '../boards/host/board';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_PARTITIONS } from '../boards/espruino-esp32/board';
import image from '../examples/smart-plug/image';
import type { Board } from '../hal/board';
import { partition } from '../hal/flash';
import type { WifiCredentials } from '../hal/net';
import type { HttpResponse, ModuleContext, Route } from '../firmware/device/core/module';
import { readProvisioning, type ProvisioningRecord } from '../firmware/device/core/provisioning';
import { buildImage, ROOT } from '../firmware/host/build';
import { runInEngine, type EngineSession } from '../firmware/host/engine';
import { encodeProvisioning, newProvisioningRecord, padTo } from '../firmware/host/provision';
import { SIM_HOME_NETWORK, startSimulator, type Simulator, type SimulatorOptions } from '../firmware/host/simulator';
import { setupAccessPoint } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys } from '../modules/keys/keys';
import { wifi, WIFI_KEY } from '../modules/network/wifi';
import { openStore } from '../modules/store/store';
import { bundleFixture } from './helpers';
import { manualTimeouts, type ManualTimeouts } from './timers';

/**
 * The first-use setup access point (issue 12): a unit without Wi-Fi credentials opens a WPA2 access
 * point named and keyed from its setup key (the label's), takes the home network's credentials over
 * PUT /api/network/wifi, joins, and closes the access point; it opens it again after its credentials
 * are gone and it reboots. The Wi-Fi routes are called directly (as modules/accounts' guard would
 * once it has granted them), so nothing here depends on the admin channel.
 *
 * The simulator's tests run serially: they replace the global setTimeout (test/timers.ts) so that
 * the module's delays (a second before the join, ten seconds of grace) pass in simulated time.
 */

const HOME = SIM_HOME_NETWORK;

type Reply = { status: number; body: any };

/** Calls the Wi-Fi module's routes of a simulated unit directly. */
function routes(sim: Simulator): { get(): Reply; put(body: unknown): Reply } {
  const call = (method: string, body: string): Reply => {
    const route = sim.device.routes.find((r) => r.method === method && r.path === '/api/network/wifi')!;
    let out: HttpResponse | undefined;
    route.handler({ method, path: '/api/network/wifi', query: '', headers: {}, body: new TextEncoder().encode(body), remote: '' }, (r) => (out = r));
    return { status: out!.status, body: JSON.parse(String(out!.body)) };
  };
  return { get: () => call('GET', ''), put: (body) => call('PUT', JSON.stringify(body)) };
}

/** The unit's provisioning record, read from its simulated flash. */
function recordOf(sim: Simulator): ProvisioningRecord {
  const found = readProvisioning(partition(sim.flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size));
  if (!found.ok) throw new Error('not provisioned: ' + found.reason);
  return found.record;
}

/**
 * A simulated unit with its console captured (the simulator's quiet mode would replace
 * console.log) and one-off timers under the test's control once it has booted.
 */
async function unit(t: ExecutionContext, options: Partial<SimulatorOptions> = {}): Promise<{ sim: Simulator; clock: ManualTimeouts; logs: string[] }> {
  const logs: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void logs.push(args.join(' '));
  t.teardown(() => {
    console.log = log;
  });
  const sim = await startSimulator({ image, iterations: 4096, ...options });
  t.teardown(() => sim.stop());
  // The access point's "open" arrives on the next turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const clock = manualTimeouts();
  t.teardown(() => clock.restore());
  return { sim, clock, logs };
}

test.serial('an image that does not declare the setup access point never opens one (S1.1-13), and says why', async (t) => {
  const undeclared = { config: { ...image.config, interfaces: { ...image.config.interfaces, setupAp: false } }, modules: image.modules };
  const { sim, logs } = await unit(t, { image: undeclared });
  t.is(sim.wifi.ap(), null);
  t.true(logs.some((l) => l.includes('the image does not declare a setup access point')), logs.join('\n'));
  const info = (await (await fetch(sim.url + '/api/info')).json()) as { status: { interfaces: string } };
  t.false(info.status.interfaces.includes('setup-ap'));
});

test.serial('no credentials: the setup access point opens with the label passphrase; PUT → joined with it open → closed after the grace (ESP32-like, AP+STA)', async (t) => {
  const { sim, clock, logs } = await unit(t);
  const record = recordOf(sim);
  const expected = setupAccessPoint(jsCrypto, record.setupKey!, image.config.model, record.serial);
  // The label carries the access point (name and passphrase), as the sticker of a real unit does.
  t.deepEqual(sim.label!.setupAp, expected);
  t.deepEqual(sim.wifi.ap(), { ssid: expected.ssid, open: true });
  t.regex(expected.ssid, /^HS-PLUG-01-[0-9A-Z]{4}$/);
  t.regex(expected.passphrase, /^[a-z2-7]{16}$/);
  t.true(sim.wifi.joinAp(expected.passphrase), 'a client with the label passphrase joins');
  t.false(sim.wifi.joinAp(expected.passphrase.slice(0, 15) + (expected.passphrase.endsWith('a') ? 'b' : 'a')), 'a wrong passphrase does not');
  t.false(sim.wifi.joinAp(''));
  const api = routes(sim);
  t.deepEqual(api.get(), { status: 200, body: { ssid: null, joined: false, address: null, error: null, setupAp: { ssid: expected.ssid, open: true } } });

  const put = api.put({ ssid: HOME.ssid, passphrase: HOME.passphrase });
  t.deepEqual(put, { status: 200, body: { ssid: HOME.ssid, joined: false, address: null, error: null, setupAp: { ssid: expected.ssid, open: true } } }, 'the answer comes first');
  t.is(sim.wifi.joined(), null);
  clock.advance(1000 + 20);
  t.is(sim.wifi.joined(), HOME.ssid);
  // Joined with the access point still open: its client reads the result and the address.
  t.deepEqual(api.get().body, { ssid: HOME.ssid, joined: true, address: '127.0.0.1', error: null, setupAp: { ssid: expected.ssid, open: true } });
  t.true(sim.wifi.ap()!.open);
  clock.advance(9990);
  t.true(sim.wifi.ap()!.open, 'open for the whole grace');
  clock.advance(10);
  t.deepEqual(sim.wifi.ap(), { ssid: expected.ssid, open: false });
  t.false(sim.wifi.joinAp(expected.passphrase), 'nobody joins a closed access point');
  t.deepEqual(api.get().body.setupAp, { ssid: expected.ssid, open: false });
  t.is(sim.wifi.joined(), HOME.ssid, 'the station stays');
  t.is(clock.pending(), 0);
  const text = logs.join('\n');
  t.true(text.includes('[wifi] setup access point "' + expected.ssid + '" open'), text);
  t.true(text.includes('[wifi] setup access point closed'), text);
  t.false(text.includes(expected.passphrase), 'the access point passphrase is never logged');
  t.false(text.includes(HOME.passphrase), 'nor the home network passphrase');
  t.false(JSON.stringify(api.get().body).includes(expected.passphrase));
});

test.serial('Pico W-like (no AP+STA): the access point closes before the station joins, and stays closed once joined', async (t) => {
  const { sim, clock } = await unit(t, { wifi: { apsta: false } });
  const api = routes(sim);
  t.true(sim.wifi.ap()!.open);
  t.is(api.put({ ssid: HOME.ssid, passphrase: HOME.passphrase }).status, 200);
  t.true(sim.wifi.ap()!.open, 'open until the answer has gone');
  // The simulated radio refuses a join while the access point is open: the module closes it first.
  clock.advance(1000);
  t.false(sim.wifi.ap()!.open);
  clock.advance(20);
  t.is(sim.wifi.joined(), HOME.ssid);
  t.deepEqual(api.get().body, { ssid: HOME.ssid, joined: true, address: '127.0.0.1', error: null, setupAp: { ssid: sim.label!.setupAp.ssid, open: false } });
  clock.advance(60000);
  t.false(sim.wifi.ap()!.open);
});

test.serial('a join that fails reopens the access point (Pico W-like) with the error in GET; the next credentials join', async (t) => {
  const { sim, clock } = await unit(t, { wifi: { apsta: false } });
  const api = routes(sim);
  api.put({ ssid: HOME.ssid, passphrase: 'not the passphrase' });
  clock.advance(1000);
  t.false(sim.wifi.ap()!.open);
  clock.advance(20);
  t.true(sim.wifi.ap()!.open, 'open again');
  t.true(sim.wifi.joinAp(sim.label!.setupAp.passphrase), 'with the same passphrase');
  t.deepEqual(api.get().body, {
    ssid: HOME.ssid,
    joined: false,
    address: null,
    error: { error: 'wifi-auth', reason: 'the simulated network refused the passphrase' },
    setupAp: { ssid: sim.label!.setupAp.ssid, open: true },
  });
  // While it is open the station does not try again by itself (each try would close it).
  clock.advance(60000);
  t.true(sim.wifi.ap()!.open);
  api.put({ ssid: 'Nowhere', passphrase: HOME.passphrase });
  clock.advance(1020);
  t.is(api.get().body.error.error, 'wifi-not-found');
  t.true(sim.wifi.ap()!.open);
  api.put({ ssid: HOME.ssid, passphrase: HOME.passphrase });
  clock.advance(1020);
  t.is(sim.wifi.joined(), HOME.ssid);
  t.like(api.get().body, { joined: true, error: null, setupAp: { open: false } });
});

test.serial('a join that fails with AP+STA leaves the access point open, the error in GET', async (t) => {
  const { sim, clock } = await unit(t);
  const api = routes(sim);
  api.put({ ssid: HOME.ssid, passphrase: 'not the passphrase' });
  clock.advance(1020);
  t.true(sim.wifi.ap()!.open);
  t.like(api.get().body, { joined: false, error: { error: 'wifi-auth' }, setupAp: { open: true } });
  clock.advance(20000);
  t.true(sim.wifi.ap()!.open, 'no grace runs out: it has not joined');
});

test.serial('joined units reboot without an access point; with the credentials deleted (what a wipe does), the next boot opens it again', async (t) => {
  const { sim, clock } = await unit(t);
  const api = routes(sim);
  const ap = sim.label!.setupAp;
  api.put({ ssid: HOME.ssid, passphrase: HOME.passphrase });
  clock.advance(1020 + 10000);
  t.false(sim.wifi.ap()!.open);
  clock.restore();

  await sim.reboot();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(sim.wifi.ap(), null, 'credentials stored: no access point at all');
  t.is(sim.wifi.joined(), HOME.ssid, 'joined with the stored credentials');
  t.like(routes(sim).get().body, { ssid: HOME.ssid, joined: true, setupAp: null });

  // The wipe of issue 14 will delete the credentials; here the store is changed directly.
  sim.device.stop();
  const record = recordOf(sim);
  const store = openStore(partition(sim.flash, HOST_PARTITIONS.state.offset, HOST_PARTITIONS.state.size), { seal: deviceKeys(jsCrypto, record.deviceSecret).cipher('store-seal') });
  t.true(store.read(WIFI_KEY).ok);
  store.delete(WIFI_KEY);
  await sim.reboot();
  await new Promise((resolve) => setTimeout(resolve, 5));
  t.deepEqual(sim.wifi.ap(), { ssid: ap.ssid, open: true });
  t.true(sim.wifi.joinAp(ap.passphrase), 'the same passphrase: the label still holds');
  t.is(sim.wifi.joined(), null);
  t.deepEqual(routes(sim).get().body, { ssid: null, joined: false, address: null, error: null, setupAp: { ssid: ap.ssid, open: true } });
});

/** The module on a stand-in board, for what the simulator cannot provision. */
function moduleWith(provisioning: Partial<ProvisioningRecord> | undefined, stored?: Uint8Array) {
  const opened: WifiCredentials[] = [];
  const station = {
    join: () => undefined,
    onDrop: () => undefined,
    openAp: (ap: WifiCredentials, done: () => void) => {
      opened.push(ap);
      done();
    },
    closeAp: () => undefined,
  };
  const routesOf: Route[] = [];
  const store = { read: () => (stored ? { ok: true, value: stored } : { ok: false, reason: 'absent' }) };
  const board = { name: 'stand-in', net: { wifi: station }, crypto: jsCrypto } as unknown as Board;
  const context = { board, config: image.config, provisioning, store, keys: undefined, route: (r: Route) => routesOf.push(r), every: () => undefined } as unknown as ModuleContext;
  const logs: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void logs.push(args.join(' '));
  try {
    wifi().start(context);
  } finally {
    console.log = log;
  }
  return { opened, logs };
}

test('a record without a setup key (before version 3), or no record, opens no access point and says why; stored credentials that are not valid open it', (t) => {
  const old = moduleWith({ serial: 'HS0123456789AB', deviceSecret: new Uint8Array(32), drbgSeed: new Uint8Array(48) });
  t.deepEqual(old.opened, []);
  t.true(old.logs.includes('[wifi] no setup key in the provisioning record: no setup access point'), old.logs.join('\n'));
  const none = moduleWith(undefined);
  t.deepEqual(none.opened, []);
  t.true(none.logs.some((l) => l.includes('no setup key')));
  const setupKey = new Uint8Array(16).map((_, i) => i * 7 + 1);
  // Stored bytes that do not decode (untrusted input) count as no credentials.
  const broken = moduleWith({ serial: 'HS0123456789AB', setupKey }, new Uint8Array([40, 1, 2]));
  t.deepEqual(broken.opened, [setupAccessPoint(jsCrypto, setupKey, image.config.model, 'HS0123456789AB')]);
  t.true(broken.logs.includes('[wifi] stored credentials are not valid: not used'));
});

test('the simulated radio refuses what the runtimes refuse: an access point without a passphrase of 8 characters', async (t) => {
  const { hostWifi } = await import('../boards/host/wifi');
  const radio = hostWifi({ networks: {} });
  t.throws(() => radio.openAp({ ssid: 'Setup', passphrase: '1234567' }, () => undefined), { message: /at least 8 characters/ });
  t.throws(() => radio.openAp({ ssid: 'Setup', passphrase: '' }, () => undefined), { message: /at least 8 characters/ });
  t.is(radio.ap(), null);
  t.notThrows(() => radio.closeAp(), 'closing what is not open does nothing');
  const pico = hostWifi({ networks: {}, apsta: false });
  pico.openAp({ ssid: 'Setup', passphrase: '12345678' }, () => undefined);
  t.throws(() => pico.join({ ssid: 'Home', passphrase: '12345678' }, () => undefined), { message: /close it first/ });
  radio.off();
  pico.off();
});

/**
 * The same flow on the boards' bindings, in the engine check against the runtimes' fakes, over
 * HTTP on the fake network (a test image whose guard grants every route: test/fixtures).
 */
const MODEL = 'HS-TEST-01';

async function onEngine(target: 'kaluma' | 'espruino', session: (e: EngineSession, ap: WifiCredentials) => void): Promise<Awaited<ReturnType<typeof runInEngine>>> {
  const { code } = await bundleFixture('setup-ap-' + target + '.ts', target);
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const at = target === 'kaluma' ? KALUMA_PARTITIONS.provisioning.sector * 4096 : ESP32_PARTITIONS.provisioning.address;
  const ap = setupAccessPoint(jsCrypto, record.setupKey!, MODEL, record.serial);
  return runInEngine(code, target, {
    network: 'down',
    prelude: `__engine.flash.load(${at}, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))}); __engine.wifi.networks.Home = ${JSON.stringify(HOME.passphrase)};`,
    session: (e) => session(e, ap),
  });
}

const json = (text: string): unknown => JSON.parse(text);
const put = (credentials: WifiCredentials) => ({ method: 'PUT', url: '/api/network/wifi', headers: { 'Content-Type': 'application/json' }, body: new TextEncoder().encode(JSON.stringify(credentials)) });
const get = { method: 'GET', url: '/api/network/wifi' };

test('kaluma (Pico W): served on the access point; the answer to PUT arrives, the chip resets, the station joins and the server accepts again; a failed join reopens it', async (t) => {
  const report = await onEngine('kaluma', (e, ap) => {
    t.deepEqual(e.js('__engine.wifi.ap'), { ssid: ap.ssid, password: ap.passphrase, gateway: '192.168.4.1' });
    t.true(e.js(`__engine.wifi.joinAp(${JSON.stringify(ap.passphrase)})`) as boolean);
    t.deepEqual(json(e.request(get).text), { ssid: null, joined: false, address: null, error: null, setupAp: { ssid: ap.ssid, open: true } });
    // Wrong credentials: the access point closes, the join fails, it opens again and serves the error.
    const wrong = e.request(put({ ssid: 'Home', passphrase: 'not the passphrase' }));
    t.is(wrong.status, 200);
    // A client connected when the chip resets loses its connection; the server's one slot is freed.
    const held = e.connect();
    e.advance(1100);
    t.true((e.js(`__engine.clients[${held}].closed`) as boolean) || (e.js(`__engine.clients[${held}].refused`) as boolean));
    t.is(e.js('__engine.wifi.joined'), null);
    t.deepEqual(e.js('__engine.wifi.ap && __engine.wifi.ap.ssid'), ap.ssid);
    t.deepEqual(json(e.request(get).text), {
      ssid: 'Home',
      joined: false,
      address: null,
      error: { error: 'wifi-failed', reason: 'the CYW43 could not join (Kaluma does not say why)' },
      setupAp: { ssid: ap.ssid, open: true },
    });
    // The right ones: answered over the access point, then joined over the station.
    t.like(json(e.request(put({ ssid: 'Home', passphrase: HOME.passphrase })).text), { ssid: 'Home', joined: false });
    e.advance(1100);
    t.is(e.js('__engine.wifi.ap'), null);
    t.is(e.js('__engine.wifi.joined'), 'Home');
    t.true(e.js('!!(__engine.server && __engine.server.listening)') as boolean, 'listening again');
    t.deepEqual(json(e.request(get).text), { ssid: 'Home', joined: true, address: null, error: null, setupAp: { ssid: ap.ssid, open: false } });
    e.advance(70000);
    t.is(e.js('__engine.wifi.ap'), null, 'closed for good');
    t.is(e.request(get).status, 200);
  });
  t.true(report.booted, report.error);
  // Kaluma builds log through a message table (the words as numbers without it): the SSID is there.
  t.is(report.logs.filter((l) => /HS-TEST-01-[0-9A-Z]{4}" open$/.test(l)).length, 2, report.logs.join('\n'));
  t.deepEqual(report.missing, []);
  t.deepEqual(report.swallowed, []);
  t.false(report.logs.join('\n').includes(HOME.passphrase));
});

test('espruino (ESP32): the station joins with the access point open; GET tells the address; stopAP after the grace', async (t) => {
  const report = await onEngine('espruino', (e, ap) => {
    t.deepEqual(e.js('__engine.wifi.ap'), { ssid: ap.ssid, password: ap.passphrase, authMode: 'wpa2' });
    t.like(json(e.request(get).text), { setupAp: { ssid: ap.ssid, open: true } });
    e.request(put({ ssid: 'Home', passphrase: 'not the passphrase' }));
    e.advance(1100);
    t.like(json(e.request(get).text), { joined: false, error: { error: 'wifi-auth' }, setupAp: { open: true } });
    t.is(e.request(put({ ssid: 'Home', passphrase: HOME.passphrase })).status, 200);
    e.advance(1100);
    t.is(e.js('__engine.wifi.joined'), 'Home');
    t.deepEqual(json(e.request(get).text), { ssid: 'Home', joined: true, address: '192.168.1.60', error: null, setupAp: { ssid: ap.ssid, open: true } });
    e.advance(10000);
    t.is(e.js('__engine.wifi.ap'), null);
    t.like(json(e.request(get).text), { joined: true, setupAp: { open: false } });
  });
  t.true(report.booted, report.error);
  t.deepEqual(report.missing, []);
  t.false(report.logs.join('\n').includes(HOME.passphrase));
});

test('npm start (the host bundle) prints the setup access point and where its passphrase is, never the passphrase', async (t) => {
  const built = await buildImage('smart-plug', 'host');
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-ap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [built.file, '--dir', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (/Ctrl\+C/.test(text)) resolve(text);
    });
    child.on('exit', (code) => reject(new Error('exited ' + code + ': ' + text)));
  });
  const label = JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8'));
  t.regex(out, new RegExp('setup access point "' + label.setupAp.ssid + '" open \\(WPA2; its passphrase is on the label: ' + dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/label.json'));
  t.regex(out, new RegExp('simulated network in range: "' + HOME.ssid + '"'));
  t.false(out.includes(label.setupAp.passphrase));
  t.false(out.includes(label.defaultPassword));
});

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryBacking, openSimFlash } from '../boards/host/flash';
import { ESP32_PARTITIONS } from '../boards/espruino-esp32/board';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import type { Board } from '../hal/board';
import type { WifiCredentials } from '../hal/net';
import type { HttpResponse } from '../firmware/device/core/module';
import type { ModuleContext, Route } from '../firmware/device/core/module';
import { buildImage, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { encodeProvisioning, newProvisioningRecord, padTo, seedStateSector } from '../firmware/host/provision';
import { espruinoStateLines } from '../firmware/host/serial/espruino';
import { kalumaStateLines } from '../firmware/host/serial/kaluma';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys } from '../modules/keys/keys';
import { decodeWifi, encodeWifi, parseWifiRequest, wifi, WIFI_KEY } from '../modules/network/wifi';
import { openStore } from '../modules/store/store';
import { manualTimeouts } from './timers';

const PASS = 'correct horse battery';

test('Wi-Fi requests and stored credentials: hostile input is refused with a reason, never used', (t) => {
  const bad: [string, RegExp][] = [
    ['', /not JSON/],
    ['[]', /object/],
    ['{"ssid":"a"}', /exactly the keys/],
    ['{"ssid":"a","passphrase":"12345678","x":1}', /exactly the keys/],
    ['{"ssid":"","passphrase":"12345678"}', /1 to 32/],
    ['{"ssid":"' + 'x'.repeat(33) + '","passphrase":"12345678"}', /1 to 32/],
    ['{"ssid":"a\\u0000b","passphrase":"12345678"}', /printable/],
    ['{"ssid":"a","passphrase":"short"}', /8 to 63/],
    ['{"ssid":"a","passphrase":"' + 'p'.repeat(64) + '"}', /8 to 63/],
    ['{"ssid":"a","passphrase":12345678}', /must be a string/],
    ['{"ssid":"a","passphrase":"pässphrase"}', /printable/],
  ];
  for (const [body, reason] of bad) {
    const r = parseWifiRequest(body);
    t.false(r.ok, body);
    if (!r.ok) t.regex(r.reason, reason, body);
  }
  t.deepEqual(parseWifiRequest('{"passphrase":"","ssid":"Open Cafe"}'), { ok: true, credentials: { ssid: 'Open Cafe', passphrase: '' } });
  const c = { ssid: 'Home', passphrase: PASS };
  t.deepEqual(decodeWifi(encodeWifi(c)), c);
  for (const b of [[], [1], [4, 72, 111, 109, 101], [4, 72, 111, 109, 101, 3, 97, 98, 99], [0, 0], [1, 0x07, 0], [2, 65, 65, 0, 9]]) t.is(decodeWifi(new Uint8Array(b)), undefined, String(b));
});

function moduleOn(store: ReturnType<typeof openStore>, keys: ModuleContext['keys'], joins: WifiCredentials[], fail?: string) {
  const routes: Route[] = [];
  const drops: ((reason: string) => void)[] = [];
  const station = { join: (c: WifiCredentials, done: (code?: string, detail?: string) => void) => { joins.push(c); done(fail, fail && 'the station could not join'); }, onDrop: (d: (reason: string) => void) => drops.push(d) };
  const board = { name: 'host', net: { wifi: station } } as unknown as Board;
  const context = { board, config: { interfaces: { setupAp: true } }, provisioning: undefined, store, keys, random: undefined, route: (r: Route) => routes.push(r), every: () => {} } as unknown as ModuleContext;
  wifi().start(context);
  const call = (method: string, body = ''): HttpResponse => {
    let out: HttpResponse | undefined;
    routes.find((r) => r.method === method)!.handler({ method, path: '/api/network/wifi', query: '', headers: {}, body: new TextEncoder().encode(body), remote: '' }, (r) => (out = r));
    return out!;
  };
  return { routes, call, drop: (reason: string) => drops.forEach((d) => d(reason)) };
}

test.serial('PUT /api/network/wifi (admin) seals the credentials, answers, then joins; GET never shows the passphrase; the next boot joins', (t) => {
  const clock = manualTimeouts();
  t.teardown(() => clock.restore());
  const backing = memoryBacking(8 * 4096);
  const keys = deviceKeys(jsCrypto, new Uint8Array(32).map((_, i) => i + 1));
  const open = () => openStore(openSimFlash(backing), { seal: keys.cipher('store-seal') });
  const joins: WifiCredentials[] = [];
  const first = moduleOn(open(), keys, joins);
  t.true(first.routes.every((r) => r.access === 'admin'));
  t.is(first.call('PUT', '{"ssid":"x","passphrase":"short"}').status, 400);
  t.is(joins.length, 0);
  const r = first.call('PUT', JSON.stringify({ ssid: 'Home', passphrase: PASS }));
  t.is(r.status, 200);
  t.deepEqual(joins, [], 'the answer goes first');
  clock.advance(1000);
  t.deepEqual(joins, [{ ssid: 'Home', passphrase: PASS }]);
  t.deepEqual(JSON.parse(String(first.call('GET').body)), { ssid: 'Home', joined: true, address: null, error: null, setupAp: null });
  t.false(String(first.call('GET').body).includes(PASS));
  t.is(Buffer.from(backing.read(0, backing.size)).indexOf(Buffer.from(PASS)), -1, 'the passphrase is not in the flash in plain text');
  first.drop('beacon_timeout');
  t.is(joins.length, 2, 'a dropped network is joined again at once');
  t.deepEqual(JSON.parse(String(first.call('GET').body)), { ssid: 'Home', joined: true, address: null, error: null, setupAp: null });
  const again: WifiCredentials[] = [];
  moduleOn(open(), keys, again, 'wifi-auth');
  t.deepEqual(again, [{ ssid: 'Home', passphrase: PASS }], 'the next boot joins with the stored credentials');
  // Without a device secret nothing can be sealed: refused, nothing stored.
  const plain = moduleOn(openStore(openSimFlash(memoryBacking(8 * 4096))), undefined, []);
  t.is(plain.call('PUT', JSON.stringify({ ssid: 'Home', passphrase: PASS })).status, 503);
});

for (const [target, example, stateAt, lines, size, write] of [
  ['kaluma', 'smart-plug', KALUMA_PARTITIONS.state.sector * 4096, kalumaStateLines, KALUMA_PARTITIONS.state.count * 4096, 256],
  ['espruino', 'env-sensor', ESP32_PARTITIONS.state.address, espruinoStateLines, ESP32_PARTITIONS.state.size, 4],
] as const) {
  test(`${target}: provisioning lines seal the Wi-Fi credentials into the state partition, and ${example} joins with them at boot`, async (t) => {
    const record = newProvisioningRecord().record;
    const sector = seedStateSector(record, size, write, { ssid: 'Workshop', passphrase: PASS });
    t.is(Buffer.from(sector).indexOf(Buffer.from(PASS)), -1, 'sealed');
    // The lines, run in the fake: stale state sectors erased, the seeded sector written.
    const probes = lines(sector).map((l) => `(0, eval)(${JSON.stringify(l)}), 0`);
    const read = (at: number, n: number) => `Array.prototype.slice.call((function(){var b=[];for(var i=0;i<${n};i++)b.push(__engine.flash.read(${at}+i));return b;})())`;
    const serial = await runInEngine(target === 'kaluma' ? "'use strict';" : '', target, { library: true, prelude: `__engine.flash.load(${stateAt + 8192}, [1,2,3,4]);`, probes: probes.concat([read(stateAt, 4096), read(stateAt + 8192, 4)]) });
    t.true(serial.booted, serial.error);
    t.deepEqual(new Uint8Array(serial.values[serial.values.length - 2] as number[]), sector);
    t.deepEqual(serial.values[serial.values.length - 1], [255, 255, 255, 255], 'the rest of the partition is erased');
    t.deepEqual(serial.missing, []);
    // The image boots on a unit provisioned like that and joins.
    const built = await buildImage(example, target);
    const provisioningAt = target === 'kaluma' ? KALUMA_PARTITIONS.provisioning.sector * 4096 : ESP32_PARTITIONS.provisioning.address;
    const load = `__engine.flash.load(${provisioningAt}, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))});__engine.flash.load(${stateAt}, ${JSON.stringify(Array.from(sector))});`;
    for (const [password, joined] of [[PASS, true], ['another passphrase', false]] as const) {
      // The unit starts without a network: it joins with the stored credentials by itself.
      let values: unknown[] = [];
      const report = await runInEngine(built.code, target, {
        network: 'down',
        serverLater: true,
        prelude: load + `__engine.wifi.networks.Workshop = ${JSON.stringify(password)};`,
        session: (e) => {
          values.push(e.js('__engine.wifi.joined'), e.js('__engine.wifi.attempts'));
          if (!joined) return;
          t.is(e.request({ method: 'GET', url: '/api/info' }).status, 200);
          // The access point goes away and comes back: the station notices (Kaluma reports no loss:
          // the binding polls), joins again and the device serves again.
          e.js('__engine.wifi.drop()');
          e.advance(20000);
          values.push(e.js('__engine.wifi.attempts'), e.js('__engine.wifi.joined'));
          t.is(e.request({ method: 'GET', url: '/api/info' }).status, 200);
        },
      });
      t.true(report.booted, report.error);
      t.deepEqual(values, joined ? ['Workshop', 1, 2, 'Workshop'] : [null, 1]);
      t.true(report.logs.some((l) => (joined ? /\[wifi\] joined "Workshop"/ : /\[wifi\] could not join "Workshop"/).test(l)), report.logs.join('\n'));
      t.false(report.logs.join('\n').includes(PASS), 'the passphrase is never logged');
      if (target === 'kaluma') t.is((await runInEngine(built.code, target, { prelude: load + `__engine.wifi.networks.Workshop = ${JSON.stringify(PASS)};`, probes: ['String(__engine.wifi.usedDefaults)'] })).values[0], 'undefined', 'the binding always gives the password and the security');
      t.deepEqual(report.missing, []);
      t.deepEqual(report.swallowed, []);
      values = [];
    }
  });
}

test('hoshi provision --wifi-ssid: the passphrase comes from the environment and the dry run holds it only sealed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-wifi-'));
  const hoshi = (env: NodeJS.ProcessEnv, ...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, stdio: 'pipe' });
  const out = hoshi({ HOSHI_WIFI_PASSPHRASE: PASS }, 'provision', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'k.bin'), '--wifi-ssid', 'Workshop', '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.regex(out, /Wi-Fi "Workshop" sealed in its store/);
  const bytes = readFileSync(join(dir, 'k.bin'));
  t.is(bytes.indexOf(Buffer.from(PASS)), -1);
  t.true(bytes.includes(Buffer.from("new F(134,32)")), 'the state partition is written');
  const env = { ...process.env };
  delete env.HOSHI_WIFI_PASSPHRASE;
  const error = t.throws(() => execFileSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), 'provision', '--board', 'espruino-esp32', '--dry-run', join(dir, 'e.bin'), '--wifi-ssid', 'W', '--model', 'HS-ENV-01', '--iterations', '4096'], { cwd: ROOT, env, stdio: 'pipe' }));
  t.regex(String((error as { stderr?: Buffer }).stderr), /HOSHI_WIFI_PASSPHRASE/);
});

import test from 'ava';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { bundleFixture } from './helpers';

/**
 * Every HAL function of each real-board binding, run against its runtime's fake: what it does, what
 * it refuses, and that it touched no runtime member the fake lacks.
 */
const CALLS = ['geometry', 'erase', 'write', 'read', 'rewrite', 'masked', 'misaligned', 'outside', 'provisioningReadOnly', 'entropy', 'clock', 'identity', 'console', 'memory', 'io', 'analog', 'crypto', 'reboot'];

for (const [target, fixture, expected] of [
  ['kaluma', 'binding-kaluma.ts', { geometry: [131072, 4096, 256, 255], entropy: ['weak', 16], crypto: 'js:32', identity: ['string', 'Raspberry Pi Pico W'] }],
  ['espruino', 'binding-espruino.ts', { geometry: [65536, 4096, 4, 255], entropy: ['none', 16], crypto: 'espruino-native:32', identity: ['string', 'ESP32 (Espruino 2v29)'] }],
] as [DeviceTarget, string, { [k: string]: unknown }][]) {
  test(`${target} binding: every HAL function against the runtime fake`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const report = await runInEngine(code, target, { library: true, probes: CALLS.map((c) => `__binding(${JSON.stringify(c)})`) });
    t.true(report.booted, report.error);
    const r: { [k: string]: { ok?: any; error?: string } } = {};
    CALLS.forEach((c, i) => (r[c] = JSON.parse(report.values[i] as string)));
    t.deepEqual(r.geometry!.ok, expected.geometry);
    t.is(r.erase!.error, undefined);
    t.is(r.write!.error, undefined);
    const writeSize = (expected.geometry as number[])[2]!;
    t.deepEqual(r.read!.ok, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (i < writeSize ? i * 7 : 255)));
    t.regex(r.rewrite!.error!, /already programmed|not erased|verify/i, 'programming over data is refused, not silently ANDed');
    const half = writeSize / 2;
    t.deepEqual(r.masked!.ok, Array.from({ length: writeSize }, (_, i) => (i < half ? 0x10 + i : 0x20 + i - half)), 'a write of 0xff leaves programmed bytes as they are');
    t.regex(r.misaligned!.error!, /multiple/);
    t.regex(r.outside!.error!, /outside/);
    t.is(r.provisioningReadOnly!.ok, 4);
    t.deepEqual(r.entropy!.ok, expected.entropy);
    t.is(r.clock!.ok, 'number');
    t.deepEqual(r.identity!.ok, expected.identity);
    t.truthy(r.console!.ok);
    t.is(r.io!.error, undefined);
    t.is(typeof r.analog!.ok, 'number');
    t.is(r.crypto!.ok, expected.crypto);
    t.is(r.reboot!.error, undefined);
    t.deepEqual(report.missing, [], 'the binding used runtime members the fake lacks');
  });
}

/**
 * The setup access point of each binding (hal/net.ts `openAp`, `closeAp`, `apsta`) against its
 * runtime's fake: what the runtime refuses is refused; on the Pico W closing it resets the chip
 * (every socket gone: the live connection is reported closed) and the server listens again by
 * itself once the station has joined; on the ESP32 it stays open while the station joins.
 */
const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const step = (expr: string): string => `JSON.stringify((function () { var r = ${expr}; __engine.advance(10); return [r].concat(__ap.log.splice(0)); })())`;
const echo = (text: string): string =>
  `(function () { var c = __engine.connect(); c.send("${hex(text)}"); for (var i = 0; i < 5; i++) __engine.advance(10); return c.refused ? "refused" : String.fromCharCode.apply(null, c.inbox); })()`;

test('kaluma binding: the setup access point; closing it resets the chip, the server listens again once the station has joined', async (t) => {
  const { code, map } = await bundleFixture('binding-ap-kaluma.ts', 'kaluma');
  t.deepEqual(checkProfile(code, 'kaluma', map).violations, []);
  const probes = [
    step('__ap.apsta()'),
    step('__ap.openAp("Setup", "1234567")'),
    step('__ap.closeAp()'),
    step('__ap.listen(80)'),
    step('__ap.openAp("HS-PLUG-01-AB12", "abcdefghijklmnop")'),
    'JSON.stringify([__engine.wifi.ap, __engine.wifi.joinAp("abcdefghijklmnop")])',
    step('__ap.listen(80)'),
    `JSON.stringify([${echo('over the access point')}].concat(__ap.log.splice(0)))`,
    // A connection open when the access point closes: the chip reset takes it and the server.
    step('(function () { var c = __engine.connect(); __engine.advance(10); return c.closed; })()'),
    step('__ap.closeAp()'),
    'JSON.stringify([__engine.clients[__engine.clients.length - 1].closed, __engine.server, __engine.wifi.ap])',
    step('__engine.connect().refused'),
    step('__ap.join("Home", "correct horse battery")'),
    'JSON.stringify([__engine.server && __engine.server.listening, __engine.server && __engine.server.port, __ap.port()])',
    `JSON.stringify([${echo('over the station')}].concat(__ap.log.splice(0)))`,
    step('__ap.closeAp()'),
  ];
  const report = await runInEngine(code, 'kaluma', { library: true, network: 'down', prelude: '__engine.wifi.networks.Home = "correct horse battery";', probes });
  t.true(report.booted, report.error);
  t.deepEqual(
    report.values.map((v) => JSON.parse(v as string)),
    [
      [false],
      ['PASSWORD need to have at least 8 characters'],
      [''],
      ['net-down: WiFi is not connected.'],
      ['', 'link true', 'ap open'],
      [{ ssid: 'HS-PLUG-01-AB12', password: 'abcdefghijklmnop', gateway: '192.168.4.1' }, true],
      ['', 'listening'],
      ['over the access point', 'accept', 'closed'],
      [false, 'accept'],
      // Reported closed, then the link down (no station was joined: no drop).
      ['', 'closed', 'link false'],
      [true, null, null],
      [true],
      // The binding listens again before it tells boot the link is up; `ready` is not called again.
      ['', 'link true', 'joined undefined'],
      [true, 80, 80],
      ['over the station', 'accept', 'closed'],
      [''],
    ],
  );
  // A DHCP server that does not start resets the chip: reported as a failure, and as a reset.
  const failing = await runInEngine(code, 'kaluma', {
    library: true,
    network: 'up',
    probes: [step('__ap.listen(80)'), step('(function () { __engine.wifi.apFails = -8; return __ap.openAp("Setup", "abcdefghijklmnop"); })()'), 'JSON.stringify([__engine.server, __engine.wifi.ap])'],
  });
  t.deepEqual(
    failing.values.map((v) => JSON.parse(v as string)),
    [['', 'listening'], ['', 'link false', 'ap wifi-failed ap_mode errno -8'], [null, null]],
  );
  t.deepEqual(report.missing, []);
  t.deepEqual(report.swallowed, []);
});

test('espruino binding: the setup access point stays open while the station joins (AP+STA); stopAP closes it and leaves the station', async (t) => {
  const { code, map } = await bundleFixture('binding-ap-espruino.ts', 'espruino');
  t.deepEqual(checkProfile(code, 'espruino', map).violations, []);
  const probes = [
    step('__ap.apsta()'),
    step('__ap.openAp("Setup", "1234567")'),
    step('__ap.closeAp()'),
    step('__ap.listen(80)'),
    step('__ap.openAp("HS-ENV-01-AB12", "abcdefghijklmnop")'),
    'JSON.stringify([__engine.wifi.ap, __engine.wifi.joinAp("abcdefghijklmnop")])',
    `JSON.stringify([${echo('over the access point')}].concat(__ap.log.splice(0)))`,
    step('__ap.join("Home", "correct horse battery")'),
    'JSON.stringify([__engine.wifi.joined, __engine.wifi.ap !== null])',
    step('__ap.closeAp()'),
    'JSON.stringify([__engine.wifi.joined, __engine.wifi.ap])',
    `JSON.stringify([${echo('over the station')}].concat(__ap.log.splice(0)))`,
  ];
  const report = await runInEngine(code, 'espruino', { library: true, network: 'down', prelude: '__engine.wifi.networks.Home = "correct horse battery";', probes });
  t.true(report.booted, report.error);
  t.deepEqual(
    report.values.map((v) => JSON.parse(v as string)),
    [
      [true],
      ['Password must be string of at least 8 characters'],
      [''],
      ['', 'listening'],
      ['', 'ap open'],
      [{ ssid: 'HS-ENV-01-AB12', password: 'abcdefghijklmnop', authMode: 'wpa2' }, true],
      ['over the access point', 'accept', 'closed'],
      ['', 'joined 192.168.1.60', 'link true'],
      ['Home', true],
      [''],
      ['Home', null],
      ['over the station', 'accept', 'closed'],
    ],
  );
  t.deepEqual(report.missing, []);
});

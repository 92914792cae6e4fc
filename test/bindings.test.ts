import test from 'ava';
import { createHash } from 'node:crypto';
import { EngineFlash, runInEngine } from '../firmware/host/engine';
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
  ['espruino', 'binding-espruino.ts', { geometry: [49152, 4096, 4, 255], entropy: ['none', 16], crypto: 'espruino-native:32', identity: ['string', 'ESP32 (Espruino 2v29)'] }],
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

/**
 * The boot control record and the slots of each binding (hal/board.ts `bootctl`, `slots`;
 * docs/formats/update.md §4-5) against the runtime's fake: Kaluma's sectors through
 * require('flash'); on the ESP32, the sectors inside the Storage files `hoshi flash` makes, through
 * require("Flash"), with NOR rules (erased sector by sector, bytes programmed once between erases),
 * and hashed in place through the string Storage.read maps onto them.
 */
const SLOT_CALLS = ['geometry', 'loader', 'assets', 'records', 'erase', 'header', 'payload', 'read', 'rewriteHeader', 'masked', 'sha256', 'eraseErased', 'eraseWritten', 'misaligned'];

for (const [target, fixture, geometry] of [
  ['kaluma', 'binding-slots-kaluma.ts', [8192, 4096, 256, 2, 245760, 4096, 256]],
  ['espruino', 'binding-slots-espruino.ts', [8192, 4096, 4, 2, 266240, 4096, 4]],
] as [DeviceTarget, string, number[]][]) {
  test(`${target} binding: the boot control record's two units and the slots against the runtime fake`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    t.deepEqual(checkProfile(code, target, map).violations, []);
    const report = await runInEngine(code, target, { library: true, budgetBytes: 16 * 1024 * 1024, probes: SLOT_CALLS.map((c) => `__slots(${JSON.stringify(c)})`) });
    t.true(report.booted, report.error);
    const r: { [k: string]: { ok?: any; error?: string } } = {};
    SLOT_CALLS.forEach((c, i) => (r[c] = JSON.parse(report.values[i] as string)));
    t.deepEqual(r.geometry!.ok, geometry);
    t.true(r.loader!.ok, 'no loader ran: board.loader is undefined');
    t.true(r.assets!.ok > 0, 'slot A holds the bundle (engine.ts): its assets partition follows the text');
    t.deepEqual(r.records!.ok, [1, 0, 2, 1, 3, 2], 'each record in the other unit, seq rising');
    t.is(r.erase!.error, undefined);
    t.is(r.header!.error, undefined, 'the header at offset 0, right after the erase');
    t.is(r.payload!.error, undefined);
    t.deepEqual(r.read!.ok, [2, 9, 16, 23]);
    t.regex(r.rewriteHeader!.error!, /already programmed/);
    t.deepEqual(r.masked!.ok, [0x10, 0x10, 0x20, 0x20], 'a write of 0xff leaves programmed bytes as they are');
    t.is(r.eraseErased!.error, undefined);
    t.is(r.eraseWritten!.error, undefined);
    if (target === 'kaluma') t.is(r.sha256!.ok, 'none', 'Kaluma hashes what read() returns');
    else {
      const expected = new Uint8Array(4).map((_, i) => (2 + i * 7) & 255);
      t.deepEqual(r.sha256!.ok, Array.from(createHash('sha256').update(expected).digest()), 'crypto.SHA256 over the file, in place');
    }
    t.regex(r.misaligned!.error!, /multiple/);
    t.deepEqual(report.missing, []);
  });
}

test('espruino binding: five updates leave Storage as hoshi flash made it: the same files at the same addresses, no deleted file, no compaction', async (t) => {
  const { code } = await bundleFixture('binding-slots-espruino.ts', 'espruino');
  const storage = '(function () { var s = __engine.storageStats(); return JSON.stringify([s.used, s.compactions, s.files, require("Storage").list(), require("Storage").getFree()]); })()';
  const report = await runInEngine(code, 'espruino', { library: true, budgetBytes: 16 * 1024 * 1024, probes: [storage, '__slots("updates")', storage] });
  t.true(report.booted, report.error);
  const [before, updates, after] = report.values as string[];
  t.deepEqual(JSON.parse(updates!), { ok: 9 });
  t.is(after, before);
  t.is(JSON.parse(after!)[1], 0, 'no compaction');
  t.deepEqual(report.missing, []);
});

/**
 * Each binding's `assets` partition is the running slot's assets container (docs/formats/update.md
 * §3; core/bootctl.ts assetsOf): with slot A holding the bundle and the assets as `hoshi flash`
 * writes them (engine.ts), the device finds the page and its password filter answers as the host's
 * builder; Espruino reads them through Storage.read, mapped onto the flash.
 */
for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
  test(`${target} binding: the assets are the running slot's container; the filter answers as the host builder`, async (t) => {
    const { buildAssets, describeAssets, filterHas, buildCommonFilter, commonPasswordList, randomProbes } = await import('../firmware/host/assets');
    const assets = await buildAssets();
    const filter = buildCommonFilter();
    const words = [...commonPasswordList().slice(0, 40), ...randomProbes(200, 5)];
    const { code } = await bundleFixture('assets-' + target + '.ts', target);
    const report = await runInEngine(code, target, { library: true, budgetBytes: 16 * 1024 * 1024, assets, probes: [`__assets(${JSON.stringify(words)})`] });
    t.true(report.booted, report.error);
    const device = JSON.parse(report.values[0] as string);
    t.is(device.problem, '');
    t.is(device.page, describeAssets(assets)[0]!.length);
    t.deepEqual(device.pageStart, [0x1f, 0x8b], 'the gzip page');
    t.deepEqual(device.common, words.map((w) => filterHas(filter.bytes, w)));
    t.regex(device.refused, /read-only/);
    t.deepEqual(report.missing, []);
    const none = await runInEngine(code, target, { library: true, budgetBytes: 16 * 1024 * 1024, flash: new EngineFlash(), probes: ['__assets([])'] });
    t.regex(JSON.parse(none.values[0] as string).problem, /.+/, 'an empty slot: no assets, said so');
  });
}


/**
 * The TCP client of each binding (hal/net.ts `connect`) with the kit's HTTP client on top
 * (core/http-client.ts) against its runtime's fake (firmware/host/engine: `__engine.listenAt`
 * plays a server the device connects to, `__engine.names` its DNS): a GET by name and by address,
 * a name that does not resolve or is never answered, a port that refuses, a reset in the body, a
 * redirect; every socket given back. What each runtime cannot tell (Kaluma: a refusal or a reset
 * never reported; the ESP32: a refusal looks like a close) ends as the client's timeout or close.
 */
const client = (n: number): string => `(function () { for (var i = 0; i < ${n}; i++) __engine.advance(10); return JSON.stringify(__client.log.splice(0)); })()`;
const serve = (path: string, response: string, reset = false): string =>
  `(function () { var p = __engine.peers["192.168.1.10:8000"]; __client.get("192.168.1.10", 8000, "${path}", 100000, 1000); for (var i = 0; i < 3; i++) __engine.advance(10); var c = p.connections[p.connections.length - 1]; c.send("${hex(response)}"); ${reset ? 'for (var k = 0; k < 2; k++) __engine.advance(10); c.reset();' : 'c.end();'} return String.fromCharCode.apply(null, c.inbox); })()`;

for (const [target, fixture, refusedEnd, resetEnd, sockets] of [
  ['kaluma', 'client-kaluma.ts', 'http-timeout', 'http-timeout', 'JSON.stringify(__engine.net.slots.filter(function (s) { return !!s; }).length)'],
  ['espruino', 'client-espruino.ts', 'http-closed', 'http-truncated', 'JSON.stringify([__engine.net.sockets, __engine.net.outgoing.length, __engine.net.stranded])'],
] as [DeviceTarget, string, string, string, string][]) {
  test(`${target} binding: the TCP client under the HTTP client, against the runtime's network`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const probes = [
      'JSON.stringify(__client.has())',
      `JSON.stringify(__client.connect("192.168.1.10", 8000))`,
      client(3),
      'JSON.stringify((function () { __engine.wifi.up("Home"); __client.join("Home", "correct horse battery"); return 0; })())',
      client(3),
      `JSON.stringify((function () { __engine.listenAt("192.168.1.10", 8000); __engine.names["releases.example"] = "192.168.1.10"; __engine.names["silent.example"] = null; __client.get("releases.example", 8000, "/latest.cose", 1024, 2000); for (var i = 0; i < 3; i++) __engine.advance(10); var c = __engine.peers["192.168.1.10:8000"].connections[0]; c.send("${hex('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')}"); c.end(); return String.fromCharCode.apply(null, c.inbox); })())`,
      client(10),
      'JSON.stringify((function () { __client.get("nowhere.example", 80, "/", 1024, 500); __client.get("silent.example", 80, "/", 1024, 500); __client.get("192.168.1.10", 9, "/", 1024, 500); return 0; })())',
      client(60),
      `JSON.stringify(${serve('/reset', 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc', true)})`,
      client(120),
      `JSON.stringify(${serve('/moved', 'HTTP/1.1 301 Moved\r\nLocation: http://192.168.1.10:8000/elsewhere\r\nContent-Length: 0\r\n\r\n')})`,
      client(10),
      sockets,
    ];
    const report = await runInEngine(code, target, { library: true, network: 'down', prelude: '__engine.wifi.networks.Home = "correct horse battery";', probes });
    t.true(report.booted, report.error);
    t.deepEqual(
      report.values.map((v) => JSON.parse(v as string)),
      [
        true,
        0,
        ['0 closed net-down'],
        0,
        ['joined'],
        'GET /latest.cose HTTP/1.1\r\nHost: releases.example:8000\r\nConnection: close\r\n\r\n',
        ['body 0 hello', 'done ok 5'],
        0,
        ['done net-unresolved', 'done net-unresolved', 'done ' + refusedEnd],
        'GET /reset HTTP/1.1\r\nHost: 192.168.1.10:8000\r\nConnection: close\r\n\r\n',
        ['body 0 abc', 'done ' + resetEnd],
        'GET /moved HTTP/1.1\r\nHost: 192.168.1.10:8000\r\nConnection: close\r\n\r\n',
        // The redirect is refused at its status line: nothing connects to where it points.
        ['done http-status 301'],
        // Every socket given back (the ESP32: Telnet's listener only; no connection stranded offline).
        target === 'kaluma' ? 0 : [1, 0, 0],
      ],
    );
    t.deepEqual(report.missing, [], 'the binding used runtime members the fake lacks');
    t.deepEqual(report.swallowed ?? [], []);
  });
}

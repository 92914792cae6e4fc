import { openAssets } from '../firmware/device/core/assets';
import test from 'ava';
import { buildImage } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import { startSimulator } from '../firmware/host/simulator';
import envSensor from '../examples/env-sensor/image';
import smartPlug from '../examples/smart-plug/image';
import { relay, RELAY_KEY, SCHEDULE_KEY } from '../examples/smart-plug/relay';
import { decodeSchedule, dueEntry, encodeSchedule, parseSchedule } from '../examples/smart-plug/schedule';
import { decodeRange, encodeRange } from '../examples/env-sensor/sensor';
import { memoryBacking, openSimFlash } from '../boards/host/flash';
import { openStore } from '../modules/store/store';
import { createHostIo } from '../boards/host/board';
import type { Board } from '../hal/board';
import type { HttpResponse } from '../firmware/device/core/module';
import type { ModuleContext, Route } from '../firmware/device/core/module';

/** The examples' own hardware (relay, sensor) through each board's Io, on the fakes and the host. */

test('smart-plug: the relay is an output driven low at boot; its state is public, changing it is refused without admin', async (t) => {
  for (const [target, pin, output] of [['kaluma', '15', '1'], ['espruino', 'D26', 'output']] as const) {
    const built = await buildImage('smart-plug', target);
    const report = await runInEngine(built.code, target, {
      requests: [
        { method: 'GET', url: '/api/relay' },
        { method: 'PUT', url: '/api/relay', headers: { 'Content-Length': '11' }, body: new TextEncoder().encode('{"on":true}') },
      ],
      probes: [`String(__engine.pins.modes[${JSON.stringify(pin)}])`, `String(__engine.pins.levels[${JSON.stringify(pin)}])`],
    });
    t.true(report.booted, report.error);
    t.deepEqual(report.values, [output, '0'], target);
    t.deepEqual(JSON.parse(report.replies[0]!.text), { on: false });
    t.is(report.replies[1]!.status, 401);
    t.deepEqual(report.missing, []);
  }
  const sim = await startSimulator({ image: smartPlug, quiet: true });
  try {
    t.is(sim.io.outputs.relay, false);
    t.deepEqual(await (await fetch(sim.url + '/api/relay')).json(), { on: false });
    t.is((await fetch(sim.url + '/api/relay', { method: 'PUT', body: '{"on":true}' })).status, 401);
  } finally {
    sim.stop();
  }
});

test('env-sensor builds for Espruino and the host, passes the profile check, and serves its reading', async (t) => {
  const built = await buildImage('env-sensor', 'espruino');
  const profile = checkProfile(built.code, 'espruino', built.map);
  t.deepEqual(profile.violations, [], formatViolations(profile));
  const report = await runInEngine(built.code, 'espruino', {
    prelude: '__engine.pins.analog.D36 = 0.0712;',
    requests: [{ method: 'GET', url: '/api/reading' }, { method: 'GET', url: '/api/info' }],
  });
  t.true(report.booted, report.error);
  t.deepEqual(JSON.parse(report.replies[0]!.text), { temperatureC: 23.5, raw: 0.0712, lowestC: 23.5, highestC: 23.5 });
  t.like(JSON.parse(report.replies[1]!.text), { model: 'HS-ENV-01' });
  t.deepEqual(report.missing, []);
  t.true((await buildImage('env-sensor', 'host')).bytes > 0);
});

test('env-sensor on the host: a connected input is read, an unconnected one is a 503 with a reason', async (t) => {
  const sim = await startSimulator({ image: envSensor, quiet: true, analog: { temperature: 0.0655 } });
  try {
    t.deepEqual(await (await fetch(sim.url + '/api/reading')).json(), { temperatureC: 21.6, raw: 0.0655, lowestC: 21.6, highestC: 21.6 });
    sim.io.setAnalog('temperature', 0.09);
    t.like(await (await fetch(sim.url + '/api/reading')).json(), { temperatureC: 29.7, lowestC: 21.6, highestC: 29.7 });
    sim.io.setAnalog('temperature', 0.07);
    await sim.reboot();
    t.deepEqual(await (await fetch(sim.url + '/api/reading')).json(), { temperatureC: 23.1, raw: 0.07, lowestC: 21.6, highestC: 29.7 }, 'the range is kept in the store across a reboot');
  } finally {
    sim.stop();
  }
  t.is(decodeRange(new Uint8Array([1, 0, 0, 0])), undefined, 'lowest above highest');
  t.is(decodeRange(new Uint8Array([1, 0, 0])), undefined);
  t.deepEqual(decodeRange(encodeRange([-400, 1250])), [-400, 1250]);
  const bare = await startSimulator({ image: envSensor, quiet: true });
  try {
    const r = await fetch(bare.url + '/api/reading');
    t.is(r.status, 503);
    t.like(await r.json(), { error: 'sensor-unavailable' });
    t.is((await fetch(bare.url + '/api/info')).status, 200);
  } finally {
    bare.stop();
  }
});

test('smart-plug relay: hostile bodies for PUT /api/relay get 400 with a reason and leave the relay as it was', (t) => {
  const routes: Route[] = [];
  const io = createHostIo();
  const backing = memoryBacking(8 * 4096);
  const store = openStore(openSimFlash(backing));
  const context = { board: { name: 'host', io, clock: { now: () => 0, wallTime: () => undefined } } as unknown as Board, config: smartPlug.config, provisioning: undefined, store, keys: undefined, random: undefined, route: (r: Route) => routes.push(r), every: () => {}, assets: openAssets(undefined), guard: () => {}, whenServing: () => {}, status: {}, event: () => {}, securityLog: () => {}, onWipe: () => {}, wipeTasks: [], keptKeys: [] } as ModuleContext;
  relay({ host: 'relay' }).start(context);
  const put = routes.find((r) => r.method === 'PUT' && r.path === '/api/relay')!;
  t.is(put.access, 'admin');
  const send = (body: string): HttpResponse => {
    let out: HttpResponse | undefined;
    put.handler({ method: 'PUT', path: '/api/relay', query: '', headers: {}, body: new TextEncoder().encode(body), remote: '' }, (r) => (out = r));
    return out!;
  };
  for (const body of ['', '{', 'null', '[]', '"on"', '{"on":"true"}', '{"on":1}', '{"off":true}', '\u0000\u00ff', '{"on":true'.repeat(50)]) {
    const r = send(body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(String(r.body), /"reason"/);
    t.is(io.outputs.relay, false);
  }
  t.is(send('{"on":true}').status, 200);
  t.is(io.outputs.relay, true);
  t.is(send('{"on":"x"}').status, 400);
  t.is(io.outputs.relay, true, 'a refused request changes nothing');
  t.deepEqual(openStore(openSimFlash(backing)).get(RELAY_KEY), new Uint8Array([1]), 'the state is in the store');
});

test('smart-plug: the relay state and the schedule are kept in the store across a reboot; stored bytes are checked before use', async (t) => {
  const routes: Route[] = [];
  const io = createHostIo();
  const backing = memoryBacking(8 * 4096);
  const start = (): void => {
    routes.length = 0;
    const store = openStore(openSimFlash(backing));
    const context = { board: { name: 'host', io, clock: { now: () => 0, wallTime: () => undefined } } as unknown as Board, config: smartPlug.config, provisioning: undefined, store, keys: undefined, random: undefined, route: (r: Route) => routes.push(r), every: () => {}, assets: openAssets(undefined), guard: () => {}, whenServing: () => {}, status: {}, event: () => {}, securityLog: () => {}, onWipe: () => {}, wipeTasks: [], keptKeys: [] } as ModuleContext;
    relay({ host: 'relay' }).start(context);
  };
  const call = (method: string, path: string, body = ''): HttpResponse => {
    let out: HttpResponse | undefined;
    routes.find((r) => r.method === method && r.path === path)!.handler({ method, path, query: '', headers: {}, body: new TextEncoder().encode(body), remote: '' }, (r) => (out = r));
    return out!;
  };
  start();
  t.is(io.outputs.relay, false, 'nothing stored: off');
  t.is(call('PUT', '/api/relay', '{"on":true}').status, 200);
  t.is(call('PUT', '/api/relay/schedule', '{"entries":[{"at":"07:30","on":true},{"at":"22:00","on":false}]}').status, 200);
  io.write('relay', false);
  start();
  t.is(io.outputs.relay, true, 'restored after the reboot');
  t.deepEqual(JSON.parse(String(call('GET', '/api/relay/schedule').body)), { entries: [{ at: '07:30', on: true }, { at: '22:00', on: false }] });
  // A stored schedule that is not one (hostile or corrupt bytes) is ignored, never applied.
  const store = openStore(openSimFlash(backing));
  store.set(SCHEDULE_KEY, new Uint8Array([0xa0, 0x05, 1]));
  start();
  t.deepEqual(JSON.parse(String(call('GET', '/api/relay/schedule').body)), { entries: [] });
  for (const bad of [[1, 0], [0xa0, 0x05, 2], [1, 0, 1, 1, 0, 0], new Array(27).fill(0)]) t.is(decodeSchedule(new Uint8Array(bad)), undefined, String(bad));
  t.deepEqual(decodeSchedule(encodeSchedule([{ minute: 1439, on: false }, { minute: 0, on: true }])), [{ minute: 1439, on: false }, { minute: 0, on: true }]);
});

test('smart-plug for the Raspberry Pi Pico (no Wi-Fi): builds, passes the profile check, boots without its HTTP interface and says why', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma', undefined, 'kaluma-pico');
  t.regex(built.file, /dist\/smart-plug\/kaluma-pico\/app\.js$/);
  const profile = checkProfile(built.code, 'kaluma', built.map);
  t.deepEqual(profile.violations, [], formatViolations(profile));
  const report = await runInEngine(built.code, 'kaluma', { library: true, probes: ['String(__engine.pins.levels[15])'] });
  t.true(report.booted, report.error);
  t.true(report.logs.some((l) => /without its HTTP interface: net-absent: the Raspberry Pi Pico has no network interface/.test(l)), report.logs.join('\n'));
  t.deepEqual(report.values, ['0'], 'the relay module still ran');
  t.deepEqual(report.missing, []);
  await t.throwsAsync(buildImage('smart-plug', 'kaluma', undefined, 'espruino-esp32'), { message: /does not run kaluma/ });
});

test('smart-plug schedule: hostile bodies are refused with a reason; valid entries parse; the due entry follows the UTC minute', (t) => {
  const bad: [string, RegExp][] = [
    ['', /not JSON/],
    ['[]', /object/],
    ['{"entries":{}}', /array/],
    ['{"entries":[],"x":1}', /exactly one key/],
    ['{"entries":[1]}', /entry 0 must be an object/],
    ['{"entries":[{"at":"24:00","on":true}]}', /HH:MM/],
    ['{"entries":[{"at":"7:30","on":true}]}', /HH:MM/],
    ['{"entries":[{"at":"07:60","on":true}]}', /HH:MM/],
    ['{"entries":[{"at":"0७:30","on":true}]}', /HH:MM/],
    ['{"entries":[{"at":"07:30","on":"yes"}]}', /true or false/],
    ['{"entries":[{"at":"07:30","on":true,"x":0}]}', /exactly the keys/],
    ['{"entries":[{"at":"07:30","on":true},{"at":"07:30","on":false}]}', /that minute/],
    [JSON.stringify({ entries: Array.from({ length: 9 }, (_, i) => ({ at: '0' + i + ':00', on: true })) }), /at most 8/],
    ['{"entries":[{"at":"07:30","on":true}', /not JSON/],
  ];
  for (const [body, reason] of bad) {
    const r = parseSchedule(body);
    t.false(r.ok, body);
    if (!r.ok) t.regex(r.reason, reason, body);
  }
  const good = parseSchedule('{"entries":[{"at":"07:30","on":true},{"on":false,"at":"23:59"}]}');
  t.true(good.ok);
  if (!good.ok) return;
  t.deepEqual(good.entries, [{ minute: 450, on: true }, { minute: 1439, on: false }]);
  const day = Date.UTC(2026, 10, 22);
  t.deepEqual(dueEntry(good.entries, day + 450 * 60000 + 59000), { minute: 450, on: true });
  t.is(dueEntry(good.entries, day + 451 * 60000), undefined);
  t.deepEqual(dueEntry(good.entries, day + 1439 * 60000), { minute: 1439, on: false });
});

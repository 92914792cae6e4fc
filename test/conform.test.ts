import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import envSensor from '../examples/env-sensor/image';
import smartPlug from '../examples/smart-plug/image';
import { json, type HoshiModule } from '../firmware/device/core/module';
import { defineImage, type Image } from '../firmware/device/image';
import { changePassword, login } from '../firmware/host/client';
import { boundedFetch, conformCommand, HOSHI_ROUTES, runConform, startRelay, withBudget, writeConformReport } from '../firmware/host/conform';
import { buildPayload } from '../firmware/host/payload';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import type { ConformCheckId, ConformReport, Verdict } from '../firmware/host/star1';
import { newSigningKey } from '../firmware/host/update/keys';
import { createImagePackage } from '../firmware/host/update/package';
import { parseSetupKey } from '../modules/channel/setup';
import { bindable } from './helpers';

/** A loopback address where no unit of this file listens: the scans' control (another process's listener on every address answers there too). */
const CONTROL = '127.77.21.99';

/**
 * `hoshi conform` (firmware/host/conform.ts) against simulated units: a conforming smart plug after
 * its first-use change passes every check; a unit still in its first-use state is told apart;
 * non-conforming images fail the checks they break, each with its reason; the probe keeps to its
 * bounds (requests, time, the unit's address only); usage errors exit 2.
 *
 * Units run on loopback addresses of their own (127.77.21.x, as in test/interfaces-scan.test.ts)
 * so that the port scan tells their ports from those of other processes; a host that cannot bind
 * them runs the units on 127.0.0.1, where the interfaces check can only say "needs a person".
 */

const PASSWORD = 'Juniper-otter 47 lantern';
const KEY = newSigningKey();
const FIELDS = { vendor: smartPlug.config.vendor, model: smartPlug.config.model, runtime: 'host', board: 'host' };

interface Unit {
  sim: Simulator;
  url: string;
  address: string;
  setupKey: Uint8Array;
}

/** Boots `image` on `address` (127.0.0.1 if this host cannot bind it), provisioned anew with fast PBKDF2. */
async function boot(image: Image, wanted: string, o: { analog?: { [pin: string]: number } } = {}): Promise<Unit> {
  const address = (await bindable(wanted)) ? wanted : '127.0.0.1';
  // The simulator picks a free port on the address before the first boot: the unit declares the port it serves.
  const sim = await startSimulator({ image, quiet: true, iterations: 4096, updateKeys: [KEY.publicKey], address, analog: o.analog });
  return { sim, url: sim.url, address, setupKey: parseSetupKey(sim.label!.setupKey)! };
}

/** The scan's control, for a unit on an address of its own. */
function scanControl(unit: Unit): { control?: string } {
  return unit.address === '127.0.0.1' ? {} : { control: CONTROL };
}

/** The first-use change, as the owner makes it. */
async function firstUse(unit: Unit): Promise<void> {
  const session = await login(unit.url, unit.sim.label!.defaultPassword, unit.setupKey);
  await changePassword(session, unit.setupKey, PASSWORD, { iterations: 4096 });
}

const verdicts = (r: ConformReport): { [id: string]: Verdict } => Object.fromEntries(r.checks.map((c) => [c.id, c.verdict]));
const check = (r: ConformReport, id: ConformCheckId) => r.checks.find((c) => c.id === id)!;

test.serial('the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key', async (t) => {
  t.timeout(120000);
  const unit = await boot(smartPlug, '127.77.21.1');
  t.teardown(() => unit.sim.stop());
  await firstUse(unit);
  const built = await buildPayload('smart-plug', 'host', { version: '0.2.0' });
  const pkg = createImagePackage({ ...FIELDS, version: '0.2.0', counter: 1, app: built.app }, built.payload, KEY);
  // An older package, refused at its head: its payload need not be its version's.
  const older = createImagePackage({ ...FIELDS, version: '0.1.5', counter: 1, app: built.app }, built.payload, KEY);
  const started = Date.now();
  const report = await runConform({ url: unit.url, password: PASSWORD, label: unit.sim.label!, model: 'HS-PLUG-01', package: pkg, olderPackage: older, wipe: true, scan: scanControl(unit) });
  const seconds = (Date.now() - started) / 1000;
  t.log(report.requests + ' requests, ' + seconds.toFixed(1) + ' s');
  for (const c of report.checks) t.log(c.id + ': ' + c.verdict + ': ' + c.reason);
  const expected: { [id: string]: Verdict } = { info: 'pass', 'auth-required': 'pass', 'default-password': 'pass', 'password-change': 'pass', 'brute-force': 'pass', update: 'pass', channel: 'pass', interfaces: unit.address === '127.0.0.1' ? verdicts(report).interfaces! : 'pass', wipe: 'pass' };
  t.deepEqual(verdicts(report), expected);
  t.deepEqual(report.checks.map((c) => c.id), ['info', 'auth-required', 'default-password', 'password-change', 'brute-force', 'update', 'channel', 'interfaces', 'wipe']);
  t.is(report.tool, 'hoshi conform');
  t.is(report.device?.model, 'HS-PLUG-01');
  t.true(report.requests > 0 && report.requests <= 400);
  t.regex(check(report, 'update').reason, /wrong key: key-unknown, tampered: digest-mismatch, again: version-not-newer, older: version-not-newer/);
  t.regex(check(report, 'brute-force').reason, /3 failures \(401\), then 429 locked with Retry-After 2 s/);
  // The relay forwarded to the unit's address and port, and nowhere else.
  const capture = (check(report, 'channel').evidence.at(-1) as { capture: { forwardedTo: string[]; connections: number } }).capture;
  t.deepEqual(capture.forwardedTo, [unit.url.replace('http://', '')]);
  t.true(capture.connections >= report.requests - 1);

  const dir = mkdtempSync(join(tmpdir(), 'hoshi-conform-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeConformReport(report, dir);
  const md = readFileSync(files.md, 'utf8');
  const saved = readFileSync(files.json, 'utf8');
  t.deepEqual(JSON.parse(saved), JSON.parse(JSON.stringify(report)));
  t.regex(md, /\| check \| criteria \| verdict \| reason \|/);
  t.regex(md, /\| brute-force \| S1\.1-04 \| pass \|/);
  t.regex(md, /not an evaluation by a lab/);
  const key = Buffer.from(unit.setupKey);
  for (const [what, text] of [
    ['the password', PASSWORD],
    ['the label\'s password', unit.sim.label!.defaultPassword],
    ['the setup key', unit.sim.label!.setupKey],
    ['the setup key (upper case)', unit.sim.label!.setupKey.toUpperCase()],
    ['the setup key in hex', key.toString('hex')],
    ['the setup key in base64', key.toString('base64').replace(/=+$/, '')],
    ['the setup access point\'s passphrase', unit.sim.label!.setupAp.passphrase],
  ] as const) {
    t.false(md.includes(text), 'conform.md holds ' + what);
    t.false(saved.includes(text), 'conform.json holds ' + what);
  }
});

test.serial('the env sensor after its first-use change passes every check too, its own update included', async (t) => {
  t.timeout(120000);
  const unit = await boot(envSensor, '127.77.21.5', { analog: { temperature: 0.07 } });
  t.teardown(() => unit.sim.stop());
  await firstUse(unit);
  const built = await buildPayload('env-sensor', 'host', { version: '0.2.0' });
  const fields = { vendor: envSensor.config.vendor, model: envSensor.config.model, runtime: 'host', board: 'host' };
  const pkg = createImagePackage({ ...fields, version: '0.2.0', counter: 1, app: built.app }, built.payload, KEY);
  const report = await runConform({ url: unit.url, password: PASSWORD, label: unit.sim.label!, model: 'HS-ENV-01', package: pkg, wipe: true, scan: scanControl(unit) });
  for (const c of report.checks) t.log(c.id + ': ' + c.verdict + ': ' + c.reason);
  const seen = verdicts(report);
  t.deepEqual(seen, { info: 'pass', 'auth-required': 'pass', 'default-password': 'pass', 'password-change': 'pass', 'brute-force': 'pass', update: 'pass', channel: 'pass', interfaces: unit.address === '127.0.0.1' ? seen.interfaces! : 'pass', wipe: 'pass' });
  t.is(report.device?.model, 'HS-ENV-01');
});

test.serial('a unit in its first-use state: the label\'s password reaches only the change (pass, said so); the password change needs a person', async (t) => {
  const unit = await boot(smartPlug, '127.77.21.2');
  t.teardown(() => unit.sim.stop());
  const report = await runConform({ url: unit.url, label: unit.sim.label!, checks: ['info', 'default-password', 'password-change', 'channel'] });
  for (const c of report.checks) t.log(c.id + ': ' + c.verdict + ': ' + c.reason);
  t.is(check(report, 'default-password').verdict, 'pass');
  t.regex(check(report, 'default-password').reason, /first-use state: the label's password logs in only to change it/);
  t.is(check(report, 'password-change').verdict, 'needs-human');
  t.regex(check(report, 'password-change').reason, /first-use state/);
  // A session of the label's password is a session: the admin channel is checked in it.
  t.is(check(report, 'channel').verdict, 'pass');
  t.is(check(report, 'wipe').verdict, 'needs-human');
  t.regex(check(report, 'wipe').reason, /not selected/);
});

test.serial('an image without the accounts module, whose product opened its control to work at all, fails auth-required; the login checks do not apply', async (t) => {
  // Without accounts the router refuses every non-public route by itself (firmware/device/router.ts):
  // such a product's non-conformity is the route it then declares public to be usable.
  let on = false;
  const openRelay: HoshiModule = {
    name: 'relay, open (test)',
    start: (context) => {
      context.route({ method: 'GET', path: '/api/relay', access: 'public', handler: (_q, reply) => reply(json(200, { on })) });
      context.route({ method: 'PUT', path: '/api/relay', access: 'public', handler: (_q, reply) => reply(json(200, { on: (on = !on) })) });
    },
  };
  const image = defineImage({ config: smartPlug.config, modules: [...smartPlug.modules.filter((m) => m.name !== 'accounts' && m.name !== 'relay'), openRelay] });
  const unit = await boot(image, '127.77.21.3');
  t.teardown(() => unit.sim.stop());
  const report = await runConform({ url: unit.url, password: unit.sim.label!.defaultPassword, label: unit.sim.label!, model: 'HS-PLUG-02', checks: ['info', 'auth-required', 'default-password', 'password-change', 'brute-force', 'channel'] });
  for (const c of report.checks) t.log(c.id + ': ' + c.verdict + ': ' + c.reason);
  t.is(check(report, 'info').verdict, 'fail');
  t.regex(check(report, 'info').reason, /the model shown is "HS-PLUG-01", not "HS-PLUG-02"/);
  t.is(check(report, 'auth-required').verdict, 'fail');
  t.regex(check(report, 'auth-required').reason, /reached a non-public route: PUT \/api\/relay \(200, no credentials\)/);
  for (const id of ['default-password', 'password-change', 'brute-force', 'channel'] as const) {
    t.is(check(report, id).verdict, 'not-applicable', id);
    t.regex(check(report, id).reason, /no login/, id);
  }
  t.is(await conformCommand([unit.url, '--checks', 'auth-required', '--max-requests', '100'], {}), 1, 'a failed check exits 1');
});

test.serial('an image with a listener it does not declare fails the interfaces check, naming the port', async (t) => {
  t.timeout(90000);
  let extra = 0;
  const rogue: HoshiModule = {
    name: 'rogue-listener (test)',
    start: (context) => {
      context.board.net.listen(0, () => ({ data: () => undefined, closed: () => undefined }), (server) => (extra = server.port()));
    },
  };
  const unit = await boot({ config: smartPlug.config, modules: [...smartPlug.modules, rogue] }, '127.77.21.4');
  t.teardown(() => unit.sim.stop());
  if (unit.address === '127.0.0.1') {
    t.log('this host cannot bind 127.77.21.4: on 127.0.0.1 an undeclared port needs a person, it cannot be told from other programs\'');
  }
  const report = await runConform({ url: unit.url, checks: ['info', 'interfaces'], scan: scanControl(unit) });
  const c = check(report, 'interfaces');
  t.log(c.verdict + ': ' + c.reason);
  t.true(extra > 0);
  t.is(c.verdict, unit.address === '127.0.0.1' ? 'needs-human' : 'fail');
  t.regex(c.reason, new RegExp('\\b' + extra + '\\b'));
  if (unit.address !== '127.0.0.1') t.regex(c.reason, /open TCP port\(s\) the unit does not declare/);
});

test('the probe stops when its request budget is spent, and the rest needs a person; likewise its time', async (t) => {
  const unit = await boot(smartPlug, '127.77.21.5');
  t.teardown(() => unit.sim.stop());
  const tiny = await runConform({ url: unit.url, maxRequests: 5, label: unit.sim.label! });
  for (const c of tiny.checks) t.log(c.id + ': ' + c.verdict + ': ' + c.reason);
  t.is(tiny.requests, 5);
  t.is(check(tiny, 'info').verdict, 'pass');
  for (const c of tiny.checks.filter((x) => x.id !== 'info')) {
    t.is(c.verdict, 'needs-human', c.id);
    t.regex(c.reason, /budget spent: 5 requests/, c.id);
  }
  const started = Date.now();
  const short = await runConform({ url: unit.url, maxSeconds: 1, label: unit.sim.label!, password: unit.sim.label!.defaultPassword, checks: ['info', 'auth-required', 'default-password', 'brute-force'] });
  const seconds = (Date.now() - started) / 1000;
  t.log(short.requests + ' requests in ' + seconds + ' s');
  t.true(seconds < 3, 'stopped near its second: ' + seconds);
  t.true(short.checks.some((c) => /budget spent: 1 s/.test(c.reason)));
});

test('the counting fetch reaches the relay\'s origin only and counts; outside a run, fetch is left alone; the relay forwards to its unit only', async (t) => {
  const unit = await boot(smartPlug, '127.77.21.6');
  t.teardown(() => unit.sim.stop());
  const target = new URL(unit.url);
  const relay = await startRelay(unit.address, Number(target.port));
  t.teardown(() => relay.close());
  const budget = boundedFetch(new URL(relay.url).origin, 2, Date.now() + 10000);
  await withBudget(budget, async () => {
    t.is((await fetch(relay.url + '/api/info')).status, 200);
    // The unit itself, not through the relay: refused (the probe reaches the unit only through it).
    await t.throwsAsync(fetch(unit.url + '/api/info'), { message: /is not the unit under test/ });
    await t.throwsAsync(fetch('http://127.0.0.2:9/'), { message: /is not the unit under test/ });
    t.is((await fetch(relay.url + '/api/relay')).status, 200);
    await t.throwsAsync(fetch(relay.url + '/api/info'), { message: /budget spent/ });
  });
  t.is(budget.requests, 2);
  t.is(budget.spent, 'requests');
  // Outside the run the global fetch is the platform's again.
  t.is((await fetch(unit.url + '/api/info')).status, 200);
  t.deepEqual(relay.connected, [unit.address + ':' + target.port, unit.address + ':' + target.port]);
  t.true(relay.streams()[0]!.up.toString('latin1').startsWith('GET /api/info HTTP/1.1'));
});

test('the probe\'s route table is the routes the examples serve, with their access', async (t) => {
  const plug = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096 });
  t.teardown(() => plug.stop());
  const sensor = await startSimulator({ image: envSensor, quiet: true, iterations: 4096, analog: { temperature: 0.07 } });
  t.teardown(() => sensor.stop());
  const served = new Map<string, string>();
  for (const r of [...plug.device.routes, ...sensor.device.routes]) served.set(r.method + ' ' + r.path, r.access);
  const table = new Map(HOSHI_ROUTES.map((r) => [r.method + ' ' + r.path, r.access as string]));
  t.deepEqual([...served.entries()].sort(), [...table.entries()].sort());
});

test('usage errors exit 2', async (t) => {
  const cases: [string[], NodeJS.ProcessEnv][] = [
    [[], {}],
    [['ftp://127.0.0.1:8080'], {}],
    [['https://127.0.0.1:8080'], {}],
    [['http://admin:pw@127.0.0.1:8080'], {}],
    [['http://127.0.0.1:8080/api/info'], {}],
    [['http://127.0.0.1:8080/?x=1'], {}],
    [['http://127.0.0.1:8080', 'http://127.0.0.1:8081'], {}],
    [['http://127.0.0.1:8080', '--bogus', 'x'], {}],
    [['http://127.0.0.1:8080', '--checks', 'info,nope'], {}],
    [['http://127.0.0.1:8080', '--max-requests', '0'], {}],
    [['http://127.0.0.1:8080', '--max-seconds', 'soon'], {}],
    [['http://127.0.0.1:8080', '--package', join(tmpdir(), 'no-such-package.hoshi')], {}],
    [['http://127.0.0.1:8080', '--label', join(tmpdir(), 'no-such-label.json')], {}],
    [['http://127.0.0.1:8080', '--route', 'FETCH /x'], {}],
    [['http://127.0.0.1:8080', '--scan-ports', '10-5'], {}],
    [['http://127.0.0.1:8080', '--model'], {}],
    [['http://192.168.4.1', '--scan-control', '127.0.0.9'], {}],
    [['http://127.0.0.1:8080', '--scan-control', '10.0.0.9'], {}],
    [['http://127.0.0.1:8080'], { HOSHI_SETUP_KEY: 'not-a-key' }],
  ];
  for (const [args, env] of cases) t.is(await conformCommand(args, env), 2, args.join(' ') + ' ' + JSON.stringify(env));
  t.is(await conformCommand(['--help'], {}), 0);
});

/**
 * Whatever answers at the URL is untrusted: a server that is no unit (garbage instead of JSON, an
 * answer that never ends, every route open, made-up fields) gets verdicts with reasons, never a pass
 * it did not earn, and never takes the probe's memory or time past its bounds.
 */
test('hostile answers: garbage, an endless body, every route open and lying fields end in verdicts with reasons, within the bounds', async (t) => {
  const { createServer: createHttpServer } = await import('node:http');
  const modes = ['garbage', 'endless', 'open', 'lying'] as const;
  for (const mode of modes) {
    const server = createHttpServer((req, res) => {
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': req.url === '/api/info' ? 'application/json' : 'text/html' });
        res.end(Buffer.from('{"model":\u0000\u00ff]]not json'.repeat(50), 'latin1'));
      } else if (mode === 'endless') {
        // 2 MB and on, until the client goes: the probe cuts it at 1 MB.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', more);
        };
        res.on('close', () => res.destroy());
        more();
      } else if (mode === 'open') {
        // No authentication anywhere: every route answers 200.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(req.url === '/api/info' ? JSON.stringify({ model: 'HS-PLUG-01', firmwareVersion: '0.1.0', status: { interfaces: 'tcp/80' } }) : '{"ok":true}');
      } else {
        // Fields of the wrong types, a login that answers nonsense, a Retry-After that is not a number.
        res.writeHead(req.url === '/api/info' ? 200 : 429, { 'content-type': 'application/json', 'retry-after': 'soon' });
        res.end(req.url === '/api/info' ? JSON.stringify({ model: 42, firmwareVersion: ['0', '1'], supportEnd: null, status: 'x'.repeat(5000) }) : '{"error":7,"reason":{"a":1}}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const started = Date.now();
    const label = { defaultPassword: 'label-password-1', setupKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAA' };
    const report = await runConform({ url: 'http://127.0.0.1:' + port, label, password: 'Juniper-otter 47 lantern', maxSeconds: 20, maxRequests: 300, maxWaitS: 1, checks: ['info', 'auth-required', 'default-password', 'password-change', 'brute-force', 'update', 'channel'] });
    server.closeAllConnections();
    server.close();
    const seconds = (Date.now() - started) / 1000;
    t.log(mode + ': ' + report.requests + ' requests, ' + seconds.toFixed(1) + ' s');
    for (const c of report.checks) t.log('  ' + c.id + ': ' + c.verdict + ': ' + c.reason.slice(0, 160));
    t.true(seconds < 25, mode + ': within its time');
    t.true(report.requests <= 300, mode + ': within its requests');
    for (const c of report.checks) t.true(c.reason.length > 0, mode + ' ' + c.id + ': a reason');
    // Nothing that is no unit passes the checks that need one.
    for (const id of ['default-password', 'password-change', 'brute-force', 'channel'] as const) t.not(check(report, id).verdict, 'pass', mode + ' ' + id);
    if (mode === 'open') t.is(check(report, 'auth-required').verdict, 'fail');
    if (mode === 'endless') t.true(JSON.stringify(report).length < 2 * 1024 * 1024, 'the report does not hold the endless answer');
    if (mode !== 'open') t.not(check(report, 'info').verdict, 'pass', mode + ' info');
  }
});

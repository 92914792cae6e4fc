import test from 'ava';
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import smartPlug from '../examples/smart-plug/image';
import { HOST_PARTITIONS } from '../boards/host/board';
import { ROOT } from '../firmware/host/build';
import { login } from '../firmware/host/client';
import { startSimulator } from '../firmware/host/simulator';
import { checkPin, verifyLog, type AuditReport } from '../firmware/host/audit-log';
import { json, type HoshiModule } from '../firmware/device/core/module';
import { defineImage } from '../firmware/device/image';
import { Audit } from '../modules/audit/format';
import { audit } from '../modules/audit';
import { accounts } from '../modules/accounts';
import { deviceInfo } from '../modules/device-info';
import { parseSetupKey } from '../modules/channel/setup';

/**
 * `hoshi log` end to end: a simulated unit whose image carries the security log (the smart plug's
 * configuration; device information, accounts, the log), the CLI in a process of its own fetching
 * the log page by page through the admin channel and verifying it; its verdict on an intact log, a
 * log whose flash was edited, a log started again, and across a wipe.
 */

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * The test's own admin routes: one that runs the modules' wipe tasks, as modules/wipe does (the
 * log's forget among them), one that records `n` events (a ring's worth in one request).
 */
const testRoutes: HoshiModule = {
  name: 'test-routes',
  start(context) {
    context.route({
      method: 'POST',
      path: '/api/test/wipe-tasks',
      access: 'admin',
      handler: (_q, reply) => {
        for (const task of context.wipeTasks) task();
        reply(json(200, { ok: true }));
      },
    });
    context.route({
      method: 'POST',
      path: '/api/test/events',
      access: 'admin',
      handler: (q, reply) => {
        const n = (JSON.parse(new TextDecoder().decode(q.body)) as { n: number }).n;
        for (let i = 0; i < n; i++) context.event('lockout', '192.168.7.' + (i % 250) + ' 300s');
        reply(json(200, { ok: true }));
      },
    });
  },
};

const image = defineImage({ config: smartPlug.config, modules: [deviceInfo(), accounts(), audit(), testRoutes] });

function run(env: { [k: string]: string }, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSHI_') && k !== 'XDG_CONFIG_HOME'));
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** Overwrites bytes of the unit's flash file, as someone with the flash in hand would. */
function poke(dir: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(join(dir, 'unit', 'flash.bin'), 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

const PASSWORD = 'amber-kettle-42-rowing';

test('hoshi log: fetches the whole log through the admin channel, verifies it, keeps the last entry; an edited flash, a log started again and a wipe', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sim = await startSimulator({ image, dir: join(dir, 'unit'), quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  const label = sim.label!;
  const labelFile = join(dir, 'unit', 'label.json');
  const config = join(dir, 'config');
  const env = { HOSHI_PASSWORD: PASSWORD, HOSHI_CONFIG_DIR: config };
  const pins = join(config, 'audit-pins.json');

  const usage = await run(env, 'log');
  t.is(usage.status, 2);
  t.regex(usage.stderr, /log: which device\?/);
  t.regex(usage.stderr, /hoshi log <device-url> \[--json\]/);

  const changed = await run({ ...env, HOSHI_PASSWORD: label.defaultPassword, HOSHI_NEW_PASSWORD: PASSWORD }, 'password', sim.url, '--iterations', '4096', '--label', labelFile);
  t.is(changed.status, 0, changed.stderr);

  // The first run: boot's own entry (recorded before the log opened) is there; the chain verifies.
  const first = await run(env, 'log', sim.url);
  t.is(first.status, 0, first.stderr);
  t.regex(first.stdout, /^ +1 {2}boot 1 .* {2}boot 0\.1\.0( A)?$/m);
  t.regex(first.stdout, /chain verified: \d+ entries, 1 to \d+ \(unit HS/);
  t.is(statSync(pins).mode & 0o777, 0o600);
  const pinned = JSON.parse(readFileSync(pins, 'utf8'))[label.serial] as { seq: number; mac: string };
  t.true(pinned.seq >= 1);

  // Two failed logins (a third would start the lockout's delays).
  for (let i = 0; i < 2; i++) t.is((await run({ ...env, HOSHI_PASSWORD: 'wrong-password-' + i }, 'login', sim.url)).status, 4);
  const second = await run(env, 'log', sim.url, '--json');
  t.is(second.status, 0, second.stderr);
  const report = JSON.parse(second.stdout) as AuditReport & { serial: string };
  t.true(report.ok);
  t.is(report.serial, label.serial);
  t.true(report.notes.some((n) => n === 'continues from entry ' + pinned.seq + ', verified at the last check'), report.notes.join(' | '));
  t.true(report.entries.every((e) => e.verified));

  // What GET /api/security says agrees with the log.
  const session = await login(sim.url, PASSWORD, parseSetupKey(label.setupKey)!);
  const security = await session.call('GET', '/api/security');
  t.is(security.status, 200);
  const failed = report.entries.filter((e) => e.kind === 'login-failed').length;
  t.like(security.body, { oldest: report.first, loginFailed: { sinceBoot: failed, lastHour: failed } });
  // (This login may have added its own entry.)
  t.true((security.body.newest as number) >= report.last! && security.body.entries === (security.body.newest as number) - report.first! + 1);
  // A request the route refuses, through the channel.
  const bad = await session.call('GET', '/api/log', { from: -1 });
  t.like(bad.body, { error: 'bad-log-request' });
  // More than the ring holds (4 sectors of 63 entries on the host): the oldest sectors are erased.
  t.is((await session.call('POST', '/api/test/events', { n: 300 })).status, 200);
  await session.logout();
  const wrapped = await run(env, 'log', sim.url, '--json');
  t.is(wrapped.status, 0, wrapped.stderr);
  const ring = JSON.parse(wrapped.stdout) as AuditReport;
  t.true(ring.ok);
  t.true(ring.entries.length >= 3 * 63 && ring.entries.length <= 4 * 63, String(ring.entries.length));
  t.true(ring.entries.every((e) => e.verified));
  t.true(ring.notes.some((n) => /^entries \d+–\d+ \(after entry \d+, verified at the last check\) are no longer kept: lost to the ring$/.test(n)), ring.notes.join(' | '));
  t.is(JSON.parse(readFileSync(pins, 'utf8'))[label.serial].seq, ring.last);

  // Someone edits an entry's text in the flash: the chain breaks there, the kept entry stays as it was.
  const slot1 = HOST_PARTITIONS.log.offset + 64;
  const before = readFileSync(join(dir, 'unit', 'flash.bin')).subarray(slot1, slot1 + 64);
  poke(dir, slot1 + Audit.TEXT_AT, utf8('B'));
  const kept = readFileSync(pins, 'utf8');
  const edited = await run(env, 'log', sim.url);
  t.is(edited.status, 5, edited.stderr);
  t.regex(edited.stdout, /BREAK \(edited\): entry \d+ does not authenticate/);
  t.regex(edited.stdout, /the chain is BROKEN: 1 break/);
  t.is(readFileSync(pins, 'utf8'), kept, 'a broken chain is not kept');
  poke(dir, slot1, new Uint8Array(before));
  const restored = await run(env, 'log', sim.url);
  t.is(restored.status, 0, restored.stdout + restored.stderr);

  // The wipe tasks: the log forgets, the chain goes on from its last entry through the wipe's anchor.
  const s2 = await login(sim.url, PASSWORD, parseSetupKey(label.setupKey)!);
  t.is((await s2.call('POST', '/api/test/wipe-tasks')).status, 200);
  const wiped = await run(env, 'log', sim.url, '--json');
  t.is(wiped.status, 0, wiped.stdout + wiped.stderr);
  const afterWipe = JSON.parse(wiped.stdout) as AuditReport;
  t.is(afterWipe.entries[0]!.kind, 'wipe');
  t.true(afterWipe.notes.some((n) => /no longer kept: a factory wipe erased them|continues from entry/.test(n)), afterWipe.notes.join(' | '));

  // The whole log partition erased and the unit restarted: a new log, which the kept entry shows up.
  poke(dir, HOST_PARTITIONS.log.offset, new Uint8Array(HOST_PARTITIONS.log.size).fill(0xff));
  await sim.reboot();
  const restarted = await run(env, 'log', sim.url);
  t.is(restarted.status, 5, restarted.stdout + restarted.stderr);
  t.regex(restarted.stdout, /BREAK \(rewritten\): /);
});

test('checkPin: the kept entry still there, just before the oldest, lost to the ring, or after the end', (t) => {
  const report = (first: number | null, last: number | null, anchor: string | null, macs: { [seq: number]: string } = {}, kind = 'boot'): AuditReport => ({
    ok: true,
    entries: first === null ? [] : Array.from({ length: last! - first + 1 }, (_, i) => ({ seq: first + i, boot: 1, uptime: 0, wallTime: null, kind: i === 0 ? kind : 'boot', detail: '', mac: macs[first + i] ?? 'ff', verified: true })),
    breaks: [],
    notes: [],
    anchor,
    first,
    last,
    lastMac: null,
  });
  t.regex(checkPin(report(5, 9, 'aa', { 7: 'ab' }), { seq: 7, mac: 'ab' }).note!, /continues from entry 7/);
  t.like(checkPin(report(5, 9, 'aa', { 7: 'ab' }), { seq: 7, mac: 'ac' }).break, { kind: 'rewritten', seq: 7 });
  t.regex(checkPin(report(5, 9, 'aa'), { seq: 4, mac: 'aa' }).note!, /oldest kept entry is anchored to it/);
  t.like(checkPin(report(5, 9, 'aa'), { seq: 4, mac: 'ab' }).break, { kind: 'rewritten' });
  t.regex(checkPin(report(50, 90, 'aa'), { seq: 4, mac: 'ab' }).note!, /entries 5–49 .* no longer kept: lost to the ring/);
  t.regex(checkPin(report(50, 90, 'aa', {}, 'wipe'), { seq: 4, mac: 'ab' }).note!, /a factory wipe erased them/);
  t.like(checkPin(report(1, 3, '00'), { seq: 40, mac: 'ab' }).break, { kind: 'rewritten', message: 'the log ends at entry 3, before entry 40 verified at the last check: entries were removed or the log started again' });
  t.like(checkPin(report(null, null, null), { seq: 40, mac: 'ab' }).break, { kind: 'rewritten' });
});

test('verifyLog never throws on what a device answers: slots of another size, counts that are not counts, garbage', (t) => {
  const key = new Uint8Array(32);
  const cases: (Uint8Array | number)[][] = [
    [new Uint8Array(3)],
    [-1, 0, 1.5, NaN, 1e9],
    [new Uint8Array(64).fill(0x48)],
    [Uint8Array.from({ length: 64 }, (_, i) => (i < 4 ? [0x48, 0x53, 0x4c, 0x47][i]! : i))],
    [new Uint8Array(64).fill(Audit.COMMIT)],
  ];
  for (const slots of cases) {
    const r = verifyLog({ key, anchor: new Uint8Array(16), from: 1, slots });
    t.false(r.ok && r.entries.length > 0 && r.entries.some((e) => e.verified));
  }
});

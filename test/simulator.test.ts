import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import image from '../examples/smart-plug/image';
import { buildImage, ROOT } from '../firmware/host/build';
import { startSimulator } from '../firmware/host/simulator';
import { parseProvisioning } from '../firmware/device/core/provisioning';
import { defineImage } from '../firmware/device/image';
import type { Board } from '../hal/board';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Sends raw bytes and returns the raw reply (the connection is closed by the device). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let reply = '';
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
  });
}

test('the simulator provisions a new unit and serves device info on 127.0.0.1', async (t) => {
  const sim = await startSimulator({ image, quiet: true });
  t.teardown(() => sim.stop());
  t.regex(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(sim.url + '/api/info');
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/json');
  const info = await res.json();
  t.like(info, { model: 'HS-PLUG-01', hardwareRevision: 'A', firmwareVersion: '0.1.0', provisioned: true, supportEnd: '2031-12-31' });
  t.regex(info.serial, /^HS[0-9A-Z]{12}$/);
  t.is(sim.device.serial, info.serial);
});

test('a second start on the same flash file finds the same unit', async (t) => {
  const dir = tempDir(t);
  const first = await startSimulator({ image, dir, quiet: true });
  const serial = first.device.serial;
  first.stop();
  const second = await startSimulator({ image, dir, quiet: true });
  t.teardown(() => second.stop());
  t.is(second.device.serial, serial);
  t.true(parseProvisioning(readFileSync(join(dir, 'flash.bin')).subarray(0, 4096)).ok);
  // The flash holds the device secret: owner-only, also when an older file was created readable.
  t.is(statSync(join(dir, 'flash.bin')).mode & 0o777, 0o600);
  second.stop();
  chmodSync(join(dir, 'flash.bin'), 0o644);
  const third = await startSimulator({ image, dir, quiet: true });
  third.stop();
  t.is(statSync(join(dir, 'flash.bin')).mode & 0o777, 0o600);
});

test('reboot rebuilds the device from the same flash; a power cut kills every flash access until then', async (t) => {
  const sim = await startSimulator({ image, quiet: true });
  t.teardown(() => sim.stop());
  const serial = sim.device.serial;
  sim.flash.cut();
  t.throws(() => sim.device && sim.flash.read(0, 1), { name: 'PowerCutError' });
  await sim.reboot();
  t.is(sim.boots, 2);
  t.is(sim.device.serial, serial);
  t.is((await fetch(sim.url + '/api/info')).status, 200);
});

test('a unit without a provisioning record boots unprovisioned and says why', async (t) => {
  const sim = await startSimulator({ image, quiet: true, provision: false });
  t.teardown(() => sim.stop());
  t.false(sim.device.provisioned);
  t.is(sim.device.provisioningProblem, 'erased');
  const info = await (await fetch(sim.url + '/api/info')).json();
  t.like(info, { provisioned: false, serial: null });
});

test('hostile requests get specific errors and the device keeps serving', async (t) => {
  const sim = await startSimulator({ image, quiet: true });
  t.teardown(() => sim.stop());
  const url = sim.url;
  const port = sim.device.port();
  const notFound = await fetch(url + '/admin');
  t.is(notFound.status, 404);
  t.like(await notFound.json(), { error: 'not-found' });
  const wrongMethod = await fetch(url + '/api/info', { method: 'DELETE' });
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'GET, HEAD');
  const big = await fetch(url + '/api/info', { method: 'POST', body: new Uint8Array(5000) });
  t.is(big.status, 413);
  t.regex(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
  t.regex(await raw(port, 'GET /api/info HTTP/1.1\r\nX: ' + 'a'.repeat(5000) + '\r\n\r\n'), /^HTTP\/1\.1 431/);
  // The route is decided from the head: a POST to a GET route is refused before its body is read.
  t.regex(await raw(port, 'POST /api/info HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n' + 'a'.repeat(8192) + '\r\n0\r\n\r\n'), /^HTTP\/1\.1 405/);
  t.regex(await raw(port, 'PUT /api/relay HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n' + 'a'.repeat(8192) + '\r\n0\r\n\r\n'), /^HTTP\/1\.1 401/);
  t.is((await fetch(url + '/api/info')).status, 200);
});

test('the host bundle runs with node, serves device info and stops on Ctrl+C', async (t) => {
  const built = await buildImage('smart-plug', 'host');
  const dir = tempDir(t);
  const child = spawn(process.execPath, [built.file, '--dir', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /device info: (http:\/\/127\.0\.0\.1:\d+)\/api\/info/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error('exited ' + code + ': ' + out)));
  });
  const info = await (await fetch(url + '/api/info')).json();
  t.like(info, { model: 'HS-PLUG-01', firmwareVersion: '0.1.0', provisioned: true });
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGINT');
  t.is(await exit, 0);
});

test.serial('a periodic task that throws is reported and runs again at its next period; the device keeps serving', async (t) => {
  let runs = 0;
  const logged: string[] = [];
  const flaky = defineImage({
    config: image.config,
    modules: [{ name: 'flaky', start: (context) => context.every(20, () => {
      runs++;
      if (runs % 2 === 1) throw new Error('sensor glitch ' + runs);
    }) }],
  });
  const log = console.log;
  console.log = (...args: unknown[]) => void logged.push(args.join(' '));
  try {
    // Not quiet: the simulator's quiet mode replaces console.log, and this test reads it.
    const sim = await startSimulator({ image: flaky });
    t.teardown(() => sim.stop());
    await new Promise((r) => setTimeout(r, 200));
    t.true(runs >= 4, `${runs} runs`);
    t.true(logged.some((l) => l.includes('task-failed: sensor glitch 1')), logged.join('\n'));
    t.true(logged.some((l) => l.includes('task-failed: sensor glitch 3')));
    // The image has no routes: the server still answers, with the one error shape.
    t.like(await (await fetch(sim.url + '/api/info')).json(), { error: 'not-found' });
  } finally {
    console.log = log;
  }
});

test.serial('a boot that fails after a module set a periodic task going leaves no task running (firmware/device/boot.ts)', async (t) => {
  let runs = 0;
  const failing = defineImage({
    config: image.config,
    modules: [
      { name: 'ticker', start: (context) => context.every(10, () => void runs++) },
      { name: 'broken', start: () => {
        throw new Error('broken at start');
      } },
    ],
  });
  await t.throwsAsync(startSimulator({ image: failing, quiet: true }), { message: /broken at start/ });
  const seen = runs;
  await new Promise((r) => setTimeout(r, 100));
  t.is(runs, seen, 'the task set going before the failure no longer runs');
});

test('modules see the provisioning partition read-only', async (t) => {
  let seen: Board | undefined;
  const probe = defineImage({ config: image.config, modules: [{ name: 'probe', start: (context) => void (seen = context.board) }] });
  const sim = await startSimulator({ image: probe, quiet: true });
  t.teardown(() => sim.stop());
  t.throws(() => seen!.partitions.provisioning.erase(0, 4096), { message: /read-only/ });
  t.throws(() => seen!.partitions.provisioning.write(0, new Uint8Array(256)), { message: /read-only/ });
  t.true(parseProvisioning(seen!.partitions.provisioning.read(0, 4096)).ok);
});

test('a port already in use is a clear error, not a crash', async (t) => {
  const first = await startSimulator({ image, quiet: true });
  t.teardown(() => first.stop());
  await t.throwsAsync(startSimulator({ image, quiet: true, port: first.device.port() }), { message: /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/ });
});

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../firmware/host/build';
import { parseProvisioning } from '../firmware/device/core/provisioning';

function hoshi(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('hoshi provision --out writes one unit record the device parser accepts', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'unit.secret.bin');
  const run = hoshi('provision', '--out', file, '--serial', 'HSTEST0001', '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(run.status, 0, run.stderr);
  const bytes = readFileSync(file);
  t.is(bytes.length % 256, 0);
  t.is(statSync(file).mode & 0o777, 0o600);
  const parsed = parseProvisioning(new Uint8Array(bytes));
  t.true(parsed.ok);
  t.is(parsed.ok && parsed.record.serial, 'HSTEST0001');
});

test('hoshi provision --sim refuses a unit that is already provisioned', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is(hoshi('provision', '--sim', dir, '--model', 'HS-PLUG-01', '--iterations', '4096').status, 0);
  const again = hoshi('provision', '--sim', dir, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(again.status, 1);
  t.regex(again.stderr, /already provisioned/);
});

test('hoshi build refuses unknown targets and examples with a usage message', (t) => {
  const bad = hoshi('build', 'smart-plug', '--target', 'arduino');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--target must be one of kaluma, espruino, host/);
  const missing = hoshi('build', 'no-such-example', '--target', 'kaluma');
  t.is(missing.status, 1);
  t.regex(missing.stderr, /example no-such-example: cannot read/);
});

test('hoshi build reports size and the profile check for a device target', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'hoshi-cli-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = hoshi('build', 'smart-plug', '--target', 'espruino', '--out', out);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /app\.js: \d+ bytes, \d+ gzipped \(board espruino-esp32\)/);
  t.regex(run.stdout, /inside the espruino profile/);
  t.true(statSync(join(out, 'smart-plug/espruino/app.js.map')).size > 0);
});

import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import smartPlug from '../examples/smart-plug/image';
import { ROOT } from '../firmware/host/build';
import { parseProvisioning } from '../firmware/device/core/provisioning';
import { startSimulator, SIM_HOME_NETWORK, type Simulator } from '../firmware/host/simulator';
import { base32Encode, parseSetupKey } from '../modules/channel/setup';

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
  t.is(parsed.ok && bytes[4], 3, 'version 3');
  t.is(parsed.ok && parsed.record.setupKey?.length, 16, 'with a setup key');
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

/**
 * Runs the CLI asynchronously (the simulator in this process answers meanwhile) with `env` added
 * to the caller's environment without its HOSHI_ variables: every run names its HOSHI_CONFIG_DIR,
 * so none reads or writes the user's own kept setup keys.
 */
function run(env: { [k: string]: string }, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSHI_') && k !== 'XDG_CONFIG_HOME'));
  if (!env.HOSHI_CONFIG_DIR) throw new Error('a run needs its own HOSHI_CONFIG_DIR');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** A simulated smart plug with its label in DIR/label.json, and a folder for the CLI's kept keys. */
async function unit(t: { teardown(fn: () => void): void }): Promise<{ sim: Simulator; labelFile: string; home: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sim = await startSimulator({ image: smartPlug, dir: join(dir, 'unit'), quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  return { sim, labelFile: join(dir, 'unit', 'label.json'), home: dir };
}

const LOGGED_IN = 'logged in: access admin, session idle limit 900 s, admin channel version 1\n';

test('hoshi login --label FILE: the setup key from the label record, kept for the device (mode 0600); the next run needs no key', async (t) => {
  const { sim, labelFile, home } = await unit(t);
  const label = sim.label!;
  const config = join(home, 'config', 'hoshi');
  const env = { HOSHI_PASSWORD: label.defaultPassword, HOSHI_CONFIG_DIR: config };
  const first = await run(env, 'login', sim.url, '--label', labelFile);
  t.is(first.status, 0, first.stderr);
  t.is(first.stdout, LOGGED_IN);
  t.regex(first.stderr, /mustChange: true \(the default password is in force/);
  for (const secret of [label.defaultPassword, label.setupKey, label.setupAp.passphrase]) t.false(first.stdout.includes(secret) || first.stderr.includes(secret), 'nothing secret is printed');
  const kept = join(config, 'setup-keys.json');
  t.is(statSync(kept).mode & 0o777, 0o600);
  t.is(statSync(config).mode & 0o777, 0o700);
  t.deepEqual(JSON.parse(readFileSync(kept, 'utf8')), { [label.serial]: label.setupKey }, 'kept for the unit\'s serial (every unit in setup mode answers at the same address)');
  // The kept key alone: no --label, no HOSHI_SETUP_KEY, no terminal.
  const again = await run(env, 'login', sim.url);
  t.is(again.status, 0, again.stderr);
  t.is(again.stdout, LOGGED_IN);
  // Another unit (another serial) has no kept key: without a terminal the run says what to set.
  const { sim: sim2 } = await unit(t);
  const other = await run({ ...env, HOSHI_PASSWORD: sim2.label!.defaultPassword }, 'login', sim2.url);
  t.is(other.status, 1);
  t.regex(other.stderr, /set HOSHI_SETUP_KEY/);
  // A key that fails its login is not kept.
  const wrong = await run({ ...env, HOSHI_PASSWORD: sim2.label!.defaultPassword, HOSHI_SETUP_KEY: label.setupKey }, 'login', sim2.url);
  t.is(wrong.status, 4, wrong.stderr);
  t.deepEqual(Object.keys(JSON.parse(readFileSync(kept, 'utf8'))), [label.serial], 'a key that did not log in is not kept');
});

test('hoshi login: HOSHI_SETUP_KEY as printed on the label (groups of five, any case) is accepted and kept as the label spells it', async (t) => {
  const { sim, home } = await unit(t);
  const label = sim.label!;
  const config = join(home, 'config');
  const typed = label.setupKey.replace(/(.{5})(?=.)/g, '$1-').toUpperCase();
  const ok = await run({ HOSHI_PASSWORD: label.defaultPassword, HOSHI_SETUP_KEY: typed, HOSHI_CONFIG_DIR: config }, 'login', sim.url);
  t.is(ok.status, 0, ok.stderr);
  t.is(ok.stdout, LOGGED_IN);
  const kept = join(config, 'setup-keys.json');
  t.is(statSync(kept).mode & 0o777, 0o600);
  t.deepEqual(JSON.parse(readFileSync(kept, 'utf8')), { [label.serial]: label.setupKey }, 'kept for the unit\'s serial (every unit in setup mode answers at the same address)');
});

test('hoshi login: a missing, malformed or wrong setup key, a label without one and an unreadable kept file are refused with a reason', async (t) => {
  const { sim, labelFile, home } = await unit(t);
  const label = sim.label!;
  const config = (name: string): string => join(home, name);
  const env = (name: string, more: { [k: string]: string } = {}) => ({ HOSHI_PASSWORD: label.defaultPassword, HOSHI_CONFIG_DIR: config(name), ...more });
  const none = await run(env('none'), 'login', sim.url);
  t.is(none.status, 1);
  t.regex(none.stderr, /no terminal to ask for the setup key .*: set HOSHI_SETUP_KEY/);
  t.false(existsSync(join(config('none'), 'setup-keys.json')), 'nothing kept');
  const another = base32Encode(new Uint8Array(16).map((_, i) => i * 17 + 3));
  for (const bad of ['abcd', label.setupKey + 'a', label.setupKey.slice(0, 25) + '1', another]) {
    const x = await run(env('bad', { HOSHI_SETUP_KEY: bad }), 'login', sim.url);
    if (parseSetupKey(bad)) {
      // Well-formed but another key (padding bits zero): the login fails as a wrong password does.
      t.is(x.status, 4, bad);
      t.regex(x.stderr, /login failed/);
    } else {
      t.is(x.status, 1, bad);
      t.regex(x.stderr, /26 base32 characters/, bad);
    }
  }
  // A label record of version 2 (no setup key).
  const old = join(home, 'old-label.json');
  const { setupKey: _k, setupAp: _a, ...v2 } = JSON.parse(readFileSync(labelFile, 'utf8'));
  writeFileSync(old, JSON.stringify(v2));
  const noKey = await run(env('old'), 'login', sim.url, '--label', old);
  t.is(noKey.status, 1);
  t.regex(noKey.stderr, /holds no setupKey/);
  // A kept file that is not JSON is left alone, and said so.
  const broken = config('broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'setup-keys.json'), '{not json');
  const unreadable = await run(env('broken', { HOSHI_SETUP_KEY: label.setupKey }), 'login', sim.url);
  t.is(unreadable.status, 1);
  t.regex(unreadable.stderr, /setup-keys\.json is not JSON/);
  t.is(readFileSync(join(broken, 'setup-keys.json'), 'utf8'), '{not json');
  // The right key still works (one counted failure above: no wait yet).
  t.is((await run(env('good', { HOSHI_SETUP_KEY: label.setupKey }), 'login', sim.url)).status, 0);
});

test('hoshi wifi: usage, the forced change first, then the state and new credentials through the admin channel', async (t) => {
  const { sim, labelFile, home } = await unit(t);
  const label = sim.label!;
  const env = { HOSHI_PASSWORD: label.defaultPassword, HOSHI_CONFIG_DIR: join(home, 'config') };
  const usage = await run(env, 'wifi');
  t.is(usage.status, 2);
  t.regex(usage.stderr, /wifi: which device\?/);
  t.regex(usage.stderr, /hoshi wifi <device-url> \[--ssid SSID\]/);
  const forced = await run(env, 'wifi', sim.url, '--label', labelFile);
  t.is(forced.status, 1);
  t.regex(forced.stderr, /403 password-change-required/);
  const changed = await run({ ...env, HOSHI_NEW_PASSWORD: 'amber-kettle-42-rowing', HOSHI_PASSWORD: label.defaultPassword }, 'password', sim.url, '--iterations', '4096');
  t.is(changed.status, 0, changed.stderr);
  const after = { ...env, HOSHI_PASSWORD: 'amber-kettle-42-rowing' };
  const state = await run(after, 'wifi', sim.url);
  t.is(state.status, 0, state.stderr);
  t.like(JSON.parse(state.stdout), { ssid: null, joined: false });
  const set = await run({ ...after, HOSHI_WIFI_PASSPHRASE: SIM_HOME_NETWORK.passphrase }, 'wifi', sim.url, '--ssid', SIM_HOME_NETWORK.ssid);
  t.is(set.status, 0, set.stderr);
  t.like(JSON.parse(set.stdout), { ssid: SIM_HOME_NETWORK.ssid });
  t.false(set.stdout.includes(SIM_HOME_NETWORK.passphrase) || set.stderr.includes(SIM_HOME_NETWORK.passphrase), 'the passphrase is not printed');
  const bad = await run({ ...after, HOSHI_WIFI_PASSPHRASE: 'short' }, 'wifi', sim.url, '--ssid', 'Home');
  t.is(bad.status, 1);
  t.regex(bad.stderr, /400 bad-credentials/);
});

test('hoshi pull: the release URL and automatic installs read and set through the admin channel; --check asks for a check at once; usage errors', async (t) => {
  const { sim, labelFile, home } = await unit(t);
  const label = sim.label!;
  const env = { HOSHI_PASSWORD: label.defaultPassword, HOSHI_CONFIG_DIR: join(home, 'config') };
  const changed = await run({ ...env, HOSHI_NEW_PASSWORD: 'amber-kettle-42-rowing' }, 'password', sim.url, '--iterations', '4096', '--label', labelFile);
  t.is(changed.status, 0, changed.stderr);
  const after = { ...env, HOSHI_PASSWORD: 'amber-kettle-42-rowing' };
  const read = await run(after, 'pull', sim.url);
  t.is(read.status, 0, read.stderr);
  t.deepEqual(Object.keys(JSON.parse(read.stdout)).sort(), ['auto', 'url']);
  const set = await run(after, 'pull', sim.url, '--url', 'http://127.0.0.1:9/hoshi/latest.cose', '--auto', 'off');
  t.is(set.status, 0, set.stderr);
  t.deepEqual(JSON.parse(set.stdout), { auto: false, url: 'http://127.0.0.1:9/hoshi/latest.cose' });
  const none = await run(after, 'pull', sim.url, '--no-url', '--check');
  t.is(none.status, 0, none.stderr);
  const [settings, check] = none.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(settings, { auto: false, url: null });
  t.like(check, { status: 409, error: 'no-release-url' });
  t.is((await run(after, 'pull', sim.url, '--auto', 'maybe')).status, 2);
  t.is((await run(after, 'pull', sim.url, '--url', 'https://example.com/latest.cose')).status, 2, 'the device has no TLS client');
});

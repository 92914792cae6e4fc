import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { SIM_HOME_NETWORK, startSimulator } from '../firmware/host/simulator';
import { checkPassword } from '../modules/accounts/policy';
import { adminPage } from '../modules/admin-page';
import { bloomCheck } from '../modules/admin-page/page';
import smartPlug from '../examples/smart-plug/image';
import envSensor from '../examples/env-sensor/image';
import type { Image } from '../firmware/device/image';
import { fileBacking, openSimFlash, PICO_GEOMETRY } from '../boards/host/flash';
import { HOST_FLASH_SIZE, HOST_PARTITIONS } from '../boards/host/board';
import { partition } from '../hal/flash';
import { encodeProvisioning, newProvisioningRecord, writeProvisioning } from '../firmware/host/provision';
import { unitLabel, type LabelRecord } from '../firmware/host/labels';
import { buildPayload } from '../firmware/host/payload';
import { createImagePackage, type SigningKey } from '../firmware/host/update/package';
import { newSigningKey } from '../firmware/host/update/keys';
import { createServer, type AddressInfo } from 'node:net';

/**
 * The admin page in a real browser: Debian's headless Chromium (installed by
 * test/ensure-packages.mjs before `npm test` runs ava) drives the page that a simulated
 * smart plug serves from its assets partition, through the whole first-use flow of
 * docs/accounts.md: the label's setup URL (the setup key in its fragment) on the unit's setup
 * access point → label password → forced change (a weak password refused with its reason, the
 * device's own refusal shown) → the new password → the home network's Wi-Fi credentials → joined,
 * the access point closed → the relay → log out (the old token is dead). Every request after login
 * goes through the admin channel (docs/formats/channel.md): the test watches the wire.
 */

const CHROMIUM = '/usr/bin/chromium';

/** An example as it ships, with the admin page (added here if the example does not list it). */
function withPage(example: Image): Image {
  return example.modules.some((m) => m.name === 'admin-page') ? example : { ...example, modules: [...example.modules, adminPage()] };
}
const image = withPage(smartPlug);

/** A password the policy accepts for this unit, from the CSPRNG (never printed). */
async function newPassword(url: string, identity: string[]): Promise<string> {
  const common = await deviceFilter(url);
  const alphabet = 'ACEFHJKMNPRTWXYacefhjkmnprtwxy3479!#%+';
  for (;;) {
    let s = '';
    for (const b of randomBytes(16)) s += alphabet[b % alphabet.length];
    if (!checkPassword(s, { minLength: 8, identity, common })) return s;
  }
}

/**
 * The device's common-password filter, as the page fetches it (4 KB ranges): a random password
 * is a false positive of the filter about once in a hundred, and the page then refuses it.
 */
async function deviceFilter(url: string): Promise<(lowerCase: string) => boolean> {
  const slice = async (a: number, b: number) => {
    const res = await fetch(url + '/api/password/common', { headers: { Range: `bytes=${a}-${b}` } });
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    if (res.status !== 206 || !total) throw new Error('no filter slice: ' + res.status);
    return { total: Number(total[1]), bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  const { total } = await slice(0, 0);
  const filter = new Uint8Array(total);
  for (let at = 0; at < total; at += 4096) filter.set((await slice(at, Math.min(total, at + 4096) - 1)).bytes, at);
  const check = bloomCheck(filter);
  if (!check) throw new Error('the device served no Bloom filter');
  return check;
}

/** Chromium is installed by `npm test` before ava starts; a test run alone says how to get it. */
function haveChromium(t: ExecutionContext): boolean {
  if (!existsSync(CHROMIUM)) t.fail(CHROMIUM + ' is missing: run `node test/ensure-packages.mjs` (npm test does)');
  return existsSync(CHROMIUM);
}

async function text(page: Page, id: string): Promise<string> {
  return (await page.locator('#' + id).textContent()) ?? '';
}

/** A page in a fresh Chromium (its own new profile), closed and removed when the test ends. */
async function openPage(t: ExecutionContext): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), 'hoshi-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(20000);
  return page;
}

test('first use in Chromium: setup URL, label password, forced change, Wi-Fi, relay, log out', async (t) => {
  if (!haveChromium(t)) return;
  const started = Date.now();
  const sim = await startSimulator({ image, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  const label = sim.label!;
  t.truthy(label && label.defaultPassword, 'the simulator provisioned the unit and kept its label');
  // A unit without Wi-Fi credentials: its setup access point is open, WPA2 with the label's passphrase.
  t.deepEqual(sim.wifi.ap(), { ssid: label.setupAp.ssid, open: true });
  t.false(sim.wifi.joinAp(label.setupAp.passphrase + 'x'));
  t.true(sim.wifi.joinAp(label.setupAp.passphrase), 'the phone joins the setup access point with the label\'s passphrase');

  const page = await openPage(t);

  // What the page does on the wire: one request at a time, the tokens it presents, and what it
  // sends and receives after login (the admin channel's messages only).
  const problems: string[] = [];
  const tokens: string[] = [];
  const wire: { url: string; method: string; type: string; body: string; header: string }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  page.on('console', (m) => {
    // Chromium logs every answer that is not 2xx; the flow expects some (401, 404, 422).
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|404|422) /.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    const h = r.headers();
    const auth = h['authorization'];
    if (auth && !tokens.includes(auth)) tokens.push(auth);
    const body = r.postDataBuffer();
    wire.push({ url: r.url(), method: r.method(), type: h['content-type'] ?? '', body: body ? body.toString('latin1') : '', header: h['hoshi-channel'] ?? '' });
  });
  const done = (): void => {
    inFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);

  // The label's QR code: the setup URL with the setup key in its fragment (here at the simulator's address).
  t.regex(label.setupUrl, /#k=[a-z2-7]{26}$/);
  const response = await page.goto(sim.url + '/' + label.setupUrl.slice(label.setupUrl.indexOf('#')));
  t.is(response!.status(), 200);
  const headers = await response!.allHeaders();
  t.is(headers['content-encoding'], 'gzip');
  t.is(headers['content-type'], 'text/html; charset=utf-8');
  t.regex(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);

  // Device information, then the login form; the setup key is kept and gone from the address bar.
  await page.getByLabel('Administrator password').waitFor();
  t.is(new URL(page.url()).hash, '', 'the fragment is removed from the address');
  t.is(await page.evaluate(() => localStorage.getItem('hoshi.setupKey')), label.setupKey);
  t.true(await page.locator('#key-field').isHidden(), 'no setup key to type: the URL gave it');
  t.false(wire.some((w) => w.url.includes('#') || w.url.includes(label.setupKey)), 'the setup key never goes on the wire');
  t.is(await text(page, 'model'), 'HS-PLUG-01');
  t.is(await text(page, 'serial'), label.serial);
  t.is(await text(page, 'firmware'), smartPlug.config.firmwareVersion);
  t.is(await text(page, 'support'), smartPlug.config.supportEnd);
  t.is(await text(page, 'hwrev'), smartPlug.config.hardwareRevision);
  t.is(await page.locator('#disclosure').getAttribute('href'), smartPlug.config.vulnerabilityDisclosureUrl, 'the disclosure policy, linked');

  // A wrong password: the device's refusal is shown.
  await page.getByLabel('Administrator password').fill(label.defaultPassword + 'x');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#error').filter({ hasText: /\S/ }).waitFor();
  t.regex(await text(page, 'status'), /Not logged in/);

  // The label password: the forced change.
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  const fresh = page.getByLabel('New password', { exact: true });
  const again = page.getByLabel('New password again');
  const change = page.getByRole('button', { name: 'Change password' });
  await fresh.waitFor();

  // Weak passwords are refused as they are typed, with the policy's reason.
  await fresh.fill('abc');
  t.regex(await text(page, 'rules'), /at least 8 characters/);
  t.true(await change.isDisabled());
  await fresh.fill('password1');
  await again.fill('password1');
  t.regex(await text(page, 'rules'), /commonly used passwords/, 'the common-password filter the device serves');
  t.true(await change.isDisabled());
  // The page cannot know the label password; the device refuses it with its reason.
  await fresh.fill(label.defaultPassword);
  await again.fill(label.defaultPassword);
  t.false(await change.isDisabled());
  await change.click();
  await page.locator('#error').filter({ hasText: /default password/ }).waitFor();

  // A good one: accepted, and the page logs in again with it.
  const password = await newPassword(sim.url, [label.model, label.serial, smartPlug.config.vendor]);
  await fresh.fill(password);
  await again.fill('not the same');
  t.regex(await text(page, 'rules'), /same password/);
  await again.fill(password);
  t.regex(await text(page, 'rules'), /meets the policy/);
  await change.click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  t.regex(await text(page, 'status'), /Logged in/);

  // The home network: its credentials through the admin channel; the unit joins, then closes its
  // setup access point.
  await page.locator('#wifi').waitFor();
  t.regex(await text(page, 'wifi-state'), /no network set; setup network .* open/);
  await page.getByLabel('Network name').fill(SIM_HOME_NETWORK.ssid);
  await page.getByLabel('Network password').fill(SIM_HOME_NETWORK.passphrase);
  await page.getByRole('button', { name: 'Join this network' }).click();
  await page.locator('#status').filter({ hasText: /joining/ }).waitFor();
  t.is(await page.getByLabel('Network password').inputValue(), '', 'the passphrase field is cleared');
  for (let i = 0; i < 100 && sim.wifi.joined() !== SIM_HOME_NETWORK.ssid; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(sim.wifi.joined(), SIM_HOME_NETWORK.ssid, 'the unit joined the home network');
  for (let i = 0; i < 300 && sim.wifi.ap()!.open; i++) await new Promise((r) => setTimeout(r, 50));
  t.false(sim.wifi.ap()!.open, 'and closed its setup access point');

  // The relay: off, then on.
  t.is(await text(page, 'relay-state'), 'off');
  t.true(await page.locator('#reading').isHidden(), 'the plug has no sensor: GET /api/reading is 404');
  await page.getByRole('button', { name: 'Switch on' }).click();
  await page.getByRole('button', { name: 'Switch off' }).waitFor();
  t.is(await text(page, 'relay-state'), 'on');
  t.deepEqual(await (await fetch(sim.url + '/api/relay')).json(), { on: true });
  t.true(sim.io.outputs['relay']);

  // The wire: every request to a non-public route carried a protected message, nothing secret in clear.
  const publicPath = (u: string): boolean => ['/', '/api/info', '/api/login', '/api/password/policy', '/api/password/common', '/api/relay', '/api/reading'].includes(new URL(u).pathname);
  // (GET /api/relay and GET /api/reading are public: their state is shown without a login.)
  const admin = wire.filter((w) => !publicPath(w.url) || (w.method !== 'GET' && new URL(w.url).pathname === '/api/relay'));
  t.true(admin.length >= 5, 'session, password, Wi-Fi, relay');
  for (const w of admin) {
    if (w.method === 'GET') t.regex(w.header, /^[A-Za-z0-9+/]+=*$/, w.url + ': the protected request in the Hoshi-Channel header');
    else {
      t.is(w.type, 'application/cose; cose-type="cose-encrypt0"', w.url);
      t.is(w.body.charCodeAt(0), 0xd0, w.url + ': a COSE_Encrypt0');
    }
  }
  const everything = wire.map((w) => w.url + w.body + w.header).join('\n');
  for (const secret of [password, label.defaultPassword, SIM_HOME_NETWORK.passphrase, label.setupKey]) t.false(everything.includes(secret), 'no secret on the wire in clear');

  // Log out: the token the page held is dead. (A plain request with it is refused either way:
  // alive, by the channel; after logout, as unauthenticated.)
  const token = tokens[tokens.length - 1]!;
  t.regex(token, /^Bearer \S+$/);
  t.is((await fetch(sim.url + '/api/session', { headers: { Authorization: token } })).status, 400);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Administrator password').waitFor();
  t.regex(await text(page, 'status'), /Logged out/);
  t.is((await fetch(sim.url + '/api/session', { headers: { Authorization: token } })).status, 401);

  // The new password logs in; the relay is still on.
  await page.getByLabel('Administrator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Switch off' }).waitFor();
  t.is(await text(page, 'relay-state'), 'on');

  // The security section: the one wrong password of this flow, and the log's last entries.
  await page.locator('#security').waitFor();
  t.regex(await text(page, 'security-state'), /Failed logins: 1 in the last hour, 1 since the restart \(last: 127\.0\.0\.1 1\)/);
  const entries = await text(page, 'log');
  t.regex(entries, /#\d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: login 127\.0\.0\.1/);
  t.regex(entries, /login-failed 127\.0\.0\.1 1#/);
  t.regex(entries, /password 127\.0\.0\.1/);
  t.false(entries.includes(password), 'no password in the log');

  // The factory wipe from the page: refused unconfirmed, then done; the unit restarts with the
  // label's password, the forced change and its setup access point again.
  await page.getByRole('button', { name: 'Wipe and restart' }).click();
  t.true(sim.wifi.ap()?.open === false, 'an unticked box sends nothing');
  await page.getByLabel('Delete everything I set on this device').check();
  const restarted = sim.nextBoot();
  await page.getByRole('button', { name: 'Wipe and restart' }).click();
  await restarted;
  await page.locator('#status').filter({ hasText: /Wiped/ }).waitFor({ timeout: 20000 });
  await page.getByLabel('Administrator password').waitFor();
  t.true(sim.wifi.ap()?.open, 'the setup access point is open again');
  t.is(sim.wifi.joined(), null, 'the home network is forgotten');
  t.false(sim.io.outputs['relay'] === true, 'the relay is off');
  await page.getByLabel('Administrator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#error').filter({ hasText: /\S/ }).waitFor();
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('New password', { exact: true }).waitFor();
  t.regex(await text(page, 'status'), /new password|choose/i, 'the first-use flow again');

  t.is(mostInFlight, 1, 'the page never has two requests in flight');
  t.deepEqual(problems, [], 'no script error, no CSP violation');

  // The page's Content-Security-Policy: a script injected into it does not run.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'document.body.dataset.injected = "yes"';
    document.body.appendChild(s);
    return document.body.dataset.injected === 'yes';
  });
  t.false(ran, 'an injected inline script is refused');
  t.true(problems.some((p) => /Content Security Policy/.test(p)), 'and reported as a CSP violation');
  t.log(`browser flow: ${Date.now() - started} ms`);
});

test('a sensor in Chromium, the setup key typed from the label: the reading instead of the relay', async (t) => {
  if (!haveChromium(t)) return;
  const sim = await startSimulator({ image: withPage(envSensor), quiet: true, iterations: 4096, analog: { temperature: 0.07 } });
  t.teardown(() => sim.stop());
  const label = sim.label!;
  const page = await openPage(t);
  await page.goto(sim.url + '/');
  // No fragment and nothing kept: the page asks for the setup key; a wrong one fails the login.
  const key = page.getByLabel('Setup key (on the label)');
  await key.waitFor();
  await key.fill('not a key');
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#error').filter({ hasText: /26 letters and digits/ }).waitFor();
  // As printed on the label: groups of five, upper case.
  await key.fill(label.setupKey.toUpperCase().replace(/(.{5})(?=.)/g, '$1-'));
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  const password = await newPassword(sim.url, [label.model, label.serial, envSensor.config.vendor]);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('New password again').fill(password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('button', { name: 'Refresh' }).waitFor();
  t.is(await page.evaluate(() => localStorage.getItem('hoshi.setupKey')), label.setupKey, 'the typed key is kept');
  t.true(await page.locator('#relay').isHidden(), 'the sensor has no relay: GET /api/relay is 404');
  const reading = (await (await fetch(sim.url + '/api/reading')).json()) as { temperatureC: number };
  t.is(await text(page, 'temperature'), reading.temperatureC.toFixed(1) + ' °C');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Administrator password').waitFor();
});


/**
 * Provisions a simulated unit in `dir` that trusts `updateKeys` for its packages, as
 * `hoshi provision --sim DIR --update-key PUB` does; its label.
 */
function provisionSim(dir: string, model: string, updateKeys: Uint8Array[]): LabelRecord {
  const { record, password } = newProvisioningRecord(undefined, { iterations: 4096, updateKeys });
  const backing = fileBacking(join(dir, 'flash.bin'), HOST_FLASH_SIZE);
  try {
    const flash = openSimFlash(backing, PICO_GEOMETRY);
    writeProvisioning(partition(flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size), encodeProvisioning(record));
  } finally {
    backing.close();
  }
  return unitLabel(model, record, password);
}

/** A port on 127.0.0.1 that nothing listens on (the simulator's own choice changes at each reboot). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The next patch version. */
function bump(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number);
  return major + '.' + minor + '.' + (patch! + 1);
}

/** A package the device refuses at its head (another model): a tiny payload, signed by `key`. */
function otherModelPackage(key: SigningKey, example: Image, version: string): Uint8Array {
  const app = 'export function start() {}';
  const payload = new Uint8Array(app.length + 1);
  payload.set(new TextEncoder().encode(app));
  return createImagePackage({ vendor: example.config.vendor, model: 'HS-OTHER-01', runtime: 'host', board: 'host', version, counter: 1, app: app.length }, payload, key);
}

/** Through the label password and the forced change: the admin view, logged in with a new password (returned). */
async function firstLogin(page: Page, url: string, label: LabelRecord, example: Image): Promise<string> {
  await page.goto(url + '/' + label.setupUrl.slice(label.setupUrl.indexOf('#')));
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  const password = await newPassword(url, [label.model, label.serial, example.config.vendor]);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('New password again').fill(password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return password;
}

test('a firmware update in Chromium: a refused package shows its code and reason, a crashing one is reverted, a good one changes the version', async (t) => {
  if (!haveChromium(t)) return;
  t.timeout(120000);
  const started = Date.now();
  const key = newSigningKey();
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const label = provisionSim(dir, image.config.model, [key.publicKey]);
  const from = image.config.firmwareVersion;
  const to = bump(from);
  // The release: the smart plug's host payload at the next version, signed (what `hoshi release --target host` writes).
  const built = await buildPayload('smart-plug', 'host', { version: to, outDir: join(dir, 'dist') });
  const release = createImagePackage({ vendor: built.vendor, model: built.model, runtime: built.runtime, board: built.board, version: to, counter: 1, app: built.app }, built.payload, key);
  // A fixed port: the page's origin must be the same device after its restart.
  const sim = await startSimulator({ image, dir, quiet: true, iterations: 4096, port: await freePort() });
  t.teardown(() => sim.stop());
  const page = await openPage(t);
  const problems: string[] = [];
  const puts: { type: string; header: string; body: Buffer }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  page.on('console', (m) => {
    // Expected: the refusal (422), the dead session and the unreachable device while it restarts.
    if (m.type() === 'error' && !/^Failed to load resource: (the server responded with a status of (401|404|422) |net::ERR_)/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    if (r.method() === 'PUT' && new URL(r.url()).pathname === '/api/update/package') {
      const h = r.headers();
      puts.push({ type: h['content-type'] ?? '', header: h['hoshi-channel'] ?? '', body: r.postDataBuffer() ?? Buffer.alloc(0) });
    }
  });
  const done = (): void => {
    inFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);

  const password = await firstLogin(page, sim.url, label, image);
  // The public information and the update section: what runs, the counter, the phase.
  t.is(await text(page, 'firmware'), from);
  t.is(await text(page, 'counter'), '0');
  t.is(await text(page, 'phase'), 'idle');
  await page.locator('#update').waitFor();
  t.is(await text(page, 'update-state'), 'Running ' + from + ' from slot A; security counter 0; update idle.');

  // A package for another model: refused at its head, with the code and the reason; nothing installed.
  const choose = page.getByLabel('Signed update package (.hoshi file)');
  const install = page.getByRole('button', { name: 'Upload and install' });
  await choose.setInputFiles({ name: 'other.hoshi', mimeType: 'application/octet-stream', buffer: Buffer.from(otherModelPackage(key, image, to)) });
  await install.click();
  await page.locator('#error').filter({ hasText: /wrong-model/ }).waitFor();
  t.regex(await text(page, 'error'), /^Refused \(422\): wrong-model: the package is for model HS-OTHER-01, this device is a HS-PLUG-01$/);
  t.is(puts.length, 1, 'refused at the first chunk');
  t.is(sim.boots, 1);

  // A signed package whose image crashes at boot: its trial boots fail, the unit reverts to the
  // running version, and the page says so; after login, the slot's refusal.
  const crashing = 'export function start() { throw new Error("crash at boot"); }';
  const crashPayload = new Uint8Array(crashing.length + 1);
  crashPayload.set(new TextEncoder().encode(crashing));
  const crashPackage = createImagePackage({ vendor: built.vendor, model: built.model, runtime: 'host', board: 'host', version: to, counter: 1, app: crashing.length }, crashPayload, key);
  await choose.setInputFiles({ name: 'crash.hoshi', mimeType: 'application/octet-stream', buffer: Buffer.from(crashPackage) });
  await install.click();
  await page.locator('#error').filter({ hasText: /reverted/ }).waitFor({ timeout: 60000 });
  t.is(await text(page, 'error'), 'The device restarted on ' + from + ': the update was refused at boot, or reverted (log in to see why).');
  t.is(await text(page, 'firmware'), from);
  t.is(sim.slot, 0, 'slot A runs again');
  await page.getByLabel('Administrator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#update-state').filter({ hasText: /trial-crashed/ }).waitFor();
  t.is(await text(page, 'update-state'), 'Running ' + from + ' from slot A; security counter 0; update idle; slot B ' + to + ' refused: trial-crashed.');
  const beforeRelease = puts.length;

  // The release: uploaded in 4 KB chunks, installed, the unit restarts on it; the page says so.
  await choose.setInputFiles({ name: 'release.hoshi', mimeType: 'application/octet-stream', buffer: Buffer.from(release) });
  await install.click();
  await page.locator('#status').filter({ hasText: /^Updated to / }).waitFor({ timeout: 90000 });
  t.is(await text(page, 'status'), 'Updated to ' + to + '. The restart ended the session: log in again.');
  t.is(await text(page, 'error'), '');
  t.is(await text(page, 'firmware'), to);
  t.is(await text(page, 'counter'), '1', 'the trial image confirmed: the counter floor is its counter');
  t.true(await page.getByLabel('Administrator password').isVisible(), 'the login form: sessions end with the restart');
  t.is(sim.slot, 1, 'slot B runs');
  t.true(sim.boots >= 2);
  // On the wire: the chunks in order, each the package's bytes as they are, with its protected request in the header.
  const chunks = puts.slice(beforeRelease);
  t.is(chunks.length, Math.ceil(release.length / 4096));
  t.deepEqual(Buffer.concat(chunks.map((c) => c.body)), Buffer.from(release));
  for (const c of chunks) {
    t.is(c.type, 'application/octet-stream');
    t.regex(c.header, /^[A-Za-z0-9+/]+=*$/);
  }

  // The new password still logs in (the store survived the update); the new image's update state.
  await page.getByLabel('Administrator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.locator('#update-state').filter({ hasText: /^Running / }).waitFor();
  t.is(await text(page, 'update-state'), 'Running ' + to + ' from slot B; security counter 1; update idle.');
  t.is(mostInFlight, 1, 'one request at a time');
  t.deepEqual(problems, [], 'no script error, no CSP violation');
  t.log(`update flow: ${Date.now() - started} ms, package ${release.length} bytes`);
});

test('an update on the sensor in Chromium: the chunk halves to its 1 KB body limit, and a package signed by an unknown key is refused', async (t) => {
  if (!haveChromium(t)) return;
  const sensor = withPage(envSensor);
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const trusted = newSigningKey();
  const label = provisionSim(dir, sensor.config.model, [trusted.publicKey]);
  const sim = await startSimulator({ image: sensor, dir, quiet: true, iterations: 4096, analog: { temperature: 0.07 } });
  t.teardown(() => sim.stop());
  const page = await openPage(t);
  const sizes: number[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT') sizes.push(r.postDataBuffer()?.length ?? 0);
  });
  await firstLogin(page, sim.url, label, sensor);
  await page.locator('#update').waitFor();
  // Another signer's package for this very unit, large enough for several chunks.
  const app = 'x'.repeat(9000);
  const payload = new Uint8Array(app.length + 1);
  payload.set(new TextEncoder().encode(app));
  const pkg = createImagePackage({ vendor: sensor.config.vendor, model: sensor.config.model, runtime: 'host', board: 'host', version: bump(sensor.config.firmwareVersion), counter: 1, app: app.length }, payload, newSigningKey());
  await page.getByLabel('Signed update package (.hoshi file)').setInputFiles({ name: 'foreign.hoshi', mimeType: 'application/octet-stream', buffer: Buffer.from(pkg) });
  await page.getByRole('button', { name: 'Upload and install' }).click();
  await page.locator('#error').filter({ hasText: /key-unknown/ }).waitFor();
  t.is(await text(page, 'error'), 'Refused (422): key-unknown: the package is signed by a key this device does not trust');
  t.deepEqual(sizes, [4096, 2048, 1024], '413 twice (the sensor takes 1 KB), then the head, refused');
  t.is(await text(page, 'firmware'), sensor.config.firmwareVersion);
});

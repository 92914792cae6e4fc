import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startSimulator } from '../firmware/host/simulator';
import { checkPassword } from '../modules/accounts/policy';
import { adminPage } from '../modules/admin-page';
import smartPlug from '../examples/smart-plug/image';
import envSensor from '../examples/env-sensor/image';
import type { Image } from '../firmware/device/image';

/**
 * The admin page in a real browser: Debian's headless Chromium (installed by
 * test/browser/ensure-chromium.mjs before `npm test` runs ava) drives the page that a simulated
 * smart plug serves from its assets partition, through the whole first-use flow of
 * docs/accounts.md: label password → forced change (a weak password refused with its reason, the
 * device's own refusal shown) → the new password → the relay → log out (the old token is dead).
 */

const CHROMIUM = '/usr/bin/chromium';

/** An example as it ships, with the admin page (added here if the example does not list it). */
function withPage(example: Image): Image {
  return example.modules.some((m) => m.name === 'admin-page') ? example : { ...example, modules: [...example.modules, adminPage()] };
}
const image = withPage(smartPlug);

/** A password the policy accepts for this unit, from the CSPRNG (never printed). */
function newPassword(identity: string[]): string {
  const alphabet = 'ACEFHJKMNPRTWXYacefhjkmnprtwxy3479!#%+';
  for (;;) {
    let s = '';
    for (const b of randomBytes(16)) s += alphabet[b % alphabet.length];
    if (!checkPassword(s, { minLength: 8, identity })) return s;
  }
}

/** Chromium is installed by `npm test` before ava starts; a test run alone says how to get it. */
function haveChromium(t: ExecutionContext): boolean {
  if (!existsSync(CHROMIUM)) t.fail(CHROMIUM + ' is missing: run `node test/browser/ensure-chromium.mjs` (npm test does)');
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

test('first use in Chromium: label password, forced change, relay, log out', async (t) => {
  if (!haveChromium(t)) return;
  const started = Date.now();
  const sim = await startSimulator({ image, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  const label = sim.label!;
  t.truthy(label && label.defaultPassword, 'the simulator provisioned the unit and kept its label');

  const page = await openPage(t);

  // What the page does on the wire: one request at a time, and the tokens it presents.
  const problems: string[] = [];
  const tokens: string[] = [];
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
    const auth = r.headers()['authorization'];
    if (auth && !tokens.includes(auth)) tokens.push(auth);
  });
  const done = (): void => {
    inFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);

  const response = await page.goto(sim.url + '/');
  t.is(response!.status(), 200);
  const headers = await response!.allHeaders();
  t.is(headers['content-encoding'], 'gzip');
  t.is(headers['content-type'], 'text/html; charset=utf-8');
  t.regex(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);

  // Device information, then the login form.
  await page.getByLabel('Administrator password').waitFor();
  t.is(await text(page, 'model'), 'HS-PLUG-01');
  t.is(await text(page, 'serial'), label.serial);
  t.is(await text(page, 'firmware'), smartPlug.config.firmwareVersion);
  t.is(await text(page, 'support'), smartPlug.config.supportEnd);

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
  const password = newPassword([label.model, label.serial, smartPlug.config.vendor]);
  await fresh.fill(password);
  await again.fill('not the same');
  t.regex(await text(page, 'rules'), /same password/);
  await again.fill(password);
  t.regex(await text(page, 'rules'), /meets the policy/);
  await change.click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  t.regex(await text(page, 'status'), /Logged in/);

  // The relay: off, then on.
  t.is(await text(page, 'relay-state'), 'off');
  t.true(await page.locator('#reading').isHidden(), 'the plug has no sensor: GET /api/reading is 404');
  await page.getByRole('button', { name: 'Switch on' }).click();
  await page.getByRole('button', { name: 'Switch off' }).waitFor();
  t.is(await text(page, 'relay-state'), 'on');
  t.deepEqual(await (await fetch(sim.url + '/api/relay')).json(), { on: true });
  t.true(sim.io.outputs['relay']);

  // Log out: the token the page held is dead.
  const token = tokens[tokens.length - 1]!;
  t.regex(token, /^Bearer \S+$/);
  t.is((await fetch(sim.url + '/api/session', { headers: { Authorization: token } })).status, 200);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Administrator password').waitFor();
  t.regex(await text(page, 'status'), /Logged out/);
  t.is((await fetch(sim.url + '/api/session', { headers: { Authorization: token } })).status, 401);

  // The new password logs in; the relay is still on.
  await page.getByLabel('Administrator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Switch off' }).waitFor();
  t.is(await text(page, 'relay-state'), 'on');

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

test('a sensor in Chromium: the reading instead of the relay', async (t) => {
  if (!haveChromium(t)) return;
  const sim = await startSimulator({ image: withPage(envSensor), quiet: true, iterations: 4096, analog: { temperature: 0.07 } });
  t.teardown(() => sim.stop());
  const label = sim.label!;
  const page = await openPage(t);
  await page.goto(sim.url + '/');
  await page.getByLabel('Administrator password').fill(label.defaultPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  const password = newPassword([label.model, label.serial, envSensor.config.vendor]);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('New password again').fill(password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('button', { name: 'Refresh' }).waitFor();
  t.true(await page.locator('#relay').isHidden(), 'the sensor has no relay: GET /api/relay is 404');
  const reading = (await (await fetch(sim.url + '/api/reading')).json()) as { temperatureC: number };
  t.is(await text(page, 'temperature'), reading.temperatureC.toFixed(1) + ' °C');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Administrator password').waitFor();
});

/**
 * The admin page's script (a browser script, not device code): bundled by firmware/host/page.ts
 * into page.html and served by the device from its assets partition (index.ts). docs/accounts.md
 * gives the API it speaks.
 *
 * A page on a LAN address is not a secure context: no `crypto.subtle`, so SCRAM runs on
 * modules/crypto (pure JS) through modules/accounts/scram.ts; `crypto.getRandomValues` (available
 * everywhere) gives the nonces and salts. The device serves one connection at a time, so every
 * request waits for the previous answer. The session token lives in this script's memory only.
 */
import { scramClient, scramVerifier, SCRAM_USER, Scram, type ScramClientCrypto } from '../accounts/scram';
import { checkPassword } from '../accounts/policy';
import { bloomIndices, Bloom } from '../accounts/common';
import { sha256, sha256Copy, sha256Digest, sha256Init, sha256Update } from '../crypto/sha256';
import { hmacKey, hmacSha256 } from '../crypto/hmac';
import { base64Decode, base64Encode } from '../../firmware/device/core/base64';
import { asciiBytes, u32 } from '../../firmware/device/core/bytes';

/** The iteration count of a new verifier when the login's is not known. */
export const DEFAULT_ITERATIONS = 100000;

/**
 * PBKDF2-HMAC-SHA-256 of one 32-byte block (RFC 8018 §5.2), as modules/crypto/pbkdf2.ts computes
 * it, in slices of about 40 ms with a pause between them, so the page can show its progress and
 * stay responsive (pure JS takes about a second per 100 000 iterations on a laptop).
 */
export async function stretch(password: string, salt: Uint8Array, iterations: number, progress?: (done: number) => void): Promise<Uint8Array> {
  const key = hmacKey(asciiBytes(password));
  const inner = sha256Init();
  const outer = sha256Init();
  const prf = (data: Uint8Array, tail?: Uint8Array): Uint8Array => {
    sha256Copy(inner, key.inner);
    sha256Update(inner, data);
    if (tail) sha256Update(inner, tail);
    sha256Copy(outer, key.outer);
    sha256Update(outer, sha256Digest(inner));
    return sha256Digest(outer);
  };
  let u = prf(salt, new Uint8Array([0, 0, 0, 1]));
  const t = new Uint8Array(u);
  let j = 1;
  while (j < iterations) {
    const until = Date.now() + 40;
    while (j < iterations && Date.now() < until) {
      const end = Math.min(iterations, j + 256);
      for (; j < end; j++) {
        u = prf(u);
        for (let k = 0; k < 32; k++) t[k] ^= u[k];
      }
    }
    if (progress) progress(j / iterations);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return t;
}

/** The salt and iteration count of a server-first message, if it looks like one (scramClient checks it fully). */
export function serverParams(serverFirst: string): { salt: Uint8Array; iterations: number } | undefined {
  const m = /^r=[^,]+,s=([A-Za-z0-9+/=]+),i=([1-9][0-9]{0,8})$/.exec(serverFirst);
  const salt = m ? base64Decode(m[1]) : undefined;
  const iterations = m ? parseInt(m[2], 10) : 0;
  return salt && iterations >= Scram.MIN_ITERATIONS && iterations <= Scram.MAX_ITERATIONS ? { salt: salt, iterations: iterations } : undefined;
}

/**
 * SCRAM's crypto with PBKDF2 computed beforehand: `keep` holds what `stretch` computed for one
 * password, salt and count, and scram.ts's call for those gets it instead of blocking the page.
 */
export function stretchedCrypto(): ScramClientCrypto & { keep(password: string, salt: Uint8Array, iterations: number, key: Uint8Array): void; forget(): void } {
  let kept: { password: string; salt: string; iterations: number; key: Uint8Array } | undefined;
  return {
    sha256: sha256,
    hmacSha256: hmacSha256,
    pbkdf2Sha256: (password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array => {
      if (kept && length === kept.key.length && iterations === kept.iterations && base64Encode(salt) === kept.salt && base64Encode(password) === kept.password) return kept.key;
      // serverParams accepts what scram.ts accepts, and a new verifier is always prepared first.
      throw new Error('PBKDF2 was not prepared');
    },
    keep: (password, salt, iterations, key) => {
      kept = { password: base64Encode(asciiBytes(password)), salt: base64Encode(salt), iterations: iterations, key: key };
    },
    forget: () => {
      if (kept) kept.key.fill(0);
      kept = undefined;
    },
  };
}

/** The common-password check over the device's Bloom filter (layout in modules/accounts/common.ts), or undefined if the bytes are not one. */
export function bloomCheck(filter: Uint8Array): ((lowerCase: string) => boolean) | undefined {
  if (filter.length < Bloom.HEADER) return undefined;
  const k = filter[0];
  const m = u32(filter, 4);
  if (k < 1 || k > Bloom.MAX_K || m < 8 || Bloom.HEADER + Math.ceil(m / 8) > filter.length) return undefined;
  return (lowerCase: string): boolean => {
    const at = bloomIndices(sha256, lowerCase, k, m);
    for (let i = 0; i < at.length; i++) if ((filter[Bloom.HEADER + (at[i] >> 3)] & (1 << (at[i] & 7))) === 0) return false;
    return true;
  };
}

// ---- the page ----

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

interface Info {
  model?: string;
  vendor?: string;
  serial?: string;
  firmwareVersion?: string;
  supportEnd?: string;
}

const KEYS = stretchedCrypto();
let token = '';
/** The iteration count of the verifier the last login used. */
let loginIterations = 0;
let info: Info = {};
let minLength = 8;
let common: ((lowerCase: string) => boolean) | undefined;
let relayOn = false;
let busy = false;

function $<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function say(text: string): void {
  $('status').textContent = text;
}

function fail(text: string): void {
  $('error').textContent = text;
}

function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** One request, answered as status and JSON body (status 0: no answer). Never two at once: callers await. */
async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: { [name: string]: string } = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers['Authorization'] = 'Bearer ' + token;
  try {
    const res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    let data: unknown = {};
    try {
      data = await res.json();
    } catch (error) {
      data = {};
    }
    return { status: res.status, body: data !== null && typeof data === 'object' ? data : {} };
  } catch (error) {
    return { status: 0, body: { reason: 'the device did not answer' } };
  }
}

function reason(a: Answer): string {
  return typeof a.body.reason === 'string' ? a.body.reason : 'the device answered ' + a.status;
}

/** Shows one of the three views (login, change, admin). */
function view(name: 'login' | 'change' | 'admin'): void {
  $('login').hidden = name !== 'login';
  $('change').hidden = name !== 'change';
  $('admin').hidden = name !== 'admin';
  const first = name === 'login' ? $('password') : name === 'change' ? $('new') : $('logout');
  first.focus();
}

/** Runs PBKDF2 with a progress bar and keeps the result for scram.ts. */
async function prepare(password: string, salt: Uint8Array, iterations: number): Promise<void> {
  const bar = $<HTMLProgressElement>('progress');
  bar.value = 0;
  bar.hidden = false;
  try {
    KEYS.keep(password, salt, iterations, await stretch(password, salt, iterations, (done) => (bar.value = done)));
  } finally {
    bar.hidden = true;
  }
}

/** SCRAM-SHA-256 login (docs/accounts.md): true if logged in; the token is kept in memory. */
async function login(password: string): Promise<boolean> {
  token = '';
  const client = scramClient(KEYS, SCRAM_USER, password, base64Encode(random(18)));
  const first = await call('POST', '/api/login', { scram: client.first });
  if (first.status !== 200 || typeof first.body.scram !== 'string') {
    fail(reason(first));
    return false;
  }
  const params = serverParams(first.body.scram);
  if (params) {
    say('Checking the password (this takes a few seconds)…');
    await prepare(password, params.salt, params.iterations);
  }
  const final = client.final(first.body.scram);
  KEYS.forget();
  if (typeof final !== 'string') {
    fail('The device sent a wrong login message: ' + final.error);
    return false;
  }
  const second = await call('POST', '/api/login', { scram: final });
  if (second.status !== 200) {
    fail(reason(second));
    return false;
  }
  if (typeof second.body.scram !== 'string' || typeof second.body.token !== 'string' || !client.verifyServer(second.body.scram)) {
    fail('Not logged in: this device could not prove it holds the password verifier.');
    return false;
  }
  token = second.body.token;
  loginIterations = params ? params.iterations : 0;
  if (second.body.mustChange === true) await showChange();
  else await showAdmin();
  return true;
}

/** What the policy says of the new password, "" if it is accepted and confirmed. */
function newPasswordProblem(): string {
  const password = $<HTMLInputElement>('new').value;
  const identity = [info.model, info.serial, info.vendor].filter((s): s is string => typeof s === 'string');
  const refusal = checkPassword(password, { minLength: minLength, identity: identity, common: common });
  if (refusal) return 'Not accepted: ' + refusal.reason + '.';
  if ($<HTMLInputElement>('again').value !== password) return 'Type the same password in both fields.';
  return '';
}

function checkNew(): void {
  const why = newPasswordProblem();
  const rules = $('rules');
  rules.textContent = why || 'This password meets the policy.';
  rules.className = why ? '' : 'ok';
  ($('change').querySelector('button') as HTMLButtonElement).disabled = why !== '' || busy;
}

/** One slice of the device's filter (206 with `Content-Range: bytes a-b/total`), or undefined. */
async function filterSlice(a: number, b: number): Promise<{ total: number; bytes: Uint8Array } | undefined> {
  const res = await fetch('/api/password/common', { cache: 'no-store', credentials: 'omit', headers: { Range: 'bytes=' + a + '-' + b } });
  const total = /\/(\d+)$/.exec(res.headers.get('content-range') || '');
  if (res.status !== 206 || !total) return undefined;
  return { total: Number(total[1]), bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** The device's common-password filter, fetched in 4 KB slices one after another (no answer of the device is larger). */
async function fetchFilter(): Promise<Uint8Array | undefined> {
  const first = await filterSlice(0, 0);
  if (!first) return undefined;
  const filter = new Uint8Array(first.total);
  for (let at = 0; at < first.total; at += 4096) {
    const n = Math.min(4096, first.total - at);
    const part = await filterSlice(at, at + n - 1);
    if (!part || part.total !== first.total || part.bytes.length !== n) return undefined;
    filter.set(part.bytes, at);
  }
  return filter;
}

/** The forced change: the policy (and the common-password filter, when the device serves it) first. */
async function showChange(): Promise<void> {
  const policy = await call('GET', '/api/password/policy');
  if (policy.status === 200 && typeof policy.body.minLength === 'number') minLength = policy.body.minLength;
  common = undefined;
  try {
    const filter = await fetchFilter();
    if (filter) common = bloomCheck(filter);
  } catch (error) {
    common = undefined;
  }
  say('Logged in with the label password: choose your own.');
  view('change');
  checkNew();
}

async function changePassword(): Promise<void> {
  const password = $<HTMLInputElement>('new').value;
  if (newPasswordProblem()) return;
  const salt = random(16);
  const iterations = loginIterations || DEFAULT_ITERATIONS;
  say('Preparing the new password (this takes a few seconds)…');
  await prepare(password, salt, iterations);
  const v = scramVerifier(KEYS, password, salt, iterations);
  const answer = await call('POST', '/api/password', {
    password: password,
    salt: base64Encode(salt),
    iterations: iterations,
    storedKey: base64Encode(v.storedKey),
    serverKey: base64Encode(v.serverKey),
  });
  if (answer.status !== 200) {
    KEYS.forget();
    say('The device refused the new password.');
    fail('Refused: ' + reason(answer));
    if (answer.status === 401) loggedOut('Your session has ended: log in again.');
    return;
  }
  // Every session ends with the change: log in again with the new password (its PBKDF2 is kept).
  token = '';
  ($('new') as HTMLInputElement).value = '';
  ($('again') as HTMLInputElement).value = '';
  say('Password changed. Logging in with the new password…');
  if (!(await login(password))) loggedOut('Password changed: log in with the new password.');
  KEYS.forget();
}

function showRelay(on: boolean): void {
  relayOn = on;
  $('relay-state').textContent = on ? 'on' : 'off';
  $('relay-switch').textContent = on ? 'Switch off' : 'Switch on';
}

async function showReading(): Promise<void> {
  const r = await call('GET', '/api/reading');
  $('reading').hidden = r.status === 404;
  if (r.status === 404) return;
  const b = r.body;
  const degrees = (v: unknown): string => (typeof v === 'number' ? v.toFixed(1) + ' °C' : '–');
  $('temperature').textContent = r.status === 200 ? degrees(b.temperatureC) : reason(r);
  $('lowest').textContent = degrees(b.lowestC);
  $('highest').textContent = degrees(b.highestC);
}

/** After login: whichever of the relay and the sensor the device has (404: it has not). */
async function showAdmin(): Promise<void> {
  const r = await call('GET', '/api/relay');
  $('relay').hidden = r.status !== 200;
  if (r.status === 200) showRelay(r.body.on === true);
  await showReading();
  say('Logged in.');
  view('admin');
}

function loggedOut(text: string): void {
  token = '';
  say(text);
  view('login');
}

async function switchRelay(): Promise<void> {
  const answer = await call('PUT', '/api/relay', { on: !relayOn });
  if (answer.status === 200) {
    showRelay(answer.body.on === true);
    say('The relay is ' + (relayOn ? 'on.' : 'off.'));
  } else if (answer.status === 401) {
    fail(reason(answer));
    loggedOut('Your session has ended: log in again.');
  } else fail(reason(answer));
}

async function logout(): Promise<void> {
  const answer = await call('POST', '/api/logout');
  if (answer.status !== 200 && answer.status !== 401) fail(reason(answer));
  loggedOut('Logged out.');
}

/** Runs one action at a time: the device serves one connection at a time, and a double click must not send twice. */
function action(run: () => Promise<void>): () => void {
  return () => {
    if (busy) return;
    busy = true;
    fail('');
    const buttons = document.querySelectorAll('button');
    for (let i = 0; i < buttons.length; i++) buttons[i].setAttribute('aria-disabled', 'true');
    run()
      .catch((error: unknown) => fail('Something went wrong: ' + String(error instanceof Error ? error.message : error)))
      .then(() => {
        busy = false;
        for (let i = 0; i < buttons.length; i++) buttons[i].removeAttribute('aria-disabled');
        if (!$('change').hidden) checkNew();
      });
  };
}

function onSubmit(id: string, run: () => Promise<void>): void {
  const go = action(run);
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    go();
  });
}

async function start(): Promise<void> {
  const a = await call('GET', '/api/info');
  if (a.status !== 200) {
    fail('Cannot read the device information: ' + reason(a));
    return;
  }
  info = a.body;
  const show = (id: string, v: unknown): void => {
    $(id).textContent = typeof v === 'string' ? v : '–';
  };
  show('model', info.model);
  show('serial', info.serial);
  show('firmware', info.firmwareVersion);
  show('support', info.supportEnd);
  if (typeof info.model === 'string') {
    $('title').textContent = info.model + ' administration';
    document.title = info.model + ' administration';
  }
  say('Log in as administrator.');
  view('login');
}

function main(): void {
  onSubmit('login', async () => {
    const field = $<HTMLInputElement>('password');
    const password = field.value;
    field.value = '';
    if (!(await login(password))) {
      say('Not logged in.');
      field.focus();
    }
  });
  onSubmit('change', changePassword);
  $('new').addEventListener('input', checkNew);
  $('again').addEventListener('input', checkNew);
  $('relay-switch').addEventListener('click', action(switchRelay));
  $('refresh').addEventListener('click', action(showReading));
  $('logout').addEventListener('click', action(logout));
  action(start)();
}

// After "load": the device serves one connection at a time, and the page's own must be over.
if (typeof document !== 'undefined') {
  if (document.readyState === 'complete') main();
  else window.addEventListener('load', main);
}

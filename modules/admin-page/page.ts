/**
 * The admin page's script (a browser script, not device code): bundled by firmware/host/page.ts
 * into page.html and served by the device from its assets partition (index.ts). docs/accounts.md
 * gives the API it speaks.
 *
 * A page on a LAN address is not a secure context: no `crypto.subtle`, so SCRAM and the admin
 * channel run on modules/crypto (pure JS) through modules/accounts/scram.ts and
 * modules/channel/channel.ts; `crypto.getRandomValues` (available everywhere) gives the nonces
 * and salts. The unit's setup key comes once, from the setup URL's fragment (`#k=…`, which the
 * browser never sends) or typed from the label, and is kept in this browser's storage for the
 * device's address; the fragment is then removed from the address bar. SCRAM runs on the password
 * pre-hashed with it, and after login every admin request and answer is protected by the session's
 * channel. The device serves one connection at a time, so every request waits for the previous
 * answer. The session's token and keys live in this script's memory only.
 *
 * Firmware update (docs/formats/update.md): a signed package chosen from a file goes to the device
 * in chunks (`sendPackage`), then the page follows the install and the restart, and shows the
 * version, the security counter and the update's state.
 */
import { scramClient, scramVerifier, sessionSecret, SCRAM_USER, Scram, type ScramClientCrypto } from '../accounts/scram';
import { checkPassword } from '../accounts/policy';
import { bloomIndices, Bloom } from '../accounts/common';
import { sha256, sha256Copy, sha256Digest, sha256Init, sha256Update } from '../crypto/sha256';
import { hmacKey, hmacSha256 } from '../crypto/hmac';
import { base64Decode, base64Encode } from '../../firmware/device/core/base64';
import { asciiBytes, u32 } from '../../firmware/device/core/bytes';
import { CHANNEL_HEADER, channelKeys, COSE_ENCRYPT0, decodeProtected, openAnswer, pivOf, protectRequest, type ChannelKeys } from '../channel/channel';
import { base32Encode, parseSetupKey, scramPassword } from '../channel/setup';
import { jsAes } from '../crypto/provider-core';
import type { CryptoProvider } from '../../hal/crypto';

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

/** A device's answer: its status (0: none, or not believed) and its JSON object. */
export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One protected request; with `raw`, `body` travels protected in the Hoshi-Channel header and `raw` as the body, as it is. */
export type Send = (method: string, path: string, body?: unknown, raw?: Uint8Array) => Promise<Answer>;

/**
 * CRC-32/IEEE of `bytes` (unsigned), bit by bit: the same CRC as firmware/device/core/crc32.ts
 * (which the device runs), without its table code (the page is a size-limited asset; a browser
 * computes a megabyte in milliseconds).
 */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ -1) >>> 0;
}

/** The upload's limits: the first chunk (the smart plug's body limit), the smallest, the retries. */
const enum Upload {
  CHUNK = 4096,
  MIN_CHUNK = 256,
  /** Unanswered chunks in a row before giving up. */
  RETRIES = 3,
  /** Resumptions (409 offset-mismatch) before giving up: a device that keeps moving the offset is not followed forever. */
  RESUMES = 16,
}

/**
 * Sends a signed update package to `PUT /api/update/package` in chunks, in order, as the host
 * client does (firmware/host/update-client.ts): each chunk's offset and CRC-32 in the protected
 * request, the bytes as they are. A 413 halves the chunk (an ESP32 takes 1 KB); a 409
 * `offset-mismatch` resumes where the device says; an unanswered chunk is sent again, smaller.
 * Undefined once the whole package is in, else the answer that stopped it (a refusal: 422 with the
 * code of docs/formats/update.md §6).
 */
export async function sendPackage(send: Send, pkg: Uint8Array, progress: (done: number) => void): Promise<Answer | undefined> {
  let chunk: number = Upload.CHUNK;
  let offset = 0;
  let retries = 0;
  let resumes = 0;
  while (offset < pkg.length) {
    const bytes = pkg.subarray(offset, Math.min(pkg.length, offset + chunk));
    const a = await send('PUT', '/api/update/package', { offset: offset, crc: crc32(bytes) }, bytes);
    const small = chunk > Upload.MIN_CHUNK;
    if (a.status === 0 && retries++ < Upload.RETRIES) {
      if (small) chunk >>= 1;
      continue;
    }
    if (a.status === 413 && small) {
      chunk >>= 1;
      continue;
    }
    if (a.status === 409 && a.body.error === 'offset-mismatch') {
      const at = /offset (\d{1,9})$/.exec(String(a.body.reason));
      const next = at ? Number(at[1]) : -1;
      if (next < 0 || next > pkg.length || next === offset || resumes++ >= Upload.RESUMES) return a;
      offset = next;
      continue;
    }
    if (a.status !== 202) return a;
    retries = 0;
    offset += bytes.length;
    progress(offset / pkg.length);
  }
  return undefined;
}

/** The text of a value the device sent, if it is a short plain string. */
function str(v: unknown): string {
  return typeof v === 'string' && v.length < 300 ? v : '';
}

/** "code: reason" of a refusal, from whatever the device sent. */
export function refusalText(b: { error?: unknown; reason?: unknown }): string {
  const code = str(b.error);
  const why = str(b.reason);
  return code && why ? code + ': ' + why : code || why || 'no reason given';
}

/** What `GET /api/update` says, in one line: the running image, the counter, the phase, a refusal, a bad slot. */
export function describeUpdate(s: { [key: string]: unknown }): string {
  const r = (s.running || {}) as { [key: string]: unknown };
  const slot = (i: unknown): string => (i === 0 ? 'A' : i === 1 ? 'B' : '?');
  let text = 'Running ' + (str(r.version) || '?') + ' from slot ' + slot(r.slot) + (r.trial === true ? ' (on trial)' : '') + '; security counter ' + (typeof s.securityCounter === 'number' ? s.securityCounter : '?') + '; update ' + (str(s.phase) || '?');
  if (s.phase === 'refused') text += ' (' + refusalText(s) + ')';
  const slots = Array.isArray(s.slots) ? s.slots : [];
  for (let i = 0; i < slots.length && i < 2; i++) {
    const x = slots[i] || {};
    if (x.state === 'bad') text += '; slot ' + slot(i) + ' ' + (str(x.version) || '?') + ' refused: ' + (str(x.reason) || '?');
  }
  return text + '.';
}

// ---- the page ----

interface Info {
  model?: string;
  vendor?: string;
  serial?: string;
  firmwareVersion?: string;
  supportEnd?: string;
  hardwareRevision?: string;
  vulnerabilityDisclosure?: string;
  status?: { securityCounter?: number; update?: string };
}

const KEYS = stretchedCrypto();
/** The primitives the channel needs (no SHA-512 nor PBKDF2: the page stays small). */
const PAGE_CRYPTO: CryptoProvider = { name: 'page', sha256: sha256, hmacSha256: hmacSha256, aes: jsAes };
/** Where this browser keeps the device's setup key (per origin: per device address). */
const KEPT = 'hoshi.setupKey';
let setupKey: Uint8Array | undefined;
let token = '';
/** The session's channel: keys and the next sequence number. */
let channel: { keys: ChannelKeys; seq: number } | undefined;
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

/** The JSON object of bytes, or an empty one. */
function jsonOf(bytes: Uint8Array): object {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return v !== null && typeof v === 'object' ? v : {};
  } catch (error) {
    return {};
  }
}

/**
 * One request, answered as status and JSON body (status 0: no answer). Never two at once: callers
 * await. Public routes and the login go plain; with `protect`, the request goes through the
 * session's channel (docs/formats/channel.md) and only a protected answer that authenticates is
 * believed, except as a refusal (an unprotected answer with an error status).
 */
async function call(method: string, path: string, body?: unknown, protect?: boolean, raw?: Uint8Array): Promise<Answer> {
  const headers: { [name: string]: string } = {};
  const plain = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
  let sent: Uint8Array | undefined = body === undefined ? undefined : plain;
  let seq = -1;
  if (protect && channel) {
    seq = channel.seq++;
    const message = protectRequest(PAGE_CRYPTO, channel.keys, seq, method + ' ' + path, plain);
    headers['Authorization'] = 'Bearer ' + token;
    if (method === 'GET' || raw) {
      headers[CHANNEL_HEADER] = base64Encode(message);
      sent = raw;
      if (raw) headers['Content-Type'] = 'application/octet-stream';
    } else {
      headers['Content-Type'] = COSE_ENCRYPT0;
      sent = message;
    }
  } else if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(path, { method: method, headers: headers, body: sent ? new Uint8Array(sent) : undefined, cache: 'no-store', credentials: 'omit' });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (seq < 0 || !channel) return { status: res.status, body: jsonOf(bytes) };
    const cose = (res.headers.get('content-type') || '').indexOf('application/cose') === 0;
    const d = cose ? decodeProtected(bytes, false) : 'unprotected';
    const opened = typeof d === 'string' ? undefined : openAnswer(PAGE_CRYPTO, channel.keys, pivOf(seq), res.status, d[1]);
    if (opened) return { status: res.status, body: jsonOf(opened) };
    if (!cose && res.status >= 400) return { status: res.status, body: jsonOf(bytes) };
    return { status: 0, body: { reason: 'the device\'s answer is not protected by this session: not believed' } };
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

/** SCRAM-SHA-256 login (docs/accounts.md) on the password pre-hashed with the setup key: true if logged in; the token and the channel are kept in memory. */
async function login(typed: string): Promise<boolean> {
  token = '';
  channel = undefined;
  if (!setupKey) {
    fail('Enter the setup key printed on the label first.');
    return false;
  }
  const key = setupKey;
  const password = scramPassword(PAGE_CRYPTO, key, typed);
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
    fail('Not logged in: this device could not prove it holds the password verifier (or the setup key is not this device\'s).');
    return false;
  }
  const secrets = client.secrets();
  const id = base64Decode(second.body.token);
  if (second.body.channel !== 1 || !secrets || !id) {
    fail('Not logged in: this device speaks no admin channel this page knows.');
    return false;
  }
  token = second.body.token;
  channel = { keys: channelKeys(PAGE_CRYPTO, sessionSecret(PAGE_CRYPTO, secrets.clientKey, secrets.authMessage), key, id), seq: 0 };
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
  if (newPasswordProblem() || !setupKey) return;
  const salt = random(16);
  const iterations = loginIterations || DEFAULT_ITERATIONS;
  const hashed = scramPassword(PAGE_CRYPTO, setupKey, password);
  say('Preparing the new password (this takes a few seconds)…');
  await prepare(hashed, salt, iterations);
  const v = scramVerifier(KEYS, hashed, salt, iterations);
  const answer = await call(
    'POST',
    '/api/password',
    {
      password: password,
      salt: base64Encode(salt),
      iterations: iterations,
      storedKey: base64Encode(v.storedKey),
      serverKey: base64Encode(v.serverKey),
    },
    true,
  );
  if (answer.status !== 200) {
    KEYS.forget();
    say('The device refused the new password.');
    fail('Refused: ' + reason(answer));
    if (answer.status === 401) loggedOut('Your session has ended: log in again.');
    return;
  }
  // Every session ends with the change: log in again with the new password (its PBKDF2 is kept).
  token = '';
  channel = undefined;
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
  await showWifi();
  await showUpdate();
  await showSecurity();
  say('Logged in.');
  view('admin');
}

/** The Wi-Fi section (hidden on a device without Wi-Fi: 404). */
async function showWifi(): Promise<void> {
  const w = await call('GET', '/api/network/wifi', undefined, true);
  $('wifi').hidden = w.status === 404;
  if (w.status !== 200) return;
  const b = w.body;
  const ap = b.setupAp;
  $('wifi-state').textContent =
    (typeof b.ssid === 'string' ? (b.joined ? 'joined “' + b.ssid + '”' : 'not joined to “' + b.ssid + '”' + (b.error && b.error.reason ? ': ' + b.error.reason : '')) : 'no network set') +
    (ap && ap.open ? '; setup network “' + ap.ssid + '” open' : '');
}

/** Sends the home network's credentials through the channel; the device joins it and then closes its setup network. */
async function setWifi(): Promise<void> {
  const ssid = $<HTMLInputElement>('ssid');
  const passphrase = $<HTMLInputElement>('passphrase');
  const answer = await call('PUT', '/api/network/wifi', { ssid: ssid.value, passphrase: passphrase.value }, true);
  passphrase.value = '';
  if (answer.status !== 200) {
    fail('Refused: ' + reason(answer));
    if (answer.status === 401) loggedOut('Your session has ended: log in again.');
    return;
  }
  say('The device is joining “' + ssid.value + '”. Once it has, its setup network closes: connect this device to “' + ssid.value + '” and open the device\'s address there.');
  await showWifi();
}

/** One security-log entry's words (docs/formats/audit.md): "#seq boot b, 12 s: kind detail". */
export function describeEntry(slot: Uint8Array): string | undefined {
  if (slot.length !== 64 || (slot[0] === 0x48 && slot[1] === 0x53 && slot[2] === 0x4c && slot[3] === 0x47)) return undefined;
  const u32 = (at: number): number => (slot[at]! | (slot[at + 1]! << 8) | (slot[at + 2]! << 16) | (slot[at + 3]! << 24)) >>> 0;
  let text = '';
  for (let i = 14; i < 47 && slot[i] !== 0; i++) text += String.fromCharCode(slot[i]!);
  const wall = u32(4);
  const when = wall ? new Date(wall * 1000).toISOString().replace('T', ' ').replace(/\..*$/, '') + ' UTC' : 'boot ' + (slot[12]! | (slot[13]! << 8)) + ', ' + u32(8) + ' s';
  return '#' + u32(0) + ' ' + when + ': ' + text;
}

/**
 * The security section (hidden on a device without a log: 404): failed logins and refused updates
 * recently (the anomaly signal), and the last entries of the log. `hoshi log` verifies the chain.
 */
async function showSecurity(): Promise<void> {
  const s = await call('GET', '/api/security', undefined, true);
  $('security').hidden = s.status === 404;
  if (s.status !== 200) return;
  const b = s.body;
  const count = (c: { lastHour?: number; sinceBoot?: number; last?: { detail?: string } | null } | undefined, what: string): string =>
    c ? what + ': ' + (c.lastHour || 0) + ' in the last hour, ' + (c.sinceBoot || 0) + ' since the restart' + (c.last && c.last.detail ? ' (last: ' + c.last.detail + ')' : '') : '';
  $('security-state').textContent = [count(b.loginFailed, 'Failed logins'), count(b.updateRefused, 'Refused updates'), 'The log keeps ' + (b.entries || 0) + ' entries.'].filter((x) => x).join('. ');
  const list = $('log');
  list.textContent = '';
  if (typeof b.newest !== 'number') return;
  const page = await call('GET', '/api/log', { from: Math.max(0, b.newest - 9), count: 10 }, true);
  const slots: unknown[] = page.status === 200 && Array.isArray(page.body.slots) ? page.body.slots : [];
  const lines: string[] = [];
  for (const v of slots) {
    const text = typeof v === 'string' ? describeEntry(Uint8Array.from(atob(v), (c) => c.charCodeAt(0))) : undefined;
    if (text) lines.unshift(text);
  }
  for (const line of lines) {
    const li = document.createElement('li');
    li.textContent = line;
    list.appendChild(li);
  }
}

/** The update section (hidden on a device without updates: 404): what runs, the counter, the phase. */
async function showUpdate(): Promise<{ [key: string]: unknown } | undefined> {
  const u = await call('GET', '/api/update', undefined, true);
  $('update').hidden = u.status === 404;
  $('update-state').textContent = u.status === 200 ? describeUpdate(u.body) : reason(u);
  return u.status === 200 ? u.body : undefined;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The public device information, or undefined if the device does not answer within 5 s (while it restarts). */
async function infoNow(): Promise<Info | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const res = await fetch('/api/info', { cache: 'no-store', credentials: 'omit', signal: abort.signal });
    return res.status === 200 ? ((await res.json()) as Info) : undefined;
  } catch (error) {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Uploads the chosen package, asks for the install, follows the device while it checks the package
 * (GET /api/update) and restarts, then waits until `/api/info` shows another version (or the same
 * one after a restart: the update was refused at boot, or reverted). Sessions end with the restart.
 */
async function update(): Promise<void> {
  const file = ($<HTMLInputElement>('package').files || [])[0];
  if (!file || file.size > 1048576) return fail('Choose an update package (.hoshi file, at most 1 MB).');
  const pkg = new Uint8Array(await file.arrayBuffer());
  const before = info.firmwareVersion;
  const bar = $<HTMLProgressElement>('progress');
  bar.hidden = false;
  try {
    say('Sending the package…');
    const stopped = (await sendPackage((m, p, b, raw) => call(m, p, b, true, raw), pkg, (done) => (bar.value = done))) || (await call('POST', '/api/update/install', {}, true));
    if (stopped.status !== 202) {
      fail(stopped.status ? 'Refused (' + stopped.status + '): ' + refusalText(stopped.body) : 'The upload stopped: ' + reason(stopped));
      if (stopped.status === 401) loggedOut('Your session has ended: log in again.');
      else await showUpdate();
      return;
    }
    // The device hashes the payload back from its flash and checks the signature, then restarts.
    say('The device is checking the package…');
    for (let n = 0; n < 600; n++) {
      const s = await showUpdate();
      if (!s || s.phase === 'restarting') break; // no answer, or the session is gone: the device restarted
      if (s.phase === 'refused') return fail('Refused: ' + refusalText(s));
      if (s.phase === 'idle') return say('Done: a key change, without restart.');
      bar.value = s.phase === 'hashing' && Number(s.total) > 0 ? Number(s.hashed) / Number(s.total) : 1;
      await pause(1000);
    }
    bar.removeAttribute('value');
    say('The device restarts on the new firmware. It may check the package first, and not answer meanwhile: a Raspberry Pi Pico for about half a minute to a minute.');
    for (let n = 0; n < 600; n++) {
      await pause(1000);
      const now = await infoNow();
      // A new boot's phase is idle: on the same version, the update was refused at boot or reverted.
      const phase = now && now.status ? now.status.update : '';
      if (!now || typeof now.firmwareVersion !== 'string' || (now.firmwareVersion === before && phase !== 'idle' && phase !== 'refused')) continue;
      showInfo(now);
      if (phase === 'refused') {
        await showUpdate();
        return fail('Refused: see Firmware update.');
      }
      if (now.firmwareVersion === before) fail('The device restarted on ' + before + ': the update was refused at boot, or reverted (log in to see why).');
      return loggedOut(now.firmwareVersion === before ? 'Not updated.' : 'Updated to ' + now.firmwareVersion + '. The restart ended the session: log in again.');
    }
    fail('The device did not come back within 10 minutes.');
  } finally {
    bar.hidden = true;
    bar.value = 0;
  }
}

/**
 * The factory wipe (modules/wipe): asks for it through the channel, then waits until the device
 * answers again after its restart; the session ended with it.
 */
async function wipeDevice(): Promise<void> {
  const box = $<HTMLInputElement>('wipe-confirm');
  if (!box.checked) return fail('Tick the box to confirm the wipe.');
  const answer = await call('POST', '/api/wipe', { confirm: 'wipe' }, true);
  box.checked = false;
  if (answer.status !== 202) {
    fail('Refused: ' + reason(answer));
    if (answer.status === 401) loggedOut('Your session has ended: log in again.');
    return;
  }
  say('Wiping. The device restarts…');
  await pause(3000);
  for (let n = 0; n < 60; n++) {
    const now = await infoNow();
    if (now) {
      showInfo(now);
      return loggedOut('Wiped. Log in with the password on the label: you will then choose a new one.');
    }
    await pause(1000);
  }
  // A device on Wi-Fi has forgotten the network: it is back on its setup network.
  loggedOut('Wiped. The device has left your Wi-Fi and opened its setup network again: its name and passphrase are on the label.');
}

function loggedOut(text: string): void {
  token = '';
  channel = undefined;
  say(text);
  view('login');
}

async function switchRelay(): Promise<void> {
  const answer = await call('PUT', '/api/relay', { on: !relayOn }, true);
  if (answer.status === 200) {
    showRelay(answer.body.on === true);
    say('The relay is ' + (relayOn ? 'on.' : 'off.'));
  } else if (answer.status === 401) {
    fail(reason(answer));
    loggedOut('Your session has ended: log in again.');
  } else fail(reason(answer));
}

async function logout(): Promise<void> {
  const answer = await call('POST', '/api/logout', undefined, true);
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

/** Shows the public device information (`GET /api/info`). */
function showInfo(i: Info): void {
  info = i;
  const show = (id: string, v: unknown): void => {
    $(id).textContent = typeof v === 'string' || typeof v === 'number' ? String(v) : '–';
  };
  show('model', i.model);
  show('serial', i.serial);
  show('firmware', i.firmwareVersion);
  show('support', i.supportEnd);
  show('hwrev', i.hardwareRevision);
  const link = $<HTMLAnchorElement>('disclosure');
  const url = i.vulnerabilityDisclosure;
  // Only an https address becomes a link (the device's answer is not trusted to name a script).
  if (typeof url === 'string' && /^https:\/\/[^\s"<>]+$/.test(url)) {
    link.href = url;
    link.textContent = url;
  }
  const s = i.status || {};
  show('counter', s.securityCounter);
  show('phase', s.update);
}

async function start(): Promise<void> {
  const a = await call('GET', '/api/info');
  if (a.status !== 200) {
    fail('Cannot read the device information: ' + reason(a));
    return;
  }
  showInfo(a.body);
  if (typeof info.model === 'string') {
    $('title').textContent = info.model + ' administration';
    document.title = info.model + ' administration';
  }
  setupKey = keptSetupKey();
  $('key-field').hidden = setupKey !== undefined;
  say(setupKey ? 'Log in as administrator.' : 'Enter the setup key from the label (or open the address of the label\'s QR code), then log in.');
  view('login');
}

/**
 * The setup key: from the address's fragment (`#k=…`, kept, then removed from the address bar and
 * the history entry), else the one this browser kept for this device's address.
 */
function keptSetupKey(): Uint8Array | undefined {
  const m = /^#k=([a-z2-7-]+)$/i.exec(location.hash);
  const given = m ? parseSetupKey(m[1]) : undefined;
  if (m) history.replaceState(null, '', location.pathname + location.search);
  try {
    if (given) localStorage.setItem(KEPT, base32Encode(given));
    const kept = localStorage.getItem(KEPT);
    return given || (kept ? parseSetupKey(kept) : undefined);
  } catch (error) {
    return given; // storage refused (private mode): kept for this visit only
  }
}

function main(): void {
  onSubmit('login', async () => {
    const keyField = $<HTMLInputElement>('setup-key');
    if (!setupKey && keyField.value) {
      setupKey = parseSetupKey(keyField.value);
      if (!setupKey) return fail('The setup key is the 26 letters and digits printed after “Setup key” on the label.');
      try {
        localStorage.setItem(KEPT, base32Encode(setupKey));
      } catch (error) {
        // kept for this visit only
      }
      keyField.value = '';
      $('key-field').hidden = true;
    }
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
  $('log-refresh').addEventListener('click', action(showSecurity));
  $('logout').addEventListener('click', action(logout));
  onSubmit('wifi-form', setWifi);
  onSubmit('update-form', update);
  onSubmit('wipe-form', wipeDevice);
  action(start)();
}

// After "load": the device serves one connection at a time, and the page's own must be over.
if (typeof document !== 'undefined') {
  if (document.readyState === 'complete') main();
  else window.addEventListener('load', main);
}

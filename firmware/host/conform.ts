import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, isIP, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { CHANNEL_HEADER, decodeProtected, openAnswer, pivOf, protectRequest } from '../../modules/channel/channel';
import { base32Encode, parseSetupKey, scramPassword } from '../../modules/channel/setup';
import { jsCrypto } from '../../modules/crypto/provider-js';
import { changePassword, checkNewPassword, ClientError, login, nodeScramCrypto, type Session } from './client';
import { renderConformMarkdown } from './conform-md';
import { probeTcp, scanListeners } from './port-scan';
import { CONFORM_CHECKS, type ConformCheck, type ConformCheckId, type ConformReport, type Verdict } from './star1';
import { newSigningKey } from './update/keys';
import { compareVersions, encodePackage, parsePackage, type ParsedPackage } from './update/package';
import { updateDevice } from './update-client';

/**
 * `hoshi conform <device-url>`: a black-box probe of a live unit (the simulator, or a board on the
 * LAN) for the ★1 criteria that can be observed from the network, one check per criterion group
 * (star1.ts `CONFORM_CHECKS`), each with a verdict in the manner of ETSI TS 103 701 (pass, fail,
 * not-applicable, needs-human) and the evidence it saw. docs/conformance.md says what each check
 * does and how its verdict is reached. It is a self-test that helps a maker prepare, not a lab's
 * evaluation.
 *
 * Bounds. Every HTTP request of the probe goes through one counting fetch (`boundedFetch`) that
 * refuses any origin but the probe's relay, a request past the request budget and one past the
 * time budget; the checks use it directly and, through an AsyncLocalStorage scope, the host client
 * (client.ts, update-client.ts) uses it too, since those call the global fetch. The relay
 * (`startRelay`, on 127.0.0.1) forwards to the unit's address and port only, and records the bytes
 * for the channel check. The port scan connects to the unit's address only (and to a control
 * address of this machine's loopback when one is given for a unit on a loopback address). When a
 * budget is spent the probe
 * stops, and every check not finished says "budget spent".
 *
 * Failed logins lock the probe's address out after 3 in a row (docs/accounts.md): the checks share
 * one count of the failures they caused, reset it with a login as the owner when they can, and wait
 * the unit's Retry-After (at most MAX_WAIT_S) when they cannot.
 */

/** Defaults of the bounds. */
export const CONFORM_DEFAULTS = {
  /** HTTP requests in all, the port scan's connections not counted. */
  maxRequests: 400,
  /** Seconds for the whole run. */
  maxSeconds: 300,
  /** The longest single wait for a lockout to end, seconds. */
  maxWaitS: 120,
  /** Each request's timeout, ms (a Pico answers a login's second step in seconds). */
  timeoutMs: 30000,
} as const;

/** Wrong guesses the brute-force check makes at most. */
const MAX_GUESSES = 8;
/** Without the owner's password, well-known guesses stop once the unit holds logins longer than this, ms. */
const GUESS_WAIT_MS = 10000;
/** Defaults that no unit should take. */
const WELL_KNOWN = ['admin', 'password', '12345678', 'root', '0000', '1234'];
/** Characters of evidence bodies kept. */
const BODY_CUT = 300;
/** Bytes of one answer the probe reads at most. */
const ANSWER_MAX = 1024 * 1024;
/** Bytes of traffic the relay keeps for the channel check. */
const CAPTURE_MAX = 32 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The routes of the Hoshi API

/** A route of the API and the access it declares. */
export interface RouteSpec {
  method: string;
  path: string;
  access: 'public' | 'user' | 'admin';
  /** The module or example that serves it. */
  module: string;
}

/**
 * Every route the kit's modules and examples serve (`context.route` in modules/ and examples/),
 * with its declared access. test/conform.test.ts holds it equal to the routes of the examples'
 * images. A unit serves the subset its image has; a route it lacks answers 404.
 */
export const HOSHI_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/', access: 'public', module: 'modules/admin-page' },
  { method: 'GET', path: '/api/info', access: 'public', module: 'modules/device-info' },
  { method: 'POST', path: '/api/login', access: 'public', module: 'modules/accounts' },
  { method: 'GET', path: '/api/password/policy', access: 'public', module: 'modules/accounts' },
  { method: 'GET', path: '/api/password/common', access: 'public', module: 'modules/accounts' },
  { method: 'GET', path: '/api/session', access: 'user', module: 'modules/accounts' },
  { method: 'POST', path: '/api/logout', access: 'user', module: 'modules/accounts' },
  { method: 'POST', path: '/api/password', access: 'admin', module: 'modules/accounts' },
  { method: 'GET', path: '/api/log', access: 'admin', module: 'modules/audit' },
  { method: 'GET', path: '/api/security', access: 'admin', module: 'modules/audit' },
  { method: 'GET', path: '/api/network/wifi', access: 'admin', module: 'modules/network' },
  { method: 'PUT', path: '/api/network/wifi', access: 'admin', module: 'modules/network' },
  { method: 'GET', path: '/api/update', access: 'admin', module: 'modules/ota' },
  { method: 'PUT', path: '/api/update/package', access: 'admin', module: 'modules/ota' },
  { method: 'POST', path: '/api/update/install', access: 'admin', module: 'modules/ota' },
  { method: 'DELETE', path: '/api/update', access: 'admin', module: 'modules/ota' },
  { method: 'GET', path: '/api/update/settings', access: 'admin', module: 'modules/ota' },
  { method: 'PUT', path: '/api/update/settings', access: 'admin', module: 'modules/ota' },
  { method: 'POST', path: '/api/update/check', access: 'admin', module: 'modules/ota' },
  { method: 'POST', path: '/api/wipe', access: 'admin', module: 'modules/wipe' },
  { method: 'GET', path: '/api/relay', access: 'public', module: 'examples/smart-plug' },
  { method: 'PUT', path: '/api/relay', access: 'admin', module: 'examples/smart-plug' },
  { method: 'GET', path: '/api/relay/schedule', access: 'user', module: 'examples/smart-plug' },
  { method: 'PUT', path: '/api/relay/schedule', access: 'admin', module: 'examples/smart-plug' },
  { method: 'GET', path: '/api/reading', access: 'public', module: 'examples/env-sensor' },
];

/** The routes a session reaches while the default password is in force (modules/accounts' guard). */
const FIRST_USE_ROUTES = ['/api/session', '/api/logout', '/api/password'];

// ---------------------------------------------------------------------------------------------
// Options

export interface ConformOptions {
  /** The unit: `http://host[:port][/]` (no path, query, fragment or credentials). */
  url: string;
  /** The administrator's password in force (HOSHI_PASSWORD). */
  password?: string;
  /** The unit's setup key (16 bytes; from the label or HOSHI_SETUP_KEY). */
  setupKey?: Uint8Array;
  /** The unit's label (the simulator's `.hoshi/<model>/label.json`, `hoshi provision`'s label file). */
  label?: { defaultPassword: string; setupKey: string };
  /** The model number the unit must show. */
  model?: string;
  /** The firmware version the unit must show (e.g. after an update and a power cycle). */
  expectVersion?: string;
  /** A signed package the unit should accept (newer than what it runs): the update check installs it. */
  package?: Uint8Array;
  /** A signed package older than `package`, which the unit must refuse. */
  olderPackage?: Uint8Array;
  /** Run the factory data wipe (it erases the unit's user data). */
  wipe?: boolean;
  /** The checks to run (default all); the others are reported as not run. */
  checks?: ConformCheckId[];
  /** More non-public routes to probe (a product's own), besides HOSHI_ROUTES. */
  routes?: { method: string; path: string }[];
  /** Where the password the probe sets is written (mode 0600) if the unit refuses the original back. */
  newPasswordFile?: string;
  maxRequests?: number;
  maxSeconds?: number;
  /** The longest single wait for a lockout, seconds. */
  maxWaitS?: number;
  /**
   * The port scan: ports (default 1-65535), attempts at once, silence counted as closed, and for a
   * unit on a loopback address, a control: another loopback address of this machine where the unit
   * does not listen (a port open there too is another program's listener on every address).
   */
  scan?: { from?: number; to?: number; concurrency?: number; timeoutMs?: number; control?: string };
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The unit's address as a URL names it, or why it cannot be a target. */
export function parseTarget(url: string): { host: string; port: number; origin: string } | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL: ' + url;
  }
  if (u.protocol !== 'http:') return 'the unit is reached over http:// (its admin channel protects the traffic): ' + u.protocol;
  if (u.username || u.password) return 'no credentials in the URL: the password comes from HOSHI_PASSWORD';
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || /[?#]/.test(url)) return 'the URL names the unit only: http://host[:port]';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return 'no host in ' + url;
  return { host, port: u.port ? Number(u.port) : 80, origin: u.origin };
}

// ---------------------------------------------------------------------------------------------
// The counting fetch

/** Thrown when a budget is spent: the run stops. */
class Spent extends Error {}
/** Thrown when a check cannot go on (a lockout longer than the probe waits): the check needs a person. */
class Blocked extends Error {}

/** The run's bounds and its count of requests. */
export interface Budget {
  readonly origin: string;
  readonly maxRequests: number;
  readonly deadline: number;
  requests: number;
  /** What was spent, once one was. */
  spent?: 'requests' | 'time';
  fetch: typeof fetch;
}

const realFetch = globalThis.fetch;

/**
 * A fetch that reaches `origin` only, counts each request, and refuses one past `maxRequests` or
 * after `deadline` (ms since the epoch): the one way the probe's checks send HTTP.
 */
export function boundedFetch(origin: string, maxRequests: number, deadline: number): Budget {
  const budget: Budget = {
    origin,
    maxRequests,
    deadline,
    requests: 0,
    fetch: (input, init) => {
      const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (new URL(href).origin !== origin) return Promise.reject(new TypeError('conform: ' + new URL(href).origin + ' is not the unit under test'));
      if (budget.requests >= maxRequests) budget.spent ??= 'requests';
      else if (Date.now() >= deadline) budget.spent ??= 'time';
      if (budget.spent) return Promise.reject(new Spent('budget spent'));
      budget.requests++;
      return realFetch(input, init);
    },
  };
  return budget;
}

const scope = new AsyncLocalStorage<Budget>();
let scoped = 0;

/**
 * Runs `work` with every global fetch made in it (its own and the host client's, also after an
 * await) going through `budget`; fetches outside it are left alone. The host client calls the
 * global fetch, and this keeps it so without changing it.
 */
export async function withBudget<T>(budget: Budget, work: () => Promise<T>): Promise<T> {
  if (scoped++ === 0) {
    globalThis.fetch = (input, init) => {
      const b = scope.getStore();
      return b ? b.fetch(input, init) : realFetch(input, init);
    };
  }
  try {
    return await scope.run(budget, work);
  } finally {
    if (--scoped === 0) globalThis.fetch = realFetch;
  }
}

// ---------------------------------------------------------------------------------------------
// The relay

export interface Relay {
  /** http://127.0.0.1:PORT: the probe's requests go here. */
  readonly url: string;
  readonly port: number;
  /** Where it forwards: the unit's address and port, and nowhere else. */
  readonly upstream: { address: string; port: number };
  /** Each connection's upstream as connected ("address:port"), in order. */
  readonly connected: string[];
  /** Bytes each way: to the unit, from it. */
  readonly bytes: { up: number; down: number };
  /** What each connection carried, each direction in one buffer (the first CAPTURE_MAX bytes in all). */
  streams(): { up: Buffer; down: Buffer }[];
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 (an ephemeral port) that forwards every connection to `address`:`port`
 * and nowhere else, and records what passes: the probe sees its own traffic as someone on the
 * network would.
 */
export function startRelay(address: string, port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const streams: { up: Buffer[]; down: Buffer[] }[] = [];
  const connected: string[] = [];
  const bytes = { up: 0, down: 0 };
  const record = (into: Buffer[], chunk: Buffer, way: 'up' | 'down'): void => {
    if (bytes.up + bytes.down + chunk.length <= CAPTURE_MAX) into.push(chunk);
    bytes[way] += chunk.length;
  };
  const server = createServer((client) => {
    const s = { up: [] as Buffer[], down: [] as Buffer[] };
    streams.push(s);
    const unit = connect({ host: address, port });
    sockets.add(client);
    sockets.add(unit);
    unit.once('connect', () => connected.push((unit.remoteAddress ?? '?') + ':' + unit.remotePort));
    client.on('data', (chunk: Buffer) => record(s.up, chunk, 'up'));
    unit.on('data', (chunk: Buffer) => record(s.down, chunk, 'down'));
    client.pipe(unit);
    unit.pipe(client);
    const end = (): void => {
      client.destroy();
      unit.destroy();
      sockets.delete(client);
      sockets.delete(unit);
    };
    client.on('error', end);
    unit.on('error', end);
    client.on('close', () => unit.end());
    unit.on('close', () => client.end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const listening = (server.address() as AddressInfo).port;
      resolve({
        url: 'http://127.0.0.1:' + listening,
        port: listening,
        upstream: { address, port },
        connected,
        bytes,
        streams: () => streams.map((s) => ({ up: Buffer.concat(s.up), down: Buffer.concat(s.down) })),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The probe's state

/** One HTTP exchange as evidence. */
interface Exchange {
  request: string;
  as?: string;
  status?: number;
  /** The device's error code and reason, when it gave them. */
  error?: string;
  reason?: string;
  retryAfter?: number;
  contentType?: string;
  bytes?: number;
  body?: string;
  /** No answer: why. */
  network?: string;
  ms: number;
}

/** One login as evidence (never the password itself). */
interface LoginEvidence {
  login: string;
  outcome: 'logged-in' | 'refused' | 'locked' | 'absent' | 'error';
  status?: number;
  error?: string;
  retryAfter?: number;
  mustChange?: boolean;
  detail?: string;
  ms: number;
}

interface Probe {
  o: ConformOptions;
  /** The URL given, the unit's address and port. */
  target: string;
  address: string;
  port: number;
  /** Where the requests go (the relay). */
  url: string;
  relay: Relay;
  budget: Budget;
  maxWaitMs: number;
  log: (line: string) => void;
  setupKey?: Uint8Array;
  /** The administrator's password in force as far as the probe knows. */
  password?: string;
  label?: { defaultPassword: string; setupKey: string };
  info?: { [name: string]: unknown };
  /** The information as the info check read it (the report's `device`). */
  firstInfo?: { [name: string]: unknown };
  /** Whether the unit has a login route (POST /api/login): unknown until one is tried. */
  loginRoute?: boolean;
  /** The owner's credentials logged in (true), were refused (false), or were not tried. */
  credentials?: boolean;
  /** The label's password is in force with the forced change (seen at a login). */
  firstUse?: boolean;
  /** Failed logins in a row the probe caused, and when the unit's wait ends (ms since the epoch). */
  failures: number;
  lockedUntil: number;
  /** Secrets: patterns searched in the capture, and text forms redacted from the report. */
  patterns: { name: string; bytes: Buffer }[];
  redact: Set<string>;
}

interface CheckRun {
  evidence: unknown[];
  /** Failures found so far (a check stopped by the budget still fails on them). */
  failures: string[];
}

type Outcome = { verdict: Verdict; reason: string };

const now = (): number => Date.now();

/** Ends the check when a budget is spent; otherwise rethrows. */
function rethrow(p: Probe, error: unknown): never {
  if (p.budget.spent) throw new Spent('budget spent');
  throw error;
}

/** Sleeps `ms`, unless that would pass the deadline: then the run ends (time budget). */
async function pause(p: Probe, ms: number): Promise<void> {
  if (now() + ms >= p.budget.deadline) {
    p.budget.spent ??= 'time';
    throw new Spent('budget spent');
  }
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function cut(text: string, n = BODY_CUT): string {
  return text.length <= n ? text : text.slice(0, n) + '… (' + text.length + ' characters)';
}

/**
 * One request of the probe's own (not through the host client): its answer as evidence, and the
 * answer's JSON object when it is one. No answer is evidence too.
 */
async function http(
  p: Probe,
  method: string,
  path: string,
  o: { headers?: { [name: string]: string }; body?: string | Uint8Array; as?: string; keepBody?: boolean; cutAt?: number } = {},
): Promise<{ x: Exchange; json?: { [name: string]: unknown }; raw?: Uint8Array }> {
  const started = now();
  const x: Exchange = { request: method + ' ' + path, ms: 0 };
  if (o.as) x.as = o.as;
  let res: Response;
  try {
    res = await fetch(p.url + path, { method, headers: o.headers, body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : new Uint8Array(o.body), signal: AbortSignal.timeout(CONFORM_DEFAULTS.timeoutMs) });
  } catch (error) {
    if (p.budget.spent) throw new Spent('budget spent');
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    x.network = cause?.code ?? cause?.message ?? (error as Error).message;
    x.ms = now() - started;
    return { x };
  }
  const body = await readCapped(res, ANSWER_MAX);
  const raw = body.bytes;
  if (body.cut) x.network = 'answer-too-long: cut at ' + ANSWER_MAX + ' bytes';
  x.ms = now() - started;
  x.status = res.status;
  const type = res.headers.get('content-type') ?? '';
  if (type) x.contentType = type;
  x.bytes = raw.length;
  let json: { [name: string]: unknown } | undefined;
  if (type.startsWith('application/json')) {
    try {
      const v: unknown = JSON.parse(new TextDecoder().decode(raw));
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) json = v as { [name: string]: unknown };
    } catch {
      // not JSON after all: the body is shown as it is
    }
  }
  if (json && typeof json.error === 'string') x.error = json.error;
  if (json && typeof json.reason === 'string') x.reason = cut(json.reason, 200);
  const retry = res.headers.get('retry-after');
  if (retry !== null && /^\d{1,9}$/.test(retry)) x.retryAfter = Number(retry);
  if (o.keepBody && type.startsWith('application/json')) x.body = cut(new TextDecoder().decode(raw), o.cutAt);
  return { x, json, raw };
}

/**
 * An answer's body, at most `max` bytes: a unit (or whatever answers at the URL) that sends more is
 * cut off there, so that no answer can take the probe's memory.
 */
async function readCapped(res: Response, max: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(0), cut: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > max) {
        chunks.push(value.subarray(0, max - n));
        n = max;
        await reader.cancel().catch(() => undefined);
        return { bytes: Buffer.concat(chunks, n), cut: true };
      }
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // The connection ended early (a timeout, a reset): what came is what the unit answered.
  }
  return { bytes: Buffer.concat(chunks, n), cut: false };
}

/** Records a secret: its forms are searched in the capture and never written to the report. */
function secret(p: Probe, name: string, value: string | Uint8Array): void {
  const bytes = Buffer.from(typeof value === 'string' ? new TextEncoder().encode(value) : value);
  // Shorter than 6 bytes, a form would match unrelated text (no password or key of a unit is).
  if (bytes.length < 6) return;
  const texts = new Set<string>();
  if (typeof value === 'string') {
    texts.add(value);
    texts.add(encodeURIComponent(value));
    texts.add(JSON.stringify(value).slice(1, -1));
  } else {
    texts.add(base32Encode(value));
    texts.add(base32Encode(value).toUpperCase());
  }
  const hex = bytes.toString('hex');
  texts.add(hex);
  texts.add(hex.toUpperCase());
  texts.add(bytes.toString('base64'));
  texts.add(bytes.toString('base64url'));
  for (const core of base64Cores(bytes)) {
    texts.add(core);
    texts.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  const known = new Set(p.patterns.map((q) => q.bytes.toString('latin1')));
  const add = (b: Buffer): void => {
    if (b.length >= 6 && !known.has(b.toString('latin1'))) {
      known.add(b.toString('latin1'));
      p.patterns.push({ name, bytes: b });
    }
  };
  add(bytes);
  for (const t of texts) {
    add(Buffer.from(t, 'utf8'));
    if (t.length >= 6) p.redact.add(t);
  }
}

/**
 * The base64 text of `b` wherever it starts in a longer base64 stream: for each of the three
 * alignments, the characters made of `b`'s bits only (the first and last may mix with neighbours).
 */
export function base64Cores(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const text = Buffer.concat([Buffer.alloc(k), Buffer.from(b)]).toString('base64').replace(/=+$/, '');
    const core = text.slice(Math.ceil((k * 8) / 6), Math.floor(((k + b.length) * 8) / 6));
    if (core.length >= 8) out.push(core);
  }
  return out;
}

/** A session's keys and token: searched for (the keys) and kept out of the report (both). */
function sessionSecrets(p: Probe, s: Session): void {
  secret(p, 'a session\'s client key', s.keys.client);
  secret(p, 'a session\'s device key', s.keys.device);
  secret(p, 'a session\'s common IV', s.keys.iv);
  // The token travels in clear by design (it names the session; the keys prove it), so it is not
  // searched for; the report leaves it out all the same.
  p.redact.add(s.token);
}

/** A password: its forms, and the SCRAM password pre-hashed with the setup key. */
function passwordSecret(p: Probe, name: string, password: string): void {
  secret(p, name, password);
  if (p.setupKey) secret(p, name + ' (SCRAM pre-hash)', scramPassword(nodeScramCrypto, p.setupKey, password));
}

// ---------------------------------------------------------------------------------------------
// Logins that mind the lockout

/** Waits for the lockout the probe's failures started to end (at most maxWaitMs). */
async function waitUnlocked(p: Probe, c: CheckRun): Promise<void> {
  const ms = p.lockedUntil - now();
  if (ms <= 0) return;
  if (ms > p.maxWaitMs) throw new Blocked('the unit holds logins for ' + Math.ceil(ms / 1000) + ' s more (Retry-After), longer than the probe waits (' + p.maxWaitMs / 1000 + ' s)');
  c.evidence.push({ wait: Math.ceil(ms / 1000), why: 'the lockout after the probe\'s failed logins (Retry-After)' });
  await pause(p, ms + 250);
}

/**
 * One login (both SCRAM steps) as evidence, the failure count and lockout kept. With `wait`
 * (the default) it first waits out a lockout the probe knows of.
 */
async function attempt(p: Probe, c: CheckRun, password: string, key: Uint8Array, what: string, wait = true): Promise<{ a: LoginEvidence; session?: Session }> {
  if (wait) await waitUnlocked(p, c);
  const started = now();
  const a: LoginEvidence = { login: what, outcome: 'error', ms: 0 };
  let session: Session | undefined;
  try {
    session = await login(p.url, password, key, { timeoutMs: CONFORM_DEFAULTS.timeoutMs });
    a.outcome = 'logged-in';
    a.status = 200;
    a.mustChange = session.mustChange;
    p.failures = 0;
    p.lockedUntil = 0;
    p.loginRoute = true;
    sessionSecrets(p, session);
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    if (p.budget.spent) throw new Spent('budget spent');
    a.status = error.status;
    if (error.error) a.error = error.error;
    if (error.retryAfter !== undefined) a.retryAfter = error.retryAfter;
    if (error.code === 'login-failed') {
      a.outcome = 'refused';
      p.loginRoute = true;
      p.failures++;
      if (error.retryAfter) p.lockedUntil = now() + error.retryAfter * 1000;
    } else if (error.code === 'locked') {
      a.outcome = 'locked';
      p.loginRoute = true;
      p.lockedUntil = now() + (error.retryAfter ?? 1) * 1000;
    } else if (error.status === 404 || error.status === 405) {
      a.outcome = 'absent';
      p.loginRoute = false;
    } else {
      a.detail = cut(error.message, 200);
    }
  }
  a.ms = now() - started;
  c.evidence.push(a);
  return { a, session };
}

/** Ends a session the probe no longer needs (4 live at most on a unit). */
async function logout(p: Probe, s: Session): Promise<void> {
  try {
    await s.logout();
  } catch (error) {
    if (p.budget.spent) throw new Spent('budget spent');
    // An ended session (a restart, a password change) has nothing to log out of.
  }
}

/**
 * Logs in as the owner to reset the unit's failure count before more wrong guesses, when the
 * probe has caused `threshold` or more failures in a row and knows the owner's credentials.
 */
async function resetFailures(p: Probe, c: CheckRun, threshold = 2): Promise<void> {
  if (p.failures < threshold || !p.password || !p.setupKey || p.credentials === false) return;
  const r = await attempt(p, c, p.password, p.setupKey, 'the owner\'s password, to reset the failure count');
  if (r.session) {
    p.credentials = true;
    await logout(p, r.session);
  }
}

/** A session as the owner, or why there is none. */
async function ownerSession(p: Probe, c: CheckRun): Promise<Session | string> {
  if (p.loginRoute === false) return 'the unit has no login (POST /api/login: 404)';
  if (!p.setupKey) return 'no setup key (--label FILE or HOSHI_SETUP_KEY)';
  if (!p.password) return 'no password (HOSHI_PASSWORD)';
  if (p.credentials === false) return 'the password given does not log in';
  await resetFailures(p, c);
  const r = await attempt(p, c, p.password, p.setupKey, 'the owner\'s password');
  if (r.session) {
    p.credentials = true;
    if (r.session.mustChange) p.firstUse = true;
    return r.session;
  }
  if (r.a.outcome === 'refused') {
    p.credentials = false;
    return 'the password given does not log in (401 login-failed)';
  }
  if (r.a.outcome === 'absent') return 'the unit has no login (POST /api/login: ' + r.a.status + ')';
  return 'the owner\'s login did not succeed: ' + r.a.outcome + (r.a.status ? ' (' + r.a.status + (r.a.error ? ' ' + r.a.error : '') + ')' : '') + (r.a.detail ? ': ' + r.a.detail : '');
}

/** A random password the policy takes: 20 characters of letters, digits and symbols. */
function strongPassword(identity: { model: string; vendor: string; serial: string | null }, minLength: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=@_';
  for (;;) {
    const b = randomBytes(Math.max(20, minLength));
    let out = '';
    for (const byte of b) out += alphabet[byte % alphabet.length];
    if (!checkNewPassword(out, identity, minLength)) return out;
  }
}

function identityOf(p: Probe): { model: string; vendor: string; serial: string | null } {
  const i = p.info ?? {};
  return { model: String(i.model ?? ''), vendor: String(i.vendor ?? ''), serial: typeof i.serial === 'string' ? i.serial : null };
}

async function minLengthOf(p: Probe, c: CheckRun): Promise<number | undefined> {
  const r = await http(p, 'GET', '/api/password/policy', { keepBody: true });
  c.evidence.push(r.x);
  return r.json && typeof r.json.minLength === 'number' ? r.json.minLength : undefined;
}

// ---------------------------------------------------------------------------------------------
// The checks

const REQUIRED_INFO = ['model', 'firmwareVersion', 'hardwareRevision', 'supportEnd', 'vulnerabilityDisclosure'];

/** info (S1.1-10, -06): the public device information. */
async function checkInfo(p: Probe, c: CheckRun): Promise<Outcome> {
  const r = await http(p, 'GET', '/api/info', { keepBody: true, cutAt: 2000 });
  c.evidence.push(r.x);
  if (r.x.network) return { verdict: 'fail', reason: 'no answer from the unit (' + r.x.network + ')' };
  if (r.x.status !== 200 || !r.json) return { verdict: 'fail', reason: 'GET /api/info answered ' + r.x.status + (r.json ? '' : ', not a JSON object') };
  p.info = r.json;
  p.firstInfo = r.json;
  const missing = REQUIRED_INFO.filter((f) => typeof r.json![f] !== 'string' || (r.json![f] as string).length === 0);
  if (missing.length) c.failures.push('GET /api/info does not show ' + missing.join(', '));
  if (p.o.model !== undefined && r.json.model !== p.o.model) c.failures.push('the model shown is ' + JSON.stringify(r.json.model) + ', not ' + JSON.stringify(p.o.model));
  if (p.o.expectVersion !== undefined && r.json.firmwareVersion !== p.o.expectVersion) c.failures.push('the firmware version shown is ' + JSON.stringify(r.json.firmwareVersion) + ', not ' + JSON.stringify(p.o.expectVersion));
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  const j = r.json;
  return {
    verdict: 'pass',
    reason: 'model ' + j.model + (p.o.model ? ' (as expected)' : '') + ', hardware revision ' + j.hardwareRevision + ', firmware ' + j.firmwareVersion + (p.o.expectVersion ? ' (as expected)' : '') + ', support until ' + j.supportEnd + ', vulnerability disclosure ' + j.vulnerabilityDisclosure,
  };
}

/** How a non-public route answered a request that must not reach it. */
function classify(x: Exchange): 'refused' | 'absent' | 'reached' | 'unexpected' {
  const s = x.status;
  if (s === undefined) return 'unexpected';
  if (s >= 200 && s < 300) return 'reached';
  if (s === 401 || s === 403) return 'refused';
  if (s === 400 && /^channel-/.test(x.error ?? '')) return 'refused';
  if (s === 404 || s === 405) return 'absent';
  if (s === 408 || s === 429 || s >= 500) return 'unexpected';
  // A route's own refusal (400 bad body, 409, 422 …): its handler ran, so the request reached it.
  return 'reached';
}

/** auth-required (S1.1-01): every non-public route refuses requests without a valid session. */
async function checkAuthRequired(p: Probe, c: CheckRun): Promise<Outcome> {
  const extra: RouteSpec[] = (p.o.routes ?? []).map((r) => ({ method: r.method, path: r.path, access: 'admin', module: 'given (--route)' }));
  const routes = [...HOSHI_ROUTES, ...extra.filter((e) => !HOSHI_ROUTES.some((h) => h.method === e.method && h.path === e.path))];
  const open: string[] = [];
  for (const r of routes.filter((x) => x.access === 'public')) {
    // The login is exercised by the other checks; an empty login message would only be refused.
    if (r.path === '/api/login') continue;
    const a = await http(p, r.method, r.path, { as: 'public, no credentials' });
    c.evidence.push(a.x);
    if (a.x.status !== undefined && a.x.status < 300) open.push(r.method + ' ' + r.path);
  }
  const guarded = routes.filter((x) => x.access !== 'public');
  const outcomes: { route: string; as: string; x: Exchange; k: ReturnType<typeof classify> }[] = [];
  const probe = async (r: RouteSpec, as: string, headers: { [name: string]: string }): Promise<void> => {
    const body = r.method === 'GET' || r.method === 'HEAD' ? undefined : '{}';
    const h = body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' };
    const a = await http(p, r.method, r.path, { headers: h, body, as });
    c.evidence.push(a.x);
    outcomes.push({ route: r.method + ' ' + r.path, as, x: a.x, k: classify(a.x) });
  };
  const madeUp = randomBytes(18).toString('base64');
  for (const r of guarded) {
    await probe(r, 'no credentials', {});
    await probe(r, 'a made-up session token', { Authorization: 'Bearer ' + madeUp });
  }
  // A session that has ended: its token plain, and requests protected under its keys.
  let ended = 'not tried';
  const s = p.setupKey && p.password ? await ownerSession(p, c) : 'no credentials (HOSHI_PASSWORD and the setup key)';
  if (typeof s !== 'string') {
    await logout(p, s);
    ended = 'logged out';
    for (const r of guarded) {
      await probe(r, 'a logged-out session\'s token', { Authorization: 'Bearer ' + s.token });
      const started = now();
      const x: Exchange = { request: r.method + ' ' + r.path, as: 'protected under a logged-out session\'s keys', ms: 0 };
      try {
        const answer = await s.call(r.method, r.path);
        x.status = answer.status;
        if (typeof answer.body.error === 'string') x.error = answer.body.error;
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        if (p.budget.spent) throw new Spent('budget spent');
        if (error.status !== undefined) x.status = error.status;
        else x.network = error.message;
      }
      x.ms = now() - started;
      c.evidence.push(x);
      outcomes.push({ route: x.request, as: x.as!, x, k: classify(x) });
    }
  } else ended = s;
  const reached = outcomes.filter((o) => o.k === 'reached');
  const unexpected = outcomes.filter((o) => o.k === 'unexpected');
  const absent = new Set(outcomes.filter((o) => o.k === 'absent').map((o) => o.route));
  const listed = (list: typeof outcomes): string => list.slice(0, 6).map((o) => o.route + ' (' + (o.x.status ?? o.x.network) + (o.x.error ? ' ' + o.x.error : '') + ', ' + o.as + ')').join(', ') + (list.length > 6 ? ' and ' + (list.length - 6) + ' more' : '');
  if (reached.length) return { verdict: 'fail', reason: reached.length + ' request(s) without a valid session reached a non-public route: ' + listed(reached) };
  const served = guarded.length - [...absent].length;
  const tried = 'no credentials, a made-up token' + (ended === 'logged out' ? ', a logged-out session\'s token and its keys' : '');
  if (unexpected.length) return { verdict: 'needs-human', reason: 'no non-public route answered 2xx, but some answers were neither a refusal nor an absence: ' + listed(unexpected) };
  return {
    verdict: 'pass',
    reason: 'every non-public route the unit serves (' + served + (served < guarded.length ? ' of the ' + guarded.length + ' probed; the others 404' : '') + ') refused ' + tried + ' (401, 403, 400 channel-…)' + (ended === 'logged out' ? '' : '; a logged-out session not tried: ' + ended) + '; public and open: ' + (open.join(', ') || 'none'),
  };
}

/** default-password (S1.1-02): the label's password and well-known defaults do not log in. */
async function checkDefaultPassword(p: Probe, c: CheckRun): Promise<Outcome> {
  const key = p.setupKey;
  if (!key) return { verdict: 'needs-human', reason: 'no setup key (--label FILE or HOSHI_SETUP_KEY): a login, right or wrong, needs the unit\'s setup key' };
  const notes: string[] = [];
  let firstUse = false;
  let defaultInForce = false;
  if (p.label) {
    await resetFailures(p, c);
    const r = await attempt(p, c, p.label.defaultPassword, key, 'the label\'s default password');
    if (r.a.outcome === 'absent') return { verdict: 'not-applicable', reason: 'the unit has no login (POST /api/login: ' + r.a.status + '): it takes no password over the network (auth-required shows what it serves without one)' };
    if (r.session && r.session.mustChange) {
      // First use: the label's password reaches only the change (modules/accounts' guard).
      firstUse = true;
      p.firstUse = true;
      if (!p.password) p.password = p.label.defaultPassword;
      for (const route of HOSHI_ROUTES.filter((x) => x.access !== 'public' && !FIRST_USE_ROUTES.includes(x.path))) {
        const started = now();
        const x: Exchange = { request: route.method + ' ' + route.path, as: 'protected, in a session of the label\'s password', ms: 0 };
        try {
          const a = await r.session.call(route.method, route.path);
          x.status = a.status;
          if (typeof a.body.error === 'string') x.error = a.body.error;
        } catch (error) {
          if (!(error instanceof ClientError)) throw error;
          if (p.budget.spent) throw new Spent('budget spent');
          x.status = error.status;
          x.network = error.status === undefined ? error.message : undefined;
        }
        x.ms = now() - started;
        c.evidence.push(x);
        if (!(x.status === 403 && x.error === 'password-change-required') && x.status !== 404 && x.status !== 405) {
          c.failures.push('the label\'s password reaches ' + x.request + ' before the change (' + (x.status ?? x.network) + (x.error ? ' ' + x.error : '') + ')');
        }
      }
      await logout(p, r.session);
      const min = await minLengthOf(p, c);
      if (min === undefined || min < 8) c.failures.push('the forced change accepts passwords of ' + (min ?? 'unknown') + ' characters (★1: at least 8)');
      notes.push('first-use state: the label\'s password logs in only to change it (every other route 403 password-change-required; new passwords of at least ' + min + ' characters)');
    } else if (r.session) {
      defaultInForce = true;
      await logout(p, r.session);
      notes.push('the label\'s password logs in with full access: the unit forces no change');
    } else if (r.a.outcome === 'refused') {
      notes.push('the label\'s password is refused (401)');
    } else {
      return { verdict: 'needs-human', reason: 'the label\'s password could not be tried: ' + r.a.outcome + (r.a.status ? ' ' + r.a.status : '') + (r.a.detail ? ' (' + r.a.detail + ')' : '') };
    }
  } else notes.push('no label (--label FILE): the label\'s password not tried');
  // Without the owner's password the failures cannot be reset: fewer guesses, shorter waits.
  const canReset = !!p.password && p.credentials !== false;
  const list = canReset ? WELL_KNOWN : WELL_KNOWN.slice(0, 4);
  const accepted: string[] = [];
  const tried: string[] = [];
  for (const guess of list) {
    // Unable to reset the count, the probe stops guessing once the unit's waits grow long.
    if (!canReset && p.lockedUntil - now() > GUESS_WAIT_MS) break;
    await resetFailures(p, c);
    tried.push(guess);
    const r = await attempt(p, c, guess, key, 'well-known default "' + guess + '"');
    if (r.a.outcome === 'absent') return { verdict: 'not-applicable', reason: 'the unit has no login (POST /api/login: ' + r.a.status + ')' };
    if (r.session) {
      accepted.push(guess);
      await logout(p, r.session);
    } else if (r.a.outcome !== 'refused') throw new Blocked('the guess "' + guess + '" was not checked: ' + r.a.outcome + (r.a.status ? ' ' + r.a.status : ''));
  }
  if (accepted.length) c.failures.push('well-known default(s) log in: ' + accepted.join(', '));
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  if (tried.length) notes.push('the well-known defaults ' + tried.join(', ') + ' are refused');
  if (tried.length < list.length) notes.push((tried.length ? 'the others' : 'the well-known defaults') + ' not tried: the unit holds logins ' + Math.ceil((p.lockedUntil - now()) / 1000) + ' s (give HOSHI_PASSWORD: the probe then resets the count with the owner\'s login)');
  if (defaultInForce) return { verdict: 'needs-human', reason: notes.join('; ') + ': ★1\'s first option (a default unique per unit, at least 6 characters, not guessable) is judged on the provisioning documents' };
  if (!p.label) return { verdict: 'needs-human', reason: notes.join('; ') };
  if (firstUse) return { verdict: 'pass', reason: notes.join('; ') + '. ★1\'s second option (a change at first use to at least 8 characters) holds as far as the network shows; run again after the change to see the label\'s password refused' };
  return { verdict: 'pass', reason: notes.join('; ') };
}

/** password-change (S1.1-03): the password changes; the old one fails, the new one works; the original is set again. */
async function checkPasswordChange(p: Probe, c: CheckRun): Promise<Outcome> {
  if (p.loginRoute === false) return { verdict: 'not-applicable', reason: 'the unit has no login (POST /api/login: 404): it has no password to change over the network' };
  if (!p.setupKey || !p.password) {
    return { verdict: 'needs-human', reason: 'no credentials: give the password in force (HOSHI_PASSWORD) and the setup key (--label FILE or HOSHI_SETUP_KEY)' };
  }
  const key = p.setupKey;
  const original = p.password;
  const s = await ownerSession(p, c);
  if (typeof s === 'string') return { verdict: s.startsWith('the unit has no login') ? 'not-applicable' : 'needs-human', reason: s };
  if (s.mustChange) {
    await logout(p, s);
    return { verdict: 'needs-human', reason: 'the unit is in its first-use state (the label\'s password, change forced): the probe does not choose the owner\'s first password; change it (hoshi password) and run again with HOSHI_PASSWORD' };
  }
  const min = (await minLengthOf(p, c)) ?? 8;
  const identity = identityOf(p);
  const refusal = checkNewPassword(original, identity, min);
  if ((refusal || (p.label && original === p.label.defaultPassword)) && !p.o.newPasswordFile) {
    await logout(p, s);
    return { verdict: 'needs-human', reason: 'the password in force would not be taken back by the policy (' + (refusal ? refusal.rule : 'default') + '): the probe would leave the unit with a password of its own; pass --new-password-file FILE to allow that' };
  }
  const fresh = strongPassword(identity, min);
  passwordSecret(p, 'the new password', fresh);
  try {
    await changePassword(s, key, fresh, { iterations: s.iterations });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    rethrowIfSpent(p);
    return { verdict: 'fail', reason: 'the unit refused a random password of ' + fresh.length + ' characters: ' + cut(error.message, 200) };
  }
  p.password = fresh;
  c.evidence.push({ change: 'to a random password of ' + fresh.length + ' characters, through the admin channel', outcome: 'accepted' });
  const old = await attempt(p, c, original, key, 'the previous password, after the change');
  if (old.session) {
    c.failures.push('the previous password still logs in after the change');
    await logout(p, old.session);
  }
  const next = await attempt(p, c, fresh, key, 'the new password');
  if (!next.session) {
    // The unit refuses the password it accepted: the probe cannot set the original back.
    c.failures.push('the new password does not log in (' + next.a.outcome + (next.a.status ? ' ' + next.a.status : '') + ')');
    writeKept(p, c, fresh);
    return { verdict: 'fail', reason: c.failures.join('; ') };
  }
  try {
    await changePassword(next.session, key, original, { iterations: next.session.iterations });
    p.password = original;
    c.evidence.push({ change: 'back to the password in force before', outcome: 'accepted' });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    rethrowIfSpent(p);
    c.evidence.push({ change: 'back to the password in force before', outcome: 'refused', detail: cut(error.message, 200) });
    writeKept(p, c, fresh);
  }
  if (p.password === original) {
    const back = await attempt(p, c, original, key, 'the original password, set again');
    if (back.session) await logout(p, back.session);
    else c.failures.push('the original password, set again, does not log in');
  }
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  return {
    verdict: 'pass',
    reason: 'changed to a random password of ' + fresh.length + ' characters through the admin channel: the previous one then refused (401), the new one logged in; ' + (p.password === original ? 'the original set again and logged in' : 'the unit refused the original back and keeps the new one (' + (p.o.newPasswordFile ? 'written to ' + p.o.newPasswordFile : 'a factory data wipe brings back the label\'s') + ')'),
  };
}

function rethrowIfSpent(p: Probe): void {
  if (p.budget.spent) throw new Spent('budget spent');
}

/** The unit keeps a password the probe chose: it goes to the file the user named, and nowhere else. */
function writeKept(p: Probe, c: CheckRun, password: string): void {
  const file = p.o.newPasswordFile;
  if (file) {
    writeFileSync(file, password + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const why = 'the unit keeps the password the probe set: ' + (file ? 'written to ' + file + ' (mode 0600)' : 'a factory data wipe (or the unit\'s wipe button) brings back the label\'s');
  c.evidence.push({ note: why });
  p.log('password-change: ' + why);
}

/** brute-force (S1.1-04): wrong guesses lead to 429 with Retry-After; after the wait the owner logs in. */
async function checkBruteForce(p: Probe, c: CheckRun): Promise<Outcome> {
  if (p.loginRoute === false) return { verdict: 'not-applicable', reason: 'the unit has no login (POST /api/login: 404): no network authentication to guess' };
  // A clean start: the owner's login resets the count, so the run shows the schedule from zero.
  await resetFailures(p, c, 1);
  await waitUnlocked(p, c);
  // Without the setup key the guesses are made as by someone without the label: they fail and count the same.
  const key = p.setupKey ?? new Uint8Array(randomBytes(16));
  let locked: LoginEvidence | undefined;
  let refused = 0;
  for (let i = 1; i <= MAX_GUESSES && !locked; i++) {
    // Sent at once, as a client that does not wait would: the unit must hold it off by itself.
    const r = await attempt(p, c, '!' + randomBytes(9).toString('base64').slice(0, 11), key, 'wrong guess ' + i, false);
    if (r.a.outcome === 'absent') return { verdict: 'not-applicable', reason: 'the unit has no login (POST /api/login: ' + r.a.status + ')' };
    if (r.session) {
      await logout(p, r.session);
      return { verdict: 'fail', reason: 'a random guess logged in' };
    }
    if (r.a.outcome === 'refused') refused++;
    else if (r.a.outcome === 'locked') locked = r.a;
    else throw new Blocked('guess ' + i + ' was not answered as a login: ' + r.a.outcome + (r.a.status ? ' ' + r.a.status : '') + (r.a.detail ? ' (' + r.a.detail + ')' : ''));
  }
  if (!locked) return { verdict: 'fail', reason: MAX_GUESSES + ' wrong guesses in a row, sent at once, were each checked (401): no lockout (429)' };
  if (!locked.retryAfter) return { verdict: 'fail', reason: 'after ' + refused + ' failures the unit answered 429 without a Retry-After' };
  const seen = refused + (refused === 1 ? ' failure' : ' failures') + ' (401), then 429 locked with Retry-After ' + locked.retryAfter + ' s';
  if (!p.password || !p.setupKey || p.credentials === false) {
    return { verdict: 'needs-human', reason: seen + '; recovery not checked: without the owner\'s credentials (HOSHI_PASSWORD, setup key) the probe cannot see the owner log in after the wait' };
  }
  const waited = now();
  const r = await attempt(p, c, p.password, p.setupKey, 'the owner\'s password, after the Retry-After');
  if (r.session) {
    await logout(p, r.session);
    return { verdict: 'pass', reason: seen + '; after waiting ' + Math.round((now() - waited) / 1000) + ' s the owner\'s password logged in (the lockout ends by itself)' };
  }
  if (r.a.outcome === 'locked') {
    const again = await attempt(p, c, p.password, p.setupKey, 'the owner\'s password, after a second Retry-After');
    if (again.session) {
      await logout(p, again.session);
      return { verdict: 'pass', reason: seen + '; the owner\'s password logged in after a second wait (' + Math.round((now() - waited) / 1000) + ' s in all)' };
    }
  }
  return { verdict: 'fail', reason: seen + '; after the wait the owner\'s password did not log in (' + r.a.outcome + (r.a.status ? ' ' + r.a.status : '') + ')' };
}

/** The package given: parsed, or why it cannot be used. */
function readPackage(bytes: Uint8Array): ParsedPackage | string {
  const parsed = parsePackage(bytes);
  return parsed.ok ? parsed.value : parsed.code + ': ' + parsed.reason;
}

/** update (S1.1-06, -08, -14): refused packages, the valid one installed, kept, and not taken again. */
async function checkUpdate(p: Probe, c: CheckRun): Promise<Outcome> {
  const info = await http(p, 'GET', '/api/info', { keepBody: true });
  c.evidence.push(info.x);
  const running = info.json && typeof info.json.firmwareVersion === 'string' ? info.json.firmwareVersion : undefined;
  if (!running) return { verdict: 'fail', reason: 'GET /api/info shows no firmware version' };
  if (!p.o.package) return { verdict: 'needs-human', reason: 'the firmware version is shown (' + running + '); installing not tried: give a signed package the unit should accept (--package FILE)' };
  const pkg = readPackage(p.o.package);
  if (typeof pkg === 'string') return { verdict: 'needs-human', reason: 'the package given is not one: ' + pkg };
  const m = pkg.manifest;
  if (m.version === undefined) return { verdict: 'needs-human', reason: 'the package given is not an image package (a key rotation?)' };
  const version = m.version;
  if (m.model !== info.json!.model) return { verdict: 'needs-human', reason: 'the package is for model ' + m.model + ', the unit is ' + String(info.json!.model) };
  if (compareVersions(version, running) <= 0) return { verdict: 'needs-human', reason: 'the package\'s version ' + version + ' is not newer than the unit\'s ' + running + ': give a newer one' };
  let older: ParsedPackage | undefined;
  if (p.o.olderPackage) {
    const o = readPackage(p.o.olderPackage);
    if (typeof o === 'string') return { verdict: 'needs-human', reason: 'the older package given is not one: ' + o };
    if (o.manifest.version === undefined) return { verdict: 'needs-human', reason: 'the older package given is not an image package' };
    if (compareVersions(o.manifest.version, version) >= 0) return { verdict: 'needs-human', reason: 'the "older" package (' + o.manifest.version + ') is not older than the package (' + version + ')' };
    older = o;
  }
  const s = await ownerSession(p, c);
  if (typeof s === 'string') return { verdict: s.startsWith('the unit has no login') ? 'fail' : 'needs-human', reason: 'version ' + running + ' shown; a package was given but it cannot be sent: ' + s };
  if (s.mustChange) {
    await logout(p, s);
    return { verdict: 'needs-human', reason: 'version ' + running + ' shown; the unit is in its first-use state: change the password first' };
  }
  const remaining = (): number => Math.max(1000, p.budget.deadline - now());
  const poll = { pollMs: 250 };
  // Each refusal: the package is not installed, and the reason is the unit's.
  const refusedAs = async (session: Session, bytes: Uint8Array, what: string): Promise<string | undefined> => {
    const started = now();
    try {
      await updateDevice(session, bytes, version, { ...poll, waitMs: Math.min(60000, remaining()) });
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      rethrowIfSpent(p);
      c.evidence.push({ package: what, outcome: 'refused', status: error.status, error: error.error, detail: cut(error.message, 200), ms: now() - started });
      return error.error ?? error.code;
    }
    c.evidence.push({ package: what, outcome: 'installed', ms: now() - started });
    c.failures.push(what + ' was installed');
    return undefined;
  };
  // A copy re-signed with a key the probe makes now (the unit trusts only its release keys).
  const stranger = newSigningKey();
  const wrongKey = encodePackage({ ...m, kid: stranger.kid }, pkg.body, stranger);
  const codes: string[] = [];
  const wk = await refusedAs(s, wrongKey, 'a copy signed by a key the probe made');
  if (wk) codes.push('wrong key: ' + wk);
  // One byte of the payload changed: its digest no longer matches the signed manifest's.
  const tampered = new Uint8Array(p.o.package);
  tampered[tampered.length - 1] ^= 0x01;
  const tp = await refusedAs(s, tampered, 'a copy with its last payload byte changed');
  if (tp) codes.push('tampered: ' + tp);
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  const between = await http(p, 'GET', '/api/info', { keepBody: true });
  c.evidence.push(between.x);
  if (between.json?.firmwareVersion !== running) c.failures.push('after the refusals the unit shows version ' + String(between.json?.firmwareVersion) + ', not ' + running);
  // The valid package, followed until the unit runs it (it restarts onto the new image on trial).
  const started = now();
  try {
    const result = await updateDevice(s, p.o.package, version, { ...poll, waitMs: Math.min(600000, remaining()) });
    c.evidence.push({ package: 'the package given (' + version + ', counter ' + m.counter + ')', outcome: 'installed', version: result.version, securityCounter: result.securityCounter, ms: now() - started });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    rethrowIfSpent(p);
    c.evidence.push({ package: 'the package given (' + version + ')', outcome: 'not installed', status: error.status, error: error.error, detail: cut(error.message, 200), ms: now() - started });
    c.failures.push('the package given was not installed: ' + cut(error.message, 200));
    return { verdict: 'fail', reason: c.failures.join('; ') };
  }
  // The restart ended the sessions. The image on trial confirms once it serves: the boot record
  // then names its slot active and good, and the version stays across restarts.
  let confirmed: { [name: string]: unknown } | undefined;
  const s2 = await ownerSession(p, c);
  if (typeof s2 === 'string') return { verdict: 'needs-human', reason: 'installed; the confirmation not seen: ' + s2 };
  for (let i = 0; i < 40 && !confirmed; i++) {
    const a = await s2.call('GET', '/api/update').catch((error: unknown) => rethrow(p, error));
    const running2 = a.body.running as { slot?: number; trial?: boolean; version?: string } | undefined;
    const slots = a.body.slots as { state?: string; version?: string }[] | undefined;
    if (a.status === 200 && running2 && running2.trial === false && slots && slots[running2.slot ?? 0]?.state === 'good') {
      confirmed = a.body;
      c.evidence.push({ request: 'GET /api/update', status: 200, running: running2, securityCounter: a.body.securityCounter, slots });
    } else await pause(p, 250);
  }
  if (!confirmed) c.failures.push('the new image did not confirm (GET /api/update still shows a trial)');
  const after = await http(p, 'GET', '/api/info', { keepBody: true });
  c.evidence.push(after.x);
  if (after.json?.firmwareVersion !== version) c.failures.push('after the update the unit shows version ' + String(after.json?.firmwareVersion) + ', not ' + version);
  if (p.info && after.json) p.info = after.json;
  // The same package again, and the older one: not newer than what runs.
  const again = await refusedAs(s2, p.o.package, 'the same package again');
  if (again) codes.push('again: ' + again);
  if (older && p.o.olderPackage) {
    const ol = await refusedAs(s2, p.o.olderPackage, 'the older package (' + older.manifest.version + ')');
    if (ol) codes.push('older: ' + ol);
  }
  await logout(p, s2);
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  return {
    verdict: 'pass',
    reason: 'version shown (' + running + '); refused: ' + codes.join(', ') + '; the package given installed: the unit restarted on ' + version + ' and confirmed it (slot good, no trial), and shows it' + (older ? '' : ' (no --older-package: an older one not tried)') + '. A power cut: run again with --expect-version ' + version + ' after one',
  };
}

/** The interfaces the unit publishes (`status.interfaces`, modules/interfaces): TCP ports declared, what the board left open. */
function declaredOf(summary: string): { tcp: number[]; others: string[]; notClosed: string[] } {
  const [open = '', rest = ''] = summary.split('; not closed:');
  const tcp: number[] = [];
  const others: string[] = [];
  for (const name of open.trim().split(/\s+/).filter(Boolean)) {
    const m = /^tcp\/(\d+)$/.exec(name);
    if (m) tcp.push(Number(m[1]));
    else others.push(name);
  }
  return { tcp, others, notClosed: rest.trim().split(/\s+/).filter(Boolean) };
}

/** A loopback address: other programs of this machine listen there too. */
const loopback = (address: string): boolean => /^127\./.test(address) || address === '::1';

/** interfaces (S1.1-13): a TCP scan of the unit's address against what the unit declares. */
async function checkInterfaces(p: Probe, c: CheckRun): Promise<Outcome> {
  const info = await http(p, 'GET', '/api/info');
  c.evidence.push(info.x);
  const status = info.json?.status as { interfaces?: unknown } | undefined;
  const summary = typeof status?.interfaces === 'string' ? status.interfaces : undefined;
  const d = summary !== undefined ? declaredOf(summary) : { tcp: [], others: [], notClosed: [] };
  // A declaration must name the port the probe talks to as well; without one, that port is taken as
  // the only one declared (and the verdict says the documents must list the interfaces).
  const declared = summary !== undefined ? d.tcp : [p.port];
  const s = p.o.scan ?? {};
  const near = loopback(p.address);
  // On a loopback address, a control address of the same loopback tells other programs' listeners
  // on every address (0.0.0.0) from the unit's: only when given, so that by default the probe
  // connects to the unit's address alone.
  const control = near ? s.control : undefined;
  const scan = await scanListeners(p.address, { from: s.from, to: s.to, concurrency: s.concurrency ?? (near ? 512 : 8), timeoutMs: s.timeoutMs ?? (near ? 1000 : 1500), control });
  if (now() >= p.budget.deadline) {
    p.budget.spent ??= 'time';
    throw new Spent('budget spent');
  }
  // The probe's own relay listens on 127.0.0.1: not the unit's.
  const open = scan.open.filter((port) => !(p.address === '127.0.0.1' && port === p.relay.port));
  const undeclared = open.filter((port) => !declared.includes(port));
  c.evidence.push({
    published: summary ?? null,
    declaredTcp: declared,
    scan: { address: scan.address, control: scan.control ?? null, ports: (s.from ?? 1) + '-' + (s.to ?? 65535), open, leftOut: scan.others, probes: scan.probes, ms: scan.ms },
    undeclared,
    note: 'TCP only: an open UDP port need not answer a probe (docs/interfaces.md)',
  });
  if (undeclared.length && p.address === '127.0.0.1') {
    return { verdict: 'needs-human', reason: 'open on 127.0.0.1 and not declared by the unit: tcp/' + undeclared.join(', tcp/') + '; other programs of this machine listen on 127.0.0.1 too and cannot be told from the unit\'s: a unit on an address of its own (a board on the LAN; a simulated unit on another loopback address, boards/host/net.ts) is scanned alone' };
  }
  if (undeclared.length && near && !control) {
    return { verdict: 'needs-human', reason: 'open on ' + p.address + ' and not declared by the unit: tcp/' + undeclared.join(', tcp/') + '; on a loopback address another program listening on every address answers too: give --scan-control with another loopback address to tell them apart' };
  }
  if (undeclared.length) return { verdict: 'fail', reason: 'open TCP port(s) the unit does not declare: ' + undeclared.join(', ') + (summary !== undefined ? ' (it declares: ' + summary + ')' : ' (it publishes no declaration)') };
  const found = 'every open TCP port of ' + p.address + ' is declared (' + (open.map((x) => 'tcp/' + x).join(' ') || 'none open') + ')';
  if (summary === undefined) return { verdict: 'needs-human', reason: found + ', taking the HTTP port as declared: the unit publishes no declaration (status.interfaces, modules/interfaces); the documents must list its interfaces' };
  if (d.notClosed.length) return { verdict: 'needs-human', reason: found + '; the unit reports interfaces its board cannot close (' + d.notClosed.join(', ') + '): the maker\'s documents must justify them or the product close them (docs/interfaces.md)' };
  const noted = d.tcp.includes(p.port) ? '' : ' (the declaration names tcp/' + d.tcp.join(', tcp/') + ', the unit answers on ' + p.port + ')';
  return { verdict: 'pass', reason: found + noted + '; declared: ' + summary + '; UDP not scanned' };
}

/** wipe (S1.1-15): the factory data wipe, then the firmware kept and the label's password back. */
async function checkWipe(p: Probe, c: CheckRun): Promise<Outcome> {
  if (!p.o.wipe) return { verdict: 'needs-human', reason: 'not run: it erases the unit\'s user data (password, Wi-Fi, settings, log); pass --wipe to run it' };
  const s = await ownerSession(p, c);
  if (typeof s === 'string') return { verdict: 'needs-human', reason: 'the wipe needs a login as the owner: ' + s + ' (a unit may also be wiped by its button: docs/security.md)' };
  if (s.mustChange) {
    await logout(p, s);
    return { verdict: 'needs-human', reason: 'the unit is in its first-use state already (the label\'s password): nothing of a user\'s to wipe; change the password and run again' };
  }
  const before = await http(p, 'GET', '/api/info');
  c.evidence.push(before.x);
  const version = before.json?.firmwareVersion;
  const previous = p.password!;
  const started = now();
  let answer: { status: number; body: { [name: string]: unknown } };
  try {
    answer = await s.call('POST', '/api/wipe', { confirm: 'wipe' });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    rethrowIfSpent(p);
    return { verdict: 'fail', reason: 'POST /api/wipe through the admin channel: ' + cut(error.message, 200) };
  }
  c.evidence.push({ request: 'POST /api/wipe {"confirm":"wipe"}, protected', status: answer.status, error: answer.body.error, ms: now() - started });
  if (answer.status === 404) return { verdict: 'fail', reason: 'the unit has no factory data wipe on the network (POST /api/wipe: 404)' };
  if (answer.status >= 300) return { verdict: 'fail', reason: 'POST /api/wipe refused: ' + answer.status + ' ' + String(answer.body.error ?? '') };
  // The restart: the session (in RAM) ends with it; then the unit answers again.
  let restarted = false;
  for (let i = 0; i < 240 && !restarted; i++) {
    await pause(p, 250);
    try {
      const a = await s.call('GET', '/api/session');
      restarted = a.status === 401;
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      rethrowIfSpent(p);
      restarted = error.code === 'network' || error.status === 401;
    }
  }
  let back: Awaited<ReturnType<typeof http>> | undefined;
  for (let i = 0; i < 240 && !(back && back.x.status === 200); i++) {
    if (i > 0) await pause(p, 250);
    back = await http(p, 'GET', '/api/info');
  }
  c.evidence.push({ restarted: restarted && back?.x.status === 200, ms: now() - started });
  if (!restarted || back?.x.status !== 200) return { verdict: 'fail', reason: 'the unit did not come back after the wipe within a minute' };
  if (back.json?.firmwareVersion !== version) c.failures.push('the firmware version changed with the wipe: ' + String(version) + ' → ' + String(back.json?.firmwareVersion));
  const old = await attempt(p, c, previous, p.setupKey!, 'the password set before the wipe');
  if (old.session) {
    c.failures.push('the password set before the wipe still logs in');
    await logout(p, old.session);
  }
  let labelBack = 'the label not given (--label FILE): its password\'s return not checked';
  if (p.label) {
    const r = await attempt(p, c, p.label.defaultPassword, p.setupKey!, 'the label\'s default password, after the wipe');
    if (r.session && r.session.mustChange) {
      labelBack = 'the label\'s password logs in again, with the change forced';
      p.password = p.label.defaultPassword;
      p.firstUse = true;
      await logout(p, r.session);
    } else if (r.session) {
      c.failures.push('after the wipe the label\'s password logs in without a forced change');
      await logout(p, r.session);
    } else c.failures.push('after the wipe the label\'s password does not log in (' + r.a.outcome + (r.a.status ? ' ' + r.a.status : '') + ')');
  }
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  const seen = 'wiped through the admin channel; the unit restarted on the same firmware (' + String(version) + '); the password set before is refused; ';
  if (!p.label) return { verdict: 'needs-human', reason: seen + labelBack };
  return { verdict: 'pass', reason: seen + labelBack + '. The unit is now as from the factory: first use, label password, setup access point' };
}

/** channel (S1.1-12): admin requests must be protected; the capture of the whole run holds no secret. */
async function checkChannel(p: Probe, c: CheckRun): Promise<Outcome> {
  const findings: string[] = [];
  let exercised = '';
  const s = p.loginRoute === false ? 'the unit has no login (POST /api/login: 404)' : await ownerSession(p, c);
  if (typeof s !== 'string') {
    // A plain request with the session's valid token.
    const plain = await http(p, 'GET', '/api/session', { headers: { Authorization: 'Bearer ' + s.token }, as: 'plain, with a valid session token' });
    c.evidence.push(plain.x);
    if (plain.x.status !== undefined && plain.x.status < 300) c.failures.push('a plain GET /api/session with a valid token was answered ' + plain.x.status);
    else if (!(plain.x.status === 400 && plain.x.error === 'channel-required')) findings.push('the plain request was refused ' + (plain.x.status ?? plain.x.network) + ' ' + (plain.x.error ?? '') + ', not 400 channel-required');
    // One protected request sent twice, then one with a byte changed.
    const send = async (message: Uint8Array, as: string): Promise<Exchange> => {
      const a = await http(p, 'GET', '/api/session', { headers: { Authorization: 'Bearer ' + s.token, [CHANNEL_HEADER]: Buffer.from(message).toString('base64') }, as });
      c.evidence.push(a.x);
      return a.x;
    };
    const seq = s.seq++;
    const message = protectRequest(jsCrypto, s.keys, seq, 'GET /api/session', new Uint8Array(0));
    const first = await send(message, 'protected');
    const replay = await send(message, 'the same protected request again');
    const altered = protectRequest(jsCrypto, s.keys, s.seq++, 'GET /api/session', new Uint8Array(0));
    altered[altered.length - 1] ^= 0x01;
    const changed = await send(altered, 'protected, one byte changed');
    if (first.status !== 200 || !(first.contentType ?? '').startsWith('application/cose')) findings.push('the protected request was answered ' + (first.status ?? first.network) + ' ' + (first.contentType ?? ''));
    if (replay.status !== undefined && replay.status < 300) c.failures.push('a replayed protected request was answered ' + replay.status);
    if (changed.status !== undefined && changed.status < 300) c.failures.push('a protected request with a byte changed was answered ' + changed.status);
    if (replay.error !== 'channel-replayed') findings.push('the replay was refused ' + (replay.status ?? replay.network) + ' ' + (replay.error ?? '') + ', not channel-replayed');
    if (changed.error !== 'channel-unauthentic') findings.push('the altered request was refused ' + (changed.status ?? changed.network) + ' ' + (changed.error ?? '') + ', not channel-unauthentic');
    // The answer must open under the session's keys (the device's sender key).
    try {
      const state = await s.state();
      c.evidence.push({ request: 'GET /api/session', as: 'protected, through the host client', answer: 'authenticated', mustChange: state.mustChange });
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      rethrowIfSpent(p);
      c.failures.push('a protected answer did not authenticate: ' + cut(error.message, 200));
    }
    await logout(p, s);
  } else exercised = 'no session: ' + s + '; ';
  // Everything the probe sent and received, searched for every secret it knows.
  const streams = p.relay.streams();
  const found = new Set<string>();
  for (const stream of streams) {
    for (const q of p.patterns) if (stream.up.includes(q.bytes) || stream.down.includes(q.bytes)) found.add(q.name);
  }
  const names = [...new Set(p.patterns.map((q) => q.name))];
  c.evidence.push({
    capture: {
      relay: '127.0.0.1:' + p.relay.port,
      forwardedTo: [...new Set(p.relay.connected)],
      connections: p.relay.connected.length,
      bytesToUnit: p.relay.bytes.up,
      bytesFromUnit: p.relay.bytes.down,
    },
    searched: names,
    forms: 'as bytes, hex (both cases), base64 and base64url at every alignment, base32, URL- and JSON-escaped',
    patterns: p.patterns.length,
    found: [...found],
  });
  if (found.size) c.failures.push('the traffic holds ' + [...found].join(', '));
  if (c.failures.length) return { verdict: 'fail', reason: c.failures.join('; ') };
  const traffic = 'the whole run\'s traffic (' + (p.relay.bytes.up + p.relay.bytes.down) + ' bytes, ' + p.relay.connected.length + ' connections)';
  const capture = names.length ? traffic + ' holds none of the ' + names.length + ' secrets searched (' + names.join(', ') + ')' : traffic + ' not searched: the probe knows no secret of the unit';
  if (exercised) return { verdict: p.loginRoute === false ? 'not-applicable' : 'needs-human', reason: exercised + 'the admin channel not exercised; ' + capture };
  if (findings.length) return { verdict: 'needs-human', reason: 'nothing unprotected was answered, but ' + findings.join('; ') + '; ' + capture };
  return { verdict: 'pass', reason: 'a plain request with a valid token refused (400 channel-required), a replayed one (channel-replayed) and an altered one (channel-unauthentic); protected answers authenticate; ' + capture };
}

const CHECKS: { [id in ConformCheckId]: { title: string; run: (p: Probe, c: CheckRun) => Promise<Outcome> } } = {
  info: { title: 'Model and firmware version shown (GET /api/info)', run: checkInfo },
  'auth-required': { title: 'Every non-public route refuses requests without a valid session', run: checkAuthRequired },
  'default-password': { title: 'The label\'s and well-known default passwords do not log in', run: checkDefaultPassword },
  'password-change': { title: 'The password can be changed over the network', run: checkPasswordChange },
  'brute-force': { title: 'Repeated wrong guesses are locked out, and the lockout ends', run: checkBruteForce },
  update: { title: 'Signed updates: tampered, wrong-key and older packages refused, the valid one installed and kept', run: checkUpdate },
  channel: { title: 'Admin traffic is protected: plain, replayed and altered requests refused, no secret on the wire', run: checkChannel },
  interfaces: { title: 'A TCP scan finds only the interfaces the unit declares', run: checkInterfaces },
  wipe: { title: 'Factory data wipe: the user\'s password gone, the firmware kept', run: checkWipe },
};

/**
 * The order the checks run in: the channel check last, so that its search covers the traffic of
 * every other check (the password changes, the uploads, the wipe).
 */
const RUN_ORDER: ConformCheckId[] = ['info', 'auth-required', 'default-password', 'password-change', 'brute-force', 'update', 'interfaces', 'wipe', 'channel'];

// ---------------------------------------------------------------------------------------------
// The run

function kitVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

/** Replaces every form of a secret in `value` (strings, deeply) with "[redacted]". */
function redacted<T>(value: T, forms: string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let out = v;
      for (const f of forms) if (out.includes(f)) out = out.split(f).join('[redacted]');
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o: { [k: string]: unknown } = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = walk(x);
      return o;
    }
    return v;
  };
  return walk(value) as T;
}

/** The address of `host` that takes a connection on `port` (a name may have several, e.g. localhost: ::1 and 127.0.0.1). */
async function resolve(host: string, port: number): Promise<string> {
  const all = await lookup(host, { all: true });
  for (const a of all) if (await probeTcp(a.address, port, 2000)) return a.address;
  return all[0]!.address;
}

/**
 * Runs the checks against the unit at `options.url` and returns the report (nothing is written:
 * `conformCommand` writes it). Programming errors (a bad option) throw naming the field; whatever
 * the unit does is a verdict.
 */
export async function runConform(options: ConformOptions): Promise<ConformReport> {
  const target = parseTarget(options.url);
  if (typeof target === 'string') throw new RangeError('url: ' + target);
  // A package given adds what its uploads may take: the tampered copy and the valid one whole, in
  // chunks as small as a unit's smallest body limit (1 KB), and the heads of the others.
  const uploads = options.package ? 2 * Math.ceil(options.package.length / 1024) + 16 : 0;
  const maxRequests = options.maxRequests ?? CONFORM_DEFAULTS.maxRequests + uploads;
  const maxSeconds = options.maxSeconds ?? CONFORM_DEFAULTS.maxSeconds;
  if (!(Number.isInteger(maxRequests) && maxRequests >= 1)) throw new RangeError('maxRequests: a positive integer');
  if (!(maxSeconds > 0)) throw new RangeError('maxSeconds: a positive number');
  if (options.setupKey && options.setupKey.length !== 16) throw new RangeError('setupKey: 16 bytes');
  const labelKey = options.label ? parseSetupKey(options.label.setupKey) : undefined;
  if (options.label && (!labelKey || typeof options.label.defaultPassword !== 'string')) throw new RangeError('label: { defaultPassword, setupKey (26 base32 characters) }');
  if (labelKey && options.setupKey && Buffer.compare(Buffer.from(labelKey), Buffer.from(options.setupKey)) !== 0) throw new RangeError('setupKey: not the label\'s');
  for (const id of options.checks ?? []) if (!(id in CONFORM_CHECKS)) throw new RangeError('checks: unknown check ' + id);
  const started = new Date();
  if (options.scan?.control !== undefined && !(loopback(options.scan.control) && isIP(options.scan.control))) throw new RangeError('scan.control: a loopback address (127.x.y.z)');
  const address = isIP(target.host) ? target.host : await resolve(target.host, target.port);
  const relay = await startRelay(address, target.port);
  const budget = boundedFetch(new URL(relay.url).origin, maxRequests, started.getTime() + maxSeconds * 1000);
  const p: Probe = {
    o: options,
    target: options.url,
    address,
    port: target.port,
    url: relay.url,
    relay,
    budget,
    maxWaitMs: (options.maxWaitS ?? CONFORM_DEFAULTS.maxWaitS) * 1000,
    log: options.log ?? (() => undefined),
    setupKey: options.setupKey ?? labelKey,
    password: options.password,
    label: options.label,
    failures: 0,
    lockedUntil: 0,
    patterns: [],
    redact: new Set(),
  };
  if (p.setupKey) secret(p, 'the setup key', p.setupKey);
  if (p.password) passwordSecret(p, 'the password', p.password);
  if (p.label) passwordSecret(p, 'the label\'s default password', p.label.defaultPassword);
  const results = new Map<ConformCheckId, ConformCheck>();
  let unreachable = false;
  try {
    await withBudget(budget, async () => {
      for (const id of RUN_ORDER) {
        const c: CheckRun = { evidence: [], failures: [] };
        const result = (verdict: Verdict, reason: string): void => {
          results.set(id, { id, criteria: [...CONFORM_CHECKS[id]], title: CHECKS[id].title, verdict, reason, evidence: c.evidence });
          p.log(id + ': ' + verdict + ': ' + reason);
        };
        if (options.checks && !options.checks.includes(id)) {
          result('needs-human', 'not run: not selected (--checks)');
          continue;
        }
        if (unreachable) {
          result('needs-human', 'not run: the unit did not answer GET /api/info');
          continue;
        }
        if (budget.spent || now() >= budget.deadline) {
          budget.spent ??= 'time';
          result('needs-human', spentReason(budget, maxSeconds));
          continue;
        }
        p.log(id + ' …');
        try {
          const o = await CHECKS[id].run(p, c);
          result(o.verdict, o.reason);
        } catch (error) {
          if (error instanceof Spent || budget.spent) {
            budget.spent ??= 'time';
            result(c.failures.length ? 'fail' : 'needs-human', (c.failures.length ? c.failures.join('; ') + '; then ' : '') + spentReason(budget, maxSeconds) + ', before the check ended');
          } else if (error instanceof Blocked) result(c.failures.length ? 'fail' : 'needs-human', [...c.failures, error.message].join('; '));
          else result(c.failures.length ? 'fail' : 'needs-human', [...c.failures, 'the check stopped: ' + (error as Error).message].join('; '));
        }
        if (id === 'info' && c.evidence.length && (c.evidence[0] as Exchange).network) unreachable = true;
      }
    });
  } finally {
    await relay.close();
  }
  const forms = [...p.redact].sort((a, b) => b.length - a.length);
  const report: ConformReport = {
    tool: 'hoshi conform',
    kitVersion: kitVersion(),
    target: options.url,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    requests: budget.requests,
    device: p.firstInfo === undefined ? null : redacted(p.firstInfo, forms),
    checks: (Object.keys(CONFORM_CHECKS) as ConformCheckId[]).map((id) => redacted(results.get(id)!, forms)),
  };
  return report;
}

function spentReason(b: Budget, maxSeconds: number): string {
  return 'budget spent: ' + (b.spent === 'requests' ? b.maxRequests + ' requests' : maxSeconds + ' s');
}

// ---------------------------------------------------------------------------------------------
// The command

export const CONFORM_USAGE = `  hoshi conform <device-url> [options]   a self-test of a live unit from the network, one check per ★1
                                   criterion observable there (docs/conformance.md); not a lab's evaluation
      --label FILE          the unit's label record (default password, setup key)
      --model M             the model number the unit must show
      --expect-version V    the firmware version the unit must show
      --package FILE        a signed package the unit should accept: installed (the unit keeps the new version)
      --older-package FILE  a signed package older than --package: must be refused
      --wipe                run the factory data wipe (erases the unit's password, Wi-Fi, settings and log)
      --checks A,B          run these checks only (${Object.keys(CONFORM_CHECKS).join(', ')})
      --route "METHOD /path"  a non-public route of the product to probe too (repeatable)
      --new-password-file FILE  where the password the probe sets goes if the unit refuses the original back
      --out DIR             write DIR/conform.json and DIR/conform.md
      --max-requests N      HTTP requests in all, the port scan not counted (default ${CONFORM_DEFAULTS.maxRequests},
                            plus two uploads of --package in 1 KB chunks)
      --max-seconds S       time for the whole run (default ${CONFORM_DEFAULTS.maxSeconds})
      --max-wait S          the longest wait for a lockout to end (default ${CONFORM_DEFAULTS.maxWaitS})
      --scan-ports A-B      the TCP ports scanned (default 1-65535)
      --scan-concurrency N  connection attempts at once (default 512 on loopback, 8 on the LAN)
      --scan-timeout MS     silence counted as closed (default 1000 on loopback, 1500 on the LAN)
      --scan-control ADDR   a unit on a loopback address: another loopback address where it does not listen;
                            a port open there too belongs to another program (default: none, only the unit is scanned)
      the password in force from HOSHI_PASSWORD, the setup key from --label or HOSHI_SETUP_KEY;
      exit codes: 0 every check passed, not applicable or needs a person, 1 a check failed, 2 usage`;

class UsageError extends Error {}

const VALUE_OPTIONS = ['--label', '--model', '--expect-version', '--package', '--older-package', '--checks', '--new-password-file', '--out', '--max-requests', '--max-seconds', '--max-wait', '--scan-ports', '--scan-concurrency', '--scan-timeout', '--scan-control'];

/** The command's arguments as options for `runConform` (files read), or a usage error. */
function optionsOf(args: string[], env: NodeJS.ProcessEnv): { options: ConformOptions; out?: string } {
  const one: { [name: string]: string } = {};
  const routes: { method: string; path: string }[] = [];
  const positional: string[] = [];
  let wipe = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--wipe') {
      wipe = true;
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new UsageError(a + ' needs a value');
    if (a === '--route') {
      const m = /^(GET|HEAD|POST|PUT|PATCH|DELETE) (\/[\x21-\x7e]*)$/.exec(value);
      if (!m) throw new UsageError('--route takes "METHOD /path", e.g. "PUT /api/thing"');
      routes.push({ method: m[1]!, path: m[2]! });
      continue;
    }
    if (!VALUE_OPTIONS.includes(a)) throw new UsageError('unknown option ' + a);
    if (one[a] !== undefined) throw new UsageError(a + ' given twice');
    one[a] = value;
  }
  if (positional.length !== 1) throw new UsageError(positional.length ? 'one device URL only' : 'which unit? (e.g. http://127.0.0.1:8080)');
  const url = positional[0]!;
  const target = parseTarget(url);
  if (typeof target === 'string') throw new UsageError(target);
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = one[name];
    if (v === undefined) return undefined;
    if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(name + ' must be an integer in ' + min + '-' + max);
    return Number(v);
  };
  const read = (name: string): Uint8Array | undefined => {
    const file = one[name];
    if (file === undefined) return undefined;
    try {
      return new Uint8Array(readFileSync(file));
    } catch (error) {
      throw new UsageError(name + ': cannot read ' + file + ': ' + (error as Error).message);
    }
  };
  const options: ConformOptions = { url, wipe, routes };
  if (one['--label'] !== undefined) {
    let label: { defaultPassword?: unknown; setupKey?: unknown };
    try {
      label = JSON.parse(readFileSync(one['--label'], 'utf8'));
    } catch (error) {
      throw new UsageError('--label: cannot read ' + one['--label'] + ': ' + (error as Error).message);
    }
    if (typeof label.defaultPassword !== 'string' || typeof label.setupKey !== 'string' || !parseSetupKey(label.setupKey)) throw new UsageError('--label: ' + one['--label'] + ' is not a label record (defaultPassword, setupKey)');
    options.label = { defaultPassword: label.defaultPassword, setupKey: label.setupKey };
  }
  if (env.HOSHI_SETUP_KEY !== undefined) {
    const key = parseSetupKey(env.HOSHI_SETUP_KEY);
    if (!key) throw new UsageError('HOSHI_SETUP_KEY must be 26 base32 characters (as on the label)');
    if (options.label && base32Encode(key) !== base32Encode(parseSetupKey(options.label.setupKey)!)) throw new UsageError('HOSHI_SETUP_KEY is not the setup key of --label');
    options.setupKey = key;
  }
  if (env.HOSHI_PASSWORD !== undefined && env.HOSHI_PASSWORD !== '') options.password = env.HOSHI_PASSWORD;
  if (one['--model'] !== undefined) options.model = one['--model'];
  if (one['--expect-version'] !== undefined) {
    if (!/^\d+\.\d+\.\d+$/.test(one['--expect-version'])) throw new UsageError('--expect-version is MAJOR.MINOR.PATCH');
    options.expectVersion = one['--expect-version'];
  }
  options.package = read('--package');
  options.olderPackage = read('--older-package');
  for (const [name, bytes] of [['--package', options.package], ['--older-package', options.olderPackage]] as const) {
    if (bytes) {
      const p = readPackage(bytes);
      if (typeof p === 'string') throw new UsageError(name + ': not a package: ' + p);
    }
  }
  if (options.olderPackage && !options.package) throw new UsageError('--older-package goes with --package');
  if (one['--checks'] !== undefined) {
    const ids = one['--checks'].split(',').map((x) => x.trim()).filter(Boolean);
    for (const id of ids) if (!(id in CONFORM_CHECKS)) throw new UsageError('--checks: unknown check ' + id + ' (' + Object.keys(CONFORM_CHECKS).join(', ') + ')');
    if (!ids.length) throw new UsageError('--checks: which checks?');
    options.checks = ids as ConformCheckId[];
  }
  if (one['--new-password-file'] !== undefined) options.newPasswordFile = one['--new-password-file'];
  options.maxRequests = int('--max-requests', 1, 100000);
  options.maxSeconds = int('--max-seconds', 1, 86400);
  options.maxWaitS = int('--max-wait', 0, 3600);
  if (one['--scan-ports'] !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(one['--scan-ports']);
    const from = m ? Number(m[1]) : 0;
    const to = m ? Number(m[2]) : 0;
    if (!(from >= 1 && to <= 65535 && from <= to)) throw new UsageError('--scan-ports takes FROM-TO within 1-65535');
    options.scan = { from, to };
  }
  const concurrency = int('--scan-concurrency', 1, 4096);
  const timeoutMs = int('--scan-timeout', 10, 60000);
  if (concurrency !== undefined || timeoutMs !== undefined) options.scan = { ...options.scan, concurrency, timeoutMs };
  const control = one['--scan-control'];
  if (control !== undefined) {
    if (!(isIP(control) && loopback(control)) || !loopback(target.host) || control === target.host) throw new UsageError('--scan-control is another loopback address, for a unit on a loopback address');
    options.scan = { ...options.scan, control };
  }
  return { options, out: one['--out'] };
}

/** The report in a few lines, for a terminal. */
export function conformSummary(report: ConformReport): string {
  const seconds = (Date.parse(report.finished) - Date.parse(report.started)) / 1000;
  const d = report.device;
  const lines = [report.tool + ' ' + report.target + (d ? ': ' + String(d.model) + ' ' + String(d.firmwareVersion) + (d.serial ? ', serial ' + String(d.serial) : '') : '')];
  for (const c of report.checks) lines.push('  ' + c.verdict.padEnd(15) + c.id.padEnd(17) + c.reason);
  const count = (v: Verdict): number => report.checks.filter((c) => c.verdict === v).length;
  lines.push(report.checks.length + ' checks: ' + count('pass') + ' pass, ' + count('fail') + ' fail, ' + count('not-applicable') + ' not applicable, ' + count('needs-human') + ' need a person; ' + report.requests + ' requests, ' + seconds.toFixed(1) + ' s');
  lines.push('a self-test to prepare for ★1, not an evaluation by a lab');
  return lines.join('\n');
}

/** Writes DIR/conform.json and DIR/conform.md. */
export function writeConformReport(report: ConformReport, dir: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'conform.json');
  const md = join(dir, 'conform.md');
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(md, renderConformMarkdown(report));
  return { json, md };
}

/**
 * `hoshi conform <device-url> …`: runs the probe, prints a summary (progress on stderr), writes
 * the report with --out. Returns the exit code: 0 no check failed, 1 one did, 2 usage.
 */
export async function conformCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage:\n' + CONFORM_USAGE);
    return 0;
  }
  let parsed: { options: ConformOptions; out?: string };
  try {
    parsed = optionsOf(args, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error('hoshi conform: ' + error.message + (args.length ? ' (hoshi conform --help lists the options)' : '\nusage:\n' + CONFORM_USAGE));
    return 2;
  }
  let report: ConformReport;
  try {
    report = await runConform({ ...parsed.options, log: (line) => console.error('conform: ' + line) });
  } catch (error) {
    console.error('hoshi conform: ' + (error as Error).message);
    return 1;
  }
  console.log(conformSummary(report));
  if (parsed.out !== undefined) {
    const files = writeConformReport(report, parsed.out);
    console.log('report: ' + files.json + ', ' + files.md);
  }
  return report.checks.some((c) => c.verdict === 'fail') ? 1 : 0;
}

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bruteForce, type Attempt } from '../firmware/host/bruteforce';
import { ROOT } from '../firmware/host/build';
import { changePassword, checkNewPassword, ClientError, deviceInfo, login, newVerifier, nodeScramCrypto, passwordPolicy } from '../firmware/host/client';
import { jsCrypto } from '../modules/crypto/provider-js';
import {
  authMessage,
  parseClientFinal,
  parseClientFirst,
  scramVerifier,
  serverFinalMessage,
  serverFirstMessage,
  verifyProof,
  type ScramVerifier,
} from '../modules/accounts/scram';

/**
 * A tiny fake device speaking docs/accounts.md's login and password API, built from the server
 * functions of modules/accounts/scram.ts on the pure-JS provider: what the client must work with
 * (and detect when the device lacks the verifier). The real module's end-to-end test is elsewhere.
 */
interface FakeOptions {
  password: string;
  /** Sign with this ServerKey instead of the verifier's (a device without the verifier). */
  serverKey?: Uint8Array;
  /** Failed logins before 429s (default: never locked). */
  lockAfter?: number;
  retryAfter?: number;
  /** Refuse every new password with this policy rule (422 password-<rule>). */
  refuseRule?: string;
  /** Answer a login's first step with this instead of a server-first message. */
  serverFirst?: (clientNonce: string) => string;
  /** 503 no-default-password to every login (a version-1 unit). */
  noPassword?: boolean;
}

interface Fake {
  url: string;
  verifier: ScramVerifier;
  fails: number;
  logins: number;
  changes: number;
  close(): Promise<void>;
}

async function fakeDevice(o: FakeOptions): Promise<Fake> {
  const fake = { verifier: scramVerifier(nodeScramCrypto, o.password, new Uint8Array(randomBytes(16)), 4096), fails: 0, logins: 0, changes: 0 } as Fake;
  const pending = new Map<string, { bare: string; serverFirst: string }>();
  const tokens = new Map<string, boolean>();
  let mustChange = true;
  const send = (res: ServerResponse, status: number, body: object, headers: { [n: string]: string } = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, text: string): void => {
    let body: { [n: string]: unknown } = {};
    try {
      body = JSON.parse(text || '{}');
    } catch {
      return send(res, 400, { error: 'bad-json', reason: 'not JSON' });
    }
    if (req.method === 'GET' && req.url === '/api/info') return send(res, 200, { model: 'HS-PLUG-01', vendor: 'Hoshi Devices', serial: 'HS0123456789AB', provisioned: true });
    if (req.method === 'GET' && req.url === '/api/password/policy') return send(res, 200, { minLength: 10, maxLength: 64 });
    if (req.method === 'POST' && req.url === '/api/login') {
      fake.logins++;
      if (o.noPassword) return send(res, 503, { error: 'no-default-password', reason: 'this unit has no default password' });
      if (o.lockAfter !== undefined && fake.fails >= o.lockAfter) {
        const s = o.retryAfter ?? 30;
        return send(res, 429, { error: 'locked', reason: 'too many failed logins', retryAfter: s }, { 'Retry-After': String(s) });
      }
      const message = String(body.scram);
      if (message.startsWith('n,,')) {
        const first = parseClientFirst(message);
        if (typeof first === 'string') return send(res, 400, { error: 'bad-login', reason: first });
        const nonce = first.nonce + Buffer.from(randomBytes(18)).toString('base64');
        const serverFirst = o.serverFirst ? o.serverFirst(first.nonce) : serverFirstMessage(nonce, fake.verifier.salt, fake.verifier.iterations);
        pending.set(nonce, { bare: first.bare, serverFirst });
        return send(res, 200, { scram: serverFirst });
      }
      const final = parseClientFinal(message);
      if (typeof final === 'string') return send(res, 400, { error: 'bad-login', reason: final });
      const login = pending.get(final.nonce);
      pending.delete(final.nonce);
      const m = login && authMessage(login.bare, login.serverFirst, final.withoutProof);
      if (!m || !verifyProof(jsCrypto, fake.verifier.storedKey, m, final.proof)) {
        fake.fails++;
        return send(res, 401, { error: 'login-failed', reason: 'wrong password, or the login is unknown or expired' }, { 'WWW-Authenticate': 'SCRAM-SHA-256 realm="HS-PLUG-01"' });
      }
      fake.fails = 0;
      const token = Buffer.from(randomBytes(18)).toString('base64');
      tokens.set(token, true);
      return send(res, 200, { scram: serverFinalMessage(jsCrypto, o.serverKey ?? fake.verifier.serverKey, m), token, expiresIn: 900, mustChange });
    }
    if (req.method === 'POST' && req.url === '/api/password') {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) return send(res, 401, { error: 'unauthenticated', reason: 'log in first' });
      if (o.refuseRule) return send(res, 422, { error: 'password-' + o.refuseRule, reason: 'refused by the fake device' });
      const salt = Buffer.from(String(body.salt), 'base64');
      const v: ScramVerifier = {
        salt: new Uint8Array(salt),
        iterations: Number(body.iterations),
        storedKey: new Uint8Array(Buffer.from(String(body.storedKey), 'base64')),
        serverKey: new Uint8Array(Buffer.from(String(body.serverKey), 'base64')),
      };
      // The fake checks what the client sent is the password's verifier (the real device cannot).
      const again = scramVerifier(nodeScramCrypto, String(body.password), v.salt, v.iterations);
      if (Buffer.compare(again.storedKey, v.storedKey) !== 0 || Buffer.compare(again.serverKey, v.serverKey) !== 0) {
        return send(res, 400, { error: 'bad-verifier', reason: 'the verifier is not the password\'s' });
      }
      fake.verifier = v;
      fake.changes++;
      mustChange = false;
      tokens.clear();
      return send(res, 200, { ok: true });
    }
    send(res, 404, { error: 'not-found', reason: 'no such route' });
  };
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => handle(req, res, text));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = 'http://127.0.0.1:' + (server.address() as AddressInfo).port;
  fake.close = () => new Promise((r) => server.close(() => r()));
  return fake;
}

async function withFake(t: { teardown(fn: () => Promise<void>): void }, o: FakeOptions): Promise<Fake> {
  const f = await fakeDevice(o);
  t.teardown(() => f.close());
  return f;
}

const PASSWORD = 'k7gj2mpqx9ze';

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error('it did not fail');
}

test('login: SCRAM against the fake device gives a session token, mustChange and the iteration count', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const session = await login(fake.url, PASSWORD);
  t.regex(session.token, /^[A-Za-z0-9+/]{24}$/);
  t.true(session.mustChange);
  t.is(session.iterations, 4096);
  t.is(session.expiresIn, 900);
  t.is(fake.logins, 2, 'two POSTs');
});

test('login: a wrong password is login-failed (401)', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const e = await failure(login(fake.url, 'not-the-password'));
  t.is(e.code, 'login-failed');
  t.is(e.status, 401);
});

test('login: a device that does not hold the verifier (a wrong ServerKey) is detected', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, serverKey: new Uint8Array(randomBytes(32)) });
  const e = await failure(login(fake.url, PASSWORD));
  t.is(e.code, 'impostor');
  t.is(e.message, 'the device could not prove it holds the password verifier');
});

test('login: 429 is locked, with the Retry-After seconds', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 1, retryAfter: 42 });
  await failure(login(fake.url, 'wrong-guess-1'));
  const e = await failure(login(fake.url, PASSWORD));
  t.is(e.code, 'locked');
  t.is(e.status, 429);
  t.is(e.retryAfter, 42);
});

test('login: server-first messages the client must refuse (nonce not extended, too many iterations, too small a salt)', async (t) => {
  const salt = Buffer.from(randomBytes(16)).toString('base64');
  const cases: [string, (n: string) => string, RegExp][] = [
    ['another nonce', () => 'r=' + 'x'.repeat(40) + ',s=' + salt + ',i=4096', /nonce/],
    ['the client nonce alone', (n) => 'r=' + n + ',s=' + salt + ',i=4096', /nonce/],
    ['20,000,000 iterations', (n) => 'r=' + n + 'abcdefghijklmnopq,s=' + salt + ',i=20000000', /iteration/],
    ['1000 iterations', (n) => 'r=' + n + 'abcdefghijklmnopq,s=' + salt + ',i=1000', /iteration/],
    ['an 8-byte salt', (n) => 'r=' + n + 'abcdefghijklmnopq,s=' + Buffer.from(randomBytes(8)).toString('base64') + ',i=4096', /salt/],
    ['not SCRAM', () => 'hello', /server-first/],
  ];
  for (const [name, serverFirst, why] of cases) {
    const fake = await withFake(t, { password: PASSWORD, serverFirst });
    const e = await failure(login(fake.url, PASSWORD));
    t.is(e.code, 'protocol', name);
    t.regex(e.message, why, name);
  }
  // The client's own bound on the work a device may ask.
  const fake = await withFake(t, { password: PASSWORD });
  t.is((await failure(login(fake.url, PASSWORD, { maxIterations: 4095 }))).code, 'protocol');
});

test('login: a version-1 unit (503 no-default-password) and no device at all', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, noPassword: true });
  const e = await failure(login(fake.url, PASSWORD));
  t.is(e.code, 'refused');
  t.is(e.error, 'no-default-password');
  t.is(e.status, 503);
  const gone = await fakeDevice({ password: PASSWORD });
  await gone.close();
  t.is((await failure(login(gone.url, PASSWORD, { timeoutMs: 2000 }))).code, 'network');
});

test('changePassword: the device gets the new password and its verifier; the new password logs in, the old does not', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const session = await login(fake.url, PASSWORD);
  await changePassword(fake.url, session.token, 'Brand new pass 42', { iterations: 5000 });
  t.is(fake.changes, 1);
  t.is(fake.verifier.iterations, 5000);
  t.is(fake.verifier.salt.length, 16);
  const again = await login(fake.url, 'Brand new pass 42');
  t.false(again.mustChange);
  t.is(again.iterations, 5000);
  t.is((await failure(login(fake.url, PASSWORD))).code, 'login-failed');
  // The session used for the change has ended.
  t.is((await failure(changePassword(fake.url, session.token, 'Another pass 77', { iterations: 4096 }))).status, 401);
});

test("changePassword: the device's refusal comes back with its code and reason", async (t) => {
  const fake = await withFake(t, { password: PASSWORD, refuseRule: 'default' });
  const session = await login(fake.url, PASSWORD);
  const e = await failure(changePassword(fake.url, session.token, PASSWORD, { iterations: 4096 }));
  t.is(e.code, 'refused');
  t.is(e.status, 422);
  t.is(e.error, 'password-default');
  t.regex(e.message, /refused by the fake device/);
});

test('newVerifier: fresh salt, node:crypto agrees with scram.ts on the pure-JS provider, and weak counts are refused', (t) => {
  const a = newVerifier('correct horse', 4096);
  const b = newVerifier('correct horse', 4096);
  t.notDeepEqual(a.salt, b.salt);
  t.deepEqual(a, scramVerifier({ sha256: jsCrypto.sha256, hmacSha256: jsCrypto.hmacSha256, pbkdf2Sha256: jsCrypto.pbkdf2Sha256! }, 'correct horse', a.salt, 4096));
  t.is(newVerifier('x').iterations, 100000);
  t.throws(() => newVerifier('x', 4095), { message: /iterations/ });
  t.throws(() => newVerifier('x', 1e8), { message: /iterations/ });
});

test('deviceInfo and passwordPolicy give what the local policy check needs', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const id = await deviceInfo(fake.url);
  t.like(id, { model: 'HS-PLUG-01', vendor: 'Hoshi Devices', serial: 'HS0123456789AB' });
  t.deepEqual(await passwordPolicy(fake.url), { minLength: 10, maxLength: 64 });
  t.is(checkNewPassword('my HS-PLUG-01 pass', id, 10)?.rule, 'identity');
  t.is(checkNewPassword('short', id, 10)?.rule, 'too-short');
  t.is(checkNewPassword('basketball', id, 10, (w) => w === 'basketball')?.rule, 'common');
  t.is(checkNewPassword('Quiet river 93', id, 10), undefined);
});

test('bruteForce: bounded attempts, each with its status and Retry-After; stops at a guess that logs in', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 3, retryAfter: 60 });
  const seen: Attempt[] = [];
  const result = await bruteForce(fake.url, { attempts: 5, report: (a) => seen.push(a) });
  t.deepEqual(result.map((a) => a.outcome), ['login-failed', 'login-failed', 'login-failed', 'locked', 'locked']);
  t.deepEqual(result.map((a) => a.status), [401, 401, 401, 429, 429]);
  t.is(result[3]!.retryAfter, 60);
  t.deepEqual(seen, result);
  const open = await withFake(t, { password: PASSWORD });
  const hit = await bruteForce(open.url, { attempts: 10, guesses: ['aaaaaaaaaaaa', PASSWORD, 'bbbbbbbbbbbb'], report: () => undefined });
  t.deepEqual(hit.map((a) => a.outcome), ['login-failed', 'accepted']);
  await t.throwsAsync(bruteForce(open.url, { attempts: 0 }), { message: /attempts/ });
});

/** Runs the CLI with `env` added (asynchronously: the fake device answers meanwhile). */
function hoshi(env: { [k: string]: string }, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { HOSHI_PASSWORD: _p, HOSHI_NEW_PASSWORD: _n, ...inherited } = process.env;
    const child = execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

test('hoshi login: the token alone on stdout, mustChange on stderr; 4 on a wrong password, 3 when locked, 1 for an impostor', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 1, retryAfter: 17 });
  const ok = await hoshi({ HOSHI_PASSWORD: PASSWORD }, 'login', fake.url);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /^[A-Za-z0-9+/]{24}\n$/);
  t.regex(ok.stderr, /mustChange: true/);
  t.false(ok.stdout.includes(PASSWORD) || ok.stderr.includes(PASSWORD));
  const wrong = await hoshi({ HOSHI_PASSWORD: 'wrong-password' }, 'login', fake.url);
  t.is(wrong.status, 4);
  t.regex(wrong.stderr, /login failed/);
  t.is(wrong.stdout, '');
  const locked = await hoshi({ HOSHI_PASSWORD: PASSWORD }, 'login', fake.url);
  t.is(locked.status, 3);
  t.regex(locked.stderr, /retry after 17 s/);
  const impostor = await withFake(t, { password: PASSWORD, serverKey: new Uint8Array(randomBytes(32)) });
  const bad = await hoshi({ HOSHI_PASSWORD: PASSWORD }, 'login', impostor.url);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /the device could not prove it holds the password verifier/);
  t.is(bad.stdout, '', 'no token from an impostor');
});

test('hoshi login: the password never comes from the command line; without a terminal it needs HOSHI_PASSWORD', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const { HOSHI_PASSWORD: _, ...env } = process.env;
  const run = await new Promise<{ status: number; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), 'login', fake.url, PASSWORD], { cwd: ROOT, encoding: 'utf8', env }, (error, _out, stderr) =>
      resolve({ status: error ? Number(error.code) : 0, stderr }),
    );
    child.stdin?.end();
  });
  t.is(run.status, 1);
  t.regex(run.stderr, /set HOSHI_PASSWORD/);
  t.is(fake.logins, 0);
  t.is((await hoshi({}, 'login', 'not-a-url')).status, 2);
});

test('hoshi password: checks the policy here first, then logs in and sets the new password', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const common = await hoshi({ HOSHI_PASSWORD: PASSWORD, HOSHI_NEW_PASSWORD: 'Q1W2E3R4T5' }, 'password', fake.url, '--iterations', '4096');
  t.is(common.status, 1);
  t.regex(common.stderr, /password refused \(common\)/);
  const identity = await hoshi({ HOSHI_PASSWORD: PASSWORD, HOSHI_NEW_PASSWORD: 'my hs-plug-01 pass' }, 'password', fake.url, '--iterations', '4096');
  t.regex(identity.stderr, /password refused \(identity\)/);
  t.is(fake.logins, 0, 'no login spent on a password the policy refuses');
  const ok = await hoshi({ HOSHI_PASSWORD: PASSWORD, HOSHI_NEW_PASSWORD: 'Quiet river 93' }, 'password', fake.url);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stderr, /password changed/);
  t.is(fake.verifier.iterations, 4096, "the login's iteration count without --iterations");
  const wrong = await hoshi({ HOSHI_PASSWORD: 'not it at all', HOSHI_NEW_PASSWORD: 'Another river 58' }, 'password', fake.url);
  t.is(wrong.status, 4);
});

test("hoshi password: the device's refusal is reported and the exit status is not 0", async (t) => {
  const fake = await withFake(t, { password: PASSWORD, refuseRule: 'default' });
  const run = await hoshi({ HOSHI_PASSWORD: PASSWORD, HOSHI_NEW_PASSWORD: 'Quiet river 93' }, 'password', fake.url, '--iterations', '4096');
  t.is(run.status, 1);
  t.regex(run.stderr, /422 password-default \(refused by the fake device\)/);
});

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bruteForce, type Attempt } from '../firmware/host/bruteforce';
import { ROOT } from '../firmware/host/build';
import { changePassword, checkNewPassword, ClientError, deviceInfo, login, newVerifier, nodeScramCrypto, passwordPolicy, setWifi, wifiState } from '../firmware/host/client';
import { jsCrypto } from '../modules/crypto/provider-js';
import {
  authMessage,
  parseClientFinal,
  parseClientFirst,
  scramVerifier,
  serverFinalMessage,
  serverFirstMessage,
  sessionSecret,
  verifyProof,
  type ScramVerifier,
} from '../modules/accounts/scram';
import { CHANNEL_HEADER, channelKeys, COSE_ENCRYPT0, decodeProtected, openRequest, pivOf, protectAnswer, seqOf, type ChannelKeys } from '../modules/channel/channel';
import { base32Encode, scramPassword, SETUP_KEY_BYTES } from '../modules/channel/setup';

/**
 * A tiny fake device speaking docs/accounts.md's login and password API and the admin channel
 * (docs/formats/channel.md), built from the server functions of modules/accounts/scram.ts and
 * modules/channel/channel.ts on the pure-JS provider: what the client must work with (and detect
 * when the device lacks the verifier, or its answers do not come through the channel). The real
 * module's end-to-end test is elsewhere.
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
  /** The `channel` of the login's last answer (default 1; undefined: none). */
  channel?: unknown;
  /**
   * How the fake answers a protected request's success (default: protected as the channel says):
   * 'plain' JSON without the channel; 'tampered' (a ciphertext bit flipped); 'status' (protected
   * for 200, sent as 202); 'stale' (protected with another request's nonce); 'reflected' (under
   * the client's key instead of the device's); 'garbage' (labelled COSE, not COSE).
   */
  answer?: 'plain' | 'tampered' | 'status' | 'stale' | 'reflected' | 'garbage';
}

interface Fake {
  url: string;
  /** The unit's setup key (on its label). */
  setupKey: Uint8Array;
  verifier: ScramVerifier;
  fails: number;
  logins: number;
  changes: number;
  /** Every request to a non-public route, as it crossed the wire. */
  wire: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }[];
  /** Every protected request the fake opened: method, path, sequence number, plaintext. */
  opened: { method: string; path: string; seq: number; plain: string }[];
  /** Every session token the fake gave out. */
  tokens: string[];
  wifi: { ssid: string | null; passphrase?: string };
  close(): Promise<void>;
}

/** The routes behind the channel. */
const PROTECTED = ['GET /api/session', 'POST /api/logout', 'POST /api/password', 'GET /api/network/wifi', 'PUT /api/network/wifi'];

async function fakeDevice(o: FakeOptions): Promise<Fake> {
  const setupKey = new Uint8Array(randomBytes(SETUP_KEY_BYTES));
  const fake = {
    setupKey,
    verifier: scramVerifier(nodeScramCrypto, scramPassword(nodeScramCrypto, setupKey, o.password), new Uint8Array(randomBytes(16)), 4096),
    fails: 0,
    logins: 0,
    changes: 0,
    wire: [],
    opened: [],
    tokens: [],
    wifi: { ssid: null },
  } as unknown as Fake;
  const pending = new Map<string, { bare: string; serverFirst: string }>();
  const sessions = new Map<string, { keys: ChannelKeys; seq: number }>();
  let mustChange = true;
  const send = (res: ServerResponse, status: number, body: object, headers: { [n: string]: string } = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const publicRoute = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    let body: { [n: string]: unknown } = {};
    try {
      body = JSON.parse(raw.toString('utf8') || '{}');
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
      const clientKey = m && verifyProof(jsCrypto, fake.verifier.storedKey, m, final.proof);
      if (!m || !clientKey) {
        fake.fails++;
        return send(res, 401, { error: 'login-failed', reason: 'wrong password, or the login is unknown or expired' }, { 'WWW-Authenticate': 'SCRAM-SHA-256 realm="HS-PLUG-01"' });
      }
      fake.fails = 0;
      const token = new Uint8Array(randomBytes(18));
      const t64 = Buffer.from(token).toString('base64');
      fake.tokens.push(t64);
      // The channel's keys as the device makes them (modules/accounts): the session's secret, the setup key, the token.
      sessions.set(t64, { keys: channelKeys(jsCrypto, sessionSecret(jsCrypto, clientKey, m), setupKey, token), seq: -1 });
      const answer: { [n: string]: unknown } = { scram: serverFinalMessage(jsCrypto, o.serverKey ?? fake.verifier.serverKey, m), token: t64, expiresIn: 900, mustChange };
      if (!('channel' in o)) answer.channel = 1;
      else if (o.channel !== undefined) answer.channel = o.channel;
      return send(res, 200, answer);
    }
    send(res, 404, { error: 'not-found', reason: 'no such route' });
  };
  /** A route behind the channel: the request opened, the answer protected (or mangled as `o.answer` says). */
  const protectedRoute = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const method = req.method!;
    const path = req.url!;
    fake.wire.push({ method, path, headers: req.headers, body: raw });
    const auth = req.headers.authorization ?? '';
    const s = auth.startsWith('Bearer ') ? sessions.get(auth.slice(7)) : undefined;
    if (!s) return send(res, 401, { error: 'unauthenticated', reason: 'log in first' });
    // As the device's guard: the forced change before the channel (a refusal, not protected).
    if (mustChange && path !== '/api/session' && path !== '/api/logout' && path !== '/api/password') return send(res, 403, { error: 'password-change-required', reason: 'change it first' });
    const header = req.headers[CHANNEL_HEADER];
    const carried = method === 'GET' ? new Uint8Array(Buffer.from(typeof header === 'string' ? header : '', 'base64')) : new Uint8Array(raw);
    const d = decodeProtected(carried, true);
    if (typeof d === 'string') return send(res, 400, { error: carried[0] === 0xd0 ? 'channel-malformed' : 'channel-required', reason: d });
    const seq = seqOf(d[0]);
    if (seq <= s.seq) return send(res, 400, { error: 'channel-replayed', reason: 'sequence number ' + seq + ' is not above ' + s.seq });
    const plain = openRequest(jsCrypto, s.keys, d[0], method + ' ' + path, d[1]);
    if (!plain) return send(res, 400, { error: 'channel-unauthentic', reason: 'the request does not authenticate' });
    s.seq = seq;
    const text = new TextDecoder().decode(plain);
    fake.opened.push({ method, path, seq, plain: text });
    const reply = (status: number, body: object): void => {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      const m = status < 300 ? o.answer : undefined;
      if (m === 'plain') return send(res, status, body);
      let sealed: Uint8Array;
      let sentStatus = status;
      if (m === 'garbage') sealed = bytes;
      else if (m === 'status') {
        sealed = protectAnswer(jsCrypto, s.keys, d[0], status, bytes);
        sentStatus = 202;
      } else if (m === 'stale') sealed = protectAnswer(jsCrypto, s.keys, pivOf(seq + 1), status, bytes);
      else if (m === 'reflected') sealed = protectAnswer(jsCrypto, { ...s.keys, device: s.keys.client }, d[0], status, bytes);
      else {
        sealed = protectAnswer(jsCrypto, s.keys, d[0], status, bytes);
        if (m === 'tampered') sealed[sealed.length - 3]! ^= 0x10;
      }
      res.writeHead(sentStatus, { 'Content-Type': COSE_ENCRYPT0 });
      res.end(Buffer.from(sealed));
    };
    let body: { [n: string]: unknown } = {};
    try {
      body = JSON.parse(text || '{}');
    } catch {
      return reply(400, { error: 'bad-json', reason: 'not JSON' });
    }
    if (path === '/api/session') return reply(200, { access: 'admin', mustChange, expiresIn: 900 });
    if (path === '/api/logout') {
      sessions.delete(auth.slice(7));
      return reply(200, { ok: true });
    }
    if (path === '/api/network/wifi' && method === 'GET') return reply(200, { ssid: fake.wifi.ssid, joined: fake.wifi.ssid !== null, error: null });
    if (path === '/api/network/wifi') {
      fake.wifi = { ssid: String(body.ssid), passphrase: String(body.passphrase) };
      return reply(200, { ssid: fake.wifi.ssid, joined: true, error: null });
    }
    if (o.refuseRule) return reply(422, { error: 'password-' + o.refuseRule, reason: 'refused by the fake device' });
    const v: ScramVerifier = {
      salt: new Uint8Array(Buffer.from(String(body.salt), 'base64')),
      iterations: Number(body.iterations),
      storedKey: new Uint8Array(Buffer.from(String(body.storedKey), 'base64')),
      serverKey: new Uint8Array(Buffer.from(String(body.serverKey), 'base64')),
    };
    // The fake checks what the client sent is the verifier of the password's pre-hash with the setup key (the real device cannot).
    const again = scramVerifier(nodeScramCrypto, scramPassword(nodeScramCrypto, setupKey, String(body.password)), v.salt, v.iterations);
    if (Buffer.compare(again.storedKey, v.storedKey) !== 0 || Buffer.compare(again.serverKey, v.serverKey) !== 0) {
      return reply(400, { error: 'bad-verifier', reason: "the verifier is not the password's" });
    }
    fake.verifier = v;
    fake.changes++;
    mustChange = false;
    sessions.clear();
    return reply(200, { ok: true });
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (PROTECTED.includes(req.method + ' ' + req.url)) protectedRoute(req, res, raw);
      else publicRoute(req, res, raw);
    });
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

test('login: SCRAM on the pre-hashed password gives a session: token, mustChange, the iteration count, and the channel that reaches the device', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const session = await login(fake.url, PASSWORD, fake.setupKey);
  t.regex(session.token, /^[A-Za-z0-9+/]{24}$/);
  t.true(session.mustChange);
  t.is(session.iterations, 4096);
  t.is(session.expiresIn, 900);
  t.is(fake.logins, 2, 'two POSTs');
  t.deepEqual(Object.keys(session.keys).sort(), ['client', 'device', 'iv']);
  // The channel's keys agree with the device's: the fake opens the request, the client its answer.
  t.deepEqual(await session.state(), { access: 'admin', mustChange: true, expiresIn: 900 });
  t.deepEqual(fake.opened, [{ method: 'GET', path: '/api/session', seq: 0, plain: '' }]);
});

test('login: a wrong password is login-failed (401), and so is the right one under another setup key', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const e = await failure(login(fake.url, 'not-the-password', fake.setupKey));
  t.is(e.code, 'login-failed');
  t.is(e.status, 401);
  const other = await failure(login(fake.url, PASSWORD, new Uint8Array(randomBytes(SETUP_KEY_BYTES))));
  t.is(other.code, 'login-failed', 'the setup key is part of what SCRAM proves');
  t.is(fake.fails, 2);
});

test('login: a device that does not hold the verifier (a wrong ServerKey) is detected', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, serverKey: new Uint8Array(randomBytes(32)) });
  const e = await failure(login(fake.url, PASSWORD, fake.setupKey));
  t.is(e.code, 'impostor');
  t.is(e.message, 'the device could not prove it holds the password verifier');
});

test('login: 429 is locked, with the Retry-After seconds', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 1, retryAfter: 42 });
  await failure(login(fake.url, 'wrong-guess-1', fake.setupKey));
  const e = await failure(login(fake.url, PASSWORD, fake.setupKey));
  t.is(e.code, 'locked');
  t.is(e.status, 429);
  t.is(e.retryAfter, 42);
});

test('login: server-first messages the client must refuse (nonce not extended, too many iterations, too small a salt), and an unknown channel', async (t) => {
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
    const e = await failure(login(fake.url, PASSWORD, fake.setupKey));
    t.is(e.code, 'protocol', name);
    t.regex(e.message, why, name);
  }
  // The client's own bound on the work a device may ask.
  const fake = await withFake(t, { password: PASSWORD });
  t.is((await failure(login(fake.url, PASSWORD, fake.setupKey, { maxIterations: 4095 }))).code, 'protocol');
  // A device that proves itself but speaks no channel this client knows.
  for (const channel of [undefined, 2, '1']) {
    const other = await withFake(t, { password: PASSWORD, channel });
    const e = await failure(login(other.url, PASSWORD, other.setupKey));
    t.is(e.code, 'protocol', String(channel));
    t.regex(e.message, /admin channel/);
  }
});

test('login: a version-1 unit (503 no-default-password) and no device at all', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, noPassword: true });
  const e = await failure(login(fake.url, PASSWORD, fake.setupKey));
  t.is(e.code, 'refused');
  t.is(e.error, 'no-default-password');
  t.is(e.status, 503);
  const gone = await fakeDevice({ password: PASSWORD });
  await gone.close();
  t.is((await failure(login(gone.url, PASSWORD, gone.setupKey, { timeoutMs: 2000 }))).code, 'network');
});

test("session.call: every request protected with the next sequence number (a GET's in the Hoshi-Channel header), nothing in clear, the answer opened", async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const session = await login(fake.url, PASSWORD, fake.setupKey);
  t.like(await session.call('GET', '/api/session'), { status: 200, body: { access: 'admin', mustChange: true } });
  const refused = await session.call('PUT', '/api/network/wifi', { ssid: 'Home', passphrase: 'not yet' });
  t.like(refused, { status: 403, body: { error: 'password-change-required' } }, 'a refusal outside the channel is given back as it is');
  t.like(await session.call('POST', '/api/logout'), { status: 200, body: { ok: true } });
  t.deepEqual(
    fake.opened.map((x) => [x.method, x.path, x.seq]),
    [['GET', '/api/session', 0], ['POST', '/api/logout', 2]],
    'numbers 0, 1, 2: the refused request used its own',
  );
  const [get, put, post] = fake.wire;
  t.is(get!.body.length, 0);
  t.regex(String(get!.headers[CHANNEL_HEADER]), /^[A-Za-z0-9+/]+=*$/);
  t.is(get!.headers.authorization, 'Bearer ' + session.token);
  for (const x of [put!, post!]) {
    t.is(x.headers['content-type'], COSE_ENCRYPT0);
    t.is(x.headers[CHANNEL_HEADER], undefined);
    t.is(x.body[0], 0xd0, 'a tagged COSE_Encrypt0');
  }
  t.false(put!.body.includes('not yet'), 'the body is not in clear');
  // After the logout the session is gone: the refusal (401, outside the channel) comes back as it is.
  t.like(await session.call('GET', '/api/session'), { status: 401, body: { error: 'unauthenticated' } });
  t.like(await failure(session.state()), { code: 'refused', status: 401 });
});

test('session.call: an answer that is not protected yet claims success, or a protected one that does not authenticate, is a channel error', async (t) => {
  for (const answer of ['plain', 'tampered', 'status', 'stale', 'reflected', 'garbage'] as const) {
    const fake = await withFake(t, { password: PASSWORD, answer });
    const session = await login(fake.url, PASSWORD, fake.setupKey);
    const e = await failure(session.state());
    t.is(e.code, 'channel', answer);
    t.regex(e.message, answer === 'plain' ? /without protection/ : /does not authenticate/, answer);
    t.is(fake.opened.length, 1, answer + ': the device did get the request');
  }
  // A password change the device claims without the channel is not believed either.
  const plain = await withFake(t, { password: PASSWORD, answer: 'plain' });
  const session = await login(plain.url, PASSWORD, plain.setupKey);
  t.is((await failure(changePassword(session, plain.setupKey, 'Brand new pass 42', { iterations: 4096 }))).code, 'channel');
});

test('changePassword: the device gets the new password and its verifier through the channel; the new password logs in, the old does not', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const session = await login(fake.url, PASSWORD, fake.setupKey);
  await changePassword(session, fake.setupKey, 'Brand new pass 42', { iterations: 5000 });
  t.is(fake.changes, 1);
  t.is(fake.verifier.iterations, 5000);
  t.is(fake.verifier.salt.length, 16);
  const sent = fake.wire.find((x) => x.path === '/api/password')!;
  t.false(sent.body.includes('Brand new pass 42'), 'the new password never crosses the wire in clear');
  t.is(JSON.parse(fake.opened.find((x) => x.path === '/api/password')!.plain).password, 'Brand new pass 42');
  const again = await login(fake.url, 'Brand new pass 42', fake.setupKey);
  t.false(again.mustChange);
  t.is(again.iterations, 5000);
  t.is((await failure(login(fake.url, PASSWORD, fake.setupKey))).code, 'login-failed');
  // The session used for the change has ended.
  t.is((await failure(changePassword(session, fake.setupKey, 'Another pass 77', { iterations: 4096 }))).status, 401);
});

test("changePassword: the device's refusal comes back with its code and reason", async (t) => {
  const fake = await withFake(t, { password: PASSWORD, refuseRule: 'default' });
  const session = await login(fake.url, PASSWORD, fake.setupKey);
  const e = await failure(changePassword(session, fake.setupKey, PASSWORD, { iterations: 4096 }));
  t.is(e.code, 'refused');
  t.is(e.status, 422);
  t.is(e.error, 'password-default');
  t.regex(e.message, /refused by the fake device/);
});

test('wifiState and setWifi go through the channel: the passphrase is never in clear', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const first = await login(fake.url, PASSWORD, fake.setupKey);
  t.like(await failure(wifiState(first)), { code: 'refused', status: 403, error: 'password-change-required' });
  await changePassword(first, fake.setupKey, 'Brand new pass 42', { iterations: 4096 });
  const session = await login(fake.url, 'Brand new pass 42', fake.setupKey);
  t.like(await wifiState(session), { ssid: null, joined: false });
  t.like(await setWifi(session, 'Home', 'correct horse battery'), { ssid: 'Home', joined: true });
  t.deepEqual(fake.wifi, { ssid: 'Home', passphrase: 'correct horse battery' });
  t.false(fake.wire.some((x) => x.body.includes('correct horse battery')));
  t.like(await wifiState(session), { ssid: 'Home', joined: true });
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

test('bruteForce: bounded attempts, each with its status and Retry-After; stops at a guess that logs in; without the setup key no guess can', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 3, retryAfter: 60 });
  const seen: Attempt[] = [];
  const result = await bruteForce(fake.url, { attempts: 5, report: (a) => seen.push(a) });
  t.deepEqual(result.map((a) => a.outcome), ['login-failed', 'login-failed', 'login-failed', 'locked', 'locked']);
  t.deepEqual(result.map((a) => a.status), [401, 401, 401, 429, 429]);
  t.is(result[3]!.retryAfter, 60);
  t.deepEqual(seen, result);
  const open = await withFake(t, { password: PASSWORD });
  const guesses = ['aaaaaaaaaaaa', PASSWORD, 'bbbbbbbbbbbb'];
  const hit = await bruteForce(open.url, { attempts: 10, guesses, setupKey: open.setupKey, report: () => undefined });
  t.deepEqual(hit.map((a) => a.outcome), ['login-failed', 'accepted']);
  const blind = await bruteForce(open.url, { attempts: 3, guesses, report: () => undefined });
  t.deepEqual(blind.map((a) => a.outcome), ['login-failed', 'login-failed', 'login-failed'], 'the right password under a random key fails');
  await t.throwsAsync(bruteForce(open.url, { attempts: 0 }), { message: /attempts/ });
});

/** Config folders the CLI runs were given (removed at the end). */
const configDirs: string[] = [];
test.after.always(() => {
  for (const d of configDirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs the CLI with `env` added (asynchronously: the fake device answers meanwhile), none of the
 * caller's HOSHI_ variables, and a fresh HOSHI_CONFIG_DIR unless `env` names one: no run reads or
 * writes the user's own kept setup keys.
 */
function hoshi(env: { [k: string]: string }, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSHI_') && k !== 'XDG_CONFIG_HOME'));
  if (!env.HOSHI_CONFIG_DIR) {
    const dir = mkdtempSync(join(tmpdir(), 'hoshi-client-config-'));
    configDirs.push(dir);
    env = { ...env, HOSHI_CONFIG_DIR: dir };
  }
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The environment of a CLI run against `fake`: its password and its setup key as printed on the label. */
const envOf = (fake: Fake, password = PASSWORD): { [k: string]: string } => ({ HOSHI_PASSWORD: password, HOSHI_SETUP_KEY: base32Encode(fake.setupKey) });

test('hoshi login: logs in, asks the session through the channel and logs out; 4 on a wrong password, 3 when locked, 1 for an impostor', async (t) => {
  const fake = await withFake(t, { password: PASSWORD, lockAfter: 1, retryAfter: 17 });
  const ok = await hoshi(envOf(fake), 'login', fake.url);
  t.is(ok.status, 0, ok.stderr);
  t.is(ok.stdout, 'logged in: access admin, session idle limit 900 s, admin channel version 1\n');
  t.regex(ok.stderr, /mustChange: true/);
  t.deepEqual(fake.opened.map((x) => x.method + ' ' + x.path), ['GET /api/session', 'POST /api/logout']);
  for (const secret of [PASSWORD, base32Encode(fake.setupKey), ...fake.tokens]) t.false(ok.stdout.includes(secret) || ok.stderr.includes(secret), 'nothing secret is printed');
  const wrong = await hoshi(envOf(fake, 'wrong-password'), 'login', fake.url);
  t.is(wrong.status, 4);
  t.regex(wrong.stderr, /login failed/);
  t.is(wrong.stdout, '');
  const locked = await hoshi(envOf(fake), 'login', fake.url);
  t.is(locked.status, 3);
  t.regex(locked.stderr, /retry after 17 s/);
  const impostor = await withFake(t, { password: PASSWORD, serverKey: new Uint8Array(randomBytes(32)) });
  const bad = await hoshi(envOf(impostor), 'login', impostor.url);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /the device could not prove it holds the password verifier/);
  t.is(bad.stdout, '', 'nothing from an impostor');
  t.is(impostor.wire.length, 0, 'no request sent to it after the login');
  const unprotected = await withFake(t, { password: PASSWORD, answer: 'plain' });
  const plain = await hoshi(envOf(unprotected), 'login', unprotected.url);
  t.is(plain.status, 1);
  t.regex(plain.stderr, /without protection/);
  t.is(plain.stdout, '');
});

test('hoshi login: the password never comes from the command line; without a terminal it needs HOSHI_PASSWORD and HOSHI_SETUP_KEY', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const run = await hoshi({ HOSHI_SETUP_KEY: base32Encode(fake.setupKey) }, 'login', fake.url, PASSWORD);
  t.is(run.status, 1);
  t.regex(run.stderr, /set HOSHI_PASSWORD/);
  const noKey = await hoshi({ HOSHI_PASSWORD: PASSWORD }, 'login', fake.url);
  t.is(noKey.status, 1);
  t.regex(noKey.stderr, /set HOSHI_SETUP_KEY/);
  const badKey = await hoshi({ HOSHI_PASSWORD: PASSWORD, HOSHI_SETUP_KEY: 'abcd' }, 'login', fake.url);
  t.is(badKey.status, 1);
  t.regex(badKey.stderr, /26 base32 characters/);
  t.is(fake.logins, 0);
  t.is((await hoshi({}, 'login', 'not-a-url')).status, 2);
});

test('hoshi password: checks the policy here first, then logs in and sets the new password through the channel', async (t) => {
  const fake = await withFake(t, { password: PASSWORD });
  const common = await hoshi({ ...envOf(fake), HOSHI_NEW_PASSWORD: 'Q1W2E3R4T5' }, 'password', fake.url, '--iterations', '4096');
  t.is(common.status, 1);
  t.regex(common.stderr, /password refused \(common\)/);
  const identity = await hoshi({ ...envOf(fake), HOSHI_NEW_PASSWORD: 'my hs-plug-01 pass' }, 'password', fake.url, '--iterations', '4096');
  t.regex(identity.stderr, /password refused \(identity\)/);
  t.is(fake.logins, 0, 'no login spent on a password the policy refuses');
  const ok = await hoshi({ ...envOf(fake), HOSHI_NEW_PASSWORD: 'Quiet river 93' }, 'password', fake.url);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stderr, /password changed/);
  t.is(fake.verifier.iterations, 4096, "the login's iteration count without --iterations");
  t.false(fake.wire.some((x) => x.body.includes('Quiet river 93')));
  t.truthy(await login(fake.url, 'Quiet river 93', fake.setupKey));
  const wrong = await hoshi({ ...envOf(fake, 'not it at all'), HOSHI_NEW_PASSWORD: 'Another river 58' }, 'password', fake.url);
  t.is(wrong.status, 4);
});

test("hoshi password: the device's refusal is reported and the exit status is not 0", async (t) => {
  const fake = await withFake(t, { password: PASSWORD, refuseRule: 'default' });
  const run = await hoshi({ ...envOf(fake), HOSHI_NEW_PASSWORD: 'Quiet river 93' }, 'password', fake.url, '--iterations', '4096');
  t.is(run.status, 1);
  t.regex(run.stderr, /422 password-default \(refused by the fake device\)/);
});

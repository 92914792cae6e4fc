import test, { type ExecutionContext } from 'ava';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import smartPlug from '../examples/smart-plug/image';
import sensor from '../examples/env-sensor/image';
import type { Image } from '../firmware/device/image';
import { changePassword, login, setWifi, wifiState, type Session } from '../firmware/host/client';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import { channelKeys, COSE_ENCRYPT0, decodeProtected, openAnswer, protectAnswer, protectRequest, type ChannelKeys } from '../modules/channel/channel';
import { parseSetupKey } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';
import { piv, requestMessage, takeApart } from './channel-spec';

/**
 * The admin channel on the simulated device over real sockets (modules/accounts' guard,
 * modules/channel, firmware/host/client): what an attacker on the LAN sees of a whole session, and
 * what the device does with messages replayed, reordered, cut, altered, moved to another route,
 * session or direction, or sent without protection. Primitives: test/channel.test.ts.
 */

// Passwords with characters that JSON, URL and form encodings change; none is on the common list.
const NEW_PASSWORD = 'Heron"lake\\9/ tide&+q';
const WIFI_PASSPHRASE = 'salt"marsh\\7/ ferry&+w';

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const jsonBytes = (v: unknown): Uint8Array => utf8(JSON.stringify(v));

interface Unit {
  sim: Simulator;
  setupKey: Uint8Array;
  /** The password in force (changed from the label's). */
  password: string;
  /** A session after the change; nothing sent through it yet (the device's last sequence number: none). */
  session: Session;
}

async function start(t: ExecutionContext, image: Image = smartPlug): Promise<Simulator> {
  // The sensor's reading needs its analog input (a simulated 0.07 of full scale).
  const sim = await startSimulator({ image, quiet: true, iterations: 4096, analog: image === sensor ? { temperature: 0.07 } : undefined });
  t.teardown(() => sim.stop());
  return sim;
}

/** A unit whose default password has been changed, and a fresh session on it. */
async function unit(t: ExecutionContext, image: Image = smartPlug): Promise<Unit> {
  const sim = await start(t, image);
  const setupKey = parseSetupKey(sim.label!.setupKey)!;
  const first = await login(sim.url, sim.label!.defaultPassword, setupKey);
  await changePassword(first, setupKey, NEW_PASSWORD, { iterations: 4096 });
  const session = await login(sim.url, NEW_PASSWORD, setupKey);
  t.false(session.mustChange);
  return { sim, setupKey, password: NEW_PASSWORD, session };
}

interface Raw {
  status: number;
  type: string;
  bytes: Uint8Array;
  /** The body as JSON when it is (refusals), else undefined. */
  json: { error?: string; reason?: string; [name: string]: unknown } | undefined;
}

/** One request as an attacker would send it: `message` in the body, or base64 in Hoshi-Channel for GET/HEAD. */
async function send(url: string, method: string, path: string, token: string | undefined, message: Uint8Array | undefined, headers: Record<string, string> = {}, plain?: string): Promise<Raw> {
  const h: Record<string, string> = { ...headers };
  if (token) h.Authorization = 'Bearer ' + token;
  const get = method === 'GET' || method === 'HEAD';
  let body: Uint8Array<ArrayBuffer> | string | undefined = plain;
  if (message && get) h['Hoshi-Channel'] = Buffer.from(message).toString('base64');
  else if (message) {
    h['Content-Type'] = COSE_ENCRYPT0;
    body = new Uint8Array(message);
  } else if (plain !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(url + path, { method, headers: h, body: get ? undefined : body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: Raw['json'];
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', bytes, json };
}

/** A 400 refusal with `code` and a reason, in plain JSON (a refusal is never protected). */
function refusedWith(t: ExecutionContext, r: Raw, code: string, what: string): void {
  t.is(r.status, 400, what);
  t.is(r.json?.error, code, what + ': ' + JSON.stringify(r.json));
  t.true(typeof r.json?.reason === 'string' && r.json.reason.length > 15, what);
  t.false(r.type.startsWith('application/cose'), what);
}

/** The answer's plaintext JSON (the answer must be protected and authenticate for its request). */
function opened(t: ExecutionContext, keys: ChannelKeys, seq: number, r: Raw): unknown {
  t.true(r.type.startsWith('application/cose'), 'protected answer');
  const d = decodeProtected(r.bytes, false);
  if (typeof d === 'string') throw new Error('answer: ' + d);
  const body = openAnswer(jsCrypto, keys, piv(seq), r.status, d[1]);
  if (!body) throw new Error('the answer does not authenticate');
  return JSON.parse(Buffer.from(body).toString('utf8'));
}

/** The relay as the pin and the public route show it. */
async function relayIs(t: ExecutionContext, sim: Simulator, on: boolean, what: string): Promise<void> {
  t.is(Boolean(sim.io.outputs.relay), on, what + ' (pin)');
  t.deepEqual(await (await fetch(sim.url + '/api/relay')).json(), { on }, what + ' (GET /api/relay)');
}

const relayRequest = (keys: ChannelKeys, seq: number, on: boolean): Uint8Array => protectRequest(jsCrypto, keys, seq, 'PUT /api/relay', jsonBytes({ on }));
const sessionRequest = (keys: ChannelKeys, seq: number): Uint8Array => protectRequest(jsCrypto, keys, seq, 'GET /api/session', new Uint8Array(0));

test('replayed and reordered requests are refused (channel-replayed) and change nothing', async (t) => {
  const { sim, session } = await unit(t);
  const k = session.keys;
  const on5 = relayRequest(k, 5, true);
  const r5 = await send(sim.url, 'PUT', '/api/relay', session.token, on5);
  t.is(r5.status, 200);
  t.deepEqual(opened(t, k, 5, r5), { on: true });
  await relayIs(t, sim, true, 'switched on');
  const off7 = relayRequest(k, 7, false);
  t.is((await send(sim.url, 'PUT', '/api/relay', session.token, off7)).status, 200);
  await relayIs(t, sim, false, 'switched off');

  // The same bytes again, and a lower sequence number after a higher one.
  const replay = await send(sim.url, 'PUT', '/api/relay', session.token, on5);
  refusedWith(t, replay, 'channel-replayed', 'replayed');
  t.regex(replay.json!.reason!, /\b5\b.*\b7\b/);
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, off7), 'channel-replayed', 'replayed, the last accepted');
  const on6 = relayRequest(k, 6, true);
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, on6), 'channel-replayed', 'reordered');
  // A GET in its header: accepted once, then replayed.
  const get8 = sessionRequest(k, 8);
  const g = await send(sim.url, 'GET', '/api/session', session.token, get8);
  t.is(g.status, 200);
  t.like(opened(t, k, 8, g) as object, { access: 'admin', mustChange: false });
  refusedWith(t, await send(sim.url, 'GET', '/api/session', session.token, get8), 'channel-replayed', 'GET replayed');
  refusedWith(t, await send(sim.url, 'GET', '/api/session', session.token, sessionRequest(k, 0)), 'channel-replayed', 'sequence number 0 after 8');
  await relayIs(t, sim, false, 'after the replays');
  // The next sequence number is taken; the client's own call works from there.
  session.seq = 9;
  t.is((await session.call('PUT', '/api/relay', { on: true })).status, 200);
  await relayIs(t, sim, true, 'the next valid request');
});

test('truncated, bit-flipped, misrouted and reversed messages are refused with their codes, and none of them advances the sequence number', async (t) => {
  const { sim, session, setupKey, password } = await unit(t);
  const k = session.keys;
  t.is((await send(sim.url, 'GET', '/api/session', session.token, sessionRequest(k, 0))).status, 200);
  const last = 0;
  // Every attack carries a sequence number far above the last accepted one: had any of them been
  // taken, sequence number 1 would be refused as replayed at the end.
  const attack = relayRequest(k, 1000, true);
  const { sealed } = takeApart(attack, true);

  // Truncated: every prefix (the empty body is a plain request), then the ciphertext cut short but
  // re-encoded as a well-formed message.
  for (let n = 0; n < attack.length; n++) {
    refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, attack.subarray(0, n)), n === 0 ? 'channel-required' : 'channel-malformed', 'cut to ' + n);
  }
  for (let n = 0; n < sealed.length; n++) {
    refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, requestMessage(piv(1000), sealed.subarray(0, n))), n < 8 ? 'channel-malformed' : 'channel-unauthentic', 'ciphertext cut to ' + n);
  }
  await relayIs(t, sim, false, 'after the truncations');

  // Bit-flipped: one bit at every byte position. The code follows from what the byte was.
  const pivAt = 9; // d0 83 43 a1 01 0a a1 06 42 | PIV (2 bytes: 1000 = 0x03e8) | ciphertext head | ciphertext
  t.is(attack[pivAt - 1], 0x42);
  for (let i = 0; i < attack.length; i++) {
    const m = attack.slice();
    // Bit i mod 8, except in the PIV's head (0x42), where bit 2 makes it claim 6 bytes: bit 0
    // would make it claim 3, and whether the bytes after that happen to parse depends on the
    // ciphertext (test/channel.test.ts cuts and mutates every byte of a message offline).
    m[i] ^= 1 << (i === pivAt - 1 ? 2 : i % 8);
    let code: string;
    if (i === 0) code = 'channel-required'; // no longer starts as a tagged COSE object: taken as plain
    else if (i < pivAt || i === pivAt + 2) code = 'channel-malformed';
    else if (i < pivAt + 2) {
      const p = m.subarray(pivAt, pivAt + 2);
      code = p[0] === 0 ? 'channel-malformed' : p[0]! * 256 + p[1]! <= last ? 'channel-replayed' : 'channel-unauthentic';
    } else code = 'channel-unauthentic';
    refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, m), code, 'bit ' + (i % 8) + ' of byte ' + i);
  }
  // The same for a GET carried in its header (a sample of positions, each bit).
  const get = sessionRequest(k, 1000);
  for (const i of [0, 3, 5, 9, 11, get.length - 9, get.length - 1]) {
    for (let bit = 0; bit < 8; bit += 3) {
      const m = get.slice();
      m[i] ^= 1 << bit;
      const r = await send(sim.url, 'GET', '/api/session', session.token, m);
      t.is(r.status, 400, 'GET, bit ' + bit + ' of byte ' + i);
      t.true(['channel-required', 'channel-malformed', 'channel-replayed', 'channel-unauthentic'].includes(r.json?.error ?? ''), JSON.stringify(r.json));
    }
  }
  // A header that is not base64 carries no protected request.
  const notBase64 = await send(sim.url, 'GET', '/api/session', session.token, undefined, { 'Hoshi-Channel': '*' + Buffer.from(get).toString('base64') });
  t.is(notBase64.status, 400);
  t.true(['channel-required', 'channel-malformed'].includes(notBase64.json?.error ?? ''), JSON.stringify(notBase64.json));
  await relayIs(t, sim, false, 'after the bit flips');

  // Wrong route: protected for PUT /api/relay, sent elsewhere.
  const misrouted = relayRequest(k, 3000, true);
  refusedWith(t, await send(sim.url, 'POST', '/api/password', session.token, misrouted), 'channel-unauthentic', 'PUT /api/relay to POST /api/password');
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay/schedule', session.token, misrouted), 'channel-unauthentic', 'to PUT /api/relay/schedule');
  refusedWith(t, await send(sim.url, 'POST', '/api/logout', session.token, misrouted), 'channel-unauthentic', 'to POST /api/logout');
  // A password change protected for the relay's route is not one.
  const change = protectRequest(jsCrypto, k, 3001, 'PUT /api/relay', jsonBytes({ password: 'Otter-shale 5 wick', salt: Buffer.alloc(16, 1).toString('base64'), iterations: 4096, storedKey: Buffer.alloc(32, 2).toString('base64'), serverKey: Buffer.alloc(32, 3).toString('base64') }));
  refusedWith(t, await send(sim.url, 'POST', '/api/password', session.token, change), 'channel-unauthentic', 'a password change protected for another route');

  // The other direction: a device's answer sent back as a request, as it is and reshaped into a request.
  const asked = await send(sim.url, 'GET', '/api/session', session.token, sessionRequest(k, 1));
  t.is(asked.status, 200);
  const answer = asked.bytes;
  refusedWith(t, await send(sim.url, 'POST', '/api/logout', session.token, answer), 'channel-malformed', 'an answer as a request');
  refusedWith(t, await send(sim.url, 'GET', '/api/session', session.token, answer), 'channel-malformed', 'an answer as a GET\'s request');
  const answerSealed = takeApart(answer, false).sealed;
  // Authenticity is checked before the sequence number (only the session's client learns where it stands).
  refusedWith(t, await send(sim.url, 'GET', '/api/session', session.token, requestMessage(piv(1), answerSealed)), 'channel-unauthentic', 'the answer reshaped with its own PIV');
  refusedWith(t, await send(sim.url, 'GET', '/api/session', session.token, requestMessage(piv(2000), answerSealed)), 'channel-unauthentic', 'the answer reshaped with a new PIV');
  // Protected as an answer would be (the device's key) with a fresh sequence number: not a request.
  const deviceKeyed = protectAnswer(jsCrypto, k, piv(2001), 200, jsonBytes({ on: true }));
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, requestMessage(piv(2001), takeApart(deviceKeyed, false).sealed)), 'channel-unauthentic', 'sealed under the device\'s key');
  await relayIs(t, sim, false, 'after every attack');

  // Nothing advanced: sequence number 2 is the next one taken, then the misrouted message goes
  // through on its own route (its sequence number was not used up by the refusals).
  const next = await send(sim.url, 'GET', '/api/session', session.token, sessionRequest(k, 2));
  t.is(next.status, 200);
  t.like(opened(t, k, 2, next) as object, { access: 'admin' });
  const own = await send(sim.url, 'PUT', '/api/relay', session.token, misrouted);
  t.is(own.status, 200);
  t.deepEqual(opened(t, k, 3000, own), { on: true });
  await relayIs(t, sim, true, 'the misrouted message on its own route');
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', session.token, attack), 'channel-replayed', 'seq 1000 after 3000');
  // The password was never changed by any of it.
  t.false((await login(sim.url, password, setupKey)).mustChange);
});

test('a message of one session sent with another session\'s token is refused (channel-unauthentic), and neither session moves', async (t) => {
  const { sim, session: a, setupKey, password } = await unit(t);
  const b = await login(sim.url, password, setupKey);
  const fromA = relayRequest(a.keys, 50, true);
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', b.token, fromA), 'channel-unauthentic', 'A\'s message with B\'s token');
  refusedWith(t, await send(sim.url, 'GET', '/api/session', b.token, sessionRequest(a.keys, 51)), 'channel-unauthentic', 'A\'s GET with B\'s token');
  // B's keys with A's token.
  refusedWith(t, await send(sim.url, 'PUT', '/api/relay', a.token, relayRequest(b.keys, 52, true)), 'channel-unauthentic', 'B\'s message with A\'s token');
  await relayIs(t, sim, false, 'after the cross-session attempts');
  // B still takes sequence number 0; A takes the very message refused under B's token.
  const r = await send(sim.url, 'GET', '/api/session', b.token, sessionRequest(b.keys, 0));
  t.is(r.status, 200);
  t.like(opened(t, b.keys, 0, r) as object, { access: 'admin' });
  const own = await send(sim.url, 'PUT', '/api/relay', a.token, fromA);
  t.is(own.status, 200);
  t.deepEqual(opened(t, a.keys, 50, own), { on: true });
  await relayIs(t, sim, true, 'A\'s own message');
  // The two sessions' keys differ entirely (ID Context: the token; Master Secret: the login).
  t.notDeepEqual(a.keys.client, b.keys.client);
  t.notDeepEqual(a.keys.device, b.keys.device);
  t.notDeepEqual(a.keys.iv, b.keys.iv);
});

test('every non-public route of both examples refuses a plain request with a valid token (channel-required); public routes stay plain', async (t) => {
  for (const image of [smartPlug, sensor]) {
    const { sim, session } = await unit(t, image);
    const model = image.config.model;
    const closed = sim.device.routes.filter((r) => r.access !== 'public');
    t.true(closed.length >= 3, model);
    for (const r of closed) {
      const what = model + ' ' + r.method + ' ' + r.path;
      if (r.method === 'GET') {
        refusedWith(t, await send(sim.url, 'GET', r.path, session.token, undefined), 'channel-required', what);
        t.regex((await send(sim.url, 'GET', r.path, session.token, undefined)).json!.reason!, /Hoshi-Channel/i);
        t.is((await send(sim.url, 'HEAD', r.path, session.token, undefined)).status, 400, what + ' (HEAD)');
        // A plain body does not help a GET either.
        refusedWith(t, await send(sim.url, 'GET', r.path, session.token, undefined, { 'Hoshi-Channel': '' }), 'channel-required', what + ' (empty header)');
      } else {
        refusedWith(t, await send(sim.url, r.method, r.path, session.token, undefined, {}, '{}'), 'channel-required', what + ' (JSON)');
        refusedWith(t, await send(sim.url, r.method, r.path, session.token, undefined, {}, ''), 'channel-required', what + ' (empty)');
        refusedWith(t, await send(sim.url, r.method, r.path, session.token, undefined, {}, '{"on":true}'), 'channel-required', what + ' (a plausible body)');
      }
    }
    // The session survived every plain POST /api/logout and /api/password; the relay never moved.
    t.like(await session.state(), { access: 'admin', mustChange: false });
    if (image === smartPlug) await relayIs(t, sim, false, model + ' after the plain requests');

    const open = sim.device.routes.filter((r) => r.access === 'public');
    for (const r of open) {
      for (const token of [undefined, session.token]) {
        const what = model + ' ' + r.method + ' ' + r.path + (token ? ' with a token' : '');
        let res: Raw;
        if (r.method === 'GET') {
          res = await send(sim.url, 'GET', r.path, token, undefined, r.path === '/api/password/common' ? { Range: 'bytes=0-15' } : {});
        } else if (r.method === 'POST' && r.path === '/api/login') {
          res = await send(sim.url, 'POST', r.path, token, undefined, {}, JSON.stringify({ scram: 'n,,n=admin,r=' + Buffer.alloc(18, 7).toString('base64') }));
          t.regex(String(res.json?.scram), /^r=/, what);
        } else {
          t.fail(what + ': a public route this test does not know how to call (add it)');
          continue;
        }
        t.is(res.status, r.path === '/api/password/common' ? 206 : 200, what);
        t.false(res.type.startsWith('application/cose'), what + ' is not protected');
      }
    }
  }
});

// ---- The capture ----

interface Connection {
  up: Buffer[];
  down: Buffer[];
}

/** A TCP proxy on 127.0.0.1 recording every byte both ways, one record per connection. */
async function recordingProxy(t: ExecutionContext, target: string): Promise<{ url: string; connections: Connection[] }> {
  const port = Number(new URL(target).port);
  const connections: Connection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const c: Connection = { up: [], down: [] };
    connections.push(c);
    const device = connect(port, '127.0.0.1');
    sockets.add(client).add(device);
    client.on('data', (d) => {
      c.up.push(Buffer.from(d));
      device.write(d);
    });
    device.on('data', (d) => {
      c.down.push(Buffer.from(d));
      client.write(d);
    });
    client.on('end', () => device.end());
    device.on('end', () => client.end());
    const close = (): void => {
      client.destroy();
      device.destroy();
    };
    client.on('error', close).on('close', close);
    device.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no proxy address');
  return { url: 'http://127.0.0.1:' + address.port, connections };
}

/** One recorded HTTP exchange: the request line and body, the answer's status and body. */
function exchange(c: Connection): { line: string; requestBody: Buffer; answerBody: Buffer } {
  const split = (b: Buffer): [string, Buffer] => {
    const at = b.indexOf('\r\n\r\n');
    return at < 0 ? [b.toString('latin1'), Buffer.alloc(0)] : [b.subarray(0, at).toString('latin1'), b.subarray(at + 4)];
  };
  const [reqHead, requestBody] = split(Buffer.concat(c.up));
  const [, answerBody] = split(Buffer.concat(c.down));
  return { line: reqHead.split('\r\n')[0]!, requestBody, answerBody };
}

/** Bytes of base64 text that depend on `b` alone, wherever `b` starts in a longer encoded value. */
function base64Cores(b: Buffer, url: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let k = 0; k < 3; k++) {
    let s = Buffer.concat([Buffer.alloc(k), b]).toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
    const total = k + b.length;
    // Leading characters mixing in the k prefix bytes; trailing ones holding padding bits.
    s = s.substring([0, 2, 3][k]!, s.length - [0, 1, 1][total % 3]!);
    out.push(Buffer.from(s, 'latin1'));
  }
  return out;
}

/** Every spelling of `secret` the capture is searched for. */
function spellings(secret: Uint8Array | string): [string, Buffer][] {
  const b = Buffer.from(typeof secret === 'string' ? utf8(secret) : secret);
  const hex = b.toString('hex');
  const percent = (upper: boolean): string => hex.replace(/../g, (h) => '%' + (upper ? h.toUpperCase() : h));
  // URL-encoding of bytes as encoders do it: unreserved characters (RFC 3986 §2.3) as they are.
  const url = (upper: boolean): string => [...b].map((x) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : '%' + (x < 16 ? '0' : '') + (upper ? x.toString(16).toUpperCase() : x.toString(16)))).join('');
  const out: [string, string | Buffer][] = [
    ['raw', b],
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['%xx', percent(false)],
    ['%XX', percent(true)],
    ['URL-encoded bytes', url(true)],
    ['URL-encoded bytes, lower-case escapes', url(false)],
    ...base64Cores(b, false).map((c, k): [string, Buffer] => ['base64 at offset ' + k, c]),
    ...base64Cores(b, true).map((c, k): [string, Buffer] => ['base64url at offset ' + k, c]),
  ];
  if (typeof secret === 'string') {
    const json = JSON.stringify(secret).slice(1, -1);
    out.push(['JSON', json], ['JSON with \\/', json.replace(/\//g, '\\/')], ['JSON \\u', secret.replace(/[^A-Za-z0-9]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))]);
    out.push(['URL', encodeURIComponent(secret)], ['form', encodeURIComponent(secret).replace(/%20/g, '+')], ['URL (lower-case escapes)', encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())]);
  }
  const seen = new Set<string>();
  const unique: [string, Buffer][] = [];
  for (const [name, v] of out) {
    const buf = typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
    if (seen.has(buf.toString('hex'))) continue;
    seen.add(buf.toString('hex'));
    unique.push([name, buf]);
  }
  return unique;
}

test('the capture search finds a secret in each spelling, wherever it starts in an encoded value', (t) => {
  const key = Buffer.from('00ff10e39a0c7c77b43f03b4b39ab9a2', 'hex');
  const password = 'Heron"lake\\9/ tide&+q';
  for (const k of [0, 1, 2, 3, 4, 5]) {
    const pad = Buffer.alloc(k, 0x41);
    const hits = (stream: Buffer, secret: Uint8Array | string): boolean => spellings(secret).some(([, needle]) => stream.includes(needle));
    for (const stream of [
      Buffer.concat([pad, key]),
      Buffer.from('x=' + Buffer.concat([pad, key, pad]).toString('base64') + '&'),
      Buffer.from(Buffer.concat([pad, key]).toString('base64url')),
      Buffer.from('"' + Buffer.concat([pad, key]).toString('hex').toUpperCase() + '"'),
      Buffer.from('k=' + [...Buffer.concat([pad, key])].map((x) => (/[A-Za-z0-9]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : '%' + x.toString(16).padStart(2, '0').toUpperCase())).join('')),
    ]) t.true(hits(stream, key), stream.toString('latin1'));
    for (const stream of [
      Buffer.from(JSON.stringify({ p: password })),
      Buffer.from(JSON.stringify({ p: password }).replace(/\//g, '\\/')),
      Buffer.from('p=' + encodeURIComponent(password).replace(/%20/g, '+')),
      Buffer.from(Buffer.from(pad.toString() + password).toString('base64')),
      Buffer.from(Buffer.from(pad.toString() + password + pad.toString()).toString('hex')),
      Buffer.from(pad.toString() + password),
    ]) t.true(hits(stream, password), stream.toString('latin1'));
  }
});

test('a whole session through a recording proxy: no password, passphrase, key or secret in any spelling on the wire, and the channel in use', async (t) => {
  const sim = await start(t);
  const proxy = await recordingProxy(t, sim.url);
  const label = sim.label!;
  const setupKey = parseSetupKey(label.setupKey)!;

  const first = await login(proxy.url, label.defaultPassword, setupKey);
  t.true(first.mustChange);
  t.like(await first.state(), { mustChange: true });
  await changePassword(first, setupKey, NEW_PASSWORD, { iterations: 4096 });
  const second = await login(proxy.url, NEW_PASSWORD, setupKey);
  t.false(second.mustChange);
  t.like(await second.state(), { access: 'admin', mustChange: false });
  // Wi-Fi, where the image's board has a station (PUT /api/network/wifi is routed only then).
  const probe = await second.call('GET', '/api/network/wifi');
  let wifiSet = false;
  if (probe.status === 404) {
    t.log('GET /api/network/wifi is not routed on this host board (no Wi-Fi station yet): the Wi-Fi step is skipped');
  } else {
    t.is(probe.status, 200);
    await setWifi(second, 'Workshop', WIFI_PASSPHRASE);
    t.is((await wifiState(second)).ssid, 'Workshop');
    wifiSet = true;
  }
  t.is((await second.call('PUT', '/api/relay', { on: true })).status, 200);
  t.true(sim.io.outputs.relay);
  await second.logout();
  t.is((await second.call('GET', '/api/session')).status, 401);

  // Every secret the two logins made, recomputed from the capture as an attacker with the passwords
  // and the setup key would (RFC 5802 §3; the channel's Master Secret: HMAC(AuthMessage, ClientKey)),
  // and checked against the client's own keys.
  const exchanges = proxy.connections.map(exchange);
  const logins = exchanges.filter((e) => e.line.startsWith('POST /api/login '));
  t.is(logins.length, 4);
  const secrets: [string, Uint8Array | string][] = [
    ['the label password', label.defaultPassword],
    ['the new password', NEW_PASSWORD],
    ['the Wi-Fi passphrase', WIFI_PASSPHRASE],
    ['the setup key', setupKey],
    ['the setup key as printed', label.setupKey],
    ['the setup key in upper case', label.setupKey.toUpperCase()],
  ];
  const sessions = [first, second];
  for (let i = 0; i < 2; i++) {
    const password = i === 0 ? label.defaultPassword : NEW_PASSWORD;
    const clientFirst = String(JSON.parse(logins[2 * i]!.requestBody.toString()).scram);
    const serverFirst = String(JSON.parse(logins[2 * i]!.answerBody.toString()).scram);
    const clientFinal = String(JSON.parse(logins[2 * i + 1]!.requestBody.toString()).scram);
    const token = String(JSON.parse(logins[2 * i + 1]!.answerBody.toString()).token);
    t.is(token, sessions[i]!.token);
    const salt = Buffer.from(/,s=([^,]+)/.exec(serverFirst)![1]!, 'base64');
    const iterations = Number(/,i=(\d+)$/.exec(serverFirst)![1]);
    const authMessage = clientFirst.replace(/^n,,/, '') + ',' + serverFirst + ',' + clientFinal.replace(/,p=[^,]*$/, '');
    const scramPassword = createHmac('sha256', setupKey).update(password, 'utf8').digest('base64');
    const salted = pbkdf2Sync(scramPassword, salt, iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const masterSecret = createHmac('sha256', authMessage).update(clientKey).digest();
    const keys = channelKeys(jsCrypto, new Uint8Array(masterSecret), setupKey, new Uint8Array(Buffer.from(token, 'base64')));
    t.deepEqual(keys, sessions[i]!.keys, 'the recomputed Master Secret gives the session\'s keys');
    const n = 'session ' + (i + 1) + '\'s ';
    secrets.push(
      [n + 'client key', sessions[i]!.keys.client],
      [n + 'device key', sessions[i]!.keys.device],
      [n + 'common IV', sessions[i]!.keys.iv],
      [n + 'Master Secret', masterSecret],
      [n + 'ClientKey', clientKey],
      [n + 'SaltedPassword', salted],
      [n + 'StoredKey', createHash('sha256').update(clientKey).digest()],
      [n + 'SCRAM password (the setup-key pre-hash)', scramPassword],
    );
  }

  const streams: [string, Buffer][] = [];
  proxy.connections.forEach((c, i) => streams.push(['connection ' + i + ' up', Buffer.concat(c.up)], ['connection ' + i + ' down', Buffer.concat(c.down)]));
  const all = Buffer.concat(streams.map((s) => s[1]));
  t.true(all.length > 2000, all.length + ' bytes captured');
  const found: string[] = [];
  let needles = 0;
  for (const [what, secret] of secrets) {
    for (const [spelling, needle] of spellings(secret)) {
      t.true(needle.length >= 8, what + ' ' + spelling + ' is long enough to mean something');
      needles++;
      for (const [where, bytes] of streams) if (bytes.includes(needle)) found.push(what + ' (' + spelling + ') in ' + where);
    }
  }
  t.deepEqual(found, []);
  // The protected exchanges' plaintexts are not on the wire either.
  for (const plain of ['"access":"admin"', '"on":true', '"storedKey"', '"password"', '"mustChange":false,"expiresIn"']) {
    t.false(all.includes(plain), plain);
  }
  // The channel was used: protected bodies both ways, and GETs in the header.
  const lower = all.toString('latin1').toLowerCase();
  const up = Buffer.concat(proxy.connections.flatMap((c) => c.up)).toString('latin1').toLowerCase();
  const down = Buffer.concat(proxy.connections.flatMap((c) => c.down)).toString('latin1').toLowerCase();
  t.true(up.includes('content-type: ' + COSE_ENCRYPT0.toLowerCase()), 'protected requests');
  t.true(down.includes('content-type: ' + COSE_ENCRYPT0.toLowerCase()), 'protected answers');
  t.true(up.includes('\r\nhoshi-channel: '), 'protected GETs');
  t.true(lower.includes('cose-encrypt0'));
  // The search does find what is on the wire: the session tokens (public: they name a session).
  for (const s of sessions) t.true(spellings(Buffer.from(s.token, 'base64')).some(([, needle]) => all.includes(needle)), 'the token is found');
  t.log(proxy.connections.length + ' connections, ' + all.length + ' bytes; ' + secrets.length + ' secrets in ' + needles + ' spellings, none found; Wi-Fi ' + (wifiSet ? 'set through the channel' : 'not set (not routed)'));
});

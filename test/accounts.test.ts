import test from 'ava';
import { memoryBacking, PowerCutError } from '../boards/host/flash';
import { base64Encode } from '../firmware/device/core/base64';
import { accounts, FAILS_KEY, VERIFIER_KEY, decodeVerifier } from '../modules/accounts';
import { lockWait, Lock } from '../modules/accounts/lockout';
import { relay } from '../examples/smart-plug/relay';
import { u32 } from '../firmware/device/core/bytes';
import type { HoshiModule } from '../firmware/device/core/module';
import { scramClient } from '../modules/accounts/scram';
import { COSE_ENCRYPT0, decodeProtected, openAnswer, pivOf, protectRequest } from '../modules/channel/channel';
import { scramPassword } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';
import { body, call, carry, CLIENT, login, newUnit, open, passwordBody, protect, rig, session, type Rig, type RigSession } from './accounts-rig';

/** The accounts module with the smart plug's relay beside it (routes of every access level). */
function plug(): HoshiModule {
  const a = accounts();
  const r = relay({ host: 'relay' });
  return {
    name: 'plug',
    reserve: (a.reserve ?? []).concat(r.reserve ?? []),
    start: (c) => {
      a.start(c);
      r.start(c);
    },
  };
}

const NEW_PASSWORD = 'correct horse 7 staple';

function changed(r: Rig, password: string, next = NEW_PASSWORD): void {
  const c = call(r, session(r, password), 'POST', '/api/password', { body: passwordBody(next, r.unit!.setupKey) });
  if (c.status !== 200) throw new Error('change ' + c.status + ' ' + JSON.stringify(body(c)));
}

test('the label password logs in, the device proves itself, and only the change of password is reachable until it is made', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const l = login(r, unit.password);
  t.is(l.status, 200);
  t.true(l.serverOk, 'the server signature checks out');
  t.true(l.body.mustChange);
  t.is(l.body.channel, 1, 'the admin channel, version 1');
  t.is(Buffer.from(l.body.token, 'base64').length, 18, 'a 144-bit token');
  const s = l.session!;
  const state = call(r, s, 'GET', '/api/session');
  t.is(state.status, 200);
  t.true(state.sealed, 'the answer comes through the channel');
  t.like(body(state), { access: 'admin', mustChange: true });
  const put = call(r, s, 'PUT', '/api/relay', { body: { on: true } });
  t.is(put.status, 403);
  t.like(body(put), { error: 'password-change-required' });
  t.false(r.io.outputs.relay);
  t.is(call(r, s, 'GET', '/api/relay/schedule').status, 403);
  t.is(r.request('GET', '/api/relay').status, 200, 'public routes stay public');
});

test('every policy refusal has its rule and reason, and nothing is stored', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const s = session(r, unit.password);
  const cases: [unknown, string][] = [
    ['short1!', 'too-short'],
    ['x'.repeat(40) + 'y'.repeat(3) + 'z'.repeat(30), 'too-long'],
    ['pässwörter-lang', 'not-ascii'],
    ['tab\there-password', 'not-ascii'],
    ['goodbutaaaa-9', 'repeated'],
    ['xk-1234-yz', 'sequence'],
    ['zyx-dcba-qq', 'sequence'],
    ['my ' + unit.record.serial.toLowerCase() + ' pw', 'identity'],
    ['HS-PLUG-01 is mine', 'identity'],
    [unit.password, 'default'],
    [12345678, 'not-text'],
  ];
  for (const [password, rule] of cases) {
    const c = call(r, s, 'POST', '/api/password', { body: passwordBody(password, unit.setupKey) });
    t.is(c.status, 422, String(password));
    t.true(c.sealed, 'a refusal by the route comes through the channel too');
    t.is(body(c).error, 'password-' + rule, String(password));
    t.true(body(c).reason.length > 5);
  }
  t.false(r.store.keys().includes(VERIFIER_KEY), 'no refused password was stored');
  t.is(login(r, unit.password).status, 200, 'the default still works');
});

test('after a change the old password fails, the new one works, and every earlier session is gone', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const other = session(r, unit.password);
  const mine = session(r, unit.password);
  const c = call(r, mine, 'POST', '/api/password', { body: passwordBody(NEW_PASSWORD, unit.setupKey) });
  t.is(c.status, 200);
  t.true(c.sealed);
  for (const s of [other, mine]) {
    const x = call(r, s, 'GET', '/api/session');
    t.is(x.status, 401);
    t.regex(String(x.headers!['WWW-Authenticate']), /^SCRAM-SHA-256 realm="HS-PLUG-01", Bearer realm="HS-PLUG-01"$/);
  }
  t.is(login(r, unit.password).status, 401);
  r.advance(lockWait(1) * 1000);
  const l = login(r, NEW_PASSWORD);
  t.is(l.status, 200);
  t.false(l.body.mustChange);
  const on = call(r, l.session!, 'PUT', '/api/relay', { body: { on: true } });
  t.is(on.status, 200);
  t.true(on.sealed);
  t.true(r.io.outputs.relay);
  r.reboot();
  t.is(call(r, l.session!, 'GET', '/api/session').status, 401, 'a reboot ends sessions');
  t.is(login(r, NEW_PASSWORD).status, 200, 'the new password survives a reboot');
  t.is(login(r, unit.password).status, 401);
});

test('the client detects a device that does not hold the verifier', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const l = login(r, unit.password);
  t.true(l.serverOk);
  // An impostor that accepts any proof answers with a signature it cannot make correctly.
  const forged = 'v=' + base64Encode(new Uint8Array(32).fill(7));
  t.false(l.client.verifyServer(forged));
  t.false(l.client.verifyServer('v=not base64'));
  t.false(l.client.verifyServer(''));
  // A device holding another unit's verifier fails the same way.
  const elsewhere = rig(plug, newUnit(unit.password));
  const e = login(elsewhere, unit.password);
  t.true(e.serverOk, 'the same password on another unit is fine');
  t.false(l.client.verifyServer(e.body.scram), 'but its signature does not fit this exchange');
});

test('a wrong proof, an unknown nonce, a replayed nonce and an expired login are one failure', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const wrong = login(r, 'not the password');
  t.is(wrong.status, 401);
  t.is(wrong.body.error, 'login-failed');
  const ok = login(r, unit.password);
  t.is(ok.status, 200);
  // Replay of a finished exchange's final message.
  const first = r.request('POST', '/api/login', { body: { scram: ok.client.first } });
  t.is(first.status, 200);
  const replay = r.request('POST', '/api/login', { body: { scram: 'c=biws,r=' + body(first).scram.split(',')[0].slice(2) + 'X,p=' + base64Encode(new Uint8Array(32)) } });
  t.is(replay.status, 401);
  t.is(body(replay).error, 'login-failed');
  t.is(u32(r.store.get(FAILS_KEY)!, 0), 0, 'an unknown nonce checks no proof and is not counted');
  // Expired: the second step 31 s after the first.
  const client = scramClient(CLIENT, 'admin', scramPassword(CLIENT, unit.setupKey, unit.password), base64Encode(new Uint8Array(18).fill(9)));
  const step = r.request('POST', '/api/login', { body: { scram: client.first } });
  r.advance(31_000);
  const late = r.request('POST', '/api/login', { body: { scram: client.final(body(step).scram) as string } });
  t.is(late.status, 401);
  t.is(body(late).error, 'login-failed');
  // An unknown user name fails at the second step like a wrong password.
  const stranger = scramClient(CLIENT, 'root', scramPassword(CLIENT, unit.setupKey, unit.password), base64Encode(new Uint8Array(18).fill(3)));
  r.advance(lockWait(4) * 1000);
  const s1 = r.request('POST', '/api/login', { body: { scram: stranger.first } });
  t.is(s1.status, 200);
  const s2 = r.request('POST', '/api/login', { body: { scram: stranger.final(body(s1).scram) as string } });
  t.is(s2.status, 401);
  t.is(body(s2).error, 'login-failed');
});

test('a brute force of 1,000 guesses from one source is slowed and locked as documented; the right password works once the lockout ends', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const start = r.clock.t;
  let tries = 0;
  let locked = 0;
  const waits: number[] = [];
  while (tries < 1000) {
    const l = login(r, 'guess ' + tries);
    if (l.status === 429) {
      locked++;
      t.is(l.response.headers!['Retry-After'], String(l.body.retryAfter));
      waits.push(l.body.retryAfter);
      r.advance(l.body.retryAfter * 1000);
      continue;
    }
    t.is(l.status, 401);
    tries++;
  }
  const days = (r.clock.t - start) / 86400000;
  t.true(days > 40, 'documented: ≈ 41 days for 1,000 guesses, took ' + days.toFixed(1));
  t.true(Math.max(...waits) <= 3600, 'no lockout is longer than an hour');
  t.is(u32(r.store.get(FAILS_KEY)!, 0), 1000, 'every failure is in the store');
  // The owner: waits out the current lockout, then logs in; the count starts over.
  const early = login(r, unit.password);
  t.is(early.status, 429);
  r.advance(early.body.retryAfter * 1000);
  const l = login(r, unit.password);
  t.is(l.status, 200);
  t.is(u32(r.store.get(FAILS_KEY)!, 0), 0);
  t.is(login(r, 'wrong again').status, 401);
  t.is(login(r, 'wrong again').status, 401, 'a fresh count: no wait after a success');
});

test('an attacker rotating addresses is held by the device-wide count; the owner at another address is slowed only after it', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const start = r.clock.t;
  let tries = 0;
  while (tries < 1000) {
    const l = login(r, 'guess ' + tries, '198.51.100.' + (tries % 250));
    if (l.status === 429) {
      r.advance(l.body.retryAfter * 1000);
      continue;
    }
    t.is(l.status, 401);
    tries++;
  }
  const days = (r.clock.t - start) / 86400000;
  t.true(days > 40, '1,000 guesses from 250 addresses took ' + days.toFixed(1) + ' days');
  // Per source: three free failures, then the source waits while others do not (before the global cap).
  const fresh = rig(plug, unit);
  for (let i = 0; i < Lock.FREE; i++) t.is(login(fresh, 'x' + i, '203.0.113.9').status, 401);
  t.is(login(fresh, 'x', '203.0.113.9').status, 429);
  t.is(login(fresh, unit.password, '203.0.113.10').status, 200, 'the owner at another address is not held by one noisy source');
});

test('without source addresses (Kaluma on a Pico W reports 0.0.0.0) the device-wide count follows the per-source schedule', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  for (let i = 0; i < Lock.FREE; i++) t.is(login(r, 'x' + i, '0.0.0.0').status, 401);
  const held = login(r, unit.password, '0.0.0.0');
  t.is(held.status, 429, 'the owner is held too: what the docs say about a LAN attacker on a Pico W');
  t.is(held.body.retryAfter, lockWait(Lock.FREE));
  r.advance(held.body.retryAfter * 1000);
  t.is(login(r, unit.password, '0.0.0.0').status, 200);
});

test('the failure count survives a reboot, and a reboot restarts the current wait instead of ending it', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  for (let i = 0; i < 12; i++) {
    const l = login(r, 'g' + i, '0.0.0.0');
    if (l.status === 429) r.advance(l.body.retryAfter * 1000);
  }
  const before = u32(r.store.get(FAILS_KEY)!, 0);
  r.reboot();
  t.is(u32(r.store.get(FAILS_KEY)!, 0), before);
  const l = login(r, unit.password, '0.0.0.0');
  t.is(l.status, 429);
  t.is(l.body.retryAfter, lockWait(before));
});

test('a power cut at every flash operation of a failed login never lowers the failure count, and the proof is never checked uncounted', (t) => {
  const unit = newUnit();
  const backing = memoryBacking(32 * 4096);
  const r = rig(plug, unit, backing);
  // Warm up: the DRBG's carry, a few failures, and enough writes to make compaction likely.
  for (let i = 0; i < 2; i++) login(r, 'warm' + i);
  let cuts = 0;
  for (let round = 0; round < 40; round++) {
    const before = u32(r.store.get(FAILS_KEY)!, 0);
    const base = r.flash.operations;
    // Step one first (the DRBG may write its carry), then cut during step two.
    const client = scramClient(CLIENT, 'admin', 'wrong ' + round, base64Encode(new Uint8Array(18).fill(round + 1)));
    const first = r.request('POST', '/api/login', { body: { scram: client.first } });
    if (first.status === 429) {
      r.advance(body(first).retryAfter * 1000);
      round--;
      continue;
    }
    const final = client.final(body(first).scram) as string;
    const opsBefore = r.flash.operations;
    r.flash.cutAt(opsBefore + 1 + (round % 3), round % 2 ? { tearWords: 1 } : undefined);
    let cut = false;
    try {
      t.is(r.request('POST', '/api/login', { body: { scram: final } }).status, 401);
    } catch (error) {
      t.true(error instanceof PowerCutError);
      cut = true;
      cuts++;
    }
    r.reboot();
    const after = u32(r.store.get(FAILS_KEY)!, 0);
    t.true(after === before || after === before + 1, 'round ' + round + ': ' + before + ' → ' + after);
    if (!cut) t.is(after, before + 1, 'a checked proof was counted');
    void base;
    r.advance(3600_000);
  }
  t.true(cuts > 10, 'cuts happened: ' + cuts);
});

test('a power cut at every flash operation of a password change leaves the old password or the new one', (t) => {
  const unit = newUnit();
  let oldSeen = 0;
  let newSeen = 0;
  for (let cutAt = 1; ; cutAt++) {
    const backing = memoryBacking(32 * 4096);
    const r = rig(plug, unit, backing);
    const s = session(r, unit.password);
    const payload = passwordBody(NEW_PASSWORD, unit.setupKey);
    r.flash.cutAt(r.flash.operations + cutAt, cutAt % 2 ? { tearWords: 2 } : undefined);
    let done = false;
    try {
      done = call(r, s, 'POST', '/api/password', { body: payload }).status === 200;
    } catch (error) {
      t.true(error instanceof PowerCutError);
    }
    r.reboot();
    const stored = r.store.read(VERIFIER_KEY);
    if (stored.ok) {
      t.truthy(decodeVerifier(stored.value));
      t.is(login(r, NEW_PASSWORD).status, 200, 'cut at ' + cutAt + ': the new one');
      newSeen++;
    } else {
      t.is(stored.reason, 'absent');
      t.is(login(r, unit.password).status, 200, 'cut at ' + cutAt + ': the old one');
      oldSeen++;
    }
    if (done) break;
  }
  t.true(oldSeen >= 1 && newSeen >= 1);
});

test('every non-public route refuses no session, a forged token, an expired session and a logged-out one (the whole table)', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  changed(r, unit.password);
  const live = session(r, NEW_PASSWORD);
  const loggedOut = session(r, NEW_PASSWORD);
  t.is(call(r, loggedOut, 'POST', '/api/logout').status, 200);
  const expiring = session(r, NEW_PASSWORD);
  const protectedRoutes = r.routes.filter((x) => x.access !== 'public');
  t.true(protectedRoutes.length >= 6, protectedRoutes.map((x) => x.method + ' ' + x.path).join(', '));
  const forged = base64Encode(new Uint8Array(18).fill(1));
  for (const route of protectedRoutes) {
    const label = route.method + ' ' + route.path;
    for (const auth of [undefined, 'Bearer ' + forged, 'Bearer ' + loggedOut.token, 'Bearer', 'Bearer ' + live.token + 'x', 'Basic YWRtaW46YWRtaW4=', 'bearer ' + forged.slice(0, 20)]) {
      const x = r.request(route.method, route.path, { authorization: auth });
      t.is(x.status, 401, label + ' with ' + auth);
      t.truthy(x.headers!['WWW-Authenticate']);
    }
    // A request protected by a session that has ended is refused all the same.
    t.is(call(r, loggedOut, route.method, route.path).status, 401, label + ' logged out');
    // A live session's request without the channel is refused, whatever the route.
    const plain = r.request(route.method, route.path, { token: live.token, body: route.method === 'GET' ? undefined : {} });
    t.is(plain.status, 400, label + ' plain');
    t.is(body(plain).error, 'channel-required', label + ' plain');
  }
  t.is(call(r, live, 'GET', '/api/session').status, 200, 'the refused plain requests ended nothing');
  // Idle expiry: 15 minutes without a request.
  r.advance(15 * 60_000 + 1);
  for (const route of protectedRoutes) t.is(call(r, expiring, route.method, route.path).status, 401, route.path + ' expired');
  // Absolute expiry: a session used every 10 minutes still ends after 8 hours.
  const busy = session(r, NEW_PASSWORD);
  let lastOk = 0;
  for (let m = 10; m <= 500; m += 10) {
    r.advance(10 * 60_000);
    if (call(r, busy, 'GET', '/api/session').status === 200) lastOk = m;
  }
  t.is(lastOk, 480, 'eight hours, then no more');
});

test('hostile login and password requests get a 4xx with a reason and change nothing', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const logins: [string, number][] = [
    ['', 400],
    ['{', 400],
    ['null', 400],
    ['[]', 400],
    ['{"scram": 5}', 400],
    ['{"scram": ""}', 400],
    ['{"scram": "n,,n=admin"}', 400],
    ['{"scram": "n,,n=admin,r=short"}', 400],
    ['{"scram": "p=tls-unique,,n=admin,r=0123456789abcdef01"}', 400],
    ['{"scram": "n,,n=admin,r=0123456789abcdef01,e=ext"}', 400],
    ['{"scram": "n,,n=admin,r=0123456789abcdef\\u0001"}', 400],
    ['{"scram": "n,,n=admin,r=' + 'a'.repeat(500) + '"}', 400],
    ['{"scram": "c=biws,r=x,p=###"}', 400],
    ['{"scram": "c=biws,r=x,p=' + base64Encode(new Uint8Array(31)) + '"}', 400],
    ['{"scram": "c=biws,r=x,p=' + base64Encode(new Uint8Array(33)) + '"}', 400],
    ['{"scram": "c=eSws,r=x,p=' + base64Encode(new Uint8Array(32)) + '"}', 400],
    ['{"scram": "c=biws,r=x"}', 400],
    ['{"scram": "c=biws,p=' + base64Encode(new Uint8Array(32)) + ',r=x"}', 400],
  ];
  for (const [raw, status] of logins) {
    const x = r.request('POST', '/api/login', { raw });
    t.is(x.status, status, raw.slice(0, 60));
    t.true(typeof body(x).reason === 'string' && body(x).reason.length > 5, raw.slice(0, 60));
  }
  t.is(r.store.get(FAILS_KEY), undefined, 'malformed messages are not attempts');
  const s = session(r, unit.password);
  const good = passwordBody(NEW_PASSWORD, unit.setupKey) as any;
  const passwords: [unknown, number, string][] = [
    ['', 400, 'bad-json'],
    ['[1]', 400, 'bad-json'],
    [{ ...good, salt: 'AAAA' }, 400, 'bad-verifier'],
    [{ ...good, salt: '!!!!' }, 400, 'bad-verifier'],
    [{ ...good, salt: 5 }, 400, 'bad-verifier'],
    [{ ...good, iterations: 1e12 }, 400, 'bad-verifier'],
    [{ ...good, iterations: 4095 }, 400, 'bad-verifier'],
    [{ ...good, iterations: 4096.5 }, 400, 'bad-verifier'],
    [{ ...good, iterations: '4096' }, 400, 'bad-verifier'],
    [{ ...good, storedKey: base64Encode(new Uint8Array(31)) }, 400, 'bad-verifier'],
    [{ ...good, serverKey: undefined }, 400, 'bad-verifier'],
    [{ ...good, password: null }, 422, 'password-not-text'],
    [{ ...good, password: ['a'] }, 422, 'password-not-text'],
  ];
  for (const [b, status, error] of passwords) {
    const x = typeof b === 'string' ? call(r, s, 'POST', '/api/password', { raw: b }) : call(r, s, 'POST', '/api/password', { body: b });
    t.is(x.status, status, JSON.stringify(b).slice(0, 80));
    t.is(body(x).error, error);
  }
  t.false(r.store.keys().includes(VERIFIER_KEY));
  t.is(call(r, s, 'GET', '/api/session').status, 200, 'the session still serves');
});

test('a unit whose record has no password (version 1) serves public routes only and says why', (t) => {
  const unit = newUnit();
  const v1 = { ...unit, record: { ...unit.record, verifier: undefined, defaultCheck: undefined, setupKey: undefined } };
  const r = rig(plug, v1);
  const l = r.request('POST', '/api/login', { body: { scram: 'n,,n=admin,r=0123456789abcdef01' } });
  t.is(l.status, 503);
  t.is(body(l).error, 'no-default-password');
  const put = r.request('PUT', '/api/relay', { body: { on: true } });
  t.is(put.status, 401);
  t.regex(body(put).reason, /no default password/);
  t.is(r.request('GET', '/api/relay').status, 200);
});

test('a unit whose record has no setup key (version 2) serves public routes only and says why', (t) => {
  const unit = newUnit();
  const v2 = { ...unit, record: { ...unit.record, setupKey: undefined } };
  const r = rig(plug, v2);
  const l = login(r, unit.password);
  t.is(l.status, 503);
  t.is(l.body.error, 'no-setup-key');
  t.regex(l.body.reason, /version 2/);
  const put = r.request('PUT', '/api/relay', { body: { on: true } });
  t.is(put.status, 401);
  t.regex(body(put).reason, /no setup key/);
  t.false(r.io.outputs.relay);
  t.is(r.request('GET', '/api/relay').status, 200);
  t.is(r.request('GET', '/api/password/policy').status, 200);
});

test('the lockout schedule: free, then doubling delays, then lockouts up to an hour', (t) => {
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 50].map(lockWait), [0, 0, 0, 2, 4, 8, 16, 32, 64, 300, 600, 1200, 2400, 3600, 3600]);
});

test('holding the clear button for 3 s while the device runs ends every lockout; a short press does not', (t) => {
  const unit = newUnit();
  const r = rig(() => accounts({ clearButton: { host: 'button' } }), unit);
  for (let i = 0; i < 12; ) {
    const l = login(r, 'g' + i, '0.0.0.0');
    if (l.status === 429) r.advance(l.body.retryAfter * 1000);
    else i++;
  }
  t.is(login(r, unit.password, '0.0.0.0').status, 429);
  r.io.press('button', true);
  for (let i = 0; i < 11; i++) r.tick();
  r.io.press('button', false);
  r.tick();
  t.is(login(r, unit.password, '0.0.0.0').status, 429, 'released before 3 s: still locked');
  r.io.press('button', true);
  for (let i = 0; i < 12; i++) r.tick();
  r.io.press('button', false);
  t.is(u32(r.store.get(FAILS_KEY)!, 0), 0);
  t.is(login(r, unit.password, '0.0.0.0').status, 200);
});

test("the setup key is part of the password: the label password under another setup key fails like a wrong one, and counts", (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const other = newUnit(unit.password);
  const wrongKey = login(r, unit.password, '192.0.2.1', other.setupKey);
  t.is(wrongKey.status, 401);
  t.is(wrongKey.body.error, 'login-failed');
  t.is(wrongKey.session, undefined);
  t.is(u32(r.store.get(FAILS_KEY)!, 0), 1, 'a checked proof: counted');
  // SCRAM on the raw password (a client that skips the pre-hash) fails the same way.
  const raw = scramClient(CLIENT, 'admin', unit.password, base64Encode(new Uint8Array(18).fill(5)));
  const first = r.request('POST', '/api/login', { body: { scram: raw.first } });
  t.is(r.request('POST', '/api/login', { body: { scram: raw.final(body(first).scram) as string } }).status, 401);
  t.is(login(r, unit.password).status, 200, 'the right key and password');
});

/** A unit whose password has been changed, and a live session on it (no change forced). */
function ready(): { r: Rig; s: RigSession; unit: ReturnType<typeof newUnit> } {
  const unit = newUnit();
  const r = rig(plug, unit);
  changed(r, unit.password);
  return { r, s: session(r, NEW_PASSWORD), unit };
}

test('the admin channel: a live session\'s request without it is refused (channel-required), in a body or for GET, and changes nothing, not even the idle time', (t) => {
  const { r, s } = ready();
  const put = r.request('PUT', '/api/relay', { token: s.token, body: { on: true } });
  t.is(put.status, 400);
  t.like(body(put), { error: 'channel-required' });
  t.regex(body(put).reason, /protected by the admin channel/);
  t.false(r.io.outputs.relay, 'the plain request did nothing');
  const get = r.request('GET', '/api/session', { token: s.token });
  t.is(get.status, 400);
  t.like(body(get), { error: 'channel-required' });
  t.regex(body(get).reason, /Hoshi-Channel header/);
  // A GET's protected request travels in the header only; a body is not read for it.
  const inBody = r.request('GET', '/api/session', { token: s.token, bytes: protect(s, 'GET', '/api/session', new Uint8Array(0), s.seq) });
  t.is(body(inBody).error, 'channel-required');
  // The header must be standard base64.
  const notBase64 = r.request('GET', '/api/session', { token: s.token, headers: { 'hoshi-channel': 'not base64!' } });
  t.is(body(notBase64).error, 'channel-malformed');
  t.regex(body(notBase64).reason, /not base64/);
  // Plain logout does not end the session; plain password change changes nothing.
  t.is(body(r.request('POST', '/api/logout', { token: s.token })).error, 'channel-required');
  t.is(body(r.request('POST', '/api/password', { token: s.token, body: passwordBody('another fine pass 9', r.unit!.setupKey) })).error, 'channel-required');
  t.is(call(r, s, 'GET', '/api/session').status, 200, 'still logged in');
  // Idle time: refused requests do not renew it, protected ones do.
  r.advance(10 * 60_000);
  r.request('GET', '/api/session', { token: s.token });
  r.advance(6 * 60_000);
  t.is(call(r, s, 'GET', '/api/session').status, 401, 'expired: the plain request 6 minutes ago did not count');
  const s2 = session(r, NEW_PASSWORD);
  r.advance(10 * 60_000);
  t.is(call(r, s2, 'GET', '/api/session').status, 200);
  r.advance(6 * 60_000);
  t.is(call(r, s2, 'GET', '/api/session').status, 200, 'a protected request renews the idle time');
});

test('the admin channel: a replayed, reordered, altered or misdirected request is refused with its reason and consumes nothing', (t) => {
  const { r, s } = ready();
  const other = session(r, NEW_PASSWORD);
  const on = new TextEncoder().encode('{"on":true}');
  const refused = (x: ReturnType<Rig['request']>, error: string, what: string): void => {
    t.is(x.status, 400, what);
    t.is(body(x).error, error, what);
    t.true(String(body(x).reason).length > 10, what);
    t.not(x.headers?.['Content-Type'], COSE_ENCRYPT0, what + ': a refusal of the channel is not protected');
    t.false(r.io.outputs.relay, what + ': the relay did not move');
  };
  // The request of sequence number 0, accepted once.
  const first = protect(s, 'GET', '/api/session', new Uint8Array(0), 0);
  t.is(open(s, 0, carry(r, s, 'GET', '/api/session', first)).status, 200);
  refused(carry(r, s, 'GET', '/api/session', first), 'channel-replayed', 'the same request again');
  t.is(call(r, s, 'GET', '/api/session', { seq: 5 }).status, 200, 'numbers may skip');
  refused(carry(r, s, 'PUT', '/api/relay', protect(s, 'PUT', '/api/relay', on, 3)), 'channel-replayed', 'a lower number');
  refused(carry(r, s, 'PUT', '/api/relay', protect(s, 'PUT', '/api/relay', on, 5)), 'channel-replayed', 'the last number again');
  // From here every request uses number 6: none of the refused ones may consume it.
  refused(carry(r, s, 'PUT', '/api/relay', protect(s, 'PUT', '/api/relay/schedule', on, 6)), 'channel-unauthentic', 'protected for another route');
  refused(carry(r, s, 'PUT', '/api/relay', protect(s, 'POST', '/api/relay', on, 6)), 'channel-unauthentic', 'protected for another method');
  refused(carry(r, s, 'PUT', '/api/relay', protect(other, 'PUT', '/api/relay', on, 6)), 'channel-unauthentic', "another session's keys under this session's token");
  refused(carry(r, other, 'PUT', '/api/relay', protect(s, 'PUT', '/api/relay', on, 6)), 'channel-unauthentic', "this session's request under another's token");
  const reversed = protectRequest(jsCrypto, { ...s.keys, client: s.keys.device }, 6, 'PUT /api/relay', on);
  refused(carry(r, s, 'PUT', '/api/relay', reversed), 'channel-unauthentic', "under the device's key (the other direction)");
  const good = protect(s, 'PUT', '/api/relay', on, 6);
  for (let at = 0; at < good.length; at++) {
    const altered = good.slice();
    altered[at] ^= 0x01;
    const x = carry(r, s, 'PUT', '/api/relay', altered);
    t.is(x.status, 400, 'byte ' + at + ' altered');
    t.true(['channel-required', 'channel-malformed', 'channel-replayed', 'channel-unauthentic'].includes(body(x).error), 'byte ' + at + ': ' + body(x).error);
  }
  t.false(r.io.outputs.relay);
  // The untouched request of number 6 is still good, once.
  const x = open(s, 6, carry(r, s, 'PUT', '/api/relay', good));
  t.is(x.status, 200);
  t.true(x.sealed);
  t.true(r.io.outputs.relay);
  t.is(body(carry(r, s, 'PUT', '/api/relay', good)).error, 'channel-replayed');
  // Each session has its own numbers: the other session's first request is still number 0.
  t.is(call(r, other, 'GET', '/api/session', { seq: 0 }).status, 200);
});

test("the admin channel: the answer is sealed under the device's key for its request and its status", (t) => {
  const { r, s } = ready();
  const seq = s.seq++;
  const a = carry(r, s, 'PUT', '/api/relay/schedule', protect(s, 'PUT', '/api/relay/schedule', new TextEncoder().encode('{"entries":[{"at":"25:00","on":true}]}'), seq));
  t.is(a.status, 400, "the route's own refusal");
  t.is(a.headers!['Content-Type'], COSE_ENCRYPT0);
  const d = decodeProtected(a.body as Uint8Array, false);
  if (typeof d === 'string') return t.fail(d);
  t.is(new TextDecoder().decode(a.body as Uint8Array).indexOf('HH:MM'), -1, 'the reason is not in clear');
  t.regex(new TextDecoder().decode(openAnswer(jsCrypto, s.keys, pivOf(seq), 400, d[1])), /HH:MM/);
  t.is(openAnswer(jsCrypto, s.keys, pivOf(seq), 200, d[1]), undefined, 'bound to its status');
  t.is(openAnswer(jsCrypto, s.keys, pivOf(seq + 1), 400, d[1]), undefined, 'bound to its request');
  t.is(openAnswer(jsCrypto, { ...s.keys, device: s.keys.client }, pivOf(seq), 400, d[1]), undefined, "under the device's key, not the client's");
  const other = session(r, NEW_PASSWORD);
  t.is(openAnswer(jsCrypto, other.keys, pivOf(seq), 400, d[1]), undefined, "another session's keys differ");
});

test('the admin channel: hostile protected requests get 400 with a reason, never reach the route and consume nothing', (t) => {
  const { r, s } = ready();
  const on = new TextEncoder().encode('{"on":true}');
  // Number 300: a 2-byte partial IV. The request is head ‖ {6: PIV} (11 bytes), then the ciphertext's byte string.
  const good = protect(s, 'PUT', '/api/relay', on, 300);
  const pre = good.subarray(0, 11);
  const ctString = good.subarray(11);
  const ct = good.subarray(12);
  t.deepEqual([...good.subarray(6, 12)], [0xa1, 0x06, 0x42, 0x01, 0x2c, 0x40 + ct.length], 'the layout this test relies on');
  const cat = (...parts: (number[] | Uint8Array)[]): Uint8Array => {
    const out: number[] = [];
    for (const p of parts) out.push(...p);
    return new Uint8Array(out);
  };
  const head = [0xd0, 0x83, 0x43, 0xa1, 0x01, 0x0a];
  const cases: [string, Uint8Array, string][] = [
    ['an empty body', new Uint8Array(0), 'channel-required'],
    ['JSON', on, 'channel-required'],
    ['another COSE tag (COSE_Sign1)', cat([0xd2], good.subarray(1)), 'channel-required'],
    ['the tag alone', new Uint8Array([0xd0]), 'channel-malformed'],
    ["an array of 4 (COSE_Encrypt's shape)", cat([0xd0, 0x84], good.subarray(2)), 'channel-malformed'],
    ['another algorithm (A128GCM)', cat([0xd0, 0x83, 0x43, 0xa1, 0x01, 0x01], good.subarray(6)), 'channel-malformed'],
    ['a truncated protected header', new Uint8Array(head.slice(0, 4)), 'channel-malformed'],
    ['no partial IV', cat(head, [0xa0], ctString), 'channel-malformed'],
    ['a kid instead of a partial IV', cat(head, [0xa1, 0x04, 0x41, 0x01], ctString), 'channel-malformed'],
    ['an empty partial IV', cat(head, [0xa1, 0x06, 0x40], ctString), 'channel-malformed'],
    ['a 6-byte partial IV', cat(head, [0xa1, 0x06, 0x46, 1, 2, 3, 4, 5, 6], ctString), 'channel-malformed'],
    ['a partial IV with a leading zero', cat(head, [0xa1, 0x06, 0x43, 0x00, 0x01, 0x2c], ctString), 'channel-malformed'],
    ['a partial IV cut short', cat(head, [0xa1, 0x06, 0x45, 0x01]), 'channel-malformed'],
    ['no ciphertext', pre, 'channel-malformed'],
    ['a ciphertext shorter than the tag', cat(pre, [0x47, 1, 2, 3, 4, 5, 6, 7]), 'channel-malformed'],
    ['a byte after the ciphertext', cat(good, [0x00]), 'channel-malformed'],
    ['the last byte missing', good.subarray(0, good.length - 1), 'channel-malformed'],
    ['a ciphertext length past the end', cat(pre, [0x59, 0xff, 0xff], ct), 'channel-malformed'],
    ['a 4-byte length head', cat(pre, [0x5a, 0, 0, 0, ct.length], ct), 'channel-malformed'],
    ['an indefinite-length byte string', cat(pre, [0x5f, 0x40 + ct.length], ct, [0xff]), 'channel-malformed'],
    ['a text string for the ciphertext', cat(pre, [0x60 + ct.length], ct), 'channel-malformed'],
    ['64 KB of zeroes', new Uint8Array(65536), 'channel-required'],
  ];
  for (const [name, bytes, error] of cases) {
    const x = r.request('PUT', '/api/relay', { token: s.token, bytes });
    t.is(x.status, 400, name);
    t.is(body(x).error, error, name);
    t.true(String(body(x).reason).length > 10, name);
  }
  // The same in the header of a GET (base64 of each): a header that is there but holds no protected request is malformed.
  for (const [name, bytes] of cases) {
    const x = r.request('GET', '/api/session', { token: s.token, headers: { 'hoshi-channel': base64Encode(bytes) } });
    t.is(x.status, 400, 'GET: ' + name);
    t.is(body(x).error, bytes.length ? 'channel-malformed' : 'channel-required', 'GET: ' + name);
  }
  // Junk of every length behind a valid start: never accepted.
  for (let i = 0; i < 300; i++) {
    const junk = cat(head, [0xa1, 0x06, 0x41, 200 + (i % 50)], new Uint8Array(Array.from({ length: i % 40 }, (_, j) => (i * 31 + j * 7) & 0xff)));
    const x = r.request('PUT', '/api/relay', { token: s.token, bytes: junk });
    t.is(x.status, 400);
  }
  t.false(r.io.outputs.relay, 'no hostile request reached the route');
  const x = call(r, s, 'PUT', '/api/relay', { body: { on: true }, seq: 300 });
  t.is(x.status, 200, 'the good request, number 300, was never consumed');
  t.true(r.io.outputs.relay);
});

test('the security log hears of each login, each failed proof, each lockout that starts and each password change, and never of a 429', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  t.is(login(r, unit.password, '192.0.2.7').status, 200);
  t.deepEqual(r.events, ['login 192.0.2.7']);
  r.events.length = 0;
  let refused = 0;
  for (let i = 0; i < 12; i++) if (login(r, 'guess ' + i, '192.0.2.9').status === 429) refused++;
  t.true(refused > 0, 'the lockout started');
  const failed = r.events.filter((e) => e.startsWith('login-failed 192.0.2.9 '));
  const lockouts = r.events.filter((e) => e.startsWith('lockout 192.0.2.9 '));
  t.is(failed.length, 12 - refused, 'one event per checked proof, none per 429');
  t.true(lockouts.length >= 1 && lockouts.length <= failed.length);
  t.regex(lockouts[0], /^lockout 192\.0\.2\.9 \d+s$/);
  t.is(r.events.length, failed.length + lockouts.length);
  t.false(r.events.some((e) => e.includes('guess')), 'no password in the log');
  r.advance(3600 * 1000);
  r.events.length = 0;
  const s = session(r, unit.password, '192.0.2.3');
  t.is(call(r, s, 'POST', '/api/password', { body: passwordBody(NEW_PASSWORD, unit.setupKey), remote: '192.0.2.3' }).status, 200);
  t.deepEqual(r.events, ['login 192.0.2.3', 'password 192.0.2.3']);
});

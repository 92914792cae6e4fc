import test from 'ava';
import { memoryBacking, PowerCutError } from '../boards/host/flash';
import { base64Encode } from '../firmware/device/core/base64';
import { accounts, FAILS_KEY, VERIFIER_KEY, decodeVerifier } from '../modules/accounts';
import { lockWait, Lock } from '../modules/accounts/lockout';
import { relay } from '../examples/smart-plug/relay';
import { u32 } from '../firmware/device/core/bytes';
import type { HoshiModule } from '../firmware/device/core/module';
import { scramClient } from '../modules/accounts/scram';
import { body, CLIENT, login, newUnit, passwordBody, rig, type Rig } from './accounts-rig';

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
  const l = login(r, password);
  if (l.status !== 200) throw new Error('login ' + l.status + ' ' + JSON.stringify(l.body));
  const c = r.request('POST', '/api/password', { token: l.body.token, body: passwordBody(next) });
  if (c.status !== 200) throw new Error('change ' + c.status + ' ' + JSON.stringify(body(c)));
}

test('the label password logs in, the device proves itself, and only the change of password is reachable until it is made', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const l = login(r, unit.password);
  t.is(l.status, 200);
  t.true(l.serverOk, 'the server signature checks out');
  t.true(l.body.mustChange);
  t.is(Buffer.from(l.body.token, 'base64').length, 18, 'a 144-bit token');
  const token = l.body.token;
  t.is(r.request('GET', '/api/session', { token }).status, 200);
  const put = r.request('PUT', '/api/relay', { token, body: { on: true } });
  t.is(put.status, 403);
  t.like(body(put), { error: 'password-change-required' });
  t.is(r.request('GET', '/api/relay/schedule', { token }).status, 403);
  t.is(r.request('GET', '/api/relay').status, 200, 'public routes stay public');
});

test('every policy refusal has its rule and reason, and nothing is stored', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const token = login(r, unit.password).body.token;
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
    const c = r.request('POST', '/api/password', { token, body: passwordBody(password) });
    t.is(c.status, 422, String(password));
    t.is(body(c).error, 'password-' + rule, String(password));
    t.true(body(c).reason.length > 5);
  }
  t.false(r.store.keys().includes(VERIFIER_KEY), 'no refused password was stored');
  t.is(login(r, unit.password).status, 200, 'the default still works');
});

test('after a change the old password fails, the new one works, and every earlier session is gone', (t) => {
  const unit = newUnit();
  const r = rig(plug, unit);
  const other = login(r, unit.password).body.token;
  const mine = login(r, unit.password).body.token;
  const c = r.request('POST', '/api/password', { token: mine, body: passwordBody(NEW_PASSWORD) });
  t.is(c.status, 200);
  for (const token of [other, mine]) {
    const s = r.request('GET', '/api/session', { token });
    t.is(s.status, 401);
    t.regex(String(s.headers!['WWW-Authenticate']), /^SCRAM-SHA-256 realm="HS-PLUG-01", Bearer realm="HS-PLUG-01"$/);
  }
  t.is(login(r, unit.password).status, 401);
  r.advance(lockWait(1) * 1000);
  const l = login(r, NEW_PASSWORD);
  t.is(l.status, 200);
  t.false(l.body.mustChange);
  t.is(r.request('PUT', '/api/relay', { token: l.body.token, body: { on: true } }).status, 200);
  r.reboot();
  t.is(r.request('GET', '/api/session', { token: l.body.token }).status, 401, 'a reboot ends sessions');
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
  const client = scramClient(CLIENT, 'admin', unit.password, base64Encode(new Uint8Array(18).fill(9)));
  const step = r.request('POST', '/api/login', { body: { scram: client.first } });
  r.advance(31_000);
  const late = r.request('POST', '/api/login', { body: { scram: client.final(body(step).scram) as string } });
  t.is(late.status, 401);
  t.is(body(late).error, 'login-failed');
  // An unknown user name fails at the second step like a wrong password.
  const stranger = scramClient(CLIENT, 'root', unit.password, base64Encode(new Uint8Array(18).fill(3)));
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
    const token = login(r, unit.password).body.token;
    const payload = passwordBody(NEW_PASSWORD);
    r.flash.cutAt(r.flash.operations + cutAt, cutAt % 2 ? { tearWords: 2 } : undefined);
    let done = false;
    try {
      done = r.request('POST', '/api/password', { token, body: payload }).status === 200;
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
  const live = login(r, NEW_PASSWORD).body.token;
  const loggedOut = login(r, NEW_PASSWORD).body.token;
  t.is(r.request('POST', '/api/logout', { token: loggedOut }).status, 200);
  const expiring = login(r, NEW_PASSWORD).body.token;
  const protectedRoutes = r.routes.filter((x) => x.access !== 'public');
  t.true(protectedRoutes.length >= 6, protectedRoutes.map((x) => x.method + ' ' + x.path).join(', '));
  const forged = base64Encode(new Uint8Array(18).fill(1));
  for (const route of protectedRoutes) {
    const label = route.method + ' ' + route.path;
    for (const auth of [undefined, 'Bearer ' + forged, 'Bearer ' + loggedOut, 'Bearer', 'Bearer ' + live + 'x', 'Basic YWRtaW46YWRtaW4=', 'bearer ' + forged.slice(0, 20)]) {
      const x = r.request(route.method, route.path, { authorization: auth });
      t.is(x.status, 401, label + ' with ' + auth);
      t.truthy(x.headers!['WWW-Authenticate']);
    }
  }
  // Idle expiry: 15 minutes without a request.
  r.advance(15 * 60_000 + 1);
  for (const route of protectedRoutes) t.is(r.request(route.method, route.path, { token: expiring }).status, 401, route.path + ' expired');
  // Absolute expiry: a session used every 10 minutes still ends after 8 hours.
  const busy = login(r, NEW_PASSWORD).body.token;
  let lastOk = 0;
  for (let m = 10; m <= 500; m += 10) {
    r.advance(10 * 60_000);
    if (r.request('GET', '/api/session', { token: busy }).status === 200) lastOk = m;
  }
  t.is(lastOk, 480, 'eight hours, then no more');
  void live;
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
  const token = login(r, unit.password).body.token;
  const good = passwordBody(NEW_PASSWORD) as any;
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
    const x = typeof b === 'string' ? r.request('POST', '/api/password', { token, raw: b }) : r.request('POST', '/api/password', { token, body: b });
    t.is(x.status, status, JSON.stringify(b).slice(0, 80));
    t.is(body(x).error, error);
  }
  t.false(r.store.keys().includes(VERIFIER_KEY));
  t.is(r.request('GET', '/api/session', { token }).status, 200, 'the session still serves');
});

test('a unit whose record has no password (version 1) serves public routes only and says why', (t) => {
  const unit = newUnit();
  const v1 = { ...unit, record: { ...unit.record, verifier: undefined, defaultCheck: undefined } };
  const r = rig(plug, v1);
  const l = r.request('POST', '/api/login', { body: { scram: 'n,,n=admin,r=0123456789abcdef01' } });
  t.is(l.status, 503);
  t.is(body(l).error, 'no-default-password');
  const put = r.request('PUT', '/api/relay', { body: { on: true } });
  t.is(put.status, 401);
  t.regex(body(put).reason, /no default password/);
  t.is(r.request('GET', '/api/relay').status, 200);
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

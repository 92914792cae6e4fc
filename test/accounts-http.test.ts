import test from 'ava';
import smartPlug from '../examples/smart-plug/image';
import sensor from '../examples/env-sensor/image';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import { changePassword, ClientError, login, Session } from '../firmware/host/client';
import { parseSetupKey } from '../modules/channel/setup';

/**
 * The accounts module in the simulated device, over real sockets: what an evaluator's tools see.
 * (The 1,000-guess brute force runs against the module with a simulated clock: test/accounts.test.ts.)
 */

async function unit(t: { teardown(fn: () => void): void }, image = smartPlug): Promise<Simulator> {
  const sim = await startSimulator({ image, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  return sim;
}

/** The unit's setup key, read off its label as a client would. */
function keyOf(sim: Simulator): Uint8Array {
  return parseSetupKey(sim.label!.setupKey)!;
}

async function refusal(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error('not refused');
}

test('over HTTP: three wrong guesses, then 429 with Retry-After; the label password once the wait is over, then the forced change', async (t) => {
  const sim = await unit(t);
  const key = keyOf(sim);
  for (let i = 0; i < 3; i++) t.is((await refusal(login(sim.url, 'wrong guess ' + i, key))).code, 'login-failed');
  const held = await refusal(login(sim.url, sim.label!.defaultPassword, key));
  t.is(held.code, 'locked');
  t.is(held.status, 429);
  t.is(held.retryAfter, 2);
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const session = await login(sim.url, sim.label!.defaultPassword, key);
  t.true(session.mustChange);
  t.deepEqual(await session.state(), { access: 'admin', mustChange: true, expiresIn: 900 });
  const put = await session.call('PUT', '/api/relay', { on: true });
  t.is(put.status, 403);
  t.is(put.body.error, 'password-change-required');
  await changePassword(session, key, 'amber-kettle-42-rowing', { iterations: 4096 });
  const next = await login(sim.url, 'amber-kettle-42-rowing', key);
  t.false(next.mustChange);
  const on = await next.call('PUT', '/api/relay', { on: true });
  t.is(on.status, 200);
  t.deepEqual(on.body, { on: true });
  t.true(sim.io.outputs.relay);
  // The same session's plain requests (a Bearer token is not enough) are refused and change nothing.
  const plainPut = await fetch(sim.url + '/api/relay', { method: 'PUT', headers: { Authorization: 'Bearer ' + next.token }, body: '{"on":false}' });
  t.is(plainPut.status, 400);
  t.like(await plainPut.json(), { error: 'channel-required' });
  t.true(sim.io.outputs.relay, 'the plain PUT did not switch the relay');
  const plainGet = await fetch(sim.url + '/api/session', { headers: { Authorization: 'Bearer ' + next.token } });
  t.is(plainGet.status, 400);
  const refusedGet = await plainGet.json();
  t.is(refusedGet.error, 'channel-required');
  t.regex(refusedGet.reason, /Hoshi-Channel header/);
  const plainLogout = await fetch(sim.url + '/api/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + next.token } });
  t.is((await plainLogout.json()).error, 'channel-required');
  t.is((await next.state()).access, 'admin', 'the plain logout ended nothing');
  // The password and the count survive a reboot; sessions do not.
  await sim.reboot();
  // (The simulator listens on another port after a reboot: the same session, at the new address.)
  const after = new Session(sim.url, next.token, next.keys, false, next.expiresIn, next.iterations, {});
  after.seq = next.seq;
  t.is((await after.call('GET', '/api/session')).status, 401);
  t.is((await fetch(sim.url + '/api/session', { headers: { Authorization: 'Bearer ' + next.token } })).status, 401);
  t.false((await login(sim.url, 'amber-kettle-42-rowing', key)).mustChange);
});

test('over HTTP: the label password under another setup key fails like a wrong password', async (t) => {
  const sim = await unit(t);
  const other = new Uint8Array(keyOf(sim));
  other[0] ^= 1;
  t.is((await refusal(login(sim.url, sim.label!.defaultPassword, other))).code, 'login-failed');
  t.true((await login(sim.url, sim.label!.defaultPassword, keyOf(sim))).mustChange);
});

test('over HTTP: every non-public route of both examples answers 401 with WWW-Authenticate and Cache-Control: no-store without a session', async (t) => {
  for (const image of [smartPlug, sensor]) {
    const sim = await unit(t, image);
    const routes = sim.device.routes.filter((r) => r.access !== 'public');
    t.true(routes.length >= 3);
    for (const r of routes) {
      const variants: Record<string, string>[] = [{}, { Authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAA' }, { Authorization: 'Basic YWRtaW46YWRtaW4=' }];
      for (const headers of variants) {
        const res = await fetch(sim.url + r.path, { method: r.method, headers, body: r.method === 'GET' ? undefined : '{}' });
        t.is(res.status, 401, image.config.model + ' ' + r.method + ' ' + r.path);
        t.regex(res.headers.get('www-authenticate') ?? '', /^SCRAM-SHA-256 realm=".+", Bearer realm=".+"$/);
        t.is(res.headers.get('cache-control'), 'no-store');
        t.is((await res.json()).error, 'unauthenticated');
      }
    }
    const unknown = await fetch(sim.url + '/api/secret-debug', { headers: { Authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAA' } });
    t.is(unknown.status, 404, 'nothing outside the table');
  }
});

test('over HTTP: an oversized login is refused before it is read, and the device keeps serving', async (t) => {
  const sim = await unit(t);
  const big = await fetch(sim.url + '/api/login', { method: 'POST', body: '{"scram":"' + 'n'.repeat(10000) + '"}' });
  t.is(big.status, 413);
  const bad = await fetch(sim.url + '/api/login', { method: 'POST', body: '{"scram":"n,,n=admin,r=' + '\u00ff'.repeat(20) + '"}' });
  t.is(bad.status, 400);
  t.true((await bad.json()).reason.length > 5);
  t.is((await fetch(sim.url + '/api/info')).status, 200);
  t.true((await login(sim.url, sim.label!.defaultPassword, keyOf(sim))).mustChange);
});

test('over HTTP: the common-password filter is served in slices of 4 KB at most, equal to the host builder\'s', async (t) => {
  const sim = await unit(t);
  const { buildCommonFilter } = await import('../firmware/host/assets');
  const expected = buildCommonFilter().bytes;
  const get = (range?: string) => fetch(sim.url + '/api/password/common', { headers: range ? { Range: range } : {} });
  for (const range of [undefined, 'bytes=0-4096', 'bytes=' + expected.length + '-' + expected.length, 'bytes=5-4', 'bytes=-5', 'bytes=0-1,5-9', 'items=0-1', 'bytes=99999999999999999999999-1']) {
    const r = await get(range);
    t.is(r.status, 416, String(range));
    t.is(r.headers.get('content-range'), 'bytes */' + expected.length);
    t.is((await r.json()).error, 'range-required');
  }
  const joined = new Uint8Array(expected.length);
  for (let at = 0; at < expected.length; at += 4096) {
    const end = Math.min(at + 4096, expected.length) - 1;
    const r = await get('bytes=' + at + '-' + end);
    t.is(r.status, 206);
    t.is(r.headers.get('content-range'), 'bytes ' + at + '-' + end + '/' + expected.length);
    joined.set(new Uint8Array(await r.arrayBuffer()), at);
  }
  t.deepEqual(joined, expected);
});

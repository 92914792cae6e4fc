import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import smartPlug from '../examples/smart-plug/image';
import { changePassword, login } from '../firmware/host/client';
import { startSimulator } from '../firmware/host/simulator';
import { COSE_ENCRYPT0, decodeProtected, openAnswer, pivOf, protectRequest, type ChannelKeys } from '../modules/channel/channel';
import { parseSetupKey } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';

/**
 * A second implementation of the admin channel, in another language and other libraries:
 * test/interop/open_channel.py (Python's cbor2 and cryptography's AESCCM, the nonce and the
 * Enc_structure rebuilt from the specifications) opens a real exchange recorded from the simulated
 * device, and protects requests that the device then accepts. Debian's python3-cbor2 and
 * python3-cryptography: test/ensure-packages.mjs installs them (npm test runs it).
 */

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./interop/open_channel.py', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

interface Job {
  keys: { client: string; device: string; iv: string };
  exchanges?: { method: string; path: string; status: number; request: string; answer: string }[];
  protect?: { seq: number; method: string; path: string; body: string }[];
}

function python(job: Job): { exchanges: { seq: number; request: string | null; answer: string | null }[]; protected: string[] } {
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(job), encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error('open_channel.py failed (' + r.status + '): ' + r.stderr + (r.error ? String(r.error) : ''));
  return JSON.parse(r.stdout);
}

const keysHex = (k: ChannelKeys): Job['keys'] => ({ client: hex(k.client), device: hex(k.device), iv: hex(k.iv) });

/** A protected request sent as the client sends it; the raw answer. */
async function send(url: string, token: string, method: string, path: string, message: Uint8Array): Promise<{ status: number; type: string; bytes: Uint8Array }> {
  const get = method === 'GET';
  const headers: Record<string, string> = { Authorization: 'Bearer ' + token };
  if (get) headers['Hoshi-Channel'] = Buffer.from(message).toString('base64');
  else headers['Content-Type'] = COSE_ENCRYPT0;
  const res = await fetch(url + path, { method, headers, body: get ? undefined : new Uint8Array(message) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: new Uint8Array(await res.arrayBuffer()) };
}

test('Python (cbor2, cryptography AESCCM) opens a recorded exchange with the device, and the device accepts what Python protects', async (t) => {
  const ready = spawnSync(PYTHON, ['-c', 'import cbor2; from cryptography.hazmat.primitives.ciphers.aead import AESCCM'], { encoding: 'utf8' });
  if (ready.status !== 0) return t.fail(PYTHON + ' lacks cbor2 or cryptography: run `node test/ensure-packages.mjs` (npm test does). ' + (ready.stderr ?? ''));

  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  const setupKey = parseSetupKey(sim.label!.setupKey)!;
  const first = await login(sim.url, sim.label!.defaultPassword, setupKey);
  await changePassword(first, setupKey, 'Quartz fennel 58 kite', { iterations: 4096 });
  const session = await login(sim.url, 'Quartz fennel 58 kite', setupKey);
  const k = session.keys;

  // A real exchange of each kind: a GET (header), a PUT with a body, a refusal by the route (400)
  // and by the policy (422): each answer protected and bound to its status.
  const asked: [string, string, unknown][] = [
    ['GET', '/api/session', undefined],
    ['PUT', '/api/relay', { on: true }],
    ['PUT', '/api/relay', { on: 'yes' }],
    ['POST', '/api/password', { password: 'password123', salt: Buffer.alloc(16, 1).toString('base64'), iterations: 4096, storedKey: Buffer.alloc(32, 2).toString('base64'), serverKey: Buffer.alloc(32, 3).toString('base64') }],
    ['PUT', '/api/relay/schedule', { entries: [] }],
  ];
  const recorded: NonNullable<Job['exchanges']> = [];
  const sent: { body: Uint8Array; answer: Uint8Array }[] = [];
  for (let seq = 0; seq < asked.length; seq++) {
    const [method, path, value] = asked[seq]!;
    const body = value === undefined ? new Uint8Array(0) : utf8(JSON.stringify(value));
    const request = protectRequest(jsCrypto, k, seq, method + ' ' + path, body);
    const a = await send(sim.url, session.token, method, path, request);
    t.true(a.type.startsWith('application/cose'), method + ' ' + path + ' answered ' + a.status + ' protected');
    const d = decodeProtected(a.bytes, false);
    if (typeof d === 'string') return t.fail(d);
    sent.push({ body, answer: openAnswer(jsCrypto, k, pivOf(seq), a.status, d[1])! });
    recorded.push({ method, path, status: a.status, request: hex(request), answer: hex(a.bytes) });
  }
  t.deepEqual(recorded.map((x) => x.status), [200, 200, 400, 422, 200]);
  t.true(sim.io.outputs.relay);

  // Python opens both directions of every exchange from the bytes, the keys and the HTTP parts
  // alone; the same bytes said to be of another route, method or status do not open. And it
  // protects requests of its own (one run: Python's start costs about half a second).
  const wrong = [{ ...recorded[1]!, path: '/api/password' }, { ...recorded[1]!, method: 'POST' }, { ...recorded[1]!, status: 201 }, { ...recorded[0]!, path: '/api/logout' }];
  const mine: NonNullable<Job['protect']> = [
    { seq: 10, method: 'PUT', path: '/api/relay', body: hex(utf8('{"on":false}')) },
    { seq: 300, method: 'GET', path: '/api/session', body: '' },
  ];
  const started = Date.now();
  const py = python({ keys: keysHex(k), exchanges: [...recorded, ...wrong], protect: mine });
  t.log('Python: ' + (Date.now() - started) + ' ms');
  t.is(py.exchanges.length, asked.length + wrong.length);
  for (let i = 0; i < asked.length; i++) {
    const x = py.exchanges[i]!;
    t.is(x.seq, i);
    t.is(x.request, hex(sent[i]!.body), 'request ' + i);
    t.is(x.answer, hex(sent[i]!.answer), 'answer ' + i);
  }
  t.like(JSON.parse(Buffer.from(py.exchanges[0]!.answer!, 'hex').toString()), { access: 'admin', mustChange: false });
  t.deepEqual(JSON.parse(Buffer.from(py.exchanges[1]!.answer!, 'hex').toString()), { on: true });
  t.is(JSON.parse(Buffer.from(py.exchanges[3]!.answer!, 'hex').toString()).error, 'password-common');
  const [path, method, status, other] = py.exchanges.slice(asked.length);
  t.deepEqual([path!.request, path!.answer !== null], [null, true], 'another path: the request does not open');
  t.deepEqual([method!.request, method!.answer !== null], [null, true], 'another method');
  t.deepEqual([status!.request !== null, status!.answer], [true, null], 'another status: the answer does not open');
  t.is(other!.request, null);

  // Python's requests are byte for byte what the channel's code makes, and the device takes them.
  const made = py.protected;
  for (let i = 0; i < mine.length; i++) {
    const p = mine[i]!;
    t.is(made[i], hex(protectRequest(jsCrypto, k, p.seq, p.method + ' ' + p.path, Buffer.from(p.body, 'hex'))), 'Python\'s request ' + i + ' is the same bytes');
    const a = await send(sim.url, session.token, p.method, p.path, Buffer.from(made[i]!, 'hex'));
    t.is(a.status, 200, p.method + ' ' + p.path + ' from Python');
    const d = decodeProtected(a.bytes, false);
    if (typeof d === 'string') return t.fail(d);
    t.truthy(openAnswer(jsCrypto, k, pivOf(p.seq), 200, d[1]));
  }
  t.false(sim.io.outputs.relay, 'Python switched the relay off');
});

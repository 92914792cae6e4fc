import test from 'ava';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { buildPage, cspHash } from '../firmware/host/page';
import type { Assets } from '../firmware/device/core/assets';
import { Asset } from '../firmware/device/core/assets';
import type { HoshiModule, HttpResponse, ModuleContext, Route } from '../firmware/device/core/module';
import { adminPage } from '../modules/admin-page';
import { bloomCheck, crc32 as pageCrc32, describeUpdate, refusalText, sendPackage, serverParams, stretch, stretchedCrypto, type Answer, type Send } from '../modules/admin-page/page';
import { bloomIndices } from '../modules/accounts/common';
import {
  authMessage,
  parseClientFinal,
  parseClientFirst,
  scramClient,
  scramVerifier,
  SCRAM_USER,
  serverFinalMessage,
  serverFirstMessage,
  verifyProof,
  type ScramVerifier,
} from '../modules/accounts/scram';
import { jsCrypto } from '../modules/crypto/provider-js';
import { sha256 } from '../modules/crypto/sha256';
import { hmacSha256 } from '../modules/crypto/hmac';
import { pbkdf2Sha256 } from '../modules/crypto/pbkdf2';
import { base64Encode } from '../firmware/device/core/base64';
import { crc32 } from '../firmware/device/core/crc32';
import { readBootRecord, SlotState } from '../firmware/device/core/bootctl';
import { memoryBacking, openSimFlash } from '../boards/host/flash';
import { partition, type Flash } from '../hal/flash';
import type { Board } from '../hal/board';
import { accounts } from '../modules/accounts';
import { ota } from '../modules/ota';
import { CHANNEL_HEADER, COSE_ENCRYPT0 } from '../modules/channel/channel';
import { createImagePackage, publicKeyObject, type SigningKey } from '../firmware/host/update/package';
import { newSigningKey } from '../firmware/host/update/keys';
import { verify as edVerify } from 'node:crypto';
import { call, newUnit, open, passwordBody, protect, rig, session, type Rig, type RigSession } from './accounts-rig';
import smartPlug from '../examples/smart-plug/image';

/** scram.ts's client crypto on modules/crypto, all at once (what the page avoids). */
const plain = { sha256, hmacSha256, pbkdf2Sha256 };

/** The test's own password: random, never printed. */
const password = 'Pw-' + randomBytes(9).toString('base64');

test('stretch is PBKDF2-HMAC-SHA-256 (against Node), in slices with progress up to 1', async (t) => {
  for (const iterations of [1, 2, 257, 4096, 20000]) {
    const salt = new Uint8Array(randomBytes(16));
    const seen: number[] = [];
    const key = await stretch(password, salt, iterations, (done) => seen.push(done));
    t.deepEqual(Buffer.from(key), pbkdf2Sync(password, salt, iterations, 32, 'sha256'), `${iterations} iterations`);
    if (iterations > 1) t.is(seen[seen.length - 1], 1);
    for (let i = 1; i < seen.length; i++) t.true(seen[i]! > seen[i - 1]!);
  }
});

/** The device's side of a login, with scram.ts's server functions, over `verifier`. */
function server(verifier: ScramVerifier, serverKey = verifier.serverKey) {
  let bare = '';
  let first = '';
  return {
    first(message: string): string {
      const parsed = parseClientFirst(message);
      if (typeof parsed === 'string') throw new Error(parsed);
      bare = parsed.bare;
      first = serverFirstMessage(parsed.nonce + base64Encode(new Uint8Array(randomBytes(18))), verifier.salt, verifier.iterations);
      return first;
    },
    final(message: string): string | undefined {
      const parsed = parseClientFinal(message);
      if (typeof parsed === 'string') throw new Error(parsed);
      const auth = authMessage(bare, first, parsed.withoutProof);
      return verifyProof(jsCrypto, verifier.storedKey, auth, parsed.proof) ? serverFinalMessage(jsCrypto, serverKey, auth) : undefined;
    },
  };
}

/** The page's login steps: SCRAM with PBKDF2 prepared by `stretch` first, as page.ts runs them. */
async function pageLogin(device: ReturnType<typeof server>, pw: string): Promise<'ok' | 'wrong-password' | 'impostor'> {
  const keys = stretchedCrypto();
  const client = scramClient(keys, SCRAM_USER, pw, base64Encode(new Uint8Array(randomBytes(18))));
  const first = device.first(client.first);
  const params = serverParams(first);
  if (!params) throw new Error('serverParams refused ' + first);
  keys.keep(pw, params.salt, params.iterations, await stretch(pw, params.salt, params.iterations));
  const final = client.final(first);
  keys.forget();
  if (typeof final !== 'string') throw new Error(final.error);
  const answer = device.final(final);
  if (answer === undefined) return 'wrong-password';
  return client.verifyServer(answer) ? 'ok' : 'impostor';
}

test("the page's SCRAM client logs in against scram.ts's server side and refuses a device without the verifier", async (t) => {
  const salt = new Uint8Array(randomBytes(16));
  const verifier = scramVerifier(plain, password, salt, 4096);
  t.is(await pageLogin(server(verifier), password), 'ok');
  t.is(await pageLogin(server(verifier), password + 'x'), 'wrong-password');
  // A device that accepts any proof but lacks ServerKey cannot sign: the page refuses it.
  t.is(await pageLogin(server(verifier, new Uint8Array(32)), password), 'impostor');
});

test("a verifier made from the page's stretch is the one scram.ts makes", async (t) => {
  const salt = new Uint8Array(randomBytes(16));
  const keys = stretchedCrypto();
  keys.keep(password, salt, 4096, await stretch(password, salt, 4096));
  t.deepEqual(scramVerifier(keys, password, salt, 4096), scramVerifier(plain, password, salt, 4096));
  keys.forget();
  // Nothing prepared: refused rather than blocking the page.
  t.throws(() => scramVerifier(keys, password, salt, 4096), { message: /not prepared/ });
});

test('serverParams: hostile server-first messages give nothing to compute', (t) => {
  const salt = base64Encode(new Uint8Array(16).fill(7));
  t.like(serverParams('r=abc,s=' + salt + ',i=4096'), { iterations: 4096 });
  for (const bad of [
    '',
    'r=abc',
    'r=abc,s=' + salt,
    'r=abc,s=' + salt + ',i=4095',
    'r=abc,s=' + salt + ',i=10000001',
    'r=abc,s=' + salt + ',i=0',
    'r=abc,s=' + salt + ',i=04096',
    'r=abc,s=' + salt + ',i=4096,x=1',
    'r=abc,s=' + salt + ',i=99999999999999',
    'r=abc,s=!!!!,i=4096',
    'r=abc,s=AAA,i=4096',
    'm=ext,r=abc,s=' + salt + ',i=4096',
    'r=,s=' + salt + ',i=4096',
    'r=abc,s=' + salt + ',i=4096\n',
  ]) {
    t.is(serverParams(bad), undefined, JSON.stringify(bad));
  }
});

/** A Bloom filter in modules/accounts/common.ts's layout holding `words`. */
function filter(words: string[], k = 7, m = 4096): Uint8Array {
  const f = new Uint8Array(8 + m / 8);
  f[0] = k;
  new DataView(f.buffer).setUint32(4, m, true);
  for (const w of words) for (const i of bloomIndices(sha256, w, k, m)) f[8 + (i >> 3)]! |= 1 << (i & 7);
  return f;
}

test('bloomCheck: finds the words of a filter, and refuses hostile filters', (t) => {
  const check = bloomCheck(filter(['password1', 'letmein123']))!;
  t.true(check('password1'));
  t.true(check('letmein123'));
  t.false(check('correct horse battery'));
  const f = filter(['x']);
  const broken = (edit: (b: Uint8Array) => void): Uint8Array => {
    const b = new Uint8Array(f);
    edit(b);
    return b;
  };
  t.is(bloomCheck(new Uint8Array(0)), undefined);
  t.is(bloomCheck(f.subarray(0, 7)), undefined);
  t.is(bloomCheck(f.subarray(0, f.length - 1)), undefined, 'shorter than m bits');
  t.is(bloomCheck(broken((b) => (b[0] = 0))), undefined, 'k = 0');
  t.is(bloomCheck(broken((b) => (b[0] = 33))), undefined, 'k > 32');
  t.is(bloomCheck(broken((b) => new DataView(b.buffer).setUint32(4, 0xffffffff, true))), undefined, 'huge m');
  t.is(bloomCheck(broken((b) => new DataView(b.buffer).setUint32(4, 7, true))), undefined, 'm < 8');
});

test('buildPage: one self-contained document, deterministic, its CSP naming its script and style', async (t) => {
  const a = await buildPage();
  const b = await buildPage();
  t.deepEqual(a.gzip, b.gzip);
  t.deepEqual(new Uint8Array(gunzipSync(a.gzip)), a.html);
  t.is(a.gzip[9], 255, 'no build platform in the gzip header');
  t.deepEqual([...a.gzip.subarray(4, 8)], [0, 0, 0, 0], 'no time stamp');
  const html = new TextDecoder().decode(a.html);
  t.false(html.includes('{{'), 'every placeholder filled');
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
  t.is(scripts.length, 1);
  t.is(styles.length, 1);
  t.is(html.split('<script').length, 2, 'no other script element');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
  t.true(csp.includes("script-src " + cspHash(scripts[0]![1]!)), csp);
  t.true(csp.includes("style-src " + cspHash(styles[0]![1]!)), csp);
  t.true(csp.includes("default-src 'none'"));
  // No external resource: nothing is loaded from anywhere but the device's own API.
  t.false(/\s(src|href)=/i.test(html), 'no src or href attributes');
  t.false(/url\(|@import|https?:\/\//i.test(html.replace(/<script>[\s\S]*<\/script>/, '')), 'no URLs in the markup or style');
  t.is(createHash('sha256').update(a.html).digest().length, 32);
  t.log(`page: ${a.html.length} bytes, ${a.gzip.length} gzipped`);
});

/** adminPage's GET / handler over a fake assets partition holding `page` (undefined: none). */
function serve(page: Uint8Array | undefined, problem = ''): { response: HttpResponse; reads: number } {
  let route: Route | undefined;
  let reads = 0;
  const assets: Assets = {
    find: (id) => (id === Asset.PAGE && page ? { offset: 100, length: page.length } : undefined),
    read: (offset, length) => {
      reads++;
      return page!.slice(offset - 100, offset - 100 + length);
    },
    problem: () => problem,
  };
  const context = { assets, route: (r: Route) => (route = r) } as unknown as ModuleContext;
  adminPage().start(context);
  if (!route || route.method !== 'GET' || route.path !== '/' || route.access !== 'public') throw new Error('adminPage must declare a public GET /');
  let response: HttpResponse | undefined;
  route!.handler({ method: 'GET', path: '/', query: '', headers: {}, body: new Uint8Array(0), remote: '' }, (r) => (response = r));
  return { response: response!, reads };
}

test('adminPage serves the gzip from the assets at each request, with its headers', async (t) => {
  const page = await buildPage();
  const { response, reads } = serve(page.gzip);
  t.is(response.status, 200);
  t.deepEqual(response.body, page.gzip);
  t.is(reads, 1);
  t.like(response.headers, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Encoding': 'gzip' });
  const csp = response.headers!['Content-Security-Policy']!;
  for (const d of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'", "connect-src 'self'"]) t.true(csp.includes(d), d);
});

test('adminPage: a missing, truncated or foreign page asset is 503 no-page with the reason', (t) => {
  const missing = serve(undefined, 'bad-crc').response;
  t.is(missing.status, 503);
  t.like(JSON.parse(missing.body as string), { error: 'no-page', reason: 'the admin page is not installed: bad-crc' });
  t.like(JSON.parse(serve(undefined).response.body as string), { error: 'no-page', reason: 'the admin page is not installed: no page in the assets' });
  for (const bad of [new Uint8Array(0), new Uint8Array([0x1f, 0x8b, 8]), new TextEncoder().encode('<!doctype html><html>not compressed</html>'), new Uint8Array(64).fill(0xff)]) {
    const r = serve(bad).response;
    t.is(r.status, 503);
    t.like(JSON.parse(r.body as string), { error: 'no-page' });
  }
});

// ---- the update upload (PUT /api/update/package, docs/formats/update.md) ----

test("the page's CRC-32 is the device's (core/crc32.ts)", (t) => {
  t.is(pageCrc32(new TextEncoder().encode('123456789')), 0xcbf43926, 'the check value of CRC-32/IEEE');
  t.is(pageCrc32(new Uint8Array(0)), 0);
  for (const n of [1, 3, 255, 4096, 10000]) {
    const b = new Uint8Array(randomBytes(n));
    t.is(pageCrc32(b), crc32(b, 0, b.length), n + ' bytes');
  }
});


/** An image package for the rig's unit (a smart plug on the host board) with `size` bytes of app text, or other fields. */
function imagePackage(key: SigningKey, size: number, fields: Partial<{ model: string; version: string; counter: number }> = {}): { pkg: Uint8Array; payload: Uint8Array } {
  const text = new Uint8Array(size + 1);
  for (let i = 0; i < size; i++) text[i] = 0x20 + (randomBytes(1)[0]! % 95);
  text[size] = 0;
  const pkg = createImagePackage(
    { vendor: smartPlug.config.vendor, model: fields.model ?? smartPlug.config.model, runtime: 'host', board: 'host', version: fields.version ?? '99.0.0', counter: fields.counter ?? 1, app: size },
    text,
    key,
  );
  return { pkg, payload: text };
}

/** Slot size of the rig's updates: the boot control record's two units, then slots A and B of 64 KB. */
const SLOT = 0x10000;

interface OtaRig {
  r: Rig;
  s: RigSession;
  reboots: string[];
  bootctl: Flash;
  slots: Flash[];
  /** Every request the page's loop sent: method, path, the protected request's JSON, the raw body's length. */
  sent: { method: string; path: string; plain: any; length: number }[];
  /** The page's `Send` over the rig, as page.ts's `call` carries it. */
  send: Send;
}

/**
 * The rig's unit (a smart plug) with accounts and ota on one board: a flash of its own for the boot
 * control record and the slots, packages verified in the image (Ed25519 by node:crypto), the
 * restarts it asks for counted; logged in with the password changed (the forced change done).
 */
function otaRig(trusted: Uint8Array[]): OtaRig {
  const unit = newUnit();
  unit.record.updateKeys = trusted;
  const flash = openSimFlash(memoryBacking(0x2000 + 2 * SLOT));
  const bootctl = partition(flash, 0, 0x2000);
  const slots = [partition(flash, 0x2000, SLOT), partition(flash, 0x2000 + SLOT, SLOT)];
  const reboots: string[] = [];
  const both = (): HoshiModule => {
    const a = accounts();
    const o = ota({ restartDelayMs: 1 });
    return {
      name: 'accounts+ota',
      reserve: a.reserve,
      start: (context) => {
        a.start(context);
        const board = {
          ...context.board,
          partitions: { provisioning: undefined, state: undefined, bootctl, slots },
          power: { reboot: (why: string) => reboots.push(why) },
          update: {
            runtime: 'host',
            verifyIn: 'image',
            hashSlice: 4096,
            signatureSteps: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => ({ step: () => (edVerify(null, message, publicKeyObject(publicKey), signature) ? 1 : -1) }),
          },
        } as unknown as Board;
        o.start({ ...context, board });
      },
    };
  };
  const r = rig(both, unit);
  const changed = call(r, session(r, unit.password), 'POST', '/api/password', { body: passwordBody('correct horse 7 staple', unit.setupKey) });
  if (changed.status !== 200) throw new Error('password change ' + changed.status);
  const s = session(r, 'correct horse 7 staple');
  const sent: OtaRig['sent'] = [];
  const send: Send = async (method, path, value, raw) => {
    const seq = s.seq++;
    const plain = new TextEncoder().encode(value === undefined ? '' : JSON.stringify(value));
    const message = protect(s, method, path, plain, seq);
    sent.push({ method, path, plain: value, length: raw ? raw.length : -1 });
    const headers: { [name: string]: string } = {};
    let bytes = message;
    if (method === 'GET' || raw) {
      headers[CHANNEL_HEADER] = base64Encode(message);
      bytes = raw ?? new Uint8Array(0);
      if (raw) headers['content-type'] = 'application/octet-stream';
    } else headers['content-type'] = COSE_ENCRYPT0;
    const a = open(s, seq, r.request(method, path, { token: s.token, headers, bytes }));
    const text = typeof a.body === 'string' ? a.body : new TextDecoder().decode(a.body);
    return { status: a.status, body: text ? JSON.parse(text) : {} };
  };
  return { r, s, reboots, bootctl, slots, sent, send };
}

const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** GET /api/update through the channel until its phase is none of `phases` (at most ~2 s), as the page polls it. */
async function after(o: OtaRig, ...phases: string[]): Promise<any> {
  for (let i = 0; ; i++) {
    const a = await o.send('GET', '/api/update');
    if (a.status !== 200) throw new Error('GET /api/update ' + a.status);
    if (!phases.includes(a.body.phase) || i > 400) return a.body;
    await tick();
  }
}

test("sendPackage uploads a package into the inactive slot through the device's routes, and the install restarts it", async (t) => {
  const key = newSigningKey();
  const o = otaRig([key.publicKey]);
  const { pkg, payload } = imagePackage(key, 20000);
  const seen: number[] = [];
  t.is(await sendPackage(o.send, pkg, (done) => seen.push(done)), undefined, 'the whole package is in');
  const puts = o.sent.filter((x) => x.path === '/api/update/package');
  t.is(puts.length, Math.ceil(pkg.length / 4096), '4 KB chunks: the smart plug takes them');
  let offset = 0;
  for (const p of puts) {
    t.is(p.method, 'PUT');
    t.is(p.plain.offset, offset, 'in order');
    t.is(p.plain.crc, crc32(pkg, offset, offset + p.length), 'the CRC-32 of the chunk');
    offset += p.length;
  }
  t.is(offset, pkg.length);
  t.deepEqual(seen, puts.map((_p, i) => Math.min(pkg.length, (i + 1) * 4096) / pkg.length), 'progress after each chunk, up to 1');
  const state = await after(o, 'receiving', 'hashing');
  t.like(state, { phase: 'received', received: pkg.length, total: pkg.length, running: { version: smartPlug.config.firmwareVersion, slot: 0, trial: false } });
  t.like(state.slots[1], { state: 'received', version: '99.0.0' });
  t.deepEqual(o.slots[1]!.read(4096, payload.length), payload, 'slot B holds the payload as sent');
  t.regex(describeUpdate(state), /^Running 0\.1\.0 from slot A; security counter 0; update received\.$/);
  // What the page does next: the install, then GET /api/update until the device restarts.
  const i = await o.send('POST', '/api/update/install', {});
  t.is(i.status, 202);
  const end = await after(o, 'verifying');
  t.is(end.phase, 'restarting');
  await tick(20);
  t.deepEqual(o.reboots, ['update']);
  t.is(readBootRecord(o.bootctl).slots[1]!.state, SlotState.VERIFIED, 'slot B verified: it boots on trial');
});

test('sendPackage: a package the device refuses at its head stops at the first chunk with the code and reason', async (t) => {
  const key = newSigningKey();
  const o = otaRig([key.publicKey]);
  const cases: [Uint8Array, string, RegExp][] = [
    [imagePackage(key, 9000, { model: 'HS-OTHER-01' }).pkg, 'wrong-model', /model HS-OTHER-01/],
    [imagePackage(newSigningKey(), 9000).pkg, 'key-unknown', /does not trust/],
    [imagePackage(key, 9000, { version: '0.1.0' }).pkg, 'version-not-newer', /not newer/],
    [imagePackage(key, 70000 - 4096 * 2).pkg, 'image-too-large', /capacity/],
    [new Uint8Array(randomBytes(3000)), '', /./],
  ];
  for (const [pkg, code, why] of cases) {
    const before = o.sent.length;
    const stop = await sendPackage(o.send, pkg, () => undefined);
    t.truthy(stop, code);
    t.is(stop!.status, 422, code);
    if (code) t.is(stop!.body.error, code);
    t.regex(stop!.body.reason, why);
    t.regex(refusalText(stop!.body), new RegExp('^' + (code || '[a-z-]+') + ': .{10,}'));
    t.is(o.sent.length - before, 1, 'one chunk: the head is checked as soon as it is in');
  }
  t.is(readBootRecord(o.bootctl).slots[1]!.state, SlotState.EMPTY, 'nothing written for a refused package');
  t.deepEqual(o.reboots, []);
});

test('sendPackage: halves the chunk on 413 (the sensor takes 1 KB), and resumes where the device says after an unanswered chunk', async (t) => {
  const key = newSigningKey();
  const o = otaRig([key.publicKey]);
  const { pkg, payload } = imagePackage(key, 12000);
  // The HTTP server's limit (core/http-server.ts answers 413 before reading a larger body), and the third answer lost on the way back.
  let n = 0;
  const sizes: number[] = [];
  const send: Send = async (method, path, value, raw) => {
    if (raw && raw.length > 1024) return { status: 413, body: { error: 'body-too-large', reason: 'over 1024 bytes' } };
    if (raw) sizes.push(raw.length);
    const a = await o.send(method, path, value, raw);
    return ++n === 3 ? { status: 0, body: { reason: 'the device did not answer' } } : a;
  };
  t.is(await sendPackage(send, pkg, () => undefined), undefined);
  t.is(sizes[0], 1024, '4096, 2048: 413; then 1 KB chunks');
  const resumed = o.sent.filter((x) => x.path === '/api/update/package');
  // The lost chunk is sent again (smaller): the device has it and says where to go on.
  t.is(resumed[3]!.plain.offset, 2048, 'sent again after no answer');
  t.is(resumed[4]!.plain.offset, 3072, 'resumed at the offset the 409 named');
  const state = await after(o, 'receiving', 'hashing');
  t.is(state.phase, 'received');
  t.deepEqual(o.slots[1]!.read(4096, payload.length), payload);
});

/** A device that answers every chunk with `answer(offset, length)`; counts the requests. */
function fake(answer: (offset: number, length: number) => Answer): { send: Send; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    send: async (_m, _p, value, raw) => {
      const offset = (value as { offset: number }).offset;
      calls.push(offset);
      return answer(offset, raw!.length);
    },
  };
}

test('sendPackage: hostile or broken answers end the upload in a bounded number of requests', async (t) => {
  const pkg = new Uint8Array(10000);
  const mismatch = (reason: unknown): Answer => ({ status: 409, body: { error: 'offset-mismatch', reason } });
  const cases: [string, (offset: number, length: number) => Answer, number][] = [
    ['the same offset again', () => mismatch('the next chunk starts at offset 0'), 1],
    ['an offset past the package', () => mismatch('the next chunk starts at offset 10001'), 1],
    ['a huge offset', () => mismatch('the next chunk starts at offset 99999999999999999999'), 1],
    ['a negative offset', () => mismatch('the next chunk starts at offset -5'), 1],
    ['no offset', () => mismatch('elsewhere'), 1],
    ['a reason that is not text', () => mismatch({ offset: 5 }), 1],
    ['offsets that keep moving', (offset) => mismatch('the next chunk starts at offset ' + (offset === 7 ? 8 : 7)), 17],
    ['never an answer', () => ({ status: 0, body: {} }), 4],
    ['413 at every size', () => ({ status: 413, body: {} }), 5],
    ['a server error', () => ({ status: 500, body: { error: 'internal' } }), 1],
    ['busy', () => ({ status: 409, body: { error: 'update-busy', reason: 'an update is being verified' } }), 1],
    ['401: the session is gone', () => ({ status: 401, body: { error: 'unauthenticated' } }), 1],
  ];
  for (const [what, answer, requests] of cases) {
    const f = fake(answer);
    const stop = await sendPackage(f.send, pkg, () => undefined);
    t.truthy(stop, what);
    t.is(f.calls.length, requests, what);
  }
  // A device that takes everything: one request per 4 KB.
  const ok = fake(() => ({ status: 202, body: {} }));
  t.is(await sendPackage(ok.send, pkg, () => undefined), undefined);
  t.deepEqual(ok.calls, [0, 4096, 8192]);
});

test('describeUpdate and refusalText: any JSON the device sends gives one line, never an exception', (t) => {
  t.is(
    describeUpdate({ phase: 'refused', error: 'digest-mismatch', reason: 'the payload differs', securityCounter: 3, running: { version: '1.2.0', slot: 1, trial: true }, slots: [{ state: 'bad', version: '1.3.0', reason: 'trial-crashed' }, { state: 'good' }] }),
    'Running 1.2.0 from slot B (on trial); security counter 3; update refused (digest-mismatch: the payload differs); slot A 1.3.0 refused: trial-crashed.',
  );
  for (const hostile of [{}, { running: 'x', slots: 'y' }, { running: null, slots: [null, 5, 'bad', { state: 'bad', version: {}, reason: [] }] }, { phase: { toString: 1 }, securityCounter: '7' }, { phase: 'refused', error: 'x'.repeat(100000) }, { slots: new Array(1000).fill({ state: 'bad' }) }]) {
    const text = describeUpdate(hostile as { [key: string]: unknown });
    t.regex(text, /^Running .*\.$/);
    t.true(text.length < 400, JSON.stringify(hostile).slice(0, 60));
  }
  t.is(refusalText({ error: 'wrong-model', reason: 'the package is for model X' }), 'wrong-model: the package is for model X');
  t.is(refusalText({ error: 'payload-too-large' }), 'payload-too-large');
  t.is(refusalText({ reason: 5, error: {} }), 'no reason given');
});

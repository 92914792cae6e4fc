import test from 'ava';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { buildPage, cspHash } from '../firmware/host/page';
import type { Assets } from '../firmware/device/core/assets';
import { Asset } from '../firmware/device/core/assets';
import type { HttpResponse, ModuleContext, Route } from '../firmware/device/core/module';
import { adminPage } from '../modules/admin-page';
import { bloomCheck, serverParams, stretch, stretchedCrypto } from '../modules/admin-page/page';
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

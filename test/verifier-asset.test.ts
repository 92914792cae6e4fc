import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import { verifierAssetText } from '../firmware/host/verifier-asset';
import { ed25519Verify } from '../modules/crypto/ed25519';
import { jsCrypto } from '../modules/crypto/provider-js';
import { bytes, ED25519_RFC8032, hex, wycheproof } from './vectors';

/**
 * The update verifier asset (firmware/host/verifier-asset.ts): its text evaluated as the loader
 * evaluates it, on Node, in the engine check (QuickJS, both profiles) and, when HOSHI_JERRY /
 * HOSHI_ESPRUINO name them, on the real engines (Espruino from a Storage file, as a device does).
 */
type Start = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512?: (d: Uint8Array) => Uint8Array, share?: number) => { step(): number };

const RUNTIMES = ['kaluma', 'espruino'] as const;
const nodeSha512 = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(d).digest());

function finish(s: { step(): number }): number {
  return steps(s)[0];
}

/** The answer of a verification run to its end, and the steps it took. */
function steps(s: { step(): number }): [number, number] {
  let r = 0;
  let n = 0;
  while (r === 0) {
    if (n > 5000) throw new Error('no end');
    r = s.step();
    n++;
  }
  return [r, n];
}

/** A signed message of `length` bytes, its signature, and the same with one bit flipped. */
function signed(length: number, flip: number): { pk: Uint8Array; m: Uint8Array; sig: Uint8Array; bad: Uint8Array } {
  const kp = nacl.sign.keyPair();
  const m = randomBytes(length);
  const sig = nacl.sign.detached(m, kp.secretKey);
  const bad = new Uint8Array(sig);
  bad[flip % 64] ^= 1 << (flip % 8);
  return { pk: kp.publicKey, m, sig, bad };
}

test('the asset text is one expression: a function, and nothing global', (t) => {
  for (const runtime of RUNTIMES) {
    const text = verifierAssetText(runtime);
    t.is(text, verifierAssetText(runtime), 'the same text every time');
    t.regex(text, /^[\x20-\x7e\n]+$/, 'ASCII');
    const g = globalThis as unknown as Record<string, unknown>;
    const before = Object.getOwnPropertyNames(g).map((k) => [k, g[k]]);
    const start = (0, eval)(text) as Start;
    t.is(typeof start, 'function');
    t.deepEqual(Object.getOwnPropertyNames(g).map((k) => [k, g[k]]), before, runtime + ': no global created or changed');
    const s = start(new Uint8Array(32), new Uint8Array(0), new Uint8Array(64), runtime === 'espruino' ? nodeSha512 : undefined);
    t.is(typeof s.step, 'function');
    // The Espruino text carries no SHA-512: without the native one it refuses to start.
    if (runtime === 'espruino') t.throws(() => start(new Uint8Array(32), new Uint8Array(0), new Uint8Array(64)), { instanceOf: TypeError });
  }
});

test('the asset passes each runtime profile check (device code the loader evaluates)', (t) => {
  for (const runtime of RUNTIMES) {
    const report = checkProfile(verifierAssetText(runtime), runtime);
    t.deepEqual(report.violations, [], formatViolations(report));
  }
});

test('on Node: the answers of ed25519Verify on RFC 8032, every Wycheproof vector and tweetnacl signatures', (t) => {
  const starts = RUNTIMES.map((r) => [r, (0, eval)(verifierAssetText(r)) as Start] as const);
  const check = (pk: Uint8Array, m: Uint8Array, sig: Uint8Array, what: string): void => {
    const want = ed25519Verify(jsCrypto, pk, m, sig) ? 1 : -1;
    for (const [runtime, start] of starts) t.is(finish(start(pk, m, sig, runtime === 'espruino' ? nodeSha512 : undefined)), want, runtime + ': ' + what);
  };
  for (const [pub, msg, sig] of ED25519_RFC8032) check(bytes(pub), bytes(msg), bytes(sig), 'RFC 8032');
  for (const v of wycheproof('ed25519_test.json')) check(bytes(v.group.publicKey.pk), bytes(v.msg), bytes(v.sig), `tcId ${v.tcId}`);
  for (let i = 0; i < 30; i++) {
    const { pk, m, sig, bad } = signed(250 + i * 2, i * 13);
    check(pk, m, sig, 'tweetnacl ' + i);
    check(pk, m, bad, 'tweetnacl ' + i + ', a bit flipped');
  }
});

test('on Node, with a share below 1 (Espruino\'s 0.2, one piece of work per step): the same answers, in more steps', (t) => {
  const starts = RUNTIMES.map((r) => [r, (0, eval)(verifierAssetText(r)) as Start] as const);
  const check = (pk: Uint8Array, m: Uint8Array, sig: Uint8Array, what: string): void => {
    const want = ed25519Verify(jsCrypto, pk, m, sig) ? 1 : -1;
    for (const [runtime, start] of starts) {
      const sha = runtime === 'espruino' ? nodeSha512 : undefined;
      const [r1, n1] = steps(start(pk, m, sig, sha));
      t.deepEqual(steps(start(pk, m, sig, sha, 1)), [r1, n1], runtime + ': ' + what + ', the share 1 as without one');
      let last = n1;
      for (const share of [0.2, 1e-6]) {
        const [r, n] = steps(start(pk, m, sig, sha, share));
        t.is(r, want, runtime + ': ' + what + ', share ' + share);
        t.true(n >= last, runtime + ': ' + what + ', share ' + share + ': ' + n + ' steps');
        last = n;
      }
    }
  };
  for (const [pub, msg, sig] of ED25519_RFC8032) check(bytes(pub), bytes(msg), bytes(sig), 'RFC 8032');
  for (const v of wycheproof('ed25519_test.json')) check(bytes(v.group.publicKey.pk), bytes(v.msg), bytes(v.sig), `tcId ${v.tcId}`);
  for (let i = 0; i < 12; i++) {
    const { pk, m, sig, bad } = signed(250 + i * 3, i * 17);
    check(pk, m, sig, 'tweetnacl ' + i);
    check(pk, m, bad, 'tweetnacl ' + i + ', a bit flipped');
  }
  for (const [runtime, start] of starts) {
    t.throws(() => start(new Uint8Array(32), new Uint8Array(0), new Uint8Array(64), nodeSha512, 0), { instanceOf: RangeError }, runtime);
  }
});

test('in the engine check (QuickJS): both profiles verify stepwise, the Espruino text with the fake native SHA-512', async (t) => {
  const cases = [signed(280, 5), signed(300, 200)];
  for (const runtime of RUNTIMES) {
    const sha = runtime === 'espruino' ? "function (d) { return new Uint8Array(require('crypto').SHA512(d)); }" : 'undefined';
    const code = [
      'var __start = ' + verifierAssetText(runtime) + ';',
      'function __hex(h) { var o = new Uint8Array(h.length / 2); for (var i = 0; i < o.length; i++) o[i] = parseInt(h.substr(i * 2, 2), 16); return o; }',
      // Steps: 70–100 with the share 1; with 0.2 (Espruino's) about five times as many.
      'function __run(pk, m, sig, share) { var s = __start(__hex(pk), __hex(m), __hex(sig), ' + sha + ', share), r = 0, n = 0; while (r === 0) { r = s.step(); n++; }',
      '  return r + ":" + (share ? n > 350 && n < 500 : n > 70 && n < 100); }',
    ].join('\n');
    const probes = cases.flatMap((c) => [c.sig, c.bad].map((sig) => `__run(${JSON.stringify(hex(c.pk))}, ${JSON.stringify(hex(c.m))}, ${JSON.stringify(hex(sig))})`));
    probes.push(`__run(${JSON.stringify(hex(cases[0]!.pk))}, ${JSON.stringify(hex(cases[0]!.m))}, ${JSON.stringify(hex(cases[0]!.sig))}, 0.2)`);
    const report = await runInEngine(code, runtime, { library: true, probes, timeoutMs: 120000, budgetBytes: 1024 * 1024 });
    t.true(report.booted, report.error);
    t.deepEqual(report.values, ['1:true', '-1:true', '1:true', '-1:true', '1:true'], runtime);
    t.deepEqual(report.missing, [], 'the runtime fake lacks members the text used');
  }
});

function spawnText(bin: string, files: string[], cwd: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bin, files, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    const timer = setTimeout(() => child.kill(), 120000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end();
  });
}

/** A driver that verifies a signature stepwise (with a share, if given) and prints the result and the steps taken. */
function driver(c: { pk: Uint8Array; m: Uint8Array }, sig: Uint8Array, start: string, sha: string, out: string, share?: number): string {
  return [
    '(function () {',
    'function hx(h) { var o = new Uint8Array(h.length / 2); for (var i = 0; i < o.length; i++) o[i] = parseInt(h.substr(i * 2, 2), 16); return o; }',
    `var s = (${start})(hx('${hex(c.pk)}'), hx('${hex(c.m)}'), hx('${hex(sig)}'), ${sha}${share ? ', ' + share : ''}), r = 0, n = 0;`,
    'while (r === 0 && n < 1000) { r = s.step(); n++; }',
    `${out}('hoshi-verify ' + r + ' ' + n);`,
    '})();',
  ].join('\n');
}

const JERRY = process.env.HOSHI_JERRY;
const ESPRUINO = process.env.HOSHI_ESPRUINO;

(JERRY ? test : test.skip)('on JerryScript (Kaluma 1.2.1 build): the text evaluated from a string verifies stepwise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-vfy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = signed(290, 77);
  // The text is a string made at run time, as the loader's read from flash makes it.
  writeFileSync(join(dir, 'load.js'), 'var __text = ' + JSON.stringify(verifierAssetText('kaluma')) + ';\nvar __start = (0, eval)(__text.slice(0));\n__text = undefined;\n');
  // The share 1 as Kaluma's loader calls it (four arguments), and the share 0.2 (about five times the steps).
  const runs = ([[c.sig], [c.bad], [c.sig, 0.2]] as const).map(([sig, share], i) => {
    writeFileSync(join(dir, 'drive' + i + '.js'), driver(c, sig, '__start', 'undefined', 'print', share));
    return spawnText(JERRY!, [join(dir, 'load.js'), join(dir, 'drive' + i + '.js')], dir);
  });
  const [good, bad, shared] = await Promise.all(runs);
  t.regex(good!, /hoshi-verify 1 (7|8|9)\d\b/, good);
  t.regex(bad!, /hoshi-verify -1 (7|8|9)\d\b/, bad);
  t.regex(shared!, /hoshi-verify 1 (3[5-9]|4\d)\d\b/, shared);
});

(ESPRUINO ? test : test.skip)('on Espruino 2v29 (Linux): the text written to Storage in one run, evaluated from Storage in the next', async (t) => {
  const c = signed(290, 11);
  // The share 1, and the share 0.2 that keeps a step to about one point addition (about five times the steps).
  const runs = ([[c.sig], [c.bad], [c.sig, 0.2], [c.bad, 0.2]] as const).map(async ([sig, share]) => {
    // Each run in its own directory: the Linux build's Storage is espruino.flash in the working directory.
    const dir = mkdtempSync(join(tmpdir(), 'hoshi-vfy-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'store.js'), "require('Storage').write('hoshi.vfy'," + JSON.stringify(verifierAssetText('espruino')) + ');\n');
    await spawnText(ESPRUINO!, [join(dir, 'store.js')], dir);
    const sha = "function (d) { return new Uint8Array(require('crypto').SHA512(d)); }";
    writeFileSync(join(dir, 'app.js'), driver(c, sig, "eval(require('Storage').read('hoshi.vfy'))", sha, 'console.log', share));
    return spawnText(ESPRUINO!, [join(dir, 'app.js')], dir);
  });
  const [good, bad, goodShared, badShared] = await Promise.all(runs);
  t.regex(good!, /hoshi-verify 1 (7|8|9)\d\b/, good);
  t.regex(bad!, /hoshi-verify -1 (7|8|9)\d\b/, bad);
  t.regex(goodShared!, /hoshi-verify 1 (3[5-9]|4\d)\d\b/, goodShared);
  t.regex(badShared!, /hoshi-verify -1 (3[5-9]|4\d)\d\b/, badShared);
});

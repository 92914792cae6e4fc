import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, bundleDevice, ROOT } from '../firmware/host/build';
import { buildLoader } from '../firmware/host/loader-build';
import { runInEngine, runLoaderInEngine } from '../firmware/host/engine';
import { buildPayload, SLOT_CAPACITY } from '../firmware/host/payload';
import type { DeviceTarget } from '../firmware/host/profiles';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';
import { toJSONishString } from '../firmware/host/serial/espruino';
import { newSigningKey } from '../firmware/host/update/keys';
import { createImagePackage, parseSign1, type SigningKey } from '../firmware/host/update/package';
import { verifierAssetText } from '../firmware/host/verifier-asset';
import { BENCH_MODEL, BENCH_VENDOR, payloadByte } from './device/update-ops';
import { ms, table } from './crypto';

/**
 * Signed-update rows of `npm run bench` (modules/ota, docs/formats/update.md): the package's
 * overhead for the smart plug per target, and the memory the worker holds while it receives a small
 * and a slot-filling package on the engine check (always); on the real engines built from source
 * (HOSHI_JERRY, HOSHI_ESPRUINO, with valgrind) the cost of the stepwise Ed25519 verifier of asset 4
 * (its load, the whole check, its longest step), of hashing a slot per KB, and the engines' own
 * memory figures for the verifier and for receiving. docs/performance.md ("Updates") states them.
 */

const PAYLOAD_TARGETS = ['kaluma', 'espruino', 'host'] as const;
const SMALL = 16 * 1024;
/** The Linux Espruino's Storage (256 KB): what the slot, the boot record's files and the bundle share. */
const LINUX_STORAGE = 262144;


const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A package of `size` payload bytes (update-ops.ts `payloadByte`) for the bench's unit; its head is what precedes the payload. */
function benchPackage(target: DeviceTarget, size: number, key: SigningKey): { head: Uint8Array } {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = payloadByte(i, size);
  const board = target === 'kaluma' ? 'kaluma-pico-w' : 'espruino-esp32';
  const pkg = createImagePackage({ vendor: BENCH_VENDOR, model: BENCH_MODEL, runtime: target, board, version: '0.2.0', counter: 1, app: size - 1 }, payload, key);
  return { head: pkg.subarray(0, pkg.length - size) };
}

/** The driver's globals for update-ops.ts. */
function updateGlobals(head: Uint8Array, key: SigningKey, size: number, capacity: number): string {
  return 'var __update = ' + JSON.stringify({ head: hex(head), key: hex(key.publicKey), size, capacity }) + ';';
}

async function bundle(target: DeviceTarget): Promise<string> {
  const file = target === 'kaluma' ? 'update-js' : 'update-native';
  const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';';
  return (await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'))).code;
}

/**
 * The smart plug booted through the loader on Kaluma 1.2.1's own runtime, provisioned and joined
 * (bytes retained; the harness of docs/performance.md, JerryScript 984c39fa as Kaluma builds it):
 * measured, not computed here, since that runtime cannot be built into this repository.
 */
const KALUMA_THROUGH_LOADER = '90,904 B retained (1,256 under half the heap)';

export async function updateBench(): Promise<void> {
  const key = newSigningKey();

  // What a package adds to its payload.
  const overhead: string[][] = [['example', 'target', 'board', 'payload', 'package', 'overhead', 'COSE_Sign1', 'Sig_structure']];
  let message: { toBeSigned: Uint8Array; signature: Uint8Array } | undefined;
  for (const target of PAYLOAD_TARGETS) {
    const p = await buildPayload('smart-plug', target, { version: '0.2.0', outDir: join(ROOT, 'dist/bench/payload') });
    const pkg = createImagePackage({ vendor: p.vendor, model: p.model, runtime: p.runtime, board: p.board, version: '0.2.0', counter: 1, app: p.app }, p.payload, key);
    const sign1 = parseSign1(pkg);
    if (!sign1.ok) throw new Error('update bench: the package does not parse: ' + sign1.reason);
    if (target === 'kaluma') message = sign1.value;
    overhead.push(['smart-plug', target, p.board, String(p.payload.length), String(pkg.length), String(pkg.length - p.payload.length), String(sign1.value.length), String(sign1.value.toBeSigned.length)]);
  }
  console.log('\nsigned updates: package bytes − payload bytes (the COSE_Sign1 and the payload\'s byte-string head), smart plug 0.2.0, a key made for this run');
  table(overhead);

  // The fixed loader's own cost: the smart plug booted as the program text and through the loader
  // from slot A (engine check). On Kaluma's own runtime the figure that counts is retained heap
  // (docs/performance.md, "Updates": JerryScript keeps the loader's literals, which QuickJS frees).
  const loaderCost: string[][] = [['target', 'loader bytes', 'image alone', 'through the loader', 'loader cost', 'Kaluma runtime (measured)']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const image = await buildImage('smart-plug', target);
    const loader = await buildLoader(target);
    const requests = [{ method: 'GET', url: '/api/info' }];
    const direct = await runInEngine(image.code, target, { budgetBytes: 64 * 1024 * 1024, requests });
    const through = await runLoaderInEngine(loader.code, image.code, target, { budgetBytes: 64 * 1024 * 1024, requests });
    if (!direct.booted || !through.booted) throw new Error('update bench: the smart plug does not boot on ' + target + ': ' + (direct.error ?? through.error));
    loaderCost.push([target, String(loader.bytes), String(direct.bootBytes), String(through.bootBytes), String(through.bootBytes - direct.bootBytes), target === 'kaluma' ? KALUMA_THROUGH_LOADER : '-']);
  }
  console.log('\nsigned updates: the fixed loader\'s cost after boot (engine check, QuickJS bytes over the empty engine, after GET /api/info)');
  table(loaderCost);

  // Receiving, on the engine check.
  const built: { [target in DeviceTarget]: string } = { kaluma: await bundle('kaluma'), espruino: await bundle('espruino') };
  const received: string[][] = [['target', 'board', 'payload', 'chunks', 'bundle loaded', 'worker made', 'most between chunks', 'receiving', 'sampled peak']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const capacity = target === 'kaluma' ? SLOT_CAPACITY['kaluma-pico-w']! : SLOT_CAPACITY['espruino-esp32']!;
    for (const size of [SMALL, capacity]) {
      const pkg = benchPackage(target, size, key);
      let start = 0;
      let most = 0;
      let chunks = 0;
      const report = await runInEngine(built[target], target, {
        library: true,
        budgetBytes: 1024 * 1024,
        timeoutMs: 600000,
        prelude: updateGlobals(pkg.head, key, size, capacity),
        session: (e) => {
          e.js("__bench('begin', 0)");
          start = e.memory();
          for (let left = 1; left > 0; chunks++) {
            left = e.js("__bench('chunk', 0)") as number;
            most = Math.max(most, e.memory());
          }
          if (e.js("__bench('received', 0)") !== size) throw new Error('the slot does not hold the payload');
        },
      });
      if (!report.booted) throw new Error('update bench: receiving ' + size + ' bytes on ' + target + ': ' + report.error);
      received.push([target, target === 'kaluma' ? 'kaluma-pico-w' : 'espruino-esp32', String(size), String(chunks), String(report.bootBytes), String(start), String(most), '+' + (most - start), String(report.peakBytes)]);
    }
  }
  console.log('\nsigned updates: receiving a package in 4 KB chunks into a slot, hashed back as each board does (engine check, QuickJS bytes over the empty engine; "receiving": the most held after a chunk and its hashing, over the worker made; the sampled peak includes loading, and on Espruino the one native hash of the slot, which the engine check\'s Storage copies and an ESP32 reads in place)');
  table(received);

  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the update verifier, hashing and receiving on the real engines)');
    return;
  }

  // The verifier and the hashing, on the real engines.
  const m = message!;
  const pk = hex(key.publicKey);
  const cost: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate', 'memory']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const v = target === 'kaluma' ? verifierOnJerry(bin, pk, hex(m.toBeSigned), hex(m.signature)) : verifierOnEspruino(bin, pk, hex(m.toBeSigned), hex(m.signature));
    const engine = target === 'kaluma' ? 'JerryScript' : 'Espruino';
    const est = (n: number): string => (target === 'kaluma' ? ms(n) : '-');
    const unit = target === 'kaluma' ? ' B peak' : ' vars';
    if (v.result !== 1) {
      cost.push([engine, 'the verifier answered ' + v.result + ' (fails)', '-', '-', '-']);
      continue;
    }
    cost.push([engine, 'load: the ' + v.textBytes + '-byte text evaluated' + (target === 'kaluma' ? ' (a string)' : ' from Storage'), String(v.load), est(v.load), v.loadMemory + unit + (target === 'kaluma' ? '' : ' after')]);
    cost.push([engine, 'one signature check, ' + m.toBeSigned.length + '-byte Sig_structure (' + v.steps + ' steps)', String(v.verify), est(v.verify), v.verifyMemory + unit + (target === 'kaluma' ? ' (the run)' : ' at most')]);
    cost.push([engine, 'longest step (step ' + v.longestAt + ' of ' + v.steps + ')', String(v.longest), est(v.longest), '']);
    cost.push([engine, 'load and check', String(v.load + v.verify), est(v.load + v.verify), '']);
    const perKb = target === 'kaluma' ? jsHashPerKb(bin, built.kaluma) : nativeHashPerKb(bin);
    cost.push([engine, target === 'kaluma' ? 'SHA-256 per KB (modules/crypto, 128-byte slices)' : 'SHA-256 per KB (crypto.SHA256 over a Storage read)', String(perKb), est(perKb), '']);
  }
  console.log('\nsigned updates on the real engines: the stepwise Ed25519 verifier of asset 4 (signed by the key of this run) and hashing a slot as the worker does (callgrind, parse and run only; RP2040 at 133 MHz; JerryScript\'s peak includes the text, which its command line keeps as a literal)');
  table(cost);

  // Receiving, on the real engines: their own memory figures.
  const real: string[][] = [['engine', 'payload', 'slot capacity', 'load only', 'receiving']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const rows = target === 'kaluma' ? receiveOnJerry(bin, built.kaluma, key) : receiveOnEspruino(bin, built.espruino, key);
    real.push(...rows);
  }
  console.log('\nsigned updates: receiving on the real engines (JerryScript: peak heap of the run, --mem-stats; Espruino: variables, the most sampled after each chunk and slice, the bundle run from Storage)');
  table(real);
}

interface Verifier {
  textBytes: number;
  load: number;
  loadMemory: number;
  verify: number;
  verifyMemory: number;
  steps: number;
  longest: number;
  longestAt: number;
  result: number;
}

/** Callgrind over `args` in `dir`, counting the engine's parse and run; with `dumpBefore`, one count per call of that native function. */
function callgrind(bin: string, target: DeviceTarget, dir: string, args: string[], dumpBefore?: string): { parts: number[]; output: string } {
  const out = join(dir, 'cg.out');
  const toggles = target === 'kaluma' ? ['--toggle-collect=jerry_parse', '--toggle-collect=jerry_run'] : ['--toggle-collect=jspEvaluate'];
  const dump = dumpBefore ? ['--dump-before=' + dumpBefore] : [];
  const r = spawnSync('valgrind', ['--tool=callgrind', ...toggles, ...dump, '--callgrind-out-file=' + out, bin, ...args], { encoding: 'utf8', timeout: 1800000, input: '', cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const files = readdirSync(dir).filter((f) => f === 'cg.out' || f.startsWith('cg.out.'));
  // cg.out.1, cg.out.2, … in order, then cg.out (what followed the last dump).
  const order = (f: string): number => (f === 'cg.out' ? Infinity : Number(f.slice(7)));
  files.sort((a, b) => order(a) - order(b));
  const parts = files.map((f) => {
    const t = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    rmSync(join(dir, f));
    return t ? Number(t[1]) : NaN;
  });
  return { parts, output: (r.stdout ?? '') + (r.stderr ?? '') };
}

const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);

/** The inputs as arrays, the verifier's text already loaded as `__start`: the same in every run. */
function inputs(pk: string, msg: string, sig: string): string {
  return `function __hx(h) { var o = new Uint8Array(h.length / 2); for (var i = 0; i < o.length; i++) o[i] = parseInt(h.substr(i * 2, 2), 16); return o; }
var __in = [__hx('${pk}'), __hx('${msg}'), __hx('${sig}')];`;
}

/** `mark()`: a native call between steps (the counting splits there). */
function steps(sha512: string, mark: string, report: string): string {
  return `var __s = __start(__in[0], __in[1], __in[2], ${sha512}), __r = 0, __n = 0;
${mark};
while (__r === 0 && __n < 5000) { __r = __s.step(); __n++; ${mark}; }
${report}('hoshi-verify ' + __r + ' ' + __n);`;
}

function longestStep(parts: number[], n: number): { longest: number; at: number } {
  // parts: [load, inputs and start], then one per step, then what follows the last.
  const stepParts = parts.slice(1, 1 + n);
  const longest = Math.max(...stepParts);
  return { longest, at: stepParts.indexOf(longest) + 1 };
}

/**
 * JerryScript: the text is a string made at run time (the loader reads it from flash) evaluated
 * with an indirect eval; the jerry command line holds it as its script's literal meanwhile.
 */
function verifierOnJerry(bin: string, pk: string, msg: string, sig: string): Verifier {
  const text = verifierAssetText('kaluma');
  const literal = 'var __text = ' + JSON.stringify(text) + ';';
  const without = countOnRealEngine(bin, 'kaluma', literal, inputs(pk, msg, sig) + '\nvar __start = __text; __text = undefined;');
  const load = countOnRealEngine(bin, 'kaluma', literal, inputs(pk, msg, sig) + '\nvar __start = (0, eval)(__text); __text = undefined;');
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  try {
    writeFileSync(join(dir, 'text.js'), literal);
    writeFileSync(join(dir, 'drive.js'), inputs(pk, msg, sig) + '\nvar __start = (0, eval)(__text); __text = undefined;\n' + steps('undefined', "print('')", 'print'));
    const run = callgrind(bin, 'kaluma', dir, ['--mem-stats', join(dir, 'text.js'), join(dir, 'drive.js')], 'jerryx_handler_print');
    const done = /hoshi-verify (-?\d+) (\d+)/.exec(run.output);
    const n = done ? Number(done[2]) : 0;
    const { longest, at } = longestStep(run.parts, n);
    const peak = /Peak allocated = (\d+) bytes/.exec(run.output);
    return {
      textBytes: text.length,
      load: load.instructions - without.instructions,
      loadMemory: load.memory,
      verify: sum(run.parts) - load.instructions,
      verifyMemory: peak ? Number(peak[1]) : NaN,
      steps: n,
      longest,
      longestAt: at,
      result: done ? Number(done[1]) : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `script` on the Linux Espruino in `dir` (its Storage, espruino.flash, is kept there between runs). */
function espruino(bin: string, dir: string, script: string): string {
  writeFileSync(join(dir, 'run.js'), script, 'latin1');
  const r = spawnSync(bin, [join(dir, 'run.js')], { encoding: 'latin1', timeout: 600000, input: '', cwd: dir });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

/** Writes `text` to the Storage file `name` in `dir`, 4 KB per run (as `hoshi flash` writes a unit's files). */
function storeText(bin: string, dir: string, name: string, text: string): void {
  for (let at = 0; at < text.length; at += 4096) {
    const args = at === 0 ? ', 0, ' + text.length : ', ' + at;
    const out = espruino(bin, dir, 'require("Storage").write(' + JSON.stringify(name) + ', ' + toJSONishString(text.slice(at, at + 4096)) + args + ');');
    if (/Uncaught|MEMORY/.test(out)) throw new Error('update bench: storing ' + name + ' failed: ' + out.slice(-300));
  }
}

/** Espruino: the text evaluated from its Storage file, as the board does (its code stays in flash). */
function verifierOnEspruino(bin: string, pk: string, msg: string, sig: string): Verifier {
  const text = verifierAssetText('espruino');
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  // As the board calls it (boards/espruino-esp32/board.ts): the native SHA-512, a fifth of a step's work.
  const sha = "function (d) { return new Uint8Array(require('crypto').SHA512(d)); }, 0.2";
  const memory = "\nprint('hoshi-memory ' + process.memory().usage);";
  try {
    storeText(bin, dir, 'hoshi.vfy', text);
    const count = (script: string, dumpBefore?: string): { parts: number[]; output: string } => {
      writeFileSync(join(dir, 'app.js'), script);
      return callgrind(bin, 'espruino', dir, [join(dir, 'app.js')], dumpBefore);
    };
    const without = count(inputs(pk, msg, sig) + "\nvar __start = require('Storage').read('hoshi.vfy');" + memory);
    const load = count(inputs(pk, msg, sig) + "\nvar __start = eval(require('Storage').read('hoshi.vfy'));" + memory);
    const run = count(inputs(pk, msg, sig) + "\nvar __start = eval(require('Storage').read('hoshi.vfy'));\n" + steps(sha, 'E.getSizeOf(0)', 'print') + memory, 'jswrap_espruino_getSizeOf');
    // The variables in use after each step: a run of its own (process.memory() collects garbage).
    const sampled = espruino(bin, dir, inputs(pk, msg, sig) + "\nvar __start = eval(require('Storage').read('hoshi.vfy')), __most = 0;\n" +
      steps(sha, 'if (process.memory().usage > __most) __most = process.memory().usage', 'print') + "\nprint('hoshi-most ' + __most);");
    const done = /hoshi-verify (-?\d+) (\d+)/.exec(run.output);
    const n = done ? Number(done[2]) : 0;
    const { longest, at } = longestStep(run.parts, n);
    const vars = (o: string, re: RegExp): number => Number((re.exec(o) ?? [])[1] ?? NaN);
    return {
      textBytes: text.length,
      load: sum(load.parts) - sum(without.parts),
      loadMemory: vars(load.output, /hoshi-memory (\d+)/),
      verify: sum(run.parts) - sum(load.parts),
      verifyMemory: vars(sampled, /hoshi-most (\d+)/),
      steps: n,
      longest,
      longestAt: at,
      result: done ? Number(done[1]) : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** JerryScript: instructions per KB of the worker's hashing (bench/device/update-ops.ts 'hash'). */
function jsHashPerKb(bin: string, code: string): number {
  const one = countOnRealEngine(bin, 'kaluma', code, "__bench('hash', 1);");
  const four = countOnRealEngine(bin, 'kaluma', code, "__bench('hash', 4);");
  return Math.round((four.instructions - one.instructions) / 3);
}

/** Espruino: instructions per KB of crypto.SHA256 over a mapped Storage read, as the board's Flash.sha256. */
function nativeHashPerKb(bin: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  try {
    let text = '';
    for (let i = 0; i < 16384; i++) text += String.fromCharCode(payloadByte(i, 16385));
    storeText(bin, dir, 'hoshi.h', text);
    const count = (n: number): number => {
      writeFileSync(join(dir, 'app.js'), `var __d = new Uint8Array(require('crypto').SHA256(require('Storage').read('hoshi.h', 0, ${n})));`);
      return sum(callgrind(bin, 'espruino', dir, [join(dir, 'app.js')]).parts);
    };
    return Math.round((count(16384) - count(1024)) / 15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** JerryScript: the peak heap of the bundle loaded, then of a small and a slot-filling package received (the slots' payload outside the heap). */
function receiveOnJerry(bin: string, code: string, key: SigningKey): string[][] {
  const capacity = SLOT_CAPACITY['kaluma-pico-w']!;
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  const peak = (drive: string): { peak: number; output: string } => {
    writeFileSync(join(dir, 'drive.js'), "if (typeof console === 'undefined') var console = { log: print };\n" + drive);
    const r = spawnSync(bin, ['--mem-stats', join(dir, 'app.js'), join(dir, 'drive.js')], { encoding: 'utf8', timeout: 600000, input: '', cwd: dir });
    const output = (r.stdout ?? '') + (r.stderr ?? '');
    return { peak: Number((/Peak allocated = (\d+) bytes/.exec(output) ?? [])[1] ?? NaN), output };
  };
  try {
    writeFileSync(join(dir, 'app.js'), code);
    const rows: string[][] = [];
    for (const size of [SMALL, capacity]) {
      const pkg = benchPackage('kaluma', size, key);
      const globals = updateGlobals(pkg.head, key, size, capacity);
      const load = peak(globals + "\n__bench('load', 1);");
      const run = peak(globals + "\nprint('hoshi-received ' + __bench('receive', 0));");
      const ok = /hoshi-received -1/.test(run.output);
      rows.push(['JerryScript', String(size), String(capacity), load.peak + ' B peak', ok ? run.peak + ' B peak' : 'fails: ' + run.output.slice(-200).replace(/\s+/g, ' ')]);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Espruino: the bundle stored and run from Storage (as an ESP32 runs its image), the slots Storage
 * files as long as the Linux build's 256 KB leaves them; variables after loading, and the most
 * sampled while receiving.
 */
function receiveOnEspruino(bin: string, code: string, key: SigningKey): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-update-'));
  try {
    storeText(bin, dir, 'hoshi.js', code);
    // Storage: the bundle's file, the boot record's two, one slot; each file with its 32-byte header, rounded to 4.
    const file = (n: number): number => 32 + ((n + 3) & ~3);
    const capacity = Math.floor((LINUX_STORAGE - file(code.length) - 2 * file(4096) - file(4096) - 4096) / 4096) * 4096;
    const rows: string[][] = [];
    for (const size of [SMALL, capacity]) {
      const pkg = benchPackage('espruino', size, key);
      const globals = updateGlobals(pkg.head, key, size, capacity);
      const run = (drive: string): string => espruino(bin, dir, "eval(require('Storage').read('hoshi.js'));\n" + globals + '\n' + drive);
      const load = run("__bench('load', 1); print('hoshi-memory ' + process.memory().usage);");
      const received = run("print('hoshi-most ' + __bench('receive', 0));");
      // The next run starts from erased slots again.
      espruino(bin, dir, "['bench.bc0', 'bench.bc1', 'bench.a', 'bench.b'].forEach(function (n) { require('Storage').erase(n); }); require('Storage').compact();");
      const most = /hoshi-most (\d+)/.exec(received);
      rows.push(['Espruino', String(size), String(capacity), (/hoshi-memory (\d+)/.exec(load) ?? [])[1] + ' vars', most ? most[1] + ' vars' : 'fails: ' + received.slice(-200).replace(/\s+/g, ' ')]);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

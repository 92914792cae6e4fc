import { RESERVED_BASE, RESERVED_FILES } from './esp32-storage';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceTarget } from './profiles';
import { toJSONishString } from './serial/espruino';

/**
 * Runs a device image on the real engine built from its public source (Kaluma 1.2.1's JerryScript
 * `jerry` CLI, Espruino 2v29's Linux `espruino`), with the same runtime fakes as the engine check,
 * and reports what it served and the memory it took. Optional: used by `npm run bench` when
 * HOSHI_JERRY / HOSHI_ESPRUINO name the binaries (docs/architecture.md says how to build them).
 * The engines themselves are never part of this repository.
 */

const HERE = dirname(fileURLToPath(import.meta.url));

export interface RealEngineReport {
  ok: boolean;
  output: string;
  /** HTTP status of GET /api/info. */
  status: number;
  /** JerryScript: peak heap bytes (--mem-stats) of the whole run. Espruino: variables in use after boot. */
  used: number;
  /** The same figure with only the runtime fakes loaded. */
  fakesOnly: number;
  unit: 'bytes' | 'variables';
}

// GET /api/info on a new connection, driven through the fake network until the device closes it.
const GET_INFO = Buffer.from('GET /api/info HTTP/1.1\r\nHost: 192.168.1.50\r\n\r\n', 'latin1').toString('hex');
// In a function: the driver's own names must not replace the image's globals (a device bundle is
// one script whose minified top-level names are globals).
const DRIVE = `
(function () {
  for (var i = 0; i < 5; i++) __engine.advance(10);
  var c = __engine.connect();
  c.send('${GET_INFO}', 0, 0);
  for (var j = 0; j < 100 && !c.closed && !c.ended; j++) __engine.advance(10);
  var h = c.hex(), s = '';
  for (var k = 0; k < 24 && k < h.length; k += 2) s += String.fromCharCode(parseInt(h.substr(k, 2), 16));
  print('hoshi-status ' + s.substr(9, 3));
})();
`;

function fakes(target: DeviceTarget): string {
  return ['var __host_log = function (s) { print(s); }; var __real = typeof process === "undefined" ? undefined : process;',
    readFileSync(join(HERE, 'engine/common.js'), 'utf8'),
    readFileSync(join(HERE, 'engine', target + '.js'), 'utf8'),
    // The station joined before the image starts, as the engine check's default.
    "__engine.wifi.up('Workshop');"].join('\n');
}

function run(bin: string, target: DeviceTarget, files: string[], cwd: string): string {
  const args = target === 'kaluma' ? ['--mem-stats', ...files] : files;
  const result = spawnSync(bin, args, { encoding: 'utf8', timeout: 60000, input: '', cwd });
  return (result.stdout ?? '') + (result.stderr ?? '');
}

function figure(target: DeviceTarget, output: string): number {
  if (target === 'kaluma') {
    const m = /Peak allocated = (\d+) bytes/.exec(output);
    return m ? Number(m[1]) : NaN;
  }
  const m = /hoshi-memory (\d+)/.exec(output);
  return m ? Number(m[1]) : NaN;
}

export function runOnRealEngine(bin: string, target: DeviceTarget, code: string): RealEngineReport {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-real-'));
  try {
    const memory = target === 'espruino' ? "\nprint('hoshi-memory ' + __real.memory().usage);\n" : '';
    writeFileSync(join(dir, 'fakes.js'), fakes(target) + memory);
    // Espruino runs one file; JerryScript runs each file as its own script (the app stays strict).
    if (target === 'kaluma') {
      writeFileSync(join(dir, 'app.js'), code);
      writeFileSync(join(dir, 'drive.js'), DRIVE);
    } else {
      // The image is stored in the real Storage first and run from there, as an ESP32 runs
      // .bootcde: its functions keep their code in flash instead of copying it into variables.
      storeImage(bin, dir, code);
      writeFileSync(join(dir, 'app.js'), "var __realStorage = require('Storage');\n" + fakes(target) + "\neval(__realStorage.read('hoshi.js'));\n" + DRIVE + memory);
    }
    const base = run(bin, target, [join(dir, 'fakes.js')], dir);
    const output = target === 'kaluma' ? run(bin, target, [join(dir, 'fakes.js'), join(dir, 'app.js'), join(dir, 'drive.js')], dir) : run(bin, target, [join(dir, 'app.js')], dir);
    const status = Number((/hoshi-status (\d+)/.exec(output) ?? [])[1] ?? 0);
    return { ok: status === 200, output, status, used: figure(target, output), fakesOnly: figure(target, base), unit: target === 'kaluma' ? 'bytes' : 'variables' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The image booted by the fixed loader on Espruino's Linux build, as an ESP32 boots it: the loader
 * as `.bootcde`, slot A (`hoshi.a`: its header, then `payload`), the boot record (`hoshi.bc`) and
 * `hoshi.b` in the real Storage, what each holds 4,064 bytes in as on a unit, each written in runs
 * of their own; then the loader runs from Storage with the runtime's own Storage (the fakes for the
 * rest, and a require("Flash") that shows these files where an ESP32 has them: engine/espruino.js),
 * reads the record and evaluates the image from `hoshi.a`. The Linux build's Storage holds 256 KB,
 * so each file is only as long as what it holds (past its end a slot reads as erased). Kaluma
 * cannot be run this way: the `jerry` command line has no flash outside its heap, and the slot's
 * text alone would fill it (docs/performance.md has the loader on Kaluma's own runtime).
 */
export function runLoaderOnRealEngine(bin: string, target: DeviceTarget, loader: string, slot: Uint8Array, record: Uint8Array): RealEngineReport {
  if (target !== 'espruino') throw new Error('real engines: the loader runs on Espruino only (the jerry command line keeps no flash outside its heap)');
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-real-'));
  try {
    const memory = "\nprint('hoshi-memory ' + __real.memory().usage);\n";
    const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
    // What each file holds starts 4,064 bytes in, as on a unit (firmware/host/esp32-storage.ts).
    const pad = '\xff'.repeat(RESERVED_BASE);
    storeFile(bin, dir, 'hoshi.bc', pad + text(record));
    storeFile(bin, dir, 'hoshi.a', pad + text(slot));
    storeFile(bin, dir, 'hoshi.b', '\xff');
    storeFile(bin, dir, '.bootcde', loader);
    writeFileSync(join(dir, 'fakes.js'), fakes(target) + memory);
    const layout = JSON.stringify(RESERVED_FILES.map((f) => [f.name, f.size]));
    writeFileSync(join(dir, 'app.js'), "var __realStorage = require('Storage'); var __hoshiRealStorage = " + layout + ';\n' + fakes(target) + "\neval(__realStorage.read('.bootcde'));\n" + DRIVE + memory);
    const base = run(bin, target, [join(dir, 'fakes.js')], dir);
    const output = run(bin, target, [join(dir, 'app.js')], dir);
    const status = Number((/hoshi-status (\d+)/.exec(output) ?? [])[1] ?? 0);
    return { ok: status === 200, output, status, used: figure(target, output), fakesOnly: figure(target, base), unit: 'variables' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes `text` (one char per byte) as the Storage file `name` of `size` bytes in runs of at most
 * ≈ 12 KB of script each: the file made at its size with its first byte, then 4 KB chunks into
 * erased space (chunks of 0xFF left out), quoted as EspruinoTools does (serial/espruino.ts).
 */
function storeFile(bin: string, dir: string, name: string, text: string, size = text.length): void {
  const file = JSON.stringify(name);
  const scripts = ['require("Storage").write(' + file + ', ' + toJSONishString(text.slice(0, 1)) + ', 0, ' + size + ');'];
  let script = '';
  for (let at = 1; at < text.length; at += 4096) {
    const chunk = text.slice(at, at + 4096);
    if (/^\xff*$/.test(chunk)) continue;
    script += 'require("Storage").write(' + file + ', ' + toJSONishString(chunk) + ', ' + at + ');\n';
    if (script.length > 12000) {
      scripts.push(script);
      script = '';
    }
  }
  if (script) scripts.push(script);
  for (const s of scripts) {
    writeFileSync(join(dir, 'store.js'), s, 'latin1');
    const out = run(bin, 'espruino', [join(dir, 'store.js')], dir);
    if (/Uncaught|MEMORY/.test(out)) throw new Error('real engines: storing ' + name + ' failed: ' + out.slice(-300));
  }
}

/**
 * Writes the image into the Linux build's Storage (`espruino.flash` in `dir`, kept between runs) in
 * a run of its own, as `hoshi flash` writes an ESP32's before it boots: a script that still runs
 * holds its own text, and a 60 KB image's text would take about 4,400 variables of the 12,000.
 */
function storeImage(bin: string, dir: string, code: string): void {
  // In chunks: one script holding an 86 KB image as a literal does not fit 12,000 variables.
  storeFile(bin, dir, 'hoshi.js', code);
}

/** True when valgrind (callgrind) is on PATH: instruction counts need it. */
export function hasValgrind(): boolean {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export interface InstructionCount {
  /** x86 instructions callgrind counted inside the engine's parse and run entry points. */
  instructions: number;
  /** JerryScript: peak heap bytes (--mem-stats). Espruino: variables in use at the end. */
  memory: number;
  output: string;
}

/**
 * Runs `code` then `drive` (plain scripts, no runtime fakes) on a real engine under callgrind,
 * counting only the engine's parse and run (jerry_parse/jerry_run; Espruino's jspEvaluate): the
 * figures of docs/performance.md. Costs per operation are differences of two such counts.
 */
export function countOnRealEngine(bin: string, target: DeviceTarget, code: string, drive: string, options: { fromStorage?: boolean } = {}): InstructionCount {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-count-'));
  try {
    const out = join(dir, 'callgrind.out');
    const toggles = target === 'kaluma' ? ['--toggle-collect=jerry_parse', '--toggle-collect=jerry_run'] : ['--toggle-collect=jspEvaluate'];
    let files: string[];
    if (target === 'kaluma') {
      writeFileSync(join(dir, 'app.js'), code);
      writeFileSync(join(dir, 'drive.js'), drive);
      files = ['--mem-stats', join(dir, 'app.js'), join(dir, 'drive.js')];
    } else {
      // fromStorage: the bundle is written to Storage and run from there, as an ESP32 runs
      // .bootcde: functions then keep their code in flash instead of copying it into variables.
      const load = options.fromStorage ? "require('Storage').write('hoshi.js'," + JSON.stringify(code) + ");eval(require('Storage').read('hoshi.js'));" : code;
      writeFileSync(join(dir, 'app.js'), load + '\n' + drive + "\nprint('hoshi-memory ' + process.memory().usage);\n");
      files = [join(dir, 'app.js')];
    }
    const r = spawnSync('valgrind', ['--tool=callgrind', ...toggles, '--callgrind-out-file=' + out, bin, ...files], { encoding: 'utf8', timeout: 1800000, input: '', cwd: dir });
    const output = (r.stdout ?? '') + (r.stderr ?? '');
    const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
    const memory = target === 'kaluma' ? /Peak allocated = (\d+) bytes/.exec(output) : /hoshi-memory (\d+)/.exec(output);
    return { instructions: totals ? Number(totals[1]) : NaN, memory: memory ? Number(memory[1]) : NaN, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HostileRow {
  name: string;
  /** Status the device answered, 0 if it closed without an answer (or the connection was reset). */
  status: number;
  /** Variables in use before the request, the most seen while it was sent, and after it. */
  before: number;
  peak: number;
  after: number;
  /** The next plain request was answered 200. */
  servesAfter: boolean;
}

/**
 * The hostile-request row of docs/performance.md on Espruino's Linux build: the image runs from
 * Storage with the runtime's own `net` (real sockets on 127.0.0.1), the runtime fakes for the rest,
 * and prints the variables in use every 20 ms; Node sends each request, then a plain one.
 */
export async function hostileOnEspruino(bin: string, code: string, port: number, requests: { name: string; bytes: () => Iterable<Uint8Array> }[]): Promise<HostileRow[]> {
  const { spawn } = await import('node:child_process');
  const { connect } = await import('node:net');
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-hostile-'));
  storeImage(bin, dir, code);
  // The fakes' timers run on the engine check's simulated clock: a real interval advances it.
  const app = ["var __realStorage = require('Storage');", 'var __hoshiRealNet = true; var __tick = setInterval;', fakes('espruino'), "eval(__realStorage.read('hoshi.js'));",
    "__tick(function () { __engine.advance(20); print('hoshi-memory ' + __real.memory().usage); }, 20);"].join('\n');
  writeFileSync(join(dir, 'app.js'), app);
  const child = spawn(bin, [join(dir, 'app.js')], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let latest = 0;
  let peak = 0;
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString('latin1');
    for (const m of d.toString('latin1').matchAll(/hoshi-memory (\d+)/g)) {
      latest = Number(m[1]);
      if (latest > peak) peak = latest;
    }
    if (output.length > 100000) output = output.slice(-20000);
  });
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const send = (chunks: Iterable<Uint8Array>): Promise<number> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve(Number((/^HTTP\/1\.1 (\d{3})/.exec(answer) ?? [])[1] ?? 0));
      };
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('close', finish);
      socket.on('error', finish);
      const it = chunks[Symbol.iterator]();
      const pump = (): void => {
        for (;;) {
          const next = it.next();
          if (next.done || socket.destroyed) return;
          if (!socket.write(next.value)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      socket.on('connect', pump);
      setTimeout(() => {
        socket.destroy();
        finish();
      }, 30000);
    });
  const plain = (): Iterable<Uint8Array> => [Buffer.from('GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1')];
  const rows: HostileRow[] = [];
  try {
    for (let i = 0; i < 100 && !/listening on port/.test(output); i++) await wait(100);
    await wait(200);
    for (const r of requests) {
      const before = latest;
      peak = latest;
      const status = await send(r.bytes());
      await wait(300);
      const during = peak;
      const servesAfter = (await send(plain())) === 200;
      await wait(200);
      rows.push({ name: r.name, status, before, peak: during, after: latest, servesAfter });
    }
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

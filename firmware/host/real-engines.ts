import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceTarget } from './profiles';

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

const DRIVE = `
for (var i = 0; i < 5; i++) __engine.advance(10);
var __r = __engine.send('GET', '/api/info', {}, '', 0);
print('hoshi-status ' + __r.statusCode);
`;

function fakes(target: DeviceTarget): string {
  return ['var __host_log = function (s) { print(s); }; var __real = typeof process === "undefined" ? undefined : process;',
    readFileSync(join(HERE, 'engine/common.js'), 'utf8'),
    readFileSync(join(HERE, 'engine', target + '.js'), 'utf8')].join('\n');
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
      const store = "var __realStorage = require('Storage');__realStorage.write('hoshi.js'," + JSON.stringify(code) + ');';
      writeFileSync(join(dir, 'app.js'), store + '\n' + fakes(target) + "\neval(__realStorage.read('hoshi.js'));\n" + DRIVE + memory);
    }
    const base = run(bin, target, [join(dir, 'fakes.js')], dir);
    const output = target === 'kaluma' ? run(bin, target, [join(dir, 'fakes.js'), join(dir, 'app.js'), join(dir, 'drive.js')], dir) : run(bin, target, [join(dir, 'app.js')], dir);
    const status = Number((/hoshi-status (\d+)/.exec(output) ?? [])[1] ?? 0);
    return { ok: status === 200, output, status, used: figure(target, output), fakesOnly: figure(target, base), unit: target === 'kaluma' ? 'bytes' : 'variables' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

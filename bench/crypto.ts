import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import type { DeviceTarget } from '../firmware/host/profiles';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';

/**
 * Crypto rows of `npm run bench`: bundle bytes and QuickJS heap of modules/crypto per provider
 * (always), and on the real engines built from source (HOSHI_JERRY, HOSHI_ESPRUINO, with valgrind)
 * the x86 instructions per operation, the estimated RP2040 time and the engines' own memory
 * figures. docs/performance.md explains the model and how to reproduce the figures.
 */

/**
 * RP2040 cycles per x86 instruction counted on the JerryScript build (performance-baseline):
 * 6.8 for integer code within ±2^27, 10.4 for code dominated by boxed numbers. Estimates give both.
 */
const CYCLES_UNBOXED = 6.8;
const CYCLES_BOXED = 10.4;
const RP2040_HZ = 133e6;

interface Op {
  op: string;
  what: string;
  /** k for the second run; the cost is (count(k) - count(1)) / (k - 1). */
  k: number;
}

const OPS: Op[] = [
  { op: 'sha256-1k', what: 'SHA-256 of 1 KB', k: 3 },
  { op: 'sha512-256', what: 'SHA-512 of 256 B', k: 3 },
  { op: 'hmac-32', what: 'HMAC-SHA-256, 32 B', k: 3 },
  { op: 'hkdf-32', what: 'HKDF-SHA-256, 32 B out', k: 3 },
  { op: 'pbkdf2-iteration', what: 'PBKDF2-HMAC-SHA-256, per iteration', k: 11 },
  { op: 'aes-block', what: 'AES-128, per 16-byte block', k: 33 },
  { op: 'ccm-seal-64', what: 'AES-128-CCM seal, 64 B + 16 B AAD', k: 3 },
  { op: 'drbg-32', what: 'HMAC_DRBG, 32 B', k: 3 },
  { op: 'ed25519-verify', what: 'Ed25519 verify', k: 2 },
];

const BUNDLES: [DeviceTarget, string, string][] = [
  ['kaluma', 'crypto-js.ts', 'js'],
  ['espruino', 'crypto-js.ts', 'js'],
  ['espruino', 'crypto-native.ts', 'native'],
];

export function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [n, row] of rows.entries()) {
    console.log(row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export async function cryptoBench(): Promise<void> {
  const built: { [key: string]: string } = {};
  const rows: string[][] = [['target', 'provider', 'bundle', 'bytes', 'gzip', 'QuickJS heap after load']]; // a proxy: real-engine figures below
  for (const [target, file, provider] of BUNDLES) {
    const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file)) + ';';
    const { code } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file.replace(/\.ts$/, '.js')));
    built[target + '/' + provider] = code;
    const report = await runInEngine(code, target, { library: true, probes: ["__bench('load', 1)"], budgetBytes: 1024 * 1024 });
    if (!report.booted) throw new Error('crypto bench bundle ' + file + ' on ' + target + ': ' + report.error);
    rows.push([target, provider, 'bench/device/' + file, String(code.length), String(gzipSync(code).length), String(report.bootBytes)]);
  }
  console.log('\nmodules/crypto (all primitives, with the bench driver)');
  table(rows);

  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for instructions per operation on the real engines)');
    return;
  }
  const cost: string[][] = [['engine', 'provider', 'operation', 'x86 instructions', 'RP2040 estimate', 'memory after load']];
  for (const [target, , provider] of BUNDLES) {
    const bin = engines[target];
    if (!bin) continue;
    const code = built[target + '/' + provider]!;
    const load = countOnRealEngine(bin, target, code, "__bench('load', 1);");
    const memory = /LOW_MEMORY/.test(load.output) ? 'out of memory' : target === 'kaluma' ? load.memory + ' B peak' : load.memory + ' vars';
    cost.push([target === 'kaluma' ? 'JerryScript' : 'Espruino', provider, 'load (parse and set up)', String(load.instructions), target === 'kaluma' ? ms(load.instructions) : '-', memory]);
    if (/LOW_MEMORY/.test(load.output)) continue; // nothing else can run
    for (const o of OPS) {
      if (o.op === 'ed25519-verify' && provider === 'native') continue; // not carried on Espruino
      const one = countOnRealEngine(bin, target, code, `__bench('${o.op}', 1);`);
      const many = countOnRealEngine(bin, target, code, `__bench('${o.op}', ${o.k});`);
      const failure = /LOW_MEMORY|Uncaught|Error:/.exec(many.output);
      if (!(one.instructions > 0 && many.instructions > 0) || failure) {
        cost.push([target === 'kaluma' ? 'JerryScript' : 'Espruino', provider, o.what, 'fails: ' + (failure ? /LOW_MEMORY/.test(many.output) ? 'out of memory' : failure[0] : 'no count'), '-', '']);
        continue;
      }
      const per = Math.round((many.instructions - one.instructions) / (o.k - 1));
      cost.push([target === 'kaluma' ? 'JerryScript' : 'Espruino', provider, o.what, String(per), target === 'kaluma' ? ms(per) : '-', '']);
    }
  }
  console.log('\nmodules/crypto on the real engines (callgrind, parse and run only; RP2040 at 133 MHz, ' + CYCLES_UNBOXED + '–' + CYCLES_BOXED + ' cycles per instruction)');
  table(cost);
}

/** RP2040 time for `instructions` x86 instructions counted on JerryScript, as a range. */
/**
 * One row per operation on a real engine: [engine, what, x86 instructions, RP2040 estimate], the
 * instructions of one call measured as (k calls − 1 call) / (k − 1), so the bundle's load cancels.
 */
export function operationRows(bin: string, target: DeviceTarget, code: string, engine: string, ops: readonly (readonly [string, string, number])[], drive = (op: string, k: number): string => `__bench('${op}', ${k});`): string[][] {
  const rows: string[][] = [];
  for (const [op, what, k] of ops) {
    const one = countOnRealEngine(bin, target, code, drive(op, 1));
    const many = countOnRealEngine(bin, target, code, drive(op, k));
    const failure = /LOW_MEMORY|Uncaught|Error:|Out of Memory/i.exec(many.output + one.output);
    const per = Math.round((many.instructions - one.instructions) / (k - 1));
    rows.push([engine, what, failure ? 'fails: ' + failure[0] : String(per), failure || target !== 'kaluma' ? '-' : ms(per)]);
  }
  return rows;
}

export function ms(instructions: number): string {
  const t = (cycles: number): number => (instructions * cycles) / RP2040_HZ;
  const f = (s: number): string => (s >= 1 ? s.toFixed(1) : (s * 1000).toFixed(s < 0.01 ? 2 : 0));
  const unit = t(CYCLES_UNBOXED) >= 1 ? ' s' : ' ms';
  return (unit === ' s' ? f(t(CYCLES_UNBOXED)) + '–' + f(t(CYCLES_BOXED)) : ((t(CYCLES_UNBOXED) * 1000).toFixed(1) + '–' + (t(CYCLES_BOXED) * 1000).toFixed(1))) + unit;
}

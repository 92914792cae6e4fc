import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, readManifest, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { imageBudget, PROFILES, type DeviceTarget, type Target } from '../firmware/host/profiles';
import { runOnRealEngine } from '../firmware/host/real-engines';
import { accountsBench } from './accounts';
import { cryptoBench } from './crypto';
import { hostileBench } from './hostile';
import { storeBench } from './store';
import { assetsBench } from './assets';
import { channelBench } from './channel';
import { updateBench } from './update';
import { auditBench } from './audit';
import { wipeBench } from './wipe';

/**
 * npm run bench: sizes and memory, measured, never asserted. One row per example and target:
 * bundle bytes raw and gzipped, and for device targets the engine check's memory after boot and
 * its sampled peak (QuickJS bytes over the empty engine: a proxy for the device heap, see
 * docs/architecture.md). Later modules add their own tables here.
 */
const examples = readdirSync(join(ROOT, 'examples')).filter((e) => existsSync(join(ROOT, 'examples', e, 'manifest.json')));
const rows: string[][] = [['example', 'target', 'board', 'bytes', 'gzip', 'boot heap', 'peak heap', 'budget']];
const runtime: string[][] = [['example', 'target', 'runtime modules required', 'runtime boot', 'modules', 'half the heap', 'left for the image', 'x factor', 'engine-check budget']];
for (const example of examples) {
  const manifest = readManifest(example);
  for (const target of ['kaluma', 'espruino', 'host'] as Target[]) {
    if (!manifest.boards[target]) continue;
    const built = await buildImage(example, target);
    let boot = '-';
    let peak = '-';
    let budget = '-';
    if (target !== 'host') {
      const report = await runInEngine(built.code, target, { requests: [{ method: 'GET', url: '/api/info' }] });
      if (!report.booted) throw new Error(example + ' on ' + target + ' does not boot: ' + report.error);
      boot = String(report.bootBytes);
      peak = String(report.peakBytes);
      budget = String(report.budgetBytes);
      const profile = PROFILES[target];
      const image = imageBudget(built.code, profile);
      runtime.push([example, target, image.modules.join(', ') || '-', String(profile.runtimeBoot), String(image.runtime - profile.runtimeBoot), String(profile.heapBudget), String(image.bytes), String(profile.quickjsFactor), String(report.budgetBytes)]);
    }
    rows.push([example, target, built.board, String(built.bytes), String(built.gzipBytes), boot, peak, budget]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [n, row] of rows.entries()) {
  console.log(row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('\nbytes: minified bundle; heap: QuickJS memory in use over the empty engine with the runtime fakes loaded, bytes.');
console.log('\nThe engine check\'s budget: half the device heap, less the runtime\'s own boot and the runtime modules the image requires (with theirs), times the QuickJS factor (firmware/host/profiles.ts; device bytes, Espruino variables x 16)');
const rw = runtime[0]!.map((_, i) => Math.max(...runtime.map((r) => r[i]!.length)));
for (const [n, row] of runtime.entries()) {
  console.log(row.map((cell, i) => (i < 3 ? cell.padEnd(rw[i]!) : cell.padStart(rw[i]!))).join('  '));
  if (n === 0) console.log(rw.map((w) => '-'.repeat(w)).join('  '));
}

console.log('\nKaluma 1.2.1 runtime heap (measured, docs/performance.md): boot ' + PROFILES.kaluma.runtimeBoot + ' B; modules: ' +
  Object.entries(PROFILES.kaluma.runtimeModules).map(([m, c]) => m + ' ' + c.bytes + (c.requires.length ? ' (+' + c.requires.join(', ') + ')' : '')).join('; ') +
  '. The http stack Hoshi no longer loads (http over net, events, stream) would cost ' +
  (PROFILES.kaluma.runtimeModules.http!.bytes + PROFILES.kaluma.runtimeModules.net!.bytes + PROFILES.kaluma.runtimeModules.events!.bytes) + ' B.');

// The real engines, when built from source (docs/architecture.md, "On the real engines").
const real: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
if (real.kaluma || real.espruino) {
  console.log('\nexample     target    engine                          GET /api/info       with image  fakes only');
  for (const example of examples) {
    for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
      const bin = real[target];
      if (!bin || !readManifest(example).boards[target]) continue;
      const built = await buildImage(example, target);
      const r = runOnRealEngine(bin, target, built.code);
      const engine = target === 'kaluma' ? 'JerryScript (Kaluma 1.2.1)' : 'Espruino 2v29 (Linux, 12000 vars)';
      const what = target === 'kaluma' ? 'peak heap' : 'vars in use';
      console.log([example.padEnd(10), target.padEnd(8), engine.padEnd(30), String(r.status).padStart(13), (r.used + ' ' + what).padStart(15), String(r.fakesOnly).padStart(12)].join('  '));
      if (!r.ok) console.log(r.output.slice(-2000));
    }
  }
  if (real.espruino) await hostileBench(real.espruino);
} else {
  console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO to engines built from source to add their rows)');
}

await cryptoBench();
await storeBench();
await assetsBench();
await channelBench();
await accountsBench();
await updateBench();
await auditBench();
await wipeBench();

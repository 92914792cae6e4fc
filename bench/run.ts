import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, readManifest, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import type { Target } from '../firmware/host/profiles';

/**
 * npm run bench: sizes and memory, measured, never asserted. One row per example and target:
 * bundle bytes raw and gzipped, and for device targets the engine check's memory after boot and
 * its sampled peak (QuickJS bytes over the empty engine: a proxy for the device heap, see
 * docs/architecture.md). Later modules add their own tables here.
 */
const examples = readdirSync(join(ROOT, 'examples')).filter((e) => existsSync(join(ROOT, 'examples', e, 'manifest.json')));
const rows: string[][] = [['example', 'target', 'board', 'bytes', 'gzip', 'boot heap', 'peak heap', 'budget']];
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

import { createServer } from 'node:net';
import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import type { DeviceTarget } from '../firmware/host/profiles';
import { runInEngine } from '../firmware/host/engine';

/** Bundles a device snippet under test/fixtures for `target`, as `hoshi build` bundles an image. */
export async function bundleFixture(file: string, target: DeviceTarget): Promise<{ code: string; map: string }> {
  const entry = 'import ' + JSON.stringify(join(ROOT, 'test/fixtures', file)) + ';';
  return bundleDevice(entry, ROOT, target, join(ROOT, 'dist/test', target, file.replace(/\.ts$/, '.js')));
}

/** A probe expression that yields what `expr` did: its result as JSON, or the error it threw. */
const attempt = (expr: string): string => `(function () { try { return JSON.stringify(${expr}); } catch (e) { return (e && e.name) + ': ' + (e && e.message); } })()`;

/** Runs `probes` (each an expression; see `attempt`) in a runtime's fake with no image loaded. */
export async function probeFake(target: DeviceTarget, probes: string[], prelude = ''): Promise<unknown[]> {
  const report = await runInEngine(target === 'kaluma' ? "'use strict';" : '', target, { library: true, network: 'down', prelude, probes: probes.map(attempt) });
  if (!report.booted) throw new Error(report.error);
  return report.values;
}

/** Assets holding `entries` (id, bytes), read as core/assets.ts reads a partition. */
export function assetsOf(entries: { id: number; bytes: Uint8Array }[]): { find(id: number): { offset: number; length: number } | undefined; read(offset: number, length: number): Uint8Array } {
  const spans = new Map<number, { offset: number; length: number }>();
  let at = 64;
  for (const e of entries) {
    spans.set(e.id, { offset: at, length: e.bytes.length });
    at += e.bytes.length;
  }
  const all = new Uint8Array(at);
  for (const e of entries) all.set(e.bytes, spans.get(e.id)!.offset);
  return { find: (id) => spans.get(id), read: (offset, length) => all.slice(offset, offset + length) };
}

/** Whether `address` can be listened on here. */
export function bindable(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}


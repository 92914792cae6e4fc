import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { ESP32_PARTITIONS } from '../boards/espruino-esp32/board';
import { HOST_PARTITIONS } from '../boards/host/board';
import { memoryBacking, openSimFlash, type Geometry } from '../boards/host/flash';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { verifyRegion, type AuditReport } from '../firmware/host/audit-log';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine, type EngineReport } from '../firmware/host/engine';
import type { DeviceTarget } from '../firmware/host/profiles';
import { encodeProvisioning, newProvisioningRecord, padTo } from '../firmware/host/provision';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';
import { oldestSeq, openLog } from '../modules/audit/log';
import { logPage } from '../modules/audit/read';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys } from '../modules/keys/keys';
import { operationRows, table } from './crypto';

/**
 * Security log rows of `npm run bench` (modules/audit, docs/formats/audit.md): flash per event on
 * each board's log partition (always); the module's minified bytes and what it adds to the smart
 * plug's image, with the QuickJS heap after boot (the engine check's proxy, provisioned, the log
 * written); and on the real engines built from source (HOSHI_JERRY, HOSHI_ESPRUINO, with valgrind)
 * the instructions per event, per open and per page, and a check that each engine's chain is the
 * one the host computes.
 */

const EVENTS = 10000;

/** The board's log partitions: name, geometry, sectors. */
const REGIONS: [string, Geometry, number][] = [
  ['Kaluma (sectors 168-175, 256-byte pages)', { eraseSize: 4096, writeSize: 256, erasedValue: 0xff }, KALUMA_PARTITIONS.log.count],
  ['ESP32 (0x31C000, 4-byte writes)', { eraseSize: 4096, writeSize: 4, erasedValue: 0xff }, ESP32_PARTITIONS.log.size / 4096],
  ['host (0x1C000, 256-byte pages)', { eraseSize: 4096, writeSize: 256, erasedValue: 0xff }, HOST_PARTITIONS.log.size / 4096],
];

/** The fixed clock and key of the bench device file (bench/device/audit-ops.ts). */
function benchLog(geometry: Geometry, sectors: number) {
  let t = 5000;
  const clock = { now: () => t, wallTime: () => 1764560000000 };
  const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
  const flash = openSimFlash(memoryBacking(sectors * 4096), geometry);
  const log = openLog(flash, jsCrypto, key, clock);
  const event = (i: number): void => {
    t += 1500;
    log.event('login-failed', '192.168.1.' + (i % 250) + ' ' + (i % 9));
  };
  return { flash, log, event };
}

function flashCost(): void {
  const rows: string[][] = [['log partition', 'entries kept', 'flash bytes / event', 'programmed / event', 'program ops / event', 'erases / 1000 events', 'events per erase of a sector']];
  for (const [name, geometry, sectors] of REGIONS) {
    const { flash, log, event } = benchLog(geometry, sectors);
    let least = Infinity;
    let most = 0;
    for (let i = 0; i < EVENTS; i++) {
      event(i);
      const kept = log.ring.seq - oldestSeq(log.ring);
      if (i >= sectors * 63) least = Math.min(least, kept);
      most = Math.max(most, kept);
    }
    rows.push([
      name + ', ' + sectors + ' × 4 KB',
      least + '–' + most,
      ((64 * (sectors * 63 + sectors)) / (sectors * 63)).toFixed(1),
      (flash.bytesProgrammed / EVENTS).toFixed(1),
      (flash.programs / EVENTS).toFixed(3),
      ((flash.erases * 1000) / EVENTS).toFixed(1),
      String(Math.round((EVENTS / flash.erases) * sectors)),
    ]);
  }
  console.log('\nmodules/audit: flash per event (' + EVENTS + ' events of 64-byte entries; a sector: a 64-byte header and 63 entries)');
  table(rows);
}

/** The smart plug's image for `target`, with modules/audit (as the example has it) or without it. */
export async function auditImage(target: DeviceTarget, withAudit: boolean): Promise<{ code: string; map: string }> {
  const board = target === 'kaluma' ? 'kaluma-pico-w' : 'espruino-esp32';
  const entry = [
    'import { createBoard } from ' + JSON.stringify(join(ROOT, 'boards', board, 'board.ts')) + ';',
    'import image from ' + JSON.stringify(join(ROOT, 'examples/smart-plug/image.ts')) + ';',
    'import { boot } from ' + JSON.stringify(join(ROOT, 'firmware/device/boot.ts')) + ';',
    withAudit ? '' : 'image.modules = image.modules.filter(function (m) { return m.name !== "audit"; });',
    'boot(createBoard(), image);',
  ].join('\n');
  // Without the module, its code is not in the bundle either: the image's import of it resolves to a
  // factory of nothing, which the line above takes out of the image.
  const without: Plugin = {
    name: 'without-audit',
    setup(build) {
      build.onResolve({ filter: /modules\/audit$/ }, () => ({ path: 'audit', namespace: 'without-audit' }));
      build.onLoad({ filter: /.*/, namespace: 'without-audit' }, () => ({ contents: 'export function audit() { return { name: "audit", start: function () {} }; }', loader: 'js' }));
    },
  };
  return bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, withAudit ? 'smart-plug-audit.js' : 'smart-plug-without-audit.js'), true, withAudit ? {} : { plugins: [without] });
}

/** Where the log partition lies in the engine's flash (Kaluma: sectors of its flash area). */
export const ENGINE_LOG: { [target in DeviceTarget]: { at: number; size: number } } = {
  kaluma: { at: KALUMA_PARTITIONS.log.sector * 4096, size: KALUMA_PARTITIONS.log.count * 4096 },
  espruino: { at: ESP32_PARTITIONS.log.address, size: ESP32_PARTITIONS.log.size },
};

/**
 * Boots `code` provisioned in the engine check and answers `GET /api/info`; the log partition the
 * run left, verified with the unit's `audit-log` key (from the key ring).
 */
export async function engineRun(target: DeviceTarget, code: string): Promise<{ report: EngineReport; log: AuditReport }> {
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const at = target === 'kaluma' ? KALUMA_PARTITIONS.provisioning.sector * 4096 : ESP32_PARTITIONS.provisioning.address;
  const prelude = '__engine.flash.load(' + at + ', ' + JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256))) + ');';
  const report = await runInEngine(code, target, { prelude, requests: [{ method: 'GET', url: '/api/info' }], budgetBytes: 2 * 1024 * 1024, timeoutMs: 120000 });
  const key = deviceKeys(jsCrypto, record.deviceSecret).key('audit-log');
  const region = report.flash.read('flash', ENGINE_LOG[target].at, ENGINE_LOG[target].size);
  return { report, log: verifyRegion(region, key) };
}

async function moduleSize(): Promise<void> {
  const rows: string[][] = [['target', 'what', 'bytes', 'gzip', 'QuickJS heap after boot', 'the log after boot']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const alone = await bundleDevice("import { audit } from " + JSON.stringify(join(ROOT, 'modules/audit/index.ts')) + ';\n(globalThis as any).__audit = audit;', ROOT, target, join(ROOT, 'dist/bench', target, 'audit-alone.js'), true);
    rows.push([target, 'modules/audit alone (with what it imports)', String(alone.code.length), String(gzipSync(alone.code).length), '-', '-']);
    const base = await auditImage(target, false);
    const withAudit = await auditImage(target, true);
    const b = await engineRun(target, base.code);
    const w = await engineRun(target, withAudit.code);
    const signed = (n: number): string => (n < 0 ? String(n) : '+' + n);
    const boot = (r: EngineReport): string => (r.booted ? String(r.bootBytes) : 'fails: ' + r.error);
    rows.push([target, 'smart plug, provisioned', String(base.code.length), String(gzipSync(base.code).length), boot(b.report), '-']);
    rows.push([
      target,
      'smart plug with modules/audit',
      String(withAudit.code.length) + ' (' + signed(withAudit.code.length - base.code.length) + ')',
      String(gzipSync(withAudit.code).length) + ' (' + signed(gzipSync(withAudit.code).length - gzipSync(base.code).length) + ')',
      boot(w.report) + (w.report.booted && b.report.booted ? ' (' + signed(w.report.bootBytes - b.report.bootBytes) + ')' : ''),
      (w.log.ok ? 'verified: ' : 'BROKEN: ') + w.log.entries.map((e) => e.kind + (e.detail ? ' ' + e.detail : '')).join(', '),
    ]);
  }
  console.log('\nmodules/audit: size (device bundles: whitespace and identifiers minified; Kaluma images with their messages in the assets) and the engine check\'s heap proxy');
  table(rows);
}

const OPS: [string, string, number][] = [
  ['open-empty', 'open(), empty log (4 sectors)', 3],
  ['open', 'open(), 150 entries (3 sectors)', 2],
  ['event', 'event(): one entry (HMAC-SHA-256 of 63 bytes, 2 programs; a sector started every 63)', 64],
  ['page', 'page(), 16 entries (GET /api/log without the channel)', 3],
];

export async function auditBench(): Promise<void> {
  flashCost();
  await moduleSize();
  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the security log on the real engines)');
    return;
  }
  // Entry 70 as the host computes it: what each engine's chain must hold.
  const host = benchLog({ eraseSize: 4096, writeSize: 4, erasedValue: 0xff }, 4);
  for (let i = 0; i < 70; i++) host.event(i);
  const expected = String(logPage(host.log.ring, 70, 1).slots.slice(-1)[0]);
  const rows: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const file = target === 'kaluma' ? 'audit-js' : 'audit-native';
    const { code } = await bundleDevice('import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';', ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'));
    const engine = target === 'kaluma' ? 'JerryScript' : 'Espruino';
    const check = countOnRealEngine(bin, target, code, `__bench('check', 70, ${JSON.stringify(expected)});`);
    rows.push([engine, 'the chain (entry 70) equals the host\'s', /Error|Uncaught|LOW_MEMORY/.test(check.output) ? 'NO: ' + check.output.slice(-300) : 'yes', '-']);
    rows.push(...operationRows(bin, target, code, engine, OPS));
  }
  console.log('\nmodules/audit on the real engines (callgrind, parse and run only; Kaluma: pure-JS HMAC, 256-byte pages; Espruino: native SHA-256, 4-byte writes)');
  table(rows);
}

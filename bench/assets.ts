import { join } from 'node:path';
import { Asset } from '../firmware/device/core/assets';
import { buildAssets, buildCommonFilter, describeAssets, encodeAssets, heldOutPasswords, measureFalsePositives, randomProbes } from '../firmware/host/assets';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { buildPage } from '../firmware/host/page';
import type { DeviceTarget } from '../firmware/host/profiles';
import { hasValgrind } from '../firmware/host/real-engines';
import { operationRows, table } from './crypto';

/**
 * Assets rows of `npm run bench`: the container's bytes per asset, the common-password filter's
 * parameters and its measured false-positive rate, the admin page raw and gzip (always), and on
 * the real engines built from source the cost of opening the assets and of one lookup.
 * docs/formats/assets.md states the figures.
 */

const NAMES: { [id: number]: string } = { [Asset.PAGE]: 'admin page (gzip)', [Asset.COMMON_PASSWORDS]: 'common-password filter' };

export async function assetsBench(): Promise<void> {
  const container = await buildAssets();
  const rows: string[][] = [['asset', 'id', 'offset', 'bytes']];
  for (const e of describeAssets(container)) rows.push([NAMES[e.id] ?? 'asset', String(e.id), String(e.offset), String(e.length)]);
  rows.push(['container (header, table, CRC, padding included)', '-', '-', String(container.length)]);
  console.log('\nassets: the container written next to the image (docs/formats/assets.md; 64 KB per board)');
  table(rows);
  const page = await buildPage();
  console.log('\nadmin page (modules/admin-page): one document, script and style inline');
  table([
    ['raw HTML', 'gzip (level 9, as served)'],
    [String(page.html.length), String(page.gzip.length)],
  ]);

  const filter = buildCommonFilter();
  const random = measureFalsePositives(filter.bytes, randomProbes(100000));
  const held = heldOutPasswords(20000);
  const real = measureFalsePositives(filter.bytes, held);
  console.log('\ncommon-password filter (Bloom, double hashing over SHA-256)');
  table([
    ['words', 'k', 'm (bits)', 'bytes', 'expected FP', 'FP, 100,000 random strings', 'FP, ' + held.length + ' held-out passwords'],
    [String(filter.words), String(filter.k), String(filter.m), String(filter.bytes.length), (100 * filter.falsePositiveRate).toFixed(3) + ' %', (100 * random).toFixed(3) + ' %', (100 * real).toFixed(3) + ' %'],
  ]);

  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the assets on the real engines)');
    return;
  }
  // The filter alone (what both operations read): the whole container's hex would not fit the
  // Linux Espruino's 12,000 variables next to its bytes.
  const hex = Buffer.from(encodeAssets([{ id: Asset.COMMON_PASSWORDS, bytes: filter.bytes }])).toString('hex');
  const cost: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const file = target === 'kaluma' ? 'assets-js' : 'assets-native';
    const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';';
    const { code } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'));
    const engine = target === 'kaluma' ? 'JerryScript' : 'Espruino';
    const drive = (op: string, k: number): string => `var __assetsHex = '${hex}';\n__bench('load', 1);\n__assetsHex = '';\n__bench('${op}', ${k});`;
    const ops = [
      ['open', 'openAssets + find of the filter (the table and its CRC-32)', 2],
      ['lookup', 'one lookup (SHA-256 of the word, ' + filter.k + ' one-byte reads)', 5],
    ] as const;
    cost.push(...operationRows(bin, target, code, engine, ops, drive));
  }
  console.log('\nassets on the real engines (callgrind, parse and run only; Kaluma: pure-JS SHA-256; Espruino: native SHA-256)');
  table(cost);
}

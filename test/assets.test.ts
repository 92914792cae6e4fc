import test from 'ava';
import { buildPage } from '../firmware/host/page';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryBacking, openSimFlash, PICO_GEOMETRY, type SimFlash } from '../boards/host/flash';
import { HOST_FLASH_SIZE, HOST_PARTITIONS, hostAssets } from '../boards/host/board';
import { partition, type Flash } from '../hal/flash';
import { Asset, openAssets } from '../firmware/device/core/assets';
import { crc32 } from '../firmware/device/core/crc32';
import { putU32 } from '../firmware/device/core/bytes';
import { commonPasswords } from '../modules/accounts/common';
import { checkPassword } from '../modules/accounts/policy';
import { jsCrypto } from '../modules/crypto/provider-js';
import {
  ASSETS_MAX_BYTES,
  bloomParameters,
  buildAssets,
  buildCommonFilter,
  commonPasswordList,
  describeAssets,
  encodeAssets,
  filterHas,
  heldOutPasswords,
  isCommonPassword,
  measureFalsePositives,
  randomProbes,
  seededRandom,
  sha256,
  writeAssets,
} from '../firmware/host/assets';
import { startSimulator } from '../firmware/host/simulator';
import echoImage from './fixtures/echo-image';

/**
 * A 64 KB assets region on the host flash: where slot A's container lies after the simulator's
 * marker (the payload's second 4 KB, docs/formats/update.md §3), as flashing writes it.
 */
const AREA = { offset: HOST_PARTITIONS.slots[0]!.offset + 8192, size: 0x10000 };

/** An assets region on a fresh simulated flash. */
function assetsFlash(): { flash: SimFlash; assets: Flash } {
  const flash = openSimFlash(memoryBacking(HOST_FLASH_SIZE), PICO_GEOMETRY);
  return { flash, assets: partition(flash, AREA.offset, AREA.size) };
}

/** A partition holding exactly `bytes` (0xFF after them), written without any check. */
function rawPartition(bytes: Uint8Array): Flash {
  const assets = openSimFlash(memoryBacking(AREA.size), PICO_GEOMETRY);
  const padded = new Uint8Array(Math.ceil(bytes.length / 256) * 256).fill(0xff);
  padded.set(bytes);
  assets.write(0, padded);
  return assets;
}

const PAGE = new Uint8Array(3000).map((_, i) => (i * 31 + 7) & 255);
const OTHER = new Uint8Array(5).map((_, i) => i + 1);
const sample = (): Uint8Array =>
  encodeAssets([
    { id: Asset.PAGE, bytes: PAGE },
    { id: Asset.COMMON_PASSWORDS, bytes: OTHER },
  ]);

/** Recomputes the table's CRC after a test changed the header or an entry. */
function resealTable(c: Uint8Array): Uint8Array {
  const n = Asset.HEADER + c[5]! * Asset.ENTRY;
  putU32(c, n, crc32(c, 0, n));
  return c;
}

test('container: byte layout, 4-byte aligned entries, round trip through openAssets on a simulated flash', (t) => {
  const c = sample();
  t.deepEqual([...c.subarray(0, 8)], [0x48, 0x53, 0x41, 0x53, 1, 2, 0, 0]);
  const entries = describeAssets(c);
  t.deepEqual(entries, [
    { id: 1, offset: 44, length: 3000 },
    { id: 2, offset: 3044, length: 5 },
  ]);
  for (const e of entries) t.is(e.offset % 4, 0);
  t.is(c.length, 3049);
  const { flash, assets } = assetsFlash();
  writeAssets(assets, c);
  t.is(flash.bytesErased, AREA.size, 'the whole partition is erased first');
  const opened = openAssets(assets);
  t.is(opened.problem(), '');
  const page = opened.find(Asset.PAGE)!;
  t.deepEqual(opened.read(page.offset, page.length), PAGE);
  const other = opened.find(Asset.COMMON_PASSWORDS)!;
  t.deepEqual(opened.read(other.offset, other.length), OTHER);
  t.is(opened.find(3), undefined, 'an id the container lacks');
  t.is(opened.problem(), '');
  // Written again over an older container: erased first, so the flash rules hold.
  writeAssets(assets, encodeAssets([{ id: Asset.COMMON_PASSWORDS, bytes: PAGE }]));
  const again = openAssets(assets);
  t.is(again.find(Asset.PAGE), undefined);
  t.deepEqual(again.read(again.find(Asset.COMMON_PASSWORDS)!.offset, PAGE.length), PAGE);
  t.throws(() => writeAssets(assets, new Uint8Array(assets.size + 1)), { message: /holds/ });
  t.throws(() => encodeAssets([{ id: 1, bytes: OTHER }, { id: 1, bytes: OTHER }]), { message: /twice/ });
  t.throws(() => encodeAssets([{ id: 0, bytes: OTHER }]), { instanceOf: RangeError });
});

test('container: a write cut at any operation leaves the old assets or none, never a mix (header written last)', (t) => {
  const old = sample();
  const fresh = encodeAssets([
    { id: Asset.PAGE, bytes: new Uint8Array(20000).fill(0x5a) },
    { id: Asset.COMMON_PASSWORDS, bytes: OTHER.map((b) => b + 1) },
  ]);
  const expected = (c: Uint8Array, id: number): Uint8Array => {
    const e = describeAssets(c).find((x) => x.id === id)!;
    return c.subarray(e.offset, e.offset + e.length);
  };
  let none = 0;
  for (let cut = 1; ; cut++) {
    const backing = memoryBacking(HOST_FLASH_SIZE);
    const area = (f: SimFlash): Flash => partition(f, AREA.offset, AREA.size);
    writeAssets(area(openSimFlash(backing, PICO_GEOMETRY)), old);
    const flash = openSimFlash(backing, PICO_GEOMETRY);
    flash.cutAt(cut, cut % 2 ? { scramble: cut } : {});
    let done = false;
    try {
      writeAssets(area(flash), fresh);
      done = true;
    } catch {
      // the power went
    }
    const opened = openAssets(area(openSimFlash(backing, PICO_GEOMETRY)));
    const found = [Asset.PAGE, Asset.COMMON_PASSWORDS].map((id) => {
      const span = opened.find(id);
      return span ? opened.read(span.offset, span.length) : undefined;
    });
    if (done) {
      t.deepEqual(found, [expected(fresh, Asset.PAGE), expected(fresh, Asset.COMMON_PASSWORDS)]);
      break;
    }
    const oldOnes = [expected(old, Asset.PAGE), expected(old, Asset.COMMON_PASSWORDS)];
    if (found[0] === undefined && found[1] === undefined) none++;
    else t.deepEqual(found, oldOnes, 'cut at operation ' + cut + ': ' + opened.problem());
  }
  t.is(none, Math.ceil(fresh.length / 4096) + 1, 'every cut before the header is written leaves none');
});

test('hostile containers: every refusal has its reason, find() never throws', (t) => {
  const cases: [string, (c: Uint8Array) => Uint8Array, string][] = [
    ['erased', () => new Uint8Array(0), 'erased'],
    ['bad magic', (c) => ((c[0] = 0x58), c), 'bad-magic'],
    ['version 2', (c) => resealTable(((c[4] = 2), c)), 'bad-version'],
    ['version 0', (c) => resealTable(((c[4] = 0), c)), 'bad-version'],
    ['17 entries', (c) => ((c[5] = 17), c), 'bad-header'],
    ['255 entries', (c) => ((c[5] = 255), c), 'bad-header'],
    ['reserved header bytes', (c) => ((c[7] = 1), c), 'bad-header'],
    ['table CRC', (c) => ((c[40] ^= 1), c), 'bad-crc'],
    ['an entry changed, CRC not', (c) => ((c[8 + 4] ^= 4), c), 'bad-crc'],
    ['count grown over the CRC', (c) => ((c[5] = 3), c), 'bad-crc'],
    ['entry flags', (c) => resealTable(((c[8 + 1] = 1), c)), 'bad-entry'],
    ['entry reserved', (c) => resealTable(((c[8 + 3] = 1), c)), 'bad-entry'],
    ['duplicate id', (c) => resealTable(((c[24] = c[8]!), c)), 'bad-entry'],
    ['offset inside the table', (c) => resealTable((putU32(c, 8 + 4, 8), c)), 'bad-entry'],
    ['offset past the partition', (c) => resealTable((putU32(c, 8 + 4, 0x10001), c)), 'bad-entry'],
    ['length past the partition', (c) => resealTable((putU32(c, 8 + 8, 0x10000), c)), 'bad-entry'],
    ['length wraps 32 bits', (c) => resealTable((putU32(c, 24 + 8, 0xffffffff), c)), 'bad-entry'],
    ['overlapping entries', (c) => resealTable((putU32(c, 24 + 4, 1000), c)), 'bad-entry'],
    ['entries out of order', (c) => resealTable((putU32(c, 8 + 4, 3100), c)), 'bad-entry'],
  ];
  for (const [name, mutate, reason] of cases) {
    const opened = openAssets(rawPartition(mutate(sample())));
    t.is(opened.problem(), reason, name);
    t.is(opened.find(Asset.PAGE), undefined, name);
    t.is(opened.find(Asset.COMMON_PASSWORDS), undefined, name);
    t.is(opened.problem(), reason, name + ': the reason stays');
  }
  t.is(openAssets(undefined).problem(), 'no assets partition');
  t.is(openAssets(undefined).find(Asset.PAGE), undefined);
});

test('a corrupt asset under a sound table is served as it is: the page by gzip\'s own CRC, the filter by a changed bit only', async (t) => {
  const c = sample();
  c[44 + 1500] ^= 0x80;
  const opened = openAssets(rawPartition(c));
  t.is(opened.problem(), '', 'the table is sound; asset bytes are checked when the tools write them, not at run time');
  const other = opened.find(Asset.COMMON_PASSWORDS)!;
  t.deepEqual(opened.read(other.offset, other.length), OTHER);
  // The page: a flipped bit anywhere in its gzip is caught by gzip's CRC-32, as a browser checks it.
  const { gunzipSync } = await import('node:zlib');
  const page = (await buildPage()).gzip.slice();
  page[page.length >> 1] ^= 4;
  t.throws(() => gunzipSync(page));
});

test('hostile containers: 3,000 random mutations of a valid container never throw, and what is served is what was written', (t) => {
  const random = seededRandom(7);
  const good = sample();
  let served = 0;
  for (let i = 0; i < 3000; i++) {
    const c = good.slice();
    const flips = 1 + Math.floor(random() * 4);
    let tableChanged = false;
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(random() * (random() < 0.7 ? 44 : c.length));
      const v = Math.floor(random() * 256);
      if (at < 44 && c[at] !== v) tableChanged = true;
      c[at] = v;
    }
    const opened = openAssets(rawPartition(c));
    for (const id of [Asset.PAGE, Asset.COMMON_PASSWORDS, 0, 3, 255]) {
      const span = opened.find(id);
      if (!span) continue;
      served++;
      // The table's CRC refuses any changed table (random flips never keep the same CRC), so what
      // is served lies where it was written.
      t.false(tableChanged, 'a changed table is never used');
      const expected = id === Asset.PAGE ? PAGE : id === Asset.COMMON_PASSWORDS ? OTHER : undefined;
      t.truthy(expected);
      t.is(span.length, expected!.length);
    }
    t.is(typeof opened.problem(), 'string');
  }
  t.true(served > 0);
});

test('filter: parameters by the standard formulas; every listed word is found; ~1 % false positives', (t) => {
  const words = commonPasswordList();
  t.true(words.length > 17000 && words.length < 19000, String(words.length));
  for (const w of words) {
    t.true(w.length >= 8 && w.length <= 64 && /^[\x20-\x7e]+$/.test(w) && w === w.toLowerCase());
  }
  t.is(new Set(words).size, words.length);
  const filter = buildCommonFilter();
  const p = bloomParameters(words.length, 0.01);
  t.is(filter.k, 7);
  t.is(filter.m, p.m);
  t.is(filter.m % 8, 0);
  t.true(filter.m >= (-words.length * Math.log(0.01)) / Math.LN2 ** 2);
  t.is(filter.bytes.length, 8 + filter.m / 8);
  t.deepEqual([...filter.bytes.subarray(0, 4)], [7, 0, 0, 0]);
  t.true(filter.falsePositiveRate > 0.009 && filter.falsePositiveRate < 0.011);
  for (const w of words) if (!filterHas(filter.bytes, w)) t.fail('missing ' + w);
  const random = measureFalsePositives(filter.bytes, randomProbes(100000));
  t.true(random > 0.008 && random < 0.012, 'random strings: ' + random);
  const held = heldOutPasswords(20000);
  t.is(held.length, 20000);
  for (const w of held.slice(0, 500)) t.false(isCommonPassword(w));
  const real = measureFalsePositives(filter.bytes, held);
  t.true(real > 0.006 && real < 0.014, 'held-out passwords: ' + real);
  t.log('n ' + filter.words + ', k ' + filter.k + ', m ' + filter.m + ' bits, ' + filter.bytes.length + ' bytes; expected ' + filter.falsePositiveRate.toFixed(5) + ', random ' + random + ', held-out ' + real);
});

test('filter: isCommonPassword is exact over the same words', (t) => {
  t.true(isCommonPassword('password'));
  t.true(isCommonPassword('iloveyou'));
  t.true(isCommonPassword('1q2w3e4r'));
  t.false(isCommonPassword('Password'), 'callers lower-case first');
  t.false(isCommonPassword('pass'), 'shorter than 8: the length rule refuses it first');
  t.false(isCommonPassword('v7#Lq9!zR2@m'));
  t.throws(() => bloomParameters(0, 0.01), { instanceOf: RangeError });
  t.throws(() => bloomParameters(10, 1), { instanceOf: RangeError });
});

test('filter: the device lookup over openAssets answers as the host builder, and the policy refuses listed passwords', async (t) => {
  const container = await buildAssets();
  t.true(container.length <= ASSETS_MAX_BYTES);
  const { assets } = assetsFlash();
  writeAssets(assets, container);
  const opened = openAssets(assets);
  const common = commonPasswords(opened, jsCrypto.sha256)!;
  t.truthy(common, opened.problem());
  const filter = buildCommonFilter();
  const span = opened.find(Asset.COMMON_PASSWORDS)!;
  t.deepEqual(opened.read(span.offset, span.length), filter.bytes);
  const words = commonPasswordList();
  const probes = [...words.filter((_, i) => i % 9 === 0), ...randomProbes(2000, 11), ...heldOutPasswords(2000, 12)];
  let hits = 0;
  for (const w of probes) {
    const device = common(w);
    if (device !== filterHas(filter.bytes, w)) t.fail('device and host differ on ' + JSON.stringify(w));
    if (device) hits++;
  }
  t.true(hits >= Math.ceil(words.length / 9));
  for (const w of ['password123', 'qwertyuiop', 'iloveyou']) {
    t.like(checkPassword(w, { minLength: 8, identity: [], common }), { rule: 'common' }, w);
    t.like(checkPassword(w.toUpperCase(), { minLength: 8, identity: [], common }), { rule: 'common' }, w + ' upper-cased');
  }
  // Hostile filter headers: no check rather than a wrong one.
  for (const [k, m] of [
    [0, 64],
    [33, 64],
    [7, 4],
    [7, 0xffffffff],
  ] as const) {
    const bytes = new Uint8Array(16);
    bytes[0] = k;
    putU32(bytes, 4, m);
    const bad = openAssets(rawPartition(encodeAssets([{ id: Asset.COMMON_PASSWORDS, bytes }])));
    t.is(commonPasswords(bad, sha256), undefined, 'k ' + k + ', m ' + m);
  }
});

test('the real container: the gzip page and the filter, within the smallest board partition', async (t) => {
  const container = await buildAssets();
  const entries = describeAssets(container);
  t.deepEqual(
    entries.map((e) => e.id),
    [Asset.PAGE, Asset.COMMON_PASSWORDS],
  );
  const page = entries[0]!;
  const html = gunzipSync(container.subarray(page.offset, page.offset + page.length)).toString('utf8');
  t.regex(html, /<html/i);
  t.is(entries[1]!.length, buildCommonFilter().bytes.length);
  t.true(container.length <= ASSETS_MAX_BYTES);
  t.is(await buildAssets(), container, 'built once per process');
});

test('the simulator flashes the current assets into slot A at its start; a reboot does not rewrite them', async (t) => {
  const container = await buildAssets();
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-assets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let sim = await startSimulator({ image: echoImage, quiet: true, dir });
  t.teardown(() => sim.stop());
  const view = (): Flash => hostAssets(sim.flash)!;
  t.is(view().size, HOST_PARTITIONS.slots[0]!.size - 8192, 'the container region: after the header and the marker');
  t.deepEqual(view().read(0, container.length), container);
  t.is(openAssets(view()).problem(), '');
  // A corrupted container stays corrupted across reboots (a reboot flashes nothing): the device serves without it.
  const raw = openSimFlash(sim.backing, PICO_GEOMETRY);
  raw.erase(AREA.offset, 4096);
  await sim.reboot();
  t.is(openAssets(view()).problem(), 'erased');
  t.is((await fetch(sim.url + '/api/info')).status, 200);
  // Flashing again (a new start) restores it.
  sim.stop();
  sim = await startSimulator({ image: echoImage, quiet: true, dir });
  t.deepEqual(view().read(0, container.length), container);
  t.is(openAssets(view()).problem(), '');
});

test('the simulator with assets: null leaves the region as it is (the device serves without them)', async (t) => {
  const sim = await startSimulator({ image: echoImage, quiet: true, assets: null });
  t.teardown(() => sim.stop());
  const opened = openAssets(hostAssets(sim.flash));
  t.is(opened.problem(), 'erased');
  const res = await fetch(sim.url + '/api/info');
  t.is(res.status, 200);
});

test('Espruino fake: Storage.read(name, offset, length) clips to the file as jsfReadFile does', async (t) => {
  const { runInEngine } = await import('../firmware/host/engine');
  const probes = [
    "require('Storage').write('f', 'abcdef')",
    "require('Storage').read('f', 2, 3)",
    "require('Storage').read('f', 4, 10)",
    "require('Storage').read('f', -3, 2)",
    "require('Storage').read('f', 9, 2)",
    "require('Storage').read('f', 1, 0)",
    "require('Storage').read('f', 1)",
    "typeof require('Storage').read('g', 0, 4)",
  ];
  const report = await runInEngine('', 'espruino', { library: true, probes });
  t.true(report.booted, report.error);
  t.deepEqual(report.values.slice(1), ['cde', 'ef', 'ab', '', 'bcdef', 'bcdef', 'undefined']);
});

import test from 'ava';
import { build as esbuild } from 'esbuild';
import { join } from 'node:path';
import { memoryBacking, openSimFlash, PowerCutError, type FlashBacking } from '../boards/host/flash';
import { jsAes } from '../modules/crypto/provider-core';
import { buildImage, ROOT } from '../firmware/host/build';
import { ON_DEMAND_OF, onDemandPlugin } from '../firmware/host/ondemand';
import { Asset } from '../firmware/device/core/assets';
import { loadParts } from '../firmware/device/core/code';
import { openStore, type StoreOptions } from '../modules/store/store';
import type { Store } from '../firmware/device/core/services';
import { assetsOf } from './helpers';

/**
 * The store's writer read on demand (asset 14, modules/store/write-code.ts): a Kaluma image's store
 * reads it from the assets at each commit and at its open. The store module bundled as a Kaluma
 * image bundles it (its stub replaced by core/code.ts `loadParts`) must write the same bytes as the
 * store with the writer linked, operation for operation, power cuts included.
 */

const SEAL = jsAes(new Uint8Array(16).map((_, i) => 200 - i));
const GEOMETRY = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };

type OpenStore = typeof openStore;

/** modules/store/store.ts bundled as a Kaluma image bundles it: the writer is read from `code`. */
async function onDemandStore(): Promise<OpenStore> {
  const result = await esbuild({
    stdin: { contents: 'export { openStore } from ' + JSON.stringify(join(ROOT, 'modules/store/store.ts')) + ';', resolveDir: ROOT, sourcefile: 'store-entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    plugins: [onDemandPlugin()],
  });
  const text = result.outputFiles[0]!.text;
  if (!text.includes('new Function(')) throw new Error('the bundle does not read the writer on demand');
  const module = (await import('data:text/javascript;base64,' + Buffer.from(text).toString('base64'))) as { openStore: OpenStore };
  return module.openStore;
}

/** A deterministic stream of operations: sets (plain and sealed, growing and shrinking), deletes, commits, purges. */
function* operations(seed: number, count: number): Generator<(store: Store) => void> {
  let x = seed;
  const next = (n: number): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  for (let i = 0; i < count; i++) {
    const key = 'k' + next(9);
    const value = new Uint8Array(1 + next(i % 7 === 0 ? 900 : 90)).map((_, j) => (j * 7 + i) & 255);
    const sealed = next(3) === 0;
    const kind = next(20);
    if (kind < 12) yield (s) => s.set(key, value, sealed);
    else if (kind < 16) yield (s) => s.delete(key);
    else if (kind < 19) {
      // Three changes of three keys (a commit names a key once).
      const other = 'k' + ((Number(key.slice(1)) + 1 + next(8)) % 9);
      const extra = 'c' + next(3);
      yield (s) => s.commit([{ key, value, sealed }, { key: other }, { key: extra, value: value.subarray(0, 8) }]);
    }
    else yield (s) => s.purge();
  }
}

test('asset 14 is the store\'s writer: a store reading it on demand writes the bytes the linked writer writes, operation for operation, and reads them back the same; it is read once for writes that come together, and again after the store is idle', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const entries = ON_DEMAND_OF.get(built.code)!;
  t.true(entries.some((e) => e.id === Asset.CODE_STORE_WRITER), 'asset 14 is written with the image');
  const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
  const writer = text(entries.find((e) => e.id === Asset.CODE_STORE_WRITER)!.bytes);
  t.true(writer.slice(0, writer.indexOf('*/')).includes('store: sector sequence numbers exhausted'), 'the writer\'s messages are in its asset');
  t.false(text(built.messages!).includes('store: sector sequence numbers exhausted'), 'the writer is out of the image (its messages not in the image\'s table)');
  const code = assetsOf(entries);
  const loaded = loadParts(code, Asset.CODE_STORE_WRITER) as { commit: unknown; packing: unknown };
  t.deepEqual(Object.keys(loaded).sort(), ['commit', 'packing']);
  const openOnDemand = await onDemandStore();
  let reads = 0;
  const counted = { find: code.find, read: (offset: number, length: number) => (reads++, code.read(offset, length)) };
  for (const seed of [1, 2, 3]) {
    const a = memoryBacking(12 * 4096);
    const b = memoryBacking(12 * 4096);
    const options = (extra: Partial<StoreOptions>): StoreOptions => ({ seal: SEAL, reserve: [{ key: 'kept', bytes: 16, sealed: true }], ...extra });
    let linked = openStore(openSimFlash(a, GEOMETRY), options({}));
    let onDemand = openOnDemand(openSimFlash(b, GEOMETRY), options({ code: counted }));
    let i = 0;
    for (const op of operations(seed, 160)) {
      const outcome = (s: Store): string => {
        try {
          op(s);
          return 'ok';
        } catch (error) {
          return (error as Error).message;
        }
      };
      t.is(outcome(onDemand), outcome(linked), 'seed ' + seed + ', operation ' + i);
      if (Buffer.compare(a.read(0, a.size), b.read(0, b.size)) !== 0) {
        t.fail('seed ' + seed + ', operation ' + i + ': the flashes differ');
        return;
      }
      // Now and then both are opened again (the open's capacity check reads the writer too).
      if (++i % 40 === 0) {
        linked = openStore(openSimFlash(a, GEOMETRY), options({}));
        onDemand = openOnDemand(openSimFlash(b, GEOMETRY), options({ code: counted }));
        t.deepEqual(onDemand.report, linked.report);
      }
    }
    t.deepEqual(onDemand.keys().sort(), linked.keys().sort());
    for (const key of linked.keys()) t.deepEqual(onDemand.get(key), linked.get(key), key);
  }
  t.true(reads > 0, 'the writer was read from the assets');
  // Kept between writes until the store is idle, then read again at the next write.
  const store = openOnDemand(openSimFlash(memoryBacking(12 * 4096), GEOMETRY), { seal: SEAL, code: counted });
  store.set('a', new Uint8Array(4));
  const first = reads;
  store.set('b', new Uint8Array(4), true);
  store.delete('a');
  t.is(reads, first, 'no read while the writer is kept');
  store.idle();
  store.set('c', new Uint8Array(4));
  t.true(reads > first, 'read again after idle');
});

test('a power cut at any write of a commit leaves the same flash with the writer read on demand as with it linked', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const code = assetsOf(ON_DEMAND_OF.get(built.code)!);
  const openOnDemand = await onDemandStore();
  const fill = (backing: FlashBacking, open: (flash: ReturnType<typeof openSimFlash>) => Store): void => {
    const s = open(openSimFlash(backing, GEOMETRY));
    for (const op of operations(7, 60)) {
      try {
        op(s);
      } catch {
        // A full store refuses: the next operation goes on.
      }
    }
  };
  const base = memoryBacking(12 * 4096);
  fill(base, (flash) => openStore(flash, { seal: SEAL }));
  let cuts = 0;
  for (let cut = 1; ; cut++) {
    const a = memoryBacking(base.size);
    const b = memoryBacking(base.size);
    a.store(0, base.read(0, base.size));
    b.store(0, base.read(0, base.size));
    const fa = openSimFlash(a, GEOMETRY);
    const fb = openSimFlash(b, GEOMETRY);
    const sa = openStore(fa, { seal: SEAL });
    const sb = openOnDemand(fb, { seal: SEAL, code });
    fa.cutAt(fa.operations + cut);
    fb.cutAt(fb.operations + cut);
    const big = new Uint8Array(2000).map((_, i) => i & 255);
    const run = (s: Store): boolean => {
      try {
        s.commit([{ key: 'k1', value: big, sealed: true }, { key: 'k2' }, { key: 'new', value: big.subarray(0, 100) }]);
        s.purge();
        return true;
      } catch (error) {
        if (!(error instanceof PowerCutError) && !/power/i.test((error as Error).message)) throw error;
        return false;
      }
    };
    const doneA = run(sa);
    const doneB = run(sb);
    t.is(doneB, doneA, 'cut ' + cut);
    t.is(Buffer.compare(a.read(0, a.size), b.read(0, b.size)), 0, 'cut ' + cut + ': the flashes differ');
    if (doneA) break;
    cuts++;
  }
  t.log('cut points: ' + cuts);
  t.true(cuts > 10, 'cut points: ' + cuts);
});

test('without asset 14 (a damaged assets partition) the store opens to read, reports why, and each write throws it: nothing stored is lost', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const entries = ON_DEMAND_OF.get(built.code)!;
  const withWriter = assetsOf(entries);
  const without = assetsOf(entries.filter((e) => e.id !== Asset.CODE_STORE_WRITER));
  const openOnDemand = await onDemandStore();
  const backing = memoryBacking(12 * 4096);
  const full = openOnDemand(openSimFlash(backing, GEOMETRY), { seal: SEAL, code: withWriter });
  full.set('plain', new Uint8Array([1, 2, 3]));
  full.set('sealed', new Uint8Array([4, 5]), true);
  const before = backing.read(0, backing.size);
  const store = openOnDemand(openSimFlash(backing, GEOMETRY), { seal: SEAL, code: without });
  t.is(store.report.skipped.length, 1);
  t.regex(store.report.skipped[0]!, /14/, 'the report names the missing asset: ' + store.report.skipped[0]);
  t.deepEqual(store.get('plain'), new Uint8Array([1, 2, 3]));
  t.deepEqual(store.get('sealed'), new Uint8Array([4, 5]));
  const refused = t.throws(() => store.set('plain', new Uint8Array([9])));
  t.is(refused?.message, store.report.skipped[0]);
  t.throws(() => store.delete('sealed'));
  t.throws(() => store.purge());
  t.is(Buffer.compare(backing.read(0, backing.size), before), 0, 'the flash is as it was');
  // The assets repaired (the image flashed again): the same store writes again.
  const again = openOnDemand(openSimFlash(backing, GEOMETRY), { seal: SEAL, code: withWriter });
  t.deepEqual(again.report.skipped, []);
  again.set('plain', new Uint8Array([9]));
  t.deepEqual(again.get('plain'), new Uint8Array([9]));
  t.deepEqual(again.get('sealed'), new Uint8Array([4, 5]));
});

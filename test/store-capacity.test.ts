import test from 'ava';
import { memoryBacking, openSimFlash, type FlashBacking, type Geometry } from '../boards/host/flash';
import { failureCode } from '../firmware/device/core/errors';
import type { Store, StoreReserve } from '../firmware/device/core/services';
import { jsAes } from '../modules/crypto/provider-core';
import { MAX_VALUE, SECTOR_HEADER, valueFootprint } from '../modules/store/format';
import { openStore, type StoreOptions } from '../modules/store/store';

/**
 * The capacity rule (docs/formats/store.md, "Capacity"): whatever the store accepts can always be
 * compacted, so a delete, an overwrite no larger than the value it replaces and a reserved key
 * within its reserve always succeed — also after a reopen with a smaller budget. Product keys can
 * be refused with `store-full`, never the kit's security state.
 */

const ESP32: Geometry = { eraseSize: 4096, writeSize: 4, erasedValue: 0xff };
const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const SEAL = jsAes(new Uint8Array(16).map((_, i) => i * 7 + 1));
const SECURITY: StoreReserve[] = [
  { key: 'hoshi.drbg', bytes: 32, sealed: true },
  { key: 'auth.lockout', bytes: 16, sealed: false },
  { key: 'ota.counter', bytes: 8, sealed: true },
];

function bytes(seed: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (seed * 131 + i * 29) & 255);
}

function isFull(error: unknown): boolean {
  return failureCode(error) === 'store-full';
}

/** Runs `write`; true if it was accepted, false if refused as full; anything else fails the test. */
function attempt(write: () => void): boolean {
  try {
    write();
    return true;
  } catch (error) {
    if (isFull(error)) return false;
    throw error;
  }
}

test('the nine values that once wedged a store: every accepted state still deletes, shrinks, overwrites and writes its reserved keys, also after a reopen', (t) => {
  const sizes = [269, 2018, 28, 2000, 303, 1911, 354, 2047, 1975];
  for (const reserve of [[], SECURITY]) {
    const backing = memoryBacking(16 * 4096);
    const options: StoreOptions = { seal: SEAL, reserve };
    const store = openStore(openSimFlash(backing, ESP32), options);
    const accepted: string[] = [];
    sizes.forEach((n, i) => {
      if (attempt(() => store.set('key' + i, bytes(i, n)))) accepted.push('key' + i);
    });
    t.true(accepted.length >= 4, accepted.join(','));
    t.log(`${reserve.length ? 'with' : 'without'} reserves: ${accepted.length} of 9 accepted (${accepted.join(', ')})`);
    for (const budget of [4, 2]) {
      // Each operation on its own copy of the region, reopened with this budget.
      const fresh = (): Store => {
        const copy = memoryBacking(backing.size);
        copy.store(0, backing.read(0, backing.size));
        return openStore(openSimFlash(copy, ESP32), { ...options, generationSectors: budget });
      };
      for (const key of accepted) {
        t.notThrows(() => fresh().delete(key), `delete ${key}, budget ${budget}`);
        t.notThrows(() => fresh().set(key, bytes(7, 1)), `overwrite ${key} with 1 byte, budget ${budget}`);
        const size = fresh().get(key)!.length;
        t.notThrows(() => fresh().set(key, bytes(8, size)), `same-size overwrite of ${key}, budget ${budget}`);
      }
      for (const r of reserve) t.notThrows(() => fresh().set(r.key, bytes(9, r.bytes), r.sealed), `reserved ${r.key}, budget ${budget}`);
    }
  }
});

interface Model {
  [key: string]: { value: string; sealed: boolean };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * Random walks over the store: growth that may be refused, and the changes that must never be —
 * deletes, overwrites no larger, reserved keys — checked at every step, with reopens (some with a
 * smaller budget) and the contents compared with a model.
 */
function walk(geometry: Geometry, sectors: number, walks: number, seed: number): { refusedGrowth: number; mustSucceed: number; reopens: number; maxLive: number } {
  let s = seed >>> 0;
  const random = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const stats = { refusedGrowth: 0, mustSucceed: 0, reopens: 0, maxLive: 0 };
  for (let w = 0; w < walks; w++) {
    const backing: FlashBacking = memoryBacking(sectors * 4096);
    const budget = 2 + random(3);
    const reserve = random(2) ? SECURITY : [];
    let options: StoreOptions = { seal: SEAL, generationSectors: budget, reserve };
    let store = openStore(openSimFlash(backing, geometry), options);
    const model: Model = {};
    const keys = 'abcdefghijklmnop'.split('').concat(['relay.schedule', 'product.log']);
    for (let step = 0; step < 40; step++) {
      const live = Object.keys(model).filter((k) => !reserve.some((r) => r.key === k));
      const op = random(20);
      if (op < 12 || live.length === 0) {
        // Growth: a new key or a larger value; may be refused.
        const key = keys[random(keys.length)]!;
        const sealed = random(3) === 0;
        const value = bytes(w * 100 + step, 1 + random(random(2) === 0 ? MAX_VALUE : 800));
        if (attempt(() => store.set(key, value, sealed))) model[key] = { value: hex(value), sealed };
        else stats.refusedGrowth++;
      } else if (op < 14) {
        const key = live[random(live.length)]!;
        store.delete(key);
        delete model[key];
        stats.mustSucceed++;
      } else if (op < 17) {
        // Same size or smaller, sealed as before (sealing adds 22 bytes).
        const key = live[random(live.length)]!;
        const old = model[key]!;
        const value = bytes(w * 100 + step + 50, random(2) ? old.value.length / 2 : 1 + random(old.value.length / 2));
        store.set(key, value, old.sealed);
        model[key] = { value: hex(value), sealed: old.sealed };
        stats.mustSucceed++;
      } else if (op < 19 && reserve.length) {
        const r = reserve[random(reserve.length)]!;
        const value = bytes(w * 100 + step + 70, 1 + random(r.bytes));
        store.set(r.key, value, r.sealed);
        model[r.key] = { value: hex(value), sealed: r.sealed };
        stats.mustSucceed++;
      } else if (op === 19) {
        // Reopen, sometimes with a smaller budget than the state was written with.
        options = { ...options, generationSectors: 2 + random(Math.floor(sectors / 2) - 1) };
        store = openStore(openSimFlash(backing, geometry), options);
        stats.reopens++;
        for (const [key, v] of Object.entries(model)) {
          const r = store.read(key);
          if (!r.ok || hex(r.value) !== v.value) throw new Error(`walk ${w} step ${step}: "${key}" is ${JSON.stringify(r)}`);
        }
        if (store.keys().length !== Object.keys(model).length) throw new Error(`walk ${w} step ${step}: keys ${store.keys().join(',')}`);
      }
      stats.maxLive = Math.max(stats.maxLive, store.liveBytes());
    }
  }
  return stats;
}

for (const [name, geometry, sectors] of [['ESP32 geometry, 16 sectors', ESP32, 16], ['Kaluma geometry, 8 sectors', KALUMA, 8]] as const) {
  test(`random walks, ${name}: deletes, overwrites no larger and reserved keys are never refused`, (t) => {
    const stats = walk(geometry, sectors, 1500, sectors * 7919);
    t.true(stats.refusedGrowth > 2000, JSON.stringify(stats));
    t.true(stats.mustSucceed > 15000, JSON.stringify(stats));
    t.log(`${stats.mustSucceed} deletes, overwrites and reserved writes all accepted; ${stats.refusedGrowth} growths refused; ${stats.reopens} reopens`);
  });
}

test('product keys cannot take the reserved room: with the store full of product values, the security keys are written at their largest', (t) => {
  const backing = memoryBacking(8 * 4096);
  const options: StoreOptions = { seal: SEAL, reserve: SECURITY };
  const store = openStore(openSimFlash(backing, KALUMA), options);
  let i = 0;
  while (attempt(() => store.set('p' + i, bytes(i, 100 + (i % 7) * 50)))) i++;
  t.true(i > 10);
  // Small values still find room until the rule refuses them too.
  while (attempt(() => store.set('q' + i, bytes(i, 1)))) i++;
  for (const r of SECURITY) store.set(r.key, bytes(1, r.bytes), r.sealed);
  for (let k = 0; k < 200; k++) for (const r of SECURITY) store.set(r.key, bytes(k, r.bytes), r.sealed);
  // A reserved key written beyond its reserve is growth like any other.
  t.false(attempt(() => store.set('auth.lockout', bytes(2, 1500))));
  const again = openStore(openSimFlash(backing, KALUMA), options);
  for (const r of SECURITY) t.deepEqual(again.get(r.key), bytes(199, r.bytes));
  t.deepEqual(again.report.skipped, []);
});

test('the rule is exact: a value the rule accepts fits, the byte after it does not, and the refusal writes nothing', (t) => {
  const backing = memoryBacking(8 * 4096);
  const flash = openSimFlash(backing, ESP32);
  const store = openStore(flash, { generationSectors: 3 });
  // Two sectors of payload for the snapshot (budget 3, one sector kept for the log): two values of
  // the largest size fit one sector each, the commit record goes with the second.
  store.set('x', bytes(1, MAX_VALUE));
  store.set('y', bytes(2, MAX_VALUE));
  const payload = 4096 - SECTOR_HEADER;
  const left = payload - valueFootprint('x', MAX_VALUE, false) - 20 /* COMMIT record */;
  let largest = 0;
  while (valueFootprint('z', largest + 1, false) <= left) largest++;
  t.true(largest > 1900);
  const before = flash.operations;
  t.false(attempt(() => store.set('z', bytes(3, largest + 1))));
  t.is(flash.operations, before);
  store.set('z', bytes(3, largest));
  for (let k = 0; k < 50; k++) store.set('z', bytes(k, largest));
  const again = openStore(openSimFlash(backing, ESP32), { generationSectors: 3 });
  t.deepEqual(again.get('z'), bytes(49, largest));
  t.is(again.keys().length, 3);
});

test('reserves are checked: twice the same key, too large, or more than the region can hold are programming errors', (t) => {
  const flash = () => openSimFlash(memoryBacking(8 * 4096), ESP32);
  t.throws(() => openStore(flash(), { reserve: [{ key: 'a', bytes: 1, sealed: false }, { key: 'a', bytes: 2, sealed: false }] }), { message: /reserved twice/ });
  t.throws(() => openStore(flash(), { reserve: [{ key: 'a', bytes: MAX_VALUE + 1, sealed: false }] }), { message: /0\.\.2048/ });
  const many = Array.from({ length: 8 }, (_, i) => ({ key: 'r' + i, bytes: MAX_VALUE, sealed: false }));
  t.throws(() => openStore(flash(), { reserve: many }), { message: /reserves alone/ });
});

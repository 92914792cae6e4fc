import test from 'ava';
import { memoryBacking, openSimFlash, PowerCutError, type FlashBacking, type Geometry } from '../boards/host/flash';
import { jsAes } from '../modules/crypto/provider-core';
import { crc32 } from '../firmware/device/core/crc32';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import { bundleFixture } from './helpers';
import { openStore, type StoreOptions } from '../modules/store/store';
import { MAX_VALUE, recordSize, TYPE_SET } from '../modules/store/format';

const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const ESP32: Geometry = { eraseSize: 4096, writeSize: 4, erasedValue: 0xff };
const SEAL = jsAes(new Uint8Array(16).map((_, i) => 200 - i));
const OTHER_DEVICE = jsAes(new Uint8Array(16).map((_, i) => 201 - i));

function bytes(seed: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (seed * 131 + i * 29 + (i >> 3)) & 255);
}

function open(backing: FlashBacking, options: StoreOptions = { seal: SEAL }, geometry = KALUMA) {
  return openStore(openSimFlash(backing, geometry), options);
}

test('set, get, delete and commit survive reopening; keys() lists the live ones', (t) => {
  const backing = memoryBacking(8 * 4096);
  const store = open(backing);
  t.deepEqual(store.report, { generation: 0, sectors: 0, keys: 0, budget: 4, skipped: [] });
  store.set('relay.state', new Uint8Array([1]));
  store.set('admin.pin', bytes(1, 32), true);
  store.set('gone', bytes(2, 8));
  store.delete('gone');
  store.delete('never-there');
  store.commit([{ key: 'fw.version', value: bytes(3, 8) }, { key: 'fw.counter', value: bytes(4, 4), sealed: true }, { key: 'relay.state' }]);
  const again = open(backing);
  t.deepEqual(again.keys().sort(), ['admin.pin', 'fw.counter', 'fw.version']);
  t.deepEqual(again.get('admin.pin'), bytes(1, 32));
  t.deepEqual(again.get('fw.counter'), bytes(4, 4));
  t.is(again.get('gone'), undefined);
  t.deepEqual(again.read('relay.state'), { ok: false, reason: 'absent' });
  t.is(again.report.keys, 3);
  t.deepEqual(again.report.skipped, []);
  t.is(again.liveBytes(), recordSize(9, 32 + 22) + recordSize(10, 8) + recordSize(10, 4 + 22));
});

test('keys and values outside the limits are refused before anything is written', (t) => {
  const backing = memoryBacking(8 * 4096);
  const flash = openSimFlash(backing, KALUMA);
  const store = openStore(flash, { seal: SEAL });
  t.throws(() => store.set('', new Uint8Array(1)), { message: /key must be 1\.\.48/ });
  t.throws(() => store.set('x'.repeat(49), new Uint8Array(1)), { message: /key must be 1\.\.48/ });
  t.throws(() => store.set('with space', new Uint8Array(1)), { message: /printable ASCII/ });
  t.throws(() => store.set('k', new Uint8Array(MAX_VALUE + 1)), { message: /at most 2048/ });
  t.throws(() => store.set('k', [1, 2] as unknown as Uint8Array), { message: /Uint8Array/ });
  t.throws(() => store.commit([{ key: 'a', value: new Uint8Array(1) }, { key: 'a' }]), { message: /twice/ });
  t.throws(() => openStore(openSimFlash(backing, KALUMA)).set('s', new Uint8Array(1), true), { message: /without a seal key/ });
  t.is(flash.operations, 0);
});

test('a full store refuses the write that would not fit, and keeps everything else', (t) => {
  const backing = memoryBacking(4 * 4096);
  const store = open(backing, { seal: SEAL, generationSectors: 2 });
  store.set('a', bytes(1, 2000));
  store.set('b', bytes(2, 2000));
  t.throws(() => store.set('c', bytes(2, 100)), { code: 'store-full' } as never);
  store.set('a', bytes(3, 2000));
  const again = open(backing, { seal: SEAL, generationSectors: 2 });
  t.deepEqual(again.get('a'), bytes(3, 2000));
  t.deepEqual(again.get('b'), bytes(2, 2000));
  t.is(again.get('c'), undefined);
});

test('wear moves round the whole region; open() reads one generation of at most 4 sectors', (t) => {
  for (const geometry of [KALUMA, ESP32]) {
    const backing = memoryBacking(16 * 4096);
    const flash = openSimFlash(backing, geometry);
    const erases = new Array(16).fill(0);
    const erase = flash.erase.bind(flash);
    flash.erase = (offset: number, length: number) => {
      erases[offset / 4096]++;
      erase(offset, length);
    };
    const store = openStore(flash, { seal: SEAL });
    for (let i = 0; i < 5000; i++) store.set('counter' + (i % 5), bytes(i, 32), i % 2 === 0);
    const min = Math.min(...erases);
    const max = Math.max(...erases);
    t.true(min > 0 && max - min <= 1, `erases per sector ${erases.join(',')}`);
    t.is(store.keys().length, 5);
    const again = openStore(openSimFlash(backing, geometry), { seal: SEAL });
    t.true(again.report.sectors <= 4);
    for (let k = 0; k < 5; k++) t.deepEqual(again.get('counter' + k), bytes(4995 + k, 32));
  }
});

/** Offset in `backing` of the SET record for `key` that `store` currently returns. */
function locate(backing: FlashBacking, key: string, size: number): number[] {
  const all = backing.read(0, backing.size);
  const found: number[] = [];
  for (let at = 0; at + 8 + key.length <= all.length; at += 4) {
    if (all[at] !== TYPE_SET || all[at + 2] !== key.length) continue;
    if (Buffer.from(all.subarray(at + 8, at + 8 + key.length)).toString('latin1') !== key) continue;
    if (recordSize(key.length, all[at + 4]! | (all[at + 5]! << 8)) === size) found.push(at);
  }
  return found;
}

test('a sealed value opens only with its own device key and under its own key name', (t) => {
  const backing = memoryBacking(8 * 4096);
  const store = open(backing);
  store.set('pin', bytes(5, 32), true);
  store.set('pan', bytes(6, 32), true);
  t.deepEqual(open(backing, { seal: OTHER_DEVICE }).read('pin'), { ok: false, reason: 'not-authentic' });
  t.deepEqual(open(backing, {}).read('pin'), { ok: false, reason: 'no-seal-key' });
  // The plaintext is nowhere in the flash.
  const image = Buffer.from(backing.read(0, backing.size));
  t.is(image.indexOf(Buffer.from(bytes(5, 32))), -1);
  // Rename the record of "pan" to "pin" with a correct CRC: the CCM tag still refuses it.
  const size = recordSize(3, 32 + 22);
  const [at] = locate(backing, 'pan', size);
  const record = backing.read(at!, size);
  record[9] = 'i'.charCodeAt(0);
  const crc = crc32(record, 0, size - 8);
  record.set([crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24], size - 8);
  backing.store(at!, record);
  const swapped = open(backing);
  t.deepEqual(swapped.read('pin'), { ok: false, reason: 'not-authentic' });
  t.is(swapped.get('pan'), undefined);
});

test('bit flips: after thousands of random corruptions open() never throws and no corrupted value is returned', (t) => {
  const backing = memoryBacking(8 * 4096);
  const options = { seal: SEAL, generationSectors: 4 };
  const store = open(backing, options);
  const history = new Map<string, Set<string>>();
  const keys = ['a', 'b', 'pin', 'schedule', 'counter', 'fw.version'];
  for (let i = 0; i < 400; i++) {
    const key = keys[i % keys.length]!;
    const value = bytes(i, 1 + ((i * 37) % 120));
    store.set(key, value, i % 3 === 0);
    if (!history.has(key)) history.set(key, new Set());
    history.get(key)!.add(Buffer.from(value).toString('hex'));
  }
  store.commit([{ key: 'a', value: bytes(999, 16) }, { key: 'b', value: bytes(998, 16), sealed: true }]);
  history.get('a')!.add(Buffer.from(bytes(999, 16)).toString('hex'));
  history.get('b')!.add(Buffer.from(bytes(998, 16)).toString('hex'));
  const image = backing.read(0, backing.size);
  let seed = 7;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  let returned = 0;
  let refused = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const copy = memoryBacking(image.length);
    copy.store(0, image);
    const damaged = copy.read(0, image.length);
    const flips = 1 + random(8);
    for (let f = 0; f < flips; f++) {
      const at = random(image.length);
      if (random(2) === 0) damaged[at]! ^= 1 << random(8);
      else damaged[at] = random(256);
    }
    copy.store(0, damaged);
    let reopened;
    try {
      reopened = open(copy, options);
    } catch (error) {
      t.fail(`trial ${trial}: open() threw ${String(error)}`);
      continue;
    }
    for (const key of keys) {
      const r = reopened.read(key);
      if (r.ok) {
        returned++;
        if (!history.get(key)!.has(Buffer.from(r.value).toString('hex'))) t.fail(`trial ${trial}: "${key}" returned a value never written`);
      } else if (r.reason !== 'absent') refused++;
    }
    // The damaged store still takes writes and keeps them.
    reopened.set('after', bytes(trial, 24));
    t.deepEqual(open(copy, options).get('after'), bytes(trial, 24), `trial ${trial}`);
  }
  t.true(returned > 10000 && refused > 0, `${returned} values returned, ${refused} refused as corrupt`);
  t.log(`${returned} values returned intact, ${refused} refused as corrupt or not authentic`);
});

/**
 * True if any byte of the record written with `nonce` reached the flash: the record lies at the
 * nonce's offset in the sector whose header carries the nonce's sequence number.
 */
function programmed(backing: FlashBacking, nonce: Uint8Array): boolean {
  const seq = nonce[0]! | (nonce[1]! << 8) | (nonce[2]! << 16) | (nonce[3]! << 24);
  const offset = nonce[4]! | (nonce[5]! << 8);
  for (let s = 0; s < backing.size / 4096; s++) {
    const h = backing.read(s * 4096, 20);
    if (h[0] !== 0x48 || (h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24)) !== seq) continue;
    return backing.read(s * 4096 + offset, 4096 - offset).some((b) => b !== 0xff);
  }
  return false;
}

test('nonces: 10,000 sealed writes with reboots and power cuts never put two records under one nonce', (t) => {
  for (const [geometry, start] of [[KALUMA, 99], [ESP32, 7777]] as const) {
    const backing = memoryBacking(8 * 4096);
    // A nonce is used once any byte of its record reaches the flash. A write cut before it
    // programmed anything leaves no ciphertext: its position, and so its nonce, is still free.
    const uses = new Map<string, number>();
    let last: Uint8Array | undefined;
    let writes = 0;
    const options: StoreOptions = {
      seal: SEAL,
      generationSectors: 4,
      onNonce: (nonce) => {
        const h = Buffer.from(nonce).toString('hex');
        uses.set(h, (uses.get(h) ?? 0) + 1);
        last = nonce;
        writes++;
      },
    };
    let flash = openSimFlash(backing, geometry);
    let store = openStore(flash, options);
    let cuts = 0;
    // Each geometry its own sequence of writes and cuts.
    let seed: number = start;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 22695477) + 1) >>> 0;
      return (seed >>> 10) % n;
    };
    while (writes < 10000) {
      if (random(50) === 0) flash.cutAt(flash.operations + 1 + random(5), random(2) ? { scramble: writes } : undefined);
      try {
        if (random(4) === 0) store.commit([{ key: 'k' + random(4), value: bytes(writes, 40), sealed: true }, { key: 'j' + random(4), value: bytes(writes + 1, 8), sealed: true }]);
        else store.set('k' + random(6), bytes(writes, 1 + random(64)), true);
      } catch (error) {
        if (!(error instanceof PowerCutError)) throw error;
        cuts++;
        if (last && !programmed(backing, last)) {
          const h = Buffer.from(last).toString('hex');
          uses.set(h, uses.get(h)! - 1);
        }
        flash = openSimFlash(backing, geometry);
        store = openStore(flash, options);
      }
      last = undefined;
      if (random(100) === 0) {
        flash = openSimFlash(backing, geometry);
        store = openStore(flash, options);
      }
    }
    const repeated = [...uses].filter(([, n]) => n > 1);
    t.deepEqual(repeated, []);
    t.true(cuts > 100);
    t.log(`${writes} sealed writes, ${cuts} power cuts, ${uses.size} distinct nonces`);
  }
});

test('a sector header that cannot be read moves the sequence on, so nonces stay unique even if it was the newest', (t) => {
  const backing = memoryBacking(8 * 4096);
  const seen: string[] = [];
  const options: StoreOptions = { seal: SEAL, onNonce: (n) => seen.push(Buffer.from(n).toString('hex')) };
  const store = open(backing, options);
  for (let i = 0; i < 200; i++) store.set('k', bytes(i, 32), true);
  // Corrupt the header of the newest sector: its records are lost, its sequence number unknown.
  let newest = 0;
  let best = 0;
  for (let s = 0; s < 8; s++) {
    const h = backing.read(s * 4096, 20);
    const seq = h[8]! | (h[9]! << 8) | (h[10]! << 16);
    if (h[0] === 0x48 && seq > best) {
      best = seq;
      newest = s;
    }
  }
  const h = backing.read(newest * 4096, 20);
  h[9]! ^= 0x10;
  backing.store(newest * 4096, h);
  const reopened = open(backing, options);
  t.true(reopened.report.skipped.some((s) => /unreadable sector header/.test(s)), reopened.report.skipped.join('; '));
  for (let i = 0; i < 200; i++) reopened.set('k', bytes(i, 32), true);
  t.is(new Set(seen).size, seen.length);
});

for (const [target, fixture] of [['kaluma', 'store-kaluma.ts'], ['espruino', 'store-espruino.ts']] as const) {
  test(`${target}: the store, the keys and the unit's DRBG pass the profile check and run on the board binding's flash and crypto in the engine check`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const report = await runInEngine(code, target, { library: true, timeoutMs: 600000, probes: ["__store('write')", "__store('reopen')", "__store('random')"] });
    t.true(report.booted, report.error);
    t.deepEqual(JSON.parse(report.values[0] as string), { ok: 4 });
    t.deepEqual(JSON.parse(report.values[1] as string), { ok: [199, [1, 2, 3, 4], 9, 8, 0] });
    // The unit's DRBG with the board's own crypto and entropy: two boots, two different outputs.
    const random = JSON.parse(report.values[2] as string).ok as number[][];
    t.is(random.length, 2, JSON.stringify(report.values[2]));
    t.is(random[0]!.length, 8);
    t.notDeepEqual(random[0], random[1]);
    t.deepEqual(report.missing, []);
  });
}

test('reopened with a smaller generation budget than it was written with, the store compacts and keeps everything', (t) => {
  const backing = memoryBacking(8 * 4096);
  const wide = open(backing, { seal: SEAL, generationSectors: 4 });
  let i = 0;
  // Write until the generation spans 3 sectors: more than the narrower budget allows.
  for (; i < 1000 && !(i % 6 === 0 && open(backing, { seal: SEAL, generationSectors: 4 }).report.sectors >= 3); i++) wide.set('k' + (i % 6), bytes(i, 60), i % 2 === 0);
  t.true(i < 1000);
  const narrow = open(backing, { seal: SEAL, generationSectors: 2 });
  for (let end = i + 160; i < end; i++) narrow.set('k' + (i % 6), bytes(i, 60), i % 2 === 0);
  const again = open(backing, { seal: SEAL, generationSectors: 2 });
  t.true(again.report.sectors <= 2);
  for (let j = i - 6; j < i; j++) t.deepEqual(again.get('k' + (j % 6)), bytes(j, 60));
});

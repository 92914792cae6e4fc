import test from 'ava';
import { memoryBacking, openSimFlash, PowerCutError, type CutOptions, type FlashBacking, type Geometry } from '../boards/host/flash';
import { crc32 } from '../firmware/device/core/crc32';
import {
  appOf,
  assetsOf,
  Boot,
  decodeBootRecord,
  encodeBootRecord,
  factoryRecord,
  readBootRecord,
  Reason,
  runningSlot,
  SlotState,
  UPDATE_REASONS,
  writeBootRecord,
  type BootRecord,
} from '../firmware/device/core/bootctl';
import { partition } from '../hal/flash';

/**
 * The boot control record (docs/formats/update.md §5): its bytes, its CRC, hostile stored bytes
 * (never a throw: the other half or the factory default), and the ping-pong write under a power
 * cut at every flash operation (the previous record or the new one, never none).
 */

const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const ESP32: Geometry = { eraseSize: 4096, writeSize: 4, erasedValue: 0xff };
const CUTS: (CutOptions | undefined)[] = [undefined, { tearWords: 1 }, { tearWords: 40 }, { scramble: 1 }, { scramble: 7 }];

function sample(): BootRecord {
  const r = factoryRecord();
  r.active = 1;
  r.trial = 0;
  r.tries = 2;
  r.floor = 0xfffffffe;
  r.slots[0] = { state: SlotState.TRIAL, reason: 22, version: [1, 65535, 3], counter: 7, size: 123456, app: 99999, received: 123456, digest: new Uint8Array(32).map((_, i) => i + 1), kid: new Uint8Array(8).map((_, i) => 0xa0 + i) };
  r.slots[1] = { state: SlotState.GOOD, reason: 0, version: [0, 9, 0], counter: 6, size: 1000, app: 500, received: 1000, digest: new Uint8Array(32).fill(0xee), kid: new Uint8Array(8) };
  r.keys = [
    { kid: new Uint8Array(8).fill(1), key: new Uint8Array(32).fill(2) },
    { kid: new Uint8Array(8).fill(3), key: new Uint8Array(32).fill(4) },
  ];
  r.retired = [new Uint8Array(8).fill(5)];
  return r;
}

function bootctl(geometry = KALUMA): { backing: FlashBacking; open: () => ReturnType<typeof openSimFlash> } {
  const backing = memoryBacking(2 * 4096);
  return { backing, open: () => openSimFlash(backing, geometry) };
}

test('UPDATE_REASONS: "" then the 24 codes of §6 in order', (t) => {
  t.is(UPDATE_REASONS.length, 25);
  t.is(UPDATE_REASONS[0], '');
  t.is(UPDATE_REASONS[1], 'package-truncated');
  t.is(UPDATE_REASONS[22], 'not-confirmed');
  t.is(UPDATE_REASONS[23], 'trial-crashed');
  t.is(UPDATE_REASONS[24], 'key-rotation-refused');
  t.is(new Set(UPDATE_REASONS).size, 25);
});

test('encode: the byte layout of §5', (t) => {
  const r = sample();
  r.seq = 0x01020304;
  const b = encodeBootRecord(r);
  t.is(b.length, 512);
  t.deepEqual([...b.subarray(0, 4)], [0x48, 0x42, 0x43, 0x31]);
  t.deepEqual([...b.subarray(4, 8)], [4, 3, 2, 1]);
  t.deepEqual([b[8], b[9], b[10], b[11]], [1, 0, 2, 0]);
  t.deepEqual([...b.subarray(12, 16)], [0xfe, 0xff, 0xff, 0xff]);
  // Slot A at 16: state, reason, version u16 ×3, counter, size, app, received, digest, kid.
  t.deepEqual([...b.subarray(16, 24)], [5, 22, 1, 0, 0xff, 0xff, 3, 0]);
  t.deepEqual([...b.subarray(24, 28)], [7, 0, 0, 0]);
  t.deepEqual([...b.subarray(28, 32)], [0x40, 0xe2, 0x01, 0]);
  t.deepEqual([...b.subarray(32, 36)], [0x9f, 0x86, 0x01, 0]);
  t.is(b[40], 1);
  t.is(b[72], 0xa0);
  t.is(b[80], 6, 'slot B starts at 80');
  t.deepEqual([b[144], b[145], b[146], b[147]], [2, 1, 0, 0]);
  t.is(b[148], 1);
  t.is(b[156], 2);
  t.is(b[188], 3);
  t.is(b[228], 0, 'unused key entries are 00');
  t.is(b[308], 5);
  t.is(b[316], 0, 'unused retired kids are 00');
  const crc = crc32(b, 0, 372);
  t.deepEqual([...b.subarray(372, 376)], [crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24]);
  t.true(b.subarray(376).every((x) => x === 0xff));
});

test('decode(encode(r)) is r; the factory default round-trips too', (t) => {
  const r = sample();
  r.seq = 41;
  t.deepEqual(decodeBootRecord(encodeBootRecord(r)), r);
  const f = factoryRecord();
  t.deepEqual(decodeBootRecord(encodeBootRecord(f)), f);
  t.is(f.active, 0);
  t.is(f.trial, Boot.NO_TRIAL);
  t.is(f.slots[0]!.state, SlotState.GOOD);
  t.is(f.slots[1]!.state, SlotState.EMPTY);
  t.is(f.floor, 0);
});

test('encode: values out of their fields throw, naming the field', (t) => {
  const bad: [string, (r: BootRecord) => void][] = [
    ['active', (r) => (r.active = 2)],
    ['trial', (r) => (r.trial = 3)],
    ['tries', (r) => (r.tries = 256)],
    ['slot state', (r) => (r.slots[0]!.state = 8)],
    ['slot reason', (r) => (r.slots[0]!.reason = UPDATE_REASONS.length)],
    ['slot version', (r) => (r.slots[1]!.version = [65536, 0, 0])],
    ['slot digest', (r) => (r.slots[1]!.digest = new Uint8Array(31))],
    ['slot kid', (r) => (r.slots[1]!.kid = new Uint8Array(9))],
    ['keys', (r) => (r.keys = Array.from({ length: 5 }, () => ({ kid: new Uint8Array(8), key: new Uint8Array(32) })))],
    ['retired', (r) => (r.retired = Array.from({ length: 9 }, () => new Uint8Array(8)))],
    ['key', (r) => (r.keys[0]!.key = new Uint8Array(31))],
  ];
  for (const [field, change] of bad) {
    const r = sample();
    change(r);
    t.throws(() => encodeBootRecord(r), { instanceOf: RangeError, message: new RegExp(field) }, field);
  }
});

test('decode: a CRC mismatch, a wrong magic, a short buffer or a field no writer produces is refused', (t) => {
  const good = encodeBootRecord(sample());
  t.truthy(decodeBootRecord(good));
  t.is(decodeBootRecord(good.subarray(0, 375)), undefined);
  t.truthy(decodeBootRecord(good.subarray(0, 376)), 'the FF tail is not needed');
  const resealed = (change: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    change(b);
    const crc = crc32(b, 0, 372);
    b.set([crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24], 372);
    return b;
  };
  t.truthy(decodeBootRecord(resealed(() => undefined)));
  for (const [what, change] of [
    ['magic', (b: Uint8Array) => (b[3] = 0x32)],
    ['active', (b: Uint8Array) => (b[8] = 2)],
    ['trial', (b: Uint8Array) => (b[9] = 2)],
    ['reserved 11', (b: Uint8Array) => (b[11] = 1)],
    ['state', (b: Uint8Array) => (b[16] = 8)],
    ['reason', (b: Uint8Array) => (b[81] = 25)],
    ['key count', (b: Uint8Array) => (b[144] = 5)],
    ['retired count', (b: Uint8Array) => (b[145] = 9)],
    ['reserved 146', (b: Uint8Array) => (b[147] = 1)],
  ] as const) {
    t.is(decodeBootRecord(resealed(change)), undefined, what);
  }
});

test('hostile stored bytes: every byte of the current record flipped, every truncation, never throws', (t) => {
  const { open } = bootctl();
  const flash = open();
  const first = sample();
  writeBootRecord(flash, first);
  const second = sample();
  second.floor = 12;
  writeBootRecord(flash, second);
  t.is(second.seq, 2);
  const stored = flash.read(4096, 512);
  t.is(readBootRecord(flash).floor, 12);
  // The current record is in the second half; flip each of its bytes in turn.
  for (let i = 0; i < 512; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bytes = stored.slice();
      bytes[i]! ^= mask;
      const backing = memoryBacking(8192);
      backing.store(0, flash.read(0, 4096));
      backing.store(4096, bytes);
      const r = readBootRecord(openSimFlash(backing, KALUMA));
      if (i < 376) t.is(r.seq, 1, 'byte ' + i + ' ^ ' + mask + ': the other half');
      else t.is(r.seq, 2, 'byte ' + i + ' is past the record');
    }
  }
  // Truncated records (the rest erased), in both halves: the factory default.
  for (let n = 0; n < 512; n += 7) {
    const backing = memoryBacking(8192);
    backing.store(0, stored.subarray(0, n));
    backing.store(4096, stored.subarray(0, Math.max(0, n - 3)));
    const r = readBootRecord(openSimFlash(backing, KALUMA));
    t.is(r.seq, n >= 376 ? 2 : 0, 'truncated at ' + n);
  }
  // Random junk in both halves.
  let seed = 1;
  const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let k = 0; k < 200; k++) {
    const backing = memoryBacking(8192);
    backing.store(0, new Uint8Array(8192).map(random));
    t.deepEqual(readBootRecord(openSimFlash(backing, KALUMA)), factoryRecord());
  }
  t.deepEqual(readBootRecord(openSimFlash(memoryBacking(8192), KALUMA)), factoryRecord(), 'erased: the factory default');
  t.deepEqual(readBootRecord(openSimFlash(memoryBacking(8192, 0), KALUMA)), factoryRecord(), 'zeros: the factory default');
});

test('write: seq + 1 into the half not holding the current record, alternating; the highest valid seq wins', (t) => {
  const { open } = bootctl();
  const flash = open();
  const r = factoryRecord();
  t.is(r.seq, 0);
  for (let n = 1; n <= 6; n++) {
    r.floor = n * 10;
    const before = flash.operations;
    writeBootRecord(flash, r);
    t.is(r.seq, n);
    t.is(flash.operations - before, 2, 'one erase, one write of 512 bytes');
    const half = (n - 1) % 2;
    t.is(decodeBootRecord(flash.read(half * 4096, 512))!.seq, n, 'record ' + n + ' in half ' + half);
    const got = readBootRecord(flash);
    t.is(got.seq, n);
    t.is(got.floor, n * 10);
  }
  const esp = bootctl(ESP32).open();
  writeBootRecord(esp, factoryRecord());
  t.is(esp.operations, 2);
  t.is(readBootRecord(esp).seq, 1);
});

test('write: a power cut at every operation (dropped, torn, scrambled) leaves the previous record or the new one', (t) => {
  const geometries = [KALUMA, ESP32];
  let cases = 0;
  for (const geometry of geometries) {
    for (const cut of CUTS) {
      for (const writes of [1, 2, 3]) {
        for (let at = 1; ; at++) {
          const { backing, open } = bootctl(geometry);
          let flash = open();
          const records: BootRecord[] = [];
          for (let i = 0; i < writes - 1; i++) {
            const r = sample();
            r.floor = i + 100;
            writeBootRecord(flash, r);
            records.push(r);
          }
          const next = sample();
          next.floor = 999;
          const base = flash.operations;
          flash.cutAt(base + at, cut);
          let done = false;
          try {
            writeBootRecord(flash, next);
            done = true;
          } catch (error) {
            t.true(error instanceof PowerCutError);
          }
          flash = openSimFlash(backing, geometry);
          const got = readBootRecord(flash);
          const previous = records.length ? records[records.length - 1]!.floor : 0;
          const label = JSON.stringify({ geometry: geometry.writeSize, cut, writes, at });
          if (done) t.is(got.floor, 999, label);
          else t.true(got.floor === previous || got.floor === 999, label + ': got floor ' + got.floor);
          if (!done && got.floor === previous) t.is(got.seq, records.length ? records.length : 0, label);
          // The device takes new records after the cut.
          const after = sample();
          after.floor = 4242;
          writeBootRecord(flash, after);
          t.is(readBootRecord(flash).floor, 4242, label);
          cases++;
          if (done) break;
        }
      }
    }
  }
  t.true(cases > 30);
});

test('runningSlot: the trial slot while set, else the active one', (t) => {
  const r = factoryRecord();
  t.is(runningSlot(r), 0);
  r.active = 1;
  t.is(runningSlot(r), 1);
  r.trial = 0;
  t.is(runningSlot(r), 0);
});

function slotWith(app: number, container?: Uint8Array): { slot: ReturnType<typeof openSimFlash>; size: number } {
  const backing = memoryBacking(16 * 4096);
  const slot = openSimFlash(backing, KALUMA);
  const payload = new Uint8Array(Math.ceil((app + 1) / 4096) * 4096 + (container ? container.length : 0)).fill(0xff);
  for (let i = 0; i < app; i++) payload[i] = 0x61 + (i % 26);
  payload[app] = 0;
  if (container) payload.set(container, Math.ceil((app + 1) / 4096) * 4096);
  backing.store(4096, payload);
  return { slot, size: payload.length };
}

test('appOf and assetsOf: the app text and the assets container region of a slot (§3)', (t) => {
  for (const app of [1, 100, 4094, 4095, 4096, 5000, 8191]) {
    const container = new Uint8Array(100).fill(0x5a);
    const { slot } = slotWith(app, container);
    t.is(appOf(slot, 0), app, 'found: ' + app);
    t.is(appOf(slot, app), app);
    const start = 4096 + Math.ceil((app + 1) / 4096) * 4096;
    for (const a of [assetsOf(slot, 0)!, assetsOf(slot, app)!]) {
      t.is(a.size, slot.size - start, 'region after ' + app);
      t.is(a.read(0, 1)[0], 0x5a);
    }
  }
  const empty = openSimFlash(memoryBacking(16 * 4096), KALUMA);
  t.is(appOf(empty, 0), 0);
  t.is(assetsOf(empty, 0), undefined);
  // An app that fills the slot: no room for assets.
  const full = slotWith(14 * 4096 + 4095).slot;
  t.is(appOf(full, 0), 14 * 4096 + 4095);
  t.is(assetsOf(full, 0), undefined);
  // A slot region at an offset of a bigger flash (the host board's slots are partitions).
  const big = openSimFlash(memoryBacking(64 * 4096), KALUMA);
  const part = partition(big, 8 * 4096, 16 * 4096);
  part.write(4096, new Uint8Array(256).fill(0x41).fill(0, 10, 11).fill(0xff, 11));
  t.is(appOf(part, 0), 10);
  t.is(assetsOf(part, 0)!.size, 14 * 4096);
});

test('the loader writes §6 codes by number: Boot.REASONS and Reason agree with UPDATE_REASONS', (t) => {
  t.is(UPDATE_REASONS.length, Boot.REASONS);
  t.is(UPDATE_REASONS[Reason.PACKAGE_MALFORMED], 'package-malformed');
  t.is(UPDATE_REASONS[Reason.NOT_CONFIRMED], 'not-confirmed');
  t.is(UPDATE_REASONS[Reason.TRIAL_CRASHED], 'trial-crashed');
});

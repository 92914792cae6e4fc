import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileBacking, memoryBacking, openSimFlash, PowerCutError, type Geometry, type SimFlash } from '../boards/host/flash';
import { partition } from '../hal/flash';

const G: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const SIZE = 8 * 4096;

function page(fill: number, length = 256): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-flash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a new flash reads erased', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  t.true(flash.read(0, SIZE).every((b) => b === 0xff));
});

test('programming a programmed byte is refused, even with the same value, and changes nothing', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  flash.write(256, page(0x5a));
  t.throws(() => flash.write(256, page(0x5a)), { message: /already programmed/ });
  t.throws(() => flash.write(256, page(0x00)), { message: /already programmed/ });
  t.deepEqual(flash.read(256, 256), page(0x5a));
  t.is(flash.programs, 1);
});

test('writing 0xff over programmed bytes leaves them as they are: records share a page', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  const first = page(0xff);
  first.fill(0x11, 0, 40);
  flash.write(256, first);
  const second = page(0xff);
  second.fill(0x22, 40, 100);
  flash.write(256, second);
  const back = flash.read(256, 256);
  t.true(back.subarray(0, 40).every((b) => b === 0x11));
  t.true(back.subarray(40, 100).every((b) => b === 0x22));
  t.true(back.subarray(100).every((b) => b === 0xff));
  t.is(flash.bytesProgrammed, 100, 'only bytes written with a value other than 0xff count as programmed');
  const third = page(0xff);
  third[10] = 0x00;
  t.throws(() => flash.write(256, third), { message: /byte at 266 is already programmed/ });
});

test('a write over partly programmed bytes is refused whole', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  flash.write(0, page(0x11));
  t.throws(() => flash.write(0, page(0x22, 512)), { message: /byte at 0 is already programmed/ });
  t.true(flash.read(256, 256).every((b) => b === 0xff));
});

test('programming only clears bits: the stored value is the written one on erased bytes', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  const data = new Uint8Array(256).map((_, i) => i);
  flash.write(4096, data);
  t.deepEqual(flash.read(4096, 256), data);
});

test('misaligned writes and erases are refused', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  t.throws(() => flash.write(128, page(0)), { message: /offset 128 is not aligned to 256/ });
  t.throws(() => flash.write(0, page(0, 100)), { message: /length 100 is not a multiple of 256/ });
  t.throws(() => flash.erase(256, 4096), { message: /not aligned to 4096/ });
  t.throws(() => flash.erase(0, 100), { message: /not a multiple of 4096/ });
  t.throws(() => flash.write(SIZE, page(0)), { message: /outside the flash/ });
  t.throws(() => flash.read(SIZE - 1, 2), { message: /outside the flash/ });
  t.is(flash.operations, 0);
});

test('erase sets a whole sector to the erased value and allows programming again', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  flash.write(0, page(0));
  flash.write(4096, page(0));
  flash.erase(0, 4096);
  t.true(flash.read(0, 4096).every((b) => b === 0xff));
  t.deepEqual(flash.read(4096, 256), page(0), 'the next sector is untouched');
  flash.write(0, page(1));
  t.is(flash.erases, 1);
  t.is(flash.programs, 3);
});

test('partitions bound every access to their region', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  const p = partition(flash, 4096, 8192);
  p.write(0, page(7));
  t.deepEqual(flash.read(4096, 256), page(7));
  t.throws(() => p.read(8192, 1), { message: /outside the partition/ });
  t.throws(() => p.erase(8192, 4096), { message: /outside the partition/ });
  t.throws(() => partition(flash, 100, 4096), { message: /multiples of eraseSize/ });
  t.throws(() => partition(flash, 4096, SIZE), { message: /exceeds/ });
});

/** The operations of a scenario: each is one program or erase. */
const SCENARIO: ((f: SimFlash) => void)[] = [
  (f) => f.write(0, page(0x01)),
  (f) => f.write(256, page(0x02)),
  (f) => f.write(4096, page(0x03, 512)),
  (f) => f.erase(0, 4096),
  (f) => f.write(0, page(0x04)),
  (f) => f.write(8192, page(0x05)),
  // A small record appended inside a page: 0xff before and after it leaves those bytes as they are.
  (f) => f.write(8448, new Uint8Array(256).fill(0xff).fill(0x06, 100, 160)),
];

/** Flash contents after the first `n` operations of the scenario, computed without cuts. */
function reference(n: number): Uint8Array {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  for (let i = 0; i < n; i++) SCENARIO[i]!(flash);
  return flash.read(0, SIZE);
}

for (let n = 1; n <= SCENARIO.length; n++) {
  test(`a cut at operation ${n} leaves exactly operations 1..${n - 1} in the flash file`, (t) => {
    const file = join(tempDir(t), 'flash.bin');
    const backing = fileBacking(file, SIZE);
    const flash = openSimFlash(backing, G);
    flash.cutAt(n);
    let cutAt = 0;
    for (let i = 0; i < SCENARIO.length; i++) {
      try {
        SCENARIO[i]!(flash);
      } catch (error) {
        t.true(error instanceof PowerCutError);
        cutAt = i + 1;
        break;
      }
    }
    t.is(cutAt, n);
    backing.close();
    t.deepEqual(new Uint8Array(readFileSync(file)), reference(n - 1));
  });

  test(`a torn cut at operation ${n} leaves operations 1..${n - 1} plus a prefix of the ${n}th`, (t) => {
    const file = join(tempDir(t), 'flash.bin');
    const backing = fileBacking(file, SIZE);
    const flash = openSimFlash(backing, G);
    const words = 10;
    flash.cutAt(n, { tearWords: words });
    t.throws(() => SCENARIO.forEach((op) => op(flash)), { instanceOf: PowerCutError });
    backing.close();
    const before = reference(n - 1);
    const after = reference(n);
    const got = new Uint8Array(readFileSync(file));
    // Bytes differing between "before" and "after" are those the Nth operation changes: exactly
    // `words` 32-bit words from the first byte it changes hold the new value, the rest the old
    // (on a page holding one small record, the tear lands inside that record).
    let first = -1;
    for (let i = 0; i < SIZE; i++) if (before[i] !== after[i] && first < 0) first = i;
    t.true(first >= 0);
    const start = first - (first % 4);
    for (let i = 0; i < SIZE; i++) {
      const torn = i >= start && i < start + words * 4;
      t.is(got[i], torn ? after[i] : before[i], `byte ${i}`);
      if (got[i] !== (torn ? after[i] : before[i])) break;
    }
  });
}

test('after a cut every access fails until a reboot on the same flash, which finds the state', (t) => {
  const backing = memoryBacking(SIZE);
  const flash = openSimFlash(backing, G);
  flash.write(0, page(0x42));
  flash.cutAt(2);
  t.throws(() => flash.write(256, page(1)), { instanceOf: PowerCutError });
  t.true(flash.dead);
  t.throws(() => flash.read(0, 1), { instanceOf: PowerCutError });
  t.throws(() => flash.erase(0, 4096), { instanceOf: PowerCutError });
  const rebooted = openSimFlash(backing, G);
  t.deepEqual(rebooted.read(0, 256), page(0x42));
  t.true(rebooted.read(256, 256).every((b) => b === 0xff));
  t.is(rebooted.operations, 0);
});

test('a file-backed flash keeps its contents across reopen, and refuses a file of the wrong size', (t) => {
  const file = join(tempDir(t), 'flash.bin');
  let backing = fileBacking(file, SIZE);
  openSimFlash(backing, G).write(512, page(0x33));
  backing.close();
  backing = fileBacking(file, SIZE);
  t.deepEqual(openSimFlash(backing, G).read(512, 256), page(0x33));
  backing.close();
  t.throws(() => fileBacking(file, SIZE * 2), { message: /not the board size/ });
});

test('cutAt refuses an operation already done', (t) => {
  const flash = openSimFlash(memoryBacking(SIZE), G);
  flash.write(0, page(0));
  t.throws(() => flash.cutAt(1), { message: /after the 1 already done/ });
});

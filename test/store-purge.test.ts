import test, { type ExecutionContext } from 'ava';
import { memoryBacking, openSimFlash, PowerCutError, type CutOptions, type FlashBacking, type Geometry } from '../boards/host/flash';
import { failureCode } from '../firmware/device/core/errors';
import type { Store, StoreChange, StoreReserve } from '../firmware/device/core/services';
import { jsAes } from '../modules/crypto/provider-core';
import { crcOk, erasedFrom, parseHeader, parseRecord, SECTOR_HEADER, TYPE_SET } from '../modules/store/format';
import { openStore, type StoreOptions } from '../modules/store/store';

/**
 * Purge (docs/formats/store.md, "Purge"): once `purge()` returns, the region holds the live
 * records' snapshot and nothing else, so a byte scan of the whole flash finds no superseded or
 * deleted value, plain or sealed; no value changes; stamps and sector sequence numbers stay
 * monotonic; and a power cut at any of its operations leaves the store as it was, with a second
 * purge completing the work.
 */

const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const ESP32: Geometry = { eraseSize: 4096, writeSize: 4, erasedValue: 0xff };
const GEOMETRIES: [string, Geometry][] = [
  ['Kaluma geometry (256-byte pages)', KALUMA],
  ['ESP32 geometry (4-byte writes)', ESP32],
];
const SEAL = jsAes(new Uint8Array(16).map((_, i) => i * 13 + 5));
const CUTS: (CutOptions | undefined)[] = [undefined, { tearWords: 1 }, { tearWords: 7 }, { scramble: 1 }, { scramble: 2 }];
const E = 4096;

/** mulberry32: distinct, reproducible values (a value found on the flash is that value). */
function generator(seed: number): (length: number) => Uint8Array {
  let a = seed >>> 0;
  return (length) =>
    new Uint8Array(length).map(() => {
      a = (a + 0x6d2b79f5) >>> 0;
      let x = a;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) & 255;
    });
}

function raw(backing: FlashBacking): Uint8Array {
  return backing.read(0, backing.size);
}

function found(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(Buffer.from(needle)) >= 0;
}

function clone(backing: FlashBacking): FlashBacking {
  const copy = memoryBacking(backing.size);
  copy.store(0, raw(backing));
  return copy;
}

/** A stamp as a comparable pair: (sector sequence, offset). */
function stampOf(store: Store): [number, number] {
  const b = store.stamp();
  const v = new DataView(b.buffer, b.byteOffset, 8);
  return [v.getUint32(0, true), v.getUint32(4, true)];
}

function after(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** Sector sequence numbers of every readable header in the region. */
function sequences(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let s = 0; s < bytes.length / E; s++) {
    const h = parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER));
    if (h.valid) out.push(h.seq);
  }
  return out;
}

/**
 * What a purged region must be: one generation at consecutive ring positions (a start sector, then
 * continuations of it with growing sequence numbers) holding complete SET records, one per live
 * key, then the COMMIT record counting them, and erased bytes to the end of every sector; every
 * other sector entirely 0xff.
 */
function checkPurged(t: ExecutionContext, bytes: Uint8Array, keys: string[], where: string): void {
  const N = bytes.length / E;
  const used: number[] = [];
  for (let s = 0; s < N; s++) if (!erasedFrom(bytes.subarray(s * E, (s + 1) * E), 0)) used.push(s);
  const starts = used.filter((s) => parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER)).kind === 1);
  t.is(starts.length, 1, where + ': one generation start, sectors in use ' + JSON.stringify(used));
  const start = starts[0]!;
  const gen = parseHeader(bytes.subarray(start * E, start * E + SECTOR_HEADER));
  t.true(gen.valid, where);
  const ring: number[] = [];
  for (let i = 0; i < used.length; i++) ring.push((start + i) % N);
  t.deepEqual(ring.slice().sort((a, b) => a - b), used, where + ': the generation is a run of consecutive sectors, and nothing else is in use');
  let previous = 0;
  let records = 0;
  let committed = false;
  const names: string[] = [];
  for (const s of ring) {
    const sector = bytes.subarray(s * E, (s + 1) * E);
    const h = parseHeader(sector);
    t.true(h.valid && h.gen === gen.seq && h.seq > previous, where + ': sector ' + s + ' continues the generation');
    previous = h.seq;
    let at = SECTOR_HEADER;
    while (at < E && !erasedFrom(sector, at)) {
      t.false(committed, where + ': nothing after the snapshot COMMIT');
      const p = parseRecord(sector, at);
      if (!p) return void t.fail(where + ': unreadable bytes at sector ' + s + ' offset ' + at);
      t.true(p.committed && crcOk(sector, at, p.size), where + ': complete record at sector ' + s + ' offset ' + at);
      if (p.type === 0x43) {
        t.is(new DataView(sector.buffer, sector.byteOffset + at + 8, 4).getUint32(0, true), records, where + ': COMMIT counts the snapshot');
        committed = true;
      } else {
        t.is(p.type, TYPE_SET, where + ': only SET records in the snapshot');
        names.push(p.key);
        records++;
      }
      at += p.size;
    }
  }
  t.true(committed, where + ': the snapshot is committed');
  t.deepEqual(names.slice().sort(), keys.slice().sort(), where + ': one record per live key');
}

/**
 * A store written through its history: each value set is noted, with the bytes a sealed value left
 * on the flash (its ciphertext and tag, read from the raw region right after the write). Values
 * superseded or deleted are `gone`: none of their bytes may remain after a purge.
 */
class History {
  readonly live = new Map<string, Uint8Array>();
  readonly gone: { what: string; bytes: Uint8Array }[] = [];
  private readonly stored = new Map<string, Uint8Array[]>();
  private nonce: Uint8Array | undefined;
  store: Store;

  constructor(
    readonly backing: FlashBacking,
    readonly geometry: Geometry,
    readonly options: StoreOptions,
  ) {
    this.store = this.reopen();
  }

  /** Opens the store again (after the flash was changed behind it). */
  reopen(): Store {
    this.store = openStore(openSimFlash(this.backing, this.geometry), { ...this.options, onNonce: (n) => (this.nonce = n.slice()) });
    return this.store;
  }

  /** The ciphertext and tag of the sealed record first written at `nonce`, as the flash holds them. */
  private sealedBytes(nonce: Uint8Array): Uint8Array {
    const bytes = raw(this.backing);
    const seq = new DataView(nonce.buffer).getUint32(0, true);
    const offset = nonce[4]! | (nonce[5]! << 8);
    for (let s = 0; s < bytes.length / E; s++) {
      const h = parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER));
      if (!h.valid || h.seq !== seq) continue;
      const at = s * E + offset;
      const k = bytes[at + 2]!;
      const v = bytes[at + 4]! | (bytes[at + 5]! << 8);
      return bytes.slice(at + 8 + k + 6, at + 8 + k + v);
    }
    throw new Error('no sector with sequence ' + seq);
  }

  private retire(key: string): void {
    const old = this.live.get(key);
    if (old) this.gone.push({ what: key + ' plain', bytes: old });
    for (const c of this.stored.get(key) ?? []) this.gone.push({ what: key + ' sealed', bytes: c });
    this.live.delete(key);
    this.stored.delete(key);
  }

  set(key: string, value: Uint8Array, sealed = false): void {
    this.retire(key);
    this.nonce = undefined;
    this.store.set(key, value, sealed);
    this.live.set(key, value);
    if (sealed) this.stored.set(key, [this.sealedBytes(this.nonce!)]);
  }

  /** Deletes `keys` in one commit, as a factory wipe does. */
  wipe(keys: string[]): void {
    this.store.commit(keys.map((key) => ({ key })));
    for (const key of keys) this.retire(key);
  }

  /** Which of the gone values' bytes the region still holds. */
  leftovers(bytes = raw(this.backing)): string[] {
    return this.gone.filter((g) => found(bytes, g.bytes)).map((g) => g.what);
  }
}

/**
 * A device's life in the store: the kit's and the examples' keys, plain and sealed, several
 * overwritten many times, and enough churn for several compactions (old generations' sectors hold
 * superseded copies); then a wipe deletes the user's keys in one commit.
 */
function life(geometry: Geometry, sectors = 8, budget = 4, rounds = 40): History {
  const h = new History(memoryBacking(sectors * E), geometry, { seal: SEAL, generationSectors: budget });
  const value = generator(sectors * 1000 + budget * 10 + geometry.writeSize);
  h.set('fw.version', value(12));
  for (let i = 0; i < rounds; i++) {
    h.set('relay.on', value(16));
    h.set('log.tick', value(200));
    if (i % 2 === 0) h.set('hoshi.drbg', value(32), true);
    if (i % 3 === 0) h.set('acct.verifier', value(85), true);
    if (i % 3 === 1) h.set('user.name', value(24));
    if (i % 4 === 0) h.set('net.wifi', value(40), true);
    if (i % 4 === 2) h.set('acct.fails', value(16));
    if (i % 5 === 0) h.set('relay.schedule', value(24));
  }
  h.wipe(['acct.verifier', 'user.name', 'net.wifi', 'acct.fails', 'relay.schedule']);
  return h;
}

function contents(store: Store, keys: string[]): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const k of keys) {
    const r = store.read(k);
    if (r.ok) out[k] = Buffer.from(r.value).toString('hex');
    else if (r.reason !== 'absent') out[k] = 'UNREADABLE:' + r.reason;
  }
  return out;
}

function expected(h: History): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const [k, v] of h.live) out[k] = Buffer.from(v).toString('hex');
  return out;
}

/** Sequence numbers of the sectors of generation `gen`. */
function generationSequences(bytes: Uint8Array, gen: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < bytes.length / E; s++) {
    const h = parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER));
    if (h.valid && h.gen === gen) out.push(h.seq);
  }
  return out;
}

/** Ring position of the last sector of the generation in use. */
function headOf(h: History): number {
  const bytes = raw(h.backing);
  const gen = openStore(openSimFlash(h.backing, h.geometry), { seal: SEAL }).report.generation;
  let head = -1;
  let best = 0;
  for (let s = 0; s < bytes.length / E; s++) {
    const hd = parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER));
    if (hd.valid && hd.gen === gen && hd.seq > best) {
      best = hd.seq;
      head = s;
    }
  }
  return head;
}

/** A stand-alone write cut after 5 words: its header and key are on the flash, never committed. */
function tornWrite(h: History): void {
  const flash = openSimFlash(h.backing, h.geometry);
  const store = openStore(flash, { seal: SEAL });
  flash.cutAt(flash.operations + 1, { tearWords: 5 });
  try {
    store.set('torn.value', new Uint8Array(64).fill(0x5a));
  } catch (error) {
    if (!(error instanceof PowerCutError)) throw error;
  }
  h.gone.push({ what: 'torn record', bytes: new TextEncoder().encode('torn.value') });
  h.reopen();
}

/**
 * Writes `log.tick` until a write compacts, and cuts that one before its snapshot commits: the
 * sector after the generation holds a start sector with the greatest number, never used.
 */
function interruptedCompaction(h: History): void {
  const value = generator(77);
  for (let i = 0; i < 500; i++) {
    const v = value(200);
    const dry = openStore(openSimFlash(clone(h.backing), h.geometry), { seal: SEAL });
    dry.set('log.tick', v);
    if (dry.stats.compactions === 0) {
      h.set('log.tick', v);
      continue;
    }
    const flash = openSimFlash(h.backing, h.geometry);
    const store = openStore(flash, { seal: SEAL });
    flash.cutAt(flash.operations + 4);
    try {
      store.set('log.tick', v);
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
    }
    h.gone.push({ what: 'interrupted write', bytes: v });
    h.reopen();
    return;
  }
  throw new Error('no write compacted');
}

/** Makes the header of the sector after the generation unreadable (an erase or a header cut short). */
function unreadableAfter(h: History): void {
  const s = (headOf(h) + 1) % (h.backing.size / E);
  const bytes = h.backing.read(s * E, 4);
  if (bytes.every((b) => b === 0xff)) h.backing.store(s * E, new Uint8Array([0x48, 0x53, 0x00, 0x00]));
  else h.backing.store(s * E, new Uint8Array([0x00, bytes[1]!, bytes[2]!, bytes[3]!]));
}

/** The states a purge starts from in the power-cut tests. */
const STARTS: [string, (h: History) => void][] = [
  ['after a wipe', () => undefined],
  ['with a torn record and an interrupted compaction', (h) => {
    tornWrite(h);
    interruptedCompaction(h);
  }],
  ['with an unreadable header in the sector after the generation', (h) => {
    tornWrite(h);
    unreadableAfter(h);
  }],
];

const ALL_KEYS = ['fw.version', 'relay.on', 'log.tick', 'hoshi.drbg', 'acct.verifier', 'user.name', 'net.wifi', 'acct.fails', 'relay.schedule'];

for (const [label, geometry] of GEOMETRIES) {
  test(`byte scan: no wiped or superseded value stays on the flash after purge, ${label}`, (t) => {
    const h = life(geometry);
    t.true(h.store.stats.compactions >= 2, 'the history compacts more than once');
    const sealedGone = h.gone.filter((g) => g.what.endsWith('sealed')).length;
    t.true(sealedGone >= 8 && h.gone.length >= 30, `${h.gone.length} values gone, ${sealedGone} of them sealed ciphertexts`);
    // The scan can see them: before the purge, old sectors and the generation still hold many.
    const before = h.leftovers();
    t.true(before.some((w) => w.endsWith('sealed')) && before.some((w) => w.endsWith('plain')), 'found before purge: ' + before.length);
    const stamp = stampOf(h.store);
    h.store.purge();
    t.deepEqual(h.leftovers(), [], 'nothing superseded or wiped is found after purge');
    checkPurged(t, raw(h.backing), [...h.live.keys()], 'purged');
    t.true(after(stampOf(h.store), stamp), 'the stamp moved on');
    t.deepEqual(contents(h.store, ALL_KEYS), expected(h), 'the live values read back');
    const reopened = openStore(openSimFlash(h.backing, geometry), { seal: SEAL });
    t.deepEqual(contents(reopened, ALL_KEYS), expected(h), 'and after reopening');
    t.deepEqual(reopened.report.skipped, []);
    t.deepEqual(stampOf(reopened), stampOf(h.store));
    t.log(`${h.gone.length} values gone (${sealedGone} sealed), ${before.length} found before purge, none after`);
  });

  for (const [name, prepare] of STARTS) {
    test(`power cut at every operation of purge: ${name}, ${label}`, (t) => {
      const h = life(geometry);
      prepare(h);
      const base = h.backing;
      const state = expected(h);
      const keys = [...h.live.keys()];
      const options = { seal: SEAL };
      const dry = openSimFlash(clone(base), geometry);
      openStore(dry, options).purge();
      const ops = dry.operations;
      t.true(dry.erases >= 3 && dry.programs >= 5, `${dry.programs} programs, ${dry.erases} erases`);
      const before = raw(base);
      // Every number on the flash, and those of the generation in use: every later number is past
      // them (a number that named only an interrupted compaction's sector excepted, once a cut has
      // erased that sector: docs/formats/store.md, "Purge").
      const seqBefore = Math.max(...sequences(before));
      const inUse = Math.max(...generationSequences(before, openStore(openSimFlash(clone(base), geometry), options).report.generation));
      const leftover = seqBefore > inUse;
      const found0 = openStore(openSimFlash(clone(base), geometry), options).report.skipped.join('\n');
      if (name.includes('interrupted')) t.true(leftover && /compaction interrupted/.test(found0), found0);
      if (name.includes('unreadable')) t.regex(found0, /unreadable sector header/);
      let cuts = 0;
      for (let k = 1; k <= ops; k++) {
        for (const cut of CUTS) {
          const backing = clone(base);
          const flash = openSimFlash(backing, geometry);
          const store = openStore(flash, options);
          const stampBefore = stampOf(store);
          flash.cutAt(k, cut);
          const error = t.throws(() => store.purge());
          t.true(error instanceof PowerCutError, String(error));
          cuts++;
          const where = `${name}: cut at operation ${k}/${ops} ${JSON.stringify(cut ?? 'dropped')}`;
          // After the cut: exactly the values from before, and no stamp behind.
          const reopened = openStore(openSimFlash(backing, geometry), options);
          t.deepEqual(contents(reopened, ALL_KEYS), state, where + ': values after the cut');
          const stampCut = stampOf(reopened);
          t.false(after(stampBefore, stampCut), where + ': stamp after the cut not behind');
          const seqCut = Math.max(...sequences(raw(backing)));
          // Purge again completes; the scan passes; every number is past those that were on the flash.
          reopened.purge();
          const bytes = raw(backing);
          t.deepEqual(h.leftovers(bytes), [], where + ': found after the second purge');
          checkPurged(t, bytes, keys, where);
          const stampDone = stampOf(reopened);
          t.true(after(stampDone, stampBefore) && after(stampDone, stampCut), where + ': stamp after purge');
          const floor = leftover ? inUse : Math.max(seqBefore, seqCut);
          t.true(sequences(bytes).every((q) => q > floor && q > stampBefore[0]), where + ': sequence numbers past ' + floor + ': ' + sequences(bytes));
          const again = openStore(openSimFlash(backing, geometry), options);
          t.deepEqual(contents(again, ALL_KEYS), state, where + ': values after the second purge');
          t.deepEqual(again.report.skipped, [], where);
          t.deepEqual(stampOf(again), stampDone, where);
          // A sealed write after it goes under a new nonce, and reads back.
          again.set('hoshi.drbg', new Uint8Array(32).fill(k), true);
          t.true(after(stampOf(again), stampDone), where);
          t.deepEqual(openStore(openSimFlash(backing, geometry), options).get('hoshi.drbg'), new Uint8Array(32).fill(k), where);
        }
      }
      t.log(`${ops} operations, ${cuts} cut points checked`);
      console.log(`store purge power loss, ${name}, ${label}: ${ops} operations, ${cuts} cut points checked`);
    });
  }
}

test('repeated power cuts during purge, then a purge that completes', (t) => {
  for (const [, geometry] of GEOMETRIES) {
    const h = life(geometry);
    const state = expected(h);
    let seed = 99;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let last = stampOf(h.store);
    for (let i = 0; i < 60; i++) {
      const flash = openSimFlash(h.backing, geometry);
      const store = openStore(flash, { seal: SEAL });
      t.deepEqual(contents(store, ALL_KEYS), state, `cut ${i}`);
      t.false(after(last, stampOf(store)), `cut ${i}: stamp`);
      last = stampOf(store);
      flash.cutAt(1 + random(12), [undefined, { tearWords: random(30) }, { scramble: i }][random(3)]);
      try {
        store.purge();
      } catch (error) {
        if (!(error instanceof PowerCutError)) throw error;
      }
    }
    const store = openStore(openSimFlash(h.backing, geometry), { seal: SEAL });
    store.purge();
    t.true(after(stampOf(store), last));
    t.deepEqual(h.leftovers(), []);
    checkPurged(t, raw(h.backing), [...h.live.keys()], 'after repeated cuts');
    t.deepEqual(contents(openStore(openSimFlash(h.backing, geometry), { seal: SEAL }), ALL_KEYS), state);
  }
});

test('purge of an empty store: a new region, and one whose keys were all deleted', (t) => {
  const fresh = memoryBacking(8 * E);
  const store = openStore(openSimFlash(fresh, KALUMA), { seal: SEAL });
  const before = stampOf(store);
  store.purge();
  checkPurged(t, raw(fresh), [], 'new region');
  t.true(after(stampOf(store), before));
  const reopened = openStore(openSimFlash(fresh, KALUMA), { seal: SEAL });
  t.deepEqual(reopened.keys(), []);
  t.deepEqual(reopened.report.skipped, []);
  reopened.set('k', new Uint8Array([1, 2, 3]), true);
  t.deepEqual(reopened.get('k'), new Uint8Array([1, 2, 3]));

  // Everything deleted: the region keeps one empty generation, so the greatest sequence number
  // stays on the flash and the next stamp is past every earlier one.
  const h = life(ESP32);
  h.wipe([...h.live.keys()]);
  const seqBefore = Math.max(...sequences(raw(h.backing)));
  const stamp = stampOf(h.store);
  h.store.purge();
  t.deepEqual(h.leftovers(), []);
  checkPurged(t, raw(h.backing), [], 'all deleted');
  t.true(sequences(raw(h.backing)).every((s) => s > seqBefore));
  const again = openStore(openSimFlash(h.backing, ESP32), { seal: SEAL });
  t.true(after(stampOf(again), stamp));
  t.deepEqual(again.keys(), []);

  // Purge twice in a row: the second compacts again, the stamp still moves on.
  const twice = stampOf(again);
  again.purge();
  t.true(after(stampOf(again), twice));
  checkPurged(t, raw(h.backing), [], 'second purge');
});

test('purge of a store whose generation spans several sectors', (t) => {
  const h = new History(memoryBacking(16 * E), ESP32, { seal: SEAL, generationSectors: 6 });
  const value = generator(7);
  for (let i = 0; i < 60; i++) h.set('k' + (i % 3), value(300), i % 2 === 0);
  const inUse = (): number => {
    const bytes = raw(h.backing);
    let n = 0;
    for (let s = 0; s < 16; s++) if (!erasedFrom(bytes.subarray(s * E, (s + 1) * E), 0)) n++;
    return n;
  };
  const reopened = openStore(openSimFlash(h.backing, ESP32), { seal: SEAL, generationSectors: 6 });
  t.true(reopened.report.sectors >= 4, `generation of ${reopened.report.sectors} sectors`);
  h.store.purge();
  t.is(inUse(), 1, 'the snapshot fits one sector; nothing else is in use');
  t.deepEqual(h.leftovers(), []);
  checkPurged(t, raw(h.backing), ['k0', 'k1', 'k2'], 'several sectors');
  t.deepEqual(contents(openStore(openSimFlash(h.backing, ESP32), { seal: SEAL }), ['k0', 'k1', 'k2']), expected(h));
});

test('purge of a store holding a torn tail, an uncommitted transaction and an unreadable sector header', (t) => {
  for (const [, geometry] of GEOMETRIES) {
    const h = life(geometry);
    const options = { seal: SEAL };
    // A stand-alone record cut after 5 words, then a transaction cut before its COMMIT.
    const torn = new Uint8Array(64).fill(0x5a);
    let flash = openSimFlash(h.backing, geometry);
    let store = openStore(flash, options);
    flash.cutAt(flash.operations + 1, { tearWords: 5 });
    t.throws(() => store.set('torn.value', torn), { instanceOf: PowerCutError });
    flash = openSimFlash(h.backing, geometry);
    store = openStore(flash, options);
    t.true(store.report.skipped.some((s) => s.includes('torn record')), JSON.stringify(store.report.skipped));
    const member = new Uint8Array(48).fill(0xa5);
    const changes: StoreChange[] = [{ key: 'txn.a', value: member }, { key: 'txn.b', value: member }];
    flash.cutAt(flash.operations + 2);
    t.throws(() => store.commit(changes), { instanceOf: PowerCutError });
    // An unreadable header in a sector outside the generation: a stale sector, corrupted.
    const bytes = raw(h.backing);
    const generation = openStore(openSimFlash(h.backing, geometry), options).report.generation;
    const header = (s: number) => parseHeader(bytes.subarray(s * E, s * E + SECTOR_HEADER));
    const victim = [...Array(8).keys()].find((s) => header(s).valid && header(s).gen !== generation);
    t.not(victim, undefined, 'a stale sector to corrupt');
    const magic = h.backing.read(victim! * E, 4);
    magic[0] = 0x00;
    h.backing.store(victim! * E, magic);
    const seqBefore = Math.max(...sequences(raw(h.backing)));
    store = openStore(openSimFlash(h.backing, geometry), options);
    const skipped = store.report.skipped.join('\n');
    t.regex(skipped, /torn record of "torn.value"/);
    t.regex(skipped, /uncommitted transaction/);
    t.regex(skipped, /unreadable sector header/);
    const tornKey = new TextEncoder().encode('torn.value');
    t.true(found(raw(h.backing), tornKey) && found(raw(h.backing), member.subarray(0, 16)), 'the torn bytes are on the flash before purge');
    const stamp = stampOf(store);
    store.purge();
    const purged = raw(h.backing);
    t.false(found(purged, tornKey), 'no byte of the torn record');
    t.false(found(purged, member.subarray(0, 16)), 'nor of the uncommitted transaction');
    t.deepEqual(h.leftovers(purged), []);
    checkPurged(t, purged, [...h.live.keys()], 'torn tail');
    t.true(sequences(purged).every((s) => s > seqBefore + 65536), 'sequence numbers jumped past the unreadable header');
    t.true(after(stampOf(store), stamp));
    const again = openStore(openSimFlash(h.backing, geometry), options);
    t.deepEqual(again.report.skipped, []);
    t.deepEqual(contents(again, ALL_KEYS.concat(['torn.value', 'txn.a', 'txn.b'])), expected(h));
  }
});

test('purge with the budget at its maximum: a full region of 8 sectors, generations of 4, with reserves', (t) => {
  const reserve: StoreReserve[] = [
    { key: 'hoshi.drbg', bytes: 32, sealed: true },
    { key: 'net.wifi', bytes: 97, sealed: true },
  ];
  for (const [, geometry] of GEOMETRIES) {
    const h = new History(memoryBacking(8 * E), geometry, { seal: SEAL, generationSectors: 4, reserve });
    const value = generator(3);
    // New keys of 300 bytes until the capacity rule refuses one: the snapshot fills 3 sectors.
    let n = 0;
    for (;;) {
      try {
        h.set('fill' + n, value(300), n % 2 === 1);
        n++;
      } catch (error) {
        t.is(failureCode(error), 'store-full');
        break;
      }
    }
    h.set('net.wifi', value(60), true);
    h.set('hoshi.drbg', value(32), true);
    // Overwrites no larger, until the generation spans its 4 sectors and compacts several times.
    for (let i = 0; i < 3 * n; i++) h.set('fill' + (i % n), value(300), (i % n) % 2 === 1);
    h.wipe(['fill0', 'fill1', 'net.wifi']);
    const options = { seal: SEAL, generationSectors: 4, reserve };
    const open = openStore(openSimFlash(h.backing, geometry), options);
    t.is(open.report.budget, 4);
    t.deepEqual(open.report.skipped, []);
    const spanned = open.report.sectors;
    t.is(spanned, 4, 'the generation spans the whole budget');
    h.store.purge();
    t.deepEqual(h.leftovers(), []);
    checkPurged(t, raw(h.backing), [...h.live.keys()], 'budget at its maximum');
    const again = openStore(openSimFlash(h.backing, geometry), options);
    t.deepEqual(contents(again, [...h.live.keys(), 'fill0', 'fill1', 'net.wifi']), expected(h));
    // Every write the rule accepted before is still accepted.
    again.set('net.wifi', value(97), true);
    again.set('fill0', value(300));
    t.log(`${n} keys of 300 bytes; a generation of ${spanned} sectors before purge, ${again.report.sectors} after`);
  }
});

test('purge of the smallest region (4 sectors, generations of 2), and after a failed write', (t) => {
  const h = new History(memoryBacking(4 * E), KALUMA, { seal: SEAL, generationSectors: 2 });
  const value = generator(11);
  for (let i = 0; i < 30; i++) h.set('k' + (i % 4), value(400), i % 3 === 0);
  h.wipe(['k1']);
  h.store.purge();
  t.deepEqual(h.leftovers(), []);
  checkPurged(t, raw(h.backing), ['k0', 'k2', 'k3'], 'smallest region');

  // A store whose write failed midway writes nothing more, purge included, until it is reopened.
  const flash = openSimFlash(h.backing, KALUMA);
  const store = openStore(flash, { seal: SEAL, generationSectors: 2 });
  flash.cutAt(flash.operations + 1);
  t.throws(() => store.set('k0', value(10)), { instanceOf: PowerCutError });
  const error = t.throws(() => store.purge());
  t.is(failureCode(error), 'store-broken');
});

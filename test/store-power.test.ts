import test from 'ava';
import { memoryBacking, openSimFlash, PowerCutError, type CutOptions, type FlashBacking, type Geometry } from '../boards/host/flash';
import { jsAes } from '../modules/crypto/provider-core';
import { openStore } from '../modules/store/store';
import type { Store, StoreChange } from '../firmware/device/core/services';

/**
 * Power loss: every program and erase operation of each scenario is interrupted in turn — dropped,
 * torn after one and after several words, and scrambled (every bit it had to change left at
 * random) — then the store is opened again. After every cut each key holds its value from before
 * or after the interrupted commit (never absent, never corrupt; a deleted key never comes back);
 * a commit of several keys is all-or-nothing; and the store takes new writes.
 */

const SEAL = jsAes(new Uint8Array(16).map((_, i) => i * 17 + 3));
const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
const ESP32: Geometry = { eraseSize: 4096, writeSize: 4, erasedValue: 0xff };
const CUTS: (CutOptions | undefined)[] = [undefined, { tearWords: 1 }, { tearWords: 7 }, { scramble: 1 }, { scramble: 2 }];

type State = { [key: string]: string };

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function value(seed: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (seed * 31 + i * 7) & 255);
}

function apply(state: State, changes: StoreChange[]): State {
  const next = { ...state };
  for (const c of changes) {
    if (c.value === undefined) delete next[c.key];
    else next[c.key] = hex(c.value);
  }
  return next;
}

function contents(store: Store, keys: string[]): State {
  const out: State = {};
  for (const k of keys) {
    const r = store.read(k);
    if (r.ok) out[k] = hex(r.value);
    else if (r.reason !== 'absent') out[k] = 'UNREADABLE:' + r.reason;
  }
  return out;
}

/** Canonical form of a state, to compare states whatever their keys' order. */
function canon(state: State): string {
  return JSON.stringify(Object.keys(state).sort().map((k) => [k, state[k]]));
}

function clone(backing: FlashBacking): FlashBacking {
  const copy = memoryBacking(backing.size);
  copy.store(0, backing.read(0, backing.size));
  return copy;
}

interface Scenario {
  name: string;
  sectors: number;
  generationSectors: number;
  /** Commits that build the state before the measured ones (not interrupted). */
  setup: StoreChange[][];
  /** Commits interrupted at each of their operations. */
  steps: StoreChange[][];
}

const SCENARIOS: Scenario[] = [
  { name: 'first write', sectors: 8, generationSectors: 4, setup: [], steps: [[{ key: 'pin', value: value(1, 32), sealed: true }]] },
  {
    name: 'overwrite',
    sectors: 8,
    generationSectors: 4,
    setup: [[{ key: 'count', value: value(2, 4) }], [{ key: 'pin', value: value(3, 32), sealed: true }]],
    steps: [[{ key: 'count', value: value(4, 4) }], [{ key: 'pin', value: value(5, 32), sealed: true }]],
  },
  {
    name: 'delete',
    sectors: 8,
    generationSectors: 4,
    setup: [[{ key: 'a', value: value(6, 16) }], [{ key: 'b', value: value(7, 16), sealed: true }], [{ key: 'a', value: value(8, 16) }]],
    steps: [[{ key: 'a' }], [{ key: 'b' }]],
  },
  {
    name: 'multi-key transaction',
    sectors: 8,
    generationSectors: 4,
    setup: [[{ key: 'fw.version', value: value(9, 8) }], [{ key: 'fw.counter', value: value(10, 4) }], [{ key: 'old', value: value(11, 8) }]],
    steps: [[
      { key: 'fw.version', value: value(12, 8) },
      { key: 'fw.counter', value: value(13, 4), sealed: true },
      { key: 'old' },
      { key: 'fw.slot', value: value(14, 300) },
    ]],
  },
  {
    // Region of 4 sectors, generations of 2: live records fill most of a sector, so every few
    // writes compact; the measured writes compact at least once, with a transaction among them.
    name: 'compaction while the region is full',
    sectors: 4,
    generationSectors: 2,
    setup: [
      [{ key: 'big1', value: value(15, 1500) }],
      [{ key: 'big2', value: value(16, 1500), sealed: true }],
      [{ key: 'small', value: value(17, 32) }],
    ],
    steps: [
      [{ key: 'small', value: value(18, 32) }],
      [{ key: 'big1', value: value(19, 1500) }],
      [{ key: 'small', value: value(20, 32) }],
      [{ key: 'big1', value: value(21, 1400) }, { key: 'small' }],
      [{ key: 'big2', value: value(22, 1500), sealed: true }],
      [{ key: 'small', value: value(23, 32), sealed: true }],
    ],
  },
];

function runStep(store: Store, changes: StoreChange[]): void {
  if (changes.length === 1 && changes[0]!.value !== undefined) store.set(changes[0]!.key, changes[0]!.value!, changes[0]!.sealed);
  else if (changes.length === 1) store.delete(changes[0]!.key);
  else store.commit(changes);
}

for (const geometry of [KALUMA, ESP32]) {
  const label = geometry.writeSize === 256 ? 'Kaluma geometry (256-byte pages)' : 'ESP32 geometry (4-byte writes)';
  for (const scenario of SCENARIOS) {
    test(`power cut at every operation: ${scenario.name}, ${label}`, (t) => {
      const keys = new Set<string>();
      for (const c of scenario.setup.concat(scenario.steps).flat()) keys.add(c.key);
      const allKeys = [...keys];
      const base = memoryBacking(scenario.sectors * geometry.eraseSize);
      let state: State = {};
      const options = { seal: SEAL, generationSectors: scenario.generationSectors };
      const setupStore = openStore(openSimFlash(base, geometry), options);
      for (const c of scenario.setup) {
        runStep(setupStore, c);
        state = apply(state, c);
      }
      let cuts = 0;
      let compactions = 0;
      let current = base;
      for (const step of scenario.steps) {
        const after = apply(state, step);
        // A dry run counts the step's operations.
        const dry = openSimFlash(clone(current), geometry);
        const dryStore = openStore(dry, options);
        const before = dry.operations;
        runStep(dryStore, step);
        const ops = dry.operations - before;
        compactions += dryStore.stats.compactions;
        t.true(ops > 0);
        for (let k = 1; k <= ops; k++) {
          for (const cut of CUTS) {
            const backing = clone(current);
            const flash = openSimFlash(backing, geometry);
            const store = openStore(flash, options);
            flash.cutAt(flash.operations + k, cut);
            const error = t.throws(() => runStep(store, step));
            t.true(error instanceof PowerCutError, String(error));
            cuts++;
            const reopened = openStore(openSimFlash(backing, geometry), options);
            const found = contents(reopened, allKeys);
            const where = `${scenario.name}: cut at operation ${k}/${ops} ${JSON.stringify(cut ?? 'dropped')}`;
            const old = canon(found) === canon(state);
            const done = canon(found) === canon(after);
            if (!old && !done) t.fail(`${where}: found ${JSON.stringify(found)}\nreport ${JSON.stringify(reopened.report)}`);
            // The store takes new writes after the cut, and keeps them.
            reopened.set('after-cut', value(k, 20));
            const again = openStore(openSimFlash(backing, geometry), options);
            t.is(canon(contents(again, allKeys)), canon(found), where + ': a later write changed other keys');
            t.deepEqual(again.get('after-cut'), value(k, 20), where);
          }
        }
        const flash = openSimFlash(current, geometry);
        runStep(openStore(flash, options), step);
        state = after;
      }
      if (scenario.name.startsWith('compaction')) t.true(compactions >= 1, 'the measured writes include a compaction');
      t.log(`${cuts} cut points checked`);
      console.log(`store power loss, ${scenario.name}, ${label}: ${cuts} cut points checked`);
    });
  }
}

test('random sequences of writes, reboots and several power cuts keep every key at a committed value', (t) => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const keys = ['a', 'b', 'c', 'd', 'secret', 'counter'];
  let cuts = 0;
  for (const geometry of [KALUMA, ESP32]) {
    const backing = memoryBacking(6 * geometry.eraseSize);
    let state: State = {};
    const options = { seal: SEAL, generationSectors: 3 };
    let flash = openSimFlash(backing, geometry);
    let store = openStore(flash, options);
    for (let i = 0; i < 4000; i++) {
      const changes: StoreChange[] = [];
      const n = 1 + random(3);
      const used = new Set<string>();
      for (let j = 0; j < n; j++) {
        const key = keys[random(keys.length)]!;
        if (used.has(key)) continue;
        used.add(key);
        changes.push(random(5) === 0 ? { key } : { key, value: value(i * 7 + j, 1 + random(200)), sealed: random(2) === 0 });
      }
      const after = apply(state, changes);
      if (random(4) === 0) flash.cutAt(flash.operations + 1 + random(6), [undefined, { tearWords: random(40) }, { scramble: i }][random(3)]);
      try {
        store.commit(changes);
        state = after;
        flash.cutAt(flash.operations + 1_000_000);
      } catch (error) {
        if (!(error instanceof PowerCutError)) throw error;
        cuts++;
        flash = openSimFlash(backing, geometry);
        store = openStore(flash, options);
        const found = contents(store, keys);
        if (canon(found) === canon(after)) state = after;
        else if (canon(found) !== canon(state)) t.fail(`step ${i}: found ${JSON.stringify(found)}, expected ${JSON.stringify(state)} or ${JSON.stringify(after)}`);
      }
      if (random(10) === 0) {
        flash = openSimFlash(backing, geometry);
        store = openStore(flash, options);
        t.is(canon(contents(store, keys)), canon(state), `step ${i}: reboot`);
      }
    }
  }
  t.true(cuts > 1000, `${cuts} cuts`);
  t.log(`${cuts} random power cuts`);
  console.log(`store power loss, random sequences: ${cuts} random power cuts checked`);
});

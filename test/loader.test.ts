import test from 'ava';
import { memoryBacking, openSimFlash, PICO_GEOMETRY, type FlashBacking, type SimFlash } from '../boards/host/flash';
import { Boot, factoryRecord, readBootRecord, SlotState, UPDATE_REASONS, writeBootRecord, type BootRecord } from '../firmware/device/core/bootctl';
import { runLoader, type LoaderHooks } from '../firmware/device/loader';
import type { LoaderHandle } from '../hal/board';
import { partition } from '../hal/flash';

/**
 * The loader's decisions (docs/formats/update.md §7) against a fake board: a simulated flash with
 * the boot control record and two slots, manual timers, and hooks that record what the loader did.
 */

const SLOT = 16 * 4096;
const NC = UPDATE_REASONS.indexOf('not-confirmed');
const TC = UPDATE_REASONS.indexOf('trial-crashed');

interface Rig {
  backing: FlashBacking;
  flash: SimFlash;
  hooks: LoaderHooks;
  runs: { slot: number; app: number; trial: boolean; record: BootRecord }[];
  reboots: string[];
  logs: string[];
  feeds: number;
  handle?: LoaderHandle;
  timers: { ms: number; fn: () => void; cleared: boolean }[];
  /** Runs every pending timer. */
  fire(): void;
  record(): BootRecord;
  /** Record writes (erase + write each) since the rig was made. */
  writes(): number;
}

interface RigOptions {
  apps?: number[];
  verify?: (slot: number, record: BootRecord, feed: () => void) => number;
  crash?: boolean | ((slot: number) => boolean);
  tries?: number;
  backing?: FlashBacking;
}

/** Slot s holds an app of apps[s] bytes (0: empty), then NUL and FF. */
function newBacking(apps: number[]): FlashBacking {
  const backing = memoryBacking(2 * 4096 + 2 * SLOT);
  apps.forEach((n, s) => {
    if (n <= 0) return;
    const text = new Uint8Array(n + 1).fill(0x61);
    text[n] = 0;
    backing.store(2 * 4096 + s * SLOT + 4096, text);
  });
  return backing;
}

function rig(options: RigOptions = {}): Rig {
  const backing = options.backing ?? newBacking(options.apps ?? [100, 200]);
  const flash = openSimFlash(backing, PICO_GEOMETRY);
  const bootctl = partition(flash, 0, 2 * 4096);
  const slots = [partition(flash, 2 * 4096, SLOT), partition(flash, 2 * 4096 + SLOT, SLOT)];
  const erases0 = flash.erases;
  const r: Rig = {
    backing,
    flash,
    runs: [],
    reboots: [],
    logs: [],
    feeds: 0,
    timers: [],
    fire() {
      for (const t of r.timers.splice(0)) if (!t.cleared) t.fn();
    },
    record: () => readBootRecord(bootctl),
    writes: () => flash.erases - erases0,
    hooks: {
      bootctl,
      slots,
      tries: options.tries ?? 3,
      confirmWithinMs: 60000,
      feed: () => {
        r.feeds++;
      },
      reboot: (reason) => {
        r.reboots.push(reason);
      },
      log: (line) => {
        r.logs.push(line);
      },
      verify: options.verify,
      run: (slot, app, handle) => {
        r.handle = handle;
        r.runs.push({ slot, app, trial: handle.trial, record: readBootRecord(bootctl) });
        const crash = typeof options.crash === 'function' ? options.crash(slot) : options.crash;
        if (crash) throw new Error('boom');
      },
      setTimer: (ms, fn) => {
        const t = { ms, fn, cleared: false };
        r.timers.push(t);
        return t;
      },
      clearTimer: (t) => {
        (t as { cleared: boolean }).cleared = true;
      },
    },
  };
  return r;
}

/** Writes `change(factory record)` into a rig's flash before the loader runs. */
function seed(backing: FlashBacking, change: (r: BootRecord) => void): void {
  const flash = openSimFlash(backing, PICO_GEOMETRY);
  const r = factoryRecord();
  change(r);
  writeBootRecord(partition(flash, 0, 2 * 4096), r);
}

function trialOfB(tries: number, reason = 0): (r: BootRecord) => void {
  return (r) => {
    r.trial = 1;
    r.tries = tries;
    r.slots[1]!.state = SlotState.TRIAL;
    r.slots[1]!.reason = reason;
    r.slots[1]!.version = [1, 1, 0];
    r.slots[1]!.app = 200;
  };
}

test('no record (a factory-flashed unit): slot A boots, nothing is written; the app length is found', (t) => {
  const r = rig({ apps: [123, 0] });
  runLoader(r.hooks);
  t.deepEqual(r.runs.map((x) => [x.slot, x.app, x.trial]), [[0, 123, false]]);
  t.is(r.writes(), 0);
  t.deepEqual(r.reboots, []);
  t.is(r.timers.length, 0);
  r.handle!.confirmed();
});

test('verify: a slot in state verify that passes becomes the trial slot with N tries, one used, in one write', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.slots[1]!.state = SlotState.VERIFY;
    rec.slots[1]!.app = 200;
  });
  let asked = -1;
  const r = rig({
    backing,
    verify: (slot, record, feed) => {
      t.is(slot, 1);
      asked = record.slots[1]!.state;
      feed();
      feed();
      return 0;
    },
  });
  runLoader(r.hooks);
  t.is(asked, SlotState.VERIFY);
  t.true(r.feeds >= 2);
  t.is(r.writes(), 1);
  const rec = r.record();
  t.is(rec.trial, 1);
  t.is(rec.tries, 2);
  t.is(rec.slots[1]!.state, SlotState.TRIAL);
  t.is(rec.active, 0);
  t.deepEqual(r.runs.map((x) => [x.slot, x.trial]), [[1, true]]);
  t.is(r.runs[0]!.record.tries, 2, 'the record is written before the slot runs');
});

test('verify: a slot that fails is marked bad with its reason; the active slot boots', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.slots[1]!.state = SlotState.VERIFY;
  });
  const r = rig({ backing, verify: () => UPDATE_REASONS.indexOf('signature-invalid') });
  runLoader(r.hooks);
  const rec = r.record();
  t.is(rec.slots[1]!.state, SlotState.BAD);
  t.is(UPDATE_REASONS[rec.slots[1]!.reason], 'signature-invalid');
  t.is(rec.trial, Boot.NO_TRIAL);
  t.is(r.writes(), 1);
  t.deepEqual(r.runs.map((x) => [x.slot, x.trial]), [[0, false]]);
});

test('verify: a verifier that throws refuses the slot (package-malformed) instead of looping', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.slots[1]!.state = SlotState.VERIFY;
  });
  const r = rig({
    backing,
    verify: () => {
      throw new Error('bad bytes');
    },
  });
  runLoader(r.hooks);
  t.is(r.record().slots[1]!.state, SlotState.BAD);
  t.is(UPDATE_REASONS[r.record().slots[1]!.reason], 'package-malformed');
  t.deepEqual(r.runs.map((x) => x.slot), [0]);
  t.true(r.logs.some((l) => l.includes('bad bytes')));
});

test('verified: a slot the image verified starts its trial at this boot, N tries, one used, in one write', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.slots[1]!.state = SlotState.VERIFIED;
  });
  const r = rig({ backing, tries: 3 });
  runLoader(r.hooks);
  t.is(r.writes(), 1);
  const rec = r.record();
  t.is(rec.trial, 1);
  t.is(rec.tries, 2);
  t.is(rec.slots[1]!.state, SlotState.TRIAL);
  t.deepEqual(r.runs.map((x) => [x.slot, x.trial]), [[1, true]]);
});

test('verify: a board without a verifier leaves a slot in state verify as it is', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.slots[1]!.state = SlotState.VERIFY;
  });
  const r = rig({ backing });
  runLoader(r.hooks);
  t.is(r.writes(), 0);
  t.is(r.record().slots[1]!.state, SlotState.VERIFY);
  t.deepEqual(r.runs.map((x) => x.slot), [0]);
});

test('trial: tries are decremented and written before the trial slot runs; the deadline reboots unless confirmed', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, trialOfB(3));
  const r = rig({ backing });
  runLoader(r.hooks);
  t.deepEqual(r.runs.map((x) => [x.slot, x.app, x.trial]), [[1, 200, true]]);
  t.is(r.runs[0]!.record.tries, 2);
  t.is(r.timers.length, 1);
  t.is(r.timers[0]!.ms, 60000);
  r.fire();
  t.deepEqual(r.reboots, ['not-confirmed']);
  const rec = r.record();
  t.is(rec.slots[1]!.reason, NC, 'the deadline is remembered');
  t.is(rec.slots[1]!.state, SlotState.TRIAL);
  t.is(rec.tries, 2);

  // Confirmed in time: no reboot.
  const again = rig({ backing });
  runLoader(again.hooks);
  t.true(again.handle!.trial);
  again.handle!.confirmed();
  t.false(again.handle!.trial, 'no longer on trial once confirmed');
  again.fire();
  t.deepEqual(again.reboots, []);
  t.is(again.record().tries, 1);
});

test('trial: a record already confirmed at the deadline (the image did not call confirmed) is not rebooted', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, trialOfB(3));
  const r = rig({ backing });
  runLoader(r.hooks);
  const rec = r.record();
  rec.active = 1;
  rec.trial = Boot.NO_TRIAL;
  rec.tries = 0;
  rec.slots[1]!.state = SlotState.GOOD;
  writeBootRecord(r.hooks.bootctl, rec);
  r.fire();
  t.deepEqual(r.reboots, []);
});

test('trial: no tries left → bad (trial-crashed when no trial boot reached its deadline, else not-confirmed), the active slot boots', (t) => {
  for (const [reason, expected] of [
    [0, 'trial-crashed'],
    [NC, 'not-confirmed'],
  ] as const) {
    const backing = newBacking([100, 200]);
    seed(backing, trialOfB(0, reason));
    const r = rig({ backing });
    runLoader(r.hooks);
    const rec = r.record();
    t.is(rec.slots[1]!.state, SlotState.BAD);
    t.is(UPDATE_REASONS[rec.slots[1]!.reason], expected);
    t.is(rec.trial, Boot.NO_TRIAL);
    t.is(rec.active, 0);
    t.is(r.writes(), 1);
    t.deepEqual(r.runs.map((x) => [x.slot, x.trial]), [[0, false]]);
  }
});

test('crash at boot: the loader reboots (the watchdog would); the trial deadline is cancelled', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, trialOfB(2));
  const r = rig({ backing, crash: true });
  runLoader(r.hooks);
  t.deepEqual(r.reboots, ['crash']);
  t.true(r.timers.every((x) => x.cleared));
  t.is(r.record().tries, 1);
  const active = rig({ crash: true });
  runLoader(active.hooks);
  t.deepEqual(active.reboots, ['crash']);
  t.is(active.writes(), 0);
});

test('N = 3 trial boots that all crash, then the revert: trial-crashed; one that reached its deadline: not-confirmed', (t) => {
  for (const deadlineAt of [-1, 0, 2]) {
    const backing = newBacking([100, 200]);
    seed(backing, (rec) => {
      rec.slots[1]!.state = SlotState.VERIFY;
      rec.slots[1]!.app = 200;
    });
    const boots: number[] = [];
    for (let boot = 0; boot < 5; boot++) {
      const r = rig({ backing, verify: () => 0, crash: (slot) => slot === 1 && boot !== deadlineAt });
      runLoader(r.hooks);
      boots.push(r.runs[0]!.slot);
      if (boot === deadlineAt) {
        r.fire();
        t.deepEqual(r.reboots, ['not-confirmed']);
      } else if (r.runs[0]!.slot === 1) t.deepEqual(r.reboots, ['crash']);
      else t.deepEqual(r.reboots, []);
    }
    t.deepEqual(boots, [1, 1, 1, 0, 0], 'three trial boots, then slot A');
    const rec = readBootRecord(partition(openSimFlash(backing, PICO_GEOMETRY), 0, 8192));
    t.is(rec.slots[1]!.state, SlotState.BAD);
    t.is(UPDATE_REASONS[rec.slots[1]!.reason], deadlineAt < 0 ? 'trial-crashed' : 'not-confirmed');
  }
});

test('a record naming a bad, empty or receiving active slot: the other slot if good, else the active one anyway', (t) => {
  for (const state of [SlotState.EMPTY, SlotState.RECEIVING, SlotState.BAD]) {
    for (const otherGood of [true, false]) {
      const backing = newBacking([100, 200]);
      seed(backing, (rec) => {
        rec.active = 1;
        rec.slots[1]!.state = state;
        rec.slots[0]!.state = otherGood ? SlotState.GOOD : SlotState.BAD;
      });
      const r = rig({ backing });
      runLoader(r.hooks);
      t.deepEqual(r.runs.map((x) => x.slot), [otherGood ? 0 : 1]);
      t.is(r.writes(), 0);
      t.true(r.logs.some((l) => l.includes('active slot B')));
    }
  }
});

test('the fallback from a bad active slot never boots a good slot below the counter floor', (t) => {
  const backing = newBacking([100, 200]);
  seed(backing, (rec) => {
    rec.active = 1;
    rec.floor = 5;
    rec.slots[1]!.state = SlotState.BAD;
    rec.slots[0]!.counter = 4;
  });
  const r = rig({ backing });
  runLoader(r.hooks);
  t.deepEqual(r.runs.map((x) => x.slot), [1], 'the active slot anyway');
});

test('a trial slot that is not on trial, or the active one, is cleared (one write) and the active slot boots', (t) => {
  for (const change of [
    (rec: BootRecord) => {
      rec.trial = 1;
      rec.tries = 2;
      rec.slots[1]!.state = SlotState.GOOD;
    },
    (rec: BootRecord) => {
      rec.trial = 0;
      rec.tries = 2;
      rec.slots[0]!.state = SlotState.TRIAL;
    },
  ]) {
    const backing = newBacking([100, 200]);
    seed(backing, change);
    const r = rig({ backing });
    runLoader(r.hooks);
    t.is(r.record().trial, Boot.NO_TRIAL);
    t.is(r.writes(), 1);
    t.deepEqual(r.runs.map((x) => [x.slot, x.trial]), [[0, false]]);
  }
});

test('a slot holding no app text: nothing runs, nothing reboots', (t) => {
  const r = rig({ apps: [0, 0] });
  runLoader(r.hooks);
  t.deepEqual(r.runs, []);
  t.deepEqual(r.reboots, []);
  t.true(r.logs.some((l) => l.includes('holds no app')));
});

/** What the loader must boot for a record (the oracle of the table below). */
function expected(rec: BootRecord, verifyOk: boolean | undefined, tries: number): { slot: number; trial: boolean } {
  const other = 1 - rec.active;
  const states = rec.slots.map((s) => s.state);
  let trial = rec.trial;
  let left = rec.tries;
  if (states[other] === SlotState.VERIFY && verifyOk !== undefined) {
    if (verifyOk) {
      states[other] = SlotState.TRIAL;
      trial = other;
      left = tries;
    } else {
      states[other] = SlotState.BAD;
      if (trial === other) trial = Boot.NO_TRIAL;
    }
  } else if (states[other] === SlotState.VERIFIED) {
    // Verified by the image: its trial starts at this boot.
    states[other] = SlotState.TRIAL;
    trial = other;
    left = tries;
  }
  if (trial !== Boot.NO_TRIAL && (trial === rec.active || states[trial] !== SlotState.TRIAL)) trial = Boot.NO_TRIAL;
  if (trial !== Boot.NO_TRIAL && left > 0) return { slot: trial, trial: true };
  if (trial !== Boot.NO_TRIAL) states[trial] = SlotState.BAD;
  if (states[rec.active] !== SlotState.GOOD && states[other] === SlotState.GOOD && rec.slots[other]!.counter >= rec.floor) return { slot: other, trial: false };
  return { slot: rec.active, trial: false };
}

test('decision table: every active slot, pair of states, trial slot, tries and verifier outcome', (t) => {
  let cases = 0;
  for (let active = 0; active < 2; active++) {
    for (let a = 0; a <= SlotState.BAD; a++) {
      for (let b = 0; b <= SlotState.BAD; b++) {
        for (const trial of [0, 1, Boot.NO_TRIAL]) {
          for (const tries of [0, 1, 3]) {
            for (const verifyOk of [undefined, true, false]) {
              const backing = newBacking([100, 200]);
              const change = (rec: BootRecord): void => {
                rec.active = active;
                rec.slots[0]!.state = a;
                rec.slots[1]!.state = b;
                rec.trial = trial;
                rec.tries = tries;
              };
              seed(backing, change);
              const before = factoryRecord();
              change(before);
              const r = rig({ backing, verify: verifyOk === undefined ? undefined : () => (verifyOk ? 0 : UPDATE_REASONS.indexOf('digest-mismatch')) });
              const label = JSON.stringify({ active, a, b, trial, tries, verifyOk });
              t.notThrows(() => runLoader(r.hooks), label);
              const want = expected(before, verifyOk, 3);
              t.deepEqual(r.runs.map((x) => ({ slot: x.slot, trial: x.trial })), [want], label);
              t.true(r.writes() <= 3, label);
              const after = r.record();
              t.is(after.active, active, label + ': the loader never changes the active slot');
              if (want.trial) {
                t.is(after.trial, want.slot, label);
                t.is(r.runs[0]!.record.tries, after.tries, label);
              } else t.is(after.trial, Boot.NO_TRIAL, label);
              cases++;
            }
          }
        }
      }
    }
  }
  t.is(cases, 2 * 8 * 8 * 3 * 3 * 3);
});

test('the device bundles: the loader and the record pass both profiles and run the same on the real engines when given', async (t) => {
  const { bundleFixture } = await import('./helpers');
  const { checkProfile, formatViolations } = await import('../firmware/host/profile');
  const { runInNewContext } = await import('node:vm');
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const expected = 'loader 1:20c 1:20c 1:20c 0:10 0:10 | 7 trial-crashed seq 5 | 7 not-confirmed';
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const target of ['kaluma', 'espruino'] as const) {
    const { code, map } = await bundleFixture('loader-scenario.ts', target);
    const report = checkProfile(code, target, map);
    // __out is the harness's output, not a runtime global.
    report.violations = report.violations.filter((v) => !v.message.includes("'__out'"));
    t.deepEqual(report.violations, [], formatViolations(report));
    const lines: string[] = [];
    runInNewContext(code, { __out: (line: string) => lines.push(line), Uint8Array, Error, String });
    t.deepEqual(lines, [expected], target + ' bundle on Node');
    const bin = target === 'kaluma' ? process.env.HOSHI_JERRY : process.env.HOSHI_ESPRUINO;
    if (!bin) continue;
    const file = join(dir, target + '.js');
    writeFileSync(file, 'var __out = function (s) { ' + (target === 'kaluma' ? 'print' : 'console.log') + '(s); };\n' + code);
    const out = spawnSync(bin, [file], { encoding: 'utf8', timeout: 30000, input: '' });
    t.true((out.stdout ?? '').includes(expected), target + ' on ' + bin + ':\n' + out.stdout + out.stderr);
  }
});

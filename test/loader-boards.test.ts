import test from 'ava';
import { createContext, Script } from 'node:vm';
import { encodeAssets } from '../firmware/host/assets';
import { Asset } from '../firmware/device/core/assets';
import { Boot, decodeBootRecord, encodeBootRecord, factoryRecord, SlotState, UPDATE_REASONS, type BootRecord } from '../firmware/device/core/bootctl';
import { EngineFlash, esp32Files, factoryFlash, putKalumaProgram, reservedAddress, runInEngine, unhoistFunctions, writeSlot, type EngineReport } from '../firmware/host/engine';
import { buildLoader, factorySlot, partedText } from '../firmware/host/loader-build';
import { composePayload } from '../firmware/host/payload';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_BOOT } from '../boards/espruino-esp32/board';
import { RESERVED_FILES } from '../firmware/host/esp32-storage';
import { bundleFixture } from './helpers';

/**
 * Each board's fixed loader (boards/kaluma-pico-w/loader.ts, boards/espruino-esp32/loader.ts over
 * firmware/device/loader.ts), bundled as `hoshi flash` writes it, run in the engine check against
 * its runtime's fake: it reads the boot record from the fake flash and evaluates the image from its
 * slot (Kaluma: the slot's text made a function; Espruino: eval of the Storage file's text). Each
 * boot is a new engine over the same flash; a reboot ends one (`report.reset`). The image is
 * test/fixtures/loader-app-entry.ts: it reports what the loader booted, then confirms, stays silent
 * or crashes as `__appMode` says.
 */

const TARGETS: DeviceTarget[] = ['kaluma', 'espruino'];
const NC = UPDATE_REASONS.indexOf('not-confirmed');
const TC = UPDATE_REASONS.indexOf('trial-crashed');
/** How the loader reboots each runtime: Kaluma has no reboot API but the watchdog. */
const REBOOT: { [t in DeviceTarget]: string } = { kaluma: 'watchdog', espruino: 'reboot' };
const ASSETS = encodeAssets([{ id: Asset.PAGE, bytes: new Uint8Array([0x1f, 0x8b, 1, 2, 3]) }]);

interface Rig {
  loader: string;
  app: string;
}

const rigs = new Map<DeviceTarget, Promise<Rig>>();
function rig(target: DeviceTarget): Promise<Rig> {
  if (!rigs.has(target)) {
    rigs.set(
      target,
      (async () => {
        const loader = await buildLoader(target);
        const app = await bundleFixture('loader-app-' + target + '.ts', target);
        return { loader: loader.code, app: app.code };
      })(),
    );
  }
  return rigs.get(target)!;
}

/** Writes `record` as the current one (seq 2, in the second unit: the factory record holds the first). */
function putRecord(flash: EngineFlash, target: DeviceTarget, record: BootRecord): void {
  record.seq = 2;
  const bytes = encodeBootRecord(record);
  if (target === 'kaluma') {
    flash.erase('flash', KALUMA_PARTITIONS.bootctl.sector + 1);
    flash.load((KALUMA_PARTITIONS.bootctl.sector + 1) * 4096, bytes);
  } else {
    const at = reservedAddress(flash, ESP32_BOOT.bootctl) + ESP32_BOOT.unit;
    flash.erase('flash', at / 4096);
    flash.load(at, bytes);
  }
}

function readRecord(flash: EngineFlash, target: DeviceTarget): BootRecord {
  const units = target === 'kaluma'
    ? [0, 1].map((i) => flash.read('flash', (KALUMA_PARTITIONS.bootctl.sector + i) * 4096, 512))
    : [0, 1].map((i) => flash.read('flash', reservedAddress(flash, ESP32_BOOT.bootctl) + i * ESP32_BOOT.unit, 512));
  const found = units.map(decodeBootRecord).filter((r): r is BootRecord => r !== undefined);
  found.sort((a, b) => b.seq - a.seq);
  return found[0] ?? factoryRecord();
}

/** A unit as `hoshi flash` leaves it, and slot B filled with the same image at 0.2.0, on trial with `tries` boots left. */
async function trialUnit(target: DeviceTarget, tries: number): Promise<EngineFlash> {
  const { app } = await rig(target);
  const flash = factoryFlash(target, app, { assets: ASSETS });
  const text = target === 'espruino' ? unhoistFunctions(app) : partedText(app);
  const payload = composePayload(text, ASSETS);
  writeSlot(flash, target, 1, factorySlot(payload));
  const r = readRecord(flash, target);
  r.trial = 1;
  r.tries = tries;
  const b = r.slots[1]!;
  b.state = SlotState.TRIAL;
  b.version = [0, 2, 0];
  b.counter = 7;
  b.size = payload.length;
  b.app = text.length;
  b.received = payload.length;
  putRecord(flash, target, r);
  return flash;
}

/** One boot of the unit: the loader runs, then `ms` of simulated time pass (the trial's deadline is 120 s). */
async function boot(target: DeviceTarget, flash: EngineFlash, mode: string, ms = 121000): Promise<EngineReport> {
  const { loader } = await rig(target);
  // The program area holds the loader, as on a flashed unit.
  if (target === 'kaluma') putKalumaProgram(flash, loader);
  const report = await runInEngine(loader, target, {
    flash,
    library: true,
    budgetBytes: 16 * 1024 * 1024,
    prelude: 'globalThis.__appMode = ' + JSON.stringify(mode) + ';',
    session: (e) => {
      e.js('__engine.advance(' + ms + '), 0');
    },
  });
  if (!report.booted) throw new Error(report.error);
  return report;
}

const apps = (r: EngineReport): string[] => r.logs.filter((l) => l.startsWith('[app]'));

for (const target of TARGETS) {
  test(`${target} loader: bundled as hoshi flash writes it, within the profile (eval/Function allowed for it alone)`, async (t) => {
    const { loader } = await rig(target);
    t.deepEqual(checkProfile(loader, target, undefined, { allow: ['code-evaluation'] }).violations, []);
    const refused = checkProfile(loader, target);
    t.true(refused.violations.length > 0 && refused.violations.every((v) => v.rule === 'code-evaluation'), formatViolations(refused));
    t.log(target + ' loader: ' + loader.length + ' bytes');
  });

  test(`${target} loader: boots the factory slot A from the factory record, with its assets; stays up past the deadline`, async (t) => {
    const { app } = await rig(target);
    const flash = factoryFlash(target, app, { assets: ASSETS });
    const r = await boot(target, flash, 'silent');
    t.is(r.reset, undefined);
    t.true(r.logs.includes('[hoshi] [loader] booting slot A 0.1.0'), r.logs.join('\n'));
    t.deepEqual(apps(r), ['[app] slot 0 trial false assets ok']);
    t.deepEqual(r.missing, []);
    t.is(readRecord(r.flash, target).seq, 1, 'a normal boot writes no record');
  });

  test(`${target} loader: a trial slot that never confirms is rebooted at each deadline, then reverted after 3 boots (not-confirmed)`, async (t) => {
    const flash = await trialUnit(target, 3);
    for (let n = 2; n >= 0; n--) {
      const r = await boot(target, flash, 'silent');
      t.true(r.logs.includes('[hoshi] [loader] slot B 0.2.0 on trial, ' + n + ' tries left after this'), r.logs.join('\n'));
      t.deepEqual(apps(r), ['[app] slot 1 trial true assets ok']);
      t.true(r.logs.includes('[hoshi] [loader] slot B did not confirm in time'));
      t.is(r.reset, REBOOT[target]);
      const rec = readRecord(flash, target);
      t.like(rec, { trial: 1, tries: n });
      t.is(rec.slots[1]!.reason, NC);
    }
    const back = await boot(target, flash, 'silent');
    t.true(back.logs.includes('[hoshi] [loader] slot B 0.2.0 reverted: not-confirmed'));
    t.deepEqual(apps(back), ['[app] slot 0 trial false assets ok']);
    t.is(back.reset, undefined);
    const rec = readRecord(flash, target);
    t.like(rec, { active: 0, trial: Boot.NO_TRIAL });
    t.like(rec.slots[1], { state: SlotState.BAD, reason: NC });
  });

  test(`${target} loader: a trial slot that confirms becomes the active slot and is no longer on trial`, async (t) => {
    const flash = await trialUnit(target, 3);
    const r = await boot(target, flash, 'confirm');
    t.deepEqual(apps(r), ['[app] slot 1 trial true assets ok', '[app] confirmed']);
    t.is(r.reset, undefined, 'no reboot at the deadline');
    const rec = readRecord(flash, target);
    t.like(rec, { active: 1, trial: Boot.NO_TRIAL, floor: 7 });
    t.is(rec.slots[1]!.state, SlotState.GOOD);
    const next = await boot(target, flash, 'silent');
    t.true(next.logs.includes('[hoshi] [loader] booting slot B 0.2.0'));
    t.deepEqual(apps(next), ['[app] slot 1 trial false assets ok']);
  });

  test(`${target} loader: an image that crashes at boot resets the device (${REBOOT[target]}); after 3 such boots its slot is reverted (trial-crashed)`, async (t) => {
    const flash = await trialUnit(target, 3);
    for (let n = 2; n >= 0; n--) {
      const r = await boot(target, flash, 'crash', 100);
      t.true(r.logs.some((l) => l === '[hoshi] [loader] slot B crashed at boot: the app crashed'), r.logs.join('\n'));
      t.is(r.reset, REBOOT[target]);
      t.like(readRecord(flash, target), { trial: 1, tries: n });
    }
    const back = await boot(target, flash, 'crash', 100);
    t.true(back.logs.includes('[hoshi] [loader] slot B 0.2.0 reverted: trial-crashed'));
    t.like(readRecord(flash, target).slots[1], { state: SlotState.BAD, reason: TC });
    // Slot A's image crashes too (the same app): the loader reboots rather than leave it running half booted.
    t.is(back.reset, REBOOT[target]);
  });

  test(`${target} loader: stored bytes it cannot use are no reason to stop (garbage records read as the factory default; an empty slot is reported)`, async (t) => {
    const { app } = await rig(target);
    const garbage = new Uint8Array(512).map((_, i) => (i * 89 + 7) & 255);
    garbage.set([0x48, 0x42, 0x43, 0x31]);
    const flash = factoryFlash(target, app, { assets: ASSETS });
    if (target === 'kaluma') {
      for (const i of [0, 1]) {
        flash.erase('flash', KALUMA_PARTITIONS.bootctl.sector + i);
        flash.load((KALUMA_PARTITIONS.bootctl.sector + i) * 4096, garbage);
      }
    } else {
      for (const i of [0, 1]) {
        const at = reservedAddress(flash, ESP32_BOOT.bootctl) + i * ESP32_BOOT.unit;
        flash.erase('flash', at / 4096);
        flash.load(at, garbage);
      }
    }
    const r = await boot(target, flash, 'silent');
    t.deepEqual(apps(r), ['[app] slot 0 trial false assets ok'], 'the factory default: slot A, its app text found in the slot');
    const empty = new EngineFlash();
    // ESP32: the Storage files as hoshi flash makes them, all erased.
    if (target === 'espruino') esp32Files(empty);
    const none = await boot(target, empty, 'silent');
    t.true(none.logs.includes('[hoshi] [loader] slot A holds no app'), none.logs.join('\n'));
    t.deepEqual(apps(none), []);
    t.is(none.reset, undefined);
    if (target === 'espruino') {
      const bare = await boot(target, new EngineFlash(), 'silent');
      t.true(bare.logs.includes('[hoshi] [loader] no boot record or slot files in Storage: nothing to boot (hoshi flash makes them)'), bare.logs.join('\n'));
      t.deepEqual(apps(bare), []);
    }
  });
}

test('espruino loader: a Storage area it cannot walk (stored bytes: headers that run past the area, zero sizes, garbage) is no reason to stop; the files after a deleted one are still found', async (t) => {
  const word = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
  const header = (size: number, name: string): number[] => word(size).concat(Array.from({ length: 28 }, (_, i) => (i < name.length ? name.charCodeAt(i) : 0)));
  const S = 0x320000;
  const cases: [string, number[]][] = [
    ['random bytes', Array.from({ length: 4096 }, (_, i) => (i * 151 + 17) & 255)],
    ['a header whose file runs past the area', header(0xe0000, 'hoshi.bc')],
    ['a size of zero', header(0, 'hoshi.bc')],
    ['a name without its end', header(12256, 'hoshi.bc-and-a-name-longer-than-28')],
  ];
  for (const [what, bytes] of cases) {
    const flash = new EngineFlash();
    flash.load(S, bytes);
    const r = await boot('espruino', flash, 'silent');
    t.is(r.reset, undefined, what);
    t.true(r.logs.includes('[hoshi] [loader] no boot record or slot files in Storage: nothing to boot (hoshi flash makes them)'), what + ': ' + r.logs.join('\n'));
  }
  // A deleted file first (its name's first 4 bytes 0, jsflash.c jsfEraseFileInternal), then the
  // unit's files, which therefore start off a sector boundary: each region still starts on one.
  const { app } = await rig('espruino');
  const flash = new EngineFlash();
  flash.storageWrite('old', new Uint8Array(100).fill(7));
  flash.load(S + 4, [0, 0, 0, 0]);
  for (const f of RESERVED_FILES) flash.storageWrite(f.name, new Uint8Array(0), f.size);
  t.not(flash.storageFile('hoshi.a')!.data % 4096, 0);
  t.is(reservedAddress(flash, 'hoshi.a') % 4096, 0);
  const kept = factoryFlash('espruino', app, { assets: ASSETS, flash });
  t.is(kept.storageFiles()[0]!.deleted, true);
  const r = await boot('espruino', kept, 'silent');
  t.deepEqual(apps(r), ['[app] slot 0 trial false assets ok']);
});

test('the loader\'s own cost: the same image booted directly and through the loader (engine check figures)', async (t) => {
  for (const target of TARGETS) {
    const { app, loader } = await rig(target);
    const direct = await runInEngine(app, target, { library: true, budgetBytes: 16 * 1024 * 1024, assets: ASSETS, prelude: 'globalThis.__appMode = "silent";' });
    const through = await boot(target, factoryFlash(target, app, { assets: ASSETS }), 'silent', 10);
    t.true(direct.booted && through.booted);
    t.log(target + ': loader ' + loader.length + ' bytes; image alone ' + direct.bootBytes + ' bytes after boot (peak ' + direct.peakBytes + '), through the loader ' + through.bootBytes + ' (peak ' + through.peakBytes + ')');
  }
  t.pass();
});

test('partedText: the same program in parts of at most the given size (a longer piece alone), names global, functions hoisted; the whole still a script', (t) => {
  const code = [
    "'use strict';var __hm;",
    'var n=1,m;',
    'function twice(x){return 2*x}',
    'log("start "+twice(n)+" "+typeof later+" "+m);',
    'HOSHI:{n=n+1}',
    'm=function(){return n}',
    'if(n>1){log("if "+m())}',
    'function later(){return "late"}',
    'var big="' + 'x'.repeat(300) + '";',
    'for(var i=0;i<3;i++)n+=i;',
    'log("end "+n+" "+later()+" "+big.length+" "+this.n)',
  ].join('\n');
  const run = (text: string, parted: boolean): string[] => {
    const lines: string[] = [];
    const sandbox: { [k: string]: unknown } = { log: (s: string) => lines.push(s) };
    sandbox.global = sandbox;
    const context = createContext(sandbox);
    if (!parted) new Script(text).runInContext(context);
    else {
      const head = /^\/\*parts:([\d,]+)\*\/\n/.exec(text)!;
      let at = head[0].length;
      const fns = head[1]!.split(',').map((n) => {
        const part = text.slice(at, at + Number(n));
        at += Number(n);
        return new Script('(function () {' + part + '\n})').runInContext(context) as () => void;
      });
      t.is(at, text.length, 'the table covers the text');
      for (const f of fns) f.call(sandbox);
    }
    return lines;
  };
  const parted = partedText(code, 128);
  const lengths = /^\/\*parts:([\d,]+)\*\//.exec(parted)![1]!.split(',').map(Number);
  t.true(lengths.length > 2);
  for (const n of lengths) t.true(n <= 128 || n > 300, 'a part holds at most 128 bytes unless one piece is longer');
  t.deepEqual(run(parted, true), run(code, false));
  t.deepEqual(run(parted, false), run(code, false), 'loaded at once, the same');
  t.deepEqual(run(code, false), ['start 2 function undefined', 'if 2', 'end 5 late 300 5']);
  t.throws(() => partedText("'use strict';let a=1;"), { message: /top-level let refused/ });
  t.throws(() => partedText("'use strict';class A{}"), { message: /top-level class refused/ });
});

test('the smart plug, its Kaluma text in parts, boots the same as the program text in the engine check', async (t) => {
  const { buildImage } = await import('../firmware/host/build');
  const built = await buildImage('smart-plug', 'kaluma');
  const parted = partedText(built.code);
  const big = Math.max(...(/^\/\*parts:([\d,]+)\*\//.exec(parted)![1]!.split(',').map(Number)));
  t.log('smart-plug kaluma: ' + built.code.length + ' bytes, in parts ' + parted.length + ' (largest part ' + big + ')');
  const report = await runInEngine(parted, 'kaluma', { budgetBytes: 16 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
  t.true(report.booted, report.error);
  t.is(report.replies[0]!.status, 200);
});

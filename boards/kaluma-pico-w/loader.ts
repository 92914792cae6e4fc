import type { LoaderHandle } from '../../hal/board';
import { runLoader } from '../../firmware/device/loader';
import { Asset, openAssets } from '../../firmware/device/core/assets';
import { assetsOf, type BootRecord } from '../../firmware/device/core/bootctl';
import { loadCode } from '../../firmware/device/core/code';
import { openMessages } from '../../firmware/device/core/messages';
import type { loaderCheck } from '../../modules/ota/slot-check';
import { kalumaFlash, KALUMA_PARTITIONS } from './board';

/**
 * The fixed loader of Kaluma boards (the Pico W and the Pico): the program area's only text
 * (docs/formats/update.md §7). Kaluma parses the program area at every boot (src/runtime.c
 * km_runtime_load; src/prog.c: a first byte 0xFF means no program), so `hoshi flash` writes this
 * there once and nothing rewrites it afterwards: a power cut while the program area is rewritten
 * would leave no program at all.
 *
 * The image runs from its slot. One string of a whole image, its parse and its bytecode do not fit
 * JerryScript's 180 KB heap together past ≈ 75 KB of text, and running out there is fatal (jerry
 * port: exit), so the image's text comes in parts (firmware/host/loader-build.ts `partedText`: a
 * first line `/*parts:L0,L1,…*\/`): each part is read from the slot (TextDecoder, src/global.c),
 * made a function, and its text dropped before the next is read; once all are made, each runs with
 * `this` the global object, as a script's top level does. A text without the part table is made one
 * function (a small image). Nothing of the image runs before all of it compiled: a part that does
 * not compile is a crash at boot, with nothing half set up.
 *
 * That is done by the program's last statement (loader-build.ts KALUMA_TAIL), after this bundle's
 * function has returned: `run` only says which slot and how long its text is (`global.__hoshiBoot`,
 * with `crashed`, which the tail calls if the image throws while it compiles or boots: logged, its
 * deadline cleared, the device rebooted, as firmware/device/loader.ts does) and leaves plain data
 * the image's board makes its handle of (`global.__hoshiLoader`). Once the program has run, nothing
 * references the loader's code (nor its boot record) and JerryScript frees it (on a trial boot the
 * deadline's timer keeps the loader until it is cleared); its literals stay (see below).
 *
 * JerryScript keeps every literal of a parsed text until the next restart (its literal storage), so
 * the loader's own literals would stay in the heap for the image's whole life. Its log lines and
 * errors are therefore in a message table (firmware/host/strings.ts), which the build writes as
 * the program text's first bytes, in hex inside a comment the parser skips
 * (firmware/host/loader-build.ts `kalumaLoaderText`); the loader reads it from the program area, its
 * own flash (src/prog.c writes the program from the area's first byte), as `__hm` needs a line. The
 * names of §6 codes are not in the loader either: it writes their numbers (core/bootctl.ts Reason).
 *
 * The watchdog (src/modules/wdt/module_wdt.c) is armed only by `feed` (a verification in the
 * loader) and by `reboot`: once armed it cannot be disarmed, and Kaluma's Wi-Fi join blocks the
 * whole VM for up to 30 s (module_pico_cyw43.c), past the RP2040's ≈ 8.3 s longest timeout. After a
 * verification the loader feeds it from a timer while the image runs.
 */
declare function require(name: string): any;
declare const global: any;

/** Loader constants (a const enum: the bundler writes the values into the code). */
const enum Loader {
  /** Trial boots a verified slot gets. */
  TRIES = 3,
  /** How long a trial image has to confirm (its store open, its HTTP server listening), ms. */
  CONFIRM_MS = 120000,
  /** The watchdog's timeout while armed, ms (the RP2040 allows ≈ 8,388 at most), and how often it is fed. */
  WDT_MS = 8000,
  FEED_MS = 2000,
  /** The program area's first sectors, which hold the loader's text (and nothing else: 32 KB). */
  SECTOR = 4,
  SECTORS = 8,
  /** Where the message table's hex starts in the text (after the comment's slash and star), and its longest. */
  TABLE = 2,
  TABLE_MAX = 16383,
}

/** A hex digit's value (the table's digits are 0-9 and a-f; anything else reads as some digit: the table's id check refuses it). */
function nibble(c: number): number {
  return c < 58 ? c - 48 : (c | 32) - 87;
}

// The messages first: every log line after this reads its text from the table.
const text = kalumaFlash(Loader.SECTOR, Loader.SECTORS);
openMessages(function (at: number, n: number): Uint8Array {
  const hex = text.read(Loader.TABLE + 2 * at, 2 * n);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
  return out;
}, Loader.TABLE_MAX);

const P = KALUMA_PARTITIONS;
const slots = [kalumaFlash(P.slots[0].sector, P.slots[0].count), kalumaFlash(P.slots[1].sector, P.slots[1].count)];
let wdt: any;
/** The trial's deadline timer (the loader arms it just before `run`). */
let deadline: number | undefined;

function feed(): void {
  if (!wdt) wdt = new (require('wdt').WDT)(Loader.WDT_MS);
  wdt.feed();
}

/**
 * Verifies `slot` (docs/formats/update.md §8) with the whole heap, before any image runs: the
 * running image received it and checked its head and digest; here its key, counter and signature.
 * The verifier (asset 4) and the check (asset 8) come from the active slot, whose image was itself
 * verified (the kit's Ed25519 in steps, with its own SHA-512: firmware/host/verifier-asset.ts); the
 * watchdog is fed between its steps (each at most ≈ 6 M instructions, under half a second on a Pico).
 */
function verify(slot: number, record: BootRecord, fed: () => void): number {
  fed();
  const active = record.active;
  // The verifier and the check, both from the active slot's assets (code read on demand: the
  // loader's own text stays small, and nothing of them is left in a normal boot's heap).
  const assets = openAssets(assetsOf(slots[active], record.slots[active].app));
  const make = loadCode(assets, Asset.VERIFIER) as (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512: undefined) => { step(): number };
  fed();
  const check = (loadCode(assets, Asset.CODE_SLOT_CHECK) as typeof loaderCheck)(slots, slot, record, kalumaFlash(P.provisioning.sector, P.provisioning.count), function (publicKey, message, signature) {
    return make(publicKey, message, signature, undefined);
  });
  for (;;) {
    fed();
    const r = check.step();
    if (r === '') return 0;
    if (r !== 0) {
      console.log('[hoshi] [loader] ' + r + ': ' + check.reason);
      return check.index(r as string);
    }
  }
}

runLoader({
  bootctl: kalumaFlash(P.bootctl.sector, P.bootctl.count),
  verify: verify,
  restartAfterVerify: true,
  slots: slots,
  tries: Loader.TRIES,
  confirmWithinMs: Loader.CONFIRM_MS,
  feed: feed,
  // No reboot API: the watchdog with a 1 ms timeout, never fed (as boards/kaluma-pico-w/board.ts).
  reboot: function (reason: string): void {
    console.log('[hoshi] reboot: ' + reason);
    wdt = new (require('wdt').WDT)(1);
  },
  log: function (line: string): void {
    console.log('[hoshi] ' + line);
  },
  run: function (slot: number, app: number, handle: LoaderHandle): void {
    // What the image's board makes its handle of (boards/kaluma-pico-w/board.ts kalumaSlots):
    // plain data, the trial's deadline timer included, and no function (the loader's own handle
    // would keep the whole loader alive for the image's life).
    global.__hoshiLoader = { slot: handle.slot, trial: handle.trial, floor: handle.floor, t: handle.trial ? deadline : undefined, n: handle.notes };
    if (wdt) setInterval(feed, Loader.FEED_MS);
    // `crashed` is the tail's to call if the image throws while it compiles or boots (as
    // firmware/device/loader.ts start does); the tail drops its reference once the image has run.
    global.__hoshiBoot = {
      slot: slot,
      sector: P.slots[slot].sector,
      count: P.slots[slot].count,
      app: app,
      crashed: function (error: any): void {
        handle.confirmed();
        console.log('[hoshi] [loader] slot ' + 'AB'.charAt(slot) + ' crashed at boot: ' + String((error && error.message) || error));
        console.log('[hoshi] reboot: crash');
        wdt = new (require('wdt').WDT)(1);
      },
    };
  },
  setTimer: function (ms: number, fn: () => void): unknown {
    deadline = setTimeout(fn, ms);
    return deadline;
  },
  clearTimer: function (timer: unknown): void {
    clearTimeout(timer as number);
  },
});

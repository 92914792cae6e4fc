import type { LoaderHandle } from '../../hal/board';
import type { Flash } from '../../hal/flash';
import { runLoader } from '../../firmware/device/loader';
import { ESP32_BOOT, reservedFlash } from './board';

/**
 * The fixed loader of the ESP32 with Espruino: the Storage file `.bootcde`, which Espruino runs at
 * every boot (docs/formats/update.md §7). The image runs from its slot's Storage file: eval() of
 * the string Storage.read returns, which is mapped onto the flash (src/jsflash.c jsfReadFile,
 * jsvAddressToVar), so the image's functions keep their code in flash as `.bootcde`'s do. The
 * boot record and the slots are the regions inside their Storage files that the device erases and
 * programs itself (board.ts `reservedFlash`): Storage never moves them.
 *
 * Espruino's eval runs in the scope it is called from (src/jswrap_functions.c jswrap_eval). Called
 * inside a function, every closure of the image would keep that scope: measured on Espruino 2v29,
 * 477 variables more than at the top level of `.bootcde`. So `run` only says what to run
 * (`global.__hoshiBoot`), and the eval is the bundle's last statement, at the top level
 * (firmware/host/loader-build.ts wraps this bundle in a function and adds that statement): the
 * image's top-level names are globals, as when it was `.bootcde` itself, and the loader's own names
 * are locals of its function, which the image cannot reach. An image that throws while it boots is
 * handled as firmware/device/loader.ts does: logged, its trial deadline cleared, the device rebooted.
 *
 * The watchdog (E.enableWatchdog, src/jswrap_espruino.c; ESP32: the task watchdog, whole seconds)
 * is armed only by `feed` (a verification in the loader), in automatic mode: Espruino kicks it from
 * its idle loop afterwards, so an image that returns to the event loop keeps it quiet and one that
 * hangs resets the chip.
 */
declare function require(name: string): any;
declare const E: any;
declare const global: any;

/** Loader constants (a const enum: the bundler writes the values into the code). */
const enum Loader {
  /** Trial boots a verified slot gets. */
  TRIES = 3,
  /** How long a trial image has to confirm (its store open, its HTTP server listening), ms. */
  CONFIRM_MS = 120000,
  /** The watchdog's timeout once armed, seconds. */
  WDT_S = 10,
  /** Where the slot's payload starts (§4). */
  PAYLOAD = 4096,
}

let armed = false;
/** The trial's deadline timer (the loader arms it just before `run`). */
let deadline: number | undefined;

const bootctl = reservedFlash(ESP32_BOOT.bootctl, 2 * ESP32_BOOT.unit);
const slots = [reservedFlash(ESP32_BOOT.slots[0], ESP32_BOOT.slotSize), reservedFlash(ESP32_BOOT.slots[1], ESP32_BOOT.slotSize)];

if (!bootctl || !slots[0] || !slots[1]) console.log('[hoshi] [loader] no boot record or slot files in Storage: nothing to boot (hoshi flash makes them)');
else runLoader({
  bootctl: bootctl,
  slots: slots as Flash[],
  tries: Loader.TRIES,
  confirmWithinMs: Loader.CONFIRM_MS,
  feed: function (): void {
    if (!armed) E.enableWatchdog(Loader.WDT_S, true);
    armed = true;
    E.kickWatchdog();
  },
  reboot: function (reason: string): void {
    console.log('[hoshi] reboot: ' + reason);
    E.reboot();
  },
  log: function (line: string): void {
    console.log('[hoshi] ' + line);
  },
  run: function (slot: number, app: number, handle: LoaderHandle): void {
    // The image's handle: plain data, and a `confirmed` made from text, which closes over nothing
    // here (the loader's own handle would keep the loader's boot record and state alive).
    const light = { slot: handle.slot, trial: handle.trial, floor: handle.floor, notes: handle.notes, t: handle.trial ? deadline : undefined, confirmed: new Function('if (this.t !== undefined) clearTimeout(this.t); this.t = undefined; this.trial = false;') };
    global.__hoshiLoader = light;
    global.__hoshiBoot = {
      file: ESP32_BOOT.slots[slot],
      offset: slots[slot]!.base + Loader.PAYLOAD,
      app: app,
      crashed: function (error: any): void {
        light.confirmed();
        console.log('[hoshi] [loader] slot ' + 'AB'[slot] + ' crashed at boot: ' + String((error && error.message) || error));
        console.log('[hoshi] reboot: crash');
        E.reboot();
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

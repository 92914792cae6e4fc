import { Asset } from '../../firmware/device/core/assets';
import { message } from '../../firmware/device/core/messages';
import type { HoshiModule, ModuleContext } from '../../firmware/device/core/module';
import type { Pin } from '../../hal/io';
import { Marker, WIPE_KEY, type WipeState } from './work';
import { wipeWork } from './work-code';

export { WIPE_KEY };

const enum Wipe {
  BUTTON_POLL_MS = 250,
  /** Polls the button must be held for a wipe: 10 s (3 s clears the lockout: modules/accounts). */
  BUTTON_HOLD = 40,
}

export interface WipeOptions {
  /**
   * A button per board (board name → pin, read low when pressed, as modules/accounts' clear button)
   * that wipes the unit when held for 10 seconds: the physical way, for a unit whose password is
   * lost. A board without one wipes through the admin API and the page only (docs/security.md, "Factory data wipe").
   */
  button?: { [board: string]: Pin };
}

/**
 * wipe: the factory data wipe (S1.1-15). Before disposal or resale the user deletes everything of
 * theirs, and the firmware stays:
 * - deleted: every store key that no module `keeps` (the password they set, so the label's comes back
 *   with the forced change; Wi-Fi credentials, so the setup access point opens again; the update
 *   pull's settings; product data and settings; the DRBG carry, re-instantiated at the next boot
 *   from the provisioning seed, fresh entropy and a new stamp); every task modules registered with
 *   `onWipe` (the security log forgets its entries); sessions and channel keys, by the restart;
 * - kept: the provisioning record (identity, device secret, label password, setup key), the
 *   firmware in its slots, the boot control record (version, anti-rollback counter, trusted keys),
 *   the assets, and the keys modules keep (the lockout's failure counter).
 *
 * Order, so that a power cut at any point leaves all or nothing, or a wipe resumed to completion at
 * the next boot: (1) one store commit deletes the keys and sets `wipe` (after it, nothing of the
 * user's can be read); (2) the `onWipe` tasks; (3) the store's purge erases every sector but the
 * live records' (so a byte scan of the flash finds none of the wiped values, plain or sealed);
 * (4) `wipe` is deleted; (5) the unit restarts. At start, a unit that finds `wipe` resumes at (2).
 *
 * `POST /api/wipe` (admin, body `{"confirm":"wipe"}`) and the admin page; a held button where the
 * board has one. Resident: the route, the button's poll and the check for a wipe to resume at start;
 * the work itself (work.ts) runs once in a unit's life, and a Kaluma image reads it from its assets
 * when it does (work-code.ts).
 */
export let wipe = function (options?: WipeOptions): HoshiModule {
  let once = true;
  HOSHI_HOST: once = false;
  if (once) wipe = undefined as never;
  let o = options || {};
  return {
    name: 'wipe',
    start: function (context: ModuleContext): void {
      const button = o.button && o.button[context.board.name];
      // A device starts its modules once: it lets go of the options (the route's function would keep them).
      let again = false;
      HOSHI_HOST: again = true;
      if (!again) o = undefined as never;
      // What the work reads and sets: the wipe is begun and has not failed.
      const w: WipeState = { context: context, running: false };
      const pending = context.store.get(Marker.KEY);
      if (pending) {
        // A wipe cut short: finished once every module has started (their onWipe tasks registered).
        try {
          wipeWork(context.assets, Asset.CODE_WIPE).resume(w, pending);
        } catch (error) {
          console.log(message('[wipe] the wipe begun before the restart cannot resume: ') + String((error as Error).message || error));
        }
      }

      context.route({
        method: 'POST',
        path: '/api/wipe',
        access: 'admin',
        handler: function (request, reply): void {
          wipeWork(w.context.assets, Asset.CODE_WIPE).post(w, request, reply);
        },
      });

      if (button !== undefined && context.board.io.read) {
        // (Its variables here: the route's function keeps none of them.)
        const pin = button;
        const read = context.board.io.read;
        let held = 0;
        context.every(Wipe.BUTTON_POLL_MS, function (): void {
          held = read(pin) ? 0 : held + 1;
          if (held === Wipe.BUTTON_HOLD && !w.running) wipeWork(w.context.assets, Asset.CODE_WIPE).button(w);
        });
      }
    },
  };
};

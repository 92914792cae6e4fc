import { json, problem, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';
import type { StoreChange } from '../../firmware/device/core/services';
import { bytesAscii } from '../../firmware/device/core/bytes';
import { message } from '../../firmware/device/core/messages';
import type { Pin } from '../../hal/io';

/** The store key that says a wipe has begun and is not finished (its value: what asked for it). */
export const WIPE_KEY = 'wipe';

const enum Wipe {
  /** How long the answer has to leave before the unit restarts, ms. */
  RESTART_MS = 600,
  BUTTON_POLL_MS = 250,
  /** Polls the button must be held for a wipe: 10 s (3 s clears the lockout: modules/accounts). */
  BUTTON_HOLD = 40,
}

export interface WipeOptions {
  /**
   * A button per board (board name → pin, read low when pressed, as modules/accounts' clear button)
   * that wipes the unit when held for 10 seconds: the physical way, for a unit whose password is
   * lost. A board without one wipes through the admin API and the page only (docs/wipe.md).
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
 * board has one.
 */
export let wipe = function (options?: WipeOptions): HoshiModule {
  let once = true;
  HOSHI_HOST: once = false;
  if (once) wipe = undefined as never;
  const o = options || {};
  return {
    name: 'wipe',
    start: function (context: ModuleContext): void {
      const store = context.store;
      let running = false;

      // (2)–(5): idempotent, so a resumed wipe runs them again.
      const finish = function (): void {
        const tasks = context.wipeTasks;
        for (let i = 0; i < tasks.length; i++) tasks[i]();
        store.purge();
        store.delete(WIPE_KEY);
        console.log('[wipe] done: restarting');
        context.board.power.reboot('wipe');
      };

      // (1): every key no module keeps, deleted in one commit with the marker set.
      const begin = function (source: string): void {
        const kept = context.keptKeys;
        const keys = store.keys();
        const changes: StoreChange[] = [];
        for (let i = 0; i < keys.length; i++) if (kept.indexOf(keys[i]) < 0 && keys[i] !== WIPE_KEY) changes.push({ key: keys[i] });
        const b = new Uint8Array(source.length);
        for (let i = 0; i < source.length; i++) b[i] = source.charCodeAt(i) & 0x7f;
        changes.push({ key: WIPE_KEY, value: b });
        store.commit(changes);
        running = true;
        console.log('[wipe] ' + changes.length + ' keys deleted (' + source + ')');
      };

      const later = function (): void {
        setTimeout(function (): void {
          try {
            finish();
          } catch (error) {
            // The marker stays: the next boot resumes.
            running = false;
            console.log('[wipe] not finished, resumed at the next boot: ' + String((error as Error).message || error));
          }
        }, Wipe.RESTART_MS);
      };

      const pending = store.get(WIPE_KEY);
      if (pending) {
        // A wipe cut short: finish it once every module has started (their onWipe tasks registered).
        console.log('[wipe] resuming the wipe asked by ' + bytesAscii(pending));
        running = true;
        later();
      }

      context.route({
        method: 'POST',
        path: '/api/wipe',
        access: 'admin',
        handler: function (request, reply): void {
          let confirm: unknown;
          try {
            confirm = (JSON.parse(bytesAscii(request.body)) as { confirm?: unknown }).confirm;
          } catch (_e) {
            confirm = undefined;
          }
          if (confirm !== 'wipe') return reply(problem(400, 'confirm-required', message('a wipe needs {"confirm":"wipe"}: it deletes every user setting and restarts the unit')));
          if (running) return reply(problem(409, 'wipe-running', message('a wipe is already running')));
          begin('admin');
          reply(json(202, { wiping: true, restart: true }));
          later();
        },
      });

      const pin = o.button && o.button[context.board.name];
      const read = context.board.io.read;
      if (pin !== undefined && read) {
        let held = 0;
        context.every(Wipe.BUTTON_POLL_MS, function (): void {
          held = read(pin) ? 0 : held + 1;
          if (held !== Wipe.BUTTON_HOLD || running) return;
          begin('button');
          later();
        });
      }
    },
  };
};

import type { LoaderHandle } from '../../hal/board';
import type { Flash } from '../../hal/flash';
import { message } from './core/messages';
import { appOf, Boot, readBootRecord, Reason, SlotState, writeBootRecord, type BootRecord } from './core/bootctl';

/**
 * The fixed loader's decisions (docs/formats/update.md §7), runtime-agnostic: each board's loader
 * entry (Kaluma's program-area text, Espruino's `.bootcde`, the host simulator) supplies the hooks
 * and calls `runLoader` once per boot.
 */
export interface LoaderHooks {
  /** The boot control partition (two halves: core/bootctl.ts). */
  bootctl: Flash;
  /** Slots A and B. */
  slots: Flash[];
  /** Trial boots a newly verified slot gets (N, e.g. 3). */
  tries: number;
  /** How long a trial image has to confirm before the loader reboots the device, ms. */
  confirmWithinMs: number;
  /** Feeds the board's watchdog (during a long verification). */
  feed(): void;
  /** Resets the device (a trial image that did not confirm in time, or one that crashed at boot). */
  reboot(reason: string): void;
  log(line: string): void;
  /**
   * Where the loader verifies (Kaluma): checks `slot` against the record (§8), calling `feed`
   * between slices; 0 when it passes, else the index of its §6 code in UPDATE_REASONS (the board
   * logs the code: the loader holds no code names). Absent where the image verifies.
   */
  verify?(slot: number, record: BootRecord, feed: () => void): number;
  /**
   * Restart once a verification has passed, instead of booting the slot in the same boot (Kaluma:
   * the watchdog a verification armed cannot be disarmed, and the image's Wi-Fi join blocks longer
   * than its longest timeout). The trial boots then start at the next boot, with all their tries.
   */
  restartAfterVerify?: boolean;
  /** Evaluates `slot`'s app text (`app` bytes). Throws if the image crashes at boot. */
  run(slot: number, app: number, handle: LoaderHandle): void;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(timer: unknown): void;
}

const NAMES = 'AB';

function version(r: BootRecord, slot: number): string {
  const v = r.slots[slot].version;
  return NAMES[slot] + ' ' + v[0] + '.' + v[1] + '.' + v[2];
}

/**
 * Reads the boot control record and boots a slot (§7):
 * 1. the inactive slot in state *verify*: where the board verifies (`hooks.verify`), verifies it
 *    (feeding the watchdog) and makes it the trial slot with `tries` trial boots, or marks it *bad*
 *    with its reason (`package-malformed` if the verifier throws); a board without `verify` leaves
 *    it (its image verifies before asking). The
 *    inactive slot in state *verified* (the image verified it: the ESP32, the host) becomes the
 *    trial slot with `tries` trial boots;
 * 2. a trial slot with no tries left: marks it *bad* and boots the active slot. The reason is
 *    `not-confirmed` if at least one of its trial boots ran until its deadline without confirming,
 *    `trial-crashed` if none did (each stopped before its deadline: a crash, a watchdog reset, a
 *    power cut). How it tells: while a slot is on trial, its slot info's `reason` (otherwise 0
 *    until the slot is bad) is set to `not-confirmed` by the deadline, before it reboots;
 * 3. a trial slot with tries left: decrements them (the record written first), boots it, and
 *    reboots the device unless it confirms (`handle.confirmed()`) within `confirmWithinMs`. At the
 *    deadline the record is read again: a slot no longer on trial (its image wrote the confirming
 *    record but did not say so) is not rebooted;
 * 4. otherwise boots the active slot. An active slot that is not *good* (no writer leaves one) is
 *    replaced by the other slot if that one is good and not below the counter floor; otherwise the
 *    active slot boots anyway (the loader never leaves the device without an image it could run).
 * A record naming a trial slot that is not in state *trial*, or the active slot as trial, is
 * repaired first (no trial). An image that throws while it boots (a crash) reboots the device, as
 * the watchdog would. Each record change is one writeBootRecord.
 */
export function runLoader(h: LoaderHooks): void {
  const r = readBootRecord(h.bootctl);
  // What the image's security log records of this boot (LoaderHandle.notes).
  const notes: string[] = [];
  const other = 1 - r.active;
  const candidate = r.slots[other];
  if (candidate.state === SlotState.VERIFY) {
    if (h.verify) {
      h.log('[loader] verifying slot ' + version(r, other));
      let code: number = Reason.PACKAGE_MALFORMED;
      // A verifier that throws (on bytes it should have refused) must not reset the device into
      // the same verification at every boot: the slot is refused instead.
      try {
        code = h.verify(other, r, h.feed);
      } catch (error) {
        h.log('[loader] verifier failed: ' + String((error as Error).message || error));
      }
      h.feed();
      if (code === 0) {
        // Written below, with the first trial boot's decrement: one record write.
        candidate.state = SlotState.TRIAL;
        candidate.reason = 0;
        r.trial = other;
        r.tries = h.tries;
        notes.push('update', version(r, other));
        if (h.restartAfterVerify) {
          writeBootRecord(h.bootctl, r);
          h.log('[loader] slot ' + NAMES[other] + ' verified: its trial starts at the next boot');
          h.reboot(message('verified'));
          return;
        }
      } else {
        // Out of range (a verifier of another build): package-malformed.
        if (!(code > 0 && code < Boot.REASONS)) code = Reason.PACKAGE_MALFORMED;
        h.log('[loader] slot ' + NAMES[other] + ' refused: reason ' + code);
        notes.push('update-refused', NAMES[other] + ' ' + code);
        candidate.state = SlotState.BAD;
        candidate.reason = code;
        if (r.trial === other) r.trial = Boot.NO_TRIAL;
        writeBootRecord(h.bootctl, r);
      }
    } else h.log('[loader] slot ' + NAMES[other] + ' waits for verification');
  } else if (candidate.state === SlotState.VERIFIED) {
    // Verified by the image (boards that verify in the running image): trial boots from here on.
    candidate.state = SlotState.TRIAL;
    candidate.reason = 0;
    r.trial = other;
    r.tries = h.tries;
  }
  if (r.trial !== Boot.NO_TRIAL && (r.trial === r.active || r.slots[r.trial].state !== SlotState.TRIAL)) {
    h.log('[loader] trial slot ' + NAMES[r.trial] + ' is not on trial: cleared');
    r.trial = Boot.NO_TRIAL;
    r.tries = 0;
    writeBootRecord(h.bootctl, r);
  }
  if (r.trial !== Boot.NO_TRIAL) {
    const slot = r.trial;
    const s = r.slots[slot];
    if (r.tries === 0) {
      const confirmed = s.reason === Reason.NOT_CONFIRMED;
      h.log('[loader] slot ' + version(r, slot) + ' reverted: ' + (confirmed ? 'not-confirmed' : 'trial-crashed'));
      notes.push('revert', version(r, slot) + (confirmed ? ' not-confirmed' : ' trial-crashed'));
      s.state = SlotState.BAD;
      s.reason = confirmed ? Reason.NOT_CONFIRMED : Reason.TRIAL_CRASHED;
      r.trial = Boot.NO_TRIAL;
      writeBootRecord(h.bootctl, r);
    } else {
      r.tries--;
      writeBootRecord(h.bootctl, r);
      h.log('[loader] slot ' + version(r, slot) + ' on trial, ' + r.tries + ' tries left after this');
      start(h, r, slot, true, notes);
      return;
    }
  }
  let slot = r.active;
  if (r.slots[slot].state !== SlotState.GOOD) {
    h.log('[loader] active slot ' + NAMES[slot] + ' is in state ' + r.slots[slot].state);
    // Never a slot below the counter floor: that would be the rollback the floor exists to stop.
    if (r.slots[1 - slot].state === SlotState.GOOD && r.slots[1 - slot].counter >= r.floor) slot = 1 - slot;
  }
  start(h, r, slot, false, notes);
}

/** Boots `slot`: on trial, with the deadline armed first. A crash at boot reboots the device. */
function start(h: LoaderHooks, r: BootRecord, slot: number, trial: boolean, notes: string[]): void {
  const app = appOf(h.slots[slot], r.slots[slot].app);
  if (app <= 0) {
    h.log('[loader] slot ' + NAMES[slot] + ' holds no app');
    return;
  }
  let timer: unknown;
  // `trial` turns false once the image has confirmed: it no longer runs on trial.
  const handle: { slot: number; trial: boolean; floor: number; notes: string[]; confirmed(): void } = {
    slot: slot,
    trial: trial,
    floor: r.floor,
    notes: notes,
    confirmed: function (): void {
      if (timer !== undefined) h.clearTimer(timer);
      timer = undefined;
      handle.trial = false;
    },
  };
  if (trial) {
    timer = h.setTimer(h.confirmWithinMs, function (): void {
      timer = undefined;
      const now = readBootRecord(h.bootctl);
      if (now.trial !== slot || now.slots[slot].state !== SlotState.TRIAL) return;
      if (now.slots[slot].reason !== Reason.NOT_CONFIRMED) {
        now.slots[slot].reason = Reason.NOT_CONFIRMED;
        writeBootRecord(h.bootctl, now);
      }
      h.log('[loader] slot ' + NAMES[slot] + ' did not confirm in time');
      h.reboot(message('not-confirmed'));
    });
  }
  h.log('[loader] booting slot ' + version(r, slot));
  try {
    h.run(slot, app, handle);
  } catch (error) {
    handle.confirmed();
    h.log('[loader] slot ' + NAMES[slot] + ' crashed at boot: ' + String((error as Error).message || error));
    h.reboot('crash');
  }
}

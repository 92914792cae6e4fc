import { bytesAscii } from '../../firmware/device/core/bytes';
import { message } from '../../firmware/device/core/messages';
import { json, problem, type HttpRequest, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import type { StoreChange } from '../../firmware/device/core/services';

/**
 * The factory wipe's work (index.ts has the order and why): it runs once in a unit's life, so it is
 * not resident on Kaluma: work-code.ts says where its code comes from. What stays resident is the
 * route, the button's poll and this state.
 */

/** The store key that says a wipe has begun and is not finished (its value: what asked for it). */
export const enum Marker {
  /** A const enum: the device code holds the literal, no variable. */
  KEY = 'wipe',
}
export const WIPE_KEY: string = Marker.KEY;

/** A unit's wipe: its module context, and whether a wipe runs (begun, not failed). */
export interface WipeState {
  context: ModuleContext;
  running: boolean;
}

const enum Work {
  /** How long the answer has to leave before the unit restarts, ms. */
  RESTART_MS = 600,
}

/** (2)–(5): idempotent, so a resumed wipe runs them again. */
function finish(w: WipeState): void {
  const context = w.context;
  const store = context.store;
  const tasks = context.wipeTasks;
  for (let i = 0; i < tasks.length; i++) tasks[i]();
  store.purge();
  store.delete(Marker.KEY);
  console.log('[wipe] done: restarting');
  context.board.power.reboot('wipe');
}

/** (2)–(5) once the answer has left; a failure leaves the marker, and the next boot resumes. */
function later(w: WipeState): void {
  setTimeout(function (): void {
    try {
      finish(w);
    } catch (error) {
      // The marker stays: the next boot resumes.
      w.running = false;
      console.log('[wipe] not finished, resumed at the next boot: ' + String((error as Error).message || error));
    }
  }, Work.RESTART_MS);
}

/** (1): every key no module keeps, deleted in one commit with the marker set. */
function begin(w: WipeState, source: string): void {
  const store = w.context.store;
  const kept = w.context.keptKeys;
  const keys = store.keys();
  const changes: StoreChange[] = [];
  for (let i = 0; i < keys.length; i++) if (kept.indexOf(keys[i]) < 0 && keys[i] !== Marker.KEY) changes.push({ key: keys[i] });
  const b = new Uint8Array(source.length);
  for (let i = 0; i < source.length; i++) b[i] = source.charCodeAt(i) & 0x7f;
  changes.push({ key: Marker.KEY, value: b });
  store.commit(changes);
  w.running = true;
  console.log('[wipe] ' + changes.length + ' keys deleted (' + source + ')');
}

/** `POST /api/wipe`: refused without `{"confirm":"wipe"}` or while a wipe runs; else (1) now, the rest once the answer has left. */
function post(w: WipeState, request: HttpRequest, reply: (response: HttpResponse) => void): void {
  let confirm: unknown;
  try {
    confirm = (JSON.parse(bytesAscii(request.body)) as { confirm?: unknown }).confirm;
  } catch (_e) {
    confirm = undefined;
  }
  if (confirm !== 'wipe') return reply(problem(400, 'confirm-required', message('a wipe needs {"confirm":"wipe"}: it deletes every user setting and restarts the unit')));
  if (w.running) return reply(problem(409, 'wipe-running', message('a wipe is already running')));
  begin(w, 'admin');
  reply(json(202, { wiping: true, restart: true }));
  later(w);
}

/** The button held: the same wipe as the admin's. */
function button(w: WipeState): void {
  begin(w, 'button');
  later(w);
}

/** At start, the marker found (`pending`: what asked for the wipe): finished once every module has started. */
function resume(w: WipeState, pending: Uint8Array): void {
  console.log('[wipe] resuming the wipe asked by ' + bytesAscii(pending));
  w.running = true;
  later(w);
}

/** The wipe's work: one object, whose code work-code.ts supplies. */
export const wipeWorkCode = { post: post, button: button, resume: resume };

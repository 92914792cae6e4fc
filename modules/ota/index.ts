import { Asset } from '../../firmware/device/core/assets';
import type { HoshiModule, HttpRequest, HttpResponse, ModuleContext, Route } from '../../firmware/device/core/module';
import { parseHttpUrl } from '../../firmware/device/core/http-client';
import { PullKey, type PullState } from './pull';
import type { UpdateWorker } from './worker';
import { updateWorker } from './worker-code';

/**
 * ota: signed updates of the application image (docs/formats/update.md; S1.1-06, -07, -08, -14).
 *
 * - `PUT /api/update/package` (admin, raw): the package in chunks, in order. The admin channel
 *   authenticates each request with a small protected request in its header, `{"offset": N,
 *   "crc": CRC-32 of the chunk}`; the chunk itself travels as sent (a package is public and
 *   signed: nothing in it is secret, and its bytes are bound by the signed digest). A chunk at
 *   another offset than the next one is refused with the offset expected, so a client resumes
 *   where the device stands; offset 0 starts again.
 * - The head (COSE_Sign1 and the payload's byte-string head) is checked as soon as it is in:
 *   trusted key, vendor, model, runtime, board, counter, version, size. A refused package writes
 *   nothing. Then the payload goes into the inactive slot as it arrives (RAM: one page and the
 *   head, whatever the image's size), and is hashed back from flash in slices.
 * - `POST /api/update/install` (admin): once the digest matches, the signature is verified (in
 *   slices here, or by the loader at the next boot: hal/update.ts), the slot marked for a trial
 *   boot, and the unit restarts.
 * - `GET /api/update` (admin): the whole state; `/api/info` shows the security counter and the
 *   update's phase (`context.status`).
 * - `DELETE /api/update` (admin): drops an upload in progress.
 *
 * The work is done by the update worker (worker.ts), created when one of these routes is called
 * and dropped once it is idle again: on Kaluma its code is then read from the image's assets
 * (worker-code.ts), so that it takes heap only during an update.
 *
 * - Pulling (pull.ts, docs/formats/update.md §10): with a release URL (the image's `releaseUrl`,
 *   or the owner's), the unit checks it every `checkEveryS` and installs what it finds, unless the
 *   owner turned that off (`GET`/`PUT /api/update/settings`, admin: `{"auto": …, "url": …}`, kept
 *   in the store); `POST /api/update/check` (admin) checks at once. The last check's time, result
 *   and reason are in `GET /api/update` (`check`). Only the schedule and these shims stay resident:
 *   the check itself is the worker's.
 *
 * Confirmation: an image booted on trial (board.loader.trial) confirms once it serves (its store
 * is open, its HTTP server listens): one boot-record write makes its slot the active one and
 * raises the counter floor to its counter.
 */

export interface OtaOptions {
  /** Restart this long after the last step, ms, so that the answer that caused it is sent (default 500). */
  restartDelayMs?: number;
  /**
   * `http://host[:port]/…/latest.cose`: where `hoshi publish`'s pointer for this model, runtime and
   * board is served (docs/formats/update.md §10). Unset (the default): the unit checks nothing
   * until its owner sets a URL. Set: it checks and installs by itself unless its owner opts out.
   */
  releaseUrl?: string;
  /** Seconds between two checks (default 86,400: a day). */
  checkEveryS?: number;
}

const PHASE_IDLE = 'idle';

export let ota = function (options?: OtaOptions): HoshiModule {
  let once = true;
  HOSHI_HOST: once = false;
  if (once) ota = undefined as never;
  const restartDelay = (options && options.restartDelayMs) || 500;
  const releaseUrl = (options && options.releaseUrl) || '';
  const every = (options && options.checkEveryS) || 86400;
  HOSHI_HOST: if (releaseUrl && !parseHttpUrl(releaseUrl)) throw new Error('ota: releaseUrl must be http://host[:port]/path, at most 200 bytes (no TLS on these runtimes)');
  HOSHI_HOST: if (!(every >= 1 && every <= 2147483 && every % 1 === 0)) throw new Error('ota: checkEveryS must be a whole number of seconds from 1 to 2,147,483');
  return {
    name: 'ota',
    // The owner's pull settings: one byte and a URL of at most 200 (pull.ts).
    reserve: [{ key: PullKey.KEY, bytes: 201, sealed: false }],
    start: function (context: ModuleContext): void {
      const board = context.board;
      // The partitions are looked at by the worker only (a Kaluma board makes them when asked).
      if (!board.update) {
        console.log('[hoshi] ota: this board has no update slots');
        return;
      }
      // The floor the loader read (a unit without it, an image run by itself: its worker reads the record when asked).
      context.status.securityCounter = board.loader ? board.loader.floor : 0;
      context.status.update = PHASE_IDLE;
      let worker: UpdateWorker | undefined;
      const get = function (): UpdateWorker {
        if (!worker) worker = updateWorker(context.assets, Asset.CODE_UPDATE_WORKER)(context, restartDelay);
        return worker;
      };
      // The last check, kept while the worker comes and goes.
      const pull: PullState = { url: releaseUrl, ended: -1, result: '', reason: '', version: '' };
      // A check: the worker made for it, and let go when it ends (unless an update goes on).
      const check = function (): HttpResponse {
        const w = get();
        const drop = function (): void {
          if (w.idle() && worker === w) worker = undefined;
        };
        const r = w.pull(pull, drop);
        if (r.status !== 202) drop();
        return r;
      };
      // Every route reaches the worker through one handler (one closure, not one per route): made
      // on first use, let go once idle.
      const handler = function (q: HttpRequest, reply: (response: HttpResponse) => void): void {
        if (q.path === '/api/update/check') return reply(check());
        const w = get();
        const done = function (response: HttpResponse): void {
          if (w.idle() && worker === w) worker = undefined;
          reply(response);
        };
        if (q.path === '/api/update/package') w.chunk(q, done);
        else if (q.path === '/api/update/install') w.install(done);
        else if (q.path === '/api/update/settings') done(w.settings(q, pull));
        else if (q.method === 'DELETE') w.cancel(done);
        else done(w.state(pull));
      };
      // Pulling needs a TCP client (hal/net `connect`): on a board without one, its routes and its
      // schedule are not there at all (nothing of them stays in the heap).
      const pulls = !!(board.net && board.net.connect);
      // Methods and paths as literals the handler also compares with: on Kaluma every literal stays
      // in the heap, a string made at run time (a split, a concatenation) costs it again.
      const methods = ['GET', 'PUT', 'POST', 'DELETE', 'GET', 'PUT', 'POST'];
      const paths = ['/api/update', '/api/update/package', '/api/update/install', '/api/update', '/api/update/settings', '/api/update/settings', '/api/update/check'];
      for (let i = 0; i < (pulls ? paths.length : 4); i++) {
        const route: Route = { method: methods[i], path: paths[i], access: 'admin', handler: handler };
        if (i === 1) route.raw = true;
        context.route(route);
      }
      // On schedule, only with automatic installs on (the owner's setting, else the image's URL): opted out, nothing is fetched.
      if (pulls) {
        context.every(every * 1000, function (): void {
          const s = context.store.get(PullKey.KEY);
          if (s && s.length > 0 && s[0] <= 1 ? s[0] === 1 && s.length > 1 : releaseUrl !== '') check();
        });
      }

      // A trial image confirms once it serves: the worker (read from flash on Kaluma) writes the
      // confirming record, and is let go again.
      if (board.loader && board.loader.trial) {
        context.whenServing(function (): void {
          get().confirm();
          worker = undefined;
        });
      }
    },
  };
};

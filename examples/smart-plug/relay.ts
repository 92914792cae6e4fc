import { Asset } from '../../firmware/device/core/assets';
import { json, problem, type HoshiModule, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import { bytesAscii } from '../../firmware/device/core/bytes';
import type { Pin } from '../../hal/io';
import { decodeSchedule, dueEntry, formatTime, Schedule, type ScheduleEntry } from './schedule';
import { scheduleCode } from './schedule-code';

/** Store keys of the relay's state (a const enum: the bundler writes them into the code). */
const enum Key {
  RELAY = 'relay.on',
  SCHEDULE = 'relay.schedule',
}
export const RELAY_KEY = Key.RELAY;
export const SCHEDULE_KEY = Key.SCHEDULE;

/**
 * The smart plug's product function: a relay on one output pin per board (`pins[board.name]`).
 * Its state and schedule are kept in the device's store (modules/store): after a power cut the plug
 * comes back as it was (off if nothing valid is stored).
 * - `GET /api/relay` (public): `{"on": false}`;
 * - `PUT /api/relay` (admin): body `{"on": true|false}`; anything else is refused with a reason;
 * - `GET /api/relay/schedule` (user) and `PUT /api/relay/schedule` (admin): daily switch times in UTC
 *   (examples/smart-plug/schedule.ts), applied once a minute while the board knows the wall time.
 * The router refuses those routes unless the access guard (modules/accounts) grants them (deny
 * by default).
 */
export let relay = function (pins: { [board: string]: Pin }): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) relay = undefined as never;
  return {
    name: 'relay',
    // The relay's state and schedule can always be stored, however full other keys make the store.
    reserve: [
      { key: Key.RELAY, bytes: 1, sealed: false },
      { key: Key.SCHEDULE, bytes: Schedule.MAX_ENTRIES * 3, sealed: false },
    ],
    start: function (context: ModuleContext): void {
      const pin = pins[context.board.name];
      if (pin === undefined) throw new Error('relay: no pin configured for board ' + context.board.name);
      const store = context.store;
      const stored = store.get(Key.RELAY);
      let on = stored !== undefined && stored.length === 1 && stored[0] === 1;
      const storedSchedule = store.get(Key.SCHEDULE);
      const decoded = storedSchedule && decodeSchedule(storedSchedule, once);
      if (storedSchedule && !decoded) console.log('[relay] stored schedule is not valid: ignored');
      let schedule: ScheduleEntry[] = decoded || [];
      let lastApplied = -1;
      context.board.io.write(pin, on);
      const set = function (wanted: boolean): void {
        if (wanted !== on) store.set(Key.RELAY, new Uint8Array([wanted ? 1 : 0]));
        context.board.io.write(pin, wanted);
        on = wanted;
      };
      context.every(20000, function (): void {
        const now = context.board.clock.wallTime();
        if (now === undefined) return;
        const due = dueEntry(schedule, now);
        const minute = Math.floor(now / 60000);
        if (due && minute !== lastApplied) {
          lastApplied = minute;
          set(due.on);
        }
      });
      // GET's handler; PUT answers with it too.
      const entries = function (_request: unknown, reply: (response: HttpResponse) => void): void {
        reply(json(200, { entries: schedule.map((e) => ({ at: formatTime(e.minute), on: e.on })) }));
      };
      context.route({ method: 'GET', path: '/api/relay/schedule', access: 'user', handler: entries });
      context.route({
        method: 'PUT',
        path: '/api/relay/schedule',
        access: 'admin',
        handler: function (request, reply): void {
          // The parser is read from the assets on Kaluma (schedule-code.ts) and let go once it has answered.
          const input = scheduleCode(context.assets, Asset.CODE_SCHEDULE)(request.body);
          if (!input.ok) {
            reply(problem(400, 'bad-schedule', input.reason));
            return;
          }
          store.set(Key.SCHEDULE, input.stored);
          schedule = input.entries;
          entries(request, reply);
        },
      });
      context.route({
        method: 'GET',
        path: '/api/relay',
        access: 'public',
        handler: function (_request, reply): void {
          reply(json(200, { on: on }));
        },
      });
      context.route({
        method: 'PUT',
        path: '/api/relay',
        access: 'admin',
        handler: function (request, reply): void {
          let body: unknown;
          try {
            body = JSON.parse(bytesAscii(request.body));
          } catch (error) {
            reply(problem(400, 'bad-json', 'the body is not JSON'));
            return;
          }
          const wanted = body !== null && typeof body === 'object' ? (body as { on?: unknown }).on : undefined;
          if (typeof wanted !== 'boolean') {
            reply(problem(400, 'bad-state', 'the body must be {"on": true} or {"on": false}'));
            return;
          }
          set(wanted);
          reply(json(200, { on: on }));
        },
      });
    },
  };
};

import type { HoshiModule, ModuleContext } from '../../firmware/device/image';
import { json, problem } from '../../firmware/device/router';
import { bytesAscii } from '../../firmware/device/bytes';
import type { Pin } from '../../hal/io';

/**
 * The smart plug's product function: a relay on one output pin per board (`pins[board.name]`),
 * off at boot.
 * - `GET /api/relay` (public): `{"on": false}`;
 * - `PUT /api/relay` (admin): body `{"on": true|false}`; anything else is refused with a reason.
 * Until an authentication module grants "admin", the router refuses the PUT (deny by default).
 */
export function relay(pins: { [board: string]: Pin }): HoshiModule {
  return {
    name: 'relay',
    start: (context: ModuleContext): void => {
      const pin = pins[context.board.name];
      if (pin === undefined) throw new Error('relay: no pin configured for board ' + context.board.name);
      let on = false;
      context.board.io.write(pin, false);
      context.route({ method: 'GET', path: '/api/relay', access: 'public', handler: (_request, reply) => reply(json(200, { on: on })) });
      context.route({
        method: 'PUT',
        path: '/api/relay',
        access: 'admin',
        handler: (request, reply) => {
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
          context.board.io.write(pin, wanted);
          on = wanted;
          reply(json(200, { on: on }));
        },
      });
    },
  };
}

import { message } from '../../firmware/device/core/messages';
import type { HoshiModule, ListenerDeclaration, ModuleContext } from '../../firmware/device/core/module';

/**
 * interfaces: what the unit has open, published (S1.1-13: unneeded risky interfaces are off, and a
 * scan finds nothing undeclared; docs/interfaces.md).
 *
 * At start it applies the image's console mode through the board once more (hal/console.ts
 * `restrict` is idempotent: boot applied it before anything opened; this call is for its report),
 * then lists every interface left open, each with what serves it:
 * - those the image declares (`config.interfaces`, core/module.ts): the HTTP server's TCP port,
 *   other TCP and UDP listeners, the setup access point (on a board that has one), the console
 *   when its mode is not "off", Bluetooth and USB with their purpose;
 * - those the board reports open although the image did not declare them: what the runtime or the
 *   hardware keeps open whatever the image asks (the Pico's USB REPL, the ESP32's download mode
 *   over its USB-serial bridge, its mDNS responder, its Bluetooth while NVS has it on), each with
 *   the board's reason. These are the unit's residual risks.
 *
 * It records `interfaces` with the names of what is open as declared, and `not-closed` with the
 * names of what the board could not close, in the security log (modules/audit; kept by boot until
 * the log opens), and
 * publishes the summary as `status.interfaces` (in `/api/info`: what is open is public, and the
 * summary is ★1 evidence), e.g. "tcp/80 setup-ap; not closed: usb". Names: `tcp/PORT`, `udp/PORT`,
 * `setup-ap`, and the board's (hal/console.ts `BoardInterface`), " (locked)" after a locked console
 * (a configured port 0 shows as `tcp/0`; the host simulator gives the image the port it picked).
 * Outgoing connections (`outgoing`) open nothing to the network and are not listed.
 *
 * Its work is done once, at start: on a device the module's code goes with the other modules'
 * once they have started, and what stays is the summary's string.
 */
export let interfaces = function (): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) interfaces = undefined as never;
  return {
    name: 'interfaces',
    start: function (context: ModuleContext): void {
      const d = context.config.interfaces;
      const report = context.board.console.restrict(d.console);
      // The names of what is open as declared, and of what the board could not close. Few
      // distinct literals: on Kaluma each stays in the heap for good.
      const open: string[] = ['tcp/' + d.http.port];
      const listeners = function (kind: string, list: ListenerDeclaration[] | undefined): void {
        if (list) for (let i = 0; i < list.length; i++) open.push(kind + list[i].port);
      };
      listeners('tcp/', d.tcp);
      listeners('udp/', d.udp);
      const wifi = context.board.net.wifi;
      if (d.setupAp && wifi && wifi.openAp) open.push('setup-ap');
      const board = report.interfaces ? report.interfaces.split(',') : [];
      const residual: string[] = [];
      for (let i = 0; i < board.length; i++) {
        const at = board[i].indexOf('=');
        const name = board[i].slice(0, at);
        const state = board[i].slice(at + 1);
        if (state === 'off') continue;
        const label = state === 'open' ? name : name + message(' (locked)');
        // Declared open: a board interface has its declaration field's name (hal/console.ts
        // `BoardInterface`); the console's field is its mode, declared unless "off".
        const declared = (d as unknown as { [field: string]: unknown })[name];
        if (name === 'console' ? declared !== 'off' : typeof declared === 'string') open.push(label);
        else residual.push(label);
      }
      const names = open.join(' ');
      const left = residual.join(' ');
      context.status.interfaces = names + (left ? message('; not closed: ') + left : '');
      // Two entries at most per boot (an entry costs a Pico most of a second, and room in the ring):
      // what is open as declared, and what the board could not close (its reasons: the board's
      // report, printed at boot, and docs/interfaces.md).
      context.event('interfaces', names);
      if (left) context.event('not-closed', left);
    },
  };
};

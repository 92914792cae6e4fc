import test from 'ava';
import type { HoshiModule, ImageConfig } from '../firmware/device/core/module';
import type { Image } from '../firmware/device/image';
import { compareWithDeclaration, declaredTcp, formatConformance, scanListeners } from '../firmware/host/port-scan';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import smartPlug from '../examples/smart-plug/image';
import { bindable } from './helpers';

/**
 * S1.1-13, "a scan finds nothing undeclared": the smart plug boots on the host simulator, its host
 * board bound to a loopback address of its own (boards/host/net.ts `address`), and every TCP port
 * 1-65535 of that address is tried (firmware/host/port-scan.ts). Ava runs other test files at the
 * same time in workers that listen on 127.0.0.1, and a process may listen on every address (0.0.0.0
 * or ::): such a listener answers on a control address too, where no unit listens, and is left out;
 * each port found is probed again on both. What stays must be what the image declares.
 *
 * Linux gives the loopback all of 127.0.0.0/8; a host that has only 127.0.0.1 cannot bind the
 * unit's own address, and the scan then says so and is skipped (no other address tells the unit's
 * ports from the other workers').
 */

/** Loopback addresses of this file's units and the control, away from 127.0.0.1. */
const UNIT = '127.77.13.1';
const ROGUE_UNIT = '127.77.13.2';
const CONTROL = '127.77.13.9';

/** Boots `image` on the simulator with its host board bound to `address`. */
function bootOn(image: Image, address: string): Promise<Simulator> {
  return startSimulator({ image, quiet: true, iterations: 4096, address });
}

test.serial('the smart plug on the simulator: every open TCP port of its address is declared', async (t) => {
  if (!(await bindable(UNIT)) || !(await bindable(CONTROL))) {
    t.log('this host cannot bind ' + UNIT + ': the scan needs an address of the unit\'s own');
    t.pass();
    return;
  }
  const sim = await bootOn(smartPlug, UNIT);
  t.teardown(() => sim.stop());
  const scan = await scanListeners(UNIT, { control: CONTROL });
  t.log(`${scan.probes} connection attempts in ${scan.ms} ms; left out (other processes' listeners): ${scan.others.join(', ') || 'none'}`);
  const declared = declaredTcp(smartPlug.config.interfaces, sim.device.port());
  const result = compareWithDeclaration(scan.open, declared);
  t.log(formatConformance(result, declared));
  t.true(result.ok, 'undeclared open ports: ' + result.undeclared.join(', '));
  t.deepEqual(scan.open, [sim.device.port()], 'the HTTP server, and nothing else');
  t.deepEqual(result.closed, []);
  // What the unit publishes says the same (modules/interfaces).
  const info = (await (await fetch('http://' + UNIT + ':' + sim.device.port() + '/api/info')).json()) as { status: { interfaces: string } };
  t.regex(info.status.interfaces, /^tcp\/\d+ setup-ap$/);
});

test.serial('an image that opens a listener it does not declare fails the comparison; declared, the same port passes', async (t) => {
  if (!(await bindable(ROGUE_UNIT)) || !(await bindable(CONTROL))) {
    t.log('this host cannot bind ' + ROGUE_UNIT + ': the scan needs an address of the unit\'s own');
    t.pass();
    return;
  }
  let extra = 0;
  // A product module that listens through the board's net besides the HTTP server.
  const rogue: HoshiModule = {
    name: 'rogue-listener (test)',
    start: (context) => {
      context.board.net.listen(0, () => ({ data: () => undefined, closed: () => undefined }), (server) => (extra = server.port()));
    },
  };
  const sim = await bootOn({ config: smartPlug.config, modules: [...smartPlug.modules, rogue] }, ROGUE_UNIT);
  t.teardown(() => sim.stop());
  t.true(extra > 0);
  const scan = await scanListeners(ROGUE_UNIT, { control: CONTROL });
  t.log(`${scan.probes} connection attempts in ${scan.ms} ms`);
  t.deepEqual(scan.open, [sim.device.port(), extra].sort((a, b) => a - b));
  const declared = declaredTcp(smartPlug.config.interfaces, sim.device.port());
  const result = compareWithDeclaration(scan.open, declared);
  t.false(result.ok);
  t.deepEqual(result.undeclared, [extra]);
  t.regex(formatConformance(result, declared), new RegExp('undeclared open TCP ports: ' + extra + '$'));
  // The same listener, declared with what serves it, passes.
  const config: ImageConfig = { ...smartPlug.config, interfaces: { ...smartPlug.config.interfaces, tcp: [{ port: extra, purpose: 'the product\'s own listener' }] } };
  t.true(compareWithDeclaration(scan.open, declaredTcp(config.interfaces, sim.device.port())).ok);
});

import type { Image } from '../device/image';
import { startSimulator } from './simulator';

/**
 * Runs an image on the host board until Ctrl+C: `[--dir DIR] [--port N] [--address A] [--analog PIN=VALUE]…`.
 * The simulated unit lives in DIR (default .hoshi/<model>), so a second start finds the same
 * flash. `--analog` connects a simulated analog input (a fraction of full scale); `inputs` are the
 * example's defaults (its manifest's "simulator.analog"); `assets`, the container written at every
 * power-on (default: built now).
 */
export async function runImage(image: Image, args: string[], inputs: { [pin: string]: number } = {}, assets?: Uint8Array): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = option('--dir') ?? '.hoshi/' + image.config.model;
  const port = Number(option('--port') ?? 8080);
  // A loopback address of the unit's own (127.0.0.2 …, Linux) sets it apart from this machine's
  // other listeners for a port scan (hoshi conform, docs/conformance.md).
  const address = option('--address');
  const analog: { [pin: string]: number } = { ...inputs };
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--analog') continue;
    const m = /^([^=]+)=([0-9.]+)$/.exec(args[i + 1] ?? '');
    if (!m) throw new Error('--analog takes PIN=VALUE, VALUE a fraction of full scale in [0, 1)');
    analog[m[1]!] = Number(m[2]);
  }
  const sim = await startSimulator({ image, dir, port, address, analog, assets });
  // Ctrl+C stops the unit from here on, while the report below is still being printed too.
  const stop = (): void => {
    sim.stop();
    console.log('\n[host] stopped; the flash keeps its state');
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log('[host] flash: ' + dir + '/flash.bin (boot ' + sim.boots + ')');
  console.log('[host] device info: ' + sim.url + '/api/info');
  console.log('[host] admin page: ' + sim.url + '/#k=<setup key> (the label\'s setup URL at this address; the key is in ' + dir + '/label.json)');
  for (const r of sim.device.routes) console.log('[host] ' + (r.method + ' ').padEnd(7) + sim.url + r.path + ' (' + r.access + ')');
  // The simulated radio: HTTP stays on the loopback address; the access point and the station are state.
  const ap = sim.wifi.ap();
  if (ap && ap.open) console.log('[host] setup access point "' + ap.ssid + '" open (WPA2; its passphrase is on the label: ' + dir + '/label.json, setupAp)');
  for (const ssid of Object.keys(sim.networks)) console.log('[host] simulated network in range: "' + ssid + '", passphrase "' + sim.networks[ssid] + '" (PUT /api/network/wifi joins it)');
  // What the unit publishes of its interfaces (modules/interfaces: S1.1-13), the board's own report.
  const info = (await (await fetch(sim.url + '/api/info')).json()) as { status?: { interfaces?: string } };
  if (info.status?.interfaces) console.log('[host] interfaces: ' + info.status.interfaces + (sim.device.console.notClosed.length ? ' (' + sim.device.console.notClosed.join('; ') + ')' : ''));
  if (sim.device.routes.some((r) => r.path === '/api/log')) console.log('[host] security log: npx hoshi log ' + sim.url + ' (verifies its chain)');
  if (sim.device.routes.some((r) => r.path === '/api/wipe')) console.log('[host] factory data wipe: the admin page, or POST /api/wipe {"confirm":"wipe"} (admin): the label\'s password and the setup access point come back');
  console.log('[host] Ctrl+C stops the device');
}

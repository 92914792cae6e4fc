import smartPlug from '../examples/smart-plug/image';
import { memoryBacking } from '../boards/host/flash';
import { changePassword, login, setWifi, wifiState } from '../firmware/host/client';
import { SIM_HOME_NETWORK, startSimulator } from '../firmware/host/simulator';
import { parseSetupKey } from '../modules/channel/setup';
import { table } from './crypto';

/**
 * The factory wipe's cost (modules/wipe): a smart plug in use on the host simulator (password
 * changed, Wi-Fi set, update settings and the relay stored, its log holding the session's events),
 * wiped through the admin channel: the flash operations of the wipe's power-on, from the request to
 * the restart (the store's commit and purge, the log's forget), and what they would take on the
 * boards' flash chips at their datasheets' typical times (W25Q16JV on a Pico W: 4 KB erase 45 ms,
 * 256-byte page program 0.4 ms; the ESP32-WROOM's 4 MB flash is of the same class).
 */
export async function wipeBench(): Promise<void> {
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, backing: memoryBacking(1024 * 1024) });
  try {
    const setupKey = parseSetupKey(sim.label!.setupKey)!;
    const password = 'Juniper-otter 47 lantern';
    await changePassword(await login(sim.url, sim.label!.defaultPassword, setupKey), setupKey, password, { iterations: 4096 });
    const s = await login(sim.url, password, setupKey);
    await setWifi(s, SIM_HOME_NETWORK.ssid, SIM_HOME_NETWORK.passphrase);
    for (let i = 0; i < 100 && !(await wifiState(s)).joined; i++) await new Promise((r) => setTimeout(r, 20));
    await s.call('PUT', '/api/update/settings', { auto: false, url: 'http://updates.example.net/hs-plug-01/latest.cose' });
    await s.call('PUT', '/api/relay', { on: true });
    const flash = sim.flash;
    const before = { ops: flash.operations, programs: flash.programs, erases: flash.erases, programmed: flash.bytesProgrammed, erased: flash.bytesErased };
    const restarted = sim.nextBoot();
    const started = Date.now();
    const a = await s.call('POST', '/api/wipe', { confirm: 'wipe' });
    if (a.status !== 202) throw new Error('wipe: ' + a.status);
    await restarted;
    const wall = Date.now() - started;
    const programs = flash.programs - before.programs;
    const erases = flash.erases - before.erases;
    const estimate = (erases * 45 + programs * 0.4).toFixed(0);
    console.log('\nmodules/wipe: a factory wipe of the smart plug in use (host simulator; its power-on from the request to the restart)');
    table([
      ['flash operations', 'programs', 'erases', 'bytes programmed', 'bytes erased', 'flash time at typical chip timings', 'host wall time (incl. the 600 ms answer delay and the restart)'],
      [String(flash.operations - before.ops), String(programs), String(erases), String(flash.bytesProgrammed - before.programmed), String(flash.bytesErased - before.erased), '≈ ' + estimate + ' ms', wall + ' ms'],
    ]);
  } finally {
    sim.stop();
  }
}

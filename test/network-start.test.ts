import test from 'ava';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_PARTITIONS } from '../boards/espruino-esp32/board';
import { buildImage } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { encodeProvisioning, newProvisioningRecord, padTo, seedStateSector } from '../firmware/host/provision';

/**
 * The HTTP server opens once the board has a network. On Kaluma 1.2.1 a Pico W cannot listen while
 * its station is down (module_pico_cyw43.c throws "WiFi is not connected." from socket()), so a
 * unit that boots before its access point is up must open the server once Wi-Fi joins; and after
 * the network goes away and comes back, it serves again.
 */

const PASS = 'correct horse battery';

for (const [target, stateAt, size, write] of [
  ['kaluma', KALUMA_PARTITIONS.state.sector * 4096, KALUMA_PARTITIONS.state.count * 4096, 256],
  ['espruino', ESP32_PARTITIONS.state.address, ESP32_PARTITIONS.state.size, 4],
] as const) {
  test(`${target}: a unit that boots before its access point is up serves once it joins, and again after the network comes back`, async (t) => {
    const built = await buildImage('smart-plug', target);
    const record = newProvisioningRecord().record;
    const provisioningAt = target === 'kaluma' ? KALUMA_PARTITIONS.provisioning.sector * 4096 : ESP32_PARTITIONS.provisioning.address;
    const sector = seedStateSector(record, size, write, { ssid: 'Workshop', passphrase: PASS });
    const load = `__engine.flash.load(${provisioningAt}, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))});__engine.flash.load(${stateAt}, ${JSON.stringify(Array.from(sector))});`;
    const listening = '!!(__engine.server && __engine.server.listening)';
    const report = await runInEngine(built.code, target, {
      network: 'down',
      serverLater: true,
      prelude: load,
      timeoutMs: 120000,
      session: (e) => {
        // No access point yet: the join fails, and on the Pico W the server cannot listen.
        if (target === 'kaluma') t.false(e.js(listening), 'not listening without Wi-Fi');
        t.is(e.request({ method: 'GET', url: '/api/info', waitMs: 1000 }).status, 0);
        // The access point comes up; the Wi-Fi module retries every minute.
        e.js(`__engine.wifi.networks.Workshop = ${JSON.stringify(PASS)};`);
        e.advance(61000);
        t.is(e.js('__engine.wifi.joined'), 'Workshop');
        t.true(e.js(listening) as boolean);
        t.is(e.request({ method: 'GET', url: '/api/info' }).status, 200);
        // The access point goes away for two minutes, then comes back.
        e.js('delete __engine.wifi.networks.Workshop; __engine.wifi.drop();');
        e.advance(30000);
        t.is(e.request({ method: 'GET', url: '/api/info', waitMs: 1000 }).status, 0, 'no network, no answer');
        e.advance(90000);
        e.js(`__engine.wifi.networks.Workshop = ${JSON.stringify(PASS)};`);
        e.advance(61000);
        t.is(e.js('__engine.wifi.joined'), 'Workshop');
        t.is(e.request({ method: 'GET', url: '/api/info' }).status, 200, 'serves again');
      },
    });
    t.true(report.booted, report.error);
    if (target === 'kaluma') t.true(report.logs.some((l) => /HTTP server waits for the network: .*WiFi is not connected/.test(l)), report.logs.join('\n'));
    t.true(report.logs.some((l) => /listening on port 80/.test(l)));
    t.deepEqual(report.missing, []);
    t.deepEqual(report.swallowed, []);
  });
}

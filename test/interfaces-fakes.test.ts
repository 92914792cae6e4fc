import test from 'ava';
import { probeFake } from './helpers';

/**
 * What the ESP32 board's interface policy relies on in the Espruino fake (firmware/host/engine/
 * espruino.js), each behaviour as the runtime's source has it (espruino/Espruino at RELEASE_2V29):
 * what the runtime refuses, the fake refuses. Each probe returns what the call did: its result, or
 * the error it threw.
 */

const espruino = (probes: string[], prelude = ''): Promise<unknown[]> => probeFake('espruino', probes, prelude);

test('Espruino E.setConsole (src/jswrap_espruino.c, jsvReadConfigObject in src/jsvar.c): null is no console, force keeps it there; unknown devices, options and option types refused', async (t) => {
  t.deepEqual(
    await espruino([
      '[__engine.console, __engine.consoleForced]',
      '(E.setConsole(null, { force: true }), [__engine.console, __engine.consoleForced])',
      '(E.setConsole("Serial1"), [__engine.console, __engine.consoleForced])',
      'E.setConsole("USB")',
      'E.setConsole(42)',
      'E.setConsole(null, { forced: true })',
      'E.setConsole(null, "force")',
      'E.setConsole(null, null)',
      '(E.setConsole("Telnet", undefined), __engine.console)',
    ]),
    [
      '[null,null]',
      '[null,true]',
      '["Serial1",false]',
      'Error: Unknown device type',
      'Error: Unknown device type',
      'Error: Unknown option "forced"',
      'Error: Expecting Object or undefined, got string',
      'Error: Expecting Object or undefined, got null',
      '"Telnet"',
    ],
  );
});

test('Espruino TelnetServer.setOptions (libs/network/telnet/jswrap_telnet.c): on at start on the ESP32; "on" or "off" only; a non-object refused, a mode that is not a string ignored', async (t) => {
  const T = 'require("TelnetServer")';
  t.deepEqual(
    await espruino([
      '__engine.telnet',
      `(${T}.setOptions({ mode: "off" }), __engine.telnet)`,
      `${T}.setOptions({ mode: "closed" })`,
      `${T}.setOptions("off")`,
      `${T}.setOptions()`,
      `(${T}.setOptions({ mode: 1 }), __engine.telnet)`,
      `(${T}.setOptions({ mode: "on" }), __engine.telnet)`,
    ]),
    ['"on"', '"off"', 'Error: Unknown mode value', 'Error: Expecting Object, got string', 'Error: Expecting Object, got undefined', '"off"', '"on"'],
  );
});

test('Espruino ESP32.getState and ESP32.enableBLE (targets/esp32/jswrap_esp32.c, jshardwareESP32.c, src/jsflash.c): Bluetooth on by default in NVS; turning it off erases .bootcde, .varimage and .bootrst, and restarts', async (t) => {
  const S = 'require("Storage")';
  t.deepEqual(
    await espruino([
      '[ESP32.getState().BLE, ESP32.getState().Wifi]',
      `(${S}.write(".bootcde", "loader"), ${S}.write(".bootrst", "x"), ${S}.write("product.json", "{}"), ${S}.list().sort())`,
      '(ESP32.enableBLE(false), __engine.reset)',
      `${S}.list()`,
      'ESP32.getState().BLE',
    ]),
    ['[true,true]', '[".bootcde",".bootrst","product.json"]', '"reboot"', '["product.json"]', 'false'],
  );
  t.deepEqual(await espruino(['ESP32.getState().BLE'], '__engine.nvs.BLE = false;'), ['false'], 'a unit whose NVS has it off');
});

import type { Board } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { HttpHandler, HttpResponse, HttpServer, HttpServerOptions, Net, Wifi, WifiCredentials } from '../../hal/net';
import { receive } from '../common/http';
import { jsCrypto } from '../../modules/crypto/provider-js';

/**
 * Kaluma 1.2.1 on Raspberry Pi Pico W, wired to the HAL.
 *
 * Flash: Kaluma's flash area follows its 1008 KB firmware in 4 KB sectors
 * (targets/rp2/boards/pico-w/board.h): 0-3 key-value `storage`, 4-131 the app, 132-259 LittleFS.
 * Hoshi keeps its partitions in sectors Kaluma itself never writes (docs/architecture.md, "Flash
 * maps"): the provisioning record in sector 0 of the `storage` area (untouched unless code uses
 * `storage`, which Hoshi images may not: src/modules/startup/startup.js loads it lazily), and the
 * state in the LittleFS area past its first two blocks (board.js mounts LittleFS at boot and
 * writes only blocks 0-1 when it formats; Hoshi images may not write files). The app area is no
 * place for data: every `kaluma flash` erases all 128 of its sectors (src/prog.c km_prog_clear).
 * Writes are 256-byte pages: module_flash.c drops misaligned writes silently, so this binding
 * refuses them first.
 */
declare function require(name: string): any;
declare const board: { uid: string; name: string };
declare function millis(): number;
declare function micros(): number;
declare function pinMode(pin: number, mode: number): void;
declare function digitalWrite(pin: number, value: number): void;
declare function analogRead(pin: number): number;
declare const OUTPUT: number;
declare const process: any;
declare class TextEncoder {
  encode(text: string): Uint8Array;
}

/** Sector ranges, relative to Kaluma's flash area (the base of `new Flash(base, count)`). */
export const KALUMA_PARTITIONS = {
  provisioning: { sector: 0, count: 1 },
  state: { sector: 134, count: 32 },
};

const SECTOR = 4096;
const PAGE = 256;

/** Sectors [sector, sector + count) through require('flash') (src/modules/flash/module_flash.c). */
export function kalumaFlash(sector: number, count: number): Flash {
  const FlashClass = require('flash').Flash;
  const f = new FlashClass(sector, count);
  const size = count * SECTOR;
  const check = (what: string, offset: number, length: number, unit: number): void => {
    if (offset < 0 || length < 0 || offset + length > size) throw new Error(what + ': range outside the partition');
    if (offset % unit !== 0 || length % unit !== 0) throw new Error(what + ': offset and length must be multiples of ' + unit);
  };
  const read = (offset: number, length: number): Uint8Array => {
    // read() fills the whole buffer and ignores a view's byteOffset: always a fresh buffer.
    const out = new Uint8Array(length);
    if (length > 0) f.read(Math.floor(offset / SECTOR), out, offset % SECTOR);
    return out;
  };
  return {
    size: size,
    eraseSize: SECTOR,
    writeSize: PAGE,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      check('read', offset, length, 1);
      return read(offset, length);
    },
    write: (offset: number, data: Uint8Array): void => {
      check('write', offset, data.length, PAGE);
      const current = read(offset, data.length);
      // Bytes written as 0xff are not programmed (hal/flash.ts): only the others must be erased.
      for (let i = 0; i < data.length; i++) if (data[i] !== 0xff && current[i] !== 0xff) throw new Error('write: byte at ' + (offset + i) + ' is already programmed');
      const whole = data.byteOffset === 0 && data.length === data.buffer.byteLength ? data : new Uint8Array(data);
      f.write(Math.floor(offset / SECTOR), whole, offset % SECTOR);
      const back = read(offset, data.length);
      for (let i = 0; i < data.length; i++) if (back[i] !== (data[i] === 0xff ? current[i] : data[i])) throw new Error('write: verify failed at ' + (offset + i));
    },
    erase: (offset: number, length: number): void => {
      check('erase', offset, length, SECTOR);
      for (let at = offset; at < offset + length; at += SECTOR) f.ioctl(6, at / SECTOR);
    },
  };
}

function send(res: any, response: HttpResponse): void {
  const body = response.body === undefined ? new Uint8Array(0) : typeof response.body === 'string' ? new TextEncoder().encode(response.body) : response.body;
  const headers: { [name: string]: string } = {};
  const given = response.headers || {};
  const names = Object.keys(given);
  for (let i = 0; i < names.length; i++) headers[names[i]] = given[names[i]];
  headers['Connection'] = 'close';
  // Kaluma's ServerResponse always frames the body chunked (http.js): no Content-Length, or a
  // response would carry both. writeHead takes (status, message, headers).
  res.writeHead(response.status, response.status < 400 ? 'OK' : 'Error', headers);
  res.end(body);
}

/**
 * GPIO through Kaluma's globals (src/global.c): pinMode(pin, OUTPUT) once per pin, then
 * digitalWrite(pin, 0|1); analogRead(pin) on the ADC pins 26-28 (src/modules/adc: 0 ≤ v < 1).
 * Pins are GPIO numbers.
 */
export function kalumaIo(): Io {
  const outputs: { [pin: string]: boolean } = {};
  const gpio = (pin: Pin): number => {
    if (typeof pin !== 'number' || pin < 0 || pin > 29 || pin !== Math.floor(pin)) throw new TypeError('pin must be a GPIO number 0-29 on Kaluma');
    return pin;
  };
  return {
    write: (pin: Pin, high: boolean): void => {
      const n = gpio(pin);
      if (!outputs[n]) {
        pinMode(n, OUTPUT);
        outputs[n] = true;
      }
      digitalWrite(n, high ? 1 : 0);
    },
    analog: (pin: Pin): number => analogRead(gpio(pin)),
  };
}

/**
 * The Pico W's CYW43 station through require('wifi') (src/modules/wifi/wifi.js over
 * src/modules/pico_cyw43/module_pico_cyw43.c): connect() blocks up to 30 s in the driver, then calls
 * back with an error or the connection. `security` is always given so that wifi.js never falls
 * back to Kaluma's `storage` for it, and `enforce` so that it joins the stored network even if the
 * REPL joined another.
 */
function picoWifi(): Wifi {
  let instance: any;
  // One WiFi object: wifi.js sets the driver's callbacks (its 'disconnected' event) in the constructor.
  const station = (): any => {
    if (!instance) instance = new (require('wifi').WiFi)();
    return instance;
  };
  return {
    onDrop: (dropped: (reason: string) => void): void => {
      station().on('disconnected', () => dropped('the CYW43 lost the network'));
    },
    join: (credentials: WifiCredentials, done: (error?: string) => void): void => {
      const wifi = station();
      const info = {
        ssid: credentials.ssid,
        password: credentials.passphrase,
        security: credentials.passphrase ? 'WPA2_WPA_PSK' : 'OPEN',
        enforce: true,
      };
      wifi.connect(info, (error: any) => done(error ? 'the CYW43 could not join: ' + (error.message || String(error)) : undefined));
    },
  };
}

/** require('http') server (src/modules/http/http.js), Pico W only. */
function picoNet(): Net {
  return {
    wifi: picoWifi(),
    listen: (options: HttpServerOptions, handler: HttpHandler, ready: (server: HttpServer) => void): HttpServer => {
      const http = require('http');
      // http.js reads headers['Content-Length'] but stores names lower-case, so its 'end' comes
      // before later segments' 'data': receive() counts bytes for sized bodies.
      const server = http.createServer((req: any, res: any) => {
        receive(options, handler, req, (chunk: Uint8Array) => chunk, (response: HttpResponse) => send(res, response));
      });
      let listening = false;
      const handle: HttpServer = {
        port: (): number => (listening ? options.port : 0),
        close: (): void => server.close(),
      };
      server.listen(options.port, () => {
        listening = true;
        ready(handle);
      });
      return handle;
    },
  };
}

/** Kaluma 1.2.1 has no way to close or lock its USB REPL from JS (src/repl.c runs it always). */
function restrictConsole(mode: ConsoleMode): ConsoleReport {
  if (mode === 'open') return { state: 'open', notClosed: [] };
  return {
    state: 'open',
    notClosed: [
      'USB serial REPL: Kaluma 1.2.1 runs it always and JS cannot disable or lock it (needs a firmware build without the REPL)',
      'GP22 tied to GND at boot skips the app; BOOTSEL allows reflashing (physical access)',
    ],
  };
}

/** 16 bytes from rp2.randomBigInt() (pico_rand: ring oscillator and timers, not claimed to be cryptographic) mixed with micros(). */
function weakBytes(length: number): Uint8Array {
  const rp2 = require('rp2');
  const out = new Uint8Array(length);
  let hex = '';
  for (let i = 0; i < length; i++) {
    if (hex.length < 2) hex = rp2.randomBigInt().toString(16).padStart(32, '0');
    out[i] = parseInt(hex.slice(0, 2), 16) ^ (micros() & 0xff);
    hex = hex.slice(2);
  }
  return out;
}

/** A Kaluma board on the RP2040: the Pico W, or the Pico, which has the same flash map and no network. */
export function createKalumaBoard(name: string, model: string, net: Net): Board {
  // Holds the armed watchdog so nothing collects it before it fires.
  let wdt: any;
  return {
    name: name,
    identity: { uid: board.uid, model: model, hardwareRevision: board.name },
    clock: {
      now: (): number => millis(),
      wallTime: (): number | undefined => {
        const t = Date.now();
        return t > 1704067200000 ? t : undefined;
      },
    },
    crypto: jsCrypto,
    io: kalumaIo(),
    entropy: { quality: 'weak', bytes: weakBytes },
    net: net,
    power: {
      // No reboot API: arm the watchdog (src/modules/wdt) and stop feeding it.
      reboot: (reason: string): void => {
        console.log('[hoshi] reboot: ' + reason);
        const WDT = require('wdt').WDT;
        wdt = new WDT(1);
      },
    },
    console: { restrict: restrictConsole },
    partitions: {
      provisioning: kalumaFlash(KALUMA_PARTITIONS.provisioning.sector, KALUMA_PARTITIONS.provisioning.count),
      state: kalumaFlash(KALUMA_PARTITIONS.state.sector, KALUMA_PARTITIONS.state.count),
    },
    memory: (): { used: number; total: number } => {
      const m = process.memoryUsage();
      return { used: m.heapUsed, total: m.heapTotal };
    },
  };
}

export function createBoard(): Board {
  return createKalumaBoard('kaluma-pico-w', 'Raspberry Pi Pico W', picoNet());
}

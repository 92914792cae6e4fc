import type { Board } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { HttpHandler, HttpResponse, HttpServer, HttpServerOptions, Net, Wifi, WifiCredentials } from '../../hal/net';
import { receive } from '../common/http';
import { asciiBytes, utf8Bytes } from '../../firmware/device/core/bytes';
import { espruinoCrypto } from './crypto';

/**
 * Espruino 2v29 on ESP32, wired to the HAL.
 *
 * Flash map: Espruino's own Flash.getFree() lists 0xE000 (8 KB), 0x310000 (64 KB) and
 * 0x360000 (640 KB), but since 2v26 Storage occupies 0x320000-0x400000
 * (targets/esp32/Changes_V3.1/partitions_espruino.csv), so only the first two are free:
 *   0x00E000  8 KB   provisioning record
 *   0x310000  64 KB  state
 * Flash writes are 4-byte aligned (JSF_ALIGNMENT, src/jsutils.h); sectors are 4 KB.
 */
declare function require(name: string): any;
declare const E: any;
declare function getSerial(): string;
declare function getTime(): number;
declare const process: any;
declare function pinMode(pin: Pin, mode: string): void;
declare function digitalWrite(pin: Pin, value: boolean): void;
declare function analogRead(pin: Pin): number;

export const ESP32_PARTITIONS = {
  provisioning: { address: 0x00e000, size: 0x2000 },
  state: { address: 0x310000, size: 0x10000 },
};

const SECTOR = 4096;
const WORD = 4;

/** A region of the ESP32's SPI flash through require("Flash") (src/jswrap_flash.c). */
export function esp32Flash(address: number, size: number): Flash {
  const F = require('Flash');
  const check = (what: string, offset: number, length: number, unit: number): void => {
    if (offset < 0 || length < 0 || offset + length > size) throw new Error(what + ': range outside the partition');
    if (offset % unit !== 0 || length % unit !== 0) throw new Error(what + ': offset and length must be multiples of ' + unit);
  };
  return {
    size: size,
    eraseSize: SECTOR,
    writeSize: WORD,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      check('read', offset, length, 1);
      if (length === 0) return new Uint8Array(0);
      return new Uint8Array(F.read(length, address + offset));
    },
    write: (offset: number, data: Uint8Array): void => {
      check('write', offset, data.length, WORD);
      const current = F.read(data.length, address + offset);
      // Bytes written as 0xff are not programmed (hal/flash.ts): only the others must be erased.
      for (let i = 0; i < data.length; i++) if (data[i] !== 0xff && current[i] !== 0xff) throw new Error('write: byte at ' + (offset + i) + ' is already programmed');
      F.write(data, address + offset);
      const back = F.read(data.length, address + offset);
      for (let i = 0; i < data.length; i++) if (back[i] !== (data[i] === 0xff ? current[i] : data[i])) throw new Error('write: verify failed at ' + (offset + i));
    },
    erase: (offset: number, length: number): void => {
      check('erase', offset, length, SECTOR);
      for (let at = offset; at < offset + length; at += SECTOR) F.erasePage(address + at);
    },
  };
}

function send(res: any, response: HttpResponse): void {
  const body = response.body === undefined ? new Uint8Array(0) : typeof response.body === 'string' ? utf8Bytes(response.body) : response.body;
  const headers: { [name: string]: string } = {};
  const given = response.headers || {};
  const names = Object.keys(given);
  for (let i = 0; i < names.length; i++) headers[names[i]] = given[names[i]];
  headers['Content-Length'] = '' + body.length;
  headers['Connection'] = 'close';
  res.writeHead(response.status, headers);
  // res.write() of a Uint8Array sends "1,2,3" (jsvAsString): convert to a byte string first.
  res.end(body.length ? E.toString(body) : '');
}

/**
 * The ESP32 station through require("Wifi") (libs/network/esp32/jswrap_esp32_network.c):
 * connect(ssid, {password}, callback) calls back with null once the station has an address, or with
 * the reason it disconnected. Espruino sets ESP-IDF's Wi-Fi storage to RAM, and Wifi.save() (which
 * would write the credentials in plain text to Storage) is never called.
 */
function esp32Wifi(): Wifi {
  return {
    // Emitted with {ssid, mac, reason, msg} once the driver's own retries are spent.
    onDrop: (dropped: (reason: string) => void): void => {
      require('Wifi').on('disconnected', (details: any) => dropped('the ESP32 lost the network: ' + (details && details.msg ? details.msg : 'disconnected')));
    },
    join: (credentials: WifiCredentials, done: (error?: string) => void): void => {
      require('Wifi').connect(credentials.ssid, { password: credentials.passphrase }, (error: any) => done(error ? 'the ESP32 could not join: ' + String(error) : undefined));
    },
  };
}

/** require("http") server (libs/network/http/jswrap_http.c): listen() has no callback. */
function esp32Net(): Net {
  return {
    wifi: esp32Wifi(),
    listen: (options: HttpServerOptions, handler: HttpHandler, ready: (server: HttpServer) => void): HttpServer => {
      const http = require('http');
      const server = http.createServer((req: any, res: any) => {
        receive(options, handler, req, asciiBytes, (response: HttpResponse) => send(res, response));
      });
      server.listen(options.port);
      const handle: HttpServer = {
        port: (): number => options.port,
        close: (): void => server.close(),
      };
      ready(handle);
      return handle;
    },
  };
}

/**
 * GPIO through Espruino's globals (src/jswrap_io.c): pinMode(pin, "output") once per pin, then
 * digitalWrite(pin, value); analogRead(pin) returns a fraction of full scale, 0 ≤ v < 1. Pins are
 * names such as "D36" (the ESP32's ADC1 pins are D32-D39; ADC2 stops working while Wi-Fi is on).
 */
export function espruinoIo(): Io {
  const outputs: { [pin: string]: boolean } = {};
  return {
    write: (pin: Pin, high: boolean): void => {
      if (!outputs[String(pin)]) {
        pinMode(pin, 'output');
        outputs[String(pin)] = true;
      }
      digitalWrite(pin, high);
    },
    analog: (pin: Pin): number => analogRead(pin),
  };
}

/** Consoles: Telnet off (on by default on ESP32), serial console detached with E.setConsole. */
function restrictConsole(mode: ConsoleMode): ConsoleReport {
  if (mode === 'open') return { state: 'open', notClosed: [] };
  require('TelnetServer').setOptions({ mode: 'off' });
  if (mode === 'off') {
    E.setConsole(null, { force: true });
    return { state: 'off', notClosed: [] };
  }
  // E.setPassword/E.lockConsole keep the password in plain text and have no attempt limit.
  E.setConsole(null, { force: true });
  return { state: 'off', notClosed: [] };
}

export function createBoard(): Board {
  let last = 0;
  return {
    name: 'espruino-esp32',
    identity: { uid: getSerial(), model: 'ESP32 (Espruino 2v29)', hardwareRevision: 'ESP32' },
    clock: {
      // getTime() follows setTime(): never let it run backwards.
      now: (): number => {
        const t = Math.floor(getTime() * 1000);
        if (t > last) last = t;
        return last;
      },
      wallTime: (): number | undefined => {
        const t = Date.now();
        return t > 1704067200000 ? Math.floor(t) : undefined;
      },
    },
    crypto: espruinoCrypto(),
    io: espruinoIo(),
    entropy: {
      // E.hwRand() is rand() with a fixed seed (targets/esp32/jshardware.c): no entropy at all.
      quality: 'none',
      bytes: (length: number): Uint8Array => {
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i++) out[i] = E.hwRand() & 0xff;
        return out;
      },
    },
    net: esp32Net(),
    power: { reboot: (): void => E.reboot() },
    console: { restrict: restrictConsole },
    partitions: {
      provisioning: esp32Flash(ESP32_PARTITIONS.provisioning.address, ESP32_PARTITIONS.provisioning.size),
      state: esp32Flash(ESP32_PARTITIONS.state.address, ESP32_PARTITIONS.state.size),
    },
    memory: (): { used: number; total: number } => {
      const m = process.memory();
      return { used: m.usage, total: m.total };
    },
  };
}

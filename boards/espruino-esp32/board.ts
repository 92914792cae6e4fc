import type { Board } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net, TcpConnection, TcpHandlers, TcpServer, Wifi, WifiCredentials } from '../../hal/net';
import { failure } from '../../firmware/device/core/errors';
import { checkRange, programChecked } from '../common/flash';
import { espruinoCrypto } from './crypto';

/**
 * Espruino 2v29 on ESP32, wired to the HAL.
 *
 * Flash map: Espruino's own Flash.getFree() lists 0xE000 (8 KB), 0x310000 (64 KB) and
 * 0x360000 (640 KB), but since 2v26 Storage occupies 0x320000-0x400000
 * (targets/esp32/Changes_V3.1/partitions_espruino.csv), so only the first two are free:
 *   0x00E000  8 KB   provisioning record
 *   0x310000  64 KB  state
 * No raw region is left for the assets: they are the Storage file "hoshi.assets", written next to
 * `.bootcde` by `hoshi flash` (docs/formats/assets.md).
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
declare function digitalRead(pin: Pin): number;

export const ESP32_PARTITIONS = {
  provisioning: { address: 0x00e000, size: 0x2000 },
  state: { address: 0x310000, size: 0x10000 },
};

/** The Storage file holding the assets, and the most it may hold (hoshi flash refuses more). */
export const ESP32_ASSETS = { file: 'hoshi.assets', size: 0x10000 };

const SECTOR = 4096;
const WORD = 4;

/** A region of the ESP32's SPI flash through require("Flash") (src/jswrap_flash.c). */
export function esp32Flash(address: number, size: number): Flash {
  const F = require('Flash');
  const read = (offset: number, length: number): Uint8Array => (length === 0 ? new Uint8Array(0) : new Uint8Array(F.read(length, address + offset)));
  return {
    size: size,
    eraseSize: SECTOR,
    writeSize: WORD,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      checkRange('read', offset, length, size, 1);
      return read(offset, length);
    },
    write: (offset: number, data: Uint8Array): void => {
      checkRange('write', offset, data.length, size, WORD);
      programChecked(offset, data, read, () => F.write(data, address + offset));
    },
    erase: (offset: number, length: number): void => {
      checkRange('erase', offset, length, size, SECTOR);
      for (let at = offset; at < offset + length; at += SECTOR) F.erasePage(address + at);
    },
  };
}

/**
 * A Storage file seen as a read-only flash region of `size` bytes (src/jswrap_storage.c,
 * src/jsflash.c jsfReadFile): read(name, offset, length) returns a string mapped onto the flash, so
 * only the bytes asked for are copied (E.toUint8Array). The file is looked up at every read, so
 * a Storage compaction that moves it is harmless. Bytes past the end of the file, or of a missing
 * file, read as erased (0xFF): the assets reader then finds the partition erased. Device code
 * never writes it (hoshi flash does, through the REPL): write and erase throw.
 */
export function storageFlash(name: string, size: number): Flash {
  const refuse = (): void => {
    throw new Error('the Storage file ' + name + ' is written by hoshi flash only');
  };
  return {
    size: size,
    eraseSize: SECTOR,
    writeSize: WORD,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      checkRange('read', offset, length, size, 1);
      const out = new Uint8Array(length);
      // length 0 would read the whole file (jsfReadFile).
      const mapped = length > 0 ? require('Storage').read(name, offset, length) : undefined;
      const got = mapped === undefined ? 0 : mapped.length;
      if (got > 0) out.set(E.toUint8Array(mapped));
      for (let i = got; i < length; i++) out[i] = 0xff;
      return out;
    },
    write: refuse,
    erase: refuse,
  };
}

/** Codes of libs/network/esp32's disconnect reasons (ESP-IDF's wifi_err_reason_t names). */
function joinFailure(reason: string): string {
  if (reason === 'no_ap_found') return 'wifi-not-found';
  if (reason === 'auth_fail' || reason === 'auth_expire' || reason === '4way_handshake_timeout' || reason === 'handshake_timeout') return 'wifi-auth';
  return 'wifi-failed';
}

/**
 * The ESP32 station through require("Wifi") (libs/network/esp32/jswrap_esp32_network.c):
 * connect(ssid, {password}, callback) calls back with null once the station has an address, or with
 * the reason it disconnected; 'connected' and 'disconnected' ({ssid, mac, reason, msg}) tell the
 * link's state; getIP() gives the station's address at once. Espruino sets ESP-IDF's Wi-Fi storage
 * to RAM, and Wifi.save() (which would write the credentials in plain text to Storage) is never
 * called.
 *
 * The setup access point: startAP(ssid, {password, authMode: 'wpa2'}, callback) throws for a
 * password under 8 characters, adds the access point to the station (ESP-IDF's AP+STA mode:
 * connect() keeps it, so the station joins while it stays open) and calls back with null once it has
 * started (AP_START; an ESP-IDF error is only printed, and never called back); its clients reach
 * the server listening on any address at 192.168.4.1. stopAP() leaves the station as it is and
 * does nothing when no access point is open.
 */
function esp32Wifi(link: (up: boolean) => void): Wifi {
  let watching = false;
  const drops: ((reason: string) => void)[] = [];
  const watch = (): void => {
    if (watching) return;
    watching = true;
    const W = require('Wifi');
    W.on('connected', () => link(true));
    W.on('disconnected', (details: any) => {
      link(false);
      for (let i = 0; i < drops.length; i++) drops[i]('the ESP32 lost the network: ' + (details && details.msg ? details.msg : 'disconnected'));
    });
  };
  return {
    apsta: true,
    onDrop: (dropped: (reason: string) => void): void => {
      watch();
      drops.push(dropped);
    },
    join: (credentials: WifiCredentials, done: (code?: string, detail?: string) => void): void => {
      watch();
      require('Wifi').connect(credentials.ssid, { password: credentials.passphrase }, (error: any) => {
        if (error) done(joinFailure(String(error)), 'the ESP32 could not join: ' + String(error));
        else done(undefined, require('Wifi').getIP().ip);
      });
    },
    openAp: (c: WifiCredentials, done: (code?: string, detail?: string) => void): void => {
      require('Wifi').startAP(c.ssid, { password: c.passphrase, authMode: 'wpa2' }, () => done());
    },
    closeAp: (): void => require('Wifi').stopAP(),
  };
}

/**
 * require("net") (libs/network/jswrap_net.c over socketserver.c) on the ESP32:
 * - listen(port) is synchronous, has no callback, and does not need the station joined (lwIP binds
 *   to any address); Espruino keeps the server through Wi-Fi losses.
 * - 'data' brings a byte string of at most 536 bytes, one per connection per pass of the event
 *   loop, as it arrives (lwIP holds at most a TCP window per connection: the sender waits).
 * - write() of a Uint8Array would send its decimal text ("65,66"): bytes go as a byte string
 *   (E.toString). Writing after end() throws. Sockets have no destroy() and no remoteAddress.
 * - A peer's close emits 'end' then 'close'.
 * - lwIP has 10 sockets: the Telnet listener, this listener, 4 connections, and room left for the
 *   product's own clients.
 */
function esp32Net(): Net {
  const links: ((up: boolean) => void)[] = [];
  return {
    wifi: esp32Wifi((up: boolean) => {
      for (let i = 0; i < links.length; i++) links[i](up);
    }),
    limits: { connections: 4, exclusive: false, requestTimeoutMs: 5000 },
    hostnames: [],
    onLink: (changed: (up: boolean) => void): void => {
      links.push(changed);
    },
    listen: (port: number, accept: (connection: TcpConnection) => TcpHandlers, ready: (server: TcpServer) => void): TcpServer => {
      const server = require('net').createServer((socket: any) => {
        let open = true;
        const end = (): void => {
          if (!open) return;
          open = false;
          socket.end();
        };
        const handlers = accept({
          remote: '',
          write: (bytes: Uint8Array): void => {
            if (open) socket.write(E.toString(bytes));
          },
          end: end,
          destroy: end,
        });
        socket.on('data', (data: string) => handlers.data(E.toUint8Array(data)));
        socket.on('close', () => {
          open = false;
          handlers.closed();
        });
      });
      try {
        server.listen(port);
      } catch (error) {
        // "Not connected to the internet" (network.c) or "Unable to create socket": try again later.
        throw failure('net-down', (error as Error).message || String(error));
      }
      const handle: TcpServer = {
        port: (): number => port,
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
  const inputs: { [pin: string]: boolean } = {};
  return {
    // digitalRead after pinMode(pin, "input_pullup"): a button to ground reads 0 while pressed.
    read: (pin: Pin): boolean => {
      if (!inputs[String(pin)]) {
        pinMode(pin, 'input_pullup');
        inputs[String(pin)] = true;
      }
      return digitalRead(pin) !== 0;
    },
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
      assets: storageFlash(ESP32_ASSETS.file, ESP32_ASSETS.size),
    },
    memory: (): { used: number; total: number } => {
      const m = process.memory();
      return { used: m.usage, total: m.total };
    },
  };
}

import type { Board } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net, TcpConnection, TcpHandlers, TcpServer, Wifi, WifiCredentials } from '../../hal/net';
import { failure } from '../../firmware/device/core/errors';
import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { checkRange, programChecked } from '../common/flash';

/** Flash geometry and the link poll period (a const enum: the bundler writes the values into the code). */
const enum Pico {
  SECTOR = 4096,
  PAGE = 256,
  LINK_POLL_MS = 10000,
}

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

/** Sector ranges, relative to Kaluma's flash area (the base of `new Flash(base, count)`). */
export const KALUMA_PARTITIONS = {
  provisioning: { sector: 0, count: 1 },
  state: { sector: 134, count: 32 },
};

/** Sectors [sector, sector + count) through require('flash') (src/modules/flash/module_flash.c). */
export function kalumaFlash(sector: number, count: number): Flash {
  const FlashClass = require('flash').Flash;
  const f = new FlashClass(sector, count);
  const size = count * Pico.SECTOR;
  const read = (offset: number, length: number): Uint8Array => {
    // read() fills the whole buffer and ignores a view's byteOffset: always a fresh buffer.
    const out = new Uint8Array(length);
    if (length > 0) f.read(Math.floor(offset / Pico.SECTOR), out, offset % Pico.SECTOR);
    return out;
  };
  return {
    size: size,
    eraseSize: Pico.SECTOR,
    writeSize: Pico.PAGE,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      checkRange('read', offset, length, size, 1);
      return read(offset, length);
    },
    write: (offset: number, data: Uint8Array): void => {
      checkRange('write', offset, data.length, size, Pico.PAGE);
      const whole = data.byteOffset === 0 && data.length === data.buffer.byteLength ? data : new Uint8Array(data);
      programChecked(offset, data, read, () => f.write(Math.floor(offset / Pico.SECTOR), whole, offset % Pico.SECTOR));
    },
    erase: (offset: number, length: number): void => {
      checkRange('erase', offset, length, size, Pico.SECTOR);
      for (let at = offset; at < offset + length; at += Pico.SECTOR) f.ioctl(6, at / Pico.SECTOR);
    },
  };
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
 * src/modules/pico_cyw43/module_pico_cyw43.c). connect() blocks up to 30 s in the driver; on
 * success it emits 'associated' and 'connected' and then calls back. Its callback cannot tell a
 * failure (every native callback gets errno 0 on the RP2040), so a join counts only if 'connected'
 * came. Kaluma never reports a lost link ('disconnected' follows wifi.disconnect() only), so a
 * joined station polls getConnection(), which calls back without a connection once the link is
 * down. `security` is always given so that wifi.js never falls back to Kaluma's `storage` for it,
 * and `enforce` so that it joins the stored network even if the REPL joined another.
 */
function picoWifi(link: (up: boolean) => void): Wifi {
  let instance: any;
  let connected = false;
  let joined = false;
  let poll: ReturnType<typeof setInterval> | undefined;
  const drops: ((reason: string) => void)[] = [];
  // One WiFi object: wifi.js sets the driver's callbacks in the constructor.
  const station = (): any => {
    if (!instance) {
      instance = new (require('wifi').WiFi)();
      instance.on('connected', () => {
        connected = true;
      });
    }
    return instance;
  };
  const lost = (reason: string): void => {
    if (!joined) return;
    joined = false;
    if (poll !== undefined) clearInterval(poll);
    poll = undefined;
    link(false);
    for (let i = 0; i < drops.length; i++) drops[i](reason);
  };
  const watch = (): void => {
    if (poll !== undefined) clearInterval(poll);
    poll = setInterval(() => {
      station().getConnection((error: any, info: any) => {
        if (error || !info) lost('the CYW43 lost the network');
      });
    }, Pico.LINK_POLL_MS);
  };
  return {
    onDrop: (dropped: (reason: string) => void): void => {
      drops.push(dropped);
    },
    join: (credentials: WifiCredentials, done: (code?: string, detail?: string) => void): void => {
      const wifi = station();
      const info = {
        ssid: credentials.ssid,
        password: credentials.passphrase,
        security: credentials.passphrase ? 'WPA2_WPA_PSK' : 'OPEN',
        enforce: true,
      };
      connected = false;
      wifi.connect(info, (error: any) => {
        if (error || !connected) {
          done('wifi-failed', 'the CYW43 could not join' + (error ? ': ' + (error.message || String(error)) : ' (Kaluma does not say why)'));
          return;
        }
        joined = true;
        watch();
        link(true);
        done();
      });
    },
  };
}

/**
 * require('net') (src/modules/net/net.js) on the Pico W. Its quirks decide the binding:
 * - socket() throws "WiFi is not connected." while the link is down: listen() throws `net-down`.
 * - Every accepted Socket's callbacks are set on the listening socket's native object, and the
 *   driver delivers every connection's bytes to it (read_fd = server_fd): the data of all
 *   connections arrives on the newest Socket, without saying whose it is. So the binding serves
 *   one connection at a time (`exclusive`): a newcomer is destroyed in its 'connection' event,
 *   before it can send, and bytes arriving on any Socket belong to the one live connection.
 * - A peer's close emits nothing; only destroy() emits 'close'. end() half-closes after the next
 *   tick's flush; the binding destroys the socket once it has finished.
 * - write() takes a Uint8Array (sent byte for byte); failures are silent.
 * - remoteAddress is always 0.0.0.0: the peer is unknown ("").
 * - Handlers' exceptions are swallowed by the driver, so nothing here throws on purpose.
 */
function picoNet(): Net {
  const links: ((up: boolean) => void)[] = [];
  const wifi = picoWifi((up: boolean) => {
    for (let i = 0; i < links.length; i++) links[i](up);
  });
  return {
    wifi: wifi,
    // Socket slots: 16 for everything; serving a second connection would mix their bytes.
    limits: { connections: 1, exclusive: true, requestTimeoutMs: 3000 },
    hostnames: [],
    onLink: (changed: (up: boolean) => void): void => {
      links.push(changed);
    },
    listen: (port: number, accept: (connection: TcpConnection) => TcpHandlers, ready: (server: TcpServer) => void): TcpServer => {
      const net = require('net');
      interface Live {
        socket: any;
        open: boolean;
        handlers: TcpHandlers | undefined;
      }
      let live: Live | undefined;
      const server = net.createServer((socket: any) => {
        const entry: Live = { socket: socket, open: true, handlers: undefined };
        const destroy = (): void => {
          if (!entry.open) return;
          entry.open = false;
          socket.destroy();
        };
        const connection: TcpConnection = {
          remote: '',
          write: (bytes: Uint8Array): void => {
            if (entry.open) socket.write(bytes);
          },
          end: (): void => {
            if (entry.open) socket.end(undefined, destroy);
          },
          destroy: destroy,
        };
        socket.on('data', (bytes: Uint8Array) => {
          if (live && live.open && live.handlers) live.handlers.data(bytes);
        });
        socket.on('close', () => {
          entry.open = false;
          if (live === entry) live = undefined;
          if (entry.handlers) entry.handlers.closed();
        });
        if (!live) live = entry;
        entry.handlers = accept(connection);
        if (!entry.open) entry.handlers.closed();
      });
      try {
        server.listen(port);
      } catch (error) {
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

/** Kaluma 1.2.1 has no way to close or lock its USB REPL from JS (src/repl.c runs it always). */
function restrictConsole(mode: ConsoleMode): ConsoleReport {
  if (mode === 'open') return { state: 'open', notClosed: [] };
  return {
    state: 'open',
    notClosed: [
      'USB REPL: always on in Kaluma 1.2.1, JS cannot close it (a firmware build without it can)',
      'GP22 low at boot skips the app; BOOTSEL reflashes (physical access)',
    ],
  };
}

/**
 * Bytes from the native rp2 module's randomBigInt() (pico_rand: ring oscillator and timers, not
 * claimed to be cryptographic) mixed with micros(). The native half is taken through
 * process.binding (src/global.c process_binding_fn), not require('rp2'): rp2.js, with its PIO
 * assembler, would hold 5.4 KB of the heap for this one call.
 */
function weakBytes(length: number): Uint8Array {
  const rp2 = process.binding(process.binding.rp2);
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
    crypto: jsCryptoCore,
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

import { Asset } from '../../firmware/device/core/assets';
import type { AssetReader, Board, LoaderHandle } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net, TcpClientHandlers, TcpConnection, TcpHandlers, TcpServer, Wifi, WifiCredentials } from '../../hal/net';
import { picoConnection, send, type PicoConnection } from './connection';
import { tcpClient } from './tcp-client-code';
import { bytesAscii } from '../../firmware/device/core/bytes';
import { failure } from '../../firmware/device/core/errors';
import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { checkRange, programChecked } from '../common/flash';
import { message } from '../../firmware/device/core/messages';
import { assetsOf } from '../../firmware/device/core/bootctl';

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
 * (targets/rp2/boards/pico-w/board.h): 0-3 key-value `storage`, 4-131 the program, 132-259 LittleFS.
 * Hoshi keeps its partitions in sectors Kaluma itself never writes (docs/boards.md, "Flash maps"):
 * the provisioning record in sector 0 of the `storage` area (untouched unless code uses `storage`,
 * which Hoshi images may not: src/modules/startup/startup.js loads it lazily), and the state, the
 * boot control record and the security log in the LittleFS area past its first two blocks
 * (board.js mounts LittleFS at boot and writes only blocks 0-1 when it formats; Hoshi images may
 * not write files, so LittleFS never allocates the blocks behind them). The program area holds the
 * fixed loader only (boards/kaluma-pico-w/loader.ts, docs/formats/update.md §7): every `kaluma
 * flash` erases all 128 of its sectors (src/prog.c km_prog_clear), and the loader never rewrites
 * it. The image runs from a slot; its assets are that slot's assets container (§3).
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
/** The CYW43's network and Wi-Fi devices, made by board.js at boot (targets/rp2/boards/pico-w/board.js:14-16). */
declare const __netdev: any;
declare const __ieee80211dev: any;
/**
 * What the fixed loader booted (firmware/device/loader.ts): set by boards/kaluma-pico-w/loader.ts
 * before it evaluates the image; undefined when the image runs without the loader (the engine check).
 */
declare const __hoshiLoader: { slot: number; trial: boolean; floor: number; t: number | undefined; n?: string[] } | undefined;

/**
 * Sector ranges, relative to Kaluma's flash area (the base of `new Flash(base, count)`). The slots
 * are 60 sectors each: a 4 KB header and a 241,664-byte payload (docs/formats/update.md §4).
 */
export const KALUMA_PARTITIONS = {
  provisioning: { sector: 0, count: 1 },
  state: { sector: 134, count: 32 },
  /** The boot control record: two sectors, one record each (§5). */
  bootctl: { sector: 166, count: 2 },
  /** The security log's ring (modules/audit, docs/formats/audit.md). */
  log: { sector: 168, count: 8 },
  // In the program area (sectors 4-131), past the loader's 32 KB (sectors 4-11): the area Kaluma
  // erases whole before it takes a program (src/prog.c), so `hoshi flash` writes the loader first.
  slots: [
    { sector: 12, count: 60 },
    { sector: 72, count: 60 },
  ],
};

/** Sectors [sector, sector + count) through require('flash') (src/modules/flash/module_flash.c). */
export function kalumaFlash(sector: number, count: number): Flash {
  const FlashClass = require('flash').Flash;
  const f = new FlashClass(sector, count);
  const size = count * Pico.SECTOR;
  // Function expressions, not arrows: on Kaluma each arrow closure also holds its `this` (8 bytes
  // of heap per instance). write() checks its range with the same read() (already in range).
  const read = function (offset: number, length: number): Uint8Array {
    checkRange('read', offset, length, size, 1);
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
    read: read,
    write: function (offset: number, data: Uint8Array): void {
      checkRange('write', offset, data.length, size, Pico.PAGE);
      const whole = data.byteOffset === 0 && data.length === data.buffer.byteLength ? data : new Uint8Array(data);
      programChecked(offset, data, read, () => f.write(Math.floor(offset / Pico.SECTOR), whole, offset % Pico.SECTOR));
    },
    erase: function (offset: number, length: number): void {
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
  const gpio = function (pin: Pin): number {
    if (typeof pin !== 'number' || pin < 0 || pin > 29 || pin !== Math.floor(pin)) throw new TypeError('pin must be a GPIO number 0-29 on Kaluma');
    return pin;
  };
  return {
    write: function (pin: Pin, high: boolean): void {
      const n = gpio(pin);
      if (!outputs[n]) {
        pinMode(n, OUTPUT);
        outputs[n] = true;
      }
      digitalWrite(n, high ? 1 : 0);
    },
    analog: function (pin: Pin): number {
      return analogRead(gpio(pin));
    },
  };
}

/**
 * The Pico W's station through the CYW43 device board.js creates at boot (`global.__ieee80211dev`,
 * src/modules/pico_cyw43/module_pico_cyw43.c), as wifi.js does but without loading it (wifi.js and
 * its event emitter would hold 3.6 KB of heap). connect() blocks in the driver (30 s at most) and
 * leaves the result in the device's `errno` property (0 joined, -1 not): the callback's own errno
 * argument reaches JavaScript as 0 on the RP2040 either way. Kaluma reports no lost link, so a
 * joined station asks get_connection() every 10 s, which sets `errno` to -1 once the link is down.
 * `security` is always given (OPEN without a passphrase).
 *
 * The setup access point: ap_mode({ssid, password}) opens a WPA2-AES access point at 192.168.4.1
 * (its default gateway) with a DHCP server, synchronously, `errno` 0 once it is up; it throws for a
 * password under 8 characters. While it is open socket() works (laddr: the gateway).
 * disable_ap_mode() throws unless it is open, then resets the chip (km_cyw43_deinit: every socket
 * closed without a close_cb, then station mode again): `link(false, true)` tells picoNet, which
 * forgets its sockets and listens again at the next `link(true)`. A failed ap_mode may have reset
 * the chip too (a DHCP server that does not start): told the same way.
 */
function picoWifi(link: (up: boolean, reset?: boolean) => void): Wifi {
  let joined = false;
  let ap = false;
  let poll: ReturnType<typeof setInterval> | undefined;
  const drops: ((reason: string) => void)[] = [];
  const lost = function (reason: string): void {
    if (!joined) return;
    joined = false;
    if (poll !== undefined) clearInterval(poll);
    poll = undefined;
    link(false);
    for (let i = 0; i < drops.length; i++) drops[i](reason);
  };
  return {
    onDrop: function (dropped: (reason: string) => void): void {
      drops.push(dropped);
    },
    join: function (credentials: WifiCredentials, done: (code?: string, detail?: string) => void): void {
      const dev = __ieee80211dev;
      dev.connect({ ssid: credentials.ssid, password: credentials.passphrase, security: credentials.passphrase ? 'WPA2_WPA_PSK' : 'OPEN' });
      if (dev.errno !== 0) {
        done('wifi-failed', 'the CYW43 could not join (Kaluma does not say why)');
        return;
      }
      joined = true;
      if (poll !== undefined) clearInterval(poll);
      poll = setInterval(function (): void {
        dev.get_connection();
        if (dev.errno !== 0) lost(message('the CYW43 lost the network'));
      }, Pico.LINK_POLL_MS);
      link(true);
      done();
    },
    openAp: function (c: WifiCredentials, done: (code?: string, detail?: string) => void): void {
      const dev = __ieee80211dev;
      dev.ap_mode({ ssid: c.ssid, password: c.passphrase });
      ap = dev.errno === 0;
      link(ap, !ap);
      if (ap) done();
      else done('wifi-failed', 'ap_mode errno ' + dev.errno);
    },
    // Called before the station joins (hal/net.ts: no `apsta`), so no station is dropped here.
    closeAp: function (): void {
      if (!ap) return;
      ap = false;
      link(false, true);
      __ieee80211dev.disable_ap_mode();
    },
  };
}

/**
 * The Pico W's TCP server through the CYW43 network device board.js creates at boot
 * (`global.__netdev`, module_pico_cyw43.c), as net.js does but without net.js and stream.js (7.7 KB
 * of heap) and with what net.js hides:
 * - socket() throws "WiFi is not connected." while the link is down (and the setup access point
 *   closed): listen() throws `net-down`. A listening socket survives a lost link, not a chip reset
 *   (picoWifi): then the live connection is reported closed and the server listens again, by
 *   itself, at the next link-up.
 * - The driver hands the bytes of every accepted connection to the listening socket's read_cb,
 *   without saying whose they are (read_fd = server_fd), and an accepted connection's peer address
 *   is always 0.0.0.0: the binding serves one connection at a time (`exclusive`) and destroys a
 *   newcomer in its accept callback, before it can send; the bytes are the one live connection's.
 * - A peer's close calls the accepted connection's own close_cb (which net.js never sets).
 * - write() takes a string, sent one byte per character: bytes go as a byte string. It takes nothing
 *   of a string that does not fit in lwIP's send buffer (11,680 bytes less what the peer has not
 *   acknowledged) and sets errno -1: the binding queues and sends in pieces as room comes back.
 * - Callbacks run inside the driver, which swallows their exceptions: nothing here throws on purpose.
 */
function picoNet(): Net {
  const links: ((up: boolean) => void)[] = [];
  // The listening socket (-1: none), the one live connection, and what opens the socket again
  // after a chip reset (set once listen() has succeeded).
  let fd = -1;
  let live: PicoConnection | undefined;
  let reopen: (() => void) | undefined;
  const wifi = picoWifi(function (up: boolean, reset?: boolean): void {
    if (reset) {
      fd = -1;
      const gone = live;
      live = undefined;
      if (gone && gone.open) {
        gone.open = false;
        if (gone.handlers) gone.handlers.closed();
      }
    }
    if (up && fd < 0 && reopen) {
      try {
        reopen();
      } catch (error) {
        // net-down: tried again at the next link-up
      }
    }
    for (let i = 0; i < links.length; i++) links[i](up);
  });
  return {
    wifi: wifi,
    // Socket slots: 16 for everything; serving a second connection would mix their bytes.
    limits: { connections: 1, exclusive: true, requestTimeoutMs: 3000 },
    hostnames: [],
    onLink: function (changed: (up: boolean) => void): void {
      links.push(changed);
    },
    listen: function (port: number, accept: (connection: TcpConnection) => TcpHandlers, ready: (server: TcpServer) => void): TcpServer {
      const dev = __netdev;
      const open = function (): void {
        let s: number;
        try {
          s = dev.socket('AF_INET', 'STREAM');
        } catch (error) {
          throw failure('net-down', (error as Error).message || String(error));
        }
        const server = dev.get(s);
        server.read_cb = function (data: Uint8Array): void {
          if (live && live.open && live.handlers) live.handlers.data(data);
        };
        server.accept_cb = function (cfd: number): void {
          const entry: PicoConnection = { fd: cfd, open: true, handlers: undefined, queue: undefined, ending: false, waiting: false, tries: 0 };
          dev.get(cfd).close_cb = function (): void {
            if (!entry.open) return;
            entry.open = false;
            if (live === entry) live = undefined;
            if (entry.handlers) entry.handlers.closed();
          };
          if (!live) live = entry;
          entry.handlers = accept(picoConnection(dev, entry, ''));
          if (!entry.open) entry.handlers.closed();
        };
        dev.bind(s, dev.ip, port);
        if (dev.errno === 0) dev.listen(s);
        if (dev.errno !== 0) {
          dev.close(s);
          throw failure('net-down', 'the CYW43 could not listen on port ' + port);
        }
        fd = s;
      };
      open();
      reopen = open;
      const handle: TcpServer = {
        port: function (): number {
          return port;
        },
        close: function (): void {
          reopen = undefined;
          if (fd >= 0) dev.close(fd);
          fd = -1;
        },
      };
      ready(handle);
      return handle;
    },
    // hal/net.ts `connect`: boards/kaluma-pico-w/tcp-client.ts, read from the assets when called. A
    // chip reset takes its connections without a word: the HTTP client's own deadline ends them.
    connect: function (host: string, port: number, handlers: TcpClientHandlers): TcpConnection {
      return tcpClient(codeAssets!, Asset.CODE_TCP_CLIENT)(__netdev, host, port, handlers);
    },
  };
}

/** The image's assets, once boot has opened them (`useAssets`): where the TCP client's code is. */
let codeAssets: AssetReader | undefined;

/**
 * Kaluma 1.2.1 has no way to close or lock its USB REPL from JS: targets/rp2/src/main.c starts it
 * (km_repl_init) before the program, src/repl.c reads every byte the USB CDC brings
 * (km_io_tty_read_start), and only its own `.flash -w` command ever stops that; no module binds
 * it. Ctrl-C on it stops the running program (targets/rp2/src/tty.c). Bluetooth: the Pico W's
 * CYW43 has it, but Kaluma 1.2.1 builds no Bluetooth stack (targets/rp2/target.cmake links
 * pico_cyw43_arch_lwip_poll only), and the Pico has no radio: closed by absence. Its UART pins
 * carry no console (pico_enable_stdio_uart 0). docs/interfaces.md.
 */
function restrictConsole(mode: ConsoleMode): ConsoleReport {
  return {
    state: 'open',
    // One line per interface (hal/console.ts): the REPL's part only when the mode asked it closed.
    notClosed: [
      mode === 'open'
        ? message('usb: BOOTSEL reflashes, GP22 low at boot skips the app (physical access)')
        : message('usb: REPL always on in Kaluma 1.2.1, JS cannot close it (a build without it can); BOOTSEL reflashes, GP22 low at boot skips the app (physical access)'),
    ],
    interfaces: 'usb=open,bluetooth=off',
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

/**
 * The boot control record and the slots (docs/formats/update.md §4-5), and the running slot's assets:
 * the slot the loader booted, or without the loader the one the record names.
 */
function kalumaSlots(): { assets: Flash | undefined; loader: LoaderHandle | undefined } {
  const P = KALUMA_PARTITIONS;
  const booted = typeof __hoshiLoader !== 'undefined' ? __hoshiLoader : undefined;
  // Without the loader (the engine check, tests that run an image by itself) the image is slot A's.
  const slot = booted ? booted.slot : 0;
  // The handle over what the loader left (`t`: its trial deadline's timer), made here so that
  // nothing of the loader's code stays referenced.
  const loader: LoaderHandle | undefined = booted
    ? {
        slot: booted.slot,
        trial: booted.trial,
        floor: booted.floor,
        notes: booted.n,
        confirmed: function (): void {
          if (booted.t !== undefined) clearTimeout(booted.t);
          booted.t = undefined;
          (loader as { trial: boolean }).trial = false;
        },
      }
    : undefined;
  return { assets: assetsOf(kalumaFlash(P.slots[slot].sector, P.slots[slot].count), 0), loader: loader };
}

/** A Kaluma board on the RP2040: the Pico W, or the Pico, which has the same flash map and no network. */
export function createKalumaBoard(name: string, model: string, net: Net): Board {
  // Holds the armed watchdog so nothing collects it before it fires.
  let wdt: any;
  const boot = kalumaSlots();
  return {
    name: name,
    identity: { uid: board.uid, model: model, hardwareRevision: board.name },
    clock: {
      now: function (): number {
        return millis();
      },
      wallTime: function (): number | undefined {
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
      reboot: function (reason: string): void {
        console.log('[hoshi] reboot: ' + reason);
        const WDT = require('wdt').WDT;
        wdt = new WDT(1);
      },
    },
    console: { restrict: restrictConsole },
    partitions: {
      provisioning: kalumaFlash(KALUMA_PARTITIONS.provisioning.sector, KALUMA_PARTITIONS.provisioning.count),
      state: kalumaFlash(KALUMA_PARTITIONS.state.sector, KALUMA_PARTITIONS.state.count),
      assets: boot.assets,
      // Made when first asked for (an update: modules/ota's worker), not at every boot: each is a
      // flash object the heap would hold for the image's life.
      get bootctl(): Flash {
        return kalumaFlash(KALUMA_PARTITIONS.bootctl.sector, KALUMA_PARTITIONS.bootctl.count);
      },
      get slots(): Flash[] {
        const S = KALUMA_PARTITIONS.slots;
        return [kalumaFlash(S[0].sector, S[0].count), kalumaFlash(S[1].sector, S[1].count)];
      },
      // Made when asked for too: only an image with the security log (modules/audit) holds it.
      get log(): Flash {
        return kalumaFlash(KALUMA_PARTITIONS.log.sector, KALUMA_PARTITIONS.log.count);
      },
    },
    loader: boot.loader,
    // The running image receives and hashes a package (128 bytes per slice: two SHA-256 blocks,
    // ≈ 3.6 M instructions, 0.2–0.3 s on a Pico); the loader verifies its signature at the next
    // boot with the whole heap (boards/kaluma-pico-w/loader.ts): the Ed25519 verifier's 41 KB peak
    // does not fit beside the running image (docs/performance.md, "Updates").
    update: { runtime: 'kaluma', verifyIn: 'loader', hashSlice: 128 },
    useAssets: function (assets: AssetReader): void {
      codeAssets = assets;
    },
    memory: function (): { used: number; total: number } {
      const m = process.memoryUsage();
      return { used: m.heapUsed, total: m.heapTotal };
    },
  };
}

export function createBoard(): Board {
  return createKalumaBoard('kaluma-pico-w', 'Raspberry Pi Pico W', picoNet());
}

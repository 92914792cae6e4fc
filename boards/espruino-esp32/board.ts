import type { Board, LoaderHandle } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net, TcpClientHandlers, TcpConnection, TcpHandlers, TcpServer, Wifi, WifiCredentials } from '../../hal/net';
import { failure } from '../../firmware/device/core/errors';
import { checkRange, programChecked } from '../common/flash';
import { appOf, assetsOf, Boot, readBootRecord, runningSlot } from '../../firmware/device/core/bootctl';
import { Asset, openAssets } from '../../firmware/device/core/assets';
import { evaluate } from '../../firmware/device/core/code';
import { espruinoCrypto } from './crypto';
import { message } from '../../firmware/device/core/messages';

/**
 * Espruino 2v29 on ESP32, wired to the HAL.
 *
 * Flash map: Espruino's own Flash.getFree() lists 0xE000 (8 KB), 0x310000 (64 KB) and
 * 0x360000 (640 KB), but since 2v26 Storage occupies 0x320000-0x400000
 * (targets/esp32/Changes_V3.1/partitions_espruino.csv), so only the first two are free:
 *   0x00E000  8 KB   provisioning record
 *   0x310000  48 KB  state
 *   0x31C000  16 KB  security log (modules/audit)
 * No raw region is left for the update slots: the boot control record and slots A and B live in
 * Storage files (docs/formats/update.md §4-5, `ESP32_BOOT`) that `hoshi flash` makes once, at their
 * full size, and that nothing makes anew afterwards; the device erases and programs the whole 4 KB
 * sectors inside them with require("Flash") (`reservedFlash`), which Storage does not see. So no
 * write of Hoshi's leaves Storage any deleted file, and Storage never compacts because of one: a
 * compaction moves files, and the running image's function code, which points into its slot's file
 * (mapped flash, src/jsflash.c jsvAddressToVar), is not moved with them on the ESP32 (jsflash.c
 * jsfCompactInternal updates flash addresses, the code holds mapped ones); nor is a compaction safe
 * against a power cut. The slot the image runs from holds its assets (§3), and the fixed loader is
 * `.bootcde` (boards/espruino-esp32/loader.ts).
 * Flash writes are 4-byte aligned (JSF_ALIGNMENT, src/jsutils.h); sectors are 4 KB.
 */
declare function require(name: string): any;
declare const E: any;
/** The ESP32 port's own class (targets/esp32/jswrap_esp32.c). */
declare const ESP32: any;
declare function getSerial(): string;
declare function getTime(): number;
declare const process: any;
declare function pinMode(pin: Pin, mode: string): void;
declare function digitalWrite(pin: Pin, value: boolean): void;
declare function analogRead(pin: Pin): number;
declare function digitalRead(pin: Pin): number;
/**
 * What the fixed loader booted (firmware/device/loader.ts): set by boards/espruino-esp32/loader.ts
 * before it evaluates the image; undefined when the image runs without the loader (the engine check).
 */
declare const __hoshiLoader: LoaderHandle | undefined;

export const ESP32_PARTITIONS = {
  provisioning: { address: 0x00e000, size: 0x2000 },
  state: { address: 0x310000, size: 0xc000 },
  /** The security log's ring (modules/audit, docs/formats/audit.md): the last 4 sectors of the free 64 KB. */
  log: { address: 0x31c000, size: 0x4000 },
};

/**
 * The Storage files of signed updates (docs/formats/update.md §4-5): `hoshi.bc`, the boot control
 * record's two 4 KB erase units, and `hoshi.a`, `hoshi.b`, slots A and B, each a 4 KB header and a
 * 262,144-byte payload. What a file holds lies in the whole sectors inside it, from the first
 * sector boundary after its data starts (`reservedFlash`: Storage places files on 4-byte boundaries
 * only). `hoshi flash` makes each file start on a sector boundary, so its data starts 32 bytes in
 * (the header), and sizes it (`bootctlFile`, `slotFile`) to end on the next boundary after what
 * it holds: the file after it starts on a boundary too (firmware/host/serial/espruino.ts).
 */
export const ESP32_BOOT = {
  bootctl: 'hoshi.bc',
  slots: ['hoshi.a', 'hoshi.b'],
  unit: 4096,
  slotSize: 4096 + 262144,
  bootctlFile: 3 * 4096 - 32,
  slotFile: 66 * 4096 - 32,
};

/**
 * Storage's area of the SPI flash on the ESP32 (boards/ESP32.py `saved_code`: 0x320000, 224 pages
 * of 4 KB; targets/esp32/Changes_V3.1/partitions_espruino.csv) and its file header (src/jsflash.h
 * JsfFileHeader: a 32-bit word, the size in its low 24 bits and flags in the top 8, then a
 * 28-byte name padded with zeros).
 */
const enum Area {
  START = 0x320000,
  END = 0x400000,
  HEADER = 32,
}

const SECTOR = 4096;
const WORD = 4;

/** The part of the verifier's default work per step an Espruino step does (`share`, modules/crypto/ed25519.ts), as a fraction: 1 / 5. */
const enum Espruino {
  SHARE = 0.2,
}

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
 * Where the data of the Storage file `name` starts in the SPI flash, and its size; undefined if
 * there is no such file. Storage's own walk (src/jsflash.c jsfBankFindFile over
 * jsfGetNextFileHeader with GNFH_GET_ALL): from the area's start, a header is valid when its word
 * is neither FFFFFFFF nor 0 and the file ends inside the area (jsfGetFileHeader); the next header
 * follows the file's data rounded up to 4 bytes (jsfAlignAddress); where no valid header is there,
 * the next sector's start is tried once, and past that the files end. A file whose name's first
 * 4 bytes are 0 was deleted; one with flags other than none, Storage-file or compressed is
 * Storage's own (jsfIsRealFile).
 */
export function storageFileAddress(name: string): { address: number; size: number } | undefined {
  const F = require('Flash');
  let at: number = Area.START;
  let jumped = false;
  while (at + Area.HEADER <= Area.END) {
    const h = new Uint8Array(F.read(Area.HEADER, at));
    const word = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
    const size = word & 0xffffff;
    if (word === 0xffffffff || word === 0 || at + Area.HEADER + size > Area.END) {
      if (jumped) return undefined;
      jumped = true;
      at = (at - (at % SECTOR)) + SECTOR;
      continue;
    }
    jumped = false;
    const flags = h[3];
    let same = (h[4] | h[5] | h[6] | h[7]) !== 0 && (flags === 0 || flags === 64 || flags === 128) && name.length <= 28;
    for (let i = 0; same && i < 28; i++) same = h[4 + i] === (i < name.length ? name.charCodeAt(i) : 0);
    if (same) return { address: at + Area.HEADER, size: size };
    at = (at + Area.HEADER + size + 3) & ~3;
  }
  return undefined;
}

/** A region inside a Storage file that the device erases and programs itself (`reservedFlash`). */
export interface ReservedFlash extends Flash {
  /** The Storage file, and where the region starts in it (what Storage.read takes as its offset). */
  file: string;
  base: number;
}

/**
 * `size` bytes inside the Storage file `name` that `hoshi flash` made (ESP32_BOOT), from the first
 * sector boundary after its data starts: whole 4 KB sectors, erased and programmed with
 * require("Flash") at their flash addresses (`esp32Flash`), which leaves Storage's own records
 * (the file's header, the other files) as they are, so Storage never needs to make the file anew
 * nor to compact. `sha256` hashes in place: crypto.SHA256 over the string Storage.read maps onto
 * the same bytes (src/jsflash.c jsvAddressToVar; hal/flash.ts). Undefined if the file is missing or
 * too small (a unit `hoshi flash` did not write).
 */
export function reservedFlash(name: string, size: number): ReservedFlash | undefined {
  const file = storageFileAddress(name);
  if (!file) return undefined;
  const start = file.address + ((SECTOR - (file.address % SECTOR)) % SECTOR);
  const base = start - file.address;
  if (base + size > file.size) return undefined;
  const f = esp32Flash(start, size) as ReservedFlash;
  f.sha256 = (offset: number, length: number): Uint8Array => {
    checkRange('sha256', offset, length, size, 1);
    if (length === 0) throw new Error('sha256: nothing to hash');
    return new Uint8Array(require('crypto').SHA256(require('Storage').read(name, base + offset, length)));
  };
  f.file = name;
  f.base = base;
  return f;
}

/**
 * The boot control record and the slots (regions inside their Storage files), and the running
 * slot's assets; all absent on a unit whose files `hoshi flash` did not make.
 */
function esp32Slots(): { bootctl: ReservedFlash | undefined; slots: ReservedFlash[] | undefined; assets: Flash | undefined; loader: LoaderHandle | undefined } {
  const B = ESP32_BOOT;
  const bootctl = reservedFlash(B.bootctl, 2 * B.unit);
  const a = reservedFlash(B.slots[0], B.slotSize);
  const b = reservedFlash(B.slots[1], B.slotSize);
  const slots = a && b ? [a, b] : undefined;
  const loader = typeof __hoshiLoader !== 'undefined' ? __hoshiLoader : undefined;
  // Without the loader (the engine check, tests that run an image by itself) the image is slot A's.
  const slot = loader ? loader.slot : 0;
  const app = 0;
  return { bootctl: bootctl && slots ? bootctl : undefined, slots: bootctl ? slots : undefined, assets: slots ? assetsOf(slots[slot], app) : undefined, loader: loader };
}

/**
 * The Ed25519 verifier in steps: asset 4 of the running slot (firmware/host/verifier-asset.ts),
 * evaluated from its Storage file in place, so that its function code stays in flash; it is held
 * only while a package is checked.
 */
function espruinoVerifier(bootctl: Flash, slots: ReservedFlash[]): (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512: (d: Uint8Array) => Uint8Array, share?: number) => { step(): number } {
  const record = readBootRecord(bootctl);
  const s = runningSlot(record);
  const app = appOf(slots[s], record.slots[s].app);
  const span = openAssets(assetsOf(slots[s], app)).find(Asset.VERIFIER);
  if (!span) throw new Error('the update verifier is missing from the running slot\'s assets');
  const base = slots[s].base + Boot.SLOT_HEADER + Math.ceil((app + 1) / SECTOR) * SECTOR + span.offset;
  return evaluate(require('Storage').read(slots[s].file, base, span.length)) as never;
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
 *   product's own clients (`connect`: hal/net.ts says what Espruino does with them).
 */
function esp32Net(): Net {
  const links: ((up: boolean) => void)[] = [];
  // The station has joined: connect() without it throws and strands its connection (hal/net.ts).
  let joined = false;
  return {
    wifi: esp32Wifi((up: boolean) => {
      joined = up;
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
    connect: (host: string, port: number, handlers: TcpClientHandlers): TcpConnection => {
      let open = true;
      let ending = false;
      let socket: any;
      let failed: string | undefined;
      let detail: string | undefined;
      const fail = (code: string, why: string): void => {
        open = false;
        setTimeout(() => handlers.closed(code, why), 0);
      };
      if (!joined) fail('net-down', 'the station has not joined a network');
      else {
        try {
          socket = require('net').connect({ host: host, port: port }, () => {
            if (open) handlers.connected();
          });
        } catch (error) {
          // "Unable to locate host" (the name did not resolve), "Not connected to the internet", "Unable to create socket".
          const m = (error as Error).message || String(error);
          fail(/locate host/.test(m) ? 'net-unresolved' : /internet/.test(m) ? 'net-down' : 'net-failed', m);
        }
      }
      if (socket) {
        socket.on('data', (data: string) => {
          if (open) handlers.data(E.toUint8Array(data));
        });
        socket.on('error', (e: any) => {
          failed = e && e.code === -9 ? 'net-reset' : 'net-failed';
          detail = e && e.message;
        });
        socket.on('close', () => {
          if (!open) return;
          open = false;
          handlers.closed(failed, detail);
        });
      }
      // Sockets have no destroy(): end() closes once what was written is sent; no writing after it.
      const end = (): void => {
        if (!open || ending || !socket) return;
        ending = true;
        socket.end();
      };
      return {
        remote: host,
        write: (bytes: Uint8Array): void => {
          if (open && !ending && socket) socket.write(E.toString(bytes));
        },
        end: end,
        destroy: end,
      };
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

/**
 * The consoles and the ESP32's own interfaces (docs/interfaces.md):
 * - Telnet (TCP 23), on from the runtime's start on the ESP32 (libs/network/telnet/jswrap_telnet.c
 *   jswrap_telnet_init): `TelnetServer.setOptions({mode: "off"})`. Its listener opens at an idle
 *   pass while the mode is on; boot runs before the first (src/jsinteractive.c jsiSoftInit runs
 *   the boot code before the main loop), so with the mode off it never opens.
 * - The REPL on UART0, the USB-serial bridge's port: `E.setConsole(null, {force: true})`
 *   (src/jswrap_espruino.c): no device is the console, and `force` keeps a Telnet or Bluetooth
 *   connection from taking it. "locked" closes it too: E.setPassword/E.lockConsole keep the
 *   password in plain text and have no attempt limit.
 * What stays open, and why:
 * - usb: the bridge reaches the ROM's download mode (GPIO0 low at reset: a dev board's auto-reset
 *   drives both from the bridge's DTR/RTS), which reads and writes the whole flash. Production
 *   hardening, docs/boards.md.
 * - mdns: when the station gets its address, Espruino starts ESP-IDF's mDNS responder (UDP 5353)
 *   under the station's host name ("espressif" unless set) and advertises `_telnet._tcp` on port 23
 *   (libs/network/esp32/jswrap_esp32_network.c startMDNS); no JavaScript call stops it.
 * - bluetooth: on unless this unit's NVS says off (targets/esp32/jshardwareESP32.c: on by
 *   default; targets/esp32/bluetooth.c jsble_init starts the stack and advertising at power-on,
 *   with the Nordic UART service, whose connection takes an unforced console). `ESP32.getState().BLE`
 *   reads it. The one switch, `ESP32.enableBLE(false)` (targets/esp32/jswrap_esp32.c), writes NVS,
 *   then erases `.bootcde` (the fixed loader), `.varimage` and `.bootrst` (src/jsflash.c
 *   jsfRemoveCodeFromFlash) and restarts: never called here, it is a step of flashing the unit.
 */
function restrictConsole(mode: ConsoleMode): ConsoleReport {
  const open = mode === 'open';
  if (!open) {
    require('TelnetServer').setOptions({ mode: 'off' });
    E.setConsole(null, { force: true });
  }
  const state: ConsoleMode = open ? 'open' : 'off';
  const ble = !!ESP32.getState().BLE;
  const notClosed = [
    message('usb: the USB-serial bridge reaches the ROM download mode, which reads and writes all flash (GPIO0 low at reset): disable UART download in eFuse where the chip has it, or leave the bridge off the product'),
    message('mdns: Espruino answers mDNS on UDP 5353 once the station has its address, advertising Telnet on port 23; JavaScript cannot stop it'),
  ];
  if (ble) notClosed.push(message('bluetooth: on in this unit\'s NVS, advertising; ESP32.enableBLE(false) turns it off but erases .bootcde, so it is done when the unit is flashed'));
  return { state: state, notClosed: notClosed, interfaces: 'console=' + state + ',usb=open,bluetooth=' + (ble ? 'open' : 'off') + ',mdns=open' };
}

export function createBoard(): Board {
  let last = 0;
  const boot = esp32Slots();
  const crypto = espruinoCrypto();
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
    crypto: crypto,
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
      // Made when asked for: only an image with the security log (modules/audit) holds it.
      get log(): Flash {
        return esp32Flash(ESP32_PARTITIONS.log.address, ESP32_PARTITIONS.log.size);
      },
      assets: boot.assets,
      bootctl: boot.bootctl,
      slots: boot.slots,
    },
    loader: boot.loader,
    // Verified in the running image, a slice per turn of the event loop (docs/design/
    // espruino-update-authentication.md: ≈ 1,320 variables at most, 100–153 s on an ESP32, each
    // step 0.3–0.5 s at most); the payload is hashed in place by the slots' native sha256.
    update: boot.bootctl && boot.slots
      ? {
          runtime: 'espruino',
          verifyIn: 'image',
          hashSlice: 4096,
          signatureSteps: function (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): { step(): number } {
            // A fifth of a step's default work: at most one point addition per step, ≈ 11 M
            // instructions on Espruino (0.3–0.5 s on an ESP32), in ≈ 410 steps (docs/performance.md).
            return espruinoVerifier(boot.bootctl!, boot.slots!)(publicKey, message, signature, crypto.sha512!, Espruino.SHARE);
          },
        }
      : undefined,
    memory: (): { used: number; total: number } => {
      const m = process.memory();
      return { used: m.usage, total: m.total };
    },
  };
}

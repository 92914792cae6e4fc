import type { Board, LoaderHandle } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { Flash } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net, TcpConnection, TcpHandlers, TcpServer, Wifi, WifiCredentials } from '../../hal/net';
import { failure } from '../../firmware/device/core/errors';
import { checkRange, programChecked } from '../common/flash';
import { appOf, assetsOf, Boot, readBootRecord, runningSlot } from '../../firmware/device/core/bootctl';
import { Asset, openAssets } from '../../firmware/device/core/assets';
import { evaluate } from '../../firmware/device/core/code';
import { espruinoCrypto } from './crypto';

/**
 * Espruino 2v29 on ESP32, wired to the HAL.
 *
 * Flash map: Espruino's own Flash.getFree() lists 0xE000 (8 KB), 0x310000 (64 KB) and
 * 0x360000 (640 KB), but since 2v26 Storage occupies 0x320000-0x400000
 * (targets/esp32/Changes_V3.1/partitions_espruino.csv), so only the first two are free:
 *   0x00E000  8 KB   provisioning record
 *   0x310000  64 KB  state
 * No raw region is left for the update slots: the boot control record and slots A and B are Storage
 * files (docs/formats/update.md §4-5, `ESP32_BOOT`), the slot the image runs from holds its assets
 * (§3), and the fixed loader is `.bootcde` (boards/espruino-esp32/loader.ts).
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
/**
 * What the fixed loader booted (firmware/device/loader.ts): set by boards/espruino-esp32/loader.ts
 * before it evaluates the image; undefined when the image runs without the loader (the engine check).
 */
declare const __hoshiLoader: LoaderHandle | undefined;

export const ESP32_PARTITIONS = {
  provisioning: { address: 0x00e000, size: 0x2000 },
  state: { address: 0x310000, size: 0x10000 },
};

/**
 * The Storage files of signed updates (docs/formats/update.md §4-5): the boot control record's two
 * erase units, and slots A and B, each a 4 KB header and a 262,144-byte payload.
 */
export const ESP32_BOOT = {
  bootctl: ['hoshi.bc0', 'hoshi.bc1'],
  slots: ['hoshi.a', 'hoshi.b'],
  unit: 4096,
  slotSize: 4096 + 262144,
};

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

/** Storage's write unit as this binding offers it: any length works, 256 bytes bounds what a writer buffers. */
const STORAGE_WRITE = 256;
/** E.CRC32 of 4096 bytes of 0xFF: an erased 4 KB of a Storage file. */
const ERASED_CRC = 0xf154670a;

/**
 * Storage files (src/jswrap_storage.c over src/jsflash.c) seen as one flash region: `names`, each
 * of `fileSize` bytes, one after the other. Storage decides how it behaves:
 * - read(name, offset, length) returns a string mapped onto the flash (only what is converted is
 *   copied: E.toUint8Array). A missing file, or bytes past its end, read as erased (0xFF). The file
 *   is looked up at every call, so a compaction that moves it is harmless.
 * - write(name, data, 0, size) makes a file of `size` bytes, erased but for `data`. At offset 0 into
 *   an existing file that is not wholly erased (or of another size), Storage makes the file anew (the
 *   old one is only marked deleted until the next compaction: jsfWriteFile). So erasing is making
 *   the file anew: erase() of a file's first 4 KB erases the whole file, and of a later 4 KB checks
 *   that it is erased already (it is once the first was) and throws otherwise.
 * - write(name, data, offset) programs erased bytes only ("File already written with different
 *   data"). The binding writes the runs that fall on erased bytes, skips 0xFF written over
 *   programmed ones (hal/flash.ts), refuses programming a byte twice, and reads back. A write at a
 *   file's offset 0 would make the file anew unless it is wholly erased: it is allowed on a missing
 *   file and right after this binding erased the file (a boot record, a slot's header), refused
 *   otherwise.
 * - `sha256` hashes in place: crypto.SHA256 reads the mapped string (hal/flash.ts).
 */
export function storageFlash(names: string[], fileSize: number): Flash {
  const s: StorageFiles = { names: names, fileSize: fileSize, size: names.length * fileSize, fresh: [] };
  return {
    size: s.size,
    eraseSize: SECTOR,
    writeSize: STORAGE_WRITE,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => storageRead(s, offset, length),
    write: (offset: number, data: Uint8Array): void => storageWrite(s, offset, data),
    erase: (offset: number, length: number): void => storageErase(s, offset, length),
    sha256: (offset: number, length: number): Uint8Array => storageSha256(s, offset, length),
  };
}

/** A storageFlash's state: its files, and which of them it made anew with nothing written since. */
interface StorageFiles {
  names: string[];
  fileSize: number;
  size: number;
  fresh: boolean[];
}

/** `length` bytes at `offset` of file i; past the file's end, or of a missing file, 0xFF. */
function fileRead(s: StorageFiles, i: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  // length 0 would read the whole file (jsfReadFile).
  const mapped = length > 0 ? require('Storage').read(s.names[i], offset, length) : undefined;
  const got = mapped === undefined ? 0 : mapped.length;
  if (got > 0) out.set(E.toUint8Array(mapped));
  for (let k = got; k < length; k++) out[k] = 0xff;
  return out;
}

/** File i made anew at its full size, erased. */
function fileRenew(s: StorageFiles, i: number): void {
  require('Storage').write(s.names[i], '\xff', 0, s.fileSize);
  s.fresh[i] = true;
}

/** Programs `data` at `offset` of file i: the runs over erased bytes, each one Storage.write; then reads back. */
function fileWrite(s: StorageFiles, i: number, offset: number, data: Uint8Array): void {
  const S = require('Storage');
  const name = s.names[i];
  if (S.read(name, 0, 1) === undefined) fileRenew(s, i);
  else if (offset === 0 && !s.fresh[i]) throw new Error('write: ' + name + ' is written at offset 0 only right after erase (Storage would make the file anew)');
  s.fresh[i] = false;
  const current = fileRead(s, i, offset, data.length);
  const at = i * s.fileSize + offset;
  for (let k = 0; k < data.length; k++) if (data[k] !== 0xff && current[k] !== 0xff) throw new Error('write: byte at ' + (at + k) + ' is already programmed');
  let k = 0;
  while (k < data.length) {
    while (k < data.length && (current[k] !== 0xff || data[k] === 0xff)) k++;
    const start = k;
    while (k < data.length && current[k] === 0xff) k++;
    let end = k;
    while (end > start && data[end - 1] === 0xff) end--;
    if (end > start) S.write(name, data.subarray(start, end), offset + start, offset + start === 0 ? s.fileSize : undefined);
  }
  const back = fileRead(s, i, offset, data.length);
  for (let m = 0; m < data.length; m++) if (back[m] !== (data[m] === 0xff ? current[m] : data[m])) throw new Error('write: verify failed at ' + (at + m));
}

function storageRead(s: StorageFiles, offset: number, length: number): Uint8Array {
  checkRange('read', offset, length, s.size, 1);
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const i = Math.floor((offset + done) / s.fileSize);
    const at = (offset + done) % s.fileSize;
    const n = Math.min(s.fileSize - at, length - done);
    out.set(fileRead(s, i, at, n), done);
    done += n;
  }
  return out;
}

function storageWrite(s: StorageFiles, offset: number, data: Uint8Array): void {
  checkRange('write', offset, data.length, s.size, STORAGE_WRITE);
  let done = 0;
  while (done < data.length) {
    const i = Math.floor((offset + done) / s.fileSize);
    const at = (offset + done) % s.fileSize;
    const n = Math.min(s.fileSize - at, data.length - done);
    fileWrite(s, i, at, data.subarray(done, done + n));
    done += n;
  }
}

function storageErase(s: StorageFiles, offset: number, length: number): void {
  checkRange('erase', offset, length, s.size, SECTOR);
  for (let o = offset; o < offset + length; o += SECTOR) {
    const i = Math.floor(o / s.fileSize);
    const at = o % s.fileSize;
    if (at === 0) fileRenew(s, i);
    else {
      const mapped = require('Storage').read(s.names[i], at, SECTOR);
      if (mapped !== undefined && mapped.length > 0 && (mapped.length !== SECTOR || E.CRC32(mapped) !== ERASED_CRC)) {
        throw new Error('erase: Storage erases ' + s.names[i] + ' whole only: erase its first 4 KB first');
      }
    }
  }
}

function storageSha256(s: StorageFiles, offset: number, length: number): Uint8Array {
  checkRange('sha256', offset, length, s.size, 1);
  const i = Math.floor(offset / s.fileSize);
  const at = offset % s.fileSize;
  if (length === 0 || at + length > s.fileSize) throw new Error('sha256: the range must lie in one Storage file');
  const mapped = require('Storage').read(s.names[i], at, length);
  if (mapped === undefined || mapped.length !== length) throw new Error('sha256: ' + s.names[i] + ' does not hold the range');
  return new Uint8Array(require('crypto').SHA256(mapped));
}

/** The boot control record and the slots (Storage files), and the running slot's assets. */
function esp32Slots(): { bootctl: Flash; slots: Flash[]; assets: Flash | undefined; loader: LoaderHandle | undefined } {
  const bootctl = storageFlash(ESP32_BOOT.bootctl, ESP32_BOOT.unit);
  const slots = [storageFlash([ESP32_BOOT.slots[0]], ESP32_BOOT.slotSize), storageFlash([ESP32_BOOT.slots[1]], ESP32_BOOT.slotSize)];
  const loader = typeof __hoshiLoader !== 'undefined' ? __hoshiLoader : undefined;
  // Without the loader (the engine check, tests that run an image by itself) the image is slot A's.
  const slot = loader ? loader.slot : 0;
  const app = 0;
  return { bootctl: bootctl, slots: slots, assets: assetsOf(slots[slot], app), loader: loader };
}

/**
 * The Ed25519 verifier in steps: asset 4 of the running slot (firmware/host/verifier-asset.ts),
 * evaluated from its Storage file in place, so that its function code stays in flash; it is held
 * only while a package is checked.
 */
function espruinoVerifier(bootctl: Flash, slots: Flash[]): (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, sha512: (d: Uint8Array) => Uint8Array) => { step(): number } {
  const record = readBootRecord(bootctl);
  const s = runningSlot(record);
  const app = appOf(slots[s], record.slots[s].app);
  const span = openAssets(assetsOf(slots[s], app)).find(Asset.VERIFIER);
  if (!span) throw new Error('the update verifier is missing from the running slot\'s assets');
  const base = Boot.SLOT_HEADER + Math.ceil((app + 1) / SECTOR) * SECTOR + span.offset;
  return evaluate(require('Storage').read(ESP32_BOOT.slots[s], base, span.length)) as never;
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
      assets: boot.assets,
      bootctl: boot.bootctl,
      slots: boot.slots,
    },
    loader: boot.loader,
    // Verified in the running image, a slice per turn of the event loop (docs/design/
    // espruino-update-authentication.md: ≈ 1,650 variables at most, 95–145 s on an ESP32); the
    // payload is hashed in place by the slots' native sha256.
    update: {
      runtime: 'espruino',
      verifyIn: 'image',
      hashSlice: 4096,
      signatureSteps: function (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): { step(): number } {
        return espruinoVerifier(boot.bootctl, boot.slots)(publicKey, message, signature, crypto.sha512!);
      },
    },
    memory: (): { used: number; total: number } => {
      const m = process.memory();
      return { used: m.usage, total: m.total };
    },
  };
}

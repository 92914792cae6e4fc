import { ESP32_BOOT, ESP32_PARTITIONS } from '../../../boards/espruino-esp32/board';
import { crc32 } from 'node:zlib';
import { ascii, concatBytes, type Link } from './link';
import { paddedBootCode, RESERVED_BASE } from '../esp32-storage';
import type { FactoryImage } from './kaluma';

/**
 * Espruino 2v29 on ESP32 over its serial REPL (115200 baud).
 *
 * Files are written as the `espruino` CLI does with SAVE_ON_SEND=1 (EspruinoTools
 * core/codeWriter.js): each line starts with DLE (0x10: no echo for that line, src/jsinteractive.c),
 * the bytes in 1,024-byte chunks with require("Storage").write(name, chunk, offset[, total]) quoted
 * as EspruinoTools' toJSONishString does (core/utils.js). Hoshi checks each file: the board prints
 * its CRC-32 (E.CRC32) and the host compares it with its own.
 *
 * `hoshi flash` writes a unit as the factory leaves it (docs/formats/update.md §4, §5, §7), every
 * file CRC-checked: Bluetooth turned off in NVS if it is on (docs/interfaces.md: on by default, the
 * stock build advertises a Nordic UART service that reaches the console from power-on;
 * `ESP32.enableBLE(false)` persists, erases the saved code and restarts the board, which is then
 * interrupted again: the files below are written after it); `reset()`; Storage erased whole (`eraseAll`: the unit's earlier files, and any
 * product file, are gone); the files of firmware/host/esp32-storage.ts, each starting on a 4 KB
 * sector boundary, and what they hold from the first boundary in their data (offset 4,064: the
 * device finds them with board.ts `reservedFlash`): the boot control file `hoshi.bc` erased, so
 * that a transfer cut short leaves no record naming a slot half written (no record reads as the
 * factory default: slot A); slot A, `hoshi.a` (4 KB header with L = 0, then the payload); slot B,
 * `hoshi.b`, erased; the factory boot record in `hoshi.bc`; the fixed loader as `.bootcde`, last
 * (padded with spaces to whole sectors), so that a transfer that stopped leaves no loader; then
 * `load()`. After this nothing makes these files anew: the device erases and programs the sectors
 * inside them itself.
 *
 * Provisioning first checks the partition table at 0x8000 for the 8 KB free partition at 0xE000
 * (on IDF4 builds that address is inside NVS: refused), erases its two sectors, writes the record
 * in 512-byte chunks through atob(), and compares the CRC-32 of the 8 KB read back.
 */
export const ESPRUINO_BAUD = 115200;
const CHUNK = 1024;
const PROVISIONING_ADDRESS = 0xe000;
const PROVISIONING_SIZE = 0x2000;

/** EspruinoTools' toJSONishString (core/utils.js): a double-quoted literal Espruino's lexer reads back byte for byte. */
export function toJSONishString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (c < 8) out += next >= 48 && next <= 55 ? '\\x0' + c : '\\' + c;
    else if (c === 8) out += '\\b';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 11) out += '\\v';
    else if (c === 12) out += '\\f';
    else if (c === 34) out += '\\"';
    else if (c === 92) out += '\\\\';
    else if (c < 32 || c === 127 || c === 173 || (c >= 0xc2 && c <= 0xf4)) out += '\\x' + (c < 16 ? '0' : '') + c.toString(16);
    else if (c > 255) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += text[i];
  }
  return '"' + out + '"';
}

/** The image's bytes as a byte string (one char per byte). */
function byteString(code: Uint8Array): string {
  let s = '';
  for (let i = 0; i < code.length; i++) s += String.fromCharCode(code[i]!);
  return s;
}

/** The line that prints the CRC-32 of the Storage file `name` between markers. */
function crcLine(name: string): string {
  return `print("<","<<",JSON.stringify(E.CRC32(require("Storage").read(${JSON.stringify(name)}))),">>",">")`;
}

/** Lines that store `bytes` as the Storage file `name` in 1,024-byte chunks, then print its CRC-32. */
function storageFileLines(name: string, bytes: Uint8Array): string[] {
  const text = byteString(bytes);
  const file = JSON.stringify(name);
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += CHUNK) {
    const chunk = toJSONishString(text.slice(at, at + CHUNK));
    lines.push(at === 0 ? `require("Storage").write(${file},${chunk},0,${text.length});` : `require("Storage").write(${file},${chunk},${at});`);
  }
  lines.push(crcLine(name));
  return lines;
}

/**
 * Lines that write `bytes` into the Storage file `name` (made already, erased, at its full size
 * `size`) from offset `at`, then print the file's CRC-32. The chunks go from the end to the start,
 * each into erased bytes (src/jsflash.c jsfWriteFile refuses any other; a write at offset 0 would
 * make the file anew, so `at` must not be 0), chunks that are all 0xFF left out: a transfer cut
 * short leaves the first bytes (a slot's header, a record's magic) unwritten.
 */
export function storageRegionLines(name: string, bytes: Uint8Array, size: number, at = RESERVED_BASE): string[] {
  if (bytes.length === 0) throw new RangeError('flash: ' + name + ' would be empty');
  if (at <= 0 || at + bytes.length > size) throw new RangeError('flash: ' + name + ' is ' + bytes.length + ' bytes at ' + at + '; its file holds ' + size);
  const text = byteString(bytes);
  const file = JSON.stringify(name);
  const lines: string[] = [];
  const starts: number[] = [];
  for (let o = 0; o < text.length; o += CHUNK) starts.push(o);
  for (const o of starts.reverse()) {
    const chunk = text.slice(o, o + CHUNK);
    if (/^\xff*$/.test(chunk)) continue;
    lines.push(`require("Storage").write(${file},${toJSONishString(chunk)},${at + o});`);
  }
  lines.push(crcLine(name));
  return lines;
}

/** One Storage file `hoshi flash` writes: its lines (the last prints the CRC-32) and the CRC-32 the file must have. */
export interface StorageSection {
  name: string;
  lines: string[];
  crc: number;
  /** How long the board may take to answer the last line (default 10 s). */
  answerMs?: number;
}

/** `bytes` padded with 0xFF to `size`: what the file holds once written. */
function filled(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size).fill(0xff);
  out.set(bytes);
  return out;
}

/** The files `hoshi flash` writes on the ESP32, in order (see the top of this file). */
export function espruinoFactorySections(image: FactoryImage): StorageSection[] {
  if (image.loader.length === 0) throw new Error('flash: the loader is empty');
  const made = (name: string, size: number): string => `require("Storage").write(${JSON.stringify(name)},"\\xff",0,${size});`;
  const erased = (name: string, size: number): StorageSection => ({ name, lines: [made(name, size), crcLine(name)], crc: crc32(filled(new Uint8Array(0), size)) });
  const holding = (name: string, size: number, bytes: Uint8Array): Uint8Array => {
    const out = filled(new Uint8Array(0), size);
    out.set(bytes, RESERVED_BASE);
    return out;
  };
  const B = ESP32_BOOT;
  const bootCode = paddedBootCode(image.loader);
  return [
    // 224 sectors erased: seconds on an ESP32 (the print answers once eraseAll has returned).
    { name: 'Storage', lines: ['require("Storage").eraseAll();', 'print("<","<<",JSON.stringify(require("Storage").list().length),">>",">")'], crc: 0, answerMs: 60000 },
    erased(B.bootctl, B.bootctlFile),
    { name: B.slots[0]!, lines: [made(B.slots[0]!, B.slotFile), ...storageRegionLines(B.slots[0]!, image.slot, B.slotFile)], crc: crc32(holding(B.slots[0]!, B.slotFile, image.slot)) },
    erased(B.slots[1]!, B.slotFile),
    { name: B.bootctl, lines: storageRegionLines(B.bootctl, image.record, B.bootctlFile), crc: crc32(holding(B.bootctl, B.bootctlFile, image.record)) },
    { name: '.bootcde', lines: storageFileLines('.bootcde', bootCode), crc: crc32(bootCode) },
  ];
}

/**
 * Bluetooth off, persistently, where NVS has it on (targets/esp32/jswrap_esp32.c `enableBLE`: NVS,
 * then the saved code erased and a restart); a board with it off already does nothing.
 */
export const ESP32_BLE_OFF = 'if(ESP32.getState().BLE)ESP32.enableBLE(false);';

/** How long the board may take to restart after Bluetooth is turned off, ms. */
export const ESP32_BLE_RESTART_MS = 4000;

/** The exact bytes `hoshi flash` sends to an ESP32 after its first interrupt: Bluetooth off, an interrupt, `reset()`, every file, then `load()`. */
export function espruinoFactoryTranscript(image: FactoryImage): Uint8Array {
  const lines = ['reset();', 'print()', ...espruinoFactorySections(image).flatMap((s) => s.lines)];
  return concatBytes([ascii('\x10' + ESP32_BLE_OFF + '\n'), ascii('\x03'), ...lines.map((l) => ascii('\x10' + l + '\n')), ascii('\x10load()\n\n')]);
}

async function sendLine(link: Link, line: string): Promise<void> {
  // Paced like EspruinoTools on a UART console: the ESP32's UART buffer is 1,024 bytes.
  const bytes = ascii('\x10' + line + '\n');
  for (let at = 0; at < bytes.length; at += 256) {
    await link.write(bytes.subarray(at, at + 256));
    await new Promise((r) => setTimeout(r, 30));
  }
}

function crcAnswer(text: string): number {
  const m = /<<\s*(\d+)\s*>>/.exec(text);
  if (!m) throw new Error('serial: the board did not print a CRC');
  return Number(m[1]);
}

/** Sends `lines`, the last of which prints a CRC-32, and returns that CRC. */
async function sendFile(link: Link, lines: string[], answerMs = 10000): Promise<number> {
  for (const line of lines.slice(0, -1)) {
    await sendLine(link, line);
    await new Promise((r) => setTimeout(r, 250));
  }
  link.drain();
  await sendLine(link, lines[lines.length - 1]!);
  return crcAnswer(await link.expect(/<<\s*\d+\s*>>/, answerMs));
}

/** Writes every file of `image`, each checked by its CRC-32 (nothing more is sent after a mismatch), then load(). */
export async function espruinoFactory(link: Link, image: FactoryImage, log: (line: string) => void, bleRestartMs = ESP32_BLE_RESTART_MS): Promise<void> {
  const sections = espruinoFactorySections(image);
  await link.write(ascii('\x03'));
  await new Promise((r) => setTimeout(r, 300));
  link.drain();
  // Bluetooth off for good (the board restarts if it was on), then interrupt whatever it restarted into.
  await sendLine(link, ESP32_BLE_OFF);
  await new Promise((r) => setTimeout(r, bleRestartMs));
  await link.write(ascii('\x03'));
  await new Promise((r) => setTimeout(r, 300));
  link.drain();
  await sendLine(link, 'reset();');
  await new Promise((r) => setTimeout(r, 250));
  await sendLine(link, 'print()');
  await new Promise((r) => setTimeout(r, 250));
  for (const s of sections) {
    const crc = await sendFile(link, s.lines, s.answerMs);
    if (crc !== s.crc) throw new Error('flash: ' + s.name + ' on the board has CRC-32 ' + crc + ', expected ' + s.crc + ': not loaded');
  }
  await link.write(ascii('\x10load()\n\n'));
  log('Bluetooth off in NVS; stored the loader (' + image.loader.length + ' bytes) in .bootcde, slot A (' + image.slot.length + ' bytes) in ' + ESP32_BOOT.slots[0] + ' and the boot record in ' + ESP32_BOOT.bootctl + ' (each CRC-32 verified); the board restarted');
}

/** Lines (without DLE and newline) that check the partition, write the 8 KB record area and check it. */
export function espruinoProvisionLines(area: Uint8Array): string[] {
  if (area.length !== PROVISIONING_SIZE) throw new RangeError('provision: the ESP32 provisioning area is 8192 bytes');
  const lines = [
    // Partition table entries: 32 bytes, magic AA 50, offset (LE) at +4, size at +8 (ESP-IDF partition table format).
    'var F=require("Flash"),T=F.read(3072,32768),ok=0;for(var i=0;i<3072;i+=32)if(T[i]==170&&T[i+1]==80&&(T[i+4]|T[i+5]<<8|T[i+6]<<16)==57344&&(T[i+8]|T[i+9]<<8|T[i+10]<<16)>=8192)ok=1;print("<","<<"+ok+">>",">")',
    'F.erasePage(57344);F.erasePage(61440);print("<","<<0>>",">")',
  ];
  for (let k = 0; k < 16; k++) {
    const b64 = Buffer.from(area.subarray(k * 512, k * 512 + 512)).toString('base64');
    lines.push(`F.write(atob("${b64}"),${PROVISIONING_ADDRESS + k * 512});print("<","<<${k}>>",">")`);
  }
  lines.push('print("<","<<",JSON.stringify(E.CRC32(F.read(8192,57344))),">>",">")');
  return lines;
}

/** Lines that erase the 64 KB state partition, write its first sector (a seeded store) and check it. */
export function espruinoStateLines(sector: Uint8Array): string[] {
  if (sector.length !== 4096) throw new RangeError('provision: a state sector is 4096 bytes');
  const base = ESP32_PARTITIONS.state.address;
  const lines = [`var F=require("Flash");for(var a=0;a<${ESP32_PARTITIONS.state.size};a+=4096)F.erasePage(${base}+a);print("<","<<0>>",">")`];
  for (let k = 0; k < 8; k++) {
    const b64 = Buffer.from(sector.subarray(k * 512, k * 512 + 512)).toString('base64');
    lines.push(`F.write(atob("${b64}"),${base + k * 512});print("<","<<${k}>>",">")`);
  }
  lines.push(`print("<","<<",JSON.stringify(E.CRC32(F.read(4096,${base}))),">>",">")`);
  return lines;
}

export function espruinoStateTranscript(sector: Uint8Array): Uint8Array {
  return concatBytes(espruinoStateLines(sector).map((l) => ascii('\x10' + l + '\n')));
}

export async function espruinoState(link: Link, sector: Uint8Array, log: (line: string) => void): Promise<void> {
  const lines = espruinoStateLines(sector);
  for (let k = 0; k < lines.length - 1; k++) {
    await sendLine(link, lines[k]!);
    await link.expect(/<<\s*\d+\s*>>/, 10000);
  }
  await sendLine(link, lines[lines.length - 1]!);
  const crc = crcAnswer(await link.expect(/<<\s*\d+\s*>>/, 5000));
  if (crc !== crc32(sector)) throw new Error('provision: the state sector read back has CRC-32 ' + crc + ', expected ' + crc32(sector) + ': not written');
  log('state partition erased, its first sector written at 0x' + ESP32_PARTITIONS.state.address.toString(16) + ' and verified (CRC-32 of 4096 bytes)');
}

export function espruinoProvisionTranscript(area: Uint8Array): Uint8Array {
  return concatBytes(espruinoProvisionLines(area).map((l) => ascii('\x10' + l + '\n')));
}

export async function espruinoProvision(link: Link, area: Uint8Array, log: (line: string) => void): Promise<void> {
  const lines = espruinoProvisionLines(area);
  await link.write(ascii('\x03'));
  await new Promise((r) => setTimeout(r, 300));
  link.drain();
  await sendLine(link, lines[0]!);
  if (crcAnswer(await link.expect(/<<\s*\d+\s*>>/, 5000)) !== 1) {
    throw new Error('provision: this firmware has no 8 KB free partition at 0xE000 (an IDF4 build keeps NVS there): nothing written');
  }
  for (let k = 1; k < lines.length - 1; k++) {
    await sendLine(link, lines[k]!);
    await link.expect(/<<\s*\d+\s*>>/, 5000);
  }
  await sendLine(link, lines[lines.length - 1]!);
  const crc = crcAnswer(await link.expect(/<<\s*\d+\s*>>/, 5000));
  if (crc !== crc32(area)) throw new Error('provision: the area read back has CRC-32 ' + crc + ', the record ' + crc32(area) + ': not written');
  log('provisioning record written at 0xE000 and verified (CRC-32 of 8192 bytes)');
}

import { ESP32_PARTITIONS } from '../../../boards/espruino-esp32/board';
import { crc32 } from 'node:zlib';
import { ascii, concatBytes, type Link } from './link';

/**
 * Espruino 2v29 on ESP32 over its serial REPL (115200 baud).
 *
 * Flashing an image does what the `espruino` CLI does with SAVE_ON_SEND=1 (EspruinoTools
 * core/codeWriter.js): each line starts with DLE (0x10: no echo for that line, src/jsinteractive.c),
 * `reset()`, then the code in 1,024-byte chunks with require("Storage").write(".bootcde", chunk,
 * offset[, total]) quoted as EspruinoTools' toJSONishString does (core/utils.js), then `load()`.
 * Hoshi adds a check before `load()`: the board prints the CRC-32 of `.bootcde` (E.CRC32) and the
 * host compares it with the image's.
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

/** Lines (without the leading DLE and the trailing newline) that store the image and check it. */
export function espruinoFlashLines(code: Uint8Array): string[] {
  if (code.length === 0) throw new Error('flash: the image is empty');
  const text = byteString(code);
  const lines = ['reset();', 'print()'];
  for (let at = 0; at < text.length; at += CHUNK) {
    const chunk = toJSONishString(text.slice(at, at + CHUNK));
    lines.push(at === 0 ? `require("Storage").write(".bootcde",${chunk},0,${text.length});` : `require("Storage").write(".bootcde",${chunk},${at});`);
  }
  lines.push('print("<","<<",JSON.stringify(E.CRC32(require("Storage").read(".bootcde"))),">>",">")');
  return lines;
}

export function espruinoFlashTranscript(code: Uint8Array): Uint8Array {
  return concatBytes([...espruinoFlashLines(code).map((l) => ascii('\x10' + l + '\n')), ascii('\x10load()\n\n')]);
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

export async function espruinoFlash(link: Link, code: Uint8Array, log: (line: string) => void): Promise<void> {
  const lines = espruinoFlashLines(code);
  await link.write(ascii('\x03'));
  await new Promise((r) => setTimeout(r, 300));
  link.drain();
  for (const line of lines.slice(0, -1)) {
    await sendLine(link, line);
    await new Promise((r) => setTimeout(r, 250));
  }
  link.drain();
  await sendLine(link, lines[lines.length - 1]!);
  const crc = crcAnswer(await link.expect(/<<\s*\d+\s*>>/, 10000));
  if (crc !== crc32(code)) throw new Error('flash: .bootcde on the board has CRC-32 ' + crc + ', the image ' + crc32(code) + ': not loaded');
  await link.write(ascii('\x10load()\n\n'));
  log('stored ' + code.length + ' bytes in .bootcde (CRC-32 verified); the board restarted the image');
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

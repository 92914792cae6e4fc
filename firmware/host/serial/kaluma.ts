import { KALUMA_PARTITIONS } from '../../../boards/kaluma-pico-w/board';
import { ascii, concatBytes, type Link } from './link';
import { packet, BLOCK, EOT, headerBlock, dataBlocks, YmodemSender } from './ymodem';

/**
 * Kaluma 1.2.1 over its USB REPL (115200 baud; the Pico enumerates as USB VID 0x2E8A).
 *
 * `hoshi flash` writes a unit as the factory leaves it (docs/formats/update.md §4, §5, §7): first
 * the fixed loader into the program area as `kaluma flash` does (@kaluma/cli bin/kaluma.js,
 * lib/flash.js): "\r.flash -w\r", a YMODEM-1K transfer of the file named "usercode" (src/repl.c,
 * src/ymodem.c: the header erases the 128 program sectors, the slots' among them; at most 524,287
 * bytes); then the boot control sectors (166-167) erased, so that a transfer cut short leaves no
 * record naming a slot half written (no record reads as the factory default: slot A); then slot A
 * (sectors 12-71: a 4 KB header with L = 0, then the payload) and the factory boot record in sector
 * 166, each written through the REPL and read back; then "\r.load\r". The loader is the program
 * area's only text, and nothing on the device rewrites it.
 *
 * Provisioning writes the 4 KB record into sector 0 of Kaluma's flash area (boards/kaluma-pico-w)
 * with REPL statements: echo off, the record in 16 lines of 512 hex digits (the REPL takes lines
 * of at most 1,023 characters), erase, write, then the sector read back and printed between
 * markers, compared byte for byte on the host.
 */
export const KALUMA_BAUD = 115200;
export const KALUMA_PROGRAM_MAX = 524287;
const SECTOR = 4096;

export function kalumaFlashTranscript(code: Uint8Array, load = true): Uint8Array {
  checkSize(code);
  const parts = [ascii('\r'), ascii('.flash -w\r'), packet(0, headerBlock('usercode', code.length))];
  dataBlocks(code).forEach((b, i) => parts.push(packet(i + 1, b)));
  parts.push(new Uint8Array([EOT]), packet(0, new Uint8Array(BLOCK)));
  if (load) parts.push(ascii('\r'), ascii('.load\r'));
  return concatBytes(parts);
}

function checkSize(code: Uint8Array): void {
  if (code.length === 0) throw new Error('flash: the image is empty');
  if (code.length > KALUMA_PROGRAM_MAX) throw new Error('flash: the image is ' + code.length + ' bytes; Kaluma 1.2.1 takes at most ' + KALUMA_PROGRAM_MAX);
  if (code.indexOf(0) >= 0) throw new Error('flash: the image contains a NUL byte (Kaluma ends the program at the first NUL)');
}

export async function kalumaFlash(link: Link, code: Uint8Array, log: (line: string) => void, load = true): Promise<void> {
  checkSize(code);
  link.drain();
  await link.write(ascii('\r'));
  await link.write(ascii('.flash -w\r'));
  await link.expect(/Transfer a file via YMODEM/, 5000);
  const sender = new YmodemSender('usercode', code);
  // The header makes the board erase 512 KB before it answers: allow for it.
  while (sender.state !== 'done' && sender.state !== 'cancelled') {
    const byte = await link.readByte(sender.state === 'waiting' || sender.state === 'header' ? 30000 : 10000);
    const reply = sender.receive(byte);
    if (reply.length) await link.write(reply);
  }
  if (sender.state === 'cancelled') throw new Error('flash: the board cancelled the transfer');
  const result = await link.expect(/(Done|Verification failed|Aborted|Failed to receive)\r\n/, 5000);
  if (!/Done/.test(result)) throw new Error('flash: the board reported: ' + result.trim().split('\n').pop());
  if (!load) {
    log('flashed ' + code.length + ' bytes into the program area');
    return;
  }
  await link.write(ascii('\r'));
  await link.write(ascii('.load\r'));
  log('flashed ' + code.length + ' bytes into the program area; the board restarted');
}

/**
 * The REPL lines (without their "\r") that erase the `count` sectors of Kaluma's flash area from
 * `base`, write `sector` into the first, and print it back.
 */
export function kalumaSectorLines(base: number, count: number, sector: Uint8Array): string[] {
  if (sector.length !== SECTOR) throw new RangeError('provision: a Kaluma sector is 4096 bytes');
  const hex = Buffer.from(sector).toString('hex');
  const lines = [
    `var F=require('flash').Flash,f=new F(${base},${count}),b=new Uint8Array(4096);function h(o,s){for(var i=0;i<s.length;i+=2)b[o+(i>>1)]=parseInt(s.substr(i,2),16);}print('<R>')`,
  ];
  for (let k = 0; k < 16; k++) lines.push(`h(${k * 256},'${hex.slice(k * 512, k * 512 + 512)}');print('<${k}>')`);
  const erase = count === 1 ? 'f.ioctl(6,0);' : `for(var n=0;n<${count};n++)f.ioctl(6,n);`;
  lines.push(
    erase + "f.write(0,b);var r=new Uint8Array(4096);f.read(0,r);for(var j=0;j<16;j++){var s='';for(var i=0;i<256;i++){var v=r[j*256+i];s+=(v<16?'0':'')+v.toString(16);}print('<V'+j+':'+s+'>');}print('<E>')",
  );
  return lines;
}

/** The REPL lines that write and read back the 4 KB provisioning sector (without their "\r"). */
export function kalumaProvisionLines(sector: Uint8Array): string[] {
  return kalumaSectorLines(KALUMA_PARTITIONS.provisioning.sector, KALUMA_PARTITIONS.provisioning.count, sector);
}

/** The REPL lines that erase the state partition and write its first sector (a seeded store). */
export function kalumaStateLines(sector: Uint8Array): string[] {
  return kalumaSectorLines(KALUMA_PARTITIONS.state.sector, KALUMA_PARTITIONS.state.count, sector);
}

function transcriptOf(lines: string[]): Uint8Array {
  return concatBytes([new Uint8Array([0x03]), ascii('\r.echo off\r'), ...lines.map((l) => ascii(l + '\r')), ascii('\r.echo on\r')]);
}

export function kalumaStateTranscript(sector: Uint8Array): Uint8Array {
  return transcriptOf(kalumaStateLines(sector));
}

export function kalumaProvisionTranscript(sector: Uint8Array): Uint8Array {
  return transcriptOf(kalumaProvisionLines(sector));
}

/** Parses the read-back of the last line: the sector as the board holds it. */
export function parseKalumaReadBack(output: string): Uint8Array {
  const out = new Uint8Array(SECTOR);
  for (let j = 0; j < 16; j++) {
    const m = new RegExp('<V' + j + ':([0-9a-f]{512})>').exec(output);
    if (!m) throw new Error('provision: the board did not print page ' + j + ' of the sector back');
    out.set(Buffer.from(m[1]!, 'hex'), j * 256);
  }
  return out;
}

export async function kalumaProvision(link: Link, sector: Uint8Array, log: (line: string) => void): Promise<void> {
  await sendSector(link, kalumaProvisionLines(sector), sector);
  log('provisioning record written to sector 0 of the flash area and verified (4096 bytes)');
}

export async function kalumaState(link: Link, sector: Uint8Array, log: (line: string) => void): Promise<void> {
  await sendSector(link, kalumaStateLines(sector), sector);
  log('state partition erased, its first sector written and verified (4096 bytes)');
}

async function sendSector(link: Link, lines: string[], sector: Uint8Array): Promise<void> {
  await link.write(new Uint8Array([0x03]));
  await new Promise((r) => setTimeout(r, 150));
  link.drain();
  await link.write(ascii('\r.echo off\r'));
  await new Promise((r) => setTimeout(r, 150));
  link.drain();
  await link.write(ascii(lines[0]! + '\r'));
  await link.expect(/<R>/, 5000);
  for (let k = 0; k < 16; k++) {
    await link.write(ascii(lines[k + 1]! + '\r'));
    await link.expect(new RegExp('<' + k + '>'), 5000);
  }
  await link.write(ascii(lines[17]! + '\r'));
  const back = parseKalumaReadBack(await link.expect(/<E>/, 20000));
  await link.write(ascii('\r.echo on\r'));
  for (let i = 0; i < SECTOR; i++) if (back[i] !== sector[i]) throw new Error('provision: the sector read back differs at byte ' + i + ': it is not written');
}


/** A range of Kaluma's flash area written by `hoshi flash`: its sectors, and the bytes from its first. */
export interface KalumaRegion {
  name: string;
  sector: number;
  count: number;
  bytes: Uint8Array;
  /** Sectors erased before anything is written (besides the region's own). */
  eraseFirst?: { sector: number; count: number };
}

/**
 * The REPL lines (without their "\r") that write `region`: the first erases its sectors (and
 * `eraseFirst`'s); then, for each sector its bytes fill (the last first, so that the first sector,
 * which holds a slot's header, is written last), 16 lines fill a buffer and one writes the sector
 * and prints it back. Line n prints "<An>" once done. State lives in one global (`__hoshiA`), not in
 * names the running program may use; the last line drops it.
 */
export function kalumaRegionLines(region: KalumaRegion): string[] {
  const { sector: base, count, bytes } = region;
  if (bytes.length === 0) throw new RangeError('flash: ' + region.name + ' is empty');
  if (bytes.length > count * SECTOR) throw new RangeError('flash: ' + region.name + ' is ' + bytes.length + ' bytes; its ' + count + ' sectors hold ' + count * SECTOR);
  const sectors = Math.ceil(bytes.length / SECTOR);
  const padded = new Uint8Array(sectors * SECTOR).fill(0xff);
  padded.set(bytes);
  let n = 0;
  const mark = (): string => `print('<A${n++}>')`;
  const first = region.eraseFirst ? `(function(g){for(var k=0;k<${region.eraseFirst.count};k++)g.ioctl(6,k);})(new (require('flash').Flash)(${region.eraseFirst.sector},${region.eraseFirst.count}));` : '';
  const lines = [
    first + `var __hoshiA={f:new (require('flash').Flash)(${base},${count}),b:new Uint8Array(4096),h:function(o,s){for(var i=0;i<s.length;i+=2)__hoshiA.b[o+(i>>1)]=parseInt(s.substr(i,2),16);}};for(var n=0;n<${count};n++)__hoshiA.f.ioctl(6,n);` + mark(),
  ];
  for (let j = sectors - 1; j >= 0; j--) {
    const hex = Buffer.from(padded.subarray(j * SECTOR, (j + 1) * SECTOR)).toString('hex');
    for (let k = 0; k < 16; k++) lines.push(`__hoshiA.h(${k * 256},'${hex.slice(k * 512, k * 512 + 512)}');` + mark());
    lines.push(
      `(function(A){A.f.write(${j},A.b);var r=new Uint8Array(4096);A.f.read(${j},r);for(var p=0;p<16;p++){var s='';for(var i=0;i<256;i++){var v=r[p*256+i];s+=(v<16?'0':'')+v.toString(16);}print('<V'+p+':'+s+'>');}})(__hoshiA);` + mark(),
    );
  }
  lines.push('__hoshiA=undefined;' + mark());
  return lines;
}

/** The sector each read-back line of kalumaRegionLines prints, by line number. */
function regionReadBacks(bytes: Uint8Array): Map<number, { sector: number; bytes: Uint8Array }> {
  const sectors = Math.ceil(bytes.length / SECTOR);
  const padded = new Uint8Array(sectors * SECTOR).fill(0xff);
  padded.set(bytes);
  const out = new Map<number, { sector: number; bytes: Uint8Array }>();
  let line = 0;
  for (let j = sectors - 1; j >= 0; j--) {
    line += 17;
    out.set(line, { sector: j, bytes: padded.subarray(j * SECTOR, (j + 1) * SECTOR) });
  }
  return out;
}

export function kalumaRegionTranscript(region: KalumaRegion): Uint8Array {
  return transcriptOf(kalumaRegionLines(region));
}

/** Writes `region` through the REPL and compares every sector read back. */
export async function kalumaRegion(link: Link, region: KalumaRegion, log: (line: string) => void): Promise<void> {
  const lines = kalumaRegionLines(region);
  const checks = regionReadBacks(region.bytes);
  await link.write(new Uint8Array([0x03]));
  await new Promise((r) => setTimeout(r, 150));
  link.drain();
  await link.write(ascii('\r.echo off\r'));
  await new Promise((r) => setTimeout(r, 150));
  link.drain();
  for (let n = 0; n < lines.length; n++) {
    await link.write(ascii(lines[n]! + '\r'));
    const out = await link.expect(new RegExp('<A' + n + '>'), 20000);
    const check = checks.get(n);
    if (!check) continue;
    const back = parseKalumaReadBack(out);
    for (let i = 0; i < SECTOR; i++) {
      if (back[i] !== check.bytes[i]) throw new Error('flash: ' + region.name + ' sector ' + (region.sector + check.sector) + ' read back differs at byte ' + i + ': not written');
    }
  }
  await link.write(ascii('\r.echo on\r'));
  log(region.name + ' written to sectors ' + region.sector + '-' + (region.sector + region.count - 1) + ' and verified (' + region.bytes.length + ' bytes)');
}

/** What `hoshi flash` writes into a unit (docs/formats/update.md §4-5, §7). */
export interface FactoryImage {
  /** The fixed loader's bundle: Kaluma's program area, Espruino's `.bootcde`. */
  loader: Uint8Array;
  /** Slot A: its 4 KB header (L = 0: the factory image), then the payload (§3). */
  slot: Uint8Array;
  /** The factory boot record (§5), 512 bytes. */
  record: Uint8Array;
}

/** The regions `hoshi flash` writes on a Kaluma board, in order: slot A (the boot control sectors erased first), then the boot record. */
export function kalumaFactoryRegions(image: FactoryImage): KalumaRegion[] {
  const P = KALUMA_PARTITIONS;
  return [
    { name: 'slot A', sector: P.slots[0]!.sector, count: P.slots[0]!.count, bytes: image.slot, eraseFirst: P.bootctl },
    { name: 'the boot record', sector: P.bootctl.sector, count: P.bootctl.count, bytes: image.record },
  ];
}

/** The exact bytes `hoshi flash` sends to a Kaluma board. */
export function kalumaFactoryTranscript(image: FactoryImage): Uint8Array {
  return concatBytes([kalumaFlashTranscript(image.loader, false), ...kalumaFactoryRegions(image).map(kalumaRegionTranscript), ascii('\r'), ascii('.load\r')]);
}

/**
 * Writes the loader over YMODEM first (Kaluma erases the whole program area, where the slots are,
 * before it takes a program: src/prog.c km_prog_begin), then slot A and the boot record, each
 * sector read back and compared, then `.load`.
 */
export async function kalumaFactory(link: Link, image: FactoryImage, log: (line: string) => void): Promise<void> {
  await kalumaFlash(link, image.loader, log, false);
  for (const region of kalumaFactoryRegions(image)) await kalumaRegion(link, region, log);
  await link.write(ascii('\r'));
  await link.write(ascii('.load\r'));
  log('the board restarted');
}

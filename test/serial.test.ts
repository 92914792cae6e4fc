import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { buildImage, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { createHash } from 'node:crypto';
import { espruinoFactory, espruinoFactorySections, espruinoFactoryTranscript, espruinoProvisionLines, espruinoProvisionTranscript, storageRegionLines, toJSONishString } from '../firmware/host/serial/espruino';
import { kalumaFactoryRegions, kalumaFactoryTranscript, kalumaFlash, kalumaFlashTranscript, kalumaProvisionLines, kalumaProvisionTranscript, kalumaRegion, kalumaRegionLines, kalumaRegionTranscript, parseKalumaReadBack } from '../firmware/host/serial/kaluma';
import { SERIAL_BOARDS } from '../firmware/host/serial/boards';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_BOOT } from '../boards/espruino-esp32/board';
import { EngineFlash, putKalumaProgram, reservedAddress } from '../firmware/host/engine';
import { paddedBootCode, RESERVED_BASE } from '../firmware/host/esp32-storage';
import { buildLoader, factoryImage } from '../firmware/host/loader-build';
import { parse } from 'acorn';
import { decodeBootRecord, SlotState } from '../firmware/device/core/bootctl';
import { BufferedLink, concatBytes } from '../firmware/host/serial/link';
import { ACK, BLOCK, crc16xmodem, EOT, headerBlock, packet, STX } from '../firmware/host/serial/ymodem';
import { encodeProvisioning, newProvisioningRecord } from '../firmware/host/provision';
import { parseProvisioning } from '../firmware/device/core/provisioning';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('YMODEM: CRC-16/XMODEM check value; header and packets as @kaluma/cli builds them', (t) => {
  t.is(crc16xmodem(ascii('123456789')), 0x31c3);
  const h = packet(0, headerBlock('usercode', 1234));
  t.is(h.length, 1029);
  t.deepEqual([...h.subarray(0, 3)], [STX, 0, 255]);
  t.is(new TextDecoder().decode(h.subarray(3, 17)), 'usercode\u00001234 ');
  t.is(h[17], 0);
  t.is((h[1027]! << 8) | h[1028]!, 0x623f, 'the header CRC @kaluma/cli sends for a 1234-byte file');
  t.deepEqual([...packet(7, new Uint8Array(BLOCK)).subarray(0, 3)], [STX, 7, 248]);
});

/**
 * A Kaluma 1.2.1 REPL receiving `.flash -w`, written from src/repl.c and src/ymodem.c: prints the
 * transfer banner, asks with 'C', checks every packet's sequence and CRC, ACKs the header then asks
 * 'C' again, ACKs data, EOT and the closing block, then prints "Done".
 */
function kalumaReceiver(deliver: (bytes: Uint8Array) => void): { input(bytes: Uint8Array): void; file: () => Uint8Array; name: () => string } {
  let text = '';
  let mode: 'repl' | 'ymodem' = 'repl';
  let buf: number[] = [];
  let expected = 0;
  let size = -1;
  let name = '';
  const data: number[] = [];
  let ended = false;
  const reply = (...b: number[]): void => deliver(new Uint8Array(b));
  return {
    input(bytes) {
      for (const b of bytes) {
        if (mode === 'repl') {
          text += String.fromCharCode(b);
          if (text.endsWith('.flash -w\r')) {
            mode = 'ymodem';
            deliver(ascii("Transfer a file via YMODEM... (press 'a' to abort)\r\n"));
            reply(0x43);
          }
          continue;
        }
        buf.push(b);
        if (buf[0] === EOT) {
          buf = [];
          reply(ACK);
          continue;
        }
        if (buf.length < 1029) continue;
        const p = new Uint8Array(buf);
        buf = [];
        const payload = p.subarray(3, 1027);
        if (p[0] !== STX || p[2] !== 255 - p[1]! || crc16xmodem(payload) !== ((p[1027]! << 8) | p[1028]!)) throw new Error('receiver: bad packet');
        if (p[1] === 0 && size >= 0 && data.length >= size) {
          ended = true;
          reply(ACK);
          mode = 'repl';
          text = '';
          deliver(ascii('\r\nDone\r\n'));
          continue;
        }
        if (p[1] !== (expected & 255)) throw new Error('receiver: out of sequence');
        if (expected === 0) {
          const header = new TextDecoder('latin1').decode(payload);
          name = header.slice(0, header.indexOf('\0'));
          size = Number(header.slice(header.indexOf('\0') + 1).split(' ')[0]);
          reply(ACK, 0x43);
        } else {
          for (const x of payload) if (data.length < size) data.push(x);
          reply(ACK);
        }
        expected++;
      }
      void ended;
    },
    file: () => new Uint8Array(data),
    name: () => name,
  };
}

test('Kaluma flash: the sender against a receiver written from Kaluma\'s sources stores the image; the bytes sent equal the dry run', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const code = new TextEncoder().encode(built.code);
  const sent: Uint8Array[] = [];
  let link!: BufferedLink;
  const receiver = kalumaReceiver((bytes) => setImmediate(() => link.push(bytes)));
  link = new BufferedLink(async (bytes) => {
    sent.push(new Uint8Array(bytes));
    receiver.input(bytes);
  });
  await kalumaFlash(link, code, () => {});
  t.is(receiver.name(), 'usercode');
  t.deepEqual(receiver.file(), code);
  t.deepEqual(concatBytes(sent), kalumaFlashTranscript(code));
  t.throws(() => kalumaFlashTranscript(new Uint8Array(524288).fill(0x20)), { message: /at most 524287/ });
  t.throws(() => kalumaFlashTranscript(new Uint8Array([0x61, 0, 0x62])), { message: /NUL/ });
});

test('Kaluma provisioning: the REPL lines write the record into sector 0 of the fake flash and print it back', async (t) => {
  const record = encodeProvisioning(newProvisioningRecord().record);
  const sector = new Uint8Array(4096).fill(0xff);
  sector.set(record);
  const lines = kalumaProvisionLines(sector);
  for (const line of lines) t.true(line.length <= 1023, 'the REPL line buffer holds 1,023 characters');
  const report = await runInEngine("'use strict';", 'kaluma', { library: true, probes: lines.map((l) => `(0, eval)(${JSON.stringify(l)}), 0`).concat(['Array.prototype.slice.call((function(){var b=[];for(var i=0;i<4096;i++)b.push(__engine.flash.read(i));return b;})())']) });
  t.true(report.booted, report.error);
  t.deepEqual(new Uint8Array(report.values[report.values.length - 1] as number[]), sector);
  const back = parseKalumaReadBack(report.logs.join(''));
  t.deepEqual(back, sector);
  const parsed = parseProvisioning(back);
  t.true(parsed.ok);
  t.deepEqual(report.missing, []);
  const transcript = kalumaProvisionTranscript(sector);
  t.is(transcript[0], 0x03);
  t.is(new TextDecoder().decode(transcript.subarray(1)), '\r.echo off\r' + lines.map((l) => l + '\r').join('') + '\r.echo on\r');
});

test('Espruino: toJSONishString literals read back byte for byte', (t) => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  all += '\u00007\u00018"\\';
  // QuickJS reads the literal as Espruino's lexer does for these escapes.
  t.is(new Function('return ' + toJSONishString(all))(), all);
});

test('Espruino provisioning: the lines check the partition table, write 0xE000 and print the CRC-32; no free partition, nothing written', async (t) => {
  const area = new Uint8Array(8192).fill(0xff);
  area.set(encodeProvisioning(newProvisioningRecord().record));
  const lines = espruinoProvisionLines(area);
  const read = 'Array.prototype.slice.call((function(){var b=[];for(var i=0;i<8192;i++)b.push(__engine.flash.read(0xE000+i));return b;})())';
  const report = await runInEngine('', 'espruino', { library: true, probes: lines.map((l) => `(0, eval)(${JSON.stringify(l)}), 0`).concat([read]) });
  t.true(report.booted, report.error);
  t.true(report.logs[0]!.includes('<<1>>'), 'the free partition at 0xE000 is found');
  t.deepEqual(new Uint8Array(report.values[report.values.length - 1] as number[]), area);
  t.true(report.logs.some((l) => new RegExp('<<\\s*' + crc32(area) + '\\s*>>').test(l)));
  t.deepEqual(report.missing, []);
  const idf4 = await runInEngine('', 'espruino', { library: true, prelude: '__engine.flash.erase(8);', probes: [`(0, eval)(${JSON.stringify(lines[0])}), 0`] });
  t.true(idf4.logs[0]!.includes('<<0>>'));
  t.is(Buffer.from(espruinoProvisionTranscript(area)).toString('latin1'), lines.map((l) => '\x10' + l + '\n').join(''));
});

test('hoshi flash and hoshi provision --dry-run write the exact bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-dry-'));
  const hoshi = (...args: string[]): string => execFileSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  hoshi('flash', 'smart-plug', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'k.bin'));
  // A Kaluma build numbers its messages anew each time (firmware/host/strings.ts): the sectors the
  // dry run writes are read back from it, then checked against each other and the transcript rebuilt.
  const k = new Uint8Array(readFileSync(join(dir, 'k.bin')));
  const sectors = kalumaTranscriptSectors(k);
  const record = decodeBootRecord(sectors.get(166)!)!;
  t.truthy(record, 'sector 166 holds the factory boot record');
  const slot = new Uint8Array(60 * 4096).fill(0xff);
  for (let n = 0; n < 60; n++) if (sectors.has(12 + n)) slot.set(sectors.get(12 + n)!, n * 4096);
  const payload = slot.subarray(4096, 4096 + record.slots[0]!.size);
  t.deepEqual(record.slots[0]!.digest, new Uint8Array(createHash('sha256').update(payload).digest()), 'the record holds the SHA-256 of the payload in slot A');
  const app = new TextDecoder().decode(payload.subarray(0, record.slots[0]!.app));
  t.true(app.startsWith('/*parts:') && payload[record.slots[0]!.app] === 0, 'the app text in parts (loader-build.ts partedText), then NUL');
  t.notThrows(() => parse(app, { ecmaVersion: 'latest', sourceType: 'script' }), 'a script');
  const loader = await buildLoader('kaluma', 'kaluma-pico-w');
  const image = { loader: new Uint8Array(Buffer.from(loader.code, 'latin1')), slot: slot.subarray(0, 4096 + payload.length), record: sectors.get(166)!.subarray(0, 512) };
  t.deepEqual(k, kalumaFactoryTranscript(image), 'slot A, the boot record, then the loader');
  hoshi('flash', 'env-sensor', '--board', 'espruino-esp32', '--dry-run', join(dir, 'e.bin'));
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'e.bin'))), espruinoFactoryTranscript(await factoryImage('env-sensor', 'espruino-esp32')));
  const out = hoshi('provision', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'p.bin'), '--serial', 'HSTEST0000001', '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.regex(out, /unit HSTEST0000001/);
  const sent = new TextDecoder().decode(readFileSync(join(dir, 'p.bin')));
  const hex = [...sent.matchAll(/h\(\d+,'([0-9a-f]{512})'\)/g)].map((m) => m[1]).join('');
  const sector = new Uint8Array(Buffer.from(hex, 'hex'));
  const parsed = parseProvisioning(sector);
  t.true(parsed.ok && parsed.record.serial === 'HSTEST0000001');
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'p.bin'))), kalumaProvisionTranscript(sector));
  t.throws(() => hoshi('flash', 'env-sensor', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'x.bin')), undefined, 'env-sensor has no Kaluma image');
});

test('hoshi flash to a port that does not exist fails with the reason, and usage errors exit 2', (t) => {
  const run = (...args: string[]): { status: number | null; stderr: string } => {
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
      return { status: 0, stderr: '' };
    } catch (error) {
      const e = error as { status: number | null; stderr: string };
      return { status: e.status, stderr: e.stderr };
    }
  };
  const missing = run('flash', 'smart-plug', '--board', 'kaluma-pico-w', '--port', '/dev/hoshi-no-such-port');
  t.is(missing.status, 1);
  t.regex(missing.stderr, /cannot open \/dev\/hoshi-no-such-port|serialport/);
  t.is(run('flash', 'smart-plug', '--board', 'nope', '--port', 'x').status, 2);
  t.is(run('provision', '--board', 'espruino-esp32').status, 2);
});

/** Probe expressions that evaluate each REPL line at the global scope, as the REPL does. */
const evalLines = (lines: string[]): string[] => lines.map((l) => `(0, eval)(${JSON.stringify(l)}), 0`);

/** The sectors a Kaluma flash transcript writes (Kaluma's flash area numbering), from its REPL lines. */
function kalumaTranscriptSectors(transcript: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let base = 0;
  let buffer = new Uint8Array(4096);
  for (const line of Buffer.from(transcript).toString('latin1').split('\r')) {
    const region = /__hoshiA=\{f:new \(require\('flash'\)\.Flash\)\((\d+),\d+\)/.exec(line);
    if (region) base = Number(region[1]);
    const fill = /^__hoshiA\.h\((\d+),'([0-9a-f]{512})'\)/.exec(line);
    if (fill) buffer.set(Buffer.from(fill[2]!, 'hex'), Number(fill[1]));
    const write = /A\.f\.write\((\d+),A\.b\)/.exec(line);
    if (write) {
      out.set(base + Number(write[1]), buffer);
      buffer = new Uint8Array(4096);
    }
  }
  return out;
}

/** The factory image of `example` for `board`, built once per test run. */
const factories = new Map<string, ReturnType<typeof factoryImage>>();
const factory = (example: string, board: string): ReturnType<typeof factoryImage> => {
  const key = example + ' ' + board;
  if (!factories.has(key)) factories.set(key, factoryImage(example, board));
  return factories.get(key)!;
};

test('the factory image: the loader, slot A (header L = 0, then the payload) and the factory boot record (seq 1, slot A good at the image\'s version)', async (t) => {
  const image = await factory('smart-plug', 'kaluma-pico-w');
  t.deepEqual([...image.slot.subarray(0, 8)], [0, 0, 0, 0, 255, 255, 255, 255]);
  t.true(image.slot.subarray(4, 4096).every((b) => b === 0xff));
  t.deepEqual(image.slot.subarray(4096), image.payload);
  t.is(image.payload[image.app], 0, 'the app text ends with NUL');
  const r = decodeBootRecord(image.record)!;
  t.truthy(r);
  t.like(r, { seq: 1, active: 0, trial: 0xff, tries: 0, floor: 0, keys: [], retired: [] });
  t.like(r.slots[0], { state: SlotState.GOOD, version: [0, 1, 0], counter: 0, size: image.payload.length, app: image.app, received: image.payload.length });
  t.deepEqual(r.slots[0]!.digest, new Uint8Array(createHash('sha256').update(image.payload).digest()));
  t.is(r.slots[1]!.state, SlotState.EMPTY);
  t.true(image.loader.length > 0 && image.loader.length < 32768, 'the loader fits its sectors 4-11');
  t.false(image.loader.includes(0), 'Kaluma ends the program at the first NUL');
});

test('Kaluma flash: the REPL lines erase the boot record first, write slot A (header last) and the record, print each sector back; the loader then boots the image from slot A', async (t) => {
  const image = await factory('smart-plug', 'kaluma-pico-w');
  const regions = kalumaFactoryRegions(image);
  const lines = regions.flatMap(kalumaRegionLines);
  for (const line of lines) t.true(line.length <= 1023, 'the REPL line buffer holds 1,023 characters');
  const slotLines = kalumaRegionLines(regions[0]!);
  const sectors = Math.ceil(image.slot.length / 4096);
  t.is(slotLines.length, 2 + 17 * sectors);
  t.true(slotLines[1]!.startsWith(`__hoshiA.h(0,'${Buffer.from(image.slot.subarray((sectors - 1) * 4096, (sectors - 1) * 4096 + 256)).toString('hex')}`), 'the last sector first');
  t.true(slotLines[slotLines.length - 2]!.includes('A.f.write(0,'), 'the header sector last');
  t.regex(slotLines[0]!, /new \(require\('flash'\)\.Flash\)\(166,2\)/, 'the boot record sectors are erased before the slot is written');
  // What a previous flash left: a record, another image's bytes in slot A.
  const P = KALUMA_PARTITIONS;
  const flash = new EngineFlash();
  flash.load(P.bootctl.sector * 4096, image.record);
  flash.load(P.bootctl.sector * 4096 + 4096, [1, 2, 3, 4]);
  flash.load((P.slots[0]!.sector + 45) * 4096, [5, 6, 7, 8]);
  const report = await runInEngine("'use strict';", 'kaluma', { library: true, budgetBytes: 8 * 1024 * 1024, flash, probes: evalLines(lines).concat(['typeof __hoshiA']) });
  t.true(report.booted, report.error);
  const slot = report.flash.read('flash', P.slots[0]!.sector * 4096, P.slots[0]!.count * 4096);
  const padded = new Uint8Array(P.slots[0]!.count * 4096).fill(0xff);
  padded.set(image.slot);
  t.deepEqual(slot, padded, 'slot A holds the factory image, every other sector of it erased');
  const bootctl = report.flash.read('flash', P.bootctl.sector * 4096, 8192);
  const expected = new Uint8Array(8192).fill(0xff);
  expected.set(image.record);
  t.deepEqual(bootctl, expected, 'the record in sector 166, sector 167 erased');
  t.is(report.values[lines.length], 'undefined', 'the REPL state is dropped');
  t.deepEqual(report.missing, []);
  const text = report.logs.join('\n');
  t.deepEqual(parseKalumaReadBack(text.slice(text.indexOf('<A16>'), text.indexOf('<A17>'))), padded.subarray((sectors - 1) * 4096, sectors * 4096), 'the last sector, printed back first');
  // The program area then holds the loader (written by YMODEM, not by these lines): it boots the image from slot A.
  putKalumaProgram(report.flash, new TextDecoder().decode(image.loader));
  const boot = await runInEngine(new TextDecoder().decode(image.loader), 'kaluma', { flash: report.flash, budgetBytes: 8 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
  t.true(boot.booted, boot.error);
  t.is(boot.replies[0]!.status, 200);
  t.true(boot.logs.includes('[hoshi] [loader] booting slot A 0.1.0'));
  t.deepEqual(boot.missing, []);
  t.throws(() => kalumaRegionLines({ name: 'slot A', sector: 168, count: 46, bytes: new Uint8Array(46 * 4096 + 1) }), { message: /46 sectors hold 188416/ });
});

test('Kaluma flash: the sender against a REPL that runs the lines in the fake writes and verifies each sector; a bad read-back fails', async (t) => {
  const region = { name: 'slot A', sector: 168, count: 46, bytes: new Uint8Array(9000).map((_, i) => (i * 13) & 255), eraseFirst: { sector: 166, count: 2 } };
  const lines = kalumaRegionLines(region);
  const report = await runInEngine("'use strict';", 'kaluma', { library: true, probes: evalLines(lines) });
  t.true(report.booted, report.error);
  // What the board prints after each line, in order, split at the markers.
  const outputs: string[] = [];
  const text = report.logs.join('\r\n');
  let from = 0;
  for (let n = 0; n < lines.length; n++) {
    const m = '<A' + n + '>';
    const at = text.indexOf(m, from);
    outputs.push(text.slice(from, at + m.length) + '\r\n');
    from = at + m.length;
  }
  const run = async (tamper: (n: number, out: string) => string): Promise<Uint8Array[]> => {
    const sent: Uint8Array[] = [];
    let link!: BufferedLink;
    let n = 0;
    link = new BufferedLink(async (bytes) => {
      sent.push(new Uint8Array(bytes));
      const line = Buffer.from(bytes).toString('latin1');
      if (n < lines.length && line === lines[n] + '\r') {
        const out = tamper(n, outputs[n]!);
        n++;
        setImmediate(() => link.push(new Uint8Array(Buffer.from(out, 'latin1'))));
      }
    });
    await kalumaRegion(link, region, () => {});
    return sent;
  };
  const sent = await run((_, out) => out);
  t.deepEqual(concatBytes(sent), kalumaRegionTranscript(region));
  await t.throwsAsync(
    run((n, out) => (n === 17 ? out.replace(/<V3:([0-9a-f])/, (_m, c: string) => '<V3:' + (c === '0' ? '1' : '0')) : out)),
    { message: /slot A sector 170 read back differs/ },
  );
});

test('Espruino flash: the lines erase Storage, then make hoshi.bc erased, slot A, slot B erased, the record, the loader, each file on a sector boundary and printing its CRC-32; the loader then boots the image from hoshi.a', async (t) => {
  const image = await factory('env-sensor', 'espruino-esp32');
  const sections = espruinoFactorySections(image);
  t.deepEqual(sections.map((s) => s.name), ['Storage', 'hoshi.bc', 'hoshi.a', 'hoshi.b', 'hoshi.bc', '.bootcde']);
  const slotLines = sections[2]!.lines;
  t.is(slotLines[0], `require("Storage").write("hoshi.a","\\xff",0,${ESP32_BOOT.slotFile});`, 'made erased at its full size');
  t.true(slotLines[slotLines.length - 2]!.endsWith(',' + RESERVED_BASE + ');'), 'the slot header (at the first sector boundary of the data) last');
  t.false(slotLines.some((l) => /"\\xff(\\xff)*"/.test(l) && l.length > 2100), 'chunks of 0xFF are left out');
  // What a previous flash left: an old image, its assets, a record.
  const flash = new EngineFlash();
  flash.storageWrite('.bootcde', new TextEncoder().encode('print("old image")'));
  flash.storageWrite('hoshi.assets', new Uint8Array(100).fill(7));
  flash.storageWrite('hoshi.bc1', image.record, 4096);
  flash.storageWrite('hoshi.a', new Uint8Array(ESP32_BOOT.slotSize).fill(0x11));
  const lines = sections.flatMap((s) => s.lines);
  const report = await runInEngine('', 'espruino', { library: true, budgetBytes: 64 * 1024 * 1024, flash, probes: evalLines(lines).concat(['require("Storage").write("product.json","{}")']) });
  t.true(report.booted, report.error);
  const files = report.flash;
  t.deepEqual(files.storageFiles().filter((f) => !f.deleted).map((f) => f.name), ['hoshi.bc', 'hoshi.a', 'hoshi.b', '.bootcde', 'product.json'], 'Storage holds these files only, in this order');
  for (const f of files.storageFiles()) t.is(f.address % 4096, 0, f.name + ' starts on a sector boundary, and so does a file the product stores afterwards');
  const region = (name: string, n: number): Uint8Array => files.read('flash', reservedAddress(files, name), n);
  const filled = (b: Uint8Array, n: number): Uint8Array => {
    const out = new Uint8Array(n).fill(0xff);
    out.set(b);
    return out;
  };
  t.is(reservedAddress(files, 'hoshi.a'), files.storageFile('hoshi.a')!.data + RESERVED_BASE);
  t.deepEqual(region('hoshi.a', ESP32_BOOT.slotSize), filled(image.slot, ESP32_BOOT.slotSize));
  t.deepEqual(region('hoshi.b', ESP32_BOOT.slotSize), filled(new Uint8Array(0), ESP32_BOOT.slotSize));
  t.deepEqual(region('hoshi.bc', 2 * 4096), filled(image.record, 2 * 4096), 'the record in the first unit, the second erased');
  t.deepEqual(files.storageRead('.bootcde'), paddedBootCode(image.loader));
  t.is(files.storageRead('hoshi.assets'), undefined, 'the files of earlier versions are gone');
  const printed = report.logs.map((l) => /<<\s*(\d+)\s*>>/.exec(l)?.[1]).filter((x) => x !== undefined).map(Number);
  t.deepEqual(printed, sections.map((s) => s.crc), 'each file prints the CRC-32 the host expects');
  t.deepEqual(report.missing, []);
  const boot = await runInEngine(new TextDecoder().decode(image.loader), 'espruino', { flash: files, budgetBytes: 64 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
  t.true(boot.booted, boot.error);
  t.is(boot.replies[0]!.status, 200);
  t.true(boot.logs.includes('[hoshi] [loader] booting slot A 0.1.0'), boot.logs.join('\n'));
  t.deepEqual(boot.missing, []);
  t.throws(() => storageRegionLines('hoshi.a', new Uint8Array(ESP32_BOOT.slotSize + 1), ESP32_BOOT.slotFile), { message: /its file holds 270304/ });
});

test('Espruino flash: the sender checks every file\'s CRC-32 before the next, then load(); a wrong CRC stops before load()', async (t) => {
  const image = { loader: new Uint8Array(1200).map((_, i) => 0x20 + (i % 90)), slot: new Uint8Array(5000).map((_, i) => (i * 13) & 255), record: new Uint8Array(512).fill(0x42) };
  const sections = espruinoFactorySections(image);
  const run = async (crcs: number[]): Promise<Uint8Array[]> => {
    const sent: Uint8Array[] = [];
    let link!: BufferedLink;
    let k = 0;
    link = new BufferedLink(async (bytes) => {
      sent.push(new Uint8Array(bytes));
      if (/E\.CRC32|list\(\)\.length/.test(Buffer.from(bytes).toString('latin1'))) {
        const crc = crcs[k++]!;
        setImmediate(() => link.push(new Uint8Array(Buffer.from('< << ' + crc + ' >> >\r\n', 'latin1'))));
      }
    });
    await espruinoFactory(link, image, () => {}, 0);
    return sent;
  };
  const sent = await run(sections.map((s) => s.crc));
  t.deepEqual(concatBytes(sent.slice(1)), espruinoFactoryTranscript(image), 'after the interrupt, exactly the dry run');
  const wrong = sections.map((s) => s.crc);
  wrong[2] = 1;
  const stopped: Uint8Array[] = [];
  await t.throwsAsync(
    (async () => {
      let link!: BufferedLink;
      let k = 0;
      link = new BufferedLink(async (bytes) => {
        stopped.push(new Uint8Array(bytes));
        if (/E\.CRC32|list\(\)\.length/.test(Buffer.from(bytes).toString('latin1'))) {
          const crc = wrong[k++]!;
          setImmediate(() => link.push(new Uint8Array(Buffer.from('< << ' + crc + ' >> >\r\n', 'latin1'))));
        }
      });
      await espruinoFactory(link, image, () => {}, 0);
    })(),
    { message: /hoshi\.a on the board has CRC-32 1/ },
  );
  const text = Buffer.from(concatBytes(stopped)).toString('latin1');
  t.false(text.includes('load()'), 'nothing loads');
  t.false(text.includes('.bootcde'), 'the loader is not written');
  t.is(SERIAL_BOARDS['espruino-esp32']!.flashTranscript(image).length, espruinoFactoryTranscript(image).length);
});

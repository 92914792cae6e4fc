import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { buildImage, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { espruinoAssetsLines, espruinoFlash, espruinoFlashLines, espruinoFlashTranscript, espruinoProvisionLines, espruinoProvisionTranscript, toJSONishString } from '../firmware/host/serial/espruino';
import { kalumaAssets, kalumaAssetsLines, kalumaAssetsTranscript, kalumaFlash, kalumaFlashTranscript, kalumaProvisionLines, kalumaProvisionTranscript, parseKalumaReadBack } from '../firmware/host/serial/kaluma';
import { SERIAL_BOARDS } from '../firmware/host/serial/boards';
import { buildAssets, describeAssets, filterHas, buildCommonFilter, commonPasswordList, randomProbes } from '../firmware/host/assets';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_ASSETS } from '../boards/espruino-esp32/board';
import { bundleFixture } from './helpers';
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

test('Espruino: toJSONishString literals read back byte for byte; the flash lines store .bootcde and print its CRC-32', async (t) => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  all += '\u00007\u00018"\\';
  // QuickJS reads the literal as Espruino's lexer does for these escapes.
  t.is(new Function('return ' + toJSONishString(all))(), all);
  const built = await buildImage('env-sensor', 'espruino');
  for (const code of [new TextEncoder().encode(built.code), new Uint8Array(3000).map((_, i) => (i * 7) & 255)]) {
    const lines = espruinoFlashLines(code);
    const report = await runInEngine('', 'espruino', { library: true, budgetBytes: 8 * 1024 * 1024, probes: lines.map((l) => `(0, eval)(${JSON.stringify(l)}), 0`).concat(['Array.prototype.slice.call(__engine.storage[".bootcde"])']) });
    t.true(report.booted, report.error);
    t.deepEqual(new Uint8Array(report.values[report.values.length - 1] as number[]), code);
    t.true(report.logs.some((l) => new RegExp('<<\\s*' + crc32(code) + '\\s*>>').test(l)));
    t.deepEqual(report.missing, []);
    const assets = new Uint8Array([1, 2, 3]);
    const transcript = espruinoFlashTranscript(code, assets);
    t.is(Buffer.from(transcript).toString('latin1'), [...lines, ...espruinoAssetsLines(assets)].map((l) => '\x10' + l + '\n').join('') + '\x10load()\n\n');
  }
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
  const code = readFileSync(join(ROOT, 'dist/smart-plug/kaluma/app.js'));
  // A Kaluma image's assets carry its messages (firmware/device/core/messages.ts).
  const messages = new Uint8Array(readFileSync(join(ROOT, 'dist/smart-plug/kaluma/messages.bin')));
  const kalumaAssets = await buildAssets(messages);
  t.true(kalumaAssets.length > (await buildAssets()).length, 'the message table is in the assets');
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'k.bin'))), concatBytes([kalumaAssetsTranscript(kalumaAssets), kalumaFlashTranscript(new Uint8Array(code))]), 'the assets, then the image');
  const assets = await buildAssets();
  hoshi('flash', 'env-sensor', '--board', 'espruino-esp32', '--dry-run', join(dir, 'e.bin'));
  const ecode = readFileSync(join(ROOT, 'dist/env-sensor/espruino/app.js'));
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'e.bin'))), espruinoFlashTranscript(new Uint8Array(ecode), assets));
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

/** Words to ask the device's filter: listed ones (all true) and random strings (true at ≈1 %). */
function filterWords(): { words: string[]; expected: boolean[] } {
  const filter = buildCommonFilter();
  const words = [...commonPasswordList().slice(0, 40), ...randomProbes(200, 5)];
  return { words, expected: words.map((w) => filterHas(filter.bytes, w)) };
}

test('Kaluma assets: the REPL lines erase and write the assets sectors (header last), print each back, and the binding reads them', async (t) => {
  const assets = await buildAssets();
  const lines = kalumaAssetsLines(assets);
  for (const line of lines) t.true(line.length <= 1023, 'the REPL line buffer holds 1,023 characters');
  const sectors = Math.ceil(assets.length / 4096);
  t.is(lines.length, 2 + 17 * sectors);
  t.true(lines[1]!.startsWith(`__hoshiA.h(0,'${Buffer.from(assets.subarray((sectors - 1) * 4096, (sectors - 1) * 4096 + 256)).toString('hex')}`), 'the last sector first');
  t.true(lines[lines.length - 2]!.includes('A.f.write(0,'), 'the header sector last');
  const base = KALUMA_PARTITIONS.assets.sector * 4096;
  // Old data in the sectors, as a previous flash left them: all of them are erased first.
  const prelude = `__engine.flash.load(${base + 15 * 4096}, [1,2,3,4]);`;
  const { code } = await bundleFixture('assets-kaluma.ts', 'kaluma');
  const { words, expected } = filterWords();
  const report = await runInEngine(code, 'kaluma', {
    library: true,
    budgetBytes: 8 * 1024 * 1024,
    prelude,
    probes: [
      ...evalLines(lines),
      `Array.prototype.slice.call((function(){var b=[];for(var i=0;i<${16 * 4096};i++)b.push(__engine.flash.read(${base}+i));return b;})())`,
      `__assets(${JSON.stringify(words)})`,
      'typeof __hoshiA',
    ],
  });
  t.true(report.booted, report.error);
  const flash = new Uint8Array(report.values[lines.length] as number[]);
  const padded = new Uint8Array(16 * 4096).fill(0xff);
  padded.set(assets);
  t.deepEqual(flash, padded, 'the container, and every other assets sector erased');
  const device = JSON.parse(report.values[lines.length + 1] as string);
  t.is(device.problem, '');
  t.is(device.page, describeAssets(assets)[0]!.length);
  t.deepEqual(device.pageStart, [0x1f, 0x8b], 'the gzip page');
  t.deepEqual(device.common, expected, 'the device filter on the Kaluma binding answers as the host builder');
  t.regex(device.refused, /read-only/);
  t.is(report.values[lines.length + 2], 'undefined', 'the REPL state is dropped');
  t.deepEqual(report.missing, []);
  // Each sector's read-back is printed between markers.
  const text = report.logs.join('\n');
  for (let n = 0; n < lines.length; n++) t.true(text.includes('<A' + n + '>'));
  t.deepEqual(parseKalumaReadBack(text.slice(text.indexOf('<A16>'), text.indexOf('<A17>'))), padded.subarray((sectors - 1) * 4096, sectors * 4096), 'the last sector, printed back first');
  t.throws(() => kalumaAssetsLines(new Uint8Array(16 * 4096 + 1)), { message: /hold 65536/ });
});

test('Kaluma assets: the sender against a REPL that runs the lines in the fake writes and verifies each sector; a bad read-back fails', async (t) => {
  const assets = (await buildAssets()).subarray(0, 9000);
  const lines = kalumaAssetsLines(assets);
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
    await kalumaAssets(link, assets, () => {});
    return sent;
  };
  const sent = await run((_, out) => out);
  t.deepEqual(concatBytes(sent), kalumaAssetsTranscript(assets));
  await t.throwsAsync(
    run((n, out) => (n === 17 ? out.replace(/<V3:([0-9a-f])/, (_m, c: string) => '<V3:' + (c === '0' ? '1' : '0')) : out)),
    { message: /read back differs/ },
  );
});

test('Espruino assets: the lines store hoshi.assets in Storage and print its CRC-32; the binding reads it through Storage.read', async (t) => {
  const assets = await buildAssets();
  const lines = espruinoAssetsLines(assets);
  // Header last: the file made at its full size with its first byte only, then filled from the end.
  t.is(lines[0], `require("Storage").write("hoshi.assets","H",0,${assets.length});`);
  t.true(lines[1]!.endsWith(',' + (1 + 1024 * Math.floor((assets.length - 2) / 1024)) + ');'), 'the last chunk first');
  t.true(lines[lines.length - 2]!.endsWith(',1);'), 'offset 1 last');
  const { code } = await bundleFixture('assets-espruino.ts', 'espruino');
  const { words, expected } = filterWords();
  const report = await runInEngine(code, 'espruino', {
    library: true,
    budgetBytes: 8 * 1024 * 1024,
    probes: [`__assets([])`, ...evalLines(lines), `Array.prototype.slice.call(__engine.storage[${JSON.stringify(ESP32_ASSETS.file)}])`, `__assets(${JSON.stringify(words)})`],
  });
  t.true(report.booted, report.error);
  const before = JSON.parse(report.values[0] as string);
  t.is(before.problem, 'erased', 'no file yet: the partition reads as erased');
  t.is(before.page, -1);
  t.deepEqual(new Uint8Array(report.values[lines.length + 1] as number[]), assets);
  t.true(report.logs.some((l) => new RegExp('<<\\s*' + crc32(assets) + '\\s*>>').test(l)));
  const device = JSON.parse(report.values[lines.length + 2] as string);
  t.is(device.problem, '');
  t.is(device.page, describeAssets(assets)[0]!.length);
  t.deepEqual(device.pageStart, [0x1f, 0x8b]);
  t.deepEqual(device.common, expected, 'the device filter on the ESP32 binding answers as the host builder');
  t.regex(device.refused, /read-only/);
  t.regex(device.rawRefused, /hoshi flash only/);
  t.is(device.size, ESP32_ASSETS.size);
  t.deepEqual(report.missing, []);
  t.throws(() => espruinoAssetsLines(new Uint8Array(ESP32_ASSETS.size + 1)), { message: /at most 65536/ });
});

test('Espruino flash: the sender stores the image, then the assets, checks both CRC-32s, then load(); a wrong CRC stops before load()', async (t) => {
  const code = new Uint8Array(1200).map((_, i) => 0x20 + (i % 90));
  const assets = new Uint8Array(1100).map((_, i) => (i * 13) & 255);
  const run = async (crcs: number[]): Promise<Uint8Array[]> => {
    const sent: Uint8Array[] = [];
    let link!: BufferedLink;
    let k = 0;
    link = new BufferedLink(async (bytes) => {
      sent.push(new Uint8Array(bytes));
      if (/E\.CRC32/.test(Buffer.from(bytes).toString('latin1'))) {
        const crc = crcs[k++]!;
        setImmediate(() => link.push(new Uint8Array(Buffer.from('< << ' + crc + ' >> >\r\n', 'latin1'))));
      }
    });
    await espruinoFlash(link, code, assets, () => {});
    return sent;
  };
  const sent = await run([crc32(code), crc32(assets)]);
  t.deepEqual(concatBytes(sent.slice(1)), espruinoFlashTranscript(code, assets), 'after the interrupt, exactly the dry run');
  await t.throwsAsync(run([crc32(code), 1]), { message: /hoshi\.assets on the board has CRC-32 1/ });
  t.is(SERIAL_BOARDS['espruino-esp32']!.flashTranscript(code, assets).length, espruinoFlashTranscript(code, assets).length);
});

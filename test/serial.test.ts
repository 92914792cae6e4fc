import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { buildImage, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { espruinoFlashLines, espruinoFlashTranscript, espruinoProvisionLines, espruinoProvisionTranscript, toJSONishString } from '../firmware/host/serial/espruino';
import { kalumaFlash, kalumaFlashTranscript, kalumaProvisionLines, kalumaProvisionTranscript, parseKalumaReadBack } from '../firmware/host/serial/kaluma';
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
  const record = encodeProvisioning(newProvisioningRecord());
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
    const transcript = espruinoFlashTranscript(code);
    t.is(Buffer.from(transcript).toString('latin1'), lines.map((l) => '\x10' + l + '\n').join('') + '\x10load()\n\n');
  }
});

test('Espruino provisioning: the lines check the partition table, write 0xE000 and print the CRC-32; no free partition, nothing written', async (t) => {
  const area = new Uint8Array(8192).fill(0xff);
  area.set(encodeProvisioning(newProvisioningRecord()));
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

test('hoshi flash and hoshi provision --dry-run write the exact bytes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-dry-'));
  const hoshi = (...args: string[]): string => execFileSync(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  hoshi('flash', 'smart-plug', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'k.bin'));
  const code = readFileSync(join(ROOT, 'dist/smart-plug/kaluma/app.js'));
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'k.bin'))), kalumaFlashTranscript(new Uint8Array(code)));
  hoshi('flash', 'env-sensor', '--board', 'espruino-esp32', '--dry-run', join(dir, 'e.bin'));
  const ecode = readFileSync(join(ROOT, 'dist/env-sensor/espruino/app.js'));
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'e.bin'))), espruinoFlashTranscript(new Uint8Array(ecode)));
  const out = hoshi('provision', '--board', 'kaluma-pico-w', '--dry-run', join(dir, 'p.bin'), '--serial', 'HSTEST0000001');
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

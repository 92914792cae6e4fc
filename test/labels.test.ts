import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import image from '../examples/smart-plug/image';
import { ROOT } from '../firmware/host/build';
import { nodeScramCrypto } from '../firmware/host/client';
import { checkModel, checkSetupUrl, CSV_COLUMNS, DEFAULT_SETUP_URL, labelSheetSvg, labelsCsv, QR_QUIET, qrPath, SHEET, type LabelRecord } from '../firmware/host/labels';
import { defaultPasswordCheck, PASSWORD_ALPHABET } from '../firmware/host/provision';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import { parseProvisioning, type ProvisioningRecord } from '../firmware/device/core/provisioning';
import { scramVerifier } from '../modules/accounts/scram';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-labels-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI (asynchronously: the tests' runs overlap). */
function hoshi(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/hoshi.js'), ...args], { cwd: ROOT, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** True if `password` is the default password of `record`: its verifier and its check value agree. */
function isDefaultOf(record: ProvisioningRecord, password: string): boolean {
  const v = record.verifier!;
  const again = scramVerifier(nodeScramCrypto, password, v.salt, v.iterations);
  return Buffer.from(again.storedKey).equals(Buffer.from(v.storedKey)) && Buffer.from(defaultPasswordCheck(record.deviceSecret, password)).equals(Buffer.from(record.defaultCheck!));
}

/** Parses a CSV of unquoted cells (what the labels hold) after checking its line ends. */
function csvRows(text: string): string[][] {
  const lines = text.split('\r\n');
  if (lines.pop() !== '') throw new Error('the CSV must end with CRLF');
  return lines.map((l) => l.split(','));
}

/** Every label group of a sheet, with its page's offset, and the QR modules its path draws. */
function sheetLabels(svg: string): { body: string; qr: boolean[][]; texts: string[] }[] {
  const out: { body: string; qr: boolean[][]; texts: string[] }[] = [];
  for (const m of svg.matchAll(/<g class="label"[^>]*>([\s\S]*?)<\/g>/g)) {
    const body = m[1]!;
    const d = /<path class="qr"[^>]* d="([^"]*)"/.exec(body)![1]!;
    const qr: boolean[][] = [];
    for (const run of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
      const [x, y, n, back] = [Number(run[1]) - QR_QUIET, Number(run[2]) - QR_QUIET, Number(run[3]), Number(run[4])];
      if (n !== back) throw new Error('a run that does not close');
      for (let i = 0; i < n; i++) (qr[y] ??= [])[x + i] = true;
    }
    const texts = [...body.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]!);
    out.push({ body, qr, texts });
  }
  return out;
}

/** The modules of the QR code of `text` as the qrcode package makes it. */
function expectedQr(text: string): boolean[][] {
  const m = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const rows: boolean[][] = [];
  for (let y = 0; y < m.size; y++) for (let x = 0; x < m.size; x++) if (m.get(y, x)) (rows[y] ??= [])[x] = true;
  return rows;
}

const label = (i: number, over: Partial<LabelRecord> = {}): LabelRecord => ({
  model: 'HS-PLUG-01',
  serial: 'HS' + String(i).padStart(12, '0'),
  defaultPassword: 'abcdefghjk' + String(i % 100).padStart(2, '2'),
  setupUrl: DEFAULT_SETUP_URL,
  ...over,
});

test('labels.csv: the header and one line per unit, in order, CRLF, cells quoted when needed', (t) => {
  const labels = [label(1), label(2), label(3, { model: 'Plug "Mini", white' })];
  const text = labelsCsv(labels);
  const lines = text.split('\r\n');
  t.is(lines[0], 'model,serial,default_password,setup_url');
  t.deepEqual(CSV_COLUMNS, ['model', 'serial', 'default_password', 'setup_url']);
  t.is(lines[1], 'HS-PLUG-01,HS000000000001,abcdefghjk21,http://192.168.4.1/');
  t.is(lines[3], '"Plug ""Mini"", white",HS000000000003,abcdefghjk23,http://192.168.4.1/');
  t.is(lines.length, 5);
  t.is(lines[4], '');
});

test('models and setup URLs that do not belong on a label are refused', (t) => {
  t.is(checkModel('HS-PLUG-01'), undefined);
  t.regex(checkModel('=HYPERLINK("x")')!, /must not start/);
  t.regex(checkModel('')!, /1-64/);
  t.regex(checkModel('a\nb')!, /printable/);
  t.is(checkSetupUrl('http://192.168.4.1/'), undefined);
  t.is(checkSetupUrl('https://setup.example/unit?x=1'), undefined);
  t.regex(checkSetupUrl('javascript:alert(1)')!, /http/);
  t.regex(checkSetupUrl('http://a b/')!, /http/);
});

test('the QR path draws exactly the modules of the qrcode package, for several URLs', (t) => {
  for (const url of [DEFAULT_SETUP_URL, 'https://setup.example/units/HS0123456789AB?lang=ja', 'http://10.0.0.1:8080/']) {
    const svg = labelSheetSvg([label(1, { setupUrl: url })]);
    const [only] = sheetLabels(svg);
    t.deepEqual(only!.qr, expectedQr(url), url);
  }
  // The path alone, from a module matrix.
  const m = QRCode.create('x', { errorCorrectionLevel: 'M' }).modules;
  t.true(qrPath({ size: m.size, dark: (r, c) => Boolean(m.get(r, c)) }).startsWith('M' + QR_QUIET + ' ' + QR_QUIET + 'h7'), 'the finder pattern comes first');
});

test('labels.svg: an A4 sheet with one label per unit (model, serial, password in monospace, QR of the setup URL)', (t) => {
  const labels = Array.from({ length: 5 }, (_, i) => label(i, { model: 'Plug <&> "A"' }));
  const svg = labelSheetSvg(labels);
  t.regex(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="210mm" height="297mm" viewBox="0 0 210 297">/);
  const found = sheetLabels(svg);
  t.is(found.length, 5);
  t.is(svg.match(/<g class="page"/g)!.length, 1);
  const qr = expectedQr(DEFAULT_SETUP_URL);
  found.forEach((l, i) => {
    t.deepEqual(l.qr, qr);
    t.is(l.texts[0], 'Plug &lt;&amp;&gt; &quot;A&quot;', 'text is escaped');
    t.true(l.texts.includes(labels[i]!.serial));
    t.true(l.texts.includes(labels[i]!.defaultPassword));
    t.true(l.texts.includes('Setup: ' + DEFAULT_SETUP_URL));
    t.regex(l.body, new RegExp('class="pw" font-family="[^"]*monospace"'));
  });
  t.false(/<script|on\w+=/i.test(svg), 'no script in a printed file');
});

test('labels.svg: 21 labels per A4 page; more labels make more pages, every label inside its page', (t) => {
  const perPage = SHEET.columns * SHEET.rows;
  t.is(perPage, 21);
  const labels = Array.from({ length: 50 }, (_, i) => label(i));
  const svg = labelSheetSvg(labels);
  t.is(sheetLabels(svg).length, 50);
  t.is(svg.match(/<g class="page"/g)!.length, 3);
  t.regex(svg, /height="891mm" viewBox="0 0 210 891"/);
  for (const m of svg.matchAll(/<g class="label" transform="translate\(([\d.]+) ([\d.]+)\)">/g)) {
    const [x, y] = [Number(m[1]), Number(m[2])];
    t.true(x >= 5 && x + SHEET.labelWidth <= SHEET.pageWidth - 5, 'x ' + x);
    t.true(y >= 5 && y + SHEET.labelHeight <= SHEET.pageHeight - 5, 'y ' + y);
  }
});

test('hoshi provision --count N --out-dir DIR: N records, labels.csv and labels.svg, all owner-only; no password on stdout', async (t) => {
  const dir = join(tempDir(t), 'batch');
  const run = await hoshi('provision', '--count', '3', '--out-dir', dir, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(run.status, 0, run.stderr);
  const rows = csvRows(readFileSync(join(dir, 'labels.csv'), 'utf8'));
  t.deepEqual(rows[0], CSV_COLUMNS);
  t.is(rows.length, 4);
  const records = readdirSync(dir).filter((f) => f.endsWith('.secret.bin'));
  t.is(records.length, 3);
  for (const f of ['labels.csv', 'labels.svg', ...records]) t.is(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  for (const [model, serial, password, url] of rows.slice(1) as string[][]) {
    t.is(model, 'HS-PLUG-01');
    t.is(url, DEFAULT_SETUP_URL);
    t.regex(password!, new RegExp('^[' + PASSWORD_ALPHABET + ']{12}$'));
    const parsed = parseProvisioning(new Uint8Array(readFileSync(join(dir, serial! + '.secret.bin'))));
    if (!parsed.ok) return t.fail(parsed.reason);
    t.is(parsed.record.serial, serial);
    t.is(parsed.record.verifier!.iterations, 4096);
    t.true(isDefaultOf(parsed.record, password!), 'the label holds the unit\'s default password');
    t.false(run.stdout.includes(password!));
    t.false(run.stderr.includes(password!));
    t.true(run.stdout.includes(serial!));
  }
  const svg = readFileSync(join(dir, 'labels.svg'), 'utf8');
  t.is(sheetLabels(svg).length, 3);
  // A second batch into the same folder is refused before anything is made.
  const again = await hoshi('provision', '--count', '2', '--out-dir', dir, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(again.status, 1);
  t.regex(again.stderr, /already holds a batch/);
  t.is(readdirSync(dir).filter((f) => f.endsWith('.secret.bin')).length, 3);
});

test('hoshi provision --out writes the label record beside the record (mode 0600); the password is nowhere else', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'unit.secret.bin');
  const run = await hoshi('provision', '--out', out, '--model', 'HS-PLUG-01', '--setup-url', 'http://192.168.4.1/setup', '--iterations', '4096');
  t.is(run.status, 0, run.stderr);
  const file = join(dir, 'unit.secret.label.json');
  t.is(statSync(file).mode & 0o777, 0o600);
  const l = JSON.parse(readFileSync(file, 'utf8')) as LabelRecord;
  t.deepEqual(Object.keys(l), ['model', 'serial', 'defaultPassword', 'setupUrl']);
  t.like(l, { model: 'HS-PLUG-01', setupUrl: 'http://192.168.4.1/setup' });
  const parsed = parseProvisioning(new Uint8Array(readFileSync(out)));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.is(parsed.record.serial, l.serial);
  t.true(isDefaultOf(parsed.record, l.defaultPassword));
  t.false(run.stdout.includes(l.defaultPassword) || run.stderr.includes(l.defaultPassword));
  t.true(run.stdout.includes(file), 'the tool says where the label is');
  // The label of a unit already made is never replaced: the second run stops before writing.
  const before = readFileSync(out);
  const again = await hoshi('provision', '--out', out, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(again.status, 1);
  t.regex(again.stderr, /exists/);
  t.deepEqual(readFileSync(out), before);
  // --label puts it elsewhere.
  const other = join(dir, 'other.json');
  t.is((await hoshi('provision', '--out', join(dir, 'b.bin'), '--label', other, '--model', 'M1', '--iterations', '4096')).status, 0);
  t.true(existsSync(other));
});

test('hoshi provision needs --model, and refuses a weak iteration count or a bad count', async (t) => {
  const dir = tempDir(t);
  const noModel = await hoshi('provision', '--out', join(dir, 'u.bin'));
  t.is(noModel.status, 2);
  t.regex(noModel.stderr, /--model/);
  t.false(existsSync(join(dir, 'u.bin')));
  const weak = await hoshi('provision', '--out', join(dir, 'u.bin'), '--model', 'M', '--iterations', '1000');
  t.is(weak.status, 2);
  t.regex(weak.stderr, /--iterations/);
  t.is((await hoshi('provision', '--count', '0', '--out-dir', dir, '--model', 'M')).status, 2);
  t.is((await hoshi('provision', '--count', '2', '--model', 'M')).status, 2);
  t.is((await hoshi('provision', '--count', '2', '--out-dir', dir, '--serial', 'HS0001', '--model', 'M')).status, 2);
});

test('hoshi provision --sim DIR --model M writes DIR/label.json', async (t) => {
  const dir = tempDir(t);
  const run = await hoshi('provision', '--sim', dir, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(run.status, 0, run.stderr);
  const l = JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')) as LabelRecord;
  t.is(statSync(join(dir, 'label.json')).mode & 0o777, 0o600);
  const parsed = parseProvisioning(new Uint8Array(readFileSync(join(dir, 'flash.bin')).subarray(0, 4096)));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.true(isDefaultOf(parsed.record, l.defaultPassword));
  t.false(run.stdout.includes(l.defaultPassword));
  // Already provisioned: refused, and its label kept.
  const again = await hoshi('provision', '--sim', dir, '--model', 'HS-PLUG-01', '--iterations', '4096');
  t.is(again.status, 1);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')), l);
});

test('the simulator keeps a new unit\'s label in sim.label and DIR/label.json, and says where, without the password', async (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  let sim: Simulator;
  try {
    sim = await startSimulator({ image, dir, iterations: 4096 });
  } finally {
    console.log = log;
  }
  t.teardown(() => sim.stop());
  const l = sim.label!;
  t.like(l, { model: image.config.model, serial: sim.device.serial, setupUrl: DEFAULT_SETUP_URL });
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')), l);
  t.is(statSync(join(dir, 'label.json')).mode & 0o777, 0o600);
  t.true(lines.some((line) => line === '[host] default password of the new unit: see ' + join(dir, 'label.json')), lines.join('\n'));
  t.false(lines.some((line) => line.includes(l.defaultPassword)));
  const parsed = parseProvisioning(new Uint8Array(readFileSync(join(dir, 'flash.bin')).subarray(0, 4096)));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.is(parsed.record.verifier!.iterations, 4096);
  t.true(isDefaultOf(parsed.record, l.defaultPassword));
  // The next start finds the unit: no new label.
  sim.stop();
  sim = await startSimulator({ image, dir, quiet: true, iterations: 4096 });
  t.is(sim.label, undefined);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')), l);
});

test('a memory-backed simulator keeps the label in memory only', async (t) => {
  const sim = await startSimulator({ image, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  t.is(sim.device.serial, sim.label!.serial);
  t.regex(sim.label!.defaultPassword, /^[2-9a-hjkmnp-z]{12}$/);
});

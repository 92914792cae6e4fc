import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import image from '../examples/smart-plug/image';
import { ROOT } from '../firmware/host/build';
import { nodeScramCrypto } from '../firmware/host/client';
import { checkModel, checkSetupUrl, CSV_COLUMNS, DEFAULT_SETUP_URL, labelJson, labelSheetSvg, labelsCsv, QR_QUIET, qrPath, SHEET, unitLabel, type LabelRecord } from '../firmware/host/labels';
import { defaultPasswordCheck, PASSWORD_ALPHABET } from '../firmware/host/provision';
import { startSimulator, type Simulator } from '../firmware/host/simulator';
import { parseProvisioning, type ProvisioningRecord } from '../firmware/device/core/provisioning';
import { scramVerifier } from '../modules/accounts/scram';
import { base32Encode, parseSetupKey, scramPassword, setupAccessPoint } from '../modules/channel/setup';
import { jsCrypto } from '../modules/crypto/provider-js';

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

/**
 * True if `password` is the default password of `record`: its verifier (over the password
 * pre-hashed with the record's setup key) and its check value agree.
 */
function isDefaultOf(record: ProvisioningRecord, password: string): boolean {
  const v = record.verifier!;
  const again = scramVerifier(nodeScramCrypto, scramPassword(nodeScramCrypto, record.setupKey!, password), v.salt, v.iterations);
  return Buffer.from(again.storedKey).equals(Buffer.from(v.storedKey)) && Buffer.from(defaultPasswordCheck(record.deviceSecret, password)).equals(Buffer.from(record.defaultCheck!));
}

/** Checks that `l` is the label of the unit whose record is `record`: the same setup key, the URL carrying it, the access point derived from it. */
function labelOf(t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void }, l: LabelRecord, record: ProvisioningRecord, baseUrl = DEFAULT_SETUP_URL): void {
  t.deepEqual(parseSetupKey(l.setupKey), record.setupKey, 'the setup key is the record\'s');
  t.is(l.setupKey, base32Encode(record.setupKey!));
  t.is(l.setupUrl, baseUrl + '#k=' + l.setupKey);
  t.deepEqual(l.setupAp, setupAccessPoint(jsCrypto, record.setupKey!, l.model, record.serial));
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

/** Unit i's setup key: fixed bytes, so the expected cells can be written out. */
const keyOf = (i: number): Uint8Array => new Uint8Array(16).map((_, j) => (i * 37 + j * 11 + 1) & 0xff);

/** A label as `unitLabel` makes it, for unit i (model, base URL and fields replaceable). */
const label = (i: number, over: Partial<LabelRecord> = {}, model = 'HS-PLUG-01', baseUrl = DEFAULT_SETUP_URL): LabelRecord => ({
  ...unitLabel(model, { serial: 'HS' + String(i).padStart(12, '0'), deviceSecret: new Uint8Array(32), drbgSeed: new Uint8Array(48), setupKey: keyOf(i) }, 'abcdefghjk' + String(i % 100).padStart(2, '2'), baseUrl),
  ...over,
});

test('unitLabel: the setup key in base32, the setup URL with the key in its fragment, the access point derived from the key', (t) => {
  const l = label(1);
  t.is(l.setupKey, base32Encode(keyOf(1)));
  t.regex(l.setupKey, /^[a-z2-7]{26}$/);
  t.is(l.setupUrl, 'http://192.168.4.1/#k=' + l.setupKey);
  t.deepEqual(l.setupAp, setupAccessPoint(jsCrypto, keyOf(1), 'HS-PLUG-01', 'HS000000000001'));
  t.is(l.setupAp.ssid, 'HS-PLUG-01-0001');
  t.regex(l.setupAp.passphrase, /^[a-z2-7]{16}$/);
  t.false(l.setupAp.passphrase.includes(l.setupKey.slice(0, 8)), 'the passphrase is not the key');
  // A base URL's own fragment is replaced, never kept beside the key.
  t.is(label(1, {}, 'HS-PLUG-01', 'http://10.0.0.1/setup#old').setupUrl, 'http://10.0.0.1/setup#k=' + l.setupKey);
  // Another unit, another key, URL and passphrase.
  t.not(label(2).setupKey, l.setupKey);
  t.not(label(2).setupAp.passphrase, l.setupAp.passphrase);
  // A record without a setup key (version 2) cannot be labelled.
  t.throws(() => unitLabel('HS-PLUG-01', { serial: 'HS0001', deviceSecret: new Uint8Array(32), drbgSeed: new Uint8Array(48) }, 'x', DEFAULT_SETUP_URL), { message: /setup key/ });
  // The label file holds every field, in this order.
  t.deepEqual(Object.keys(JSON.parse(labelJson(l))), ['model', 'serial', 'defaultPassword', 'setupKey', 'setupUrl', 'setupAp']);
  t.deepEqual(JSON.parse(labelJson(l)), l);
});

test('labels.csv: the header and one line per unit, in order, CRLF, cells quoted when needed', (t) => {
  const labels = [label(1), label(2), label(3, {}, 'Plug "Mini", white')];
  const text = labelsCsv(labels);
  const lines = text.split('\r\n');
  t.is(lines[0], 'model,serial,default_password,setup_key,setup_url,setup_ap_ssid,setup_ap_passphrase');
  t.deepEqual(CSV_COLUMNS, ['model', 'serial', 'default_password', 'setup_key', 'setup_url', 'setup_ap_ssid', 'setup_ap_passphrase']);
  const [l1, , l3] = labels;
  t.is(lines[1], ['HS-PLUG-01', 'HS000000000001', 'abcdefghjk21', l1!.setupKey, 'http://192.168.4.1/#k=' + l1!.setupKey, 'HS-PLUG-01-0001', l1!.setupAp.passphrase].join(','));
  t.is(lines[3], ['"Plug ""Mini"", white"', 'HS000000000003', 'abcdefghjk23', l3!.setupKey, 'http://192.168.4.1/#k=' + l3!.setupKey, '"Plug ""Mini"", white-0003"', l3!.setupAp.passphrase].join(','));
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

test('the QR path draws exactly the modules of the qrcode package for the setup URL, its fragment (the setup key) included', (t) => {
  for (const base of [DEFAULT_SETUP_URL, 'https://setup.example/units/HS0123456789AB?lang=ja', 'http://10.0.0.1:8080/']) {
    const l = label(1, {}, 'HS-PLUG-01', base);
    t.true(l.setupUrl.endsWith('#k=' + l.setupKey));
    const [only] = sheetLabels(labelSheetSvg([l]));
    t.deepEqual(only!.qr, expectedQr(l.setupUrl), l.setupUrl);
    t.notDeepEqual(only!.qr, expectedQr(base), 'not the address alone');
  }
  // The path alone, from a module matrix.
  const m = QRCode.create('x', { errorCorrectionLevel: 'M' }).modules;
  t.true(qrPath({ size: m.size, dark: (r, c) => Boolean(m.get(r, c)) }).startsWith('M' + QR_QUIET + ' ' + QR_QUIET + 'h7'), 'the finder pattern comes first');
});

test('labels.svg: an A4 sheet with one label per unit (model, serial, password in monospace, QR of the setup URL, the access point, the setup key)', (t) => {
  const labels = Array.from({ length: 5 }, (_, i) => label(i, {}, 'Plug <&> "A"'));
  const svg = labelSheetSvg(labels);
  t.regex(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="210mm" height="297mm" viewBox="0 0 210 297">/);
  const found = sheetLabels(svg);
  t.is(found.length, 5);
  t.is(svg.match(/<g class="page"/g)!.length, 1);
  const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  found.forEach((l, i) => {
    const u = labels[i]!;
    t.deepEqual(l.qr, expectedQr(u.setupUrl), 'the QR code carries the URL with the setup key');
    t.is(l.texts[0], 'Plug &lt;&amp;&gt; &quot;A&quot;', 'text is escaped');
    t.true(l.texts.includes(u.serial));
    t.true(l.texts.includes(u.defaultPassword));
    t.true(l.texts.includes(xml('Wi-Fi ' + u.setupAp.ssid + '  ' + u.setupAp.passphrase)), l.texts.join(' | '));
    // The setup key for typing: in groups of 5, as parseSetupKey reads it back.
    const key = l.texts.find((x) => x.startsWith('Setup key '))!;
    t.regex(key, /^Setup key [a-z2-7]{5}(-[a-z2-7]{1,5}){5}$/);
    t.deepEqual(parseSetupKey(key.slice('Setup key '.length)), keyOf(i));
    // The address to type has no fragment: the key is printed once, on its own line.
    t.true(l.texts.includes('Setup: ' + DEFAULT_SETUP_URL));
    t.is(l.texts.filter((x) => x.includes(u.setupKey)).length, 0, 'the key is printed grouped only');
    t.regex(l.body, new RegExp('class="pw" font-family="[^"]*monospace"'));
    t.regex(l.body, new RegExp('class="ap" font-family="[^"]*monospace"'));
    t.regex(l.body, new RegExp('class="key" font-family="[^"]*monospace"'));
    // Every text line sits inside the label, below the QR code or left of it.
    for (const m of l.body.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="([\d.]+)"/g)) {
      const [x, y, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
      t.true(x >= 0 && y <= SHEET.labelHeight - 1 && y - size >= 0, 'text at ' + x + ' ' + y);
    }
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
  for (const [model, serial, password, setupKey, url, ssid, passphrase] of rows.slice(1) as string[][]) {
    t.is(model, 'HS-PLUG-01');
    t.regex(password!, new RegExp('^[' + PASSWORD_ALPHABET + ']{12}$'));
    const parsed = parseProvisioning(new Uint8Array(readFileSync(join(dir, serial! + '.secret.bin'))));
    if (!parsed.ok) return t.fail(parsed.reason);
    t.is(parsed.record.serial, serial);
    t.is(parsed.record.verifier!.iterations, 4096);
    t.true(isDefaultOf(parsed.record, password!), 'the label holds the unit\'s default password');
    labelOf(t, { model: model!, serial: serial!, defaultPassword: password!, setupKey: setupKey!, setupUrl: url!, setupAp: { ssid: ssid!, passphrase: passphrase! } }, parsed.record);
    for (const secret of [password!, setupKey!, passphrase!]) t.false(run.stdout.includes(secret) || run.stderr.includes(secret), 'no secret printed');
    t.true(run.stdout.includes(serial!));
  }
  t.is(new Set(rows.slice(1).map((r) => r[3])).size, 3, 'a setup key per unit');
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
  t.deepEqual(Object.keys(l), ['model', 'serial', 'defaultPassword', 'setupKey', 'setupUrl', 'setupAp']);
  t.like(l, { model: 'HS-PLUG-01', setupUrl: 'http://192.168.4.1/setup#k=' + l.setupKey });
  const parsed = parseProvisioning(new Uint8Array(readFileSync(out)));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.is(parsed.record.serial, l.serial);
  t.true(isDefaultOf(parsed.record, l.defaultPassword));
  labelOf(t, l, parsed.record, 'http://192.168.4.1/setup');
  for (const secret of [l.defaultPassword, l.setupKey, l.setupAp.passphrase]) t.false(run.stdout.includes(secret) || run.stderr.includes(secret), 'no secret printed');
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
  labelOf(t, l, parsed.record);
  t.false(run.stdout.includes(l.defaultPassword));
  t.false(run.stdout.includes(l.setupKey));
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
  t.like(l, { model: image.config.model, serial: sim.device.serial, setupUrl: DEFAULT_SETUP_URL + '#k=' + l.setupKey });
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')), l);
  t.is(statSync(join(dir, 'label.json')).mode & 0o777, 0o600);
  t.true(lines.some((line) => line === '[host] default password and setup key of the new unit: see ' + join(dir, 'label.json')), lines.join('\n'));
  for (const secret of [l.defaultPassword, l.setupKey, l.setupAp.passphrase]) t.false(lines.some((line) => line.includes(secret)), 'no secret logged');
  const parsed = parseProvisioning(new Uint8Array(readFileSync(join(dir, 'flash.bin')).subarray(0, 4096)));
  if (!parsed.ok) return t.fail(parsed.reason);
  t.is(parsed.record.verifier!.iterations, 4096);
  t.true(isDefaultOf(parsed.record, l.defaultPassword));
  labelOf(t, l, parsed.record);
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
  t.truthy(parseSetupKey(sim.label!.setupKey));
});

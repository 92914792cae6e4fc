import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../firmware/host/build';
import {
  boardInterfaces,
  CRITERION_IDS,
  escapeHtml,
  evidenceCommand,
  findChromium,
  hasJapaneseFont,
  imageOptions,
  parseEvidenceMetadata,
  printPdfs,
  writeEvidence,
  type EvidenceResult,
} from '../firmware/host/evidence';
import { validateSbom } from '../firmware/host/sbom';
import { CONFORM_CHECKS, CRITERIA, type ConformCheckId, type ConformReport, type Criterion } from '../firmware/host/star1';
import smartPlug from '../examples/smart-plug/image';
import envSensor from '../examples/env-sensor/image';

/**
 * `hoshi evidence`: the checklist, the vendor documents, the interface declaration, the SBOMs and
 * the index, for both examples, written to temporary directories. The ★1 mapping is a fixture of
 * sixteen criteria shaped as star1.ts's (the real CRITERIA is checked through the command, once it
 * holds all sixteen).
 */

/** Config fields, modules and vendor documents per criterion, as the mapping gives them. */
const SHAPE: { [id: string]: Partial<Criterion> } = {
  'S1.1-01': { modules: ['modules/accounts'], config: ['interfaces.http'] },
  'S1.1-02': { modules: ['modules/accounts'], config: [] },
  'S1.1-05': { modules: ['modules/device-info'], config: ['vulnerabilityDisclosureUrl'], vendorDocuments: ['vulnerability-disclosure'] },
  'S1.1-06': { modules: ['modules/ota', 'firmware/device/core/bootctl.ts'], config: ['firmwareVersion'] },
  'S1.1-09': { modules: [], config: [], vendorDocuments: ['update-policy'] },
  'S1.1-10': { modules: ['modules/device-info'], config: ['model', 'hardwareRevision'] },
  'S1.1-13': { modules: ['modules/interfaces'], config: ['interfaces'] },
  'S1.1-15': { modules: ['modules/wipe'], config: [] },
  'S1.1-16': { modules: ['modules/device-info'], config: ['supportEnd'], vendorDocuments: ['user-information'] },
};

function fixtureCriteria(): Criterion[] {
  return CRITERION_IDS.map((id) => {
    const conform = (Object.keys(CONFORM_CHECKS) as ConformCheckId[]).filter((k) => (CONFORM_CHECKS[k] as readonly string[]).includes(id));
    const s = SHAPE[id] ?? {};
    return {
      id,
      title: { ja: '適合基準 ' + id + ' の表題', en: 'Criterion ' + id + ' title' },
      judgedBy: id === 'S1.1-04' ? 'device' : id === 'S1.1-13' ? 'doc+scan' : 'doc',
      en303645: ['5.1-1'],
      claim: { ja: id + ' の適合の主張', en: id + ' conformity claim' + (id === 'S1.1-03' ? ' with <b>tags</b> & ampersand' : '') },
      how: { ja: id + ' の実現方法', en: id + ' how it is met' },
      modules: s.modules ?? ['modules/accounts'],
      config: s.config ?? [],
      code: [{ file: 'modules/accounts/index.ts', symbol: 'accounts' }],
      tests: [{ file: 'test/accounts.test.ts', title: id + ' test title' }],
      docs: ['docs/accounts.md'],
      conform,
      vendorDocuments: s.vendorDocuments,
    };
  });
}

const REPORT: ConformReport = {
  tool: 'hoshi conform',
  kitVersion: '0.1.0',
  target: 'http://127.0.0.1:18080',
  started: '2026-03-01T10:00:00.000Z',
  finished: '2026-03-01T10:04:10.000Z',
  requests: 321,
  device: { model: 'HS-PLUG-01', firmwareVersion: '0.1.0' },
  checks: [
    { id: 'auth-required', criteria: ['S1.1-01'], title: 'Every route needs a login', verdict: 'pass', reason: 'all 23 non-public routes answered 401 without credentials', evidence: [] },
    { id: 'brute-force', criteria: ['S1.1-04'], title: 'Brute force', verdict: 'pass', reason: 'a wait of 2 s after 3 failures, 429 with Retry-After', evidence: [] },
    { id: 'interfaces', criteria: ['S1.1-13'], title: 'Open ports as declared', verdict: 'fail', reason: 'tcp/2323 open but not declared', evidence: [] },
    { id: 'wipe', criteria: ['S1.1-15'], title: 'Factory data wipe', verdict: 'needs-human', reason: 'the wipe was not run on this unit', evidence: [] },
  ],
};

const FORBIDDEN = ['is certified', 'has no vulnerabilities', 'completely secure', '認証取得済み', '脆弱性はありません', '完全に安全'];

function scratch(t: { teardown(f: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-evidence-' + name + '-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// One run per example, shared by the tests that read its output (each run builds every target).
const plugDir = mkdtempSync(join(tmpdir(), 'hoshi-evidence-plug-'));
const envDir = mkdtempSync(join(tmpdir(), 'hoshi-evidence-env-'));
let plugRun: Promise<EvidenceResult> | undefined;
let envRun: Promise<EvidenceResult> | undefined;
const plug = (): Promise<EvidenceResult> => (plugRun ??= writeEvidence({ example: 'smart-plug', out: plugDir, criteria: fixtureCriteria(), conform: REPORT, now: new Date('2026-03-02T09:00:00Z') }));
const env = (): Promise<EvidenceResult> => (envRun ??= writeEvidence({ example: 'env-sensor', out: envDir, criteria: fixtureCriteria(), pdf: true, chromium: null, now: new Date('2026-03-02T09:00:00Z') }));
test.after.always(() => {
  rmSync(plugDir, { recursive: true, force: true });
  rmSync(envDir, { recursive: true, force: true });
});

const read = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');

test('smart plug: the checklist in Japanese and English, Markdown and HTML, holds the sixteen items with the image\'s values', async (t) => {
  await plug();
  for (const name of ['checklist.ja.md', 'checklist.en.md', 'checklist.ja.html', 'checklist.en.html']) {
    const text = read(plugDir, name);
    for (const id of CRITERION_IDS) t.true(text.includes(id + ' '), name + ' lacks ' + id);
    for (const value of ['HS-PLUG-01', '2031-12-31', 'https://example.com/security/disclosure', 'Hoshi example vendor', '0.1.0']) t.true(text.includes(value), name + ' lacks ' + value);
    t.true(text.includes('test/accounts.test.ts'), name + ': tests');
  }
  const ja = read(plugDir, 'checklist.ja.md');
  for (const term of ['自己適合宣言', '下書き', '適合基準', '脆弱性開示ポリシー', 'セキュリティアップデート', 'サポート期間', '証跡', '【要記入：']) t.true(ja.includes(term), term);
  t.true(ja.includes('`interfaces.http`'), 'a dotted config path is read');
  t.true(ja.includes('`interfaces.setupAp` = `true`'));
  t.true(ja.includes('`modules/wipe` — ビルドに含まれる：kaluma, espruino, host'));
  t.true(ja.includes('[脆弱性開示ポリシー（下書き）](vulnerability-disclosure.ja.md)'));
  t.true(read(plugDir, 'checklist.en.html').includes('<a href="user-information.en.html">'));
  const en = read(plugDir, 'checklist.en.md');
  t.true(en.includes('draft') && en.includes('self-declaration') && en.includes('[TO FILL: '));
  t.regex(en, /Hoshi \d+\.\d+\.\d+ \(commit [0-9a-f]{12}/);
});

test('smart plug: the HTML is self-contained, printable and escaped', async (t) => {
  await plug();
  for (const name of readdirSync(plugDir).filter((n) => n.endsWith('.html'))) {
    const html = read(plugDir, name);
    t.true(html.startsWith('<!DOCTYPE html>'), name);
    t.regex(html, /<html lang="(ja|en)">/);
    t.regex(html, /@page \{ size: A4/);
    t.notRegex(html, /<script|<link|<img|<iframe|\bsrc=|@import|url\(/i, name + ' loads nothing');
    for (const m of html.matchAll(/href="([^"]*)"/g)) t.regex(m[1]!, /^(https:\/\/|mailto:|[\w.-]+\.(html|md|json))/, name + ': ' + m[1]);
  }
  const en = read(plugDir, 'checklist.en.html');
  t.true(en.includes('with &lt;b&gt;tags&lt;/b&gt; &amp; ampersand'));
  t.false(en.includes('<b>tags</b>'));
  t.true(read(plugDir, 'checklist.en.md').includes('with \\<b\\>tags\\</b\\> & ampersand'));
});

test('smart plug: a conform report\'s verdicts, reasons, target and date appear under their criteria', async (t) => {
  await plug();
  const en = read(plugDir, 'checklist.en.md');
  const ja = read(plugDir, 'checklist.ja.md');
  const section = (text: string, id: string): string => text.slice(text.indexOf('### ' + id), text.indexOf('### ', text.indexOf('### ' + id) + 4));
  t.regex(section(en, 'S1.1-01'), /auth-required.*\*\*pass\*\* — all 23 non-public routes answered 401/);
  t.regex(section(en, 'S1.1-13'), /interfaces.*\*\*fail\*\* — tcp\/2323 open but not declared/);
  t.regex(section(en, 'S1.1-15'), /needs a person to judge/);
  t.regex(section(ja, 'S1.1-01'), /\*\*合格\*\* — all 23/);
  t.regex(section(ja, 'S1.1-13'), /\*\*不合格\*\*/);
  // A check the mapping names but the report lacks is said; a document-only criterion says so.
  t.regex(section(en, 'S1.1-03'), /password-change.*this check is not in the report/);
  t.regex(section(en, 'S1.1-05'), /judged on documents/);
  for (const text of [en, ja]) {
    t.true(text.includes('http://127.0.0.1:18080'));
    t.true(text.includes('2026-03-01T10:04:10.000Z'));
  }
  t.deepEqual(JSON.parse(read(plugDir, 'conform-report.json')), REPORT);
});

test('smart plug: the three vendor documents in both languages, from the configuration and the manifest\'s metadata', async (t) => {
  await plug();
  for (const lang of ['ja', 'en']) {
    for (const ext of ['md', 'html']) {
      const disclosure = read(plugDir, 'vulnerability-disclosure.' + lang + '.' + ext);
      for (const v of ['security@example.com', 'https://example.com/security/report', 'https://example.com/security/disclosure', 'HS-PLUG-01', '2031-12-31']) t.true(disclosure.includes(v), 'disclosure ' + lang + ' ' + v);
      t.regex(disclosure, lang === 'ja' ? /5 営業日/ : /5 business days/);
      t.regex(disclosure, lang === 'ja' ? /30 日/ : /every 30 days/);
      const policy = read(plugDir, 'update-policy.' + lang + '.' + ext);
      for (const v of ['9.0–10.0', '7.0–8.9', '4.0–6.9', '0.1–3.9', 'Ed25519', '2031-12-31', 'sbom.kaluma.cdx.json']) t.true(policy.includes(v), 'policy ' + lang + ' ' + v);
      t.regex(policy, lang === 'ja' ? /14 日/ : /14 days/);
      const info = read(plugDir, 'user-information.' + lang + '.' + ext);
      for (const v of ['HS-PLUG-01', '2031-12-31', 'POST /api/wipe', ext === 'html' ? '{&quot;confirm&quot;:&quot;wipe&quot;}' : '{"confirm":"wipe"}', 'Factory data wipe', 'Wipe and restart', 'Firmware update', 'http://192.168.4.1/', 'support@example.com']) t.true(info.includes(v), 'user information ' + lang + '.' + ext + ' ' + v);
      t.true(info.includes(lang === 'ja' ? 'BOOT ボタン（GPIO0、D0）を 10 秒以上' : 'hold the BOOT button (GPIO0, D0) for 10 seconds'), 'the ESP32\'s wipe button, from the image\'s wipe({button})');
      t.true(info.includes(lang === 'ja' ? '8 文字以上' : 'at least 8 characters'));
    }
  }
  const ja = read(plugDir, 'user-information.ja.md');
  for (const term of ['初期パスワード', 'セットアップキー', '設定用アクセスポイント', 'サポート', '免責', '廃棄']) t.true(ja.includes(term), term);
  // The Pico W has no button the firmware can read: the vendor says what to do.
  t.regex(ja, /Raspberry Pi Pico W（Kaluma 1\.2\.1）には消去用のボタンがありません。.*【要記入：サポートでの対応手順】/);
  t.false(ja.includes('ホストシミュレータ'), 'the simulator is not a product\'s board');
});

test('smart plug: the interface declaration says what each board opens and what it cannot close', async (t) => {
  await plug();
  const json = JSON.parse(read(plugDir, 'interfaces.json')) as { declared: unknown; boards: { board: string; status: string; notClosed: { interface: string }[] }[] };
  t.deepEqual(json.declared, smartPlug.config.interfaces);
  const byBoard = new Map(json.boards.map((b) => [b.board, b]));
  t.deepEqual([...byBoard.keys()], ['kaluma-pico-w', 'espruino-esp32', 'host']);
  t.is(byBoard.get('kaluma-pico-w')!.status, 'tcp/80 setup-ap; not closed: usb');
  t.is(byBoard.get('espruino-esp32')!.status, 'tcp/80 setup-ap; not closed: usb mdns');
  t.is(byBoard.get('host')!.status, 'tcp/80 setup-ap');
  t.deepEqual(byBoard.get('espruino-esp32')!.notClosed.map((n) => n.interface), ['usb', 'mdns', 'bluetooth']);
  const md = read(plugDir, 'interfaces.md');
  t.true(md.includes('REPL'));
  t.true(md.includes('DHCP, DNS'));
  // The boards' own reports say the same (boards/*/board.ts restrictConsole).
  t.true(readFileSync(new URL('../boards/kaluma-pico-w/board.ts', import.meta.url), 'utf8').includes("interfaces: 'usb=open,bluetooth=off'"));
  t.true(readFileSync(new URL('../boards/espruino-esp32/board.ts', import.meta.url), 'utf8').includes(",usb=open,bluetooth=' + (ble ? 'open' : 'off') + ',mdns=open'"));
  // A declared USB use is open as declared, not a residual risk.
  const withUsb = { ...smartPlug.config, interfaces: { ...smartPlug.config.interfaces, usb: 'the console, development units only' } };
  t.is(boardInterfaces(withUsb, 'kaluma-pico-w').status, 'tcp/80 setup-ap usb');
});

test('smart plug: one valid CycloneDX 1.6 SBOM per build, listing the npm packages the bundle holds and the kit\'s modules', async (t) => {
  const r = await plug();
  t.deepEqual(r.sboms.map((s) => s.target), ['kaluma', 'espruino', 'host']);
  for (const s of r.sboms) {
    const text = read(plugDir, s.file);
    t.is(await validateSbom(text), undefined, s.file);
    const bom = JSON.parse(text) as { specVersion: string; metadata: { component: { name: string; version: string; supplier: { name: string } } }; components: { name: string; purl?: string; properties?: { name: string; value: string }[] }[] };
    t.is(bom.specVersion, '1.6');
    t.is(bom.metadata.component.name, 'HS-PLUG-01');
    t.is(bom.metadata.component.version, '0.1.0');
    t.is(bom.metadata.component.supplier.name, 'Hoshi example vendor');
    t.is(bom.components.length, s.components);
    const names = bom.components.map((c) => c.name);
    for (const m of ['modules/accounts', 'modules/ota', 'modules/wipe', 'modules/interfaces', 'firmware/device/core', 'examples/smart-plug']) t.true(names.includes(m), s.file + ' ' + m);
    t.true(names.includes(s.target === 'host' ? 'boards/host' : s.target === 'kaluma' ? 'boards/kaluma-pico-w' : 'boards/espruino-esp32'));
  }
  // The npm packages in the bundle are those of its source map (built again here for one target).
  const dir = scratch(t, 'map');
  const built = await buildImage('smart-plug', 'espruino', dir);
  const inMap = [...new Set((JSON.parse(built.map).sources as string[]).flatMap((s) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s)?.[1] ?? []))].sort();
  const bom = JSON.parse(read(plugDir, 'sbom.espruino.cdx.json')) as { components: { name: string; purl?: string; properties?: { name: string; value: string }[] }[] };
  const bundled = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/') && c.properties?.some((p) => p.name === 'hoshi:part' && p.value.split(', ').includes('bundle'))).map((c) => c.name).sort();
  t.deepEqual(bundled, inMap);
  // Kaluma's code read on demand is in its assets: the store's writer, the update worker.
  const kaluma = JSON.parse(read(plugDir, 'sbom.kaluma.cdx.json')) as { components: { name: string; properties?: { name: string; value: string }[] }[] };
  const storeFiles = kaluma.components.find((c) => c.name === 'modules/store')!.properties!.filter((p) => p.name === 'hoshi:file').map((p) => p.value.split('  ')[1]);
  t.true(storeFiles.includes('modules/store/write.ts'));
  // The host image loads its packages at run time: the simulator's imports are listed.
  const host = JSON.parse(read(plugDir, 'sbom.host.cdx.json')) as { components: { name: string }[] };
  t.true(host.components.some((c) => c.name === 'qrcode'));
});

test('smart plug: the index lists every file with its SHA-256', async (t) => {
  const r = await plug();
  const index = read(plugDir, 'README.md');
  const written = readdirSync(plugDir).filter((n) => n !== 'README.md').sort();
  t.deepEqual(r.files.map((f) => f.name).filter((n) => n !== 'README.md').sort(), written);
  for (const name of written) {
    const hash = createHash('sha256').update(readFileSync(join(plugDir, name))).digest('hex');
    t.true(index.includes('[' + name + '](' + name + ')') && index.includes('`' + hash + '`'), name);
  }
  t.is(r.files.find((f) => f.name === 'README.md')!.sha256, createHash('sha256').update(index).digest('hex'));
  for (const id of ['checklist.ja', 'checklist.en', 'vulnerability-disclosure.ja', 'vulnerability-disclosure.en', 'update-policy.ja', 'update-policy.en', 'user-information.ja', 'user-information.en']) {
    t.true(written.includes(id + '.md') && written.includes(id + '.html'), id);
  }
  for (const f of ['interfaces.md', 'interfaces.json', 'sbom.kaluma.cdx.json', 'sbom.espruino.cdx.json', 'sbom.host.cdx.json', 'conform-report.json']) t.true(written.includes(f), f);
});

test('env sensor: its builds, and the fields its manifest leaves out marked to fill; --pdf without Chromium is a note', async (t) => {
  const r = await env();
  t.deepEqual(r.sboms.map((s) => s.target), ['espruino', 'host']);
  for (const s of r.sboms) t.is(await validateSbom(read(envDir, s.file)), undefined);
  const ja = read(envDir, 'checklist.ja.md');
  for (const id of CRITERION_IDS) t.true(ja.includes(id + ' '), id);
  t.true(ja.includes('HS-ENV-01'));
  t.true(ja.includes(envSensor.config.supportEnd));
  t.true(ja.includes('【要記入：製品名称】'));
  const info = read(envDir, 'user-information.en.html');
  t.true(info.includes('[TO FILL: support contact]'));
  t.true(info.includes('[TO FILL: where release notes are published]'));
  t.true(info.includes('security@example.com'));
  const policy = read(envDir, 'update-policy.ja.md');
  t.true(policy.includes('【要記入：目標日数】'));
  t.true(policy.includes('Espruino 2v29'));
  t.true(read(envDir, 'vulnerability-disclosure.en.html').includes('[TO FILL: business days to acknowledge]'));
  t.true(read(envDir, 'vulnerability-disclosure.en.md').includes('**\\[TO FILL: business days to acknowledge\\]**'));
  t.true(r.notes.some((n) => n.includes('no Chromium')));
  t.false(readdirSync(envDir).some((n) => n.endsWith('.pdf')));
  t.true(r.markers['user-information.en.md']!.fill > 0 && r.markers['user-information.en.md']!.check > 0);
});

test('no output claims certification, an absence of vulnerabilities or complete security, in either language', async (t) => {
  await Promise.all([plug(), env()]);
  for (const dir of [plugDir, envDir]) {
    for (const name of readdirSync(dir).filter((n) => /\.(md|html|json)$/.test(n))) {
      const text = read(dir, name).toLowerCase();
      for (const claim of FORBIDDEN) t.false(text.includes(claim.toLowerCase()), name + ' says "' + claim + '"');
    }
  }
});

test('one HTML page printed to PDF with headless Chromium', async (t) => {
  const chromium = findChromium();
  if (!chromium) {
    t.log('no Chromium (/usr/bin/chromium): skipped');
    t.pass();
    return;
  }
  await plug();
  const dir = scratch(t, 'pdf');
  copyFileSync(join(plugDir, 'checklist.en.html'), join(dir, 'checklist.en.html'));
  const [pdf] = await printPdfs([join(dir, 'checklist.en.html')], chromium);
  t.is(pdf, join(dir, 'checklist.en.pdf'));
  const bytes = readFileSync(pdf!);
  t.is(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  t.true(bytes.length > 10000);
});

test('the Japanese checklist printed to PDF embeds a Japanese font (IPA Gothic, installed with the tests)', async (t) => {
  const chromium = findChromium();
  if (!chromium || !hasJapaneseFont()) {
    t.log('no Chromium or no Japanese font: run `node test/ensure-packages.mjs` (npm test does)');
    t.fail('Chromium and a Japanese font are needed');
    return;
  }
  await plug();
  const dir = scratch(t, 'pdf-ja');
  copyFileSync(join(plugDir, 'checklist.ja.html'), join(dir, 'checklist.ja.html'));
  const [pdf] = await printPdfs([join(dir, 'checklist.ja.html')], chromium);
  const text = readFileSync(pdf!).toString('latin1');
  t.is(text.slice(0, 5), '%PDF-');
  t.regex(text, /\/BaseFont\s*\/[A-Z]{6}\+IPA[P]?Gothic/, 'the glyphs come from IPA Gothic, not a fallback');
});

test('hoshi evidence: usage errors are exit 2; with the ★1 mapping complete it writes all sixteen items, and refuses to write a partial checklist', async (t) => {
  t.is(await evidenceCommand([]), 2);
  t.is(await evidenceCommand(['smart-plug', '--bogus']), 2);
  t.is(await evidenceCommand(['smart-plug', '--out']), 2);
  t.is(await evidenceCommand(['no-such-example']), 2);
  const dir = join(scratch(t, 'cli'), 'out');
  const code = await evidenceCommand(['smart-plug', '--out', dir]);
  if (CRITERIA.length === 16) {
    t.is(code, 0);
    for (const name of ['checklist.ja.html', 'checklist.en.html']) {
      const text = read(dir, name);
      for (const c of CRITERIA) {
        t.true(text.includes(c.id + ' '), name + ' ' + c.id);
        t.true(text.includes(escapeHtml(c.title[name.includes('.ja.') ? 'ja' : 'en'])), name + ' ' + c.id + ' title');
      }
    }
    for (const id of CRITERION_IDS) t.true(read(dir, 'checklist.ja.md').includes(id + ' ') && read(dir, 'checklist.en.md').includes(id + ' '), id);
  } else {
    t.is(code, 1, 'CRITERIA holds ' + CRITERIA.length + ' of 16');
    t.false(existsSync(dir), 'nothing written');
  }
});

test('the manifest\'s metadata: unknown or malformed fields are refused, naming them; module options read from the image', (t) => {
  t.deepEqual(parseEvidenceMetadata(undefined), {});
  t.throws(() => parseEvidenceMetadata({ vendor: 'x' }), { message: /"evidence"\.vendor: unknown field/ });
  t.throws(() => parseEvidenceMetadata({ vulnerabilityReport: { email: 'not-an-address' } }), { message: /vulnerabilityReport\.email/ });
  t.throws(() => parseEvidenceMetadata({ releaseNotesUrl: 'javascript:alert(1)' }), { message: /releaseNotesUrl: an http\(s\) URL/ });
  t.throws(() => parseEvidenceMetadata({ productName: { ja: 'x' } }), { message: /productName/ });
  t.throws(() => parseEvidenceMetadata({ updateTargets: { critical: 0 } }), { message: /updateTargets\.critical/ });
  t.throws(() => parseEvidenceMetadata({ supportPeriod: { start: '2026/04/01' } }), { message: /supportPeriod\.start/ });
  const source = readFileSync(new URL('../examples/smart-plug/image.ts', import.meta.url), 'utf8');
  const options = imageOptions(source);
  t.deepEqual(options.wipe, { button: { 'espruino-esp32': 'D0', host: 'button' } });
  t.deepEqual(options.accounts, { clearButton: { 'espruino-esp32': 'D0', host: 'button' } });
  t.true('ota' in options && options.ota === undefined, 'ota() without options');
});

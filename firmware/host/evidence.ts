import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { transformSync } from 'esbuild';
import type { ImageConfig } from '../device/core/module';
import { buildImage, loadImage, readManifest, ROOT, type Manifest } from './build';
import type { Target } from './profiles';
import { assetSources, bundleSources, createSbom, runtimeComponent, runtimeImports, sha256, validateSbom, type SourceFile } from './sbom';
import { CRITERIA, type ConformCheck, type ConformReport, type Criterion, type Text, type Verdict } from './star1';
import { contactParts, disclosurePolicy, productName, updatePolicy, userInformation } from './vendor-docs';

/**
 * `hoshi evidence <example> [--out DIR] [--conform REPORT.json] [--pdf]`: the drafts a vendor needs
 * for a JC-STAR ★1 self-declaration (自己適合宣言) of a product built from an example image, written
 * from the image's configuration, its builds and the ★1 mapping (firmware/host/star1.ts), into DIR
 * (default evidence/<example>/ under the current directory). docs/evidence.md says what each file
 * holds and where each value comes from.
 *
 * Every document is a draft: the fields only the vendor can give are marked 【要記入】 / [TO FILL],
 * proposed wording the vendor must confirm 【要確認】 / [TO CHECK]. Nothing here makes a product
 * conform; the vendor reviews, completes and answers for what it declares.
 */

// ---------------------------------------------------------------------------------------------
// The vendor's metadata (manifest.json "evidence"): host-only, never in the device's image.

/** Where to reach the vendor. */
export interface Contact {
  email?: string;
  url?: string;
  phone?: string;
}

/**
 * What the vendor adds for the documents, in the example's manifest.json under "evidence"; every
 * field is optional, and a missing one leaves a field to fill in the drafts.
 */
export interface EvidenceMetadata {
  /** The vendor's name as on the label application (default: the image's `config.vendor`). */
  vendorName?: string;
  vendorUrl?: string;
  productName?: Text;
  /** Where vulnerabilities are reported (S1.1-05 ①). */
  vulnerabilityReport?: Contact;
  /** Product support for users (S1.1-16). */
  supportContact?: Contact;
  /** How security updates reach users: where packages and release notes are published. */
  updateChannel?: Text;
  /** Where the notes of each release are published (S1.1-16 ②). */
  releaseNotesUrl?: string;
  /** Where security advisories are published (S1.1-05 ③). */
  advisoriesUrl?: string;
  /** Start of the support period (YYYY-MM-DD; its end is `config.supportEnd`) and the end-of-support policy (S1.1-16 ④). */
  supportPeriod?: { start?: string; policy?: Text };
  /** The disclosure policy's time frames, in days (acknowledgement in business days). */
  disclosure?: { acknowledgeDays?: number; statusEveryDays?: number; publishWithinDays?: number };
  /** Target days from a severity's confirmation to the fixed release, per CVSS band (S1.1-09). */
  updateTargets?: { critical?: number; high?: number; medium?: number; low?: number };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks manifest.json's "evidence" and returns it; a wrong or unknown field throws, naming it. */
export function parseEvidenceMetadata(value: unknown, at = 'manifest.json "evidence"'): EvidenceMetadata {
  if (value === undefined) return {};
  const object = (v: unknown, where: string, fields: string[]): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(where + ': an object');
    for (const k of Object.keys(v)) if (!fields.includes(k)) throw new Error(where + '.' + k + ': unknown field (' + fields.join(', ') + ')');
    return v as Record<string, unknown>;
  };
  const string = (v: unknown, where: string): void => {
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw new Error(where + ': a non-empty string');
  };
  const url = (v: unknown, where: string): void => {
    string(v, where);
    if (typeof v === 'string' && !/^https?:\/\/[^\s<>"]+$/.test(v)) throw new Error(where + ': an http(s) URL');
  };
  const text = (v: unknown, where: string): void => {
    if (v === undefined) return;
    const t = object(v, where, ['ja', 'en']);
    if (typeof t.ja !== 'string' || typeof t.en !== 'string' || !t.ja.trim() || !t.en.trim()) throw new Error(where + ': {"ja": …, "en": …}, both non-empty');
  };
  const contact = (v: unknown, where: string): void => {
    if (v === undefined) return;
    const c = object(v, where, ['email', 'url', 'phone']);
    string(c.email, where + '.email');
    if (typeof c.email === 'string' && !/^[^\s@<>"]+@[^\s@<>"]+$/.test(c.email)) throw new Error(where + '.email: an e-mail address');
    url(c.url, where + '.url');
    string(c.phone, where + '.phone');
  };
  const days = (v: unknown, where: string, fields: string[]): void => {
    if (v === undefined) return;
    const d = object(v, where, fields);
    for (const k of Object.keys(d)) if (!(Number.isInteger(d[k]) && (d[k] as number) > 0 && (d[k] as number) <= 3650)) throw new Error(where + '.' + k + ': a whole number of days, 1-3650');
  };
  const m = object(value, at, ['vendorName', 'vendorUrl', 'productName', 'vulnerabilityReport', 'supportContact', 'updateChannel', 'releaseNotesUrl', 'advisoriesUrl', 'supportPeriod', 'disclosure', 'updateTargets']);
  string(m.vendorName, at + '.vendorName');
  url(m.vendorUrl, at + '.vendorUrl');
  text(m.productName, at + '.productName');
  contact(m.vulnerabilityReport, at + '.vulnerabilityReport');
  contact(m.supportContact, at + '.supportContact');
  text(m.updateChannel, at + '.updateChannel');
  url(m.releaseNotesUrl, at + '.releaseNotesUrl');
  url(m.advisoriesUrl, at + '.advisoriesUrl');
  if (m.supportPeriod !== undefined) {
    const s = object(m.supportPeriod, at + '.supportPeriod', ['start', 'policy']);
    if (s.start !== undefined && (typeof s.start !== 'string' || !DATE.test(s.start))) throw new Error(at + '.supportPeriod.start: YYYY-MM-DD');
    text(s.policy, at + '.supportPeriod.policy');
  }
  days(m.disclosure, at + '.disclosure', ['acknowledgeDays', 'statusEveryDays', 'publishWithinDays']);
  days(m.updateTargets, at + '.updateTargets', ['critical', 'high', 'medium', 'low']);
  return m as EvidenceMetadata;
}

// ---------------------------------------------------------------------------------------------
// The documents: a small model rendered to Markdown and to printable, self-contained HTML.

export type Lang = 'ja' | 'en';

/** A run of text: plain, code, a link, strong, a line break, or a marker of what the vendor must fill or confirm. */
export type Inline =
  | string
  | { code: string }
  | { link: string; text?: string }
  /** A link to another document of the output directory (`name`.<lang>.md or .html). */
  | { doc: string; text: string; plain?: boolean }
  | { strong: string }
  | { br: true }
  | { fill: string }
  | { check: string };

export type Block =
  | { h: 2 | 3; text: string }
  | { p: Inline[] }
  | { ul: Inline[][] }
  | { ol: Inline[][] }
  /** `rowHeads`: the first cell of each row heads it. */
  | { table: { head: string[]; rows: Inline[][][]; rowHeads?: boolean } }
  /** A framed statement (the draft's notice). */
  | { note: Inline[] };

export interface Doc {
  lang: Lang;
  title: string;
  blocks: Block[];
}

const FILL: { [l in Lang]: [string, string] } = { ja: ['【要記入：', '】'], en: ['[TO FILL: ', ']'] };
const CHECK: { [l in Lang]: [string, string] } = { ja: ['【要確認：', '】'], en: ['[TO CHECK: ', ']'] };

/** The markers a document holds: what the vendor must still fill, and what it must confirm. */
export function countMarkers(text: string): { fill: number; check: number } {
  const count = (s: string): number => text.split(s).length - 1;
  return { fill: count(FILL.ja[0]) + count(FILL.en[0]), check: count(CHECK.ja[0]) + count(CHECK.en[0]) };
}

function mdText(s: string): string {
  return s.replace(/[\\`*_[\]<>|#]/g, '\\$&').replace(/\n/g, ' ');
}

function mdCode(s: string, inTable: boolean): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const body = inTable ? s.replace(/\|/g, '\\|') : s;
  return fence + (body.startsWith('`') || body.endsWith('`') ? ' ' + body + ' ' : body) + fence;
}

/** Only http(s) and mailto links are links; anything else stays text. */
function safeHref(href: string): string | undefined {
  return /^(https?:\/\/|mailto:)[^\s<>"]+$/.test(href) ? href : undefined;
}

function mdInline(parts: Inline[], lang: Lang, inTable = false): string {
  return parts
    .map((x) => {
      if (typeof x === 'string') return mdText(x);
      if ('code' in x) return mdCode(x.code, inTable);
      if ('link' in x) {
        const href = safeHref(x.link);
        const label = mdText(x.text ?? x.link);
        return href ? '[' + label + '](<' + href + '>)' : label;
      }
      if ('doc' in x) return '[' + mdText(x.text) + '](' + (x.plain ? x.doc : x.doc + '.' + lang + '.md') + ')';
      if ('strong' in x) return '**' + mdText(x.strong) + '**';
      if ('br' in x) return inTable ? '<br>' : '  \n';
      if ('fill' in x) return '**' + mdText(FILL[lang][0] + x.fill + FILL[lang][1]) + '**';
      return '**' + mdText(CHECK[lang][0] + x.check + CHECK[lang][1]) + '**';
    })
    .join('');
}

/** The document as GitHub-flavoured Markdown. */
export function renderMarkdown(doc: Doc): string {
  const out: string[] = ['# ' + mdText(doc.title), ''];
  for (const b of doc.blocks) {
    if ('h' in b) out.push('#'.repeat(b.h) + ' ' + mdText(b.text), '');
    else if ('p' in b) out.push(mdInline(b.p, doc.lang), '');
    else if ('ul' in b) out.push(...b.ul.map((i) => '- ' + mdInline(i, doc.lang)), '');
    else if ('ol' in b) out.push(...b.ol.map((i, n) => n + 1 + '. ' + mdInline(i, doc.lang)), '');
    else if ('note' in b) out.push('> ' + mdInline(b.note, doc.lang), '');
    else {
      const t = b.table;
      out.push('| ' + t.head.map(mdText).join(' | ') + ' |', '|' + t.head.map(() => '---').join('|') + '|');
      for (const row of t.rows) out.push('| ' + row.map((c) => mdInline(c, doc.lang, true) || ' ').join(' | ') + ' |');
      out.push('');
    }
  }
  return out.join('\n');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function htmlInline(parts: Inline[], lang: Lang): string {
  return parts
    .map((x) => {
      if (typeof x === 'string') return escapeHtml(x);
      if ('code' in x) return '<code>' + escapeHtml(x.code) + '</code>';
      if ('link' in x) {
        const href = safeHref(x.link);
        return href ? '<a href="' + escapeHtml(href) + '">' + escapeHtml(x.text ?? x.link) + '</a>' : escapeHtml(x.text ?? x.link);
      }
      if ('doc' in x) return '<a href="' + escapeHtml(x.plain ? x.doc : x.doc + '.' + lang + '.html') + '">' + escapeHtml(x.text) + '</a>';
      if ('strong' in x) return '<strong>' + escapeHtml(x.strong) + '</strong>';
      if ('br' in x) return '<br>';
      if ('fill' in x) return '<mark class="fill">' + escapeHtml(FILL[lang][0] + x.fill + FILL[lang][1]) + '</mark>';
      return '<mark class="check">' + escapeHtml(CHECK[lang][0] + x.check + CHECK[lang][1]) + '</mark>';
    })
    .join('');
}

/** Print styles: A4, fonts for Japanese where the system has them, markers kept in colour when printed. */
const CSS = `
@page { size: A4; margin: 15mm 14mm 16mm; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", sans-serif;
  font-size: 10pt; line-height: 1.55; color: #111; max-width: 190mm; margin: 0 auto; padding: 10mm 6mm; }
h1 { font-size: 15pt; margin: 0 0 0.6em; }
h2 { font-size: 12.5pt; border-bottom: 1.5px solid #333; margin-top: 1.4em; break-after: avoid; }
h3 { font-size: 11pt; margin-top: 1.2em; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; }
th, td { border: 1px solid #888; padding: 3px 6px; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
thead th { background: #e8e8e8; }
tbody th { background: #f4f4f4; width: 24%; font-weight: 600; }
tr { break-inside: avoid; }
code { font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace; font-size: 0.9em; overflow-wrap: anywhere; }
mark.fill { background: #ffe866; font-weight: 700; padding: 0 2px; }
mark.check { background: #cfe8ff; padding: 0 2px; }
.note { border: 2px solid #333; padding: 0.5em 0.9em; margin: 0.8em 0 1.2em; break-inside: avoid; }
a { color: #0645ad; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; } }
`;

/** The document as one self-contained HTML page (no external resource), every text escaped. */
export function renderHtml(doc: Doc): string {
  const body: string[] = ['<h1>' + escapeHtml(doc.title) + '</h1>'];
  for (const b of doc.blocks) {
    if ('h' in b) body.push('<h' + b.h + '>' + escapeHtml(b.text) + '</h' + b.h + '>');
    else if ('p' in b) body.push('<p>' + htmlInline(b.p, doc.lang) + '</p>');
    else if ('ul' in b) body.push('<ul>' + b.ul.map((i) => '<li>' + htmlInline(i, doc.lang) + '</li>').join('') + '</ul>');
    else if ('ol' in b) body.push('<ol>' + b.ol.map((i) => '<li>' + htmlInline(i, doc.lang) + '</li>').join('') + '</ol>');
    else if ('note' in b) body.push('<div class="note">' + htmlInline(b.note, doc.lang) + '</div>');
    else {
      const t = b.table;
      const rows = t.rows.map((row) => '<tr>' + row.map((c, i) => (i === 0 && t.rowHeads ? '<th scope="row">' + htmlInline(c, doc.lang) + '</th>' : '<td>' + htmlInline(c, doc.lang) + '</td>')).join('') + '</tr>');
      body.push('<table><thead><tr>' + t.head.map((h) => '<th>' + escapeHtml(h) + '</th>').join('') + '</tr></thead><tbody>' + rows.join('') + '</tbody></table>');
    }
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="' + doc.lang + '">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>' + escapeHtml(doc.title) + '</title>',
    '<style>' + CSS + '</style>',
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// What the documents are drafted from.

/** The modules' options an image passes literally (e.g. `wipe({button: {…}})`), by factory name. */
export type ImageOptions = { [factory: string]: Record<string, unknown> | undefined };

/**
 * Reads the literal options of each module factory call in an image's source (`accounts({…})`,
 * `wipe({…})`, `ota({…})`): a module keeps its options to itself once made, so the documents read
 * them where the image states them. A value that is not a literal (a variable, a call) is left out.
 */
export function imageOptions(source: string): ImageOptions {
  const js = transformSync(source, { loader: 'ts', format: 'esm' }).code;
  const ast = parse(js, { ecmaVersion: 'latest', sourceType: 'module' });
  const out: ImageOptions = {};
  const literal = (n: Node): unknown => {
    const x = n as unknown as { type: string; value?: unknown; operator?: string; argument?: Node; elements?: (Node | null)[]; properties?: { type: string; key: { type: string; name?: string; value?: unknown }; value: Node; computed: boolean }[] };
    if (x.type === 'Literal') return x.value;
    if (x.type === 'UnaryExpression' && x.operator === '-' && x.argument) {
      const v = literal(x.argument);
      return typeof v === 'number' ? -v : undefined;
    }
    if (x.type === 'ArrayExpression') return (x.elements ?? []).map((e) => (e ? literal(e) : undefined));
    if (x.type === 'ObjectExpression') {
      const o: Record<string, unknown> = {};
      for (const p of x.properties ?? []) {
        if (p.type !== 'Property' || p.computed) continue;
        const key = p.key.type === 'Identifier' ? p.key.name : String(p.key.value);
        const v = literal(p.value);
        if (key !== undefined && v !== undefined) o[key] = v;
      }
      return o;
    }
    return undefined;
  };
  walk.simple(ast, {
    CallExpression(n) {
      const call = n as unknown as { callee: { type: string; name?: string }; arguments: Node[] };
      if (call.callee.type !== 'Identifier' || !call.callee.name) return;
      const first = call.arguments[0];
      const value = first ? literal(first) : undefined;
      if (value && typeof value === 'object' && !Array.isArray(value)) out[call.callee.name] = value as Record<string, unknown>;
      else if (!(call.callee.name in out)) out[call.callee.name] = undefined;
    },
  });
  return out;
}

/** What a board opens and closes by itself (docs/interfaces.md; the boards' `restrictConsole`). */
export interface BoardFacts {
  name: Text;
  /** The board can open the setup access point (hal/net.ts `wifi.openAp`). */
  setupAp: boolean;
  /** The board has a network at all. */
  network: boolean;
  /** What the board closes at boot (with the console "off"). */
  closed: Text[];
  /** What it cannot close: the interface's name in `status.interfaces`, why, and what a product must do. */
  notClosed: { name: string; why: Text; hardening: Text; onlyIf?: Text }[];
  /** A user button a module may name, and what it is on the board. */
  button?: { pin: string; name: Text };
}

export const BOARD_FACTS: { [board: string]: BoardFacts } = {
  host: {
    name: { ja: 'ホストシミュレータ', en: 'host simulator' },
    setupAp: true,
    network: true,
    closed: [{ ja: 'REPL、USB、無線はもたない。HTTP サーバはループバックの 1 アドレス（127.0.0.1 等）でのみ待ち受ける', en: 'no REPL, USB or radio of its own; the HTTP server listens on one loopback address (127.0.0.1 or the one given) only' }],
    notClosed: [],
    button: { pin: 'button', name: { ja: 'シミュレータのボタン入力（button）', en: 'the simulator\'s button input ("button")' } },
  },
  'kaluma-pico-w': {
    name: { ja: 'Raspberry Pi Pico W（Kaluma 1.2.1）', en: 'Raspberry Pi Pico W (Kaluma 1.2.1)' },
    setupAp: true,
    network: true,
    closed: [
      { ja: 'Bluetooth：Kaluma 1.2.1 は Bluetooth スタックを組み込まないため動作しない', en: 'Bluetooth: Kaluma 1.2.1 builds no Bluetooth stack, so the radio\'s Bluetooth never runs' },
      { ja: 'UART：ピンにコンソールは出ない', en: 'UART: no console on its pins' },
    ],
    notClosed: [
      {
        name: 'usb',
        why: { ja: 'USB の REPL は Kaluma 1.2.1 では常に有効で、JavaScript からは閉じられない（USB ケーブルを接続できる者はコードの実行、フラッシュの読み書きができる）。起動時の BOOTSEL でフラッシュ全体を書き換えられ、GP22 を Low にするとアプリを起動しない（いずれも物理的アクセス）', en: 'Kaluma 1.2.1 keeps its USB REPL on and JavaScript cannot close it (with a USB cable anyone can run code and read or write the flash); BOOTSEL at power-on rewrites the whole flash, GP22 low at boot skips the app (physical access)' },
        hardening: { ja: 'REPL を USB に出さないよう Kaluma をビルドしたファームウェアを使う、又は製品で USB のデータ線に触れられないようにする（docs/boards.md）', en: 'a Kaluma firmware built without the REPL on USB, or a product whose USB data lines cannot be reached (docs/boards.md)' },
      },
    ],
  },
  'kaluma-pico': {
    name: { ja: 'Raspberry Pi Pico（Kaluma 1.2.1、ネットワークなし）', en: 'Raspberry Pi Pico (Kaluma 1.2.1, no network)' },
    setupAp: false,
    network: false,
    closed: [{ ja: '無線をもたない。UART にコンソールは出ない', en: 'no radio; no console on its UART pins' }],
    notClosed: [
      {
        name: 'usb',
        why: { ja: 'USB の REPL は Kaluma 1.2.1 では常に有効で、JavaScript からは閉じられない。BOOTSEL、GP22 は Pico W と同じ', en: 'Kaluma 1.2.1 keeps its USB REPL on and JavaScript cannot close it; BOOTSEL and GP22 as on the Pico W' },
        hardening: { ja: 'REPL を USB に出さない Kaluma のビルド、又は USB のデータ線に触れられない製品構造', en: 'a Kaluma build without the REPL on USB, or unreachable USB data lines' },
      },
    ],
  },
  'espruino-esp32': {
    name: { ja: 'ESP32（Espruino 2v29）', en: 'ESP32 (Espruino 2v29)' },
    setupAp: true,
    network: true,
    closed: [
      { ja: 'Telnet の REPL（TCP 23）：起動時に無効化し、待ち受けは開かない', en: 'the Telnet REPL (TCP 23): turned off at boot, before its listener opens' },
      { ja: 'UART0（USB シリアル変換経由）の REPL：起動時にコンソールを切り離す', en: 'the REPL on UART0 (through the USB-serial bridge): the console is detached at boot' },
    ],
    notClosed: [
      {
        name: 'usb',
        why: { ja: 'USB シリアル変換から ROM のダウンロードモードに入れ、フラッシュ全体を読み書きできる（開発ボードの自動リセット回路により USB ケーブルだけで可能）', en: 'the USB-serial bridge reaches the ROM download mode, which reads and writes the whole flash (a dev board\'s auto-reset circuit needs only the cable)' },
        hardening: { ja: 'eFuse で UART ダウンロードを無効化する（対応するチップの場合）、又は製品に USB シリアル変換を載せない（docs/boards.md）', en: 'UART download disabled in eFuse where the chip has it, or no USB-serial bridge on the product (docs/boards.md)' },
      },
      {
        name: 'mdns',
        why: { ja: 'Wi-Fi 接続後、Espruino が mDNS（UDP 5353）に応答し、Telnet（ポート 23）を広告する（Telnet 自体は閉じている）。JavaScript から止められない', en: 'once the station has its address Espruino answers mDNS (UDP 5353), advertising Telnet on port 23 (Telnet itself is off); JavaScript cannot stop it' },
        hardening: { ja: 'mDNS を含まない Espruino のビルド、又は残留リスクとして宣言する', en: 'an Espruino build without mDNS, or declared as a residual risk' },
      },
      {
        name: 'bluetooth',
        onlyIf: { ja: 'その機器の NVS で Bluetooth が有効な間のみ（hoshi flash は書き込みの前に無効化する）', en: 'only while the unit\'s NVS has it on (hoshi flash turns it off before it writes)' },
        why: { ja: 'NVS で有効な場合、電源投入時から Bluetooth の広告と Nordic UART サービスが動き、起動処理がコンソールを切り離すまで REPL に届く', en: 'while NVS has it on, Bluetooth advertises from power-on with the Nordic UART service, which reaches the REPL until boot detaches the console' },
        hardening: { ja: '書き込み時に NVS で Bluetooth を無効化する（hoshi flash が行う）', en: 'Bluetooth turned off in NVS when the unit is flashed (hoshi flash does it)' },
      },
    ],
    button: { pin: 'D0', name: { ja: 'BOOT ボタン（GPIO0、D0）', en: 'the BOOT button (GPIO0, D0)' } },
  },
};

/** Everything the drafts are written from. */
export interface EvidenceFacts {
  example: string;
  description: string;
  config: ImageConfig;
  meta: EvidenceMetadata;
  options: ImageOptions;
  /** The vendor's name (the metadata's, else the image's). */
  vendor: string;
  /** The image's modules, by name. */
  modules: string[];
  /** Its builds, each with its board's name and user button (BOARD_FACTS). */
  builds: { target: Target; board: string; name: Text; button?: { pin: string; name: Text } }[];
  /** What the image listens on, as declared (`declaredInterfaces`). */
  listening: string[];
  /** The runtimes of the device builds ("Kaluma 1.2.1"). */
  runtimes: string[];
  kit: { version: string; commit?: string; dirty?: boolean };
  /** YYYY-MM-DD. */
  generated: string;
  /** The SBOM files written, by target. */
  sboms: { target: Target; file: string; components: number }[];
}

/** The kit's version (package.json) and, where git answers, its commit and whether the work tree has changes. */
export function kitIdentity(root = ROOT): EvidenceFacts['kit'] {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return /^[0-9a-f]{40}$/.test(commit) ? { version, commit, dirty } : { version };
  } catch {
    return { version };
  }
}

// ---------------------------------------------------------------------------------------------
// The interface declaration.

interface OpenInterface {
  name: string;
  servedBy: Text;
}

/** The interfaces the image opens as declared, each with what serves it (docs/interfaces.md). */
export function declaredInterfaces(config: ImageConfig): OpenInterface[] {
  const d = config.interfaces;
  const open: OpenInterface[] = [
    {
      name: 'tcp/' + d.http.port,
      servedBy: {
        ja: 'HTTP サーバ（firmware/device/core/http-server.ts）：公開の機器情報（/api/info）と管理ページ。管理操作はログインと管理チャネルを要する。本文 ' + d.http.maxBodyBytes + ' バイト、ヘッダ ' + d.http.maxHeaderBytes + ' バイトまで',
        en: 'the HTTP server (firmware/device/core/http-server.ts): the public device information (/api/info) and the admin page; administration needs a login and the admin channel. Bodies up to ' + d.http.maxBodyBytes + ' bytes, heads up to ' + d.http.maxHeaderBytes,
      },
    },
  ];
  for (const kind of ['tcp', 'udp'] as const) for (const l of d[kind] ?? []) open.push({ name: kind + '/' + l.port, servedBy: { ja: l.purpose, en: l.purpose } });
  if (d.setupAp) {
    open.push({
      name: 'setup-ap',
      servedBy: {
        ja: '設定用アクセスポイント（modules/network/wifi）：Wi-Fi が未設定の間だけ開く。WPA2、パスフレーズは機器ごとに異なりラベルに記載。機器は 192.168.4.1、DHCP サーバ（UDP 67）',
        en: 'the setup access point (modules/network/wifi): open only while the unit has no Wi-Fi credentials; WPA2 with a per-unit passphrase printed on the label; the unit at 192.168.4.1 with a DHCP server (UDP 67)',
      },
    });
  }
  if (d.console !== 'off') open.push({ name: 'console', servedBy: { ja: 'ランタイムの REPL（モード ' + d.console + '）：製品では "off" にする', en: 'the runtime\'s REPL (mode ' + d.console + '); products use "off"' } });
  if (d.bluetooth) open.push({ name: 'bluetooth', servedBy: { ja: d.bluetooth, en: d.bluetooth } });
  if (d.usb) open.push({ name: 'usb', servedBy: { ja: d.usb, en: d.usb } });
  return open;
}

/** A board's facts; a board the table lacks is a programming error. */
export function boardFacts(board: string): BoardFacts {
  const facts = BOARD_FACTS[board];
  if (!facts) throw new Error('evidence: no interface facts for board ' + board + ' (firmware/host/evidence.ts BOARD_FACTS)');
  return facts;
}

/** The interfaces of one board: open as declared, closed at boot, not closed, and the summary the unit publishes as `status.interfaces`. */
export function boardInterfaces(config: ImageConfig, board: string): { open: string[]; closed: Text[]; notClosed: BoardFacts['notClosed']; status: string } {
  const facts = boardFacts(board);
  const d = config.interfaces;
  // As modules/interfaces lists them: the declared ones first, then what the board could not close.
  const open = declaredInterfaces(config)
    .map((i) => i.name)
    .filter((n) => (n === 'setup-ap' ? facts.setupAp : n === 'usb' || n === 'bluetooth' || n === 'console' ? true : facts.network));
  const residual = facts.notClosed.filter((n) => !(n.name === 'usb' && d.usb) && !(n.name === 'bluetooth' && d.bluetooth));
  const always = residual.filter((n) => !n.onlyIf).map((n) => n.name);
  return { open, closed: facts.closed, notClosed: residual, status: open.join(' ') + (always.length ? '; not closed: ' + always.join(' ') : '') };
}

/** interfaces.json: the declaration and, per board of the image, what is open, closed and left open. */
export function interfacesJson(f: EvidenceFacts): unknown {
  return {
    example: f.example,
    model: f.config.model,
    firmwareVersion: f.config.firmwareVersion,
    generated: f.generated,
    declared: f.config.interfaces,
    open: declaredInterfaces(f.config).map((i) => ({ interface: i.name, servedBy: i.servedBy })),
    outgoing: f.config.interfaces.outgoing ?? [],
    boards: f.builds.map((b) => {
      const i = boardInterfaces(f.config, b.board);
      return { target: b.target, board: b.board, open: i.open, closedAtBoot: i.closed, notClosed: i.notClosed.map((n) => ({ interface: n.name, why: n.why, hardening: n.hardening, ...(n.onlyIf ? { onlyIf: n.onlyIf } : {}) })), status: i.status };
    }),
  };
}

/** interfaces.md: the same, in both languages. */
export function interfacesDoc(f: EvidenceFacts): Doc {
  const d = f.config.interfaces;
  const blocks: Block[] = [
    { note: ['インタフェースの宣言（JC-STAR ★1 適合基準 S1.1-13）：イメージの設定 ', { code: 'config.interfaces' }, ' と各ボードが閉じられないものから作成。製造業者は、製品の利用上不要かつ攻撃を受けるリスクがあるインタフェースが残っていないことを確認してください。', { br: true }, 'The interface declaration (S1.1-13), from the image\'s ', { code: 'config.interfaces' }, ' and what each board cannot close. The vendor confirms that nothing the product does not need, and that could be attacked, is left open.'] },
    { table: { head: ['項目 / Item', '内容 / Value'], rowHeads: true, rows: [
      [['型番 / Model'], [f.config.model]],
      [['ファームウェア / Firmware'], [f.config.firmwareVersion]],
      [['作成日 / Generated'], [f.generated]],
    ] } },
    { h: 2, text: '宣言により開くもの / Open as declared' },
    { table: { head: ['インタフェース / Interface', '用途 / What serves it'], rows: declaredInterfaces(f.config).map((i) => [[{ code: i.name }], [i.servedBy.ja, { br: true }, i.servedBy.en]]) } },
    { h: 2, text: '外向きの通信（待ち受けなし） / Outgoing connections (nothing listens)' },
    { ul: (d.outgoing ?? []).length ? (d.outgoing ?? []).map((o) => [o]) : [['なし / none']] },
    { h: 2, text: '宣言にないもの（閉じている） / Not declared (closed)' },
    { ul: [
      [{ code: 'tcp' }, ' / ', { code: 'udp' }, '：', d.tcp?.length || d.udp?.length ? '上記のほかは待ち受けない / nothing else listens' : d.setupAp ? 'HTTP と、設定用アクセスポイントが開いている間のその DHCP サーバ（UDP 67）のほかは待ち受けない / nothing listens but HTTP and, while the setup access point is open, its DHCP server (UDP 67)' : 'HTTP のほかは待ち受けない / nothing but HTTP listens'],
      [{ code: 'bluetooth' }, '：', d.bluetooth ? '宣言あり / declared' : 'オフ（下記のボードの例外を除く） / off (but for the board exceptions below)'],
      [{ code: 'usb' }, '：', d.usb ? '宣言あり / declared' : '製品として使わない（下記のボードの例外を除く） / unused by the product (but for the board exceptions below)'],
      [{ code: 'console' }, '：', d.console === 'off' ? 'off（REPL を閉じる） / off (REPLs closed)' : d.console],
    ] },
  ];
  for (const b of f.builds) {
    const i = boardInterfaces(f.config, b.board);
    blocks.push({ h: 2, text: b.name.ja + ' / ' + b.name.en + ' (' + b.target + ')' });
    blocks.push({ p: ['機器が公開する要約 ', { code: 'status.interfaces' }, ' の期待値 / The summary the unit publishes: ', { code: i.status }] });
    blocks.push({ p: [{ strong: '起動時に閉じるもの / Closed at boot' }] });
    blocks.push({ ul: i.closed.length ? i.closed.map((c) => [c.ja, { br: true }, c.en]) : [['なし / none']] });
    blocks.push({ p: [{ strong: '閉じられないもの（残留リスク） / Not closed (residual risks)' }] });
    if (i.notClosed.length === 0) blocks.push({ ul: [['なし / none']] });
    else {
      blocks.push({ table: { head: ['インタフェース / Interface', '理由 / Why', '製品での対策 / What a product must do'], rows: i.notClosed.map((n) => [
        [{ code: n.name }, ...(n.onlyIf ? [{ br: true } as Inline, n.onlyIf.ja, { br: true } as Inline, n.onlyIf.en] : [])],
        [n.why.ja, { br: true }, n.why.en],
        [n.hardening.ja, { br: true }, n.hardening.en, { br: true }, { fill: '製品での対策 / the product\'s measure' }],
      ]) } });
    }
  }
  blocks.push({ h: 2, text: '確認 / Checks' });
  blocks.push({ ul: [
    ['稼働中の機器のポートスキャン（firmware/host/port-scan.ts、hoshi conform）で、開いている TCP ポートが宣言と一致すること / a port scan of a running unit finds exactly the declared TCP ports (firmware/host/port-scan.ts, hoshi conform)'],
    ['脆弱性スキャンツールによる既知の脆弱性検査（S1.1-13 ②） / a scan for known vulnerabilities (S1.1-13 ②): ', { fill: '実施日、ツール、結果 / date, scanner, result' }],
  ] });
  return { lang: 'ja', title: 'インタフェースの宣言 / Interface declaration — ' + f.config.model, blocks };
}

// ---------------------------------------------------------------------------------------------
// The checklist.

const JUDGED: { [k in Criterion['judgedBy']]: Text } = {
  doc: { ja: 'ドキュメント評価', en: 'document review' },
  device: { ja: '実機評価', en: 'test of the unit' },
  'doc/device': { ja: 'ドキュメント評価又は実機評価', en: 'document review or test of the unit' },
  'doc+scan': { ja: 'ドキュメント評価及び脆弱性スキャン', en: 'document review and vulnerability scan' },
};

const VERDICT: { [v in Verdict]: Text } = {
  pass: { ja: '合格', en: 'pass' },
  fail: { ja: '不合格', en: 'fail' },
  'not-applicable': { ja: '対象外', en: 'not applicable' },
  'needs-human': { ja: '要人手確認', en: 'needs a person to judge' },
};

const VENDOR_DOC_TITLE: { [k in NonNullable<Criterion['vendorDocuments']>[number]]: Text } = {
  'vulnerability-disclosure': { ja: '脆弱性開示ポリシー（下書き）', en: 'Vulnerability disclosure policy (draft)' },
  'update-policy': { ja: 'セキュリティアップデートの優先度決定方針（下書き）', en: 'Security update prioritisation policy (draft)' },
  'user-information': { ja: 'セキュリティに関する利用者向け情報（下書き）', en: 'Security information for users (draft)' },
};

/** The sixteen ids, S1.1-01 … S1.1-16. */
export const CRITERION_IDS = Array.from({ length: 16 }, (_, i) => 'S1.1-' + String(i + 1).padStart(2, '0'));

/** Checks that `criteria` holds each of the sixteen exactly once; returns them in order. */
export function orderedCriteria(criteria: Criterion[]): Criterion[] {
  const missing = CRITERION_IDS.filter((id) => !criteria.some((c) => c.id === id));
  const extra = criteria.filter((c) => !CRITERION_IDS.includes(c.id)).map((c) => c.id);
  const twice = CRITERION_IDS.filter((id) => criteria.filter((c) => c.id === id).length > 1);
  if (missing.length || extra.length || twice.length) {
    throw new Error('the ★1 mapping (firmware/host/star1.ts CRITERIA) must hold S1.1-01 … S1.1-16 once each:' + (missing.length ? ' missing ' + missing.join(', ') : '') + (twice.length ? ' twice ' + twice.join(', ') : '') + (extra.length ? ' unknown ' + extra.join(', ') : '') + '; no checklist written');
  }
  return CRITERION_IDS.map((id) => criteria.find((c) => c.id === id)!);
}

/** A configuration value (a key of the image's config, or a dotted path in it) as inline parts. */
function configValue(config: ImageConfig, key: string, lang: Lang): Inline[] {
  let v: unknown = config;
  for (const k of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (v === undefined) return [{ code: key }, ' — ', { check: lang === 'ja' ? 'このイメージの設定にない' : 'not in this image\'s configuration' }];
  if (key === 'interfaces') {
    const d = config.interfaces;
    const lines: Inline[] = [{ code: 'interfaces.http' }, ' = TCP ' + d.http.port, { br: true }, { code: 'interfaces.console' }, ' = ', { code: d.console }];
    for (const kind of ['tcp', 'udp'] as const) if (d[kind]?.length) lines.push({ br: true }, { code: 'interfaces.' + kind }, ' = ' + d[kind]!.map((l) => l.port + ' (' + l.purpose + ')').join(', '));
    if (d.bluetooth) lines.push({ br: true }, { code: 'interfaces.bluetooth' }, ' = ' + d.bluetooth);
    if (d.usb) lines.push({ br: true }, { code: 'interfaces.usb' }, ' = ' + d.usb);
    lines.push({ br: true }, { code: 'interfaces.setupAp' }, ' = ', { code: String(d.setupAp === true) });
    if (d.outgoing?.length) lines.push({ br: true }, { code: 'interfaces.outgoing' }, ' = ' + d.outgoing.join('; '));
    lines.push({ br: true }, { doc: 'interfaces.md', plain: true, text: lang === 'ja' ? 'インタフェースの宣言' : 'interface declaration' });
    return lines;
  }
  return [{ code: key }, ' = ', { code: typeof v === 'string' ? v : JSON.stringify(v) }];
}

function joinLines(items: Inline[][]): Inline[] {
  const out: Inline[] = [];
  items.forEach((i, n) => out.push(...(n ? [{ br: true } as Inline] : []), ...i));
  return out;
}

/** The checks of a conform report that observe `id`. */
function checksFor(report: ConformReport, id: string): ConformCheck[] {
  return report.checks.filter((c) => Array.isArray(c.criteria) && c.criteria.includes(id));
}

/** Which builds hold a module (a kit directory or file): those whose sources name it. */
function buildsHolding(module: string, sources: Map<Target, string[]>): Target[] {
  const m = module.replace(/\/$/, '');
  return [...sources.keys()].filter((t) => sources.get(t)!.some((s) => s === m || s.startsWith(m + '/')));
}

/** The checklist draft in `lang`. */
export function checklistDoc(f: EvidenceFacts, criteria: Criterion[], lang: Lang, sources: Map<Target, string[]>, report?: ConformReport): Doc {
  const ja = lang === 'ja';
  const L = (j: string, e: string): string => (ja ? j : e);
  const c = f.config;
  const kit = 'Hoshi ' + f.kit.version + (f.kit.commit ? ' (' + L('コミット ', 'commit ') + f.kit.commit.slice(0, 12) + (f.kit.dirty ? L('、未コミットの変更あり', ', with uncommitted changes') : '') + ')' : '');
  const blocks: Block[] = [];
  blocks.push({
    note: ja
      ? ['本書は、', { strong: f.vendor }, ' が JC-STAR ★1（レベル 1）の適合基準への適合を自己適合宣言するためのチェックリストの', { strong: '下書き' }, 'です。イメージの設定、ビルド、キットの対応表（firmware/host/star1.ts）から作成したものであり、製造業者は各項目を確認・修正し、【要記入】を埋め、【要確認】の内容を確かめたうえで、自らの責任で適合を評価し、IPA 所定のチェックリスト様式に記入してください。本書を作成しただけでは、製品が適合基準に適合することにはなりません。']
      : ['This is a ', { strong: 'draft' }, ' of the checklist with which ', { strong: f.vendor }, ' declares, by self-declaration (自己適合宣言), that the product meets the JC-STAR ★1 (level 1) criteria. It is written from the image\'s configuration, its builds and the kit\'s mapping (firmware/host/star1.ts). The vendor must review and correct each item, fill every [TO FILL], confirm every [TO CHECK], assess conformity under its own responsibility, and enter the result in IPA\'s checklist form. Writing this draft does not by itself make the product conform.'],
  });
  const reportLine: Inline[] = report
    ? ['hoshi conform ' + report.kitVersion + ' — ' + report.target + ' — ' + report.started + ' … ' + report.finished + ' (' + report.requests + L(' 件の要求', ' requests') + ')', ...(report.device && report.device.model !== c.model ? [{ br: true } as Inline, { check: L('レポートの機器の型番 ' + String(report.device.model) + ' はこのイメージの型番と異なる', 'the report\'s unit is a ' + String(report.device.model) + ', not this image\'s model') }] : [])]
    : [L('添付なし（', 'none attached ('), { code: '--conform REPORT.json' }, L(' で指定）', ')')];
  blocks.push({ h: 2, text: L('基本情報', 'Product information') });
  blocks.push({ table: { head: [L('項目', 'Item'), L('内容', 'Value')], rowHeads: true, rows: [
    [[L('製造業者', 'Vendor')], [f.vendor]],
    [[L('製品名称', 'Product name')], [productName(f, lang)]],
    [[L('製品型番', 'Model')], [{ code: c.model }]],
    [[L('ハードウェアリビジョン', 'Hardware revision')], [{ code: c.hardwareRevision }]],
    [[L('ファームウェアバージョン', 'Firmware version')], [{ code: c.firmwareVersion }]],
    [[L('サポート期間', 'Support period')], [...(f.meta.supportPeriod?.start ? [f.meta.supportPeriod.start] : [{ fill: L('開始日', 'start date') } as Inline]), ' – ', { code: c.supportEnd }, L('（セキュリティアップデートの提供期限）', ' (last day of security updates)')]],
    [[L('脆弱性開示ポリシー', 'Vulnerability disclosure policy')], [{ link: c.vulnerabilityDisclosureUrl }, { br: true }, { doc: 'vulnerability-disclosure', text: L('下書き', 'draft') }]],
    [[L('不具合・脆弱性届出窓口', 'Vulnerability report contact')], contactParts(f.meta.vulnerabilityReport, lang, L('届出窓口', 'contact'))],
    [[L('製品に関する問合せ窓口', 'Product support contact')], contactParts(f.meta.supportContact, lang, L('問合せ窓口', 'contact'))],
    [[L('技術基準適合認定番号等', 'Japanese technical conformity number')], [{ fill: L('該当する場合（技適 [T]/[A] マーク）。本書は S1.1-01、-06、-14 をこのみなし規定に依らずに記載している', 'if any ([T]/[A] mark); this draft does not rely on it for S1.1-01, -06 or -14') }]],
    [[L('ビルド', 'Builds')], joinLines(f.builds.map((b) => [{ code: b.target }, ': ', { code: b.board }]))],
    [[L('作成日', 'Generated')], [f.generated]],
    [[L('作成元', 'Generated from')], [kit]],
    [[L('実機確認の結果（hoshi conform）', 'Checks of a unit (hoshi conform)')], reportLine],
  ] } });

  blocks.push({ h: 2, text: L('製造業者が行うこと', 'What the vendor must do') });
  blocks.push({ ol: [
    [L('各項目の適合の主張と実現方法が、出荷する製品（ハードウェア、設定、製造工程）に当てはまることを確認し、必要に応じて修正する。', 'Check that each item\'s claim and method hold for the product as shipped (hardware, configuration, production), and correct them where not.')],
    [L('【要記入】を埋め、【要確認】の提案内容を確かめる（下書きの文書を含む）。', 'Fill every [TO FILL] and confirm every [TO CHECK], in the drafted documents too.')],
    [L('脆弱性開示ポリシーを ', 'Publish the vulnerability disclosure policy at '), { link: c.vulnerabilityDisclosureUrl }, L(' に公開し、利用者向け情報を取扱説明書やウェブサイトで周知する。', ', and the information for users in the manual or on the web site.')],
    [L('量産品の実機で hoshi conform を実行し、脆弱性スキャンツールによる既知の脆弱性検査（S1.1-13 ②）を行う。', 'Run hoshi conform against a production unit, and a scan for known vulnerabilities (S1.1-13 ②).')],
    [L('ボードが閉じられないインタフェース（', 'Deal with the interfaces the board cannot close ('), { doc: 'interfaces.md', plain: true, text: L('インタフェースの宣言', 'interface declaration') }, L('）への製品としての対策を決める。', ') in the product.')],
    [L('このディレクトリの文書と SBOM を証跡として保管する（README.md に各ファイルの SHA-256）。IPA は証跡の提出を求めることがある。', 'Keep this directory\'s documents and SBOMs as evidence (README.md lists each file\'s SHA-256): IPA may ask for it.')],
  ] });

  blocks.push({ h: 2, text: L('一覧', 'Summary') });
  blocks.push({ table: { head: [L('番号', 'Id'), L('適合基準', 'Criterion'), L('評価方法', 'Judged by'), L('実機確認', 'Unit checks'), L('製造業者の判定', 'Vendor\'s verdict')], rows: criteria.map((k) => {
    const checks = report ? checksFor(report, k.id) : [];
    return [[k.id], [k.title[lang]], [JUDGED[k.judgedBy][lang]], checks.length ? [checks.map((x) => x.id + ': ' + VERDICT[x.verdict]?.[lang]).join(', ')] : ['—'], [{ fill: L('適合／非該当', 'conforms / not applicable') }]];
  }) } });

  blocks.push({ h: 2, text: L('適合基準ごとの記載', 'Item by item') });
  for (const k of criteria) {
    const rows: Inline[][][] = [];
    rows.push([[L('適合基準', 'Criterion')], [k.title[lang]]]);
    rows.push([[L('評価方法', 'Judged by')], [JUDGED[k.judgedBy][lang]]]);
    if (k.en303645.length) rows.push([['ETSI EN 303 645'], [k.en303645.join(', ')]]);
    rows.push([[L('適合の主張', 'Conformity claim')], [k.claim[lang]]]);
    rows.push([[L('実現方法', 'How it is met')], [k.how[lang]]]);
    if (k.modules.length) {
      rows.push([[L('モジュール', 'Modules')], joinLines(k.modules.map((m) => {
        const inBuilds = buildsHolding(m, sources);
        return [{ code: m }, ' — ', inBuilds.length ? L('ビルドに含まれる：', 'in the builds: ') + inBuilds.join(', ') : { check: L('このイメージのビルドに含まれない', 'in none of this image\'s builds') }];
      }))]);
    }
    if (k.config.length) rows.push([[L('設定値', 'Configuration')], joinLines(k.config.map((key) => configValue(c, key, lang)))]);
    if (k.code.length) rows.push([[L('実装', 'Code')], joinLines(k.code.map((x) => (x.symbol ? [{ code: x.file }, ' › ', { code: x.symbol }] : [{ code: x.file }])))]);
    if (k.tests.length) rows.push([[L('試験', 'Tests')], joinLines(k.tests.map((x) => [{ code: x.file }, ' › ', x.title]))]);
    if (k.docs.length) rows.push([[L('関連文書', 'Documents')], joinLines(k.docs.map((x) => [{ code: x }]))]);
    const vendorDocs = k.vendorDocuments ?? [];
    if (vendorDocs.length || k.config.includes('interfaces')) {
      rows.push([[L('製造業者の文書', 'Vendor documents')], joinLines([
        ...vendorDocs.map((v) => [{ doc: v, text: VENDOR_DOC_TITLE[v][lang] }] as Inline[]),
        ...(k.config.includes('interfaces') ? [[{ doc: 'interfaces.md', plain: true, text: L('インタフェースの宣言', 'Interface declaration') }] as Inline[]] : []),
      ])]);
    }
    if (report) {
      const checks = checksFor(report, k.id);
      const expected = k.conform.filter((id) => !checks.some((x) => x.id === id));
      const lines: Inline[][] = checks.map((x) => [{ code: x.id }, ' ' + x.title + ': ', { strong: VERDICT[x.verdict]?.[lang] ?? x.verdict }, ' — ' + x.reason]);
      for (const id of expected) lines.push([{ code: id }, ': ', { check: L('レポートにこのチェックがない', 'this check is not in the report') }]);
      if (lines.length === 0) lines.push([L('ドキュメント評価の項目（hoshi conform の対象外）', 'judged on documents (no hoshi conform check)')]);
      else lines.push([L('対象 ', 'Target ') + report.target + ', ' + report.finished]);
      rows.push([[L('実機確認（hoshi conform）', 'Unit checks (hoshi conform)')], joinLines(lines)]);
    } else if (k.conform.length) {
      rows.push([[L('実機確認（hoshi conform）', 'Unit checks (hoshi conform)')], [k.conform.join(', '), ' — ', { fill: L('hoshi conform のレポート（--conform）', 'a hoshi conform report (--conform)') }]]);
    }
    rows.push([[L('製造業者の判定', 'Vendor\'s verdict')], [{ fill: L('適合／非該当、確認者、確認日', 'conforms / not applicable, reviewer, date') }]]);
    blocks.push({ h: 3, text: k.id + ' ' + k.title[lang] });
    blocks.push({ table: { head: [L('項目', 'Item'), L('内容', 'Value')], rowHeads: true, rows } });
  }
  return { lang, title: L('JC-STAR ★1 チェックリスト（下書き）— ', 'JC-STAR ★1 checklist (draft) — ') + c.model, blocks };
}

// ---------------------------------------------------------------------------------------------
// The conform report, PDF printing, and the command.

const VERDICTS: Verdict[] = ['pass', 'fail', 'not-applicable', 'needs-human'];

/** Reads a `hoshi conform` report (JSON) and checks its shape; a wrong one throws, saying what is wrong. */
export function readConformReport(file: string): ConformReport {
  let r: ConformReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as ConformReport;
  } catch (error) {
    throw new Error('--conform ' + file + ': cannot read it as JSON (' + (error as Error).message + ')');
  }
  const bad = (what: string): never => {
    throw new Error('--conform ' + file + ': not a hoshi conform report (' + what + ')');
  };
  if (!r || typeof r !== 'object') bad('not an object');
  if (r.tool !== 'hoshi conform') bad('"tool" is not "hoshi conform"');
  for (const k of ['kitVersion', 'target', 'started', 'finished'] as const) if (typeof r[k] !== 'string') bad('"' + k + '" is not a string');
  if (!Array.isArray(r.checks)) bad('"checks" is not a list');
  r.checks.forEach((c, i) => {
    if (!c || typeof c.id !== 'string' || typeof c.title !== 'string' || typeof c.reason !== 'string' || !Array.isArray(c.criteria) || !VERDICTS.includes(c.verdict)) bad('checks[' + i + '] lacks id, title, criteria, a verdict or a reason');
  });
  return r;
}

/** A headless Chromium on this machine, if there is one. */
export function findChromium(): string | undefined {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']) if (existsSync(p)) return p;
  return undefined;
}

/** Whether fontconfig knows a font for Japanese (without one, Chromium prints Japanese text as empty boxes). */
export function hasJapaneseFont(): boolean | undefined {
  const r = spawnSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.trim().length > 0;
}

/**
 * Prints each HTML file to a PDF beside it (FILE.html → FILE.pdf, A4, backgrounds kept) with
 * headless Chromium: through playwright-core, or Chromium's own --print-to-pdf if that fails.
 */
export async function printPdfs(htmlFiles: string[], chromium: string): Promise<string[]> {
  const out: string[] = [];
  try {
    const { chromium: driver } = await import('playwright-core');
    const browser = await driver.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      for (const f of htmlFiles) {
        const pdf = f.replace(/\.html$/, '.pdf');
        await page.goto(pathToFileURL(f).href, { waitUntil: 'load' });
        await page.pdf({ path: pdf, format: 'A4', printBackground: true, preferCSSPageSize: true });
        out.push(pdf);
      }
    } finally {
      await browser.close();
    }
    return out;
  } catch (error) {
    out.length = 0;
    for (const f of htmlFiles) {
      const pdf = f.replace(/\.html$/, '.pdf');
      const r = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-pdf-header-footer', '--print-to-pdf-no-header', '--print-to-pdf=' + pdf, pathToFileURL(f).href], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120000 });
      if (r.status !== 0 || !existsSync(pdf)) throw new Error('PDF: Chromium could not print ' + f + ' (' + (error as Error).message.split('\n')[0] + '; ' + String(r.stderr ?? '').trim().split('\n').pop() + ')');
      out.push(pdf);
    }
    return out;
  }
}

export interface EvidenceOptions {
  example: string;
  /** Output directory (default: evidence/<example>/ under the current directory). */
  out?: string;
  /** A hoshi conform report (a file, or the report itself). */
  conform?: string | ConformReport;
  pdf?: boolean;
  /** The ★1 mapping (default: star1.ts CRITERIA). */
  criteria?: Criterion[];
  /** The date and time the documents carry (default: now). */
  now?: Date;
  /** Chromium for --pdf (default: found on this machine); null: none. */
  chromium?: string | null;
}

export interface EvidenceResult {
  dir: string;
  /** Every file written, with its SHA-256 (the index, README.md, last and without its own). */
  files: { name: string; bytes: number; sha256: string }[];
  sboms: { target: Target; board: string; file: string; components: number }[];
  /** What the vendor must still fill and confirm, per document. */
  markers: { [file: string]: { fill: number; check: number } };
  notes: string[];
  ms: number;
}

/** What each file is, for the index. */
function describe(name: string): Text {
  const lang = /\.(ja|en)\./.exec(name)?.[1];
  const base = name.replace(/\.(ja|en)\.(md|html|pdf)$/, '');
  const titles: { [k: string]: Text } = {
    checklist: { ja: 'チェックリスト（下書き）', en: 'checklist (draft)' },
    'vulnerability-disclosure': VENDOR_DOC_TITLE['vulnerability-disclosure'],
    'update-policy': VENDOR_DOC_TITLE['update-policy'],
    'user-information': VENDOR_DOC_TITLE['user-information'],
  };
  if (titles[base]) return { ja: titles[base].ja + (lang ? '（' + (lang === 'ja' ? '日本語' : '英語') + '）' : ''), en: titles[base].en + (lang ? ' (' + (lang === 'ja' ? 'Japanese' : 'English') + ')' : '') };
  if (name.startsWith('interfaces.')) return { ja: 'インタフェースの宣言', en: 'interface declaration' };
  const sbom = /^sbom\.(\w+)\.cdx\.json$/.exec(name);
  if (sbom) return { ja: 'SBOM（CycloneDX 1.6、' + sbom[1] + ' ビルド）', en: 'SBOM (CycloneDX 1.6, ' + sbom[1] + ' build)' };
  if (name === 'conform-report.json') return { ja: 'hoshi conform のレポート（指定されたもの）', en: 'the hoshi conform report given' };
  return { ja: name, en: name };
}

/** Writes the evidence drafts of `options.example` (see the file's head); throws when it cannot. */
export async function writeEvidence(options: EvidenceOptions): Promise<EvidenceResult> {
  const started = Date.now();
  const criteria = orderedCriteria(options.criteria ?? CRITERIA);
  const example = options.example;
  const manifest: Manifest & { evidence?: unknown } = readManifest(example);
  const meta = parseEvidenceMetadata(manifest.evidence);
  const entry = join(ROOT, 'examples', example, manifest.entry);
  const image = await loadImage(entry);
  const report = options.conform === undefined ? undefined : typeof options.conform === 'string' ? readConformReport(options.conform) : options.conform;
  const dir = resolve(options.out ?? join(process.cwd(), 'evidence', example));
  const now = options.now ?? new Date();
  const notes: string[] = [];
  const kit = kitIdentity();

  // Each device build of the manifest, into a directory of its own that goes afterwards.
  const order: Target[] = ['kaluma', 'espruino', 'host'];
  const targets = order.filter((t) => manifest.boards[t]);
  const work = mkdtempSync(join(tmpdir(), 'hoshi-evidence-'));
  const files = new Map<string, string | Uint8Array>();
  const sources = new Map<Target, string[]>();
  const sboms: EvidenceResult['sboms'] = [];
  const builds: { target: Target; board: string; code: string; files: SourceFile[]; imports: string[] }[] = [];
  try {
    for (const target of targets) {
      const built = await buildImage(example, target, work);
      const bundle = bundleSources(built);
      const assets = await assetSources(target);
      sources.set(target, bundle.concat(assets));
      builds.push({ target, board: built.board, code: built.code, files: [...bundle.map((path) => ({ path, part: 'bundle' as const })), ...assets.map((path) => ({ path, part: 'assets' as const }))], imports: target === 'host' ? runtimeImports(built.code) : [] });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const b of builds) {
    const bom = createSbom(
      { example, description: manifest.description, model: image.config.model, vendor: meta.vendorName ?? image.config.vendor, vendorUrl: meta.vendorUrl, firmwareVersion: image.config.firmwareVersion, hardwareRevision: image.config.hardwareRevision },
      b,
      { kitVersion: kit.version, kitCommit: kit.commit, timestamp: now },
    );
    const json = JSON.stringify(bom, null, 2) + '\n';
    const problems = await validateSbom(json);
    if (problems) throw new Error('the SBOM of the ' + b.target + ' build does not validate against CycloneDX 1.6:\n  ' + problems.slice(0, 10).join('\n  '));
    const file = 'sbom.' + b.target + '.cdx.json';
    files.set(file, json);
    sboms.push({ target: b.target, board: b.board, file, components: bom.components.length });
  }

  const facts: EvidenceFacts = {
    example,
    description: manifest.description,
    config: image.config,
    meta,
    options: imageOptions(readFileSync(entry, 'utf8')),
    vendor: meta.vendorName ?? image.config.vendor,
    modules: image.modules.map((m) => m.name),
    builds: builds.map((b) => ({ target: b.target, board: b.board, name: boardFacts(b.board).name, button: boardFacts(b.board).button })),
    listening: declaredInterfaces(image.config).map((i) => i.name),
    runtimes: builds.map((b) => runtimeComponent(b.target)).filter((r) => r !== undefined).map((r) => r.name[0]!.toUpperCase() + r.name.slice(1) + ' ' + r.version),
    kit,
    generated: now.toISOString().slice(0, 10),
    sboms: sboms.map((s) => ({ target: s.target, file: s.file, components: s.components })),
  };
  const docs: [string, Doc][] = [];
  for (const lang of ['ja', 'en'] as const) {
    docs.push(['checklist.' + lang, checklistDoc(facts, criteria, lang, sources, report)]);
    docs.push(['vulnerability-disclosure.' + lang, disclosurePolicy(facts, lang)]);
    docs.push(['update-policy.' + lang, updatePolicy(facts, lang)]);
    docs.push(['user-information.' + lang, userInformation(facts, lang)]);
  }
  const markers: EvidenceResult['markers'] = {};
  for (const [name, doc] of docs) {
    const md = renderMarkdown(doc);
    files.set(name + '.md', md);
    files.set(name + '.html', renderHtml(doc));
    markers[name + '.md'] = countMarkers(md);
  }
  const interfaces = renderMarkdown(interfacesDoc(facts));
  files.set('interfaces.md', interfaces);
  markers['interfaces.md'] = countMarkers(interfaces);
  files.set('interfaces.json', JSON.stringify(interfacesJson(facts), null, 2) + '\n');
  if (report) files.set('conform-report.json', JSON.stringify(report, null, 2) + '\n');

  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  if (options.pdf) {
    const chromium = options.chromium === undefined ? findChromium() : options.chromium ?? undefined;
    if (!chromium) notes.push('--pdf: no Chromium found (/usr/bin/chromium): no PDF written; print the .html files from a browser instead');
    else {
      if (hasJapaneseFont() === false) notes.push('--pdf: no Japanese font found (fc-list :lang=ja): the Japanese PDFs may show empty boxes; install one (Debian: fonts-noto-cjk)');
      const html = [...files.keys()].filter((n) => n.endsWith('.html')).sort().map((n) => join(dir, n));
      for (const pdf of await printPdfs(html, chromium)) files.set(pdf.slice(dir.length + 1), readFileSync(pdf));
    }
  }
  const listed = [...files.keys()].sort();
  const others = [...before].filter((n) => !files.has(n) && n !== 'README.md');
  if (others.length) notes.push(dir + ' held other files, left as they were and not in the index: ' + others.join(', '));
  const index = indexDoc(facts, listed.map((name) => ({ name, data: files.get(name)! })), markers, report);
  writeFileSync(join(dir, 'README.md'), index);
  const entries = listed.map((name) => {
    const data = files.get(name)!;
    return { name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length, sha256: sha256(data) };
  });
  entries.push({ name: 'README.md', bytes: Buffer.byteLength(index), sha256: sha256(index) });
  return { dir, files: entries, sboms, markers, notes, ms: Date.now() - started };
}

/** README.md of the output directory: what each file is, its size and SHA-256, and what is left to do. */
function indexDoc(f: EvidenceFacts, files: { name: string; data: string | Uint8Array }[], markers: EvidenceResult['markers'], report?: ConformReport): string {
  const rows: Inline[][][] = files.map(({ name, data }) => {
    const d = describe(name);
    const m = markers[name];
    return [[{ doc: name, plain: true, text: name }], [d.ja, { br: true }, d.en, ...(m && (m.fill || m.check) ? [{ br: true } as Inline, '【要記入】/[TO FILL] ' + m.fill + ', 【要確認】/[TO CHECK] ' + m.check] : [])], [String(typeof data === 'string' ? Buffer.byteLength(data) : data.length)], [{ code: sha256(data) }]];
  });
  const doc: Doc = {
    lang: 'ja',
    title: 'JC-STAR ★1 証跡の下書き / ★1 evidence drafts — ' + f.config.model + ' ' + f.config.firmwareVersion,
    blocks: [
      { note: ['このディレクトリの文書は、製造業者の自己適合宣言（JC-STAR ★1）のための下書きです。製造業者が確認・記入するまで、適合の根拠にはなりません。', { br: true }, 'The documents here are drafts for the vendor\'s JC-STAR ★1 self-declaration; until the vendor has reviewed and completed them they are no basis for conformity.'] },
      { table: { head: ['項目 / Item', '内容 / Value'], rowHeads: true, rows: [
        [['例 / Example'], [{ code: f.example }, ' — ' + f.description]],
        [['型番 / Model'], [{ code: f.config.model }]],
        [['ファームウェア / Firmware'], [{ code: f.config.firmwareVersion }]],
        [['ビルド / Builds'], joinLines(f.builds.map((b) => [{ code: b.target }, ': ', { code: b.board }]))],
        [['作成日 / Generated'], [f.generated]],
        [['作成元 / Generated from'], ['Hoshi ' + f.kit.version + (f.kit.commit ? ' (' + f.kit.commit + (f.kit.dirty ? ', +uncommitted changes' : '') + ')' : '')]],
        [['hoshi conform'], report ? [report.target + ', ' + report.finished] : ['—']],
      ] } },
      { h: 2, text: 'ファイル / Files' },
      { table: { head: ['ファイル / File', '内容 / What', 'バイト / Bytes', 'SHA-256'], rows } },
      { p: ['確認 / Verify: ', { code: 'sha256sum ' + files.map((x) => x.name).join(' ') }] },
    ],
  };
  return renderMarkdown(doc);
}

const EVIDENCE_USAGE = 'usage: hoshi evidence <example> [--out DIR] [--conform REPORT.json] [--pdf]';

/**
 * `hoshi evidence <example> [--out DIR] [--conform REPORT.json] [--pdf]`. Exit codes: 0 written
 * (with --pdf and no Chromium too: a note says the PDFs were skipped), 1 failed (the message says
 * why: an invalid SBOM, a build that fails, a ★1 mapping that lacks criteria, a bad report), 2 usage.
 */
export async function evidenceCommand(args: string[]): Promise<number> {
  let example: string | undefined;
  let out: string | undefined;
  let conform: string | undefined;
  let pdf = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--out' || a === '--conform') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) {
        console.error('hoshi evidence: ' + a + ' needs a value\n' + EVIDENCE_USAGE);
        return 2;
      }
      if (a === '--out') out = v;
      else conform = v;
    } else if (a === '--pdf') pdf = true;
    else if (a.startsWith('--') || example !== undefined) {
      console.error('hoshi evidence: unexpected ' + a + '\n' + EVIDENCE_USAGE);
      return 2;
    } else example = a;
  }
  if (!example) {
    console.error('hoshi evidence: which example?\n' + EVIDENCE_USAGE);
    return 2;
  }
  if (!existsSync(join(ROOT, 'examples', example, 'manifest.json'))) {
    console.error('hoshi evidence: no example ' + example + ' (examples/' + example + '/manifest.json)');
    return 2;
  }
  try {
    const r = await writeEvidence({ example, out, conform, pdf });
    const fill = Object.values(r.markers).reduce((s, m) => s + m.fill, 0);
    const check = Object.values(r.markers).reduce((s, m) => s + m.check, 0);
    console.log(r.dir + ': ' + r.files.length + ' files in ' + (r.ms / 1000).toFixed(1) + ' s');
    for (const f of r.files) console.log('  ' + f.sha256 + '  ' + f.name);
    for (const s of r.sboms) console.log('SBOM ' + s.target + ' (' + s.board + '): ' + s.components + ' components, valid CycloneDX 1.6');
    console.log('left for the vendor: ' + fill + ' fields to fill, ' + check + ' proposals to confirm (see README.md); these are drafts of a self-declaration');
    for (const n of r.notes) console.log('note: ' + n);
    return 0;
  } catch (error) {
    console.error('hoshi evidence: ' + (error as Error).message);
    return 1;
  }
}

import QRCode from 'qrcode';
import type { ProvisioningRecord } from '../device/core/provisioning';
import { base32Encode, setupAccessPoint } from '../../modules/channel/setup';
import { jsCrypto } from '../../modules/crypto/provider-js';

/**
 * Unit labels: what goes on a unit's label at the factory (model, serial, its default password,
 * its setup key, its setup access point and the setup page's address with the setup key in its
 * fragment), as a JSON record per unit, a CSV for label printers and a printable A4 SVG sheet with
 * a QR code of the setup address. Every form holds a unit's secrets: the tools write them
 * owner-only (mode 0600) and never print them.
 */

/** One unit's label. */
export interface LabelRecord {
  model: string;
  serial: string;
  defaultPassword: string;
  /** The setup key in base32 (modules/channel/setup.ts). */
  setupKey: string;
  /** The setup page's address with the setup key in its fragment (`#k=…`, never sent by a browser). */
  setupUrl: string;
  /** The setup access point the unit opens while it has no Wi-Fi credentials (WPA2). */
  setupAp: { ssid: string; passphrase: string };
}

/** A unit's label from its record and default password; `baseUrl` is the setup page's address. */
export function unitLabel(model: string, record: ProvisioningRecord, defaultPassword: string, baseUrl: string = DEFAULT_SETUP_URL): LabelRecord {
  const key = record.setupKey;
  if (!key) throw new Error('label: the record has no setup key (version 3)');
  const setupKey = base32Encode(key);
  return { model, serial: record.serial, defaultPassword, setupKey, setupUrl: baseUrl.replace(/#.*$/, '') + '#k=' + setupKey, setupAp: setupAccessPoint(jsCrypto, key, model, record.serial) };
}

/** Where the setup access point serves its page (a unit in setup mode is its own access point). */
export const DEFAULT_SETUP_URL = 'http://192.168.4.1/';

/** Why `model` cannot go on a label, or undefined. */
export function checkModel(model: string): string | undefined {
  if (!/^[\x20-\x7e]{1,64}$/.test(model)) return 'the model must be 1-64 printable ASCII characters';
  // A CSV cell starting with these is a formula to a spreadsheet.
  if (/^[=+\-@]/.test(model)) return 'the model must not start with =, +, - or @';
  return undefined;
}

/** Why `url` cannot be a setup address, or undefined. */
export function checkSetupUrl(url: string): string | undefined {
  if (!/^https?:\/\/[\x21-\x7e]{1,200}$/.test(url)) return 'the setup URL must be an http:// or https:// address of printable ASCII';
  try {
    new URL(url);
  } catch {
    return 'the setup URL is not a URL';
  }
  return undefined;
}

/** The label record as written to a unit's label file. */
export function labelJson(label: LabelRecord): string {
  const { model, serial, defaultPassword, setupKey, setupUrl, setupAp } = label;
  return JSON.stringify({ model, serial, defaultPassword, setupKey, setupUrl, setupAp: { ssid: setupAp.ssid, passphrase: setupAp.passphrase } }, null, 2) + '\n';
}

/** A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function cell(value: string): string {
  return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
}

export const CSV_COLUMNS = ['model', 'serial', 'default_password', 'setup_key', 'setup_url', 'setup_ap_ssid', 'setup_ap_passphrase'];

/** labels.csv: a header line and one line per unit (RFC 4180, CRLF). */
export function labelsCsv(labels: LabelRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const l of labels) lines.push([l.model, l.serial, l.defaultPassword, l.setupKey, l.setupUrl, l.setupAp.ssid, l.setupAp.passphrase].map(cell).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * The sheet's geometry, mm: an A4 page of 3 × 7 labels of 63.5 × 38.1 mm, the layout of the common
 * 21-up A4 label stock (e.g. Avery L7160), so the sheet prints onto it at 100 % scale.
 */
export const SHEET = {
  pageWidth: 210,
  pageHeight: 297,
  columns: 3,
  rows: 7,
  labelWidth: 63.5,
  labelHeight: 38.1,
  left: 7.2,
  top: 15.15,
  columnPitch: 66.04,
  rowPitch: 38.1,
  /** QR code side, quiet zone included. */
  qrSide: 24,
};

/** Modules of a QR code: `size` × `size`, dark ones true. */
export interface QrMatrix {
  size: number;
  dark(row: number, column: number): boolean;
}

/** The QR code of `text` (error correction M) as the `qrcode` package makes it. */
export function qrMatrix(text: string): QrMatrix {
  const m = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  return { size: m.size, dark: (row, column) => Boolean(m.get(row, column)) };
}

/** QR quiet zone, modules (ISO/IEC 18004 asks for 4). */
export const QR_QUIET = 4;

/**
 * An SVG path of the dark modules in module units (one unit per module, quiet zone included): each
 * row's runs of dark modules as `M x y h n v1 h -n z`.
 */
export function qrPath(q: QrMatrix): string {
  let d = '';
  for (let row = 0; row < q.size; row++) {
    for (let col = 0; col < q.size; ) {
      if (!q.dark(row, col)) {
        col++;
        continue;
      }
      let end = col;
      while (end < q.size && q.dark(row, end)) end++;
      d += 'M' + (col + QR_QUIET) + ' ' + (row + QR_QUIET) + 'h' + (end - col) + 'v1h-' + (end - col) + 'z';
      col = end;
    }
  }
  return d;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const MONO = "'DejaVu Sans Mono', Menlo, Consolas, 'Courier New', monospace";
const SANS = "'DejaVu Sans', Helvetica, Arial, sans-serif";

/** One text line; squeezed to `width` (mm) if its estimated width (`em` × font size per character) would overflow. */
function text(x: number, y: number, size: number, value: string, width: number, attrs: string, em: number): string {
  const fit = value.length * size * em > width ? ' textLength="' + width + '" lengthAdjust="spacingAndGlyphs"' : '';
  return '<text x="' + x + '" y="' + y + '" font-size="' + size + '"' + fit + ' ' + attrs + '>' + xml(value) + '</text>';
}

function fixed(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/**
 * labels.svg: the printable sheet, A4 pages of SHEET.columns × SHEET.rows labels, stacked in one
 * SVG document (one A4 page after another: print at 100 % scale, no margins). Each label shows
 * the model, the serial, the default password in a monospace font, a QR code of the setup URL
 * (the setup key in its fragment), the setup access point's name and passphrase, the setup key
 * for typing, and the page's address.
 */
export function labelSheetSvg(labels: LabelRecord[]): string {
  const s = SHEET;
  const perPage = s.columns * s.rows;
  const pages = Math.max(1, Math.ceil(labels.length / perPage));
  const height = s.pageHeight * pages;
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    '<svg xmlns="http://www.w3.org/2000/svg" width="' + s.pageWidth + 'mm" height="' + height + 'mm" viewBox="0 0 ' + s.pageWidth + ' ' + height + '">',
  );
  out.push('<style>@page { size: A4; margin: 0 } text { fill: #000 } .pw { font-weight: bold }</style>');
  const qrs: { [url: string]: { path: string; size: number } } = {};
  for (let p = 0; p < pages; p++) {
    out.push('<g class="page" transform="translate(0 ' + s.pageHeight * p + ')">');
    out.push('<rect width="' + s.pageWidth + '" height="' + s.pageHeight + '" fill="#fff"/>');
    for (let i = p * perPage; i < Math.min(labels.length, (p + 1) * perPage); i++) {
      const l = labels[i]!;
      const at = i - p * perPage;
      const x = s.left + (at % s.columns) * s.columnPitch;
      const y = s.top + Math.floor(at / s.columns) * s.rowPitch;
      if (!qrs[l.setupUrl]) {
        const m = qrMatrix(l.setupUrl);
        qrs[l.setupUrl] = { path: qrPath(m), size: m.size + 2 * QR_QUIET };
      }
      const qr = qrs[l.setupUrl]!;
      const qx = s.labelWidth - s.qrSide - 1.5;
      const textWidth = qx - 3;
      out.push('<g class="label" transform="translate(' + fixed(x) + ' ' + fixed(y) + ')">');
      out.push('<rect class="outline" x="0.2" y="0.2" width="' + (s.labelWidth - 0.4) + '" height="' + fixed(s.labelHeight - 0.4) + '" rx="2" fill="none" stroke="#bbb" stroke-width="0.2"/>');
      out.push(text(3, 7, 3.4, l.model, textWidth, 'font-family="' + SANS + '" font-weight="bold"', 0.62));
      out.push(text(3, 11.5, 2.2, 'Serial', textWidth, 'font-family="' + SANS + '"', 0.6));
      out.push(text(3, 15, 2.8, l.serial, textWidth, 'class="serial" font-family="' + MONO + '"', 0.6));
      out.push(text(3, 20.5, 2.2, 'Default password', textWidth, 'font-family="' + SANS + '"', 0.6));
      out.push(text(3, 25, 3.4, l.defaultPassword, textWidth, 'class="pw" font-family="' + MONO + '"', 0.6));
      out.push(
        '<path class="qr" fill="#000" transform="translate(' + fixed(qx) + ' 1.5) scale(' + fixed(s.qrSide / qr.size) + ')" d="' + qr.path + '"/>',
      );
      out.push(text(3, 29.3, 2.2, 'Wi-Fi ' + l.setupAp.ssid + '  ' + l.setupAp.passphrase, s.labelWidth - 6, 'class="ap" font-family="' + MONO + '"', 0.6));
      out.push(text(3, 32.7, 2.2, 'Setup key ' + l.setupKey.replace(/(.{5})(?=.)/g, '$1-'), s.labelWidth - 6, 'class="key" font-family="' + MONO + '"', 0.6));
      out.push(text(3, 36.1, 2.2, 'Setup: ' + l.setupUrl.replace(/#.*$/, ''), s.labelWidth - 6, 'class="url" font-family="' + SANS + '"', 0.55));
      out.push('</g>');
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

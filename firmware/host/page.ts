import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './build';

/**
 * The admin page (modules/admin-page): page.ts bundled (IIFE, minified, ES2017 for the browsers a
 * LAN admin uses) and inlined into page.html with its style, one self-contained document, then
 * gzipped for the assets partition (the device serves it as is, `Content-Encoding: gzip`).
 * The page's own Content-Security-Policy (a meta element) allows exactly this script and this
 * style by their SHA-256 (CSP Level 3 hash sources); the device adds the directives a meta
 * element cannot carry (modules/admin-page/index.ts). The output depends on the sources only:
 * the same sources and the same Node.js give the same bytes (gzip's header has no time stamp,
 * no name and no build platform).
 */

export interface Page {
  html: Uint8Array;
  gzip: Uint8Array;
}

const DIR = join(ROOT, 'modules/admin-page');

/** CSP hash source of an inline element's text (CSP Level 3 §8.4: the UTF-8 bytes as written). */
export function cspHash(text: string): string {
  return "'sha256-" + createHash('sha256').update(text, 'utf8').digest('base64') + "'";
}

/** Builds the page: the HTML document and its gzip. */
export async function buildPage(): Promise<Page> {
  const bundle = await build({
    entryPoints: [join(DIR, 'page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2017',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  });
  // "</script" inside the script would end the element early: esbuild escapes it in strings, and
  // the check below makes sure nothing else does.
  const script = bundle.outputFiles[0]!.text.trim();
  if (/<\/script/i.test(script) || /<!--/.test(script)) throw new Error('page: the bundled script contains "</script" or "<!--"');
  const template = readFileSync(join(DIR, 'page.html'), 'utf8');
  const style = /<style>([\s\S]*?)<\/style>/.exec(template);
  if (!style) throw new Error('page: page.html has no <style> element');
  let html = template;
  for (const [name, value] of [
    ['{{SCRIPT_HASH}}', cspHash(script).slice(1, -1)],
    ['{{STYLE_HASH}}', cspHash(style[1]!).slice(1, -1)],
    ['{{SCRIPT}}', script],
  ] as const) {
    if (html.split(name).length !== 2) throw new Error('page: page.html must hold ' + name + ' once');
    // A function replacement: "$&" and its kin in the script must stay as they are.
    html = html.replace(name, () => value);
  }
  const bytes = new TextEncoder().encode(html);
  const gzip = new Uint8Array(gzipSync(bytes, { level: 9 }));
  // RFC 1952 §2.3.1: the OS byte is zlib's build platform; "unknown" makes it the same everywhere.
  gzip[9] = 255;
  return { html: bytes, gzip: gzip };
}

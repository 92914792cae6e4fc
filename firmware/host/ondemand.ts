import { build as esbuild, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProfile, formatViolations } from './profile';
import { messageCollector } from './strings';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Code read from flash on demand (Kaluma): a module whose code a running image needs only now and
 * then (the update worker, the setup access point) is kept out of the image's bundle, and bundled
 * on its own as strict text whose value is its export (`onDemandText`), written into the image's
 * assets; core/code.ts evaluates it when it is needed. JerryScript keeps the bytecode of everything
 * the program parses in its heap while the program runs, so this is the difference between a module
 * that costs heap always and one that costs it while it works (its literals excepted, which the
 * heap keeps once parsed: hence its messages stay in flash).
 *
 * Each entry: the file the image imports (`stub`), replaced in a Kaluma bundle by a function that
 * loads asset `id`; the module bundled into that asset (`entry`), and the export the text yields.
 */
export interface OnDemand {
  /** Path of the file, relative to the repository, that the Kaluma build replaces (none: only the loader loads it). */
  stub?: string;
  /** The replacement's source: it must export what the stub exports. */
  replacement?: string;
  /** Asset id (firmware/device/core/assets.ts). */
  id: number;
  entry: string;
  exportName: string;
}

export const ON_DEMAND: OnDemand[] = [
  {
    stub: 'modules/ota/worker-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function updateWorker(assets) { return loadCode(assets, 5); }',
    ].join('\n'),
    id: 5,
    entry: 'modules/ota/worker.ts',
    exportName: 'createWorker',
  },
  {
    stub: 'modules/accounts/password-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function passwordCheck(assets) { return loadCode(assets, 6); }',
    ].join('\n'),
    id: 6,
    entry: 'modules/accounts/password-check.ts',
    exportName: 'passwordTools',
  },
  {
    stub: 'modules/accounts/scram-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function scramCode(assets) { return loadCode(assets, 7); }',
    ].join('\n'),
    id: 7,
    entry: 'modules/accounts/scram-server.ts',
    exportName: 'scramServer',
  },
  // The Kaluma loader's check of a received slot (boards/kaluma-pico-w/loader.ts): no image loads it.
  { id: 8, entry: 'modules/ota/slot-check.ts', exportName: 'loaderCheck' },
  {
    stub: 'boards/kaluma-pico-w/tcp-client-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function tcpClient(assets) { return loadCode(assets, 9); }',
    ].join('\n'),
    id: 9,
    entry: 'boards/kaluma-pico-w/tcp-client.ts',
    exportName: 'picoConnect',
  },
  // The Wi-Fi module's setup code: the setup access point and the credentials' PUT (a unit being set up).
  {
    stub: 'modules/network/wifi-setup-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function wifiSetup(assets) { return loadCode(assets, 10); }',
    ].join('\n'),
    id: 10,
    entry: 'modules/network/wifi-setup.ts',
    exportName: 'wifiSetup',
  },
  // The smart plug's schedule parser (PUT /api/relay/schedule).
  {
    stub: 'examples/smart-plug/schedule-code.ts',
    replacement: [
      "import { loadCode } from " + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
      'export function scheduleCode(assets) { return loadCode(assets, 11); }',
    ].join('\n'),
    id: 11,
    entry: 'examples/smart-plug/schedule-input.ts',
    exportName: 'scheduleInput',
  },
  // The factory wipe's work (a unit runs it once in its life, when a wipe is asked for or resumed).
  {
    stub: 'modules/wipe/work-code.ts',
    replacement: [
      // loadCode itself: the module's callers pass the id (no function of its own in the image).
      'export { loadCode as wipeWork } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
    ].join('\n'),
    id: 12,
    entry: 'modules/wipe/work.ts',
    exportName: 'wipeWorkCode',
  },
  // The security log's reader (GET /api/log, /api/security) and its forget (a factory wipe's task).
  {
    stub: 'modules/audit/read-code.ts',
    replacement: [
      // loadCode itself: the module's callers pass the id (no function of its own in the image).
      'export { loadCode as auditRead } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';',
    ].join('\n'),
    id: 13,
    entry: 'modules/audit/read.ts',
    exportName: 'auditReader',
  },
];

/** The esbuild plugin that swaps each stub for its loader (Kaluma images only). */
export function onDemandPlugin(): Plugin {
  return {
    name: 'hoshi-on-demand',
    setup(build) {
      for (const o of ON_DEMAND) {
        if (!o.stub) continue;
        const file = join(ROOT, o.stub);
        build.onLoad({ filter: new RegExp(file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + '$') }, () => ({ contents: o.replacement, loader: 'js', resolveDir: ROOT }));
      }
    },
  };
}

/**
 * The asset's text: `o.entry` bundled for Kaluma as strict code whose completion value is its export
 * `o.exportName`. It is bundled as a module and its closing `export` clause becomes that value, so
 * no module object is made (the IIFE form would add esbuild's export helpers and a getter per
 * export, and leave their names among the literals JerryScript keeps); evaluated as strict code,
 * its declarations stay inside the evaluation.
 *
 * Its messages (firmware/host/strings.ts: reasons, log lines, errors' texts) would stay in
 * JerryScript's heap for good once the text is parsed, as every literal does. So the code that an
 * image's `loadCode` reads (an entry with a stub) keeps them out of its code: the text starts with a
 * comment holding them one after the other (`/*…*\/`, which the parser skips without keeping
 * anything), each message is a call `__hm(offset, length)` of where it lies in the asset, and the
 * value is a function of the assets and the asset's offset, which reads the messages from there and
 * returns the export (core/code.ts `loadCode` calls it). The loader's slot check (asset 8), which
 * loaders already on units evaluate, keeps its literals and its form.
 */
export async function onDemandText(o: OnDemand, options: BuildOptions): Promise<string> {
  const messages = o.stub ? messageCollector(ROOT) : undefined;
  const result = await esbuild({
    ...options,
    outfile: undefined,
    banner: undefined,
    entryPoints: undefined,
    stdin: { contents: 'export { ' + o.exportName + ' } from ' + JSON.stringify(join(ROOT, o.entry)) + ';', resolveDir: ROOT, sourcefile: 'hoshi-on-demand.ts', loader: 'ts' },
    format: 'esm',
    write: false,
    sourcemap: false,
    plugins: messages ? [messages.plugin] : [],
  });
  const code = result.outputFiles![0]!.text.trim();
  const end = new RegExp('export\\s*\\{\\s*(?:([\\w$]+)\\s+as\\s+)?' + o.exportName + '\\s*\\};?$').exec(code);
  if (!end) throw new Error('on-demand code ' + o.entry + ': the bundle does not end with the export clause of ' + o.exportName);
  const value = end[1] ?? o.exportName;
  let body = code.slice(0, end.index);
  if (!messages) return "'use strict';" + body + value + ';';
  // The collector numbers the messages in the order the code uses them and gives their table; it
  // takes a bundle with the build's placeholder under a first line of its own, as an image's.
  const done = messages.finish("'use strict';\n'hoshi-messages-build';\n" + body);
  const list = done.table ? tableStrings(done.table) : [];
  if (done.table) body = done.code.slice(done.code.indexOf('\n', done.code.indexOf('\n') + 1) + 1);
  const spans: [number, number][] = [];
  let at = 2;
  for (const m of list) {
    if (m.includes('*/')) throw new Error('on-demand code ' + o.entry + ': a message holds "*/": ' + m);
    spans.push([at, m.length]);
    at += m.length;
  }
  body = body.replace(/__hm\((\d+)\) */g, (_call, k: string) => '__hm(' + spans[Number(k)]![0] + ',' + spans[Number(k)]![1] + ')');
  if (/__hm(?!\(\d+,\d+\))|\b__[ao]\b/.test(body)) throw new Error('on-demand code ' + o.entry + ': __hm, __a or __o is used other than for the messages');
  // core/code.ts passes the assets and the asset's offset.
  return '/*' + list.join('') + "*/'use strict';(function(__a,__o){function __hm(t,n){return String.fromCharCode.apply(null,__a.read(__o+t,n))}" + body + 'return ' + value + '})';
}

/** The strings of a message table (firmware/host/strings.ts: id u32, count u16, count + 1 offsets u16, the strings). */
function tableStrings(table: Uint8Array): string[] {
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const n = v.getUint16(4, true);
  const base = 6 + 2 * (n + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(table.subarray(base + v.getUint16(6 + 2 * i, true), base + v.getUint16(8 + 2 * i, true))).toString('latin1'));
  return out;
}

/** The on-demand assets of each Kaluma image built in this process, by its code (the engine check loads them as `hoshi flash` writes them). */
export const ON_DEMAND_OF = new Map<string, { id: number; bytes: Uint8Array }[]>();

let texts: Promise<{ id: number; bytes: Uint8Array }[]> | undefined;

/** The on-demand assets (the same for every Kaluma image: built once per process), recorded for `code`. */
export async function onDemandAssets(code: string, options: BuildOptions): Promise<{ id: number; bytes: Uint8Array }[]> {
  texts ??= Promise.all(
    ON_DEMAND.map(async (o) => {
      const text = await onDemandText(o, options);
      // Device code like the image: the same profile check (no source map: the image's own check names sources).
      const report = checkProfile(text, 'kaluma');
      if (report.violations.length) throw new Error('on-demand code ' + o.entry + ' is outside the kaluma profile:\n' + formatViolations(report));
      return { id: o.id, bytes: new Uint8Array(Buffer.from(text, 'latin1')) };
    }),
  );
  const entries = await texts;
  ON_DEMAND_OF.set(code, entries);
  return entries;
}

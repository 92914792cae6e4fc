import { build as esbuild, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProfile, formatViolations } from './profile';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Code read from flash on demand (Kaluma): a module whose code a running image needs only now and
 * then (the update worker) is kept out of the image's bundle, and bundled on its own as the text of
 * one strict expression, written into the image's assets; core/code.ts evaluates it when it is
 * needed. JerryScript keeps the bytecode of everything the program parses in its heap while the
 * program runs, so this is the difference between a module that costs heap always and one that
 * costs it while it works.
 *
 * Each entry: the file the image imports (`stub`), replaced in a Kaluma bundle by a function that
 * loads asset `id`; the module bundled into that asset (`entry`), and the export the expression yields.
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
 * The asset's text: `o.entry` bundled for Kaluma as one strict expression whose value is its export
 * `o.exportName` (the esbuild IIFE's result, read without declaring anything global).
 */
export async function onDemandText(o: OnDemand, options: BuildOptions): Promise<string> {
  const result = await esbuild({
    ...options,
    stdin: undefined,
    outfile: undefined,
    banner: undefined,
    entryPoints: [join(ROOT, o.entry)],
    format: 'iife',
    globalName: '__hoshi_code',
    write: false,
    sourcemap: false,
  });
  const code = result.outputFiles![0]!.text.trim();
  // "var __hoshi_code=(()=>{…})();" evaluated as strict code keeps the var inside the evaluation.
  return "'use strict';" + code + (code.endsWith(';') ? '' : ';') + '__hoshi_code.' + o.exportName;
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

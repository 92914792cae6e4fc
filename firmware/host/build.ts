import { build as esbuild, type BuildOptions } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { messageCollector, MESSAGES_OF } from './strings';
import { onDemandAssets, onDemandPlugin } from './ondemand';
import { gzipSync } from 'node:zlib';
import { defineImage, type Image } from '../device/image';
import { PROFILES, type Target } from './profiles';

/**
 * Image composition and bundling: `hoshi build <example> --target kaluma|espruino|host`.
 *
 * A device image is one self-contained script (Kaluma's require() loads built-in modules only;
 * Espruino evaluates one file): esbuild bundles the example's image with the target's board and
 * the boot sequence. Device bundles are not lowered (target esnext): device code is written in
 * the subset both runtimes run, and the profile check enforces it on the output. Minification is
 * whitespace and identifiers only: syntax minification has produced wrong code on Espruino.
 * Source maps stay on the host and map profile-check findings back to the source.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Manifest {
  description: string;
  entry: string;
  boards: { [target in Target]?: string };
  /** The host simulator's inputs for `hoshi start` (e.g. a sensor's analog level). */
  simulator?: { analog?: { [pin: string]: number } };
}

export interface BuildResult {
  example: string;
  target: Target;
  board: string;
  file: string;
  mapFile: string;
  code: string;
  map: string;
  /** Kaluma: the message table that goes into the assets with this image (core/messages.ts). */
  messages?: Uint8Array;
  /** Kaluma: the code read from the assets on demand (firmware/host/ondemand.ts), one asset each. */
  onDemand?: { id: number; bytes: Uint8Array }[];
  bytes: number;
  gzipBytes: number;
}

export function readManifest(example: string): Manifest {
  const path = join(ROOT, 'examples', example, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new Error('example ' + example + ': cannot read ' + relative(ROOT, path) + ' (' + (error as Error).message + ')');
  }
  if (typeof manifest.entry !== 'string' || typeof manifest.boards !== 'object') throw new Error('example ' + example + ': manifest needs entry and boards');
  return manifest;
}

/** esbuild options shared by every device bundle. */
export function deviceOptions(target: 'kaluma' | 'espruino'): BuildOptions {
  return {
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'neutral',
    target: 'esnext',
    mainFields: ['module', 'main'],
    minifyWhitespace: true,
    minifyIdentifiers: true,
    minifySyntax: false,
    legalComments: 'none',
    charset: 'ascii',
    sourcemap: 'external',
    sourceRoot: '',
    logLevel: 'silent',
    // Built-in modules of the runtime stay require() calls; host-only node: modules are left in so
    // the profile check reports them with their source location instead of a bundler error.
    external: PROFILES[target].builtinModules.concat(['node:*']),
    banner: target === 'kaluma' ? { js: "'use strict';" } : undefined,
    // Statements labelled HOSHI_HOST run on the host only (tests, the simulator, the host target):
    // the configuration checks of firmware/device/image.ts, which buildImage runs on the host
    // instead, and the one that keeps boot's binding on the host (firmware/device/boot.ts).
    // Statements labelled KALUMA_ONLY stay in Kaluma bundles (and on the host) only: what pays on
    // JerryScript's heap but costs Espruino time (core/crc32.ts).
    dropLabels: target === 'kaluma' ? ['HOSHI_HOST'] : ['HOSHI_HOST', 'KALUMA_ONLY'],
  };
}

/**
 * Bundles `entrySource` (TypeScript, resolved from `resolveDir`) for a device target.
 * Returns the code and its source map with paths relative to the repository.
 */
export async function bundleDevice(entrySource: string, resolveDir: string, target: 'kaluma' | 'espruino', outFile: string, withMessages: boolean | 'messages' = false, extra: BuildOptions = {}): Promise<{ code: string; map: string; messages?: Uint8Array; onDemand?: { id: number; bytes: Uint8Array }[] }> {
  // A Kaluma image's messages go to a table in the assets (firmware/host/strings.ts), and the code
  // it needs only now and then to assets of their own (firmware/host/ondemand.ts); library
  // bundles (tests, benchmarks) keep both. The Kaluma loader ('messages') moves its messages only.
  const messagesOf = withMessages && target === 'kaluma' ? messageCollector(ROOT) : undefined;
  const onDemand = messagesOf !== undefined && withMessages === true;
  const used = new Set<number>();
  const result = await esbuild({
    ...deviceOptions(target),
    ...extra,
    plugins: (extra.plugins ?? []).concat(messagesOf ? (onDemand ? [onDemandPlugin(used), messagesOf.plugin] : [messagesOf.plugin]) : []),
    stdin: { contents: entrySource, resolveDir, sourcefile: 'hoshi-entry.ts', loader: 'ts' },
    outfile: outFile,
  });
  let code = '';
  let map = '';
  for (const f of result.outputFiles ?? []) {
    if (f.path.endsWith('.map')) map = f.text;
    else code = f.text;
  }
  let messages: Uint8Array | undefined;
  if (messagesOf) ({ code, table: messages } = messagesOf.finish(code));
  // A Kaluma bundle without a table (tests, benchmarks) still declares the messages' global that
  // core/messages.ts names (its code that sets it never runs there).
  else if (target === 'kaluma' && /\b__hm\b/.test(code)) code = code.replace(/^'use strict';/, "'use strict';var __hm;");
  if (messages) MESSAGES_OF.set(code, messages);
  const codeAssets = onDemand ? await onDemandAssets(code, deviceOptions('kaluma'), used) : undefined;
  const parsed = JSON.parse(map) as { sources: string[] };
  parsed.sources = parsed.sources.map((s) => relative(ROOT, resolve(dirname(outFile), s)));
  return { code, map: JSON.stringify(parsed), messages, onDemand: codeAssets };
}

function entryFor(example: string, manifest: Manifest, target: Target, board: string, firmwareVersion?: string): string {
  const image = JSON.stringify(join(ROOT, 'examples', example, manifest.entry));
  // A release's version (buildImage `overrides`): set on the image before it boots.
  const version = firmwareVersion === undefined ? [] : ['image.config.firmwareVersion = ' + JSON.stringify(firmwareVersion) + ';'];
  if (target === 'host') {
    return [
      'import image from ' + image + ';',
      'import { runImage } from ' + JSON.stringify(join(ROOT, 'firmware/host/run.ts')) + ';',
      "import { readFileSync } from 'node:fs';",
      ...version,
      // The assets built with the image (assets.bin beside it), as `hoshi flash` writes them with a device image.
      "runImage(image, process.argv.slice(2), {}, new Uint8Array(readFileSync(new URL('./assets.bin', import.meta.url))));",
    ].join('\n');
  }
  return [
    'import { createBoard } from ' + JSON.stringify(join(ROOT, 'boards', board, 'board.ts')) + ';',
    'import image from ' + image + ';',
    'import { boot } from ' + JSON.stringify(join(ROOT, 'firmware/device/boot.ts')) + ';',
    ...version,
    'boot(createBoard(), image);',
  ].join('\n');
}

/**
 * Imports an image module (an example's `image.ts`) on the host and checks its configuration:
 * a bad configuration throws here, at build time, naming the field.
 */
export async function loadImage(file: string): Promise<Image> {
  const module = (await import(pathToFileURL(file).href)) as { default: Image };
  return defineImage(module.default);
}

/** Boards of each device target besides the manifest's own (another board of the same runtime). */
export const BOARDS_OF: { [target in Target]: string[] } = {
  kaluma: ['kaluma-pico-w', 'kaluma-pico'],
  espruino: ['espruino-esp32'],
  host: ['host'],
};

/**
 * Builds `example` for `target` with the manifest's board, or with `boardOverride` (another board
 * of the same runtime, e.g. kaluma-pico): dist/<example>/<target>/, or dist/<example>/<board>/ for another board.
 * `overrides.firmwareVersion`: the version the built image reports instead of its configuration's
 * (a release's, `hoshi release --version`): MAJOR.MINOR.PATCH.
 */
export async function buildImage(example: string, target: Target, outDir = join(ROOT, 'dist'), boardOverride?: string, overrides?: { firmwareVersion?: string }): Promise<BuildResult> {
  const firmwareVersion = overrides?.firmwareVersion;
  if (firmwareVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(firmwareVersion)) throw new Error('overrides.firmwareVersion: must be MAJOR.MINOR.PATCH');
  const manifest = readManifest(example);
  const board = boardOverride ?? manifest.boards[target];
  if (!board) throw new Error('example ' + example + ' declares no board for target ' + target + ' (manifest.json "boards")');
  if (!BOARDS_OF[target].includes(board)) throw new Error('board ' + board + ' does not run ' + target + ' (boards: ' + BOARDS_OF[target].join(', ') + ')');
  // The configuration is checked here, on the host, for every target: device bundles do not carry
  // the checks (firmware/device/image.ts), so `hoshi flash` and the engine check rely on this.
  await loadImage(join(ROOT, 'examples', example, manifest.entry));
  const dir = join(outDir, example, boardOverride && boardOverride !== manifest.boards[target] ? board : target);
  mkdirSync(dir, { recursive: true });
  const entry = entryFor(example, manifest, target, board, firmwareVersion);
  let code: string;
  let map: string;
  let messages: Uint8Array | undefined;
  let onDemand: { id: number; bytes: Uint8Array }[] | undefined;
  const file = join(dir, target === 'host' ? 'image.mjs' : 'app.js');
  if (target === 'host') {
    const result = await esbuild({
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'external',
      logLevel: 'silent',
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'hoshi-entry.ts', loader: 'ts' },
      outfile: file,
    });
    code = result.outputFiles.find((f) => !f.path.endsWith('.map'))!.text;
    map = result.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
    code += '//# sourceMappingURL=image.mjs.map\n';
  } else {
    ({ code, map, messages, onDemand } = await bundleDevice(entry, ROOT, target, file, true));
    if (messages) writeFileSync(join(dir, 'messages.bin'), messages);
  }
  writeFileSync(file, code);
  writeFileSync(file + '.map', map);
  // Imported here, not at the top: assets.ts reaches page.ts, which imports ROOT from this file.
  if (target === 'host') writeFileSync(join(dir, 'assets.bin'), await (await import('./assets')).buildAssets());
  return {
    example,
    target,
    board,
    file,
    mapFile: file + '.map',
    code,
    map,
    messages,
    onDemand,
    bytes: Buffer.byteLength(code),
    gzipBytes: gzipSync(code, { level: 9 }).length,
  };
}

/**
 * The host slot app of `example` (docs/formats/update.md §3, target host): the app text of a host
 * update payload. One ES module, everything bundled but Node's built-ins (the simulator imports it
 * from a data: URL, where only those resolve), ASCII, exporting `start(board, ready, port?)`, which
 * boots the bundled image on the board the simulator's loader made (firmware/device/boot.ts) and
 * returns the Device; `port` replaces the image's HTTP port. `overrides.firmwareVersion` replaces
 * the image's version (a release's). Written to dist/<example>/host/slot-app.mjs for inspection.
 * `example` may instead name an image module (`{ image: path }`, e.g. a test fixture).
 */
export async function buildHostSlotApp(example: string | { image: string }, overrides: { firmwareVersion?: string } = {}, outDir = join(ROOT, 'dist')): Promise<{ code: string; image: Image }> {
  // `{ image }`: an image module of its own (a test fixture), written to dist/<its name>/host/.
  let entryFile: string;
  let name: string;
  if (typeof example === 'string') {
    const manifest = readManifest(example);
    if (!manifest.boards.host) throw new Error('example ' + example + ' declares no board for target host (manifest.json "boards")');
    entryFile = join(ROOT, 'examples', example, manifest.entry);
    name = example;
  } else {
    entryFile = resolve(ROOT, example.image);
    name = basename(entryFile).replace(/\.[cm]?[jt]s$/, '');
  }
  const loaded = await loadImage(entryFile);
  const version = overrides.firmwareVersion;
  if (version !== undefined && !/^\d+\.\d+\.\d+$/.test(version)) throw new Error('firmwareVersion: must be MAJOR.MINOR.PATCH');
  const image: Image = version === undefined ? loaded : { ...loaded, config: { ...loaded.config, firmwareVersion: version } };
  const entry = [
    'import image from ' + JSON.stringify(entryFile) + ';',
    'import { boot } from ' + JSON.stringify(join(ROOT, 'firmware/device/boot.ts')) + ';',
    'const version = ' + JSON.stringify(version ?? null) + ';',
    'export function start(board, ready, port) {',
    '  let config = image.config;',
    '  if (version !== null) config = { ...config, firmwareVersion: version };',
    '  if (port !== undefined) config = { ...config, interfaces: { ...config.interfaces, http: { ...config.interfaces.http, port } } };',
    '  return boot(board, { ...image, config }, ready);',
    '}',
  ].join('\n');
  const dir = join(outDir, name, 'host');
  const file = join(dir, 'slot-app.mjs');
  const result = await esbuild({
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    charset: 'ascii',
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'silent',
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'hoshi-slot-app.ts', loader: 'ts' },
    outfile: file,
  });
  const code = result.outputFiles[0]!.text;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, code);
  return { code, image };
}

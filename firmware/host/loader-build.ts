import { parse, type Node } from 'acorn';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BOARDS_OF, bundleDevice, loadImage, readManifest, ROOT } from './build';
import { packParts } from './ondemand';
import { checkProfile, formatViolations, type ProfileReport } from './profile';
import type { FactoryImage } from './serial/kaluma';
import type { DeviceTarget } from './profiles';
import { Boot, encodeBootRecord, factoryRecord } from '../device/core/bootctl';

/**
 * The fixed loader's bundle (docs/formats/update.md §7): each runtime's loader entry
 * (boards/<board>/loader.ts over firmware/device/loader.ts) bundled as device images are
 * (bundleDevice: the same esbuild settings, the runtime's built-in modules left as require()),
 * then checked against the runtime's profile. The loader is the one bundle allowed to make code
 * from text (eval, Function: profile rule 'code-evaluation'): it evaluates the slot's app text.
 * `hoshi flash` writes it into Kaluma's program area or Espruino's `.bootcde`.
 */

// eslint-style escape hatch for acorn's untyped node fields.
type AnyNode = Node & { [key: string]: any };

/** The loader entry of each board: the Pico shares the Pico W's (the same flash map). */
export const LOADER_ENTRY: { [board: string]: string } = {
  'kaluma-pico-w': 'boards/kaluma-pico-w/loader.ts',
  'kaluma-pico': 'boards/kaluma-pico-w/loader.ts',
  'espruino-esp32': 'boards/espruino-esp32/loader.ts',
};

/**
 * The last statement of Espruino's loader, at the top level of `.bootcde`: evaluates the slot's app
 * text that `run` named (boards/espruino-esp32/loader.ts), the image's names then globals; an image
 * that throws while it boots goes to the loader's `crashed`.
 */
export const ESPRUINO_TAIL = 'if (global.__hoshiBoot) {\n  try {\n    eval(require("Storage").read(global.__hoshiBoot.file, global.__hoshiBoot.offset, global.__hoshiBoot.app));\n  } catch (e) {\n    global.__hoshiBoot.crashed(e);\n  }\n  global.__hoshiBoot = undefined;\n}\n';

/**
 * The last statement of Kaluma's loader, after its function (boards/kaluma-pico-w/loader.ts says
 * why): boots the image `run` named (`global.__hoshiBoot`: the slot, its sectors, the app text's
 * length). Its text is read from the slot's payload (offset 4096, §4) and decoded with TextDecoder's
 * default "utf-8" (src/global.c: jerry_create_string_sz_from_utf8, reading only inside the text);
 * a text in parts (`partedText`) is made one function per part, each part's text dropped before the
 * next is read, any other text one function; all are made before any runs, then each runs with
 * `this` the global object. An image that throws while it compiles or boots is handed to the
 * loader's `crashed` (boards/kaluma-pico-w/loader.ts: logged, its deadline cleared, the device
 * rebooted), as firmware/device/loader.ts does.
 */
export const KALUMA_TAIL = [
  '(function (b) {',
  '  if (!b) return;',
  '  global.__hoshiBoot = undefined;',
  '  try {',
  "    var f = new (require('flash').Flash)(b.sector, b.count), d = new TextDecoder(), p = [], a, i, n;",
  '    var t = function (at, n) { var u = new Uint8Array(n); f.read((4096 + at) >> 12, u, (4096 + at) & 4095); return d.decode(u); };',
  '    var h = t(0, b.app < 512 ? b.app : 512);',
  "    if (h.slice(0, 8) === '/*parts:') {",
  "      var e = h.indexOf('*/'), l = e < 0 ? [] : h.slice(8, e).split(',');",
  '      for (a = e + 3, i = 0; i < l.length; i++) {',
  '        n = +l[i];',
  '        if (!(n > 0) || a + n > b.app) break;',
  '        p.push(new Function(t(a, n)));',
  '        a += n;',
  '      }',
  "      if (i !== l.length || a !== b.app) throw new Error('bad part table');",
  '    } else p.push(new Function(t(0, b.app)));',
  '    f = d = t = h = l = undefined;',
  '    for (i = 0; i < p.length; i++) {',
  '      n = p[i];',
  '      p[i] = undefined;',
  '      n.call(global);',
  '    }',
  '  } catch (e) {',
  '    b.crashed(e);',
  '  }',
  '})(global.__hoshiBoot);',
  '',
].join('\n');

/**
 * Properties no code outside the loader's bundle reads (firmware/device/loader.ts LoaderHooks): the
 * Kaluma build shortens them. The boot record, the slots, the handle and `global.__hoshiBoot`
 * cross to the image and to the slot check (asset 8), and keep their names.
 */
const LOADER_PRIVATE = /^(confirmWithinMs|restartAfterVerify|setTimer|clearTimer)$/;

/** What the loader bundle may do that an image may not. */
export const LOADER_ALLOWS = ['code-evaluation' as const];

export interface LoaderBuild {
  target: DeviceTarget;
  board: string;
  file: string;
  code: string;
  map: string;
  bytes: number;
  gzipBytes: number;
  profile: ProfileReport;
}

/**
 * Bundles the loader of `board` (a board of `target`) into dist/loader/<board>/loader.js (and its
 * source map) and checks its profile; throws, naming each finding, if the check fails.
 */
export async function buildLoader(target: DeviceTarget, board: string = BOARDS_OF[target][0]!, outDir = join(ROOT, 'dist')): Promise<LoaderBuild> {
  if (!BOARDS_OF[target].includes(board)) throw new Error('board ' + board + ' does not run ' + target + ' (boards: ' + BOARDS_OF[target].join(', ') + ')');
  const entry = LOADER_ENTRY[board];
  if (!entry) throw new Error('board ' + board + ' has no loader');
  const dir = join(outDir, 'loader', board);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'loader.js');
  // Kaluma: the loader's messages in a table (firmware/host/strings.ts), written before its code,
  // and the names of the hooks only the loader's own code uses made short (each name of a parsed
  // text stays in JerryScript's heap, as its strings do).
  const bundle = await bundleDevice('import ' + JSON.stringify(join(ROOT, entry)) + ';', ROOT, target, file, target === 'kaluma' ? 'messages' : false, target === 'kaluma' ? { mangleProps: LOADER_PRIVATE } : {});
  let { code, map } = bundle;
  // The bundle in a function, so that its top-level names are not properties of the global object
  // (a script's are, for good): the image cannot reach them, and once it no longer references the
  // loader, the engine frees its code. On Kaluma the function's first statement is the bundle's
  // 'use strict', which makes it strict. A line is added before the bundle: the source map's lines
  // move by one.
  // After it, the statement that boots the image from what the loader's `run` set: Espruino's eval
  // at the top level of `.bootcde`, Kaluma's parts (each board's loader.ts says why).
  code = '(function () {\n' + code + '\n})();\n' + (target === 'espruino' ? ESPRUINO_TAIL : KALUMA_TAIL);
  const m = JSON.parse(map) as { mappings: string };
  m.mappings = ';' + m.mappings;
  if (target === 'kaluma') {
    code = kalumaLoaderText(code, bundle.messages);
    m.mappings = ';' + m.mappings;
  }
  map = JSON.stringify(m);
  const profile = checkProfile(code, target, map, { allow: LOADER_ALLOWS });
  if (profile.violations.length) throw new Error('loader: the ' + board + ' loader is outside the ' + target + ' profile:\n' + formatViolations(profile));
  writeFileSync(file, code);
  writeFileSync(file + '.map', map);
  return { target, board, file, code, map, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code, { level: 9 }).length, profile };
}

/**
 * The Kaluma loader's program text: a first line holding its message table (firmware/host/strings.ts
 * layout) as lower-case hex inside a comment (`/*` at offset 0, the hex from offset 2, then `*\/`),
 * then `code`. JerryScript keeps every literal of a parsed text until restart but skips a comment
 * without keeping anything; the loader reads the table back from the program area
 * (boards/kaluma-pico-w/loader.ts). Without messages, an empty comment.
 */
export function kalumaLoaderText(code: string, table: Uint8Array | undefined): string {
  const hex = table ? Buffer.from(table).toString('hex') : '';
  if (hex.length + 5 + code.length > 8 * 4096) throw new Error('loader: ' + (hex.length + 5 + code.length) + ' bytes do not fit the 32 KB the loader has in the program area');
  return '/*' + hex + '*/\n' + code;
}

/** What `hoshi flash` writes into slot A (§4): a 4 KB header with L = 0 (the factory image, trusted because the factory wrote it), then the payload. */
export function factorySlot(payload: Uint8Array): Uint8Array {
  const slot = new Uint8Array(Boot.SLOT_HEADER + payload.length).fill(0xff);
  slot.fill(0, 0, 4);
  slot.set(payload, Boot.SLOT_HEADER);
  return slot;
}

/**
 * The factory boot record (§5): seq 1, slot A active and good, holding `payload` (its size, its
 * app text's length, its SHA-256, the image's `version`, counter 0, no signer); slot B empty; the
 * counter floor 0; no key added or retired. 512 bytes.
 */
export function factoryBootRecord(payload: Uint8Array, app: number, version: string): Uint8Array {
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!v) throw new Error('boot record: the version ' + version + ' is not MAJOR.MINOR.PATCH');
  const r = factoryRecord();
  r.seq = 1;
  const a = r.slots[0]!;
  a.version = [Number(v[1]), Number(v[2]), Number(v[3])];
  a.size = payload.length;
  a.app = app;
  a.received = payload.length;
  a.digest = new Uint8Array(createHash('sha256').update(payload).digest());
  return encodeBootRecord(r);
}

/** The target a board runs. */
export function targetOf(board: string): DeviceTarget {
  for (const t of ['kaluma', 'espruino'] as const) if (BOARDS_OF[t].includes(board)) return t;
  throw new Error('board ' + board + ' runs neither kaluma nor espruino');
}

/**
 * What `hoshi flash <example> --board B` writes: the loader of `board`, slot A holding the factory
 * payload of `example` (firmware/host/payload.ts at the image's own version, its assets with it;
 * the image checked against the runtime's profile, each finding at its source line) and the
 * factory boot record. Builds in a temporary folder.
 */
export async function factoryImage(example: string, board: string): Promise<FactoryImage & { version: string; payload: Uint8Array; app: number }> {
  const target = targetOf(board);
  const manifest = readManifest(example);
  if (!manifest.boards[target]) throw new Error('flash: example ' + example + ' has no image for ' + target + ' boards');
  const version = (await loadImage(join(ROOT, 'examples', example, manifest.entry))).config.firmwareVersion;
  // A folder of its own: two builds at once (tests, two boards) must not read each other's files.
  const outDir = mkdtempSync(join(tmpdir(), 'hoshi-flash-'));
  let p: { payload: Uint8Array; app: number };
  try {
    const { buildPayload } = await import('./payload');
    p = await buildPayload(example, target, { version, board, outDir });
    // buildImage's folder: the target's, or the board's when it is not the manifest's.
    const dir = join(outDir, example, board === manifest.boards[target] ? target : board);
    const profile = checkProfile(readFileSync(join(dir, 'app.js'), 'utf8'), target, readFileSync(join(dir, 'app.js.map'), 'utf8'));
    if (profile.violations.length) throw new Error('flash: the image is outside the ' + target + ' profile:\n' + formatViolations(profile));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const loader = await buildLoader(target, board);
  return { loader: new Uint8Array(Buffer.from(loader.code, 'latin1')), slot: factorySlot(p.payload), record: factoryBootRecord(p.payload, p.app, version), version, payload: p.payload, app: p.app };
}

/**
 * A Kaluma image's app text in parts (docs/formats/update.md §3 keeps its bytes; this is its form):
 * Kaluma's loader cannot make one function of a whole image (the text, the parser and the bytecode
 * do not fit the heap together past ≈ 75 KB; JerryScript's out-of-memory is fatal), so it compiles
 * it a part of about `partBytes` at a time, each part's text dropped before the next is read, all
 * parts compiled before any runs, each run with `this` the global object
 * (boards/kaluma-pico-w/loader.ts). The image's top level is rewritten so that its names stay what
 * they are in a script, properties of the global object:
 *   - the first part sets every top-level name (`global.a=global.b=…=void 0`): they exist before
 *     any code runs;
 *   - then every function declaration, in order, as `name=function(…){…};` (hoisted, as a
 *     script's);
 *   - then the statements in order, `var a=e` as `a=e;`.
 * Each part starts with 'use strict';. The text begins with a line `/*parts:L0,L1,…*\/` (the parts'
 * byte lengths), and the whole is still a strict script that runs the same when loaded at once (the
 * engine check, Kaluma's program area). Top-level let, const and class are refused (bundles have
 * none). A part holds whole pieces: a piece longer than `partBytes` is a part of its own.
 */
export function partedText(code: string, partBytes = 4096): string {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as { body: AnyNode[] };
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string): void => {
    if (!seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
  };
  const functions: string[] = [];
  const statements: string[] = [];
  for (const st of ast.body) {
    if (st.directive === 'use strict') continue;
    if (st.type === 'FunctionDeclaration') {
      add(st.id.name);
      functions.push(st.id.name + '=' + code.slice(st.start, st.id.start) + code.slice(st.id.end, st.end) + ';');
    } else if (st.type === 'VariableDeclaration') {
      if (st.kind !== 'var') throw new Error('parts: top-level ' + st.kind + ' refused');
      for (const d of st.declarations) {
        if (d.id.type !== 'Identifier') throw new Error('parts: top-level destructuring refused');
        add(d.id.name);
        if (d.init) statements.push(d.id.name + '=' + code.slice(d.init.start, d.init.end) + ';');
      }
    } else if (st.type === 'ClassDeclaration') throw new Error('parts: top-level class refused');
    else {
      // A statement the bundle ended by a line break gets its semicolon (after a block it is an empty statement).
      const text = code.slice(st.start, st.end);
      statements.push(text.endsWith(';') ? text : text + ';');
    }
  }
  const parts = packParts([...(names.length ? ['global.' + names.join('=global.') + '=void 0;'] : []), ...functions, ...statements], partBytes);
  return '/*parts:' + parts.map((p) => p.length).join(',') + '*/\n' + parts.join('');
}

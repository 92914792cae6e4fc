import { parse, type Node } from 'acorn';
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

/** A stub's replacement: the export its callers name, bound to core/code.ts's reader of parts. */
function readInParts(name: string): string {
  return 'export { loadParts as ' + name + ' } from ' + JSON.stringify(join(ROOT, 'firmware/device/core/code.ts')) + ';';
}

export const ON_DEMAND: OnDemand[] = [
  {
    stub: 'modules/ota/worker-code.ts',
    replacement: readInParts('updateWorker'),
    id: 5,
    entry: 'modules/ota/worker.ts',
    exportName: 'createWorker',
  },
  {
    stub: 'modules/accounts/password-code.ts',
    replacement: readInParts('passwordCheck'),
    id: 6,
    entry: 'modules/accounts/password-check.ts',
    exportName: 'passwordTools',
  },
  {
    stub: 'modules/accounts/scram-code.ts',
    replacement: readInParts('scramCode'),
    id: 7,
    entry: 'modules/accounts/scram-server.ts',
    exportName: 'scramServer',
  },
  // The Kaluma loader's check of a received slot (boards/kaluma-pico-w/loader.ts): no image loads it.
  { id: 8, entry: 'modules/ota/slot-check.ts', exportName: 'loaderCheck' },
  {
    stub: 'boards/kaluma-pico-w/tcp-client-code.ts',
    replacement: readInParts('tcpClient'),
    id: 9,
    entry: 'boards/kaluma-pico-w/tcp-client.ts',
    exportName: 'picoConnect',
  },
  // The Wi-Fi module's setup code: the setup access point and the credentials' PUT (a unit being set up).
  {
    stub: 'modules/network/wifi-setup-code.ts',
    replacement: readInParts('wifiSetup'),
    id: 10,
    entry: 'modules/network/wifi-setup.ts',
    exportName: 'wifiSetup',
  },
  // The smart plug's schedule parser (PUT /api/relay/schedule).
  {
    stub: 'examples/smart-plug/schedule-code.ts',
    replacement: readInParts('scheduleCode'),
    id: 11,
    entry: 'examples/smart-plug/schedule-input.ts',
    exportName: 'scheduleInput',
  },
  // The factory wipe's work (a unit runs it once in its life, when a wipe is asked for or resumed).
  {
    stub: 'modules/wipe/work-code.ts',
    replacement: readInParts('wipeWork'),
    id: 12,
    entry: 'modules/wipe/work.ts',
    exportName: 'wipeWorkCode',
  },
  // The security log's reader (GET /api/log, /api/security) and its forget (a factory wipe's task).
  {
    stub: 'modules/audit/read-code.ts',
    replacement: readInParts('auditRead'),
    id: 13,
    entry: 'modules/audit/read.ts',
    exportName: 'auditReader',
  },
  // The store's writer: read at each commit (a setting, a password, the lockout's count) and at its open.
  {
    stub: 'modules/store/write-code.ts',
    replacement: readInParts('storeWriter'),
    id: 14,
    entry: 'modules/store/write.ts',
    exportName: 'storeWrite',
  },
];

/** The esbuild plugin that swaps each stub for its loader (Kaluma images only). */
export function onDemandPlugin(used?: Set<number>): Plugin {
  return {
    name: 'hoshi-on-demand',
    setup(build) {
      for (const o of ON_DEMAND) {
        if (!o.stub) continue;
        const file = join(ROOT, o.stub);
        build.onLoad({ filter: new RegExp(file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + '$') }, () => {
          // The image reads this code: its asset goes with the image.
          if (used) used.add(o.id);
          return { contents: o.replacement, loader: 'js', resolveDir: ROOT };
        });
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
 * image reads (an entry with a stub) keeps them out of its code: the text starts with a comment,
 * `/*parts:C,n,n,…;` (where the code starts, each part's length) then the messages one after the
 * other, and `*\/`; each message is a call `__hm(offset, length)` of where it lies among them. The
 * code follows in parts (`partedCode`): core/code.ts `loadParts` reads that head, then parses the
 * parts one at a time and runs each with the scope they share, the last one giving the export. The loader's slot
 * check (asset 8), which loaders already on units evaluate with `loadCode`, keeps its literals and
 * its form: one strict expression.
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
  if (!messages) {
    const plain = "'use strict';" + body + value + ';';
    const checked = checkProfile(plain, 'kaluma');
    if (checked.violations.length) throw new Error('on-demand code ' + o.entry + ' is outside the kaluma profile:\n' + formatViolations(checked));
    return plain;
  }
  // The collector numbers the messages in the order the code uses them and gives their table; it
  // takes a bundle with the build's placeholder under a first line of its own, as an image's.
  const done = messages.finish("'use strict';\n'hoshi-messages-build';\n" + body);
  const list = done.table ? tableStrings(done.table) : [];
  if (done.table) body = done.code.slice(done.code.indexOf('\n', done.code.indexOf('\n') + 1) + 1);
  // Each message's place: from the start of the messages (core/code.ts `loadParts` passes it).
  const spans: [number, number][] = [];
  let at = 0;
  for (const m of list) {
    if (m.includes('*/')) throw new Error('on-demand code ' + o.entry + ': a message holds "*/": ' + m);
    spans.push([at, m.length]);
    at += m.length;
  }
  body = body.replace(/__hm\((\d+)\) */g, (_call, k: string) => '__hm(' + spans[Number(k)]![0] + ',' + spans[Number(k)]![1] + ')');
  if (/__hm(?!\(\d+,\d+\))|\b__[aos]\b/.test(body)) throw new Error('on-demand code ' + o.entry + ': __hm, __a, __o or __s is used other than for the messages');
  // Device code like the image: the same profile check, on the code as one function (no source
  // map: the image's own check names sources).
  const whole = "'use strict';(function(__a,__o){function __hm(t,n){return String.fromCharCode.apply(null,__a.read(__o+t,n))}" + body + 'return ' + value + '})';
  const report = checkProfile(whole, 'kaluma');
  if (report.violations.length) throw new Error('on-demand code ' + o.entry + ' is outside the kaluma profile:\n' + formatViolations(report));
  // core/code.ts `loadParts` reads the parts one at a time, and passes each the scope it shares.
  const parts = partedCode(body, value, o.entry, { __hm: 'function(t,n){return String.fromCharCode.apply(null,__s.__a.read(__s.__o+t,n))}' });
  // One comment first: where the code starts and the parts' lengths, then the messages.
  const messagesText = list.join('');
  let start = 0;
  let head = '';
  for (let tries = 0; tries < 4; tries++) {
    head = '/*parts:' + [start, ...parts.map((p) => p.length)].join(',') + ';';
    const next = head.length + messagesText.length + 2;
    if (next === start) break;
    start = next;
  }
  if (head.length + messagesText.length + 2 !== start || head.length > 512) throw new Error('on-demand code ' + o.entry + ': its parts\' table does not settle in 512 bytes');
  return head + messagesText + '*/' + parts.join('');
}

/**
 * The bundle `code` (strict top-level statements) as the bodies of functions of `__s`, the scope
 * they share, the last returning `value`. Code that fits in `wholeBytes` is one such body, its
 * top-level names its own variables. Longer code is cut into parts of at most `partBytes` (a
 * top-level function longer than that is a part of its own), and every top-level name becomes a
 * property of `__s` (a function declaration an assignment to it, made before any other statement as
 * hoisting would). JerryScript parses a text with everything it holds: the whole update worker at once
 * (39 KB of text) needs more heap than a joined Pico W has free, a part at a time the code's
 * bytecode and one part. Refused: a top-level name declared again in a function (the bundler's
 * renamer gives nested names their own), `__s` used by the code, top-level destructuring.
 * `given`: functions the code calls that are not in it (name → function expression's text).
 */
export function partedCode(code: string, value: string, entry: string, given: { [name: string]: string } = {}, partBytes = 4096, wholeBytes = 10240): string[] {
  // Code of at most `wholeBytes` is one part, its top-level names the part's own variables (as one
  // function of the assets would): nothing to rewrite, and nothing refers to the scope but `given`.
  // (Functions that share a scope object refer to each other in a cycle, which QuickJS, the engine
  // check's engine, frees only when its cycle collector runs; JerryScript's collector is not bothered.)
  const alone = Object.keys(given).map((name) => 'var ' + name + '=' + given[name] + ';').join('') + code + ';return ' + value + ';';
  if ("'use strict';".length + alone.length <= wholeBytes) return ["'use strict';" + alone];
  // acorn's nodes, their fields read by name.
  type N = Node & { [key: string]: any };
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as { body: N[] };
  const top = new Set<string>(Object.keys(given));
  for (const st of ast.body) {
    if ((st.type === 'FunctionDeclaration' || st.type === 'ClassDeclaration') && st.id) top.add(st.id.name);
    else if (st.type === 'VariableDeclaration')
      for (const d of st.declarations as N[]) {
        if (d.id.type !== 'Identifier') throw new Error('on-demand code ' + entry + ': top-level destructuring refused');
        top.add(d.id.name);
      }
  }
  if (!top.has(value)) throw new Error('on-demand code ' + entry + ': its export ' + value + ' is not a top-level name');
  // Edits of the text: each reference to a top-level name, read from the scope.
  const edits: [number, number, string][] = [];
  const declared = (id: N | null | undefined, nested: boolean): void => {
    if (!id) return;
    if (id.type === 'Identifier') {
      if (nested && top.has(id.name)) throw new Error('on-demand code ' + entry + ': ' + id.name + ' is declared both at the top level and in a function');
    } else walk(id, undefined, undefined, nested);
  };
  const walk = (n: N, parent: N | undefined, key: string | undefined, nested: boolean): void => {
    if (n.type === 'Identifier') {
      if (n.name === '__s') throw new Error('on-demand code ' + entry + ': __s is used by the code');
      if (!top.has(n.name) || !parent) return;
      if ((parent.type === 'MemberExpression' && key === 'property' && !parent.computed) || ((parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') && key === 'key' && !parent.computed) || parent.type === 'LabeledStatement' || parent.type === 'BreakStatement' || parent.type === 'ContinueStatement' || parent.type === 'MetaProperty') return;
      if (parent.type === 'Property' && key === 'key' && !parent.computed) {
        if (parent.shorthand) edits.push([n.start, n.end, n.name + ':__s.' + n.name]);
        return;
      }
      if (parent.type === 'Property' && key === 'value' && parent.shorthand) return;
      edits.push([n.start, n.end, '__s.' + n.name]);
      return;
    }
    const fn = n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';
    if (fn) {
      if (n.type !== 'FunctionDeclaration' || nested) declared(n.id as N, true);
      for (const param of n.params as N[]) declared(param, true);
    }
    if (n.type === 'VariableDeclarator' && nested) declared(n.id as N, true);
    if ((n.type === 'ClassDeclaration' || n.type === 'ClassExpression') && (nested || n.type === 'ClassExpression')) declared(n.id as N, true);
    if (n.type === 'CatchClause') declared(n.param as N, true);
    if (!nested && parent !== undefined && /Declaration$/.test(n.type)) throw new Error('on-demand code ' + entry + ': a declaration in a top-level block refused');
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end') continue;
      // The top-level declarations' own names are rewritten with their statement (below).
      if (!nested && parent === undefined && k === 'id') continue;
      if (!nested && n.type === 'VariableDeclarator' && k === 'id') continue;
      const v = n[k];
      const inner = nested || fn;
      if (Array.isArray(v)) {
        for (const x of v) if (x && typeof (x as N).type === 'string') walk(x as N, n, k, inner);
      } else if (v && typeof (v as N).type === 'string') walk(v as N, n, k, inner);
    }
  };
  for (const st of ast.body) walk(st, undefined, undefined, false);
  edits.sort((a, b) => a[0] - b[0]);
  const rewrite = (from: number, to: number): string => {
    let out = '';
    let at = from;
    for (const [s, e, text] of edits) {
      if (s < from || e > to) continue;
      out += code.slice(at, s) + text;
      at = e;
    }
    return out + code.slice(at, to);
  };
  const functions: string[] = [];
  const statements: string[] = [];
  for (const st of ast.body) {
    if (st.type === 'FunctionDeclaration') functions.push('__s.' + st.id.name + '=' + code.slice(st.start, st.id.start) + rewrite(st.id.end, st.end) + ';');
    else if (st.type === 'ClassDeclaration') statements.push('__s.' + st.id.name + '=' + code.slice(st.start, st.id.start) + rewrite(st.id.end, st.end) + ';');
    else if (st.type === 'VariableDeclaration') {
      for (const d of st.declarations as N[]) if (d.init) statements.push('__s.' + d.id.name + '=' + rewrite((d.init as N).start, (d.init as N).end) + ';');
    } else {
      const text = rewrite(st.start, st.end);
      statements.push(text.endsWith(';') || text.endsWith('}') ? text : text + ';');
    }
  }
  return packParts([...Object.keys(given).map((name) => '__s.' + name + '=' + given[name] + ';'), ...functions, ...statements, 'return __s.' + value + ';'], partBytes);
}

/**
 * Whole statements packed in order into strict-mode texts of at most `partBytes` characters each
 * (a statement longer than that gets a part of its own).
 */
export function packParts(pieces: string[], partBytes: number): string[] {
  const parts: string[] = [];
  const strict = "'use strict';";
  let current = '';
  for (const p of pieces) {
    if (current && strict.length + current.length + p.length > partBytes) {
      parts.push(strict + current);
      current = '';
    }
    current += p;
  }
  if (current || !parts.length) parts.push(strict + current);
  return parts;
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
export async function onDemandAssets(code: string, options: BuildOptions, used?: Set<number>): Promise<{ id: number; bytes: Uint8Array }[]> {
  texts ??= Promise.all(
    ON_DEMAND.map(async (o) => {
      const text = await onDemandText(o, options);
      return { id: o.id, bytes: new Uint8Array(Buffer.from(text, 'latin1')) };
    }),
  );
  // An image carries the code it reads (its stubs' entries) and what no image reads but the loader
  // (an entry without a stub); given no record of the stubs, every entry.
  const entries = (await texts).filter((e) => !used || used.has(e.id) || !ON_DEMAND.find((o) => o.id === e.id)!.stub);
  ON_DEMAND_OF.set(code, entries);
  return entries;
}

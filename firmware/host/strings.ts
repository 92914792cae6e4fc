import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';
import ts from 'typescript';
import { crc32 } from '../device/core/crc32';

/**
 * The Kaluma build's message table (firmware/device/core/messages.ts). On Kaluma every string
 * literal of the application stays in JerryScript's heap; the kit's reasons and log lines are most
 * of them. While bundling, this plugin rewrites the TypeScript sources: a literal of at least
 * MESSAGE_MIN (8) printable ASCII characters that is a *message* — a reason of `problem(…)`,
 * `failure(…)`, `fail(…)`, `refuse401(…)`, a hal callback's `done(code, detail)`, what
 * `message(…)` marks (core/messages.ts: a report's line, a board's note), an error's text (`new Error(…)` and its kin), a log line
 * (`console.log(…)`, a hook's `h.log(…)`), a `reason:` property, or a returned reason (a `return` of text with a space) —
 * becomes `__hm(index)`, padded with spaces to the literal's length so that positions, and the source
 * map, stay exact. Nothing else moves: codes, header names, key labels, media types and every
 * literal that is compared, indexed or used as data stay in the code, so a missing table changes
 * what a message says, never what the device does.
 *
 * Table (asset 3, little-endian): id u32 (CRC-32 of the rest), count u16, count + 1 offsets u16
 * into the strings, the strings' ASCII bytes. The bundle's `BUILD` placeholder becomes the id in hex.
 */

export const MESSAGE_MIN = 8;
const PLACEHOLDER = 'hoshi-messages-build';
/** The global the calls use: a name the minifier never makes, declared on the bundle's first line. */
const ALIAS = '__hm';
/**
 * Calls get provisional numbers from here while the files load (in no fixed order), 4 digits wide;
 * `finish` numbers them again in the order the bundle uses them, never wider.
 */
const PROVISIONAL = 1000;
/** Callees whose string arguments are messages (by their name in the sources). */
const MESSAGE_CALLS = ['problem', 'failure', 'fail', 'refuse401', 'Error', 'RangeError', 'TypeError', 'log', 'done', 'message'];

/** The message table of each Kaluma image built in this process, by its code: the engine check loads it with the image. */
export const MESSAGES_OF = new Map<string, Uint8Array>();

export interface MessageCollector {
  plugin: Plugin;
  /** After the build: the code with the placeholder and the alias set, and the table. */
  finish(code: string): { code: string; table: Uint8Array | undefined; count: number; chars: number };
}

/** A message literal inside `node` (not inside nested functions, comparisons or indexing). */
function collect(node: ts.Node, out: ts.StringLiteral[]): void {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    out.push(node as ts.StringLiteral);
    return;
  }
  if (ts.isFunctionLike(node) || ts.isElementAccessExpression(node) || ts.isPropertyAccessExpression(node)) return;
  // Concatenations and `x || 'default'` hold messages; comparisons and every other operator keep
  // their operands in the code.
  if (ts.isBinaryExpression(node) && node.operatorToken.kind !== ts.SyntaxKind.PlusToken && node.operatorToken.kind !== ts.SyntaxKind.BarBarToken) return;
  if (ts.isCallExpression(node) && !isMessageCall(node)) return;
  if (ts.isConditionalExpression(node)) {
    collect(node.whenTrue, out);
    collect(node.whenFalse, out);
    return;
  }
  ts.forEachChild(node, (c) => collect(c, out));
}

function calleeName(e: ts.Expression): string | undefined {
  return ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? e.name.text : undefined;
}

function isMessageCall(node: ts.CallExpression | ts.NewExpression): boolean {
  const name = calleeName(node.expression);
  // console.log, and the log hooks of the loader and the boards (`h.log(…)`).
  if (name === 'log') return ts.isPropertyAccessExpression(node.expression);
  return name !== undefined && MESSAGE_CALLS.includes(name);
}

/** The message literals of a source file. */
function messageLiterals(file: ts.SourceFile): ts.StringLiteral[] {
  const out: ts.StringLiteral[] = [];
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if (inFunction) {
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && isMessageCall(node)) {
        const args = node.arguments ?? ts.factory.createNodeArray();
        // problem(status, code, reason), failure(code, reason), fail(p, code, reason), a hal
        // callback's done(code, detail): the codes stay.
        const name = calleeName(node.expression);
        const from = name === 'problem' || name === 'fail' ? 2 : name === 'failure' || name === 'done' ? 1 : 0;
        for (let i = from; i < args.length; i++) collect(args[i]!, out);
      } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'reason') {
        collect(node.initializer, out);
      } else if (ts.isReturnStatement(node) && node.expression) {
        const found: ts.StringLiteral[] = [];
        collect(node.expression, found);
        for (const l of found) if (l.text.includes(' ')) out.push(l);
      }
    }
    ts.forEachChild(node, (c) => visit(c, inFunction || ts.isFunctionLike(node)));
  };
  visit(file, false);
  return out;
}

export function messageCollector(root: string): MessageCollector {
  const index = new Map<string, number>();
  const list: string[] = [];
  const plugin: Plugin = {
    name: 'hoshi-messages',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        // messages.ts itself keeps its own line: it says that the table is missing.
        if (!args.path.startsWith(root) || args.path.includes('node_modules') || args.path.endsWith('core/messages.ts')) return undefined;
        let text = readFileSync(args.path, 'utf8');
        const file = ts.createSourceFile(args.path, text, ts.ScriptTarget.Latest, true);
        const edits: { start: number; end: number; value: string }[] = [];
        for (const l of messageLiterals(file)) {
          const s = l.text;
          if (s.length < MESSAGE_MIN || !/^[\x20-\x7e]*$/.test(s)) continue;
          let k = index.get(s);
          if (k === undefined) {
            k = list.length;
            list.push(s);
            index.set(s, k);
          }
          const start = l.getStart(file);
          const end = l.getEnd();
          const call = ALIAS + '(' + (PROVISIONAL + k) + ')';
          if (call.length <= end - start) edits.push({ start, end, value: call.padEnd(end - start, ' ') });
        }
        edits.sort((a, b) => b.start - a.start);
        for (const e of edits) text = text.slice(0, e.start) + e.value + text.slice(e.end);
        return { contents: text, loader: 'ts' };
      });
    },
  };
  return {
    plugin,
    finish(code) {
      const at = code.indexOf("'" + PLACEHOLDER + "'") >= 0 ? code.indexOf("'" + PLACEHOLDER + "'") : code.indexOf('"' + PLACEHOLDER + '"');
      if (at < 0 || list.length === 0) return { code, table: undefined, count: 0, chars: 0 };
      // Only what the bundle kept: the sources' code that was shaken out leaves its messages out,
      // and the calls are numbered again in the order the bundle first uses them, so that the same
      // sources give the same bundle and table whatever order the files were loaded in (each call
      // keeps its width: the literal it replaced, padded, is wider than any call of a table this size).
      // esbuild writes a number in its shortest form: a provisional 1000 comes out as 1e3.
      const call = new RegExp(ALIAS + '\\((\\d+(?:e\\d+)?)\\)( *)', 'g');
      const kept = [...new Set([...code.matchAll(call)].map((m) => Number(m[1]) - PROVISIONAL))];
      const renumber = new Map(kept.map((old, n) => [old, n] as const));
      const used = kept.map((old) => list[old]!);
      code = code.replace(call, (text, k: string) => {
        const again = ALIAS + '(' + renumber.get(Number(k) - PROVISIONAL)! + ')';
        if (again.length > text.length) throw new Error('messages: message ' + again + ' does not fit where its literal was');
        return again.padEnd(text.length, ' ');
      });
      // Every call now names a message of the table (none left provisional, none in another form).
      for (const m of code.matchAll(new RegExp(ALIAS + '\\(([^)]*)\\)', 'g'))) {
        if (!/^\d+$/.test(m[1]!) || Number(m[1]) >= used.length) throw new Error('messages: a call ' + m[0] + ' names no message of the table');
      }
      list.splice(0, list.length, ...used);
      const bytes = Buffer.from(list.join(''), 'ascii');
      if (bytes.length > 0xffff || list.length > 9000) throw new Error('messages: the table is too large (16-bit offsets, at most 9,000 messages)');
      const body = new Uint8Array(2 + 2 * (list.length + 1) + bytes.length);
      const view = new DataView(body.buffer);
      view.setUint16(0, list.length, true);
      let offset = 0;
      for (let i = 0; i <= list.length; i++) {
        view.setUint16(2 + 2 * i, offset, true);
        if (i < list.length) offset += list[i]!.length;
      }
      body.set(bytes, 2 + 2 * (list.length + 1));
      const id = crc32(body, 0, body.length) >>> 0;
      const table = new Uint8Array(4 + body.length);
      new DataView(table.buffer).setUint32(0, id, true);
      table.set(body, 4);
      const width = PLACEHOLDER.length + 2;
      let out = code.slice(0, at) + ("'" + id.toString(16) + "'").padEnd(width, ' ') + code.slice(at + width);
      // The first line is the banner's (the source map does not cover it): the alias answers
      // "(message N)" until core/messages.ts has opened the table.
      const firstLine = out.indexOf('\n');
      if (firstLine < 0 || out.slice(0, firstLine).trim() !== "'use strict';") throw new Error('messages: the bundle does not start with a "use strict" line of its own');
      out = out.slice(0, firstLine) + 'var ' + ALIAS + '=function(i){return"(message "+i+")"};' + out.slice(firstLine);
      return { code: out, table, count: list.length, chars: bytes.length };
    },
  };
}

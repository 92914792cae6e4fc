import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSRuntime } from 'quickjs-emscripten';
import { PROFILES, type DeviceTarget } from './profiles';

/**
 * Engine check: runs a device bundle's boot inside QuickJS (an embedded-class engine, compiled to
 * WebAssembly) configured like the target: the runtime's own globals and modules faked from its
 * sources (engine/*.js), every ECMAScript global and method the target lacks deleted, strict mode
 * on Kaluma, function declarations un-hoisted on Espruino, and the target's heap budget on top of
 * the empty engine. Then it sends one HTTP request through the runtime's fake
 * http module and returns the reply.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const FAKES: { [name: string]: string } = { common: join(HERE, 'engine/common.js'), kaluma: join(HERE, 'engine/kaluma.js'), espruino: join(HERE, 'engine/espruino.js') };

/**
 * The native side of a runtime's crypto module (Espruino's libs/crypto, mbedtls), computed by
 * node:crypto: the fake in engine/espruino.js reproduces the argument handling and quirks, this
 * does the arithmetic. Arguments and results are hex; '' means mbedtls reported an error.
 */
function hostCrypto(op: string, args: unknown[]): string {
  const buf = (v: unknown): Buffer => Buffer.from(v as string, 'hex');
  switch (op) {
    case 'SHA1':
    case 'SHA224':
    case 'SHA256':
    case 'SHA384':
    case 'SHA512':
      return createHash(op.toLowerCase()).update(buf(args[0])).digest('hex');
    case 'PBKDF2':
      return pbkdf2Sync(buf(args[0]), buf(args[1]), args[2] as number, (args[3] as number) * 4, (args[4] as string).toLowerCase()).toString('hex');
    case 'AES': {
      // args: direction, mode, message, key, iv
      const [direction, mode, message, key, iv] = args as string[];
      const k = buf(key);
      if (k.length !== 16 && k.length !== 24 && k.length !== 32) return '';
      const m = buf(message);
      const bits = k.length * 8;
      const make = (name: string, ivBytes: Buffer | null): { update(b: Buffer): Buffer } => {
        const c = direction === 'encrypt' ? createCipheriv(name, k, ivBytes) : createDecipheriv(name, k, ivBytes);
        c.setAutoPadding(false);
        return c;
      };
      if (mode === 'CBC') return m.length % 16 !== 0 ? '' : make('aes-' + bits + '-cbc', buf(iv)).update(m).toString('hex');
      if (mode === 'ECB') {
        const whole = m.length - (m.length % 16);
        return Buffer.concat([make('aes-' + bits + '-ecb', null).update(m.subarray(0, whole)), Buffer.alloc(m.length - whole)]).toString('hex');
      }
      if (mode === 'CTR') return make('aes-' + bits + '-ctr', Buffer.alloc(16)).update(m).toString('hex');
      if (mode === 'CFB') return make('aes-' + bits + '-cfb8', buf(iv)).update(m).toString('hex');
      return '';
    }
  }
  throw new Error('unknown host crypto operation ' + op);
}

export interface EngineRequest {
  method: string;
  url: string;
  headers?: { [name: string]: string };
  body?: Uint8Array;
  /** Size of the body segments the runtime delivers (default: one TCP segment). */
  segment?: number;
}

export interface EngineReply {
  status: number;
  headers: { [name: string]: string };
  body: Uint8Array;
  text: string;
}

export interface EngineReport {
  target: DeviceTarget;
  /** Booted: the bundle evaluated, and its HTTP server listens. */
  booted: boolean;
  error?: string;
  logs: string[];
  /** Engine memory in use before the bundle (the runtime fakes loaded), bytes. */
  baselineBytes: number;
  /** Memory the bundle holds once booted, over the baseline, bytes. */
  bootBytes: number;
  /** Highest memory use seen while booting and serving, over the baseline, bytes (sampled). */
  peakBytes: number;
  /** Limit the bundle ran under, over the baseline, bytes. */
  budgetBytes: number;
  replies: EngineReply[];
  /** Values of `options.probes`, in order. */
  values: unknown[];
  /** Members the bundle read from a runtime object the fake lacks (must be empty: the fakes cover every API the bindings use). */
  missing: string[];
}

export interface EngineOptions {
  /** Requests to send once booted (default: none). */
  requests?: EngineRequest[];
  /** Heap budget over the baseline (default: the target profile's heapBudget × quickjsFactor). */
  budgetBytes?: number;
  /** Wall-clock limit for the whole run (default 20 s). */
  timeoutMs?: number;
  /** Code to evaluate after the runtime fakes and before the bundle (test set-up, e.g. flash contents). */
  prelude?: string;
  /** A library bundle, not an image: do not wait for an HTTP server. */
  library?: boolean;
  /** Expressions evaluated after boot; their values (JSON-dumped) land in `report.values`. */
  probes?: string[];
}

/**
 * Rewrites `function f(...) {...}` declarations as `var f = function f(...) {...};` in place, so
 * a call before the definition fails as it does on Espruino, which does not hoist functions.
 */
export function unhoistFunctions(code: string): string {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  // At a shared position the next declaration's start follows the previous one's end: inserting
  // the start first (kind 0) and the end second puts ";" before "var g=".
  const edits: { at: number; kind: number; text: string }[] = [];
  walk.full(ast, (n: Node) => {
    const node = n as Node & { id?: { name: string }; async?: boolean; generator?: boolean };
    if (node.type === 'FunctionDeclaration' && node.id) {
      edits.push({ at: node.start, kind: 0, text: 'var ' + node.id.name + '=' });
      edits.push({ at: node.end, kind: 1, text: ';' });
    }
  });
  edits.sort((a, b) => b.at - a.at || a.kind - b.kind);
  let out = code;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

function memoryUsed(runtime: QuickJSRuntime, vm: QuickJSContext): number {
  const handle = runtime.computeMemoryUsage();
  const usage = vm.dump(handle) as { memory_used_size: number };
  handle.dispose();
  return usage.memory_used_size;
}

/** Deletes every global, static member and prototype method the target lacks. */
function strip(target: DeviceTarget): string {
  const p = PROFILES[target];
  return `(function (g) {
    var keep = ${JSON.stringify(p.globals.concat(['__engine', '__host_log']))};
    var names = Object.getOwnPropertyNames(g);
    for (var i = 0; i < names.length; i++) if (keep.indexOf(names[i]) < 0) delete g[names[i]];
    var members = ${JSON.stringify(p.missingMembers)};
    for (var j = 0; j < members.length; j++) {
      var parts = members[j].split('.');
      if (g[parts[0]]) delete g[parts[0]][parts[1]];
    }
    var methods = ${JSON.stringify(p.missingMethods)};
    var protos = [Array.prototype, String.prototype, Number.prototype, Object.getPrototypeOf(Uint8Array.prototype)];
    if (g.Promise) protos.push(Promise.prototype);
    for (var k = 0; k < methods.length; k++) for (var m = 0; m < protos.length; m++) delete protos[m][methods[k]];
  })(globalThis);`;
}

/** Boots `code` (a device bundle for `target`) in the engine and returns what happened. */
export async function runInEngine(code: string, target: DeviceTarget, options: EngineOptions = {}): Promise<EngineReport> {
  const QuickJS = await getQuickJS();
  const runtime = QuickJS.newRuntime();
  runtime.setMaxStackSize(512 * 1024);
  const vm = runtime.newContext();
  const logs: string[] = [];
  const budget = options.budgetBytes ?? Math.round(PROFILES[target].heapBudget * PROFILES[target].quickjsFactor);
  const report: EngineReport = { target, booted: false, logs, baselineBytes: 0, bootBytes: 0, peakBytes: 0, budgetBytes: budget, replies: [], values: [], missing: [] };
  // QuickJS's own memory limit counts nothing in this WebAssembly build (malloc_usable_size is
  // unavailable), so the budget is enforced here: memory in use is sampled at every 16th interrupt
  // poll (QuickJS polls about every 10,000 bytecodes; a sample walks the whole heap) and between
  // turns, and the run stops once it exceeds it.
  const deadline = shouldInterruptAfterDeadline(Date.now() + (options.timeoutMs ?? 20000));
  let limit = Infinity;
  let overBudget = false;
  const sample = (): void => {
    const used = memoryUsed(runtime, vm) - report.baselineBytes;
    if (used > report.peakBytes) report.peakBytes = used;
    if (used > limit) overBudget = true;
  };
  let polls = 0;
  runtime.setInterruptHandler((rt) => {
    if (limit !== Infinity && (polls++ & 15) === 0) sample();
    return overBudget || deadline(rt);
  });
  const checkBudget = (): void => {
    sample();
    if (overBudget) throw new Error('out of memory: ' + report.peakBytes + ' bytes over the empty engine, budget ' + budget);
  };
  const evaluate = (source: string, file: string): void => {
    const result = vm.evalCode(source, file);
    if (result.error) {
      const error = vm.dump(result.error);
      result.error.dispose();
      if (overBudget) checkBudget();
      throw new Error(typeof error === 'object' && error ? (error.name ?? 'Error') + ': ' + error.message + (error.stack ? '\n' + error.stack : '') : String(error));
    }
    result.value.dispose();
  };
  const value = (source: string): unknown => {
    const handle = vm.unwrapResult(vm.evalCode(source));
    const v = vm.dump(handle);
    handle.dispose();
    return v;
  };
  const settle = (): void => {
    for (let round = 0; round < 1000; round++) {
      const jobs = runtime.executePendingJobs();
      if (jobs.error) {
        const error = vm.dump(jobs.error);
        jobs.error.dispose();
        throw new Error('unhandled error in a promise job: ' + JSON.stringify(error));
      }
      const ranTimers = value('__engine.advance(10)') as number;
      if (limit !== Infinity) checkBudget();
      if (jobs.value === 0 && ranTimers === 0) return;
    }
  };
  try {
    const log = vm.newFunction('__host_log', (text) => {
      logs.push(vm.getString(text));
    });
    vm.setProp(vm.global, '__host_log', log);
    log.dispose();
    const crypto = vm.newFunction('__host_crypto', (op, args) => vm.newString(hostCrypto(vm.getString(op), JSON.parse(vm.getString(args)) as unknown[])));
    vm.setProp(vm.global, '__host_crypto', crypto);
    crypto.dispose();
    evaluate(readFileSync(FAKES.common, 'utf8'), 'engine/common.js');
    evaluate(readFileSync(FAKES[target], 'utf8'), 'engine/' + target + '.js');
    evaluate(strip(target), 'engine/strip.js');
    if (options.prelude) evaluate(options.prelude, 'prelude.js');
    settle();
    report.baselineBytes = memoryUsed(runtime, vm);
    limit = budget;
    evaluate(PROFILES[target].hoisting ? code : unhoistFunctions(code), 'app.js');
    checkBudget();
    settle();
    report.bootBytes = memoryUsed(runtime, vm) - report.baselineBytes;
    report.booted = options.library === true || value('!!(__engine.server && __engine.server.listening)') === true;
    if (!report.booted) throw new Error('the bundle evaluated but its HTTP server is not listening');
    for (const probe of options.probes ?? []) {
      report.values.push(value(probe));
      checkBudget();
    }
    for (const request of options.requests ?? []) {
      const args = [request.method, request.url, request.headers ?? {}, Buffer.from(request.body ?? []).toString('hex'), request.segment ?? 0]
        .map((a) => JSON.stringify(a))
        .join(',');
      evaluate(`__engine.last = null; __engine.last = __engine.send(${args});`, 'request.js');
      checkBudget();
      settle();
      const res = value(
        '(function (r) { var parts = []; for (var i = 0; i < r.body.length; i++) for (var j = 0; j < r.body[i].length; j++) parts.push(r.body[i][j]);' +
          ' return { ended: r.ended, status: r.statusCode, headers: r.headers, body: parts }; })(__engine.last)',
      ) as { ended: boolean; status: number; headers: { [name: string]: string }; body: number[] };
      if (!res.ended) throw new Error(request.method + ' ' + request.url + ': no reply');
      const body = new Uint8Array(res.body);
      report.replies.push({ status: res.status, headers: res.headers, body, text: new TextDecoder().decode(body) });
    }
  } catch (error) {
    report.booted = false;
    report.error = (error as Error).message;
  } finally {
    try {
      report.missing = value('__engine.missing') as string[];
    } catch {
      // the engine is past use (out of memory, interrupted): nothing to collect
    }
    vm.dispose();
    runtime.dispose();
  }
  return report;
}

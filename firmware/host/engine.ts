import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSRuntime } from 'quickjs-emscripten';
import { imageBudget, PROFILES, type DeviceTarget } from './profiles';
import { MESSAGES_OF } from './strings';
import { encodeAssets } from './assets';
import { Asset } from '../device/core/assets';
import { KALUMA_PARTITIONS } from '../../boards/kaluma-pico-w/board';

/**
 * Engine check: runs a device bundle's boot inside QuickJS (an embedded-class engine, compiled to
 * WebAssembly) configured like the target: the runtime's own globals and modules faked from its
 * sources (engine/*.js), every ECMAScript global and method the target lacks deleted, strict mode
 * on Kaluma, function declarations un-hoisted on Espruino, and the target's heap budget on top of
 * the budget of its image (profiles.ts). Then it sends HTTP requests over the fake network's TCP
 * clients and returns the answers; a session drives the device further.
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
  /** Sent as given; Host (the device's address) and Content-Length (when there is a body) are added unless present. */
  headers?: { [name: string]: string };
  body?: Uint8Array;
  /** The exact bytes to send instead of method, url, headers and body. */
  raw?: Uint8Array;
  /** After the bytes: `count` more bytes of one value, or repeating `pattern` (a flood), generated as they are sent. */
  flood?: { byte?: number; pattern?: string; count: number };
  /** Largest segment the client sends at a time (default: what the runtime reads per pass). */
  segment?: number;
  /** A slow client: one segment every this many ms of simulated time. */
  everyMs?: number;
  /** Simulated time to wait for the device to close the connection (default 60 s). */
  waitMs?: number;
}

export interface EngineReply {
  /** 0 when the device closed the connection without an answer. */
  status: number;
  headers: { [lowerCaseName: string]: string };
  body: Uint8Array;
  text: string;
  /** The device closed (or half-closed) the connection. */
  closed: boolean;
  /** Bytes the client had sent when the connection closed, and bytes still unsent. */
  sent: number;
  unsent: number;
  /** Simulated ms from connect to close. */
  ms: number;
}

/** Parses what a device answered on a connection (a 100 Continue interim answer is skipped). */
export function parseAnswer(bytes: Uint8Array): { status: number; headers: { [name: string]: string }; body: Uint8Array } {
  let at = 0;
  for (;;) {
    const text = Buffer.from(bytes.subarray(at)).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return { status: 0, headers: {}, body: new Uint8Array(0) };
    const lines = text.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1] ?? 0);
    const headers: { [name: string]: string } = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const start = at + end + 4;
    if (status === 100) {
      at = start;
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    return { status, headers, body: bytes.slice(start, start + length) };
  }
}

/** The bytes of a request: request line, the given headers plus Host and Content-Length, body. */
export function requestBytes(request: EngineRequest): Uint8Array {
  if (request.raw) return request.raw;
  const body = request.body ?? new Uint8Array(0);
  const headers: { [name: string]: string } = { ...(request.headers ?? {}) };
  const has = (name: string): boolean => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has('host')) headers['Host'] = '192.168.1.50';
  if (body.length && !has('content-length') && !has('transfer-encoding')) headers['Content-Length'] = String(body.length);
  let head = request.method + ' ' + request.url + ' HTTP/1.1\r\n';
  for (const [k, v] of Object.entries(headers)) head += k + ': ' + v + '\r\n';
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), Buffer.from(body)]);
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
  /** Highest memory use seen once booted (serving), over the baseline, bytes (sampled). */
  servingPeakBytes: number;
  /** Limit the bundle ran under, over the baseline, bytes. */
  budgetBytes: number;
  replies: EngineReply[];
  /** Values of `options.probes`, in order. */
  values: unknown[];
  /** Members the bundle read from a runtime object the fake lacks (must be empty: the fakes cover every API the bindings use). */
  missing: string[];
  /** Exceptions the runtime swallowed in callbacks it invoked (Kaluma's driver drops them): must be empty. */
  swallowed: string[];
}

/** The host's handle on a booted device in the engine. */
export interface EngineSession {
  /** Evaluates `source` in the engine; returns its value (JSON-dumped). */
  js(source: string): unknown;
  /** Runs the event loop for `ms` of simulated time. */
  advance(ms: number): void;
  /** Sends a request on a new connection and waits for the device to close it. */
  request(request: EngineRequest): EngineReply;
  /** Opens a connection and returns its id; `send` queues bytes on it. */
  connect(): number;
  send(id: number, bytes: Uint8Array, segment?: number, everyMs?: number): void;
  /** The answer received so far on connection `id`, and its state. */
  answer(id: number): EngineReply;
  /** Engine memory in use over the baseline now, bytes (also raises the sampled peak). */
  memory(): number;
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
  /** Kaluma: the assets partition's contents (default: a Kaluma image's messages alone, when it has them). */
  assets?: Uint8Array;
  /**
   * The board's network when the bundle starts: "up" (default: the station already joined, as if
   * by an earlier program) or "down" (the image must join by itself before it can serve).
   */
  network?: 'up' | 'down';
  /** Do not require the HTTP server to listen after boot (a unit that must join its network first). */
  serverLater?: boolean;
  /** Drives the booted device from the host: connections, time, memory (after `requests`). */
  session?: (engine: EngineSession) => void | Promise<void>;
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
  const profile = PROFILES[target];
  const image = imageBudget(code, profile);
  const budget = options.budgetBytes ?? Math.round(image.bytes * profile.quickjsFactor);
  // Where the profile's budget is on what the image holds once booted (Kaluma, which frees the code
  // that has run its once: profiles.ts), the run is also bounded by the whole heap at its peak.
  const retained = options.budgetBytes === undefined && profile.quickjsPeakFactor !== undefined;
  const peakLimit = retained ? Math.round((2 * profile.heapBudget - image.runtime) * profile.quickjsPeakFactor!) : budget;
  const report: EngineReport = { target, booted: false, logs, baselineBytes: 0, bootBytes: 0, peakBytes: 0, servingPeakBytes: 0, budgetBytes: budget, replies: [], values: [], missing: [], swallowed: [] };
  // QuickJS's own memory limit counts nothing in this WebAssembly build (malloc_usable_size is
  // unavailable), so the budget is enforced here: memory in use is sampled at every 16th interrupt
  // poll (QuickJS polls about every 10,000 bytecodes; a sample walks the whole heap) and between
  // turns, and the run stops once it exceeds it.
  const deadline = shouldInterruptAfterDeadline(Date.now() + (options.timeoutMs ?? 20000));
  let limit = Infinity;
  let overBudget = false;
  let serving = false;
  const sample = (): void => {
    const used = memoryUsed(runtime, vm) - report.baselineBytes;
    if (used > report.peakBytes) report.peakBytes = used;
    if (serving && used > report.servingPeakBytes) report.servingPeakBytes = used;
    if (used > limit) overBudget = true;
  };
  let polls = 0;
  runtime.setInterruptHandler((rt) => {
    if (limit !== Infinity && (polls++ & 15) === 0) sample();
    return overBudget || deadline(rt);
  });
  const checkBudget = (): void => {
    sample();
    if (overBudget) throw new Error('out of memory: ' + report.peakBytes + ' bytes over the empty engine, limit ' + limit);
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
    if ((options.network ?? 'up') === 'up') evaluate("__engine.wifi.up('Workshop');", 'network.js');
    // The assets partition of a Kaluma image: as given, else its messages as `hoshi flash` writes
    // them (core/messages.ts).
    const messages = target === 'kaluma' ? MESSAGES_OF.get(code) : undefined;
    const assets = options.assets ?? (messages ? encodeAssets([{ id: Asset.MESSAGES, bytes: messages }]) : undefined);
    if (assets && target === 'kaluma') evaluate('__engine.flash.load(' + KALUMA_PARTITIONS.assets.sector * 4096 + ', ' + JSON.stringify(Array.from(assets)) + ');', 'assets.js');
    if (options.prelude) evaluate(options.prelude, 'prelude.js');
    settle();
    report.baselineBytes = memoryUsed(runtime, vm);
    limit = peakLimit;
    evaluate(PROFILES[target].hoisting ? code : unhoistFunctions(code), 'app.js');
    checkBudget();
    settle();
    report.bootBytes = memoryUsed(runtime, vm) - report.baselineBytes;
    report.servingPeakBytes = report.bootBytes;
    serving = true;
    if (retained && report.bootBytes > budget) throw new Error('out of memory: the image holds ' + report.bootBytes + ' bytes once booted, budget ' + budget);
    report.booted = options.library === true || options.serverLater === true || value('!!(__engine.server && __engine.server.listening)') === true;
    if (!report.booted) throw new Error('the bundle evaluated but its HTTP server is not listening');
    for (const probe of options.probes ?? []) {
      report.values.push(value(probe));
      checkBudget();
    }
    const answer = (id: number, started: number): EngineReply => {
      const state = value(`(function (c) { return { hex: c.hex(), state: c.state(), now: __engine.now() }; })(__engine.clients[${id}])`) as {
        hex: string;
        state: { ended: boolean; closed: boolean; sent: number; pending: number };
        now: number;
      };
      const bytes = new Uint8Array(Buffer.from(state.hex, 'hex'));
      const parsed = parseAnswer(bytes);
      return {
        ...parsed,
        text: new TextDecoder().decode(parsed.body),
        closed: state.state.closed || state.state.ended,
        sent: state.state.sent,
        unsent: state.state.pending,
        ms: state.now - started,
      };
    };
    let passes = 0;
    const advance = (ms: number): void => {
      for (let t = 0; t < ms; t += 10) {
        const jobs = runtime.executePendingJobs();
        if (jobs.error) {
          const error = vm.dump(jobs.error);
          jobs.error.dispose();
          throw new Error('unhandled error in a promise job: ' + JSON.stringify(error));
        }
        value('__engine.advance(10)');
        if ((++passes & 63) === 0) checkBudget();
      }
      checkBudget();
    };
    const connect = (): number => value('__engine.connect().id') as number;
    const send = (id: number, bytes: Uint8Array, segment = 0, everyMs = 0): void => {
      evaluate(`__engine.clients[${id}].send(${JSON.stringify(Buffer.from(bytes).toString('hex'))}, ${segment}, ${everyMs});`, 'send.js');
    };
    const exchange = (request: EngineRequest): EngineReply => {
      const started = value('__engine.now()') as number;
      const id = connect();
      send(id, requestBytes(request), request.segment ?? 0, request.everyMs ?? 0);
      if (request.flood) {
        const pattern = request.flood.pattern !== undefined ? Buffer.from(request.flood.pattern, 'latin1').toString('hex') : ((request.flood.byte ?? 0) | 256).toString(16).slice(1);
        evaluate(`__engine.clients[${id}].floodWith(${JSON.stringify(pattern)}, ${request.flood.count});`, 'flood.js');
      }
      const wait = request.waitMs ?? 60000;
      for (let t = 0; t < wait; t += 100) {
        advance(100);
        const s = value(`__engine.clients[${id}].state()`) as { closed: boolean; ended: boolean };
        if (s.closed || s.ended) break;
      }
      // What the device still sends after it half-closed arrives within a few passes.
      advance(50);
      const reply = answer(id, started);
      // The client's bytes are the harness's, not the device's: released so that memory figures are the device's.
      evaluate(`__engine.release(${id});`, 'release.js');
      return reply;
    };
    for (const request of options.requests ?? []) {
      const reply = exchange(request);
      if (!reply.closed) throw new Error(request.method + ' ' + request.url + ': no reply');
      report.replies.push(reply);
    }
    if (options.session) {
      await options.session({
        js: value,
        advance,
        request: exchange,
        connect,
        send,
        answer: (id: number) => answer(id, 0),
        memory: () => {
          const used = memoryUsed(runtime, vm) - report.baselineBytes;
          if (used > report.peakBytes) report.peakBytes = used;
          if (used > report.servingPeakBytes) report.servingPeakBytes = used;
          return used;
        },
      });
    }
  } catch (error) {
    report.booted = false;
    report.error = (error as Error).message;
  } finally {
    try {
      report.missing = value('__engine.missing') as string[];
      report.swallowed = value('__engine.net && __engine.net.swallowed ? __engine.net.swallowed : []') as string[];
    } catch {
      // the engine is past use (out of memory, interrupted): nothing to collect
    }
    vm.dispose();
    runtime.dispose();
  }
  return report;
}

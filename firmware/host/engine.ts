import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSRuntime } from 'quickjs-emscripten';
import { imageBudget, PROFILES, type DeviceTarget } from './profiles';
import { MESSAGES_OF } from './strings';
import { ON_DEMAND_OF } from './ondemand';

/** A Kaluma image's own assets as `hoshi flash` writes them: its messages and its on-demand code (the page and filter only where a test gives them). */
function kalumaAssets(target: DeviceTarget, code: string): Uint8Array | undefined {
  if (target !== 'kaluma') return undefined;
  const messages = MESSAGES_OF.get(code);
  const entries = (messages ? [{ id: Asset.MESSAGES, bytes: messages }] : []).concat(ON_DEMAND_OF.get(code) ?? []);
  return entries.length ? encodeAssets(entries) : undefined;
}
import { encodeAssets } from './assets';
import { Asset } from '../device/core/assets';
import { KALUMA_PARTITIONS } from '../../boards/kaluma-pico-w/board';
import { ESP32_BOOT } from '../../boards/espruino-esp32/board';
import { paddedBootCode, RESERVED_FILES } from './esp32-storage';
import { factoryBootRecord, factorySlot, partedText } from './loader-build';
import { composePayload } from './payload';

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

/**
 * The device's flash for the engine check, kept on the host (engine/common.js `region`): named
 * regions of 4 KB sectors with NOR rules (erased 0xff, programming ANDs), plus small JSON values
 * (`meta`: Espruino's Storage directory). Its bytes are not the device's heap, so memory figures
 * leave them out; and it outlives an engine: a reboot is a new run over the same EngineFlash.
 * Region "flash" is the board's flash (Kaluma's flash area from its base; the ESP32's whole SPI
 * flash, Espruino's Storage files in it as src/jsflash.c lays them out).
 */
export class EngineFlash {
  readonly regions = new Map<string, Map<number, Uint8Array>>();
  readonly metas = new Map<string, string>();

  private sector(region: string, n: number, create: boolean): Uint8Array | undefined {
    let r = this.regions.get(region);
    if (!r) {
      if (!create) return undefined;
      r = new Map();
      this.regions.set(region, r);
    }
    let s = r.get(n);
    if (!s && create) {
      s = new Uint8Array(4096).fill(0xff);
      r.set(n, s);
    }
    return s;
  }

  read(region: string, at: number, length: number): Uint8Array {
    const out = new Uint8Array(length).fill(0xff);
    for (let i = 0; i < length; ) {
      const n = Math.floor((at + i) / 4096);
      const o = (at + i) % 4096;
      const k = Math.min(4096 - o, length - i);
      const s = this.sector(region, n, false);
      if (s) out.set(s.subarray(o, o + k), i);
      i += k;
    }
    return out;
  }

  program(region: string, at: number, bytes: Uint8Array | number[]): void {
    for (let i = 0; i < bytes.length; i++) {
      const s = this.sector(region, Math.floor((at + i) / 4096), true)!;
      s[(at + i) % 4096]! &= bytes[i]!;
    }
  }

  erase(region: string, sector: number): void {
    this.regions.get(region)?.delete(sector);
  }

  drop(region: string): void {
    this.regions.delete(region);
  }

  /** Programs `bytes` at `address` of the board's flash (region "flash"). */
  load(address: number, bytes: Uint8Array | number[]): void {
    this.program('flash', address, bytes);
  }

  /**
   * Espruino: the Storage file `name` as `require("Storage").write(name, bytes, 0, size)` makes it
   * on a device, in the SPI flash's Storage area (engine/espruino.js keeps the same layout: src/jsflash.c):
   * a file of `size` bytes (default the data's) after the last one, erased but for `bytes`; a file of
   * that name is deleted first. No compaction: a file that does not fit throws.
   */
  storageWrite(name: string, bytes: Uint8Array, size = bytes.length): void {
    const old = this.storageFiles().find((f) => f.name === name && !f.deleted);
    if (old) this.load(old.address + 4, [0, 0, 0, 0]);
    const at = this.storageEnd();
    if (at + STORAGE_HEADER + ((size + 3) & ~3) > STORAGE_END) throw new RangeError('storage: ' + name + ' (' + size + ' bytes) does not fit');
    const header = new Uint8Array(STORAGE_HEADER);
    header.set([size & 255, (size >> 8) & 255, (size >> 16) & 255, 0]);
    header.set(Buffer.from(name.slice(0, 28), 'latin1'), 4);
    this.load(at, header);
    this.load(at + STORAGE_HEADER, bytes);
  }

  /** Espruino: the bytes of the Storage file `name`, or undefined if there is none. */
  storageRead(name: string): Uint8Array | undefined {
    const f = this.storageFile(name);
    return f ? this.read('flash', f.data, f.size) : undefined;
  }

  /** Espruino: the live Storage file `name` (its header's and its data's addresses, its size), or undefined. */
  storageFile(name: string): { address: number; data: number; size: number } | undefined {
    const f = this.storageFiles().find((g) => g.name === name && !g.deleted && g.real);
    return f ? { address: f.address, data: f.address + STORAGE_HEADER, size: f.size } : undefined;
  }

  /** Espruino: every Storage header in order, as src/jsflash.c walks them (engine/espruino.js `walk`). */
  storageFiles(): { address: number; size: number; name: string; deleted: boolean; real: boolean }[] {
    const out: { address: number; size: number; name: string; deleted: boolean; real: boolean }[] = [];
    let h = this.storageHeader(STORAGE_START);
    while (h) {
      out.push(h);
      const end = h.address + STORAGE_HEADER + ((h.size + 3) & ~3);
      h = this.storageHeader(end) ?? this.storageHeader(end - (end % 4096) + 4096);
    }
    return out;
  }

  /** Where Storage puts its next file. */
  private storageEnd(): number {
    const all = this.storageFiles();
    const last = all[all.length - 1];
    return last ? last.address + STORAGE_HEADER + ((last.size + 3) & ~3) : STORAGE_START;
  }

  private storageHeader(at: number): { address: number; size: number; name: string; deleted: boolean; real: boolean } | undefined {
    if (at + STORAGE_HEADER > STORAGE_END) return undefined;
    const b = this.read('flash', at, STORAGE_HEADER);
    const word = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const size = word & 0xffffff;
    if (word === 0xffffffff || word === 0 || at + STORAGE_HEADER + size > STORAGE_END) return undefined;
    let name = '';
    for (let i = 4; i < 32 && b[i] !== 0; i++) name += String.fromCharCode(b[i]!);
    const flags = word >>> 24;
    return { address: at, size, name, deleted: (b[4]! | b[5]! | b[6]! | b[7]!) === 0, real: flags === 0 || flags === 64 || flags === 128 };
  }
}

/** Espruino's Storage area in the ESP32's SPI flash (boards/ESP32.py saved_code) and its file header (src/jsflash.h). */
const STORAGE_START = 0x320000;
const STORAGE_END = 0x400000;
const STORAGE_HEADER = 32;

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
  /** Why the device reset during the run ("watchdog", "reboot"), or undefined: the next boot is a new run over `flash`. */
  reset?: string;
  /** The device's flash after the run. */
  flash: EngineFlash;
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
  /**
   * The assets container the image finds in its slot (default: a Kaluma image's messages alone, when
   * it has them). Unless `flash` is given, slot A holds what `hoshi flash` writes there: a header
   * with L = 0, then the bundle's text, NUL, FF to the next 4 KB, this container
   * (docs/formats/update.md §3-4), and no boot record (the factory default: slot A).
   */
  assets?: Uint8Array;
  /** The device's flash, as a previous run left it (a reboot); default: a new one, slot A filled as `assets` says. */
  flash?: EngineFlash;
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
  const flash = options.flash ?? new EngineFlash();
  const report: EngineReport = { target, booted: false, logs, baselineBytes: 0, bootBytes: 0, peakBytes: 0, servingPeakBytes: 0, budgetBytes: budget, replies: [], values: [], missing: [], swallowed: [], flash };
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
    // The flash lives on the host (EngineFlash): reads and writes cross as ArrayBuffers.
    const hostFlash = vm.newFunction('__host_flash', (opHandle, regionHandle, atHandle, argHandle) => {
      const op = vm.getString(opHandle);
      const region = vm.getString(regionHandle);
      const at = vm.getNumber(atHandle);
      if (op === 'read') {
        const bytes = flash.read(region, at, vm.getNumber(argHandle));
        return vm.newArrayBuffer(bytes.buffer);
      }
      if (op === 'program') {
        const view = vm.getArrayBuffer(argHandle);
        flash.program(region, at, new Uint8Array(view.value));
        view.dispose();
      } else if (op === 'erase') flash.erase(region, at);
      else if (op === 'drop') flash.drop(region);
      else if (op === 'meta') {
        const value = vm.getString(argHandle);
        if (value) flash.metas.set(region, value);
        return vm.newString(flash.metas.get(region) ?? '');
      }
      return vm.undefined;
    });
    vm.setProp(vm.global, '__host_flash', hostFlash);
    hostFlash.dispose();
    // Slot A as `hoshi flash` fills it: the bundle's text and the assets (the factory default record).
    const messages = target === 'kaluma' ? MESSAGES_OF.get(code) : undefined;
    const assets = options.assets ?? kalumaAssets(target, code);
    if (!options.flash && /^[\x01-\x7e]+$/.test(code)) writeSlot(flash, target, 0, factorySlot(composePayload(code, assets)));
    evaluate(readFileSync(FAKES.common, 'utf8'), 'engine/common.js');
    evaluate(readFileSync(FAKES[target], 'utf8'), 'engine/' + target + '.js');
    evaluate(strip(target), 'engine/strip.js');
    if ((options.network ?? 'up') === 'up') evaluate("__engine.wifi.up('Workshop');", 'network.js');
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
    const reset = value('__engine.reset') as string | null;
    if (reset) report.reset = reset;
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
      const reset = value('__engine.reset') as string | null;
      if (reset) report.reset = reset;
      report.swallowed = value('__engine.net && __engine.net.swallowed ? __engine.net.swallowed : []') as string[];
    } catch {
      // the engine is past use (out of memory, interrupted): nothing to collect
    }
    vm.dispose();
    runtime.dispose();
  }
  return report;
}

/**
 * A unit's flash as `hoshi flash` leaves it (docs/formats/update.md §4-5): slot A holding the
 * factory payload of `imageCode` (header L = 0, the text, NUL, FF, `assets`: by default a Kaluma
 * image's messages) and the factory boot record (seq 1, slot A active and good at `version`).
 * A Kaluma text is stored in parts (loader-build.ts `partedText`), as payloads carry it; an
 * Espruino text with its function declarations un-hoisted, as the engine check runs every
 * Espruino bundle (`unhoistFunctions`). With `loader`, a Kaluma unit's program area holds the
 * loader's text; an ESP32's Storage is made as `hoshi flash` makes it (`esp32Files`), with the
 * loader as `.bootcde` when given.
 */
export function factoryFlash(target: DeviceTarget, imageCode: string, options: { assets?: Uint8Array; version?: string; flash?: EngineFlash; loader?: string } = {}): EngineFlash {
  const flash = options.flash ?? new EngineFlash();
  if (target === 'kaluma' && options.loader !== undefined) putKalumaProgram(flash, options.loader);
  const messages = target === 'kaluma' ? MESSAGES_OF.get(imageCode) : undefined;
  const assets = options.assets ?? kalumaAssets(target, imageCode);
  // Kaluma: the text in parts, as its loader reads it; Espruino: un-hoisted, as the engine check runs it.
  const text = target === 'espruino' ? unhoistFunctions(imageCode) : partedText(imageCode);
  const payload = composePayload(text, assets);
  const slot = factorySlot(payload);
  const record = factoryBootRecord(payload, text.length, options.version ?? '0.1.0');
  if (target === 'espruino') esp32Files(flash, options.loader);
  writeSlot(flash, target, 0, slot);
  if (target === 'kaluma') flash.load(KALUMA_PARTITIONS.bootctl.sector * 4096, record);
  else flash.load(reservedAddress(flash, ESP32_BOOT.bootctl), record);
  return flash;
}

/**
 * Kaluma: `code` as the program, in the program area's first sectors (4-11, erased first),
 * NUL-terminated, as Kaluma stores a program (src/prog.c km_prog_write, km_prog_end): the fixed
 * loader reads its message table there (boards/kaluma-pico-w/loader.ts).
 */
export function putKalumaProgram(flash: EngineFlash, code: string): void {
  const bytes = Buffer.from(code + '\0', 'latin1');
  if (bytes.length > 8 * 4096) throw new RangeError('program: ' + bytes.length + ' bytes do not fit the loader\'s 32 KB');
  for (let n = 4; n < 12; n++) flash.erase('flash', n);
  flash.load(4 * 4096, bytes);
}

/** Writes `bytes` (a header and a payload) into slot `index` of the fake flash, the slot erased first. */
export function writeSlot(flash: EngineFlash, target: DeviceTarget, index: number, bytes: Uint8Array): void {
  if (target === 'kaluma') {
    const { sector, count } = KALUMA_PARTITIONS.slots[index]!;
    if (bytes.length > count * 4096) throw new RangeError('slot: ' + bytes.length + ' bytes do not fit');
    for (let n = 0; n < count; n++) flash.erase('flash', sector + n);
    flash.load(sector * 4096, bytes);
  } else {
    if (bytes.length > ESP32_BOOT.slotSize) throw new RangeError('slot: ' + bytes.length + ' bytes do not fit');
    esp32Files(flash);
    const at = reservedAddress(flash, ESP32_BOOT.slots[index]!);
    for (let n = 0; n < ESP32_BOOT.slotSize / 4096; n++) flash.erase('flash', at / 4096 + n);
    flash.load(at, bytes);
  }
}

/**
 * ESP32: the Storage files as `hoshi flash` makes them (firmware/host/esp32-storage.ts), all erased,
 * `.bootcde` holding `loader` (padded) when given; nothing if they are there already (and no
 * `loader` is given).
 */
export function esp32Files(flash: EngineFlash, loader?: string): void {
  if (loader === undefined && RESERVED_FILES.every((f) => flash.storageFile(f.name)?.size === f.size)) return;
  for (let p = 0x320000; p < 0x400000; p += 4096) flash.erase('flash', p / 4096);
  if (loader !== undefined) {
    const code = paddedBootCode(new Uint8Array(Buffer.from(loader, 'latin1')));
    flash.storageWrite('.bootcde', code);
  }
  for (const f of RESERVED_FILES) flash.storageWrite(f.name, new Uint8Array(0), f.size);
}

/** ESP32: the flash address of the region the reserved Storage file `name` holds (board.ts `reservedFlash`). */
export function reservedAddress(flash: EngineFlash, name: string): number {
  const f = flash.storageFile(name);
  if (!f) throw new Error('storage: no file ' + name);
  return f.data + ((4096 - (f.data % 4096)) % 4096);
}

/**
 * The loader check: boots `loaderCode` (the fixed loader's bundle, firmware/host/loader-build.ts)
 * in the engine over `options.flash` (default: factoryFlash of `imageCode`): the loader reads the
 * boot record and evaluates the image from its slot. Requests, probes and sessions as runInEngine.
 */
export async function runLoaderInEngine(loaderCode: string, imageCode: string, target: DeviceTarget, options: EngineOptions & { version?: string } = {}): Promise<EngineReport> {
  const flash = options.flash ?? factoryFlash(target, imageCode, { assets: options.assets, version: options.version, loader: loaderCode });
  if (options.flash && target === 'kaluma') putKalumaProgram(flash, loaderCode);
  return runInEngine(loaderCode, target, { ...options, flash });
}

/**
 * The two device runtime profiles, as data: what a device bundle may use on each target.
 * Facts from ../shared/docs/runtimes.md and the runtimes' sources (kaluma-project/kaluma 1.2.1
 * with its JerryScript, espruino/Espruino RELEASE_2V29); each list says where it comes from.
 */
export type DeviceTarget = 'kaluma' | 'espruino';
export type Target = DeviceTarget | 'host';

/** Syntax rules the profile check knows; each target forbids a subset. */
export type SyntaxRule =
  | 'optional-chaining'
  | 'private-class-member'
  | 'class-static-block'
  | 'class-field'
  | 'logical-assignment'
  | 'dynamic-import'
  | 'import-meta'
  | 'module-syntax'
  | 'regexp-named-group-or-lookbehind'
  | 'regexp-espruino'
  | 'destructuring'
  | 'spread'
  | 'rest-parameter'
  | 'default-parameter'
  | 'computed-key'
  | 'exponent-operator'
  | 'async-function'
  | 'generator'
  | 'label'
  | 'for-of'
  | 'tagged-template'
  | 'loop-closure-over-let'
  | 'identifier-of'
  | 'new-target'
  | 'numeric-separator'
  | 'optional-catch-binding'
  | 'bigint-literal'
  | 'with-statement'
  | 'length-assignment'
  | 'code-evaluation';

export interface RuntimeProfile {
  target: DeviceTarget;
  /** What the runtime is, for messages. */
  runtime: string;
  /** Code is parsed in strict mode (Kaluma: JERRY_PARSE_STRICT_MODE, src/runtime.c). */
  strict: boolean;
  /** Function declarations are hoisted (Espruino: no, define before use). */
  hoisting: boolean;
  /** Names `require()` loads; anything else fails on the device. */
  builtinModules: string[];
  forbiddenSyntax: SyntaxRule[];
  /** Global names user code may reference (ECMAScript built-ins present + the runtime's own). */
  globals: string[];
  /** `Global.member` pairs that do not exist on the runtime. */
  missingMembers: string[];
  /** Method names missing on the runtime's built-in prototypes, refused on any object. */
  missingMethods: string[];
  /**
   * Heap the runtime, the kit and an example image may hold on the device together, bytes: half of
   * the device's heap, the other half is the product's. The engine check's budget for the image is
   * this less `runtimeBoot` and the `runtimeModules` the image requires.
   */
  heapBudget: number;
  /** Heap the runtime holds once booted, before the image runs, bytes (measured: docs/performance.md). */
  runtimeBoot: number;
  /**
   * Heap each runtime module costs once required, bytes, and the modules it requires itself
   * (measured on the engine built from source with the runtime's own module code: docs/performance.md).
   */
  runtimeModules: { [module: string]: { bytes: number; requires: string[] } };
  /**
   * How much more QuickJS (the engine check's interpreter) holds than the runtime's own engine for
   * the same bundle, measured on the examples with the real engines built from source (`npm run
   * bench` with HOSHI_JERRY / HOSHI_ESPRUINO; docs/performance.md). The engine check's budget is
   * heapBudget × this, so it refuses what would not fit on the device within that margin; the real
   * figures are the bench rows.
   */
  quickjsFactor: number;
  /**
   * Set where the budget is on what the image holds once booted rather than at its peak: on Kaluma
   * boot and the modules' set-up let go of their code once they have run (firmware/device/boot.ts),
   * so the peak while the bundle is parsed and boots no longer tracks what stays. Then
   * `quickjsFactor` is QuickJS's memory after boot over the engine's retained heap, and the run's
   * peak is bounded by the whole heap (twice `heapBudget`, less the runtime) × this factor, QuickJS
   * peak over the engine's peak.
   */
  quickjsPeakFactor?: number;
}

const ES_GLOBALS = [
  'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'Date', 'Promise', 'RegExp', 'JSON', 'Math',
  'Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError',
  'ArrayBuffer', 'DataView', 'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array',
  'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  'Map', 'Set', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect', 'BigInt',
  'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI',
  'eval', 'globalThis', 'undefined', 'NaN', 'Infinity',
];

/** ES globals neither engine has (or that must not be used on a device). */
const ES_GLOBALS_NOWHERE = ['WeakRef', 'FinalizationRegistry', 'AggregateError', 'SharedArrayBuffer', 'Atomics', 'Intl'];

/** Present on neither runtime: Node and browser globals (Buffer, module, exports, __dirname…). */
const HOST_ONLY_GLOBALS = ['Buffer', 'module', 'exports', '__dirname', '__filename', 'queueMicrotask', 'structuredClone',
  'performance', 'fetch', 'setImmediate', 'window', 'document', 'navigator'];

/** Syntax both runtimes lack. */
const COMMON_FORBIDDEN: SyntaxRule[] = [
  'optional-chaining', 'private-class-member', 'class-static-block', 'logical-assignment', 'dynamic-import', 'import-meta',
  'module-syntax', 'regexp-named-group-or-lookbehind', 'with-statement',
  // Both runtimes have eval and Function: only the fixed loader may turn text into code
  // (firmware/host/loader-build.ts allows it for the loader's bundle alone).
  'code-evaluation',
];

export const KALUMA: RuntimeProfile = {
  target: 'kaluma',
  runtime: 'Kaluma 1.2.1 (JerryScript 2.4 es.next)',
  strict: true,
  hoisting: true,
  // targets/rp2/target.cmake MODULES (pico and pico-w); pico_cyw43 on pico-w only. Left out on
  // purpose: `storage` and `fs`/`vfs_lfs` write the sectors that hold Hoshi's partitions.
  builtinModules: ['events', 'gpio', 'led', 'button', 'pwm', 'adc', 'i2c', 'spi', 'uart', 'graphics', 'at', 'wifi',
    'stream', 'net', 'http', 'url', 'rp2', 'rtc', 'path', 'flash', 'vfs_fat', 'sdcard', 'wdt', 'pico_cyw43'],
  forbiddenSyntax: COMMON_FORBIDDEN,
  // ECMAScript built-ins of JerryScript es.next, plus src/global.c km_global_init and startup.js.
  globals: ES_GLOBALS.concat(['global', 'HIGH', 'LOW', 'INPUT', 'OUTPUT', 'INPUT_PULLUP', 'INPUT_PULLDOWN', 'LOW_LEVEL',
    'HIGH_LEVEL', 'RISING', 'FALLING', 'CHANGE', 'pinMode', 'digitalRead', 'digitalWrite', 'digitalToggle', 'pulseRead',
    'pulseWrite', 'setWatch', 'clearWatch', 'attachInterrupt', 'detachInterrupt', 'enableInterrupts', 'disableInterrupts',
    'analogRead', 'analogWrite', 'tone', 'noTone', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'delay',
    'millis', 'delayMicroseconds', 'micros', 'console', 'process', 'TextEncoder', 'TextDecoder', 'btoa', 'atob', 'SystemError',
    'print', 'seed', 'require', 'board',
    // targets/rp2/boards/pico-w/board.js: the CYW43's devices, made at boot (Pico W only).
    '__netdev', '__ieee80211dev',
    // What the fixed loader booted, set before it evaluates the image (boards/kaluma-pico-w/loader.ts).
    '__hoshiLoader']),
  // Not in JerryScript's builtin tables (ecma-builtin-*.inc.h) nor in Kaluma's process object.
  missingMembers: ['Object.hasOwn', 'Promise.allSettled', 'Promise.any', 'process.env', 'process.nextTick', 'process.exit',
    'console.warn', 'console.info', 'console.debug'],
  missingMethods: ['at'],
  // Half of TARGET_HEAPSIZE 180 KB: the runtime, the kit and an example leave the other half to the product.
  heapBudget: 90 * 1024,
  // Retained heap after a Pico W boot (startup.js, board.js with fs, path, vfs_lfs, flash and
  // pico_cyw43, which makes __netdev and __ieee80211dev), and per JavaScript module of Kaluma 1.2.1
  // loaded from its snapshot as the firmware does: JerryScript 984c39fa configured like Kaluma's
  // RP2040 build (docs/performance.md). Hoshi's Pico W binding uses the CYW43 devices directly and
  // requires none of events, wifi, stream, net or http.
  runtimeBoot: 13608,
  runtimeModules: {
    events: { bytes: 1168, requires: [] },
    wifi: { bytes: 2400, requires: ['events'] },
    stream: { bytes: 0, requires: ['events'] },
    // stream and net together; a listening server with one open connection adds 1,624.
    net: { bytes: 6504 + 1624, requires: ['events', 'stream'] },
    http: { bytes: 4672 + 768, requires: ['net'] },
    rp2: { bytes: 5416, requires: [] },
    wdt: { bytes: 96, requires: [] },
    flash: { bytes: 0, requires: [] },
  },
  // smart-plug (with accounts, the admin channel and the setup access point; its messages in the
  // assets, core/messages.ts): QuickJS after boot 207,746 bytes (unprovisioned) and 227,644
  // (provisioned, Wi-Fi joined) over the fakes; JerryScript with Kaluma's own runtime, retained
  // after boot less the runtime's boot: 70,704 and 78,000 bytes: 2.938 and 2.918. The check uses
  // the smaller, rounded down, so an image it accepts holds at most its budget on the engine in
  // both states. (Moving the messages out of the code saves JerryScript more than QuickJS: the
  // factor was 2.75 before.)
  quickjsFactor: 2.91,
  // Peaks: QuickJS 267,730 and 269,927 bytes, JerryScript 100,136 and 110,528 (Kaluma's boot
  // included): 2.67 and 2.44; the check uses the smaller.
  quickjsPeakFactor: 2.44,
};

export const ESPRUINO: RuntimeProfile = {
  target: 'espruino',
  runtime: 'Espruino 2v29 (ESP32)',
  strict: false,
  hoisting: false,
  // boards/ESP32.py libraries: the "type":"library" wrappers compiled in.
  builtinModules: ['Flash', 'Storage', 'timer', 'heatshrink', 'http', 'net', 'dgram', 'tls', 'Wifi', 'TelnetServer', 'crypto',
    'fs', 'neopixel', 'NetworkJS'],
  forbiddenSyntax: COMMON_FORBIDDEN.concat(['destructuring', 'spread', 'rest-parameter', 'default-parameter', 'computed-key',
    'exponent-operator', 'async-function', 'generator', 'label', 'for-of', 'tagged-template', 'loop-closure-over-let',
    'identifier-of', 'new-target', 'numeric-separator', 'optional-catch-binding', 'bigint-literal', 'class-field',
    'regexp-espruino', 'length-assignment']),
  globals: ES_GLOBALS.filter((name) => ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'BigInt',
    'BigInt64Array', 'BigUint64Array'].indexOf(name) < 0).concat(['global', 'E', 'ESP32', 'getSerial', 'getTime', 'setTime',
    'process', 'console', 'require', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'changeInterval',
    'setWatch', 'clearWatch', 'digitalWrite', 'digitalRead', 'digitalPulse', 'pinMode', 'getPinMode', 'analogRead', 'analogWrite',
    'atob', 'btoa', 'print', 'load', 'save', 'reset', 'dump', 'Pin', 'SPI', 'I2C', 'Serial', 'LED1',
    // What the fixed loader booted, set before it evaluates the image (boards/espruino-esp32/loader.ts).
    '__hoshiLoader']),
  // Missing from the jswrap_*.c JSON headers of RELEASE_2V29.
  missingMembers: ['Object.freeze', 'Object.seal', 'Object.isFrozen', 'Object.hasOwn', 'Array.from', 'Array.of',
    'ArrayBuffer.isView', 'Uint8Array.from', 'Uint8Array.of', 'Int32Array.from', 'Uint32Array.from', 'Number.isInteger',
    'Number.isSafeInteger', 'Number.isFinite', 'Number.isNaN', 'Math.imul', 'Math.clz32', 'Math.trunc', 'Math.hypot',
    'Math.log2', 'Math.log10', 'Math.cbrt', 'Math.fround', 'Promise.race', 'Promise.allSettled', 'Promise.any'],
  missingMethods: ['at', 'flat', 'flatMap', 'reduceRight', 'copyWithin', 'trimStart', 'trimEnd', 'codePointAt', 'localeCompare',
    'toPrecision', 'finally'],
  // ESP32: about 16000 JsVars of 16 bytes; the kit and an example leave half of them to the product.
  heapBudget: 128 * 1024,
  // Espruino's modules are native: requiring one costs a few variables. Its own boot on the ESP32
  // (Wi-Fi, network and Telnet objects) is not measured here: the Linux build has none of them.
  runtimeBoot: 0,
  runtimeModules: {},
  // Calibrated on Espruino 2v29 built from source (Linux, 12,000 variables), the image booted by the
  // fixed loader from its slot file, as an ESP32 runs it (firmware/host/real-engines.ts
  // runLoaderOnRealEngine), variables over the fakes after a request: smart-plug 4,183 (66,928
  // bytes) against QuickJS's 427,934, 6.39; env-sensor 4,091 (65,456) against 419,454, 6.41. The
  // factor grew from 2.0 with the update module: Espruino keeps the function code of a Storage file
  // in flash, QuickJS holds it as bytecode, so the worker's code (modules/ota) weighs on QuickJS
  // only. Rounded down: an image this check accepts holds at most its budget on the engine.
  quickjsFactor: 6.3,
};

export const PROFILES: { [target in DeviceTarget]: RuntimeProfile } = { kaluma: KALUMA, espruino: ESPRUINO };

/** The runtime modules a bundle requires, with the ones they require themselves. */
export function requiredModules(code: string, profile: RuntimeProfile): string[] {
  const out: string[] = [];
  const add = (name: string): void => {
    if (out.includes(name)) return;
    out.push(name);
    for (const dep of profile.runtimeModules[name]?.requires ?? []) add(dep);
  };
  for (const m of code.matchAll(/\brequire\((["'])([\w-]+)\1\)/g)) add(m[2]!);
  return out.sort();
}

/**
 * What the image itself may hold on the device, bytes: half the heap, less the runtime's boot and
 * the runtime modules the bundle requires.
 */
export function imageBudget(code: string, profile: RuntimeProfile): { bytes: number; modules: string[]; runtime: number } {
  const modules = requiredModules(code, profile);
  let runtime = profile.runtimeBoot;
  for (const m of modules) runtime += profile.runtimeModules[m]?.bytes ?? 0;
  return { bytes: profile.heapBudget - runtime, modules, runtime };
}

/** Globals neither runtime has; referenced by the check's messages. */
export const NOWHERE_GLOBALS = ES_GLOBALS_NOWHERE.concat(HOST_ONLY_GLOBALS);

export const SYNTAX_MESSAGES: { [rule in SyntaxRule]: string } = {
  'optional-chaining': 'optional chaining (?.)',
  'private-class-member': 'private class member (#name)',
  'class-static-block': 'class static block',
  'class-field': 'class field declaration',
  'logical-assignment': 'logical assignment (&&=, ||=, ??=)',
  'dynamic-import': 'dynamic import()',
  'import-meta': 'import.meta',
  'module-syntax': 'import/export statement',
  'regexp-named-group-or-lookbehind': 'regular expression named group or lookbehind',
  'regexp-espruino': 'regular expression feature Espruino lacks ({n,m} quantifier, (?…) group, \\b, back-reference, or a quantified group: they fail silently or throw)',
  destructuring: 'destructuring',
  spread: 'spread (...)',
  'rest-parameter': 'rest parameter (...)',
  'default-parameter': 'default parameter',
  'computed-key': 'computed property key',
  'exponent-operator': 'exponent operator (**)',
  'async-function': 'async function / await',
  generator: 'generator function / yield',
  label: 'labelled statement',
  'for-of': 'for..of loop',
  'tagged-template': 'tagged template',
  'loop-closure-over-let': 'closure over a let/const loop variable (no per-iteration binding)',
  'identifier-of': "identifier named 'of'",
  'new-target': 'new.target',
  'numeric-separator': 'numeric separator (1_000)',
  'optional-catch-binding': 'catch without a binding',
  'bigint-literal': 'BigInt literal',
  'with-statement': 'with statement',
  // Found on Espruino 2v29's Linux build: `a.length = 0` throws "Assignment to a constant" (length is read-only there).
  'length-assignment': 'assignment to .length (read-only on Espruino: use splice)',
  'code-evaluation': 'code made from text (eval, Function)',
};

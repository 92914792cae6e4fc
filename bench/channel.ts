import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import type { DeviceTarget } from '../firmware/host/profiles';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';
import { base64Encode } from '../firmware/device/core/base64';
import { CHANNEL_HEADER, channelKeys, COSE_ENCRYPT0, protectAnswer, protectRequest } from '../modules/channel/channel';
import { jsCrypto } from '../modules/crypto/provider-js';
import { jsCryptoCore } from '../modules/crypto/provider-core';
import { runChannel, type ChannelBenchInput } from './device/channel-ops';
import { ms, table } from './crypto';

/**
 * Admin channel rows of `npm run bench` (modules/channel; docs/formats/channel.md): what the
 * channel adds to each admin request and to a session. Always: bytes per protected message, and
 * the RAM a session's channel state takes in the engine check's QuickJS (a proxy). With
 * HOSHI_JERRY / HOSHI_ESPRUINO and valgrind: x86 instructions counted on the real engines
 * (JerryScript with the Kaluma boards' pure-JavaScript provider; Espruino with the ESP32 board's
 * native crypto) for the keys made at login and for one protected request with its answer, the
 * RP2040 estimate, and the RAM a session's channel state takes there.
 * docs/performance.md ("Admin channel") explains them.
 */

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** Requests made per op: the most any run sends. */
const K = 3;
/** Session states kept by a hold run, over the one of the base run: RAM per state is (m(1 + HOLD) - m(1)) / HOLD. */
const HOLD = 16;

/** The route's answer to every request: 30 bytes of JSON. */
const ANSWER = '{"ok":true,"mustChange":false}';

/** Bodies as the admin routes take them: JSON of 0, 11, 120 and 250 bytes (the lengths are checked). */
function bodies(): { what: string; method: string; path: string; op: string; body: string }[] {
  const b64 = (n: number): string => base64Encode(new Uint8Array(randomBytes(n)));
  // A Wi-Fi set with a 30-character SSID and a 63-character passphrase (WPA2's longest).
  const wifi = JSON.stringify({ ssid: 'Workshop-2G-'.padEnd(30, 'x'), passphrase: 'quiet lantern over kiso '.padEnd(63, 'y') });
  // A password change as `hoshi password` sends it (100,000 iterations), with a 63-character password.
  const password = JSON.stringify({ password: 'Quiet lantern over Kiso, '.padEnd(63, 'z'), salt: b64(16), iterations: 100000, storedKey: b64(32), serverKey: b64(32) });
  const out = [
    { what: 'no body (GET, the request in the header)', method: 'GET', path: '/api/network/wifi', op: 'get', body: '' },
    { what: 'relay set {"on":true}', method: 'PUT', path: '/api/relay', op: 'request-11', body: '{"on":true}' },
    { what: 'Wi-Fi set', method: 'PUT', path: '/api/network/wifi', op: 'request-120', body: wifi },
    { what: 'password change', method: 'POST', path: '/api/password', op: 'request-250', body: password },
  ];
  const lengths = [0, 11, 120, 250];
  for (let i = 0; i < out.length; i++) if (out[i]!.body.length !== lengths[i]) throw new Error('channel bench: body ' + out[i]!.what + ' is ' + out[i]!.body.length + ' bytes, not ' + lengths[i]);
  return out;
}

/** A session of its own (Master Secret, setup key and token new at each run) and its protected requests, sequence numbers from 0. */
export function makeInput(): ChannelBenchInput {
  const secret = new Uint8Array(randomBytes(32));
  const setupKey = new Uint8Array(randomBytes(16));
  const token = new Uint8Array(randomBytes(18));
  const keys = channelKeys(jsCrypto, secret, setupKey, token);
  const input: ChannelBenchInput = { secret: hex(secret), setupKey: hex(setupKey), token: hex(token), client: hex(keys.client), device: hex(keys.device), iv: hex(keys.iv), requests: {}, gets: [], answer: ANSWER };
  for (const b of bodies()) {
    const messages: string[] = [];
    for (let seq = 0; seq < K; seq++) messages.push(hex(protectRequest(jsCrypto, keys, seq, b.method + ' ' + b.path, enc(b.body))));
    if (b.op === 'get') input.gets = messages.map((m) => base64Encode(new Uint8Array(Buffer.from(m, 'hex'))));
    else input.requests[b.op] = { method: b.method, path: b.path, length: b.body.length, messages };
  }
  return input;
}

/** Bytes on the wire: each body protected at sequence numbers of 1, 2 and 3 bytes, its answer, and a GET's header. */
function wireBytes(): void {
  const keys = channelKeys(jsCrypto, new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(16)), new Uint8Array(randomBytes(18)));
  const rows: string[][] = [['body', 'bytes', 'request (seq < 256)', 'seq < 65,536', 'seq < 2^24', 'seq < 2^40', 'answer with this body']];
  for (const b of bodies()) {
    const plain = enc(b.body);
    const sizes = [0, 256, 65536, 2 ** 32].map((seq) => protectRequest(jsCrypto, keys, seq, b.method + ' ' + b.path, plain).length);
    const answer = protectAnswer(jsCrypto, keys, new Uint8Array([0]), 200, plain).length;
    const cell = (n: number): string => n + ' (+' + (n - plain.length) + ')';
    rows.push([b.what, String(plain.length), ...sizes.map(cell), cell(answer)]);
  }
  const answer = protectAnswer(jsCrypto, keys, new Uint8Array([0]), 200, enc(ANSWER)).length;
  console.log('\nmodules/channel: bytes of a protected message (COSE_Encrypt0, AES-CCM-16-64-128), the overhead over the JSON in brackets');
  table(rows);
  const header = (seq: number): number => base64Encode(protectRequest(jsCrypto, keys, seq, 'GET /api/network/wifi', new Uint8Array(0))).length;
  console.log('the ' + ANSWER.length + '-byte answer of the per-request rows: ' + answer + ' bytes protected (+' + (answer - ANSWER.length) + ')');
  console.log('a GET\'s ' + CHANNEL_HEADER + ' header value (base64): ' + header(0) + ' characters (seq < 256), ' + header(256) + ' (seq < 65,536), ' + header(65536) + ' (seq < 2^24), ' + header(2 ** 32) +
    ' (seq < 2^40); the header line "' + CHANNEL_HEADER + ': …\\r\\n" adds ' + (CHANNEL_HEADER.length + 4) + ' more');
  console.log('Content-Type of a protected body and answer: ' + COSE_ENCRYPT0.length + ' characters (application/json: 16)');
}

/** The device bundle of the channel ops for `target`. */
async function bundle(target: DeviceTarget): Promise<string> {
  const file = target === 'kaluma' ? 'channel-js' : 'channel-native';
  const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';';
  return (await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'))).code;
}

const HOLDS: [string, string][] = [
  ['hold-channel', 'a session\'s channel state: {keys: {client, device, iv}, seq}'],
  ['hold-key32', 'before the channel: {key} (one 32-byte key)'],
];

/** QuickJS bytes per kept state (the engine check's proxy): each hold over the same count of empty objects. */
async function quickjsHeld(target: DeviceTarget, code: string, input: string): Promise<{ [op: string]: number }> {
  const per: { [op: string]: number } = {};
  const report = await runInEngine(code, target, {
    library: true,
    budgetBytes: 1024 * 1024,
    session: (engine) => {
      const held = (op: string): number => {
        const before = engine.memory();
        engine.js(`__bench('${op}', ${HOLD}, ${JSON.stringify(input)})`);
        return (engine.memory() - before) / HOLD;
      };
      const empty = held('hold-empty');
      for (const [op] of HOLDS) per[op] = held(op) - empty;
    },
  });
  if (!report.booted) throw new Error('channel bench bundle on ' + target + ': ' + report.error);
  return per;
}

/** Per-request operations counted on the real engines: (count(K) - count(1)) / (K - 1). */
const OPS: [string, string][] = [
  ['keys', 'login: the session\'s keys (channelKeys: 1 HKDF-Extract + 3 HKDF-Expand)'],
  ['former', '  what they replaced: the former session key\'s HKDF-Expand'],
  ['get', 'GET, request in the header (empty body) + ' + ANSWER.length + '-byte answer'],
  ['request-11', 'PUT, 11-byte body + ' + ANSWER.length + '-byte answer'],
  ['request-120', 'PUT, 120-byte body (Wi-Fi set) + ' + ANSWER.length + '-byte answer'],
  ['request-250', 'POST, 250-byte body (password change) + ' + ANSWER.length + '-byte answer'],
  ['answer', '  of which the ' + ANSWER.length + '-byte answer protected'],
];

export async function channelBench(): Promise<void> {
  wireBytes();
  const input = makeInput();
  const given = JSON.stringify(input);
  // The driver on the host first (the host board's pure-JavaScript crypto): every request opens.
  for (const [op] of OPS) runChannel(jsCryptoCore, op, K, input);

  const code: { [target in DeviceTarget]?: string } = {};
  const ram: string[][] = [['engine', 'what a session holds', 'per session']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    code[target] = await bundle(target);
    const per = await quickjsHeld(target, code[target]!, given);
    for (const [op, what] of HOLDS) ram.push(['QuickJS, ' + target + ' bundle', what, Math.round(per[op]!) + ' B']);
  }
  console.log('\nmodules/channel: RAM a session holds for the channel (key material 16 + 16 + 13 = 45 bytes, and the sequence number); QuickJS bytes over as many empty objects (engine check\'s proxy)');
  table(ram);

  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the admin channel on the real engines)');
    return;
  }
  const rows: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate']];
  const memory: string[][] = [['engine', 'what a session holds', 'per session']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const engine = target === 'kaluma' ? 'JerryScript (pure-JS crypto)' : 'Espruino (native crypto)';
    const count = (op: string, k: number, extra = '', after = '', fromStorage = false): { instructions: number; memory: number; failure: string } => {
      const r = countOnRealEngine(bin, target, code[target]!, `__bench('${op}', ${k}, ${JSON.stringify(given)}${extra});${after}`, { fromStorage });
      const bad = /LOW_MEMORY|Uncaught|Error:?.*|channel bench:.*/.exec(r.output);
      return { instructions: r.instructions, memory: r.memory, failure: bad ? bad[0] : r.instructions > 0 ? '' : 'no count' };
    };
    for (const [op, what] of OPS) {
      const one = count(op, 1);
      const many = count(op, K);
      const failure = one.failure || many.failure;
      const per = (many.instructions - one.instructions) / (K - 1);
      rows.push([engine, what, failure ? 'fails: ' + failure : String(Math.round(per)), failure || target !== 'kaluma' ? '-' : ms(per)]);
    }
    // JerryScript reports its peak heap only: a full collection after each state kept and at the
    // end, then an array larger than any transient peak of the run (input, keys, garbage), so that
    // the peak is what is held plus that array in both runs. Espruino: variables in use at the end
    // (after its collection), the bundle run from Storage as on an ESP32.
    const kaluma = target === 'kaluma';
    const held = (op: string): number => {
      const one = count(op, 1, kaluma ? ', gc' : '', kaluma ? 'gc(); new Uint8Array(65536);' : '', !kaluma);
      const many = count(op, 1 + HOLD, kaluma ? ', gc' : '', kaluma ? 'gc(); new Uint8Array(65536);' : '', !kaluma);
      if (one.failure || many.failure) throw new Error('channel bench: ' + op + ' on ' + target + ': ' + (one.failure || many.failure));
      return (many.memory - one.memory) / HOLD;
    };
    const empty = held('hold-empty');
    for (const [op, what] of HOLDS) {
      const m = held(op) - empty;
      memory.push([engine, what, target === 'kaluma' ? Math.round(m) + ' B (peak heap)' : m.toFixed(1) + ' variables (' + Math.round(m * 16) + ' B on an ESP32)']);
    }
  }
  console.log('\nmodules/channel on the real engines (callgrind, parse and run only; RP2040 at 133 MHz, 6.8–10.4 cycles per instruction)');
  table(rows);
  console.log('\nmodules/channel: RAM a session holds for the channel on the real engines (over as many empty objects)');
  table(memory);
}

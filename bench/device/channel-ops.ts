// The admin channel's device side for `npm run bench` (bench/channel.ts): __bench(op, k, input, after).
// What the accounts guard does per protected request (modules/accounts/index.ts, its `channel`
// wrapper): the carried bytes (the body, or for GET the Hoshi-Channel header base64-decoded), the
// COSE_Encrypt0 decoded, the sequence number checked, the request opened (AES-CCM), then the
// route's JSON answer made into bytes and protected (AES-CCM) with the request's nonce. Without
// HTTP parsing and sending, the session lookup and the route itself. The keys and the protected
// requests are made on the host (`input`).
import type { CryptoProvider } from '../../hal/crypto';
import { asciiBytes, utf8Bytes } from '../../firmware/device/core/bytes';
import { base64Decode } from '../../firmware/device/core/base64';
import { hkdfExpand } from '../../modules/crypto/hkdf';
import { channelKeys, decodeProtected, openRequest, protectAnswer, seqOf, type ChannelKeys } from '../../modules/channel/channel';

/** What the host made for the run (bench/channel.ts): hex for bytes. */
export interface ChannelBenchInput {
  /** The login's Master Secret (`sessionSecret`), the unit's setup key (Master Salt), the session token (ID Context). */
  secret: string;
  setupKey: string;
  token: string;
  /** The session's keys as channelKeys makes them from the three above. */
  client: string;
  device: string;
  iv: string;
  /** Protected requests by op ('request-11', …): method, path, the body's length, one message per sequence number from 0 (hex). */
  requests: { [op: string]: { method: string; path: string; length: number; messages: string[] } };
  /** GET requests' Hoshi-Channel header values (base64), sequence numbers from 0. */
  gets: string[];
  /** The route's answer, a JSON text. */
  answer: string;
}

function hex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

/** What the hold ops keep, for the life of the program. */
const held: unknown[] = [];

/**
 * Runs `op` `k` times; returns a sum of what it made (so that nothing is left unused). Throws if a
 * request does not open or opens to the wrong length. `after`, when given, is called after each
 * item a hold op keeps (JerryScript's `gc`: its peak then counts what is held, not garbage).
 * - load: nothing (the input parsed);
 * - keys: a session's keys (channelKeys: 1 HKDF-Extract + 3 HKDF-Expand), as at login;
 * - former: what the channel's keys replaced at login: the former session key's HKDF-Expand (one
 *   HMAC: 32 bytes, label "hoshi admin channel v1", from the same 32-byte PRK);
 * - request-11, request-120, request-250: k protected requests of that body, each opened and answered;
 * - get: k GETs, the request in the header (empty body), each opened and answered;
 * - answer: k answers protected (the 30-byte JSON answer of the requests);
 * - hold-channel: k session states kept: {keys, seq} with channelKeys' keys;
 * - hold-key32: k kept as a session held its key before the channel: {key} (32 bytes);
 * - hold-empty: k empty objects kept (the difference to the two above is what they hold).
 */
export function runChannel(p: CryptoProvider, op: string, k: number, input: ChannelBenchInput, after?: () => void): number {
  // Every input is made before any operation, whatever op and k: set-up cancels out of differences.
  const secret = hex(input.secret);
  const setupKey = hex(input.setupKey);
  const token = hex(input.token);
  const keys: ChannelKeys = { client: hex(input.client), device: hex(input.device), iv: hex(input.iv) };
  const request = input.requests[op];
  const messages: Uint8Array[] = [];
  if (request) for (let i = 0; i < request.messages.length; i++) messages.push(hex(request.messages[i]));
  const label = asciiBytes('hoshi admin channel v1');

  // The session's channel state, as the guard holds it.
  const session = { keys: keys, seq: -1 };
  let sum = 0;
  // The guard's wrapper, from the carried bytes to the protected answer.
  const serve = (method: string, path: string, carried: Uint8Array | undefined, length: number): void => {
    const d = carried && carried.length ? decodeProtected(carried, true) : 'no protected request';
    if (typeof d === 'string') throw new Error('channel bench: ' + d);
    // In the guard's order: authenticity first, then the sequence number.
    const body = openRequest(p, session.keys, d[0], method + ' ' + path, d[1]);
    if (!body || body.length !== length) throw new Error('channel bench: ' + method + ' ' + path + ' does not open');
    const seq = seqOf(d[0]);
    if (seq <= session.seq) throw new Error('channel bench: sequence number ' + seq + ' replayed');
    session.seq = seq;
    const answer = protectAnswer(p, session.keys, d[0], 200, utf8Bytes(input.answer));
    sum = sum + answer.length;
  };

  if (op === 'load') return 1;
  for (let i = 0; i < k; i++) {
    if (op === 'keys') sum = sum + channelKeys(p, secret, setupKey, token).iv[0];
    else if (op === 'former') sum = sum + hkdfExpand(p, secret, label, 32)[0];
    else if (request) {
      if (i >= messages.length) throw new Error('channel bench: not enough requests made');
      serve(request.method, request.path, messages[i], request.length);
    } else if (op === 'get') serve('GET', '/api/network/wifi', base64Decode(input.gets[i]), 0);
    else if (op === 'answer') sum = sum + protectAnswer(p, keys, new Uint8Array([i]), 200, utf8Bytes(input.answer)).length;
    else if (op === 'hold-channel' || op === 'hold-key32' || op === 'hold-empty') {
      // Each variant derives the keys (the transient work is the same), and keeps what it holds.
      const made = channelKeys(p, secret, setupKey, token);
      if (op === 'hold-channel') held.push({ keys: made, seq: i });
      else if (op === 'hold-key32') held.push({ key: hkdfExpand(p, secret, label, 32) });
      else held.push({});
      if (after) after();
    } else throw new Error('unknown op ' + op);
  }
  return sum + held.length;
}

/** Defines __bench(op, k, inputJson, after) on the engine. */
export function install(p: CryptoProvider): void {
  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number, input: string, after?: () => void): number {
    return runChannel(p, op, k, JSON.parse(input) as ChannelBenchInput, after);
  };
}

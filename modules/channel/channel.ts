import type { CryptoProvider } from '../../hal/crypto';
import { ccmOpen, ccmSeal } from '../crypto/ccm';
import { hkdfExpand, hkdfExtract } from '../crypto/hkdf';

/**
 * The admin channel (docs/formats/channel.md): every request and answer body of an admin route,
 * after login, is a COSE_Encrypt0 (RFC 9052 §5.2, tag 16) with AES-CCM-16-64-128 (RFC 9053 §4.2,
 * COSE alg 10: 128-bit key, 13-byte nonce, 64-bit tag). The security context is OSCORE's
 * (RFC 8613): keys and the common IV by HKDF-SHA-256 (§3.2), the nonce from the sender's ID and
 * the sequence number (§5.2), the external AAD (§5.4), an answer under the device's key with its
 * request's nonce (§8.3). HTTP carries the COSE objects as they are (no CoAP inside).
 *
 * One context per login session:
 * - Master Secret: HKDF-Extract(salt = the SCRAM AuthMessage, IKM = the ClientKey), which only the
 *   client and the device know after a login (modules/accounts/scram.ts `sessionSecret`);
 * - Master Salt: the unit's setup key (setup.ts), which an eavesdropper does not have;
 * - ID Context: the session token (every session's keys differ, and are bound to it);
 * - Sender IDs: the client's is empty, the device's is 0x01.
 * Shared by the device (modules/accounts), the admin page and the host client.
 */

/** The channel's numbers (a const enum: the bundler writes the values into the code). */
export const enum Channel {
  /** The format's version: the first element of the external AAD (OSCORE's oscore_version). */
  VERSION = 1,
  /** COSE algorithm AES-CCM-16-64-128. */
  ALG = 10,
  KEY = 16,
  NONCE = 13,
  TAG = 8,
  /** Bytes of a partial IV (sequence number, big-endian without leading zeros): 1..5 (RFC 8613 §6.1). */
  PIV_MAX = 5,
  /** Highest sequence number: 2^40 - 1. */
  SEQ_MAX = 1099511627775,
}

/** The media type of a protected body (RFC 9052 §9.1). */
export const COSE_ENCRYPT0 = 'application/cose; cose-type="cose-encrypt0"';
/** The header carrying the protected request of a GET (browsers send no body with GET): base64 (RFC 4648 §4), padded. */
export const CHANNEL_HEADER = 'hoshi-channel';

/** A session's keys: the client's sender key, the device's sender key and the common IV. */
export interface ChannelKeys {
  client: Uint8Array;
  device: Uint8Array;
  iv: Uint8Array;
}

/** A CBOR byte string (major type 2): head and bytes, for n < 65536. */
function bstr(b: Uint8Array | number[]): number[] {
  const n = b.length;
  const out = n < 24 ? [0x40 + n] : n < 256 ? [0x58, n] : [0x59, n >> 8, n & 0xff];
  for (let i = 0; i < n; i++) out.push(b[i]);
  return out;
}

/**
 * RFC 8613 §3.2.1: the context's keys. info = [id, id_context, alg_aead, type, L] in CBOR, one
 * HKDF-Expand each from PRK = HMAC(Master Salt, Master Secret).
 */
export function channelKeys(p: CryptoProvider, masterSecret: Uint8Array, masterSalt: Uint8Array, idContext: Uint8Array): ChannelKeys {
  const prk = hkdfExtract(p, masterSalt, masterSecret);
  const ctx = bstr(idContext);
  // array(5); id (h'' or h'01'); id_context; 10; "Key" 16 | "IV" 13
  const derive = (id: number[], type: number[], n: number): Uint8Array => hkdfExpand(p, prk, new Uint8Array([0x85].concat(id, ctx, [Channel.ALG], type, [n])), n);
  return {
    client: derive([0x40], [0x63, 0x4b, 0x65, 0x79], Channel.KEY),
    device: derive([0x41, 0x01], [0x63, 0x4b, 0x65, 0x79], Channel.KEY),
    iv: derive([0x40], [0x62, 0x49, 0x56], Channel.NONCE),
  };
}

/** A sequence number as a partial IV: big-endian, no leading zeros, 0 as one zero byte. */
export function pivOf(seq: number): Uint8Array {
  const b: number[] = [];
  do {
    b.unshift(seq % 256);
    seq = Math.floor(seq / 256);
  } while (seq > 0);
  return new Uint8Array(b);
}

/**
 * AES-CCM under `key` with the nonce of RFC 8613 §5.2 for the client's (empty) sender ID: the
 * common IV XOR (0x00 ‖ 7 zero bytes ‖ the PIV left-padded to 5 bytes); and the AAD: Enc_structure
 * ["Encrypt0", h'a1010a', external_aad] (RFC 9052 §5.3) with external_aad = [1, [10], h'' (the
 * request's kid), request PIV, options] (RFC 8613 §5.4). `options` binds the HTTP parts outside
 * the body: "METHOD /path" in a request, the status ("200") in an answer. Seals, or opens
 * (undefined if it does not authenticate).
 */
function aead(p: CryptoProvider, key: Uint8Array, iv: Uint8Array, piv: Uint8Array, options: string, data: Uint8Array, seal: boolean): Uint8Array | undefined {
  const nonce = new Uint8Array(iv);
  for (let i = 0; i < piv.length; i++) nonce[Channel.NONCE - piv.length + i] ^= piv[i];
  const o: number[] = [];
  for (let i = 0; i < options.length; i++) o.push(options.charCodeAt(i) & 0x7f);
  const ext = [0x85, Channel.VERSION, 0x81, Channel.ALG, 0x40].concat(bstr(piv), bstr(o));
  const aad = new Uint8Array([0x83, 0x68, 0x45, 0x6e, 0x63, 0x72, 0x79, 0x70, 0x74, 0x30, 0x43, 0xa1, 0x01, Channel.ALG].concat(bstr(ext)));
  const c = p.aes(key);
  return seal ? ccmSeal(c, nonce, aad, data, Channel.TAG) : ccmOpen(c, nonce, aad, data, Channel.TAG);
}

/** The COSE_Encrypt0's fixed start: tag 16, array(3), protected = bstr {1: 10}. */
const HEAD = [0xd0, 0x83, 0x43, 0xa1, 0x01, Channel.ALG];

/** A protected request: COSE_Encrypt0 [h'a1010a', {6: PIV}, ciphertext ‖ tag] under the client's key. */
export function protectRequest(p: CryptoProvider, keys: ChannelKeys, seq: number, options: string, body: Uint8Array): Uint8Array {
  const piv = pivOf(seq);
  return new Uint8Array(HEAD.concat([0xa1, 0x06], bstr(piv), bstr(aead(p, keys.client, keys.iv, piv, options, body, true)!)));
}

/** A protected answer: COSE_Encrypt0 [h'a1010a', {}, ciphertext ‖ tag] under the device's key, with its request's nonce. */
export function protectAnswer(p: CryptoProvider, keys: ChannelKeys, piv: Uint8Array, status: number, body: Uint8Array): Uint8Array {
  return new Uint8Array(HEAD.concat([0xa0], bstr(aead(p, keys.device, keys.iv, piv, String(status), body, true)!)));
}

/**
 * Decodes a COSE_Encrypt0 of exactly the shape above (untrusted bytes; never throws): a request
 * carries its PIV, an answer none. Returns [PIV or empty, ciphertext] or the reason it is refused.
 */
export function decodeProtected(b: Uint8Array, request: boolean): [Uint8Array, Uint8Array] | string {
  for (let i = 0; i < HEAD.length; i++) if (b[i] !== HEAD[i]) return 'not a COSE_Encrypt0 with AES-CCM-16-64-128';
  let at = HEAD.length;
  const n = request ? b[at + 2] - 0x40 : 0;
  const piv = b.subarray(at + 3, at + 3 + n);
  if (request ? b[at] !== 0xa1 || b[at + 1] !== 0x06 || !(n >= 1 && n <= Channel.PIV_MAX) || piv.length !== n || (n > 1 && piv[0] === 0) : b[at] !== 0xa0) return 'the unprotected header is not ' + (request ? '{6: minimal partial IV of 1 to 5 bytes}' : '{}');
  at += request ? 3 + n : 1;
  const h = b[at];
  const m = h >= 0x40 && h < 0x58 ? h - 0x40 : h === 0x58 ? b[at + 1] : h === 0x59 ? b[at + 1] * 256 + b[at + 2] : -1;
  at += h === 0x58 ? 2 : h === 0x59 ? 3 : 1;
  // One spelling per message: the length's head is the shortest (RFC 8949 §4.2.1).
  return m >= Channel.TAG && at + m === b.length && (h < 0x58 || (h === 0x58 ? m >= 24 : m >= 256)) ? [request ? piv : new Uint8Array(0), b.subarray(at)] : 'the ciphertext is not one shortest byte string of at least 8 bytes ending the message';
}

/** The request's plaintext, or undefined if it does not authenticate under `keys` for `options`. */
export function openRequest(p: CryptoProvider, keys: ChannelKeys, piv: Uint8Array, options: string, ct: Uint8Array): Uint8Array | undefined {
  return aead(p, keys.client, keys.iv, piv, options, ct, false);
}

/** The answer's plaintext, or undefined if it does not authenticate (the client's side). */
export function openAnswer(p: CryptoProvider, keys: ChannelKeys, piv: Uint8Array, status: number, ct: Uint8Array): Uint8Array | undefined {
  return aead(p, keys.device, keys.iv, piv, String(status), ct, false);
}

/** A PIV's sequence number. */
export function seqOf(piv: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < piv.length; i++) s = s * 256 + piv[i];
  return s;
}

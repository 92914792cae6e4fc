import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * The admin channel's format written again from the specifications, for the tests only, with
 * nothing taken from modules/channel: CBOR by hand (RFC 8949 §3, preferred encoding), the
 * COSE_Encrypt0 and its Enc_structure (RFC 9052 §5.2, §5.3), OSCORE's nonce (RFC 8613 §5.2) and
 * external AAD (§5.4, with `options` carrying "METHOD /path" or the status digits), and AES-CCM
 * from node:crypto (OpenSSL). The tests hold the channel's code against it.
 */

/** A CBOR head (major type, argument) in its shortest form. */
export function head(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const cbor = {
  uint: (n: number): Uint8Array => head(0, n),
  bstr: (b: Uint8Array): Uint8Array => concat(head(2, b.length), b),
  tstr: (s: string): Uint8Array => {
    const b = new Uint8Array(Buffer.from(s, 'utf8'));
    return concat(head(3, b.length), b);
  },
  array: (...items: Uint8Array[]): Uint8Array => concat(head(4, items.length), ...items),
  /** A map of already-encoded keys and values, in the order given. */
  map: (...pairs: [Uint8Array, Uint8Array][]): Uint8Array => concat(head(5, pairs.length), ...pairs.flat()),
  tag: (n: number, item: Uint8Array): Uint8Array => concat(head(6, n), item),
};

/** COSE algorithm AES-CCM-16-64-128 (RFC 9053 §4.2, table 10). */
export const AES_CCM_16_64_128 = 10;
/** The protected header: the bstr-wrapped map {1 (alg): 10}. */
export const PROTECTED = cbor.map([cbor.uint(1), cbor.uint(AES_CCM_16_64_128)]);

/** RFC 8613 §5.2: S ‖ ID_PIV left-padded to 7 bytes ‖ PIV left-padded to 5 bytes, XOR the common IV. */
export function oscoreNonce(commonIv: Uint8Array, senderId: Uint8Array, piv: Uint8Array): Uint8Array {
  const n = new Uint8Array(13);
  n[0] = senderId.length;
  n.set(senderId, 8 - senderId.length);
  n.set(piv, 13 - piv.length);
  for (let i = 0; i < 13; i++) n[i] ^= commonIv[i]!;
  return n;
}

/** RFC 8613 §5.4 external_aad = [oscore_version 1, [alg_aead], request_kid, request_piv, options]. */
export function externalAad(requestKid: Uint8Array, piv: Uint8Array, options: Uint8Array): Uint8Array {
  return cbor.array(cbor.uint(1), cbor.array(cbor.uint(AES_CCM_16_64_128)), cbor.bstr(requestKid), cbor.bstr(piv), cbor.bstr(options));
}

/** RFC 9052 §5.3 Enc_structure ["Encrypt0", protected, external_aad]. */
export function encStructure(protectedHeader: Uint8Array, external: Uint8Array): Uint8Array {
  return cbor.array(cbor.tstr('Encrypt0'), cbor.bstr(protectedHeader), cbor.bstr(external));
}

/** The channel's AAD for a message under request PIV `piv` and `options` ("PUT /api/relay", "200"). */
export function channelAad(piv: Uint8Array, options: string): Uint8Array {
  return encStructure(PROTECTED, externalAad(new Uint8Array(0), piv, new Uint8Array(Buffer.from(options, 'ascii'))));
}

/** A sequence number as a partial IV (RFC 8613 §6.1: big-endian, no leading zeros; 0 is one zero byte). */
export function piv(seq: number): Uint8Array {
  const hexDigits = seq.toString(16);
  return new Uint8Array(Buffer.from(hexDigits.length % 2 ? '0' + hexDigits : hexDigits, 'hex'));
}

/** The two shapes: a request [protected, {6: PIV}, ct ‖ tag], an answer [protected, {}, ct ‖ tag], tag 16. */
export function requestMessage(requestPiv: Uint8Array, sealed: Uint8Array): Uint8Array {
  return cbor.tag(16, cbor.array(cbor.bstr(PROTECTED), cbor.map([cbor.uint(6), cbor.bstr(requestPiv)]), cbor.bstr(sealed)));
}
export function answerMessage(sealed: Uint8Array): Uint8Array {
  return cbor.tag(16, cbor.array(cbor.bstr(PROTECTED), cbor.map(), cbor.bstr(sealed)));
}

/** AES-CCM with a 13-byte nonce and an 8-byte tag, by node:crypto: ciphertext ‖ tag. */
export function opensslSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: 8 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const ct = c.update(plaintext);
  c.final();
  return concat(ct, c.getAuthTag());
}

/** The plaintext, or undefined if ciphertext ‖ tag does not authenticate (node:crypto). */
export function opensslOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 8) return undefined;
  const d = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: 8 });
  d.setAuthTag(sealed.subarray(sealed.length - 8));
  d.setAAD(aad, { plaintextLength: sealed.length - 8 });
  try {
    const p = d.update(sealed.subarray(0, sealed.length - 8));
    d.final();
    return new Uint8Array(p);
  } catch {
    return undefined;
  }
}

/**
 * A COSE_Encrypt0 of the channel's shape taken apart by hand (the test's own reading, strict: the
 * exact protected header, a 1-byte PIV head, a ciphertext head of 1 to 3 bytes). Throws if it is not one.
 */
export function takeApart(m: Uint8Array, request: boolean): { piv: Uint8Array; sealed: Uint8Array } {
  const start = cbor.tag(16, concat(head(4, 3), cbor.bstr(PROTECTED)));
  if (Buffer.compare(m.subarray(0, start.length), start) !== 0) throw new Error('not the channel\'s COSE_Encrypt0 start');
  let at = start.length;
  let p = new Uint8Array(0);
  if (request) {
    if (m[at] !== 0xa1 || m[at + 1] !== 0x06 || m[at + 2]! < 0x41 || m[at + 2]! > 0x45) throw new Error('not {6: PIV}');
    const n = m[at + 2]! - 0x40;
    p = m.slice(at + 3, at + 3 + n);
    at += 3 + n;
  } else {
    if (m[at] !== 0xa0) throw new Error('not {}');
    at++;
  }
  const h = m[at]!;
  if (h < 0x40 || h > 0x59) throw new Error('the ciphertext is not a definite-length byte string');
  const n = h < 0x58 ? h - 0x40 : h === 0x58 ? m[at + 1]! : (m[at + 1]! << 8) | m[at + 2]!;
  at += h < 0x58 ? 1 : h === 0x58 ? 2 : 3;
  if (at + n !== m.length) throw new Error('ciphertext length');
  return { piv: p, sealed: m.slice(at) };
}

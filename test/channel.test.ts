import test from 'ava';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Channel, channelKeys, decodeProtected, openAnswer, openRequest, pivOf, protectAnswer, protectRequest, seqOf, type ChannelKeys } from '../modules/channel/channel';
import { ccmOpen, ccmSeal } from '../modules/crypto/ccm';
import { jsCrypto } from '../modules/crypto/provider-js';
import { answerMessage, cbor, channelAad, concat, encStructure, head, opensslOpen, opensslSeal, oscoreNonce, piv, PROTECTED, requestMessage, takeApart } from './channel-spec';
import { bytes, hex } from './vectors';

/**
 * The admin channel's primitives (modules/channel/channel.ts): known answers from RFC 8613
 * Appendix C, the messages checked against an implementation written from the specifications
 * (test/channel-spec.ts: CBOR by hand, OpenSSL's AES-CCM), and the decoder of untrusted bytes
 * under hostile input. Over real sockets: test/channel-http.test.ts; against Python's cbor2 and
 * cryptography: test/channel-interop.test.ts.
 */

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const EMPTY = new Uint8Array(0);

// RFC 8613 (OSCORE), Appendix C, https://www.rfc-editor.org/rfc/rfc8613#appendix-C. The bytes below
// are the RFC's; the first tests also prove them consistent with each other through node:crypto's
// HKDF and AES-CCM, so a mistyped byte fails there and not only in the code under test.
// C.1.1 / C.3.1 inputs: Master Secret, Master Salt; C.3.1 adds ID Context 0x37cbf3210017a2d3.
const MASTER_SECRET = bytes('0102030405060708090a0b0c0d0e0f10');
const MASTER_SALT = bytes('9e7ca92223786340');
const ID_CONTEXT = bytes('37cbf3210017a2d3');
// C.3.1 (client: Sender ID 0x, Recipient ID 0x01, with ID Context): the HKDF infos and the outputs.
const C3 = {
  infoSender: '85404837cbf3210017a2d30a634b657910',
  infoRecipient: '8541014837cbf3210017a2d30a634b657910',
  infoIv: '85404837cbf3210017a2d30a6249560d',
  senderKey: 'af2a1300a5e95788b356336eeecd2b92',
  recipientKey: 'e39a0c7c77b43f03b4b39ab9a268699f',
  commonIv: '2ca58fb85ff1b81c0b7181b85e',
  senderNonce0: '2ca58fb85ff1b81c0b7181b85e',
  recipientNonce0: '2da58fb85ff1b81d0b7181b85e',
};
// C.1.1 (client, no ID Context): the keys C.4 and C.7 use.
const C1 = { senderKey: 'f0910ed7295e6ad4b54fc793154302ff', recipientKey: 'ffb14e093c94c9cac9471648b4f98710', commonIv: '4622d4dd6d944168eefb54987c' };
// C.4, C.6 and C.7 (Sender Sequence Number 20, Partial IV 0x14; the inner CoAP GET /tv1 as plaintext).
const C4 = { nonce: '4622d4dd6d944168eefb549868', plaintext: '01b3747631', externalAad: '8501810a40411440', aad: '8368456e63727970743040488501810a40411440', ciphertext: '612f1092f1776f1c1668b3825e' };
const C6 = { nonce: '2ca58fb85ff1b81c0b7181b84a', plaintext: '01b3747631', externalAad: '8501810a40411440', aad: '8368456e63727970743040488501810a40411440', ciphertext: '72cd7273fd331ac45cffbe55c3' };
const C7 = { nonce: '4622d4dd6d944168eefb549868', plaintext: '45ff48656c6c6f20576f726c6421', aad: '8368456e63727970743040488501810a40411440', ciphertext: 'dbaad1e9a7e7b2a813d3c31524378303cdafae119106' };

/** Our AAD with the RFC's external_aad bytes inserted verbatim: ["Encrypt0", h'a1010a', external_aad]. */
const aadWithRfcExternal = (external: string): Uint8Array => encStructure(PROTECTED, bytes(external));

test('RFC 8613 C.3.1: channelKeys gives the Sender Key, Recipient Key and Common IV of the client with an ID Context', (t) => {
  // The vector itself, through node:crypto's HKDF with the RFC's info bytes (RFC 8613 §3.2.1: PRK =
  // HMAC(Master Salt, Master Secret), L = 16 for the keys and 13 for the IV).
  const expand = (info: string, l: number): string => Buffer.from(hkdfSync('sha256', MASTER_SECRET, MASTER_SALT, bytes(info), l)).toString('hex');
  t.is(expand(C3.infoSender, 16), C3.senderKey);
  t.is(expand(C3.infoRecipient, 16), C3.recipientKey);
  t.is(expand(C3.infoIv, 13), C3.commonIv);
  // The info structure [id, id_context, alg_aead, type, L] rebuilt by hand matches the RFC's bytes.
  const info = (id: Uint8Array, type: string, l: number): string => hex(cbor.array(cbor.bstr(id), cbor.bstr(ID_CONTEXT), cbor.uint(10), cbor.tstr(type), cbor.uint(l)));
  t.is(info(EMPTY, 'Key', 16), C3.infoSender);
  t.is(info(Uint8Array.of(1), 'Key', 16), C3.infoRecipient);
  t.is(info(EMPTY, 'IV', 13), C3.infoIv);
  // The code under test: the client's Sender ID is h'' (the client's key), the device's h'01'.
  const k = channelKeys(jsCrypto, MASTER_SECRET, MASTER_SALT, ID_CONTEXT);
  t.is(hex(k.client), C3.senderKey);
  t.is(hex(k.device), C3.recipientKey);
  t.is(hex(k.iv), C3.commonIv);
  // The nonces of C.3.1 (Partial IV 0) from the spec's own construction.
  t.is(hex(oscoreNonce(k.iv, EMPTY, Uint8Array.of(0))), C3.senderNonce0);
  t.is(hex(oscoreNonce(k.iv, Uint8Array.of(1), Uint8Array.of(0))), C3.recipientNonce0);
  // C.1 and C.2 do not map: without an ID Context the RFC's info carries CBOR null (0xf6) where the
  // channel always has a byte string (the session token), and C.2's client Sender ID is 0x00, not h''.
});

test('RFC 8613 C.6 (request, C.3 context, sequence number 20): the nonce and the external AAD are the RFC\'s', (t) => {
  // The vector is consistent: OpenSSL and modules/crypto seal its plaintext under its key, nonce and AAD to its ciphertext.
  t.is(hex(oscoreNonce(bytes(C3.commonIv), EMPTY, Uint8Array.of(20))), C6.nonce);
  t.is(hex(encStructure(EMPTY, bytes(C6.externalAad))), C6.aad);
  t.is(hex(externalOf(EMPTY, Uint8Array.of(0x14), EMPTY)), C6.externalAad);
  t.is(hex(opensslSeal(bytes(C3.senderKey), bytes(C6.nonce), bytes(C6.aad), bytes(C6.plaintext))), C6.ciphertext);
  t.is(hex(ccmSeal(jsCrypto.aes(bytes(C3.senderKey)), bytes(C6.nonce), bytes(C6.aad), bytes(C6.plaintext), 8)), C6.ciphertext);
  // The RFC's ciphertext itself cannot come out of protectRequest: OSCORE's Enc_structure has an
  // empty protected header (h''), the channel's carries {1: 10} (h'a1010a'), so the AADs differ in
  // that element even with options "" (where OSCORE has h'' too). What maps: with options "" the
  // channel's external AAD is byte for byte the RFC's, and its nonce is the RFC's. OpenSSL opens
  // protectRequest's output under the RFC's nonce and an AAD holding the RFC's external_aad verbatim.
  const k = channelKeys(jsCrypto, MASTER_SECRET, MASTER_SALT, ID_CONTEXT);
  const m = protectRequest(jsCrypto, k, 20, '', bytes(C6.plaintext));
  const parts = takeApart(m, true);
  t.is(hex(parts.piv), '14');
  t.is(hex(opensslOpen(bytes(C3.senderKey), bytes(C6.nonce), aadWithRfcExternal(C6.externalAad), parts.sealed)!), C6.plaintext);
  t.is(opensslOpen(bytes(C3.senderKey), bytes(C6.nonce), bytes(C6.aad), parts.sealed), undefined, 'the protected header is authenticated');
  // And the device opens the RFC's plaintext sealed that way by OpenSSL.
  const sealed = opensslSeal(bytes(C3.senderKey), bytes(C6.nonce), aadWithRfcExternal(C6.externalAad), bytes(C6.plaintext));
  t.deepEqual(sealed, parts.sealed);
  t.is(hex(openRequest(jsCrypto, k, Uint8Array.of(20), '', sealed)!), C6.plaintext);
});

test('RFC 8613 C.4 and C.7 (C.1 keys): a request\'s nonce, and the answer under the device\'s key with its request\'s nonce', (t) => {
  t.is(hex(opensslSeal(bytes(C1.senderKey), bytes(C4.nonce), bytes(C4.aad), bytes(C4.plaintext))), C4.ciphertext);
  t.is(hex(opensslSeal(bytes(C1.recipientKey), bytes(C7.nonce), bytes(C7.aad), bytes(C7.plaintext))), C7.ciphertext);
  t.is(hex(ccmSeal(jsCrypto.aes(bytes(C1.recipientKey)), bytes(C7.nonce), bytes(C7.aad), bytes(C7.plaintext), 8)), C7.ciphertext);
  t.is(hex(ccmOpen(jsCrypto.aes(bytes(C1.recipientKey)), bytes(C7.nonce), bytes(C7.aad), bytes(C7.ciphertext), 8)!), C7.plaintext);
  // C.1's keys in a channel context (the derivation differs, above; the protection does not).
  const k: ChannelKeys = { client: bytes(C1.senderKey), device: bytes(C1.recipientKey), iv: bytes(C1.commonIv) };
  const request = takeApart(protectRequest(jsCrypto, k, 20, '', bytes(C4.plaintext)), true);
  t.is(hex(opensslOpen(bytes(C1.senderKey), bytes(C4.nonce), aadWithRfcExternal(C4.externalAad), request.sealed)!), C4.plaintext);
  // C.7: the server's answer reuses the request's nonce (no Partial IV of its own) under the server's
  // Sender Key; the channel's answer binds the status, so its options are "200" where C.7's are h''.
  const answer = takeApart(protectAnswer(jsCrypto, k, Uint8Array.of(20), 200, bytes(C7.plaintext)), false);
  t.is(hex(answer.piv), '');
  t.is(hex(opensslOpen(bytes(C1.recipientKey), bytes(C7.nonce), encStructure(PROTECTED, externalOf(EMPTY, Uint8Array.of(20), text('200'))), answer.sealed)!), C7.plaintext);
  t.is(hex(openAnswer(jsCrypto, k, Uint8Array.of(20), 200, opensslSeal(bytes(C1.recipientKey), bytes(C7.nonce), channelAad(Uint8Array.of(20), '200'), bytes(C7.plaintext)))!), C7.plaintext);
});

function externalOf(kid: Uint8Array, p: Uint8Array, options: Uint8Array): Uint8Array {
  return cbor.array(cbor.uint(1), cbor.array(cbor.uint(10)), cbor.bstr(kid), cbor.bstr(p), cbor.bstr(options));
}

function randomKeys(): ChannelKeys {
  return { client: new Uint8Array(randomBytes(16)), device: new Uint8Array(randomBytes(16)), iv: new Uint8Array(randomBytes(13)) };
}

const SEQS = [0, 1, 23, 24, 255, 256, 65535, 65536, 16777215, 16777216, 4294967295, 4294967296, Channel.SEQ_MAX];

test('partial IVs: big-endian without leading zeros, 1 to 5 bytes, up to 2^40 - 1', (t) => {
  for (const s of SEQS) {
    t.is(hex(pivOf(s)), hex(piv(s)), String(s));
    t.is(seqOf(pivOf(s)), s);
  }
  t.is(hex(pivOf(0)), '00');
  t.is(hex(pivOf(Channel.SEQ_MAX)), 'ffffffffff');
});

test('OpenSSL\'s AES-CCM opens every request and answer the channel protects, under the nonce and AAD built from the specifications; and the other way round', (t) => {
  const routes = ['PUT /api/relay', 'POST /api/password', 'GET /api/session', 'POST /api/logout', ''];
  for (let i = 0; i < 200; i++) {
    const k = randomKeys();
    const seq = i < SEQS.length ? SEQS[i]! : Math.floor(Math.random() * Channel.SEQ_MAX);
    const options = routes[i % routes.length]!;
    // Bodies from empty to past the 1-byte (24) and 2-byte (256) CBOR length heads.
    const body = new Uint8Array(randomBytes([0, 1, 15, 16, 17, 100, 300, 1000][i % 8]!));
    const p = piv(seq);
    const nonce = oscoreNonce(k.iv, EMPTY, p);

    const request = protectRequest(jsCrypto, k, seq, options, body);
    const r = takeApart(request, true);
    t.is(hex(r.piv), hex(p));
    t.is(hex(opensslOpen(k.client, nonce, channelAad(p, options), r.sealed)!), hex(body));
    // The whole message, rebuilt by hand around OpenSSL's ciphertext, is the same bytes.
    t.is(hex(request), hex(requestMessage(p, opensslSeal(k.client, nonce, channelAad(p, options), body))));

    const status = [200, 201, 204, 400, 404, 422][i % 6]!;
    const answer = protectAnswer(jsCrypto, k, p, status, body);
    t.is(hex(opensslOpen(k.device, nonce, channelAad(p, String(status)), takeApart(answer, false).sealed)!), hex(body));
    t.is(hex(answer), hex(answerMessage(opensslSeal(k.device, nonce, channelAad(p, String(status)), body))));

    // OpenSSL's messages open with the channel's code.
    const d = decodeProtected(requestMessage(p, opensslSeal(k.client, nonce, channelAad(p, options), body)), true);
    if (typeof d === 'string') return t.fail(d);
    t.is(hex(openRequest(jsCrypto, k, d[0], options, d[1])!), hex(body));
    const a = decodeProtected(answerMessage(opensslSeal(k.device, nonce, channelAad(p, String(status)), body)), false);
    if (typeof a === 'string') return t.fail(a);
    t.is(hex(openAnswer(jsCrypto, k, p, status, a[1])!), hex(body));
  }
});

test('a message opens only under its session, route, sequence number and direction', (t) => {
  const k = randomKeys();
  const other = randomKeys();
  const body = text('{"on":true}');
  const d = decodeProtected(protectRequest(jsCrypto, k, 7, 'PUT /api/relay', body), true) as [Uint8Array, Uint8Array];
  t.is(hex(openRequest(jsCrypto, k, d[0], 'PUT /api/relay', d[1])!), hex(body));
  t.is(openRequest(jsCrypto, other, d[0], 'PUT /api/relay', d[1]), undefined, 'another session');
  t.is(openRequest(jsCrypto, k, d[0], 'POST /api/password', d[1]), undefined, 'another route');
  t.is(openRequest(jsCrypto, k, d[0], 'POST /api/relay', d[1]), undefined, 'another method');
  t.is(openRequest(jsCrypto, k, d[0], 'PUT /api/relay/schedule', d[1]), undefined, 'a longer path');
  t.is(openRequest(jsCrypto, k, Uint8Array.of(8), 'PUT /api/relay', d[1]), undefined, 'another sequence number');
  t.is(openAnswer(jsCrypto, k, d[0], 200, d[1]), undefined, 'a request is not an answer');
  const a = decodeProtected(protectAnswer(jsCrypto, k, d[0], 200, body), false) as [Uint8Array, Uint8Array];
  t.is(hex(openAnswer(jsCrypto, k, d[0], 200, a[1])!), hex(body));
  t.is(openAnswer(jsCrypto, k, d[0], 400, a[1]), undefined, 'another status');
  t.is(openAnswer(jsCrypto, k, Uint8Array.of(8), 200, a[1]), undefined, 'another request');
  // An answer under the same nonce, as a request: the device's key is not the client's.
  t.is(openRequest(jsCrypto, k, d[0], '200', a[1]), undefined, 'an answer is not a request');
  t.is(openRequest(jsCrypto, k, d[0], 'PUT /api/relay', a[1]), undefined);
  // Every truncation of the tag or ciphertext, and every single bit flipped, fails.
  for (let n = 8; n < d[1].length; n++) t.is(openRequest(jsCrypto, k, d[0], 'PUT /api/relay', d[1].subarray(0, n)), undefined);
  for (let i = 0; i < d[1].length * 8; i++) {
    const flipped = d[1].slice();
    flipped[i >> 3] ^= 1 << (i & 7);
    t.is(openRequest(jsCrypto, k, d[0], 'PUT /api/relay', flipped), undefined, 'bit ' + i);
  }
});

// ---- decodeProtected: untrusted bytes ----

type Decoded = [Uint8Array, Uint8Array] | string;

/** A valid request (2-byte PIV, 11-byte body) and answer, and their parts. */
const K = randomKeys();
const REQ_BODY = text('{"on":true}');
const REQUEST = protectRequest(jsCrypto, K, 300, 'PUT /api/relay', REQ_BODY);
const ANSWER = protectAnswer(jsCrypto, K, piv(300), 200, text('{"on":true}'));
const REQ = takeApart(REQUEST, true);
const ANS = takeApart(ANSWER, false);

function refused(t: { true(v: boolean, m?: string): void }, r: Decoded, what: string): void {
  t.true(typeof r === 'string' && r.length >= 20, what + ': ' + (typeof r === 'string' ? r : 'accepted'));
}

test('decodeProtected: the valid request and answer give exactly their partial IV and ciphertext', (t) => {
  const r = decodeProtected(REQUEST, true) as [Uint8Array, Uint8Array];
  t.is(hex(r[0]), '012c');
  t.is(hex(r[1]), hex(REQ.sealed));
  const a = decodeProtected(ANSWER, false) as [Uint8Array, Uint8Array];
  t.is(a[0].length, 0);
  t.is(hex(a[1]), hex(ANS.sealed));
  // Each shape is refused as the other.
  refused(t, decodeProtected(REQUEST, false), 'a request as an answer');
  refused(t, decodeProtected(ANSWER, true), 'an answer as a request');
  // Long ciphertexts: 1-, 2- byte length heads.
  for (const n of [0, 15, 16, 247, 248, 1000, 65526]) {
    const body = new Uint8Array(n);
    const m = decodeProtected(protectRequest(jsCrypto, K, 1, 'x', body), true) as [Uint8Array, Uint8Array];
    t.is(m[1].length, n + 8, 'body of ' + n);
  }
});

test('decodeProtected: hostile structure refused with a reason', (t) => {
  const tail = concat(cbor.map([cbor.uint(6), cbor.bstr(piv(300))]), cbor.bstr(REQ.sealed));
  const withProtected = (prot: Uint8Array): Uint8Array => concat(Uint8Array.of(0xd0, 0x83), cbor.bstr(prot), tail);
  const withUnprotected = (unprot: Uint8Array, request = true): Uint8Array => concat(Uint8Array.of(0xd0, 0x83), cbor.bstr(PROTECTED), unprot, cbor.bstr(request ? REQ.sealed : ANS.sealed));
  const withSealed = (sealedHead: Uint8Array, sealed: Uint8Array, request = true): Uint8Array =>
    concat(Uint8Array.of(0xd0, 0x83), cbor.bstr(PROTECTED), request ? cbor.map([cbor.uint(6), cbor.bstr(piv(300))]) : cbor.map(), sealedHead, sealed);
  const cases: [string, Uint8Array, boolean][] = [
    ['empty', EMPTY, true],
    ['empty answer', EMPTY, false],
    ['one byte', Uint8Array.of(0xd0), true],
    ['untagged', REQUEST.subarray(1), true],
    ['untagged answer', ANSWER.subarray(1), false],
    ['tag 17 (COSE_Mac0)', concat(Uint8Array.of(0xd1), REQUEST.subarray(1)), true],
    ['tag 18 (COSE_Sign1)', concat(Uint8Array.of(0xd2), ANSWER.subarray(1)), false],
    ['tag 96 (COSE_Encrypt)', concat(Uint8Array.of(0xd8, 0x60), REQUEST.subarray(1)), true],
    ['tag 16 in a 2-byte head', concat(Uint8Array.of(0xd8, 0x10), REQUEST.subarray(1)), true],
    ['tag 16 twice', concat(Uint8Array.of(0xd0), REQUEST), true],
    ['array of 4', concat(Uint8Array.of(0xd0, 0x84), REQUEST.subarray(2), Uint8Array.of(0x40)), true],
    ['array of 2', concat(Uint8Array.of(0xd0, 0x82), REQUEST.subarray(2)), true],
    ['indefinite array', concat(Uint8Array.of(0xd0, 0x9f), REQUEST.subarray(2), Uint8Array.of(0xff)), true],
    ['a map, not an array', concat(Uint8Array.of(0xd0, 0xa3), REQUEST.subarray(2)), true],
    ['alg 1 (A128GCM)', withProtected(cbor.map([cbor.uint(1), cbor.uint(1)])), true],
    ['alg 11 (AES-CCM-16-64-256)', withProtected(cbor.map([cbor.uint(1), cbor.uint(11)])), true],
    ['alg 30 (AES-CCM-16-128-128)', withProtected(cbor.map([cbor.uint(1), cbor.uint(30)])), true],
    ['alg -10 (direct+HKDF-SHA-256)', withProtected(Uint8Array.of(0xa1, 0x01, 0x29)), true],
    ['alg 10 in a 2-byte head', withProtected(Uint8Array.of(0xa1, 0x01, 0x18, 0x0a)), true],
    ['alg as text "10"', withProtected(concat(Uint8Array.of(0xa1, 0x01), cbor.tstr('10'))), true],
    ['protected {1: 10, 4: kid}', withProtected(cbor.map([cbor.uint(1), cbor.uint(10)], [cbor.uint(4), cbor.bstr(EMPTY)])), true],
    ['protected empty', withProtected(EMPTY), true],
    ['protected empty map', withProtected(cbor.map()), true],
    ['protected indefinite map', withProtected(Uint8Array.of(0xbf, 0x01, 0x0a, 0xff)), true],
    ['protected as a map, not a bstr', concat(Uint8Array.of(0xd0, 0x83), PROTECTED, tail), true],
    ['protected as an indefinite bstr', concat(Uint8Array.of(0xd0, 0x83, 0x5f, 0x43, 0xa1, 0x01, 0x0a, 0xff), tail), true],
    ['PIV of 0 bytes', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(EMPTY)])), true],
    ['PIV of 6 bytes', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(bytes('010000000000'))])), true],
    ['PIV of 24 bytes', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(new Uint8Array(24).fill(1))])), true],
    ['PIV non-minimal (0x002c)', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(bytes('002c'))])), true],
    ['PIV non-minimal (0x0000)', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(bytes('0000'))])), true],
    ['PIV non-minimal (0x0000000001)', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(bytes('0000000001'))])), true],
    ['PIV in a 0x58 head', withUnprotected(Uint8Array.of(0xa1, 0x06, 0x58, 0x02, 0x01, 0x2c)), true],
    ['PIV as an integer', withUnprotected(Uint8Array.of(0xa1, 0x06, 0x19, 0x01, 0x2c)), true],
    ['PIV as an indefinite bstr', withUnprotected(Uint8Array.of(0xa1, 0x06, 0x5f, 0x42, 0x01, 0x2c, 0xff)), true],
    ['PIV under key 5 (IV)', withUnprotected(cbor.map([cbor.uint(5), cbor.bstr(piv(300))])), true],
    ['PIV and a kid', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(piv(300))], [cbor.uint(4), cbor.bstr(EMPTY)])), true],
    ['a kid and the PIV', withUnprotected(cbor.map([cbor.uint(4), cbor.bstr(EMPTY)], [cbor.uint(6), cbor.bstr(piv(300))])), true],
    ['PIV map indefinite', withUnprotected(Uint8Array.of(0xbf, 0x06, 0x42, 0x01, 0x2c, 0xff)), true],
    ['request without its PIV', withUnprotected(cbor.map()), true],
    ['request with no unprotected header', concat(Uint8Array.of(0xd0, 0x83), cbor.bstr(PROTECTED), cbor.bstr(REQ.sealed)), true],
    ['answer with a PIV', withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(piv(300))]), false), false],
    ['answer with a kid', withUnprotected(cbor.map([cbor.uint(4), cbor.bstr(EMPTY)]), false), false],
    ['answer with an indefinite empty map', withUnprotected(Uint8Array.of(0xbf, 0xff), false), false],
    ...[0, 1, 7].map((n): [string, Uint8Array, boolean] => ['ciphertext of ' + n + ' bytes', withSealed(head(2, n), new Uint8Array(n)), true]),
    ...[0, 7].map((n): [string, Uint8Array, boolean] => ['answer ciphertext of ' + n + ' bytes', withSealed(head(2, n), new Uint8Array(n), false), false]),
    ['ciphertext as text', withSealed(head(3, REQ.sealed.length), REQ.sealed), true],
    ['ciphertext as an array', withSealed(head(4, 1), cbor.bstr(REQ.sealed)), true],
    ['ciphertext nil (detached)', withSealed(Uint8Array.of(0xf6), EMPTY), true],
    ['ciphertext as an indefinite bstr', withSealed(Uint8Array.of(0x5f), concat(cbor.bstr(REQ.sealed), Uint8Array.of(0xff))), true],
    ['ciphertext as an indefinite bstr, answer', withSealed(Uint8Array.of(0x5f), concat(cbor.bstr(ANS.sealed), Uint8Array.of(0xff)), false), false],
    ['ciphertext in a 4-byte head', withSealed(Uint8Array.of(0x5a, 0, 0, 0, REQ.sealed.length), REQ.sealed), true],
    ['ciphertext in an 8-byte head', withSealed(Uint8Array.of(0x5b, 0, 0, 0, 0, 0, 0, 0, REQ.sealed.length), REQ.sealed), true],
    ['0x58 head claiming 1 more', withSealed(Uint8Array.of(0x58, REQ.sealed.length + 1), REQ.sealed), true],
    ['0x58 head claiming 1 less', withSealed(Uint8Array.of(0x58, REQ.sealed.length - 1), REQ.sealed), true],
    ['0x58 head claiming 255', withSealed(Uint8Array.of(0x58, 255), REQ.sealed), true],
    ['0x58 head with no length byte', withSealed(Uint8Array.of(0x58), EMPTY), true],
    ['0x59 head claiming 65535', withSealed(Uint8Array.of(0x59, 0xff, 0xff), REQ.sealed), true],
    ['0x59 head claiming 1 more', withSealed(Uint8Array.of(0x59, 0, REQ.sealed.length + 1), REQ.sealed), true],
    ['0x59 head claiming 1 less', withSealed(Uint8Array.of(0x59, 0, REQ.sealed.length - 1), REQ.sealed), true],
    ['0x59 head claiming 256 longer', withSealed(Uint8Array.of(0x59, 1, REQ.sealed.length), REQ.sealed), true],
    ['0x59 head with one length byte', withSealed(Uint8Array.of(0x59, 0), EMPTY), true],
    ['0x59 head claiming 1 more, answer', withSealed(Uint8Array.of(0x59, 0, ANS.sealed.length + 1), ANS.sealed, false), false],
    ['a 1-byte head claiming 1 more', withSealed(head(2, REQ.sealed.length + 1), REQ.sealed), true],
    ['a 1-byte head claiming 1 less', withSealed(head(2, REQ.sealed.length - 1), REQ.sealed), true],
    ['one trailing byte', concat(REQUEST, Uint8Array.of(0)), true],
    ['one trailing byte, answer', concat(ANSWER, Uint8Array.of(0xff)), false],
    ['a second message after it', concat(REQUEST, REQUEST), true],
    ['a second answer after it', concat(ANSWER, ANSWER), false],
  ];
  for (const [what, m, request] of cases) refused(t, decodeProtected(m, request), what);
  // The reasons say what is wrong (their wording is the module's; these check the substance).
  t.regex(decodeProtected(EMPTY, true) as string, /COSE_Encrypt0/);
  t.regex(decodeProtected(withProtected(cbor.map([cbor.uint(1), cbor.uint(1)])), true) as string, /AES-CCM-16-64-128/);
  t.regex(decodeProtected(withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(EMPTY)])), true) as string, /partial IV of 1 to 5 bytes/);
  t.regex(decodeProtected(withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(bytes('002c'))])), true) as string, /minimal/);
  t.regex(decodeProtected(withSealed(head(2, 7), new Uint8Array(7)), true) as string, /at least 8 bytes/);
  t.regex(decodeProtected(concat(REQUEST, Uint8Array.of(0)), true) as string, /ending the message/);
  t.regex(decodeProtected(withUnprotected(cbor.map([cbor.uint(6), cbor.bstr(piv(300))]), false), false) as string, /unprotected header/);
});

test('decodeProtected: every truncation of a valid request and answer is refused', (t) => {
  for (const [m, request] of [[REQUEST, true], [ANSWER, false], [protectRequest(jsCrypto, K, Channel.SEQ_MAX, 'PUT /api/relay', new Uint8Array(300)), true], [protectAnswer(jsCrypto, K, piv(1), 200, new Uint8Array(300)), false]] as [Uint8Array, boolean][]) {
    for (let n = 0; n < m.length; n++) refused(t, decodeProtected(m.subarray(0, n), request), (request ? 'request' : 'answer') + ' cut to ' + n + ' of ' + m.length);
    // A copy cut short (no bytes beyond its end in the underlying buffer either).
    for (let n = 0; n < Math.min(m.length, 40); n++) refused(t, decodeProtected(m.slice(0, n), request), 'copy cut to ' + n);
  }
});

test('decodeProtected: a truthful length in a longer head than needed gives the same partial IV and ciphertext, or is refused', (t) => {
  // Preferred CBOR (RFC 8949 §4.2.1) writes 19 bytes with a 1-byte head; a 0x58 or 0x59 head
  // saying the truth is well-formed CBOR. The bytes are outside the AAD, so accepting them cannot
  // change what authenticates; whatever the decoder does, it must not misread them.
  const withHead = (h: Uint8Array, request: boolean, sealed: Uint8Array): Uint8Array =>
    concat(Uint8Array.of(0xd0, 0x83), cbor.bstr(PROTECTED), request ? cbor.map([cbor.uint(6), cbor.bstr(piv(300))]) : cbor.map(), h, sealed);
  for (const request of [true, false]) {
    const sealed = request ? REQ.sealed : ANS.sealed;
    for (const h of [Uint8Array.of(0x58, sealed.length), Uint8Array.of(0x59, 0, sealed.length)]) {
      const r = decodeProtected(withHead(h, request, sealed), request);
      if (typeof r === 'string') t.pass();
      else {
        t.is(hex(r[0]), request ? '012c' : '');
        t.is(hex(r[1]), hex(sealed));
      }
    }
  }
});

test('decodeProtected: random bytes and random mutations never throw; anything accepted is exactly the message\'s partial IV and ciphertext', (t) => {
  let accepted = 0;
  let checked = 0;
  const problems: string[] = [];
  const check = (m: Uint8Array, request: boolean): void => {
    checked++;
    let r: Decoded;
    try {
      r = decodeProtected(m, request);
    } catch (error) {
      problems.push('threw on ' + hex(m) + ': ' + (error as Error).message);
      return;
    }
    if (typeof r === 'string') {
      if (r.length < 20) problems.push('short reason "' + r + '" for ' + hex(m));
      return;
    }
    accepted++;
    // The independent reading must agree byte for byte (a 0x58/0x59 head for a short ciphertext is
    // the one form it reads that preferred CBOR would not write).
    try {
      const mine = takeApart(m, request);
      if (hex(mine.piv) !== hex(r[0]) || hex(mine.sealed) !== hex(r[1])) problems.push('misread ' + hex(m));
      if (request && (r[0].length < 1 || r[0].length > 5 || (r[0].length > 1 && r[0][0] === 0))) problems.push('bad PIV accepted ' + hex(m));
      if (!request && r[0].length !== 0) problems.push('answer with a PIV ' + hex(m));
      if (r[1].length < 8) problems.push('short ciphertext accepted ' + hex(m));
    } catch (error) {
      problems.push('accepted what is not the channel\'s shape (' + (error as Error).message + '): ' + hex(m));
    }
  };
  const rnd = (n: number): number => Math.floor(Math.random() * n);
  for (let i = 0; i < 20000; i++) {
    // Pure noise, noise after the right start, and mutations of valid messages.
    const request = i % 2 === 0;
    const base = request ? REQUEST : ANSWER;
    const kind = i % 5;
    let m: Uint8Array;
    if (kind === 0) m = new Uint8Array(randomBytes(rnd(48)));
    else if (kind === 1) m = concat(base.subarray(0, 6 + rnd(6)), new Uint8Array(randomBytes(rnd(40))));
    else {
      m = base.slice();
      for (let j = 1 + rnd(3); j > 0; j--) {
        const at = rnd(m.length + 1);
        const op = rnd(3);
        if (op === 0 && at < m.length) m[at] = rnd(256);
        else if (op === 1) m = concat(m.subarray(0, at), Uint8Array.of(rnd(256)), m.subarray(at));
        else m = concat(m.subarray(0, at), m.subarray(at + 1));
      }
    }
    check(m, request);
  }
  t.deepEqual(problems.slice(0, 10), []);
  t.log(checked + ' inputs, ' + accepted + ' accepted (mutations that still have the shape: a changed ciphertext byte, or a PIV byte)');
});

#!/usr/bin/env python3
"""Hoshi's admin channel read and written by a second implementation: Python's cbor2 and
cryptography (AESCCM), from the specifications alone (docs/formats/channel.md): a COSE_Encrypt0
(RFC 9052 §5.2, tag 16) with AES-CCM-16-64-128 (alg 10), OSCORE's nonce (RFC 8613 §5.2) and
external AAD (§5.4) with `options` = "METHOD /path" in a request and the status digits in an answer;
an answer uses its request's nonce under the device's key. test/channel-interop.test.ts runs it.

stdin: {"keys": {"client", "device", "iv"}, "exchanges": [{"method", "path", "status", "request",
"answer"}], "protect": [{"seq", "method", "path", "body"}]}, bytes in hex.
stdout: {"exchanges": [{"seq", "request", "answer"}], "protected": [hex]}: the plaintexts of the
recorded exchanges (null where one does not authenticate), and the requests this script protected.
"""
import json
import sys

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

ALG = 10  # AES-CCM-16-64-128: 128-bit key, 13-byte nonce, 8-byte tag (RFC 9053 §4.2)
TAG = 8
PROTECTED = cbor2.dumps({1: ALG})
CLIENT_ID = b''  # the client's Sender ID; the device's is h'01' (its answers carry no Partial IV)


def nonce(common_iv, sender_id, piv):
    """RFC 8613 §5.2: size of ID_PIV, ID_PIV left-padded to 7 bytes, PIV left-padded to 5, XOR the common IV."""
    plain = bytes([len(sender_id)]) + sender_id.rjust(13 - 6, b'\0') + piv.rjust(5, b'\0')
    return bytes(a ^ b for a, b in zip(plain, common_iv))


def aad(request_piv, options):
    """Enc_structure ["Encrypt0", protected, external_aad], external_aad = [1, [alg], request_kid, request_piv, options]."""
    external = cbor2.dumps([1, [ALG], CLIENT_ID, request_piv, options.encode('ascii')])
    return cbor2.dumps(['Encrypt0', PROTECTED, external])


def take_apart(message, request):
    """The partial IV (requests) and ciphertext of a COSE_Encrypt0 of the channel's shape."""
    item = cbor2.loads(message)
    if not isinstance(item, cbor2.CBORTag) or item.tag != 16:
        raise ValueError('not a tagged COSE_Encrypt0')
    if cbor2.dumps(item) != message:
        raise ValueError('not in preferred (shortest) CBOR encoding')
    protected, unprotected, ciphertext = item.value
    if cbor2.loads(protected) != {1: ALG}:
        raise ValueError('protected header is not {1: 10}')
    if request:
        if set(unprotected) != {6} or not 1 <= len(unprotected[6]) <= 5:
            raise ValueError('a request carries {6: partial IV} only')
        return unprotected[6], ciphertext
    if unprotected != {}:
        raise ValueError('an answer carries an empty unprotected header')
    return None, ciphertext


def piv_of(seq):
    return seq.to_bytes(max(1, (seq.bit_length() + 7) // 8), 'big')


def main():
    job = json.load(sys.stdin)
    keys = {name: bytes.fromhex(value) for name, value in job['keys'].items()}
    client = AESCCM(keys['client'], tag_length=TAG)
    device = AESCCM(keys['device'], tag_length=TAG)
    out = {'exchanges': [], 'protected': []}
    for x in job.get('exchanges', []):
        piv, request_ct = take_apart(bytes.fromhex(x['request']), True)
        n = nonce(keys['iv'], CLIENT_ID, piv)
        _, answer_ct = take_apart(bytes.fromhex(x['answer']), False)
        opened = {'seq': int.from_bytes(piv, 'big')}
        try:
            opened['request'] = client.decrypt(n, request_ct, aad(piv, x['method'] + ' ' + x['path'])).hex()
        except InvalidTag:
            opened['request'] = None
        try:
            opened['answer'] = device.decrypt(n, answer_ct, aad(piv, str(x['status']))).hex()
        except InvalidTag:
            opened['answer'] = None
        out['exchanges'].append(opened)
    for p in job.get('protect', []):
        piv = piv_of(p['seq'])
        ct = client.encrypt(nonce(keys['iv'], CLIENT_ID, piv), bytes.fromhex(p['body']), aad(piv, p['method'] + ' ' + p['path']))
        out['protected'].append(cbor2.dumps(cbor2.CBORTag(16, [PROTECTED, {6: piv}, ct])).hex())
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()

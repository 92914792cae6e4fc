"""Verifies Hoshi update packages with libraries other than Hoshi's: cbor2 and PyNaCl.

A second reading of docs/formats/update.md section 1: the package is a CBOR sequence of a
COSE_Sign1 (tag 18) and a byte string. This script decodes the sequence with cbor2, rebuilds the
COSE Sig_structure (RFC 9052 section 4.4) itself, verifies the Ed25519 signature with PyNaCl, and
checks the kid, the payload's size and its SHA-256 against the manifest. It also reports whether
the protected header and the manifest are in the deterministic encoding (RFC 8949 section 4.2.1)
as cbor2's canonical encoder writes them.

Input (stdin): a JSON list of {"package": hex, "public_key": hex}.
Output (stdout): a JSON list of {"ok": bool, "error": str?, "alg": int, "kid": hex,
"manifest": {key: value}, "deterministic": bool}, byte values as hex.
"""

import hashlib
import io
import json
import sys

import cbor2
import nacl.exceptions
import nacl.signing

# COSE algorithms for Ed25519: EdDSA (RFC 9053) and Ed25519 (RFC 9864). This script accepts both.
ACCEPTED_ALGS = (-8, -19)


def jsonable(value):
    if isinstance(value, bytes):
        return value.hex()
    return value


def verify(job):
    data = bytes.fromhex(job["package"])
    public_key = bytes.fromhex(job["public_key"])
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream)
    sign1 = decoder.decode()
    payload = decoder.decode()
    if stream.tell() != len(data):
        return {"ok": False, "error": "more than two items"}
    if not isinstance(sign1, cbor2.CBORTag) or sign1.tag != 18:
        return {"ok": False, "error": "not a tagged COSE_Sign1"}
    protected, unprotected, manifest_bytes, signature = sign1.value
    header = cbor2.loads(protected)
    manifest = cbor2.loads(manifest_bytes)
    result = {
        "alg": header.get(1),
        "kid": jsonable(header.get(4)),
        "manifest": {str(k): jsonable(v) for k, v in manifest.items()},
        "deterministic": cbor2.dumps(header, canonical=True) == protected
        and cbor2.dumps(manifest, canonical=True) == manifest_bytes
        and cbor2.dumps(sign1, canonical=True) == data[: len(data) - len(cbor2.dumps(payload))],
        "unprotected_empty": unprotected == {},
    }
    if header.get(1) not in ACCEPTED_ALGS:
        return {**result, "ok": False, "error": "alg-unsupported"}
    if header.get(4) != hashlib.sha256(public_key).digest()[:8]:
        return {**result, "ok": False, "error": "key-unknown"}
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", manifest_bytes])
    try:
        nacl.signing.VerifyKey(public_key).verify(to_be_signed, signature)
    except nacl.exceptions.BadSignatureError:
        return {**result, "ok": False, "error": "signature-invalid"}
    if manifest.get(1) == 1:
        if len(payload) != manifest.get(8):
            return {**result, "ok": False, "error": "size-mismatch"}
        if hashlib.sha256(payload).digest() != manifest.get(9):
            return {**result, "ok": False, "error": "digest-mismatch"}
    elif payload != b"":
        return {**result, "ok": False, "error": "size-mismatch"}
    return {**result, "ok": True}


def main():
    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        try:
            out.append(verify(job))
        except Exception as error:  # a malformed package: reported, not raised
            out.append({"ok": False, "error": type(error).__name__ + ": " + str(error)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

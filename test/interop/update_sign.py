"""Makes Hoshi update packages with libraries other than Hoshi's: cbor2 and PyNaCl.

Builds the package of docs/formats/update.md sections 1-3 from the specification alone: the
manifest map with the integer keys of section 2 (size, digest and kid computed here), encoded with
cbor2's canonical encoder; the protected header {1: alg, 4: kid}; the COSE Sig_structure
(RFC 9052 section 4.4) signed with PyNaCl's Ed25519; the COSE_Sign1 (tag 18), then the payload
byte string.

Input (stdin): a JSON list of {"seed": hex (32 bytes), "alg": int, "fields": {"vendor", "model",
"runtime", "board", "version", "counter", "app", "notes"?}, "payload": hex}.
Output (stdout): a JSON list of {"package": hex, "public_key": hex}.
"""

import hashlib
import json
import sys

import cbor2
import nacl.signing


def make(job):
    key = nacl.signing.SigningKey(bytes.fromhex(job["seed"]))
    public_key = bytes(key.verify_key)
    kid = hashlib.sha256(public_key).digest()[:8]
    payload = bytes.fromhex(job["payload"])
    f = job["fields"]
    manifest = {
        0: 1,  # format
        1: 1,  # kind: image
        2: f["vendor"],
        3: f["model"],
        4: f["runtime"],
        5: f["board"],
        6: f["version"],
        7: f["counter"],
        8: len(payload),
        9: hashlib.sha256(payload).digest(),
        10: kid,
        11: f["app"],
    }
    if "notes" in f:
        manifest[12] = f["notes"]
    protected = cbor2.dumps({1: job["alg"], 4: kid}, canonical=True)
    manifest_bytes = cbor2.dumps(manifest, canonical=True)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", manifest_bytes], canonical=True)
    signature = key.sign(to_be_signed).signature
    sign1 = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, manifest_bytes, signature]), canonical=True)
    return {"package": (sign1 + cbor2.dumps(payload, canonical=True)).hex(), "public_key": public_key.hex()}


def main():
    json.dump([make(job) for job in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()

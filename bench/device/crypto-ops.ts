// One operation of each primitive, k times, for `npm run bench` on the built bundles:
// __bench(op, k). Inputs are fixed; the result is returned so nothing is optimised away.
import type { CryptoProvider } from '../../hal/crypto';
import { ccmSeal } from '../../modules/crypto/ccm';
import { createDrbg, drbgGenerate, drbgInstantiate } from '../../modules/crypto/drbg';
import { hkdf } from '../../modules/crypto/hkdf';

function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

// RFC 8032 §7.1 TEST 2.
function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}
const PUB = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const SIG = '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

/** `verify`: Ed25519 verification where the bundle carries it (Kaluma; not Espruino). */
export function install(p: CryptoProvider, verify?: (p: CryptoProvider, pub: Uint8Array, m: Uint8Array, sig: Uint8Array) => boolean): void {
  const key = fill(32, 1);
  const data = fill(1024, 2);
  const cipher = p.aes(key.subarray(0, 16));
  const drbg = createDrbg(p);
  drbgInstantiate(drbg, fill(32, 3), fill(16, 4));
  const pub = fromHex(PUB);
  const sig = fromHex(SIG);
  const msg = new Uint8Array([0x72]);
  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number): number {
    let r = 0;
    for (let i = 0; i < (op === 'pbkdf2-iteration' || op === 'aes-block' ? 1 : k); i++) {
      if (op === 'load') r = r + 1;
      else if (op === 'sha256-1k') r = r + p.sha256(data)[0];
      else if (op === 'sha512-256') r = r + p.sha512!(data.subarray(0, 256))[0];
      else if (op === 'hmac-32') r = r + p.hmacSha256(key, key)[0];
      else if (op === 'hkdf-32') r = r + hkdf(p, key, key, data.subarray(0, 8), 32)[0];
      else if (op === 'pbkdf2-iteration') r = r + p.pbkdf2Sha256!(key, key.subarray(0, 16), k, 32)[0];
      else if (op === 'aes-block') r = r + cipher.encryptBlocks(data.subarray(0, 16 * k))[0];
      else if (op === 'ccm-seal-64') r = r + ccmSeal(cipher, data.subarray(0, 13), data.subarray(0, 16), data.subarray(0, 64), 16)[0];
      else if (op === 'drbg-32') r = r + drbgGenerate(drbg, 32)[0];
      else if (op === 'ed25519-verify' && verify) r = r + (verify(p, pub, msg, sig) ? 1 : 0);
      else throw new Error('unknown op ' + op);
    }
    return r;
  };
}

import type { BlockCipher, CryptoProvider } from '../../hal/crypto';

/**
 * Espruino 2v29's native `crypto` module (libs/crypto/jswrap_crypto.c, mbedtls) as the HAL's
 * CryptoProvider. boards/ESP32.py builds it with CRYPTO, SHA256, SHA512 and TLS (hence AES and
 * PBKDF2); there is no native HMAC and no AES-CCM on ESP32, so:
 * - HMAC-SHA-256 is RFC 2104 over the native one-shot SHA-256;
 * - the AES forward cipher is `AES.encrypt` in ECB mode (whole blocks only), and CBC-MAC is the
 *   last block of `AES.encrypt` in CBC mode with a zero IV. Espruino's own CTR mode is never used:
 *   it ignores `options.iv` and always starts the counter at zero (jswrap_crypto.c, CM_CTR).
 * Espruino reports most crypto errors by printing and returning undefined
 * (jswrap_crypto_error → jsError): every result is checked here and turned into an exception.
 * Inputs are passed as Uint8Array so mbedtls reads them in place (JSV_GET_AS_CHAR_ARRAY).
 */
declare function require(name: string): any;

function result(value: unknown, what: string): Uint8Array {
  if (value === undefined || value === null) throw new Error(what + ' failed in the native crypto module');
  return new Uint8Array(value as ArrayBuffer);
}

export function espruinoCrypto(): CryptoProvider {
  const C = require('crypto');
  const sha256 = function (data: Uint8Array): Uint8Array {
    return result(C.SHA256(data), 'SHA256');
  };
  const hmacSha256 = function (key: Uint8Array, data: Uint8Array): Uint8Array {
    const k = key.length > 64 ? sha256(key) : key;
    const inner = new Uint8Array(64 + data.length);
    const outer = new Uint8Array(64 + 32);
    for (let i = 0; i < 64; i++) {
      const b = i < k.length ? k[i] : 0;
      inner[i] = b ^ 0x36;
      outer[i] = b ^ 0x5c;
    }
    inner.set(data, 64);
    outer.set(sha256(inner), 64);
    inner.fill(0);
    return sha256(outer);
  };
  const aes = function (key: Uint8Array): BlockCipher {
    if (key.length !== 16 && key.length !== 32) throw new RangeError('aes: key must be 16 or 32 bytes');
    const k = new Uint8Array(key);
    return {
      encryptBlocks: function (blocks: Uint8Array): Uint8Array {
        if (blocks.length % 16 !== 0) throw new RangeError('aes: length must be a multiple of 16');
        if (blocks.length === 0) return new Uint8Array(0);
        return result(C.AES.encrypt(blocks, k, { mode: 'ECB' }), 'AES');
      },
      cbcMac: function (blocks: Uint8Array): Uint8Array {
        if (blocks.length % 16 !== 0 || blocks.length === 0) throw new RangeError('aes: length must be a positive multiple of 16');
        const c = result(C.AES.encrypt(blocks, k, { mode: 'CBC', iv: new Uint8Array(16) }), 'AES');
        return c.subarray(c.length - 16);
      },
    };
  };
  return {
    name: 'espruino-native',
    sha256: sha256,
    sha512: function (data: Uint8Array): Uint8Array {
      return result(C.SHA512(data), 'SHA512');
    },
    hmacSha256: hmacSha256,
    pbkdf2Sha256: function (password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
      if (!(iterations >= 1) || iterations !== Math.floor(iterations)) throw new RangeError('pbkdf2: iterations must be a positive integer');
      if (!(length >= 1) || length !== Math.floor(length) || length > 1024) throw new RangeError('pbkdf2: length must be 1..1024');
      // keySize is in 32-bit words; the default hasher is SHA1, so it is always named.
      const out = result(C.PBKDF2(password, salt, { keySize: Math.ceil(length / 4), iterations: iterations, hasher: 'SHA256' }), 'PBKDF2');
      return out.subarray(0, length);
    },
    aes: aes,
  };
}

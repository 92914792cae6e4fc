import type { BlockCipher, CryptoProvider } from '../../hal/crypto';
import { aesEncryptBlock, aesKey } from './aes';
import { hmacSha256 } from './hmac';
import { sha256 } from './sha256';


/** AES from modules/crypto/aes as a BlockCipher. */
export function jsAes(key: Uint8Array): BlockCipher {
  const k = aesKey(key);
  return {
    encryptBlocks: function (blocks: Uint8Array): Uint8Array {
      if (blocks.length % 16 !== 0) throw new RangeError('aes: length must be a multiple of 16');
      const out = new Uint8Array(blocks.length);
      for (let at = 0; at < blocks.length; at += 16) aesEncryptBlock(k, blocks, at, out, at);
      return out;
    },
    cbcMac: function (blocks: Uint8Array): Uint8Array {
      if (blocks.length % 16 !== 0 || blocks.length === 0) throw new RangeError('aes: length must be a positive multiple of 16');
      const x = new Uint8Array(16);
      for (let at = 0; at < blocks.length; at += 16) {
        for (let i = 0; i < 16; i++) x[i] = x[i] ^ blocks[at + i];
        aesEncryptBlock(k, x, 0, x, 0);
      }
      return x;
    },
  };
}

/**
 * The pure-JavaScript provider a device board supplies (Kaluma has no crypto): only what every
 * image uses, so that no image carries SHA-512 or PBKDF2 it never calls (hal/crypto.ts).
 */
export const jsCryptoCore: CryptoProvider = {
  name: 'js',
  sha256: sha256,
  hmacSha256: hmacSha256,
  aes: jsAes,
};

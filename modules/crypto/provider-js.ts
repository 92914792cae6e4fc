import type { BlockCipher, CryptoProvider } from '../../hal/crypto';
import { aesEncryptBlock, aesKey } from './aes';
import { hmacSha256 } from './hmac';
import { pbkdf2Sha256 } from './pbkdf2';
import { sha256 } from './sha256';
import { sha512 } from './sha512.js';

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

/** The pure-JavaScript provider: Kaluma (which has no crypto) and the host simulator. */
export const jsCrypto: CryptoProvider = {
  name: 'js',
  sha256: sha256,
  sha512: sha512,
  hmacSha256: hmacSha256,
  pbkdf2Sha256: pbkdf2Sha256,
  aes: jsAes,
};

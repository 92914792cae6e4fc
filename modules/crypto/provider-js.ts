import type { CryptoProvider } from '../../hal/crypto';
import { hmacSha256 } from './hmac';
import { pbkdf2Sha256 } from './pbkdf2';
import { jsAes } from './provider-core';
import { sha256 } from './sha256';
import { sha512 } from './sha512.js';

/** The whole pure-JavaScript provider: the host simulator, host tools and the tests. */
export const jsCrypto: CryptoProvider = {
  name: 'js',
  sha256: sha256,
  sha512: sha512,
  hmacSha256: hmacSha256,
  pbkdf2Sha256: pbkdf2Sha256,
  aes: jsAes,
};

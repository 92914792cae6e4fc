import { ed25519Verify } from '../../modules/crypto/ed25519';
import { jsCrypto } from '../../modules/crypto/provider-js';
import { install } from './crypto-ops';

install(jsCrypto, ed25519Verify);

import { jsCrypto } from '../../modules/crypto/provider-js';
import { install } from './crypto-ops';

install(jsCrypto);

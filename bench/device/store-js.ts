import { jsCrypto } from '../../modules/crypto/provider-js';
import { install } from './store-ops';

install(jsCrypto, 256);

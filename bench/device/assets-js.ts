import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { install } from './assets-ops';

install(jsCryptoCore);

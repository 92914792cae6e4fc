import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { install } from './audit-ops';

install(jsCryptoCore, 256);

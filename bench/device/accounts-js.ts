import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { install } from './accounts-ops';

// What the Kaluma boards supply (boards/kaluma-pico-w: pure JavaScript, 256-byte flash pages).
install(jsCryptoCore, 256);

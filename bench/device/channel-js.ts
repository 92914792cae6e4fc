import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { install } from './channel-ops';

// What the Kaluma boards supply (boards/kaluma-pico-w: pure JavaScript).
install(jsCryptoCore);

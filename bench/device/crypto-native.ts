import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './crypto-ops';

install(espruinoCrypto());

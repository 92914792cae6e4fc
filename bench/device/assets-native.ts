import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './assets-ops';

install(espruinoCrypto());

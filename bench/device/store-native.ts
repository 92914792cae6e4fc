import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './store-ops';

install(espruinoCrypto(), 4);

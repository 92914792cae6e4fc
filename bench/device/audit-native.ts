import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './audit-ops';

install(espruinoCrypto(), 4);

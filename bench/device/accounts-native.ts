import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './accounts-ops';

// What the ESP32 board supplies (Espruino's native crypto, 4-byte flash writes).
install(espruinoCrypto(), 4);

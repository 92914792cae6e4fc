import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './channel-ops';

// What the ESP32 board supplies (Espruino's native crypto: SHA-256 and AES; HMAC's pads and CCM's formatting in JavaScript).
install(espruinoCrypto());

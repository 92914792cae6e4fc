import { defineImage } from '../../firmware/device/image';
import { accounts } from '../../modules/accounts';
import { adminPage } from '../../modules/admin-page';
import { audit } from '../../modules/audit';
import { deviceInfo } from '../../modules/device-info';
import { interfaces } from '../../modules/interfaces';
import { wifi } from '../../modules/network/wifi';
import { ota } from '../../modules/ota';
import { wipe } from '../../modules/wipe';
import { temperatureSensor } from './sensor';

/**
 * Environment sensor: an LM35 temperature sensor on an ESP32's ADC1 (GPIO36, "D36"; ADC2 pins stop
 * working while Wi-Fi is on), served over HTTP. The image is its configuration plus the modules it
 * is composed of; the board is chosen per target in manifest.json.
 */
export default defineImage({
  config: {
    model: 'HS-ENV-01',
    hardwareRevision: 'A',
    vendor: 'Hoshi example vendor',
    firmwareVersion: '0.1.0',
    supportEnd: '2031-12-31',
    vulnerabilityDisclosureUrl: 'https://example.com/security/disclosure',
    interfaces: {
      http: { port: 80, maxBodyBytes: 1024, maxHeaderBytes: 2048 },
      console: 'off',
      // Opened by modules/network/wifi while the unit has no Wi-Fi credentials.
      setupAp: true,
      outgoing: ['DHCP, DNS', 'update pulls (modules/ota)'],
    },
  },
  modules: [
    deviceInfo(),
    audit(),
    interfaces(),
    adminPage(),
    accounts({ clearButton: { 'espruino-esp32': 'D0', host: 'button' } }),
    wifi(),
    ota(),
    wipe({ button: { 'espruino-esp32': 'D0', host: 'button' } }),
    temperatureSensor({ pins: { 'espruino-esp32': 'D36', 'kaluma-pico-w': 26, host: 'temperature' }, fullScaleVolts: 3.3, offsetVolts: 0, voltsPerDegree: 0.01 }),
  ],
});

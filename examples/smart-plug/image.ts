import { defineImage } from '../../firmware/device/image';
import { accounts } from '../../modules/accounts';
import { adminPage } from '../../modules/admin-page';
import { audit } from '../../modules/audit';
import { deviceInfo } from '../../modules/device-info';
import { interfaces } from '../../modules/interfaces';
import { wifi } from '../../modules/network/wifi';
import { ota } from '../../modules/ota';
import { wipe } from '../../modules/wipe';
import { relay } from './relay';

/**
 * Smart plug: a relay behind an HTTP API. The image is its configuration plus the modules it is
 * composed of; the board is chosen per target in manifest.json. The relay's pin is given per board.
 */
export default defineImage({
  config: {
    model: 'HS-PLUG-01',
    hardwareRevision: 'A',
    vendor: 'Hoshi example vendor',
    firmwareVersion: '0.1.0',
    supportEnd: '2031-12-31',
    vulnerabilityDisclosureUrl: 'https://example.com/security/disclosure',
    interfaces: {
      http: { port: 80, maxBodyBytes: 4096, maxHeaderBytes: 2048 },
      console: 'off',
      // Opened by modules/network/wifi while the unit has no Wi-Fi credentials.
      setupAp: true,
      outgoing: ['DHCP, DNS', 'update pulls (modules/ota)'],
    },
  },
  modules: [deviceInfo(), audit(), interfaces(), adminPage(), accounts({ clearButton: { 'espruino-esp32': 'D0', host: 'button' } }), wifi(), ota(), wipe({ button: { 'espruino-esp32': 'D0', host: 'button' } }), relay({ 'kaluma-pico-w': 15, 'kaluma-pico': 15, 'espruino-esp32': 'D26', host: 'relay' })],
});

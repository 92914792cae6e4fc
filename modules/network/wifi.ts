import { Asset } from '../../firmware/device/core/assets';
import { message } from '../../firmware/device/core/messages';
import { bytesAscii } from '../../firmware/device/core/bytes';
import { json, type HoshiModule, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import type { WifiCredentials } from '../../hal/net';
import { wifiSetup } from './wifi-setup-code';

export { checkWifi, encodeWifi, parseWifiRequest, type WifiRequest } from './wifi-setup';

/** Timings, ms (a const enum: the bundler writes the values into the code). */
const enum Join {
  /** How often a station that has not joined tries again. */
  RETRY_MS = 60000,
  /** From the answer to PUT to the join: the answer reaches its client before a Pico W resets its radio. */
  FLUSH_MS = 1000,
  /** How long the setup access point stays open once the station has joined (ESP32, host), so its client reads the result. */
  GRACE_MS = 10000,
}

/**
 * Wi-Fi credentials, kept sealed in the store (S1.1-11: the passphrase of the customer's network is
 * a secret of the device), and the board's station joined with them at boot.
 * - At start, if the board has Wi-Fi and the store holds credentials, joins; if that fails, or the
 *   network drops later, tries again at once and then every minute until it has joined (S1.1-14:
 *   the device recovers from a network loss by itself). The passphrase is never logged nor served.
 * - `GET /api/network/wifi` (admin): `{"ssid": "…"|null, "joined": true|false, "address": "…"|null,
 *   "error": {"error": code, "reason": "…"}|null, "setupAp": {"ssid": "…", "open": true|false}|null}`
 *   (codes: core/errors, `wifi-*`; `address`: the station's, when the board tells it).
 * - `PUT /api/network/wifi` (admin): `{"ssid": "…", "passphrase": "…"}` seals the credentials into
 *   the store, answers, then joins (a second later). Both are "admin" routes (granted by
 *   modules/accounts); credentials can also arrive with `hoshi provision --wifi-ssid`
 *   (firmware/host/provision.ts writes them, sealed, into the unit's store). Like every admin
 *   route, PUT takes its body only through the admin channel (modules/accounts, docs/formats/channel.md):
 *   the passphrase never crosses the LAN in clear.
 * - The setup access point (WPA2 with a passphrase of its own: no open setup network): a unit
 *   whose store holds no usable credentials, on a board whose station has one (hal/net.ts
 *   `openAp`), opens it at start, its SSID and passphrase derived from the provisioning record's
 *   setup key (modules/channel/setup.ts `setupAccessPoint`; the passphrase is on the label, never
 *   logged nor served). A record without a setup key (before version 3) opens none, and says so.
 *   The client on it sends the home network's credentials with PUT; then, on a board that can join
 *   with it open (`apsta`: ESP32, host), the station joins and the access point closes GRACE_MS
 *   after the join, so the client can read `joined` and `address`; on one that cannot (Pico W:
 *   closing it resets the radio), it closes, the station joins, and it opens again if the join
 *   fails (the error then stays in GET for the client that comes back). Once joined it stays closed
 *   until the next boot without credentials (after a wipe). While it is open on the Pico W the
 *   station does not retry by itself.
 * Stored and received credentials are both untrusted input: checked before use, refused with a
 * reason.
 * What only a unit being set up runs (the setup access point's name and passphrase, the PUT's
 * parser and checks) is wifi-setup.ts, which a Kaluma image reads from its assets when it needs it
 * (asset 10: wifi-setup-code.ts); if that asset is missing the unit opens no access point, says why,
 * and answers PUT with 500.
 */

/** Store key of the sealed credentials (a const enum: the bundler writes it into the code). */
const enum Key {
  WIFI = 'net.wifi',
}
export const WIFI_KEY = Key.WIFI;

/**
 * Stored credentials (untrusted bytes), or undefined if they are not valid credentials: the rules
 * of `checkWifi` (wifi-setup.ts), read on the stored form (an SSID of 1 to 32 printable ASCII
 * characters, a passphrase of 0 or 8 to 63). `release`: a device reads them once, at start, and
 * lets go of this function (a `let`: its bytecode is freed once it returns).
 */
export let decodeWifi = function (bytes: Uint8Array, release?: boolean): WifiCredentials | undefined {
  if (release) decodeWifi = undefined as never;
  const n = bytes.length >= 2 ? bytes[0] : 0;
  const m = 1 + n < bytes.length ? bytes[1 + n] : -1;
  if (n < 1 || n > 32 || 2 + n + m !== bytes.length || (m !== 0 && (m < 8 || m > 63))) return undefined;
  for (let i = 0; i < bytes.length; i++) {
    if (i !== 0 && i !== 1 + n && (bytes[i] < 0x20 || bytes[i] > 0x7e)) return undefined;
  }
  return { ssid: bytesAscii(bytes.subarray(1, 1 + n)), passphrase: bytesAscii(bytes.subarray(2 + n)) };
};

export let wifi = function (): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) wifi = undefined as never;
  return {
    name: 'wifi',
    // Credentials of the largest form (32-character SSID, 63-character passphrase), sealed.
    reserve: [{ key: Key.WIFI, bytes: 2 + 32 + 63, sealed: true }],
    start: function (context: ModuleContext): void {
      const station = context.board.net.wifi;
      if (!station) return;
      const store = context.store;
      let credentials: WifiCredentials | undefined;
      let joined = false;
      let joining = false;
      let address: string | null = null;
      let lastError: { error: string; reason: string } | null = null;
      // The setup access point. Its functions exist only on a unit being set up (on Kaluma a
      // function that is never made costs no heap once start's code is released, and the code
      // that derives it and takes the credentials is read from the assets: wifi-setup-code.ts);
      // `openAp` only until the first join.
      let ap: WifiCredentials | undefined;
      let apOpen = false;
      let openAp: (() => void) | undefined;
      let closeAp: (() => void) | undefined;
      const stored = store.read(Key.WIFI);
      if (stored.ok) {
        credentials = decodeWifi(stored.value, once);
        if (!credentials) console.log('[wifi] stored credentials are not valid: not used');
      } else if (stored.reason !== 'absent') {
        console.log('[wifi] stored credentials cannot be read: ' + stored.reason);
      } else {
        console.log('[wifi] no credentials stored: not joining');
      }
      const join = function (): void {
        if (!credentials || joined || joining || (apOpen && !station.apsta)) return;
        const c = credentials;
        joining = true;
        station.join(c, function (code?: string, detail?: string): void {
          joining = false;
          if (c !== credentials) {
            join(); // replaced meanwhile: join with the new ones
            return;
          }
          joined = !code;
          address = code ? null : detail || null;
          lastError = code ? { error: code, reason: detail || code } : null;
          console.log(code ? '[wifi] could not join "' + c.ssid + '": ' + code + ' (' + (detail || '') + ')' : '[wifi] joined "' + c.ssid + '"');
          if (!openAp) return;
          if (!code) {
            openAp = undefined;
            setTimeout(closeAp!, Join.GRACE_MS);
          } else if (!apOpen) openAp();
        });
      };
      station.onDrop(function (reason: string): void {
        if (!joined) return;
        joined = false;
        address = null;
        lastError = { error: 'wifi-lost', reason: reason };
        console.log('[wifi] lost "' + (credentials ? credentials.ssid : '') + '": ' + reason + '; rejoining');
        join();
      });
      // Only an image that declares the setup access point opens it (S1.1-13: what is not declared
      // stays closed; modules/interfaces reports it).
      if (!credentials && station.openAp && !context.config.interfaces.setupAp) console.log(message('[wifi] no credentials, and the image does not declare a setup access point (interfaces.setupAp)'));
      else if (!credentials && station.openAp) {
        let a: WifiCredentials | undefined;
        try {
          a = wifiSetup(context.assets, Asset.CODE_WIFI_SETUP).accessPoint(context);
        } catch (error) {
          // Its code missing from a damaged assets partition: the unit serves without it.
          console.log('[wifi] no setup access point: ' + (error as Error).message);
        }
        if (a) {
          ap = a;
          openAp = function (): void {
            station.openAp!(a, function (code?: string, detail?: string): void {
              apOpen = !code;
              console.log('[wifi] setup access point "' + a.ssid + '" ' + (code ? 'did not open: ' + detail : 'open'));
            });
          };
          closeAp = function (): void {
            if (!apOpen) return;
            apOpen = false;
            station.closeAp!();
            console.log('[wifi] setup access point closed');
          };
          openAp();
        }
      }
      join();
      context.every(Join.RETRY_MS, join);
      // GET's handler; PUT answers with it too.
      const status = function (_request: unknown, reply: (response: HttpResponse) => void): void {
        reply(json(200, { ssid: credentials ? credentials.ssid : null, joined: joined, address: address, error: lastError, setupAp: ap ? { ssid: ap.ssid, open: apOpen } : null }));
      };
      context.route({ method: 'GET', path: '/api/network/wifi', access: 'admin', handler: status });
      context.route({
        method: 'PUT',
        path: '/api/network/wifi',
        access: 'admin',
        handler: function (request, reply): void {
          const put = wifiSetup(context.assets, Asset.CODE_WIFI_SETUP).put(request.body, !!context.keys);
          if (!('stored' in put)) {
            reply(put);
            return;
          }
          store.set(Key.WIFI, put.stored, true);
          credentials = put.credentials;
          joined = false;
          address = null;
          lastError = null;
          status(request, reply);
          setTimeout(function (): void {
            if (closeAp && !station.apsta) closeAp();
            join();
          }, Join.FLUSH_MS);
        },
      });
    },
  };
};

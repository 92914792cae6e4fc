import { asciiBytes, bytesAscii } from '../../firmware/device/core/bytes';
import { json, problem, type HoshiModule, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import type { WifiCredentials } from '../../hal/net';
import { setupAccessPoint } from '../channel/setup';

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
 */

/** Store key of the sealed credentials (a const enum: the bundler writes it into the code). */
const enum Key {
  WIFI = 'net.wifi',
}
export const WIFI_KEY = Key.WIFI;

/** Why credentials are refused, or undefined if they are usable. */
export function checkWifi(ssid: unknown, passphrase: unknown): string | undefined {
  if (typeof ssid !== 'string' || ssid.length < 1 || ssid.length > 32) return '"ssid" must be 1 to 32 characters';
  for (let i = 0; i < ssid.length; i++) {
    const c = ssid.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return '"ssid" must be printable ASCII';
  }
  if (typeof passphrase !== 'string') return '"passphrase" must be a string ("" for an open network)';
  if (passphrase.length !== 0 && (passphrase.length < 8 || passphrase.length > 63)) return '"passphrase" must be 8 to 63 characters, or "" for an open network';
  for (let i = 0; i < passphrase.length; i++) {
    const c = passphrase.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return '"passphrase" must be printable ASCII';
  }
  return undefined;
}

/** Stored form: ssid length, ssid, passphrase length, passphrase (ASCII). */
export function encodeWifi(c: WifiCredentials): Uint8Array {
  const out = new Uint8Array(2 + c.ssid.length + c.passphrase.length);
  out[0] = c.ssid.length;
  out.set(asciiBytes(c.ssid), 1);
  out[1 + c.ssid.length] = c.passphrase.length;
  out.set(asciiBytes(c.passphrase), 2 + c.ssid.length);
  return out;
}

/** Stored credentials (untrusted bytes), or undefined if they are not valid credentials. */
export function decodeWifi(bytes: Uint8Array): WifiCredentials | undefined {
  if (bytes.length < 2) return undefined;
  const n = bytes[0];
  if (1 + n + 1 > bytes.length) return undefined;
  const m = bytes[1 + n];
  if (2 + n + m !== bytes.length) return undefined;
  const c = { ssid: bytesAscii(bytes.subarray(1, 1 + n)), passphrase: bytesAscii(bytes.subarray(2 + n, 2 + n + m)) };
  return checkWifi(c.ssid, c.passphrase) ? undefined : c;
}

export type WifiRequest = { ok: true; credentials: WifiCredentials } | { ok: false; reason: string };

/** `{"ssid": "…", "passphrase": "…"}` and nothing else. Never throws. */
export function parseWifiRequest(body: string): WifiRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: 'the body is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'the body must be an object {"ssid": "...", "passphrase": "..."}' };
  const keys = Object.keys(value).sort();
  if (keys.length !== 2 || keys[0] !== 'passphrase' || keys[1] !== 'ssid') return { ok: false, reason: 'the body must have exactly the keys "ssid" and "passphrase"' };
  const v = value as { ssid: unknown; passphrase: unknown };
  const why = checkWifi(v.ssid, v.passphrase);
  if (why) return { ok: false, reason: why };
  return { ok: true, credentials: { ssid: v.ssid as string, passphrase: v.passphrase as string } };
}

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
      // function that is never made costs no heap once start's code is released); `openAp` only
      // until the first join.
      let ap: WifiCredentials | undefined;
      let apOpen = false;
      let openAp: (() => void) | undefined;
      let closeAp: (() => void) | undefined;
      const stored = store.read(Key.WIFI);
      if (stored.ok) {
        credentials = decodeWifi(stored.value);
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
      if (!credentials && station.openAp) {
        const record = context.provisioning;
        if (record && record.setupKey) {
          const a = setupAccessPoint(context.board.crypto, record.setupKey, context.config.model, record.serial);
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
        } else console.log('[wifi] no setup key in the provisioning record: no setup access point');
      }
      join();
      context.every(Join.RETRY_MS, join);
      const status = function (): HttpResponse {
        return json(200, { ssid: credentials ? credentials.ssid : null, joined: joined, address: address, error: lastError, setupAp: ap ? { ssid: ap.ssid, open: apOpen } : null });
      };
      context.route({
        method: 'GET',
        path: '/api/network/wifi',
        access: 'admin',
        handler: function (_request, reply): void {
          reply(status());
        },
      });
      context.route({
        method: 'PUT',
        path: '/api/network/wifi',
        access: 'admin',
        handler: function (request, reply): void {
          const parsed = parseWifiRequest(bytesAscii(request.body));
          if (!parsed.ok) {
            reply(problem(400, 'bad-credentials', parsed.reason));
            return;
          }
          if (!context.keys) {
            reply(problem(503, 'not-provisioned', 'the unit has no device secret to seal the credentials with'));
            return;
          }
          store.set(Key.WIFI, encodeWifi(parsed.credentials), true);
          credentials = parsed.credentials;
          joined = false;
          address = null;
          lastError = null;
          reply(status());
          setTimeout(function (): void {
            if (closeAp && !station.apsta) closeAp();
            join();
          }, Join.FLUSH_MS);
        },
      });
    },
  };
};

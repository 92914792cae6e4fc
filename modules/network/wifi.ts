import { asciiBytes, bytesAscii } from '../../firmware/device/core/bytes';
import { json, problem, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';
import type { WifiCredentials } from '../../hal/net';

/** How often a station that has not joined tries again, ms (a const enum: the bundler writes the values into the code). */
const enum Join {
  RETRY_MS = 60000,
}

/**
 * Wi-Fi credentials, kept sealed in the store (S1.1-11: the passphrase of the customer's network is
 * a secret of the device), and the board's station joined with them at boot.
 * - At start, if the board has Wi-Fi and the store holds credentials, joins; if that fails, or the
 *   network drops later, tries again at once and then every minute until it has joined (S1.1-14:
 *   the device recovers from a network loss by itself). The passphrase is never logged nor served.
 * - `GET /api/network/wifi` (admin): `{"ssid": "…", "joined": true|false, "error": {"error": code, "reason": "…"}|null}` (codes: core/errors, `wifi-*`).
 * - `PUT /api/network/wifi` (admin): `{"ssid": "…", "passphrase": "…"}` seals the credentials into
 *   the store and joins. Both are "admin" routes (granted by modules/accounts); credentials can also
 *   arrive with `hoshi provision --wifi-ssid` (firmware/host/provision.ts writes them, sealed, into
 *   the unit's store). Over plain HTTP the passphrase is readable on the LAN: docs/accounts.md.
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
      let lastError: { error: string; reason: string } | null = null;
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
        if (!credentials || joined || joining) return;
        const c = credentials;
        joining = true;
        station.join(c, function (code?: string, detail?: string): void {
          joining = false;
          if (c !== credentials) {
            join(); // replaced meanwhile: join with the new ones
            return;
          }
          joined = !code;
          lastError = code ? { error: code, reason: detail || code } : null;
          console.log(code ? '[wifi] could not join "' + c.ssid + '": ' + code + ' (' + (detail || '') + ')' : '[wifi] joined "' + c.ssid + '"');
        });
      };
      station.onDrop(function (reason: string): void {
        if (!joined) return;
        joined = false;
        lastError = { error: 'wifi-lost', reason: reason };
        console.log('[wifi] lost "' + (credentials ? credentials.ssid : '') + '": ' + reason + '; rejoining');
        join();
      });
      join();
      context.every(Join.RETRY_MS, join);
      context.route({
        method: 'GET',
        path: '/api/network/wifi',
        access: 'admin',
        handler: function (_request, reply): void {
          reply(json(200, { ssid: credentials ? credentials.ssid : null, joined: joined, error: lastError }));
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
          lastError = null;
          join();
          reply(json(200, { ssid: credentials.ssid, joined: joined, error: lastError }));
        },
      });
    },
  };
};

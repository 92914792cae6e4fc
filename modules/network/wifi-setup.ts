import { asciiBytes, bytesAscii } from '../../firmware/device/core/bytes';
import { problem, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import type { WifiCredentials } from '../../hal/net';
import { setupAccessPoint } from '../channel/setup';

/**
 * The Wi-Fi module's code for setting a unit up (modules/network/wifi.ts): the credentials a client
 * sends with PUT (parsed, checked and put in their stored form) and the setup access point. A unit
 * runs it while it is being set up or its credentials change, not while it serves joined, so a
 * Kaluma image reads it from its assets each time it is needed (asset 10: firmware/host/ondemand.ts,
 * wifi-setup-code.ts) and lets it go once it has answered.
 */

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

export interface WifiSetup {
  /**
   * The body of PUT /api/network/wifi: the credentials and their stored form, or the answer that
   * refuses them (a unit without a device secret cannot seal them: `provisioned` false).
   */
  put(body: Uint8Array, provisioned: boolean): HttpResponse | { credentials: WifiCredentials; stored: Uint8Array };
  /**
   * The unit's setup access point, named and keyed from the provisioning record's setup key
   * (modules/channel/setup.ts `setupAccessPoint`); undefined, and says why, if the record has no
   * setup key (before version 3).
   */
  accessPoint(context: ModuleContext): WifiCredentials | undefined;
}

export const wifiSetup: WifiSetup = {
  put: function (body, provisioned) {
    const parsed = parseWifiRequest(bytesAscii(body));
    if (!parsed.ok) return problem(400, 'bad-credentials', parsed.reason);
    if (!provisioned) return problem(503, 'not-provisioned', 'the unit has no device secret to seal the credentials with');
    return { credentials: parsed.credentials, stored: encodeWifi(parsed.credentials) };
  },
  accessPoint: function (context) {
    const record = context.provisioning;
    if (record && record.setupKey) return setupAccessPoint(context.board.crypto, record.setupKey, context.config.model, record.serial);
    console.log('[wifi] no setup key in the provisioning record: no setup access point');
    return undefined;
  },
};

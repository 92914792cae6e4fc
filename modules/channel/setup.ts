import { asciiBytes, utf8Bytes } from '../../firmware/device/core/bytes';
import { base64Encode } from '../../firmware/device/core/base64';
import type { WifiCredentials } from '../../hal/net';
import { hkdf } from '../crypto/hkdf';
import type { CryptoProvider } from '../../hal/crypto';

/**
 * The unit's setup key (docs/formats/channel.md, docs/security.md): 16 bytes from the factory's
 * CSPRNG, in the provisioning record (version 3) and on the label only, inside the setup URL's
 * fragment (`#k=…`, which browsers never send). Every client enters it once and keeps it. It is
 * mixed into everything an eavesdropper would need:
 * - the SCRAM password is `scramPassword(setupKey, password)`, so a recorded login cannot be
 *   attacked offline without the setup key;
 * - it is the admin channel's master salt (channel.ts), so the channel's keys need it too;
 * - the setup access point's WPA2 passphrase is derived from it (`setupAccessPoint`).
 */

/** RFC 4648 base32 alphabet, lower case: the setup key and the access point's passphrase as printed. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Bytes of the setup key (128 bits). */
export const SETUP_KEY_BYTES = 16;

/** Base32 (RFC 4648, lower case, no padding). */
export function base32Encode(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    value = ((value << 8) | b[i]) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32.charAt((value << (5 - bits)) & 31);
  return out;
}

/**
 * A setup key as typed or read from a URL: base32, either case, dashes and spaces ignored.
 * Undefined unless it is exactly SETUP_KEY_BYTES bytes with zero padding bits.
 */
export function parseSetupKey(text: string): Uint8Array | undefined {
  const s = text.toLowerCase().replace(/[\s-]/g, '');
  if (s.length !== 26) return undefined;
  const out = new Uint8Array(SETUP_KEY_BYTES);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (let i = 0; i < s.length; i++) {
    const v = BASE32.indexOf(s.charAt(i));
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return (value & ((1 << bits) - 1)) === 0 ? out : undefined;
}

/**
 * The password SCRAM runs on: base64 of HMAC-SHA-256(setup key, UTF-8 password). Only clients and
 * the factory compute it (the device stores and checks the verifier alone). A keyed pre-hash:
 * without the setup key a recorded login gives nothing to test guesses against.
 */
export function scramPassword(p: Pick<CryptoProvider, 'hmacSha256'>, setupKey: Uint8Array, password: string): string {
  return base64Encode(p.hmacSha256(setupKey, utf8Bytes(password)));
}

/**
 * The setup access point of a unit (WPA2-PSK): SSID `<model>-<last 4 of the serial>` (public, at
 * most 32 characters) and a 16-character base32 passphrase (80 bits) = HKDF-SHA-256(salt none,
 * IKM setup key, info "hoshi setup ap v1", 10 bytes). Derived from the setup key, not from
 * anything public; the passphrase does not give the setup key back.
 */
export function setupAccessPoint(p: CryptoProvider, setupKey: Uint8Array, model: string, serial: string): WifiCredentials {
  return {
    ssid: (model + '-' + serial.substring(serial.length - 4)).substring(0, 32),
    passphrase: base32Encode(hkdf(p, undefined, setupKey, asciiBytes('hoshi setup ap v1'), 10)),
  };
}

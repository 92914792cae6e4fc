import { randomBytes } from 'node:crypto';
import { memoryBacking, openSimFlash } from '../../boards/host/flash';
import type { WifiCredentials } from '../../hal/net';
import { jsCrypto } from '../../modules/crypto/provider-js';
import { deviceKeys } from '../../modules/keys/keys';
import { checkWifi, encodeWifi, WIFI_KEY } from '../../modules/network/wifi';
import { openStore } from '../../modules/store/store';
import type { Flash } from '../../hal/flash';
import {
  DEVICE_SECRET_BYTES,
  DRBG_SEED_BYTES,
  FIELD_DEVICE_SECRET,
  FIELD_DRBG_SEED,
  FIELD_SERIAL,
  PROVISIONING_HEADER,
  PROVISIONING_MAGIC,
  PROVISIONING_MAX_FIELDS,
  PROVISIONING_VERSION,
  SERIAL_MAX,
  SERIAL_MIN,
  parseProvisioning,
  PROVISIONING_REASONS,
  type ProvisioningRecord,
} from '../device/core/provisioning';
import { crc32 } from '../device/core/crc32';

/** Crockford base32: no I, L, O, U, so a serial read aloud or off a label is unambiguous. */
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A random serial "HS" + 12 base32 characters (60 bits from the CSPRNG). Public, not secret. */
export function randomSerial(prefix = 'HS'): string {
  const bytes = randomBytes(12);
  let s = prefix;
  for (const b of bytes) s += BASE32[b & 31];
  return s;
}

/** A new unit's record: serial, device secret and DRBG seed, all from the host's CSPRNG. */
export function newProvisioningRecord(serial = randomSerial()): ProvisioningRecord {
  return {
    serial,
    deviceSecret: new Uint8Array(randomBytes(DEVICE_SECRET_BYTES)),
    drbgSeed: new Uint8Array(randomBytes(DRBG_SEED_BYTES)),
  };
}

/** Encodes a record as docs/formats/provisioning.md describes. Throws on invalid fields. */
export function encodeProvisioning(record: ProvisioningRecord): Uint8Array {
  if (!/^[\x21-\x7e]+$/.test(record.serial) || record.serial.length < SERIAL_MIN || record.serial.length > SERIAL_MAX) {
    throw new Error('serial: 4-32 printable ASCII characters');
  }
  if (record.deviceSecret.length !== DEVICE_SECRET_BYTES) throw new Error('deviceSecret: ' + DEVICE_SECRET_BYTES + ' bytes');
  if (record.drbgSeed.length !== DRBG_SEED_BYTES) throw new Error('drbgSeed: ' + DRBG_SEED_BYTES + ' bytes');
  const fields: number[] = [];
  const field = (tag: number, value: Uint8Array): void => {
    fields.push(tag, value.length, ...value);
  };
  field(FIELD_SERIAL, new TextEncoder().encode(record.serial));
  field(FIELD_DEVICE_SECRET, record.deviceSecret);
  field(FIELD_DRBG_SEED, record.drbgSeed);
  if (fields.length > PROVISIONING_MAX_FIELDS) throw new Error('record too large');
  const out = new Uint8Array(PROVISIONING_HEADER + fields.length + 4);
  out.set(PROVISIONING_MAGIC, 0);
  out[4] = PROVISIONING_VERSION;
  out[5] = 0;
  out[6] = fields.length & 0xff;
  out[7] = fields.length >> 8;
  out.set(fields, PROVISIONING_HEADER);
  const crc = crc32(out, 0, PROVISIONING_HEADER + fields.length);
  new DataView(out.buffer).setUint32(PROVISIONING_HEADER + fields.length, crc, true);
  return out;
}

/** `bytes` padded with the erased value to a multiple of `unit`. */
export function padTo(bytes: Uint8Array, unit: number, erasedValue = 0xff): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / unit) * unit).fill(erasedValue);
  out.set(bytes);
  return out;
}

/**
 * Writes an encoded record into an erased provisioning partition and reads it back. Refuses a
 * partition that is not erased: a unit is provisioned once, and re-provisioning is a deliberate
 * factory step (erase the partition first).
 */
export function writeProvisioning(flash: Flash, encoded: Uint8Array): void {
  const page = padTo(encoded, flash.writeSize, flash.erasedValue);
  if (page.length > flash.size) throw new Error('provisioning partition is smaller than the record');
  const current = flash.read(0, page.length);
  if (current.some((b: number) => b !== flash.erasedValue)) {
    throw new Error('provisioning partition is not erased: this unit is already provisioned');
  }
  flash.write(0, page);
  const back = parseProvisioning(flash.read(0, page.length));
  if (!back.ok) throw new Error('provisioning record did not verify after writing: ' + PROVISIONING_REASONS[back.reason]);
}

/**
 * The first sector of a new unit's state partition holding its Wi-Fi credentials, sealed under the
 * unit's `store-seal` key exactly as the device's store would write them (modules/store,
 * modules/keys): `hoshi provision --wifi-ssid` erases the partition and writes this sector, so the
 * passphrase never sits on the unit in plain text. `regionBytes` and `writeSize` are the board's.
 */
export function seedStateSector(record: ProvisioningRecord, regionBytes: number, writeSize: number, credentials: WifiCredentials): Uint8Array {
  const why = checkWifi(credentials.ssid, credentials.passphrase);
  if (why) throw new Error('provision: Wi-Fi credentials refused: ' + why);
  const backing = memoryBacking(regionBytes);
  const flash = openSimFlash(backing, { eraseSize: 4096, writeSize, erasedValue: 0xff });
  const store = openStore(flash, { seal: deviceKeys(jsCrypto, record.deviceSecret).cipher('store-seal') });
  store.set(WIFI_KEY, encodeWifi(credentials), true);
  for (let s = 1; s < regionBytes / 4096; s++) {
    if (backing.read(s * 4096, 4096).some((b) => b !== 0xff)) throw new Error('provision: a seeded store spans more than its first sector');
  }
  return backing.read(0, 4096);
}

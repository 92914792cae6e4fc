import { createHmac, randomBytes } from 'node:crypto';
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
  FIELD_DEFAULT_CHECK,
  FIELD_SETUP_KEY,
  FIELD_DEVICE_SECRET,
  FIELD_DRBG_SEED,
  FIELD_ITERATIONS,
  FIELD_SALT,
  FIELD_SERIAL,
  FIELD_SERVER_KEY,
  FIELD_STORED_KEY,
  PROVISIONING_HEADER,
  PROVISIONING_MAGIC,
  PROVISIONING_MAX_FIELDS,
  PROVISIONING_VERSION,
  PROVISIONING_VERSION_3,
  FIELD_UPDATE_KEYS,
  UPDATE_KEY_BYTES,
  UPDATE_KEYS_MAX,
  SERIAL_MAX,
  SERIAL_MIN,
  VERIFIER_ITERATIONS_MAX,
  VERIFIER_ITERATIONS_MIN,
  VERIFIER_KEY_BYTES,
  VERIFIER_SALT_MAX,
  VERIFIER_SALT_MIN,
  parseProvisioning,
  PROVISIONING_REASONS,
  type ProvisioningRecord,
} from '../device/core/provisioning';
import { crc32 } from '../device/core/crc32';
import { scramPassword, SETUP_KEY_BYTES } from '../../modules/channel/setup';
import { DEFAULT_ITERATIONS, newVerifier } from './client';

/** Crockford base32: no I, L, O, U, so a serial read aloud or off a label is unambiguous. */
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A random serial "HS" + 12 base32 characters (60 bits from the CSPRNG). Public, not secret. */
export function randomSerial(prefix = 'HS'): string {
  const bytes = randomBytes(12);
  let s = prefix;
  for (const b of bytes) s += BASE32[b & 31];
  return s;
}

/**
 * The default passwords' alphabet: digits 2-9 and lower-case letters without i, l, o (31
 * characters), so nothing on a label reads as 0/O, 1/l/I. 12 characters: 12 × log2(31) ≈ 59.4 bits.
 */
export const PASSWORD_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
export const PASSWORD_LENGTH = 12;

/**
 * A unit's default password: PASSWORD_LENGTH characters from the host's CSPRNG, each by rejection
 * sampling (a byte ≥ 248 = 8 × 31 is drawn again), so every character is equally likely. Nothing
 * public (serial, MAC, uid, a counter) goes into it.
 */
export function defaultPassword(): string {
  const n = PASSWORD_ALPHABET.length;
  const limit = 256 - (256 % n);
  let s = '';
  while (s.length < PASSWORD_LENGTH) {
    for (const b of randomBytes(PASSWORD_LENGTH)) {
      if (b < limit && s.length < PASSWORD_LENGTH) s += PASSWORD_ALPHABET[b % n];
    }
  }
  return s;
}

/**
 * The default-password check of provisioning record version 2: HMAC-SHA-256 of the password's
 * ASCII bytes under the unit's `default-password` key (modules/keys), which only the unit and the
 * factory tool can compute.
 */
export function defaultPasswordCheck(deviceSecret: Uint8Array, password: string): Uint8Array {
  const key = deviceKeys(jsCrypto, deviceSecret).key('default-password');
  return new Uint8Array(createHmac('sha256', key).update(Buffer.from(password, 'ascii')).digest());
}

export interface NewRecordOptions {
  /** PBKDF2 iterations of the default password's verifier (default 100,000; at least 4096). */
  iterations?: number;
  /**
   * The Ed25519 public keys (32 bytes each, 1 to 4) the unit trusts for update packages
   * (docs/formats/update.md §5): given, the record is version 4; absent or empty, version 3.
   */
  updateKeys?: Uint8Array[];
}

/**
 * A new unit: its record (serial, device secret, DRBG seed, the default password's SCRAM verifier
 * with a fresh 16-byte salt, and its check value), all from the host's CSPRNG, and its default
 * password, which the caller puts on the unit's label and nowhere else.
 */
export function newProvisioningRecord(serial = randomSerial(), options: NewRecordOptions = {}): { record: ProvisioningRecord; password: string } {
  const deviceSecret = new Uint8Array(randomBytes(DEVICE_SECRET_BYTES));
  const setupKey = new Uint8Array(randomBytes(SETUP_KEY_BYTES));
  const password = defaultPassword();
  const updateKeys = (options.updateKeys ?? []).map((k) => new Uint8Array(k));
  checkUpdateKeys(updateKeys);
  const record: ProvisioningRecord = {
    serial,
    deviceSecret,
    drbgSeed: new Uint8Array(randomBytes(DRBG_SEED_BYTES)),
    // SCRAM runs on the password pre-hashed with the setup key (modules/channel/setup.ts).
    verifier: newVerifier(scramPassword(jsCrypto, setupKey, password), options.iterations ?? DEFAULT_ITERATIONS),
    defaultCheck: defaultPasswordCheck(deviceSecret, password),
    setupKey,
    updateKeys,
  };
  return { record, password };
}

/** Refuses update keys the device would refuse: 0 to 4 keys (0: none), 32 bytes each, none constant, no two alike. */
function checkUpdateKeys(keys: Uint8Array[]): void {
  if (keys.length > UPDATE_KEYS_MAX) throw new Error('updateKeys: at most ' + UPDATE_KEYS_MAX + ' keys');
  keys.forEach((k, i) => {
    if (k.length !== UPDATE_KEY_BYTES) throw new Error('updateKeys[' + i + ']: ' + UPDATE_KEY_BYTES + ' bytes (an Ed25519 public key)');
    if (k.every((b) => b === k[0])) throw new Error('updateKeys[' + i + ']: constant bytes, not a key');
    if (keys.findIndex((o) => Buffer.compare(o, k) === 0) !== i) throw new Error('updateKeys[' + i + ']: given twice');
  });
}

/**
 * Encodes a record as docs/formats/provisioning.md describes: version 4 with its update keys, or
 * version 3 when it has none. Throws on invalid or missing fields.
 */
export function encodeProvisioning(record: ProvisioningRecord): Uint8Array {
  if (!/^[\x21-\x7e]+$/.test(record.serial) || record.serial.length < SERIAL_MIN || record.serial.length > SERIAL_MAX) {
    throw new Error('serial: 4-32 printable ASCII characters');
  }
  if (record.deviceSecret.length !== DEVICE_SECRET_BYTES) throw new Error('deviceSecret: ' + DEVICE_SECRET_BYTES + ' bytes');
  if (record.drbgSeed.length !== DRBG_SEED_BYTES) throw new Error('drbgSeed: ' + DRBG_SEED_BYTES + ' bytes');
  const v = record.verifier;
  if (!v) throw new Error('verifier: required (record version 3)');
  if (v.salt.length < VERIFIER_SALT_MIN || v.salt.length > VERIFIER_SALT_MAX) throw new Error('verifier.salt: ' + VERIFIER_SALT_MIN + '-' + VERIFIER_SALT_MAX + ' bytes');
  if (!Number.isInteger(v.iterations) || v.iterations < VERIFIER_ITERATIONS_MIN || v.iterations > VERIFIER_ITERATIONS_MAX) {
    throw new Error('verifier.iterations: an integer in ' + VERIFIER_ITERATIONS_MIN + '..' + VERIFIER_ITERATIONS_MAX);
  }
  if (v.storedKey.length !== VERIFIER_KEY_BYTES || v.serverKey.length !== VERIFIER_KEY_BYTES) throw new Error('verifier.storedKey, serverKey: ' + VERIFIER_KEY_BYTES + ' bytes');
  if (!record.defaultCheck || record.defaultCheck.length !== VERIFIER_KEY_BYTES) throw new Error('defaultCheck: ' + VERIFIER_KEY_BYTES + ' bytes');
  if (!record.setupKey || record.setupKey.length !== SETUP_KEY_BYTES) throw new Error('setupKey: ' + SETUP_KEY_BYTES + ' bytes (record version 3)');
  const fields: number[] = [];
  const field = (tag: number, value: Uint8Array): void => {
    fields.push(tag, value.length, ...value);
  };
  const iterations = new Uint8Array(4);
  new DataView(iterations.buffer).setUint32(0, v.iterations, true);
  field(FIELD_SERIAL, new TextEncoder().encode(record.serial));
  field(FIELD_DEVICE_SECRET, record.deviceSecret);
  field(FIELD_DRBG_SEED, record.drbgSeed);
  field(FIELD_SALT, v.salt);
  field(FIELD_ITERATIONS, iterations);
  field(FIELD_STORED_KEY, v.storedKey);
  field(FIELD_SERVER_KEY, v.serverKey);
  field(FIELD_DEFAULT_CHECK, record.defaultCheck);
  field(FIELD_SETUP_KEY, record.setupKey);
  const keys = record.updateKeys ?? [];
  checkUpdateKeys(keys);
  const concatenated = new Uint8Array(keys.length * UPDATE_KEY_BYTES);
  keys.forEach((k, i) => concatenated.set(k, i * UPDATE_KEY_BYTES));
  if (keys.length) field(FIELD_UPDATE_KEYS, concatenated);
  if (fields.length > PROVISIONING_MAX_FIELDS) throw new Error('record too large');
  const out = new Uint8Array(PROVISIONING_HEADER + fields.length + 4);
  out.set(PROVISIONING_MAGIC, 0);
  out[4] = keys.length ? PROVISIONING_VERSION : PROVISIONING_VERSION_3;
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

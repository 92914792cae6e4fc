import { bytesAscii, u16, u32 } from './bytes';
import { crc32 } from './crc32';
import type { Flash } from '../../../hal/flash';

/**
 * The provisioning record: what the factory gives each unit, once. Byte layout and rules in
 * docs/formats/provisioning.md; host tools (`hoshi provision`) import these same constants.
 */
export const PROVISIONING_MAGIC = [0x48, 0x53, 0x50, 0x52]; // "HSPR"
/**
 * The record's numbers. A const enum: esbuild writes the values into the device code (no variable
 * each on the device); host tools import the same numbers as the constants below.
 */
export const enum Record {
  /** The highest version read: the host tool writes it when the unit gets update keys, else version 3. */
  VERSION = 4,
  /** The third version (no update keys): still read, and written for a unit without update keys. */
  VERSION_3 = 3,
  /** The first version (no default password): still read. */
  VERSION_1 = 1,
  /** The second version (no setup key): still read. */
  VERSION_2 = 2,
  /** Bytes before the fields: magic (4), version (1), flags (1), fields length (2, little-endian). */
  HEADER = 8,
  /** CRC-32 after the fields. */
  TRAILER = 4,
  /** Largest fields area accepted (the record fits in one 4 KB sector with room to spare). */
  MAX_FIELDS = 2048,
  /** Bytes read from the partition: the largest record (header, fields, trailer). */
  READ = HEADER + MAX_FIELDS + TRAILER,
  /** Field tags. Each appears exactly once: 1..3 in version 1, 1..8 in version 2, 1..9 in version 3, 1..10 in version 4; any other tag is refused. */
  FIELD_SERIAL = 0x01,
  FIELD_DEVICE_SECRET = 0x02,
  FIELD_DRBG_SEED = 0x03,
  FIELD_SALT = 0x04,
  FIELD_ITERATIONS = 0x05,
  FIELD_STORED_KEY = 0x06,
  FIELD_SERVER_KEY = 0x07,
  FIELD_DEFAULT_CHECK = 0x08,
  FIELD_SETUP_KEY = 0x09,
  FIELD_UPDATE_KEYS = 0x0a,
  /** The setup key: 128 bits (modules/channel/setup.ts). */
  SETUP_KEY_BYTES = 16,
  SERIAL_MIN = 4,
  SERIAL_MAX = 32,
  DEVICE_SECRET_BYTES = 32,
  DRBG_SEED_BYTES = 48,
  /** The SCRAM verifier's limits: modules/accounts/scram.ts `Scram` (core cannot import it; a test holds them equal). */
  SALT_MIN = 16,
  SALT_MAX = 64,
  ITERATIONS_MIN = 4096,
  ITERATIONS_MAX = 10000000,
  /** StoredKey, ServerKey and the default-password check: SHA-256 sized. */
  KEY_BYTES = 32,
  /** Update keys (docs/formats/update.md §5): 1 to 4 Ed25519 public keys of 32 bytes, concatenated. */
  UPDATE_KEY_BYTES = 32,
  UPDATE_KEYS_MAX = 4,
}

export const PROVISIONING_VERSION = Record.VERSION;
export const PROVISIONING_VERSION_1 = Record.VERSION_1;
export const PROVISIONING_VERSION_2 = Record.VERSION_2;
export const PROVISIONING_VERSION_3 = Record.VERSION_3;
export const FIELD_UPDATE_KEYS = Record.FIELD_UPDATE_KEYS;
export const UPDATE_KEY_BYTES = Record.UPDATE_KEY_BYTES;
export const UPDATE_KEYS_MAX = Record.UPDATE_KEYS_MAX;
export const FIELD_SETUP_KEY = Record.FIELD_SETUP_KEY;
export const PROVISIONING_HEADER = Record.HEADER;
export const PROVISIONING_TRAILER = Record.TRAILER;
export const PROVISIONING_MAX_FIELDS = Record.MAX_FIELDS;
export const FIELD_SERIAL = Record.FIELD_SERIAL;
export const FIELD_DEVICE_SECRET = Record.FIELD_DEVICE_SECRET;
export const FIELD_DRBG_SEED = Record.FIELD_DRBG_SEED;
export const SERIAL_MIN = Record.SERIAL_MIN;
export const SERIAL_MAX = Record.SERIAL_MAX;
export const DEVICE_SECRET_BYTES = Record.DEVICE_SECRET_BYTES;
export const DRBG_SEED_BYTES = Record.DRBG_SEED_BYTES;
export const FIELD_SALT = Record.FIELD_SALT;
export const FIELD_ITERATIONS = Record.FIELD_ITERATIONS;
export const FIELD_STORED_KEY = Record.FIELD_STORED_KEY;
export const FIELD_SERVER_KEY = Record.FIELD_SERVER_KEY;
export const FIELD_DEFAULT_CHECK = Record.FIELD_DEFAULT_CHECK;
export const VERIFIER_SALT_MIN = Record.SALT_MIN;
export const VERIFIER_SALT_MAX = Record.SALT_MAX;
export const VERIFIER_ITERATIONS_MIN = Record.ITERATIONS_MIN;
export const VERIFIER_ITERATIONS_MAX = Record.ITERATIONS_MAX;
export const VERIFIER_KEY_BYTES = Record.KEY_BYTES;

export interface ProvisioningRecord {
  /** Public serial number, printable ASCII. */
  serial: string;
  /** 32 bytes from the factory's CSPRNG: root of every device key. Never leaves the device. */
  deviceSecret: Uint8Array;
  /** 48 bytes from the factory's CSPRNG: personal seed of the device's DRBG. */
  drbgSeed: Uint8Array;
  /**
   * Version 2: the SCRAM-SHA-256 verifier of the unit's default password (modules/accounts/scram.ts).
   * Undefined in a version-1 record: the unit has no password and serves public routes only.
   */
  verifier?: { salt: Uint8Array; iterations: number; storedKey: Uint8Array; serverKey: Uint8Array };
  /**
   * Version 2: HMAC-SHA-256 of the default password under the unit's `default-password` key
   * (modules/keys): lets the policy refuse the default as a new password without storing anything
   * that logs in. Undefined in a version-1 record.
   */
  defaultCheck?: Uint8Array;
  /**
   * Version 3: the unit's setup key, 16 bytes from the factory's CSPRNG, printed on the label inside
   * the setup URL's fragment (modules/channel/setup.ts): the admin channel's master salt, the key of
   * the SCRAM password's pre-hash and the root of the setup access point's passphrase. Undefined
   * before version 3: the unit serves public routes only.
   */
  setupKey?: Uint8Array;
  /**
   * Version 4: the Ed25519 public keys (32 bytes each, 1 to 4) that sign the unit's update packages
   * (docs/formats/update.md §5). The parser always sets it, empty before version 4 (such a unit
   * trusts no update key); optional in the type so that records written by hand need not list it.
   */
  updateKeys?: Uint8Array[];
}

/** Why a stored record was refused. One table: the parser returns these codes, never throws. */
export const PROVISIONING_REASONS = {
  erased: 'no provisioning record: the partition is erased (unit not provisioned)',
  'bad-magic': 'provisioning partition holds something that is not a provisioning record',
  'bad-version': 'provisioning record version is not one this firmware reads',
  'bad-flags': 'provisioning record flags must be zero',
  'bad-length': 'provisioning record length is out of range',
  'bad-crc': 'provisioning record is corrupt (CRC mismatch)',
  'bad-field': 'provisioning record has a malformed field',
  'unknown-field': 'provisioning record has a field this firmware does not know',
  'duplicate-field': 'provisioning record has a field twice',
  'missing-field': 'provisioning record lacks a required field',
  'bad-serial': 'provisioning record serial is not 4-32 printable ASCII characters',
  'bad-secret': 'provisioning record device secret is not 32 bytes, or is constant',
  'bad-seed': 'provisioning record DRBG seed is not 48 bytes, or is constant',
  'bad-verifier': 'provisioning record password verifier is malformed (salt 16-64 bytes, 4096-10000000 iterations, 32-byte keys)',
  'bad-default-check': 'provisioning record default-password check is not 32 bytes, or is constant',
  'bad-setup-key': 'provisioning record setup key is not 16 bytes, or is constant',
  'bad-update-keys': 'provisioning record update keys are not 1-4 keys of 32 bytes, or one is constant',
};
export type ProvisioningReason = keyof typeof PROVISIONING_REASONS;

export type ProvisioningResult =
  | { ok: true; record: ProvisioningRecord }
  | { ok: false; reason: ProvisioningReason };

/**
 * Parses a provisioning record from the start of `bytes` (untrusted stored bytes): returns the
 * record or the reason it was refused. Never throws on any input. Reads versions 1 to 4;
 * a version-1 record has no `verifier` nor `defaultCheck`, a version-2 record no `setupKey`, and
 * records before version 4 have no update keys (`updateKeys` empty).
 *
 * One function, the fields checked in one loop by tag (on Kaluma every function's bytecode stays in
 * the heap while the function is reachable: a helper per check or per field would cost more than
 * the checks).
 *
 * `release`: the caller parses once and never again (boot on a device: modules get the record from
 * their context). The parser then drops its own binding, so that on Kaluma its bytecode (about 900
 * bytes) is freed once it returns; a later call would throw. Hence a `let`, not a declaration.
 */
export let parseProvisioning = function (bytes: Uint8Array, release?: boolean): ProvisioningResult {
  if (release) parseProvisioning = undefined as never;
  let reason: ProvisioningReason = 'bad-length';
  let erased = true;
  for (let i = 0; i < Record.HEADER && i < bytes.length; i++) if (bytes[i] !== 0xff) erased = false;
  const version = bytes[4];
  const length = u16(bytes, 6);
  const end = Record.HEADER + length;
  if (bytes.length < Record.HEADER + Record.TRAILER) return { ok: false, reason: reason };
  if (erased) reason = 'erased';
  // PROVISIONING_MAGIC, "HSPR", as two little-endian halves.
  else if (u16(bytes, 0) !== 0x5348 || u16(bytes, 2) !== 0x5250) reason = 'bad-magic';
  else if (version < Record.VERSION_1 || version > Record.VERSION) reason = 'bad-version';
  else if (bytes[5] !== 0) reason = 'bad-flags';
  else if (length > Record.MAX_FIELDS || end + Record.TRAILER > bytes.length) reason = 'bad-length';
  else if (crc32(bytes, 0, end) !== u32(bytes, end)) reason = 'bad-crc';
  else reason = 'missing-field';
  if (reason !== 'missing-field') return { ok: false, reason: reason };

  // The highest tag this version has; tags 1..last each once (bit `tag` of `seen`).
  const last = version === Record.VERSION ? Record.FIELD_UPDATE_KEYS : version === Record.VERSION_3 ? Record.FIELD_SETUP_KEY : version === Record.VERSION_2 ? Record.FIELD_DEFAULT_CHECK : Record.FIELD_DRBG_SEED;
  let seen = 0;
  const got: Uint8Array[] = [];
  let iterations = 0;
  let at = Record.HEADER;
  while (at < end) {
    const tag = bytes[at];
    const n = bytes[at + 1];
    const value = bytes.subarray(at + 2, at + 2 + n);
    if (at + 2 > end || at + 2 + n > end) return { ok: false, reason: 'bad-field' };
    at += 2 + n;
    if (tag < 1 || tag > last) return { ok: false, reason: 'unknown-field' };
    if (seen & (1 << tag)) return { ok: false, reason: 'duplicate-field' };
    seen |= 1 << tag;
    // Each field's length range (the device secret, StoredKey, ServerKey, the default check and
    // each update key: KEY_BYTES, which equals DEVICE_SECRET_BYTES and UPDATE_KEY_BYTES); the serial
    // must be printable, the iteration count in range, and every other field not constant (all
    // bytes equal: an all-zero or erased "secret"; for the update keys, each key on its own).
    const keys = tag === Record.FIELD_UPDATE_KEYS;
    const min =
      tag === Record.FIELD_SERIAL ? Record.SERIAL_MIN : tag === Record.FIELD_DRBG_SEED ? Record.DRBG_SEED_BYTES : tag === Record.FIELD_SALT ? Record.SALT_MIN : tag === Record.FIELD_ITERATIONS ? 4 : tag === Record.FIELD_SETUP_KEY ? Record.SETUP_KEY_BYTES : Record.KEY_BYTES;
    const max = tag === Record.FIELD_SERIAL ? Record.SERIAL_MAX : tag === Record.FIELD_SALT ? Record.SALT_MAX : keys ? Record.KEY_BYTES * Record.UPDATE_KEYS_MAX : min;
    let good = n >= min && n <= max && (!keys || n % Record.KEY_BYTES === 0);
    let varied = tag === Record.FIELD_SERIAL || tag === Record.FIELD_ITERATIONS;
    for (let i = 0; i < n; i++) {
      // Update keys: at the start of each key, the previous one must have varied.
      if (keys && i % Record.KEY_BYTES === 0 && i > 0) {
        if (!varied) good = false;
        varied = false;
      }
      if (value[i] !== value[keys ? i - (i % Record.KEY_BYTES) : 0]) varied = true;
      if (tag === Record.FIELD_SERIAL && (value[i] < 0x21 || value[i] > 0x7e)) good = false;
    }
    if (tag === Record.FIELD_ITERATIONS && good) {
      iterations = u32(value, 0);
      good = iterations >= Record.ITERATIONS_MIN && iterations <= Record.ITERATIONS_MAX;
    }
    if (!good || !varied) {
      return {
        ok: false,
        reason: tag === Record.FIELD_SERIAL ? 'bad-serial' : tag === Record.FIELD_DEVICE_SECRET ? 'bad-secret' : tag === Record.FIELD_DRBG_SEED ? 'bad-seed' : tag === Record.FIELD_DEFAULT_CHECK ? 'bad-default-check' : tag === Record.FIELD_SETUP_KEY ? 'bad-setup-key' : keys ? 'bad-update-keys' : 'bad-verifier',
      };
    }
    got[tag] = new Uint8Array(value);
  }
  if (seen !== (1 << (last + 1)) - 2) return { ok: false, reason: reason };
  const record: ProvisioningRecord = { serial: bytesAscii(got[Record.FIELD_SERIAL]), deviceSecret: got[Record.FIELD_DEVICE_SECRET], drbgSeed: got[Record.FIELD_DRBG_SEED], updateKeys: [] };
  if (version !== Record.VERSION_1) {
    record.verifier = { salt: got[Record.FIELD_SALT], iterations: iterations, storedKey: got[Record.FIELD_STORED_KEY], serverKey: got[Record.FIELD_SERVER_KEY] };
    record.defaultCheck = got[Record.FIELD_DEFAULT_CHECK];
    if (version >= Record.VERSION_3) record.setupKey = got[Record.FIELD_SETUP_KEY];
  }
  const k = got[Record.FIELD_UPDATE_KEYS];
  for (let i = 0; k && i < k.length; i += Record.KEY_BYTES) record.updateKeys!.push(k.subarray(i, i + Record.KEY_BYTES));
  return { ok: true, record: record };
};

/** Reads and parses the record at the start of the provisioning partition. */
export function readProvisioning(flash: Flash): ProvisioningResult {
  return parseProvisioning(flash.read(0, Record.READ < flash.size ? Record.READ : flash.size));
}

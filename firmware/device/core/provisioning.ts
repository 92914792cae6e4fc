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
  /** The version the host tool writes. */
  VERSION = 2,
  /** The first version (no default password): still read. */
  VERSION_1 = 1,
  /** Bytes before the fields: magic (4), version (1), flags (1), fields length (2, little-endian). */
  HEADER = 8,
  /** CRC-32 after the fields. */
  TRAILER = 4,
  /** Largest fields area accepted (the record fits in one 4 KB sector with room to spare). */
  MAX_FIELDS = 2048,
  /** Field tags. Each appears exactly once: 1..3 in version 1, 1..8 in version 2; any other tag is refused. */
  FIELD_SERIAL = 0x01,
  FIELD_DEVICE_SECRET = 0x02,
  FIELD_DRBG_SEED = 0x03,
  FIELD_SALT = 0x04,
  FIELD_ITERATIONS = 0x05,
  FIELD_STORED_KEY = 0x06,
  FIELD_SERVER_KEY = 0x07,
  FIELD_DEFAULT_CHECK = 0x08,
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
}

export const PROVISIONING_VERSION = Record.VERSION;
export const PROVISIONING_VERSION_1 = Record.VERSION_1;
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
};
export type ProvisioningReason = keyof typeof PROVISIONING_REASONS;

export type ProvisioningResult =
  | { ok: true; record: ProvisioningRecord }
  | { ok: false; reason: ProvisioningReason };

function fail(reason: ProvisioningReason): ProvisioningResult {
  return { ok: false, reason: reason };
}

/** True if every byte of `b` equals its first byte (an all-zero or all-0xff "secret"). */
function constant(b: Uint8Array): boolean {
  for (let i = 1; i < b.length; i++) if (b[i] !== b[0]) return false;
  return true;
}

/** A non-constant copy of `value` if it is `n` bytes long, else undefined. */
function exact(value: Uint8Array, n: number): Uint8Array | undefined {
  return value.length === n && !constant(value) ? new Uint8Array(value) : undefined;
}

/**
 * Parses a provisioning record from the start of `bytes` (untrusted stored bytes): returns the
 * record or the reason it was refused. Never throws on any input. Reads versions 1 and 2; a
 * version-1 record has no `verifier` nor `defaultCheck`.
 */
export function parseProvisioning(bytes: Uint8Array): ProvisioningResult {
  if (bytes.length < Record.HEADER + Record.TRAILER) return fail('bad-length');
  let erased = true;
  for (let i = 0; i < Record.HEADER; i++) if (bytes[i] !== 0xff) erased = false;
  if (erased) return fail('erased');
  for (let i = 0; i < 4; i++) if (bytes[i] !== PROVISIONING_MAGIC[i]) return fail('bad-magic');
  const version = bytes[4];
  if (version !== Record.VERSION && version !== Record.VERSION_1) return fail('bad-version');
  if (bytes[5] !== 0) return fail('bad-flags');
  const length = u16(bytes, 6);
  const end = Record.HEADER + length;
  if (length > Record.MAX_FIELDS || end + Record.TRAILER > bytes.length) return fail('bad-length');
  const stored = u32(bytes, end);
  if (crc32(bytes, 0, end) !== stored) return fail('bad-crc');

  // The highest tag this version has; tags 1..last each once (bit `tag` of `seen`).
  const last = version === Record.VERSION ? Record.FIELD_DEFAULT_CHECK : Record.FIELD_DRBG_SEED;
  let seen = 0;
  let serial = '';
  const got: (Uint8Array | undefined)[] = [];
  let iterations = 0;
  let at = Record.HEADER;
  while (at < end) {
    if (at + 2 > end) return fail('bad-field');
    const tag = bytes[at];
    const n = bytes[at + 1];
    const value = bytes.subarray(at + 2, at + 2 + n);
    if (at + 2 + n > end) return fail('bad-field');
    at += 2 + n;
    if (tag < 1 || tag > last) return fail('unknown-field');
    if (seen & (1 << tag)) return fail('duplicate-field');
    seen |= 1 << tag;
    if (tag === Record.FIELD_SERIAL) {
      if (n < Record.SERIAL_MIN || n > Record.SERIAL_MAX) return fail('bad-serial');
      for (let i = 0; i < n; i++) if (value[i] < 0x21 || value[i] > 0x7e) return fail('bad-serial');
      serial = bytesAscii(value);
    } else if (tag === Record.FIELD_DEVICE_SECRET) {
      if (!(got[tag] = exact(value, Record.DEVICE_SECRET_BYTES))) return fail('bad-secret');
    } else if (tag === Record.FIELD_DRBG_SEED) {
      if (!(got[tag] = exact(value, Record.DRBG_SEED_BYTES))) return fail('bad-seed');
    } else if (tag === Record.FIELD_SALT) {
      if (n < Record.SALT_MIN || n > Record.SALT_MAX || constant(value)) return fail('bad-verifier');
      got[tag] = new Uint8Array(value);
    } else if (tag === Record.FIELD_ITERATIONS) {
      iterations = n === 4 ? u32(value, 0) : 0;
      if (iterations < Record.ITERATIONS_MIN || iterations > Record.ITERATIONS_MAX) return fail('bad-verifier');
    } else if (tag === Record.FIELD_DEFAULT_CHECK) {
      if (!(got[tag] = exact(value, Record.KEY_BYTES))) return fail('bad-default-check');
    } else if (!(got[tag] = exact(value, Record.KEY_BYTES))) {
      return fail('bad-verifier'); // StoredKey, ServerKey
    }
  }
  if (seen !== (1 << (last + 1)) - 2) return fail('missing-field');
  const record: ProvisioningRecord = { serial: serial, deviceSecret: got[Record.FIELD_DEVICE_SECRET]!, drbgSeed: got[Record.FIELD_DRBG_SEED]! };
  if (version === Record.VERSION) {
    record.verifier = { salt: got[Record.FIELD_SALT]!, iterations: iterations, storedKey: got[Record.FIELD_STORED_KEY]!, serverKey: got[Record.FIELD_SERVER_KEY]! };
    record.defaultCheck = got[Record.FIELD_DEFAULT_CHECK];
  }
  return { ok: true, record: record };
}

/** Reads and parses the record at the start of the provisioning partition. */
export function readProvisioning(flash: Flash): ProvisioningResult {
  const n = Record.HEADER + Record.MAX_FIELDS + Record.TRAILER;
  return parseProvisioning(flash.read(0, n < flash.size ? n : flash.size));
}

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
  VERSION = 1,
  /** Bytes before the fields: magic (4), version (1), flags (1), fields length (2, little-endian). */
  HEADER = 8,
  /** CRC-32 after the fields. */
  TRAILER = 4,
  /** Largest fields area accepted (the record fits in one 4 KB sector with room to spare). */
  MAX_FIELDS = 2048,
  /** Field tags of version 1. Each appears exactly once; any other tag is refused. */
  FIELD_SERIAL = 0x01,
  FIELD_DEVICE_SECRET = 0x02,
  FIELD_DRBG_SEED = 0x03,
  SERIAL_MIN = 4,
  SERIAL_MAX = 32,
  DEVICE_SECRET_BYTES = 32,
  DRBG_SEED_BYTES = 48,
}

export const PROVISIONING_VERSION = Record.VERSION;
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

/**
 * Parses a provisioning record from the start of `bytes` (untrusted stored bytes): returns the
 * record or the reason it was refused. Never throws on any input.
 */
export function parseProvisioning(bytes: Uint8Array): ProvisioningResult {
  if (bytes.length < Record.HEADER + Record.TRAILER) return fail('bad-length');
  let erased = true;
  for (let i = 0; i < Record.HEADER; i++) if (bytes[i] !== 0xff) erased = false;
  if (erased) return fail('erased');
  for (let i = 0; i < 4; i++) if (bytes[i] !== PROVISIONING_MAGIC[i]) return fail('bad-magic');
  if (bytes[4] !== Record.VERSION) return fail('bad-version');
  if (bytes[5] !== 0) return fail('bad-flags');
  const length = u16(bytes, 6);
  const end = Record.HEADER + length;
  if (length > Record.MAX_FIELDS || end + Record.TRAILER > bytes.length) return fail('bad-length');
  const stored = u32(bytes, end);
  if (crc32(bytes, 0, end) !== stored) return fail('bad-crc');

  let serial: string | undefined;
  let secret: Uint8Array | undefined;
  let seed: Uint8Array | undefined;
  let at = Record.HEADER;
  while (at < end) {
    if (at + 2 > end) return fail('bad-field');
    const tag = bytes[at];
    const n = bytes[at + 1];
    const value = bytes.subarray(at + 2, at + 2 + n);
    if (at + 2 + n > end) return fail('bad-field');
    at += 2 + n;
    if (tag === Record.FIELD_SERIAL) {
      if (serial !== undefined) return fail('duplicate-field');
      if (n < Record.SERIAL_MIN || n > Record.SERIAL_MAX) return fail('bad-serial');
      for (let i = 0; i < n; i++) if (value[i] < 0x21 || value[i] > 0x7e) return fail('bad-serial');
      serial = bytesAscii(value);
    } else if (tag === Record.FIELD_DEVICE_SECRET) {
      if (secret !== undefined) return fail('duplicate-field');
      if (n !== Record.DEVICE_SECRET_BYTES || constant(value)) return fail('bad-secret');
      secret = new Uint8Array(value);
    } else if (tag === Record.FIELD_DRBG_SEED) {
      if (seed !== undefined) return fail('duplicate-field');
      if (n !== Record.DRBG_SEED_BYTES || constant(value)) return fail('bad-seed');
      seed = new Uint8Array(value);
    } else {
      return fail('unknown-field');
    }
  }
  if (serial === undefined || secret === undefined || seed === undefined) return fail('missing-field');
  return { ok: true, record: { serial: serial, deviceSecret: secret, drbgSeed: seed } };
}

/** Reads and parses the record at the start of the provisioning partition. */
export function readProvisioning(flash: Flash): ProvisioningResult {
  const n = Record.HEADER + Record.MAX_FIELDS + Record.TRAILER;
  return parseProvisioning(flash.read(0, n < flash.size ? n : flash.size));
}

import { u32 } from '../../firmware/device/core/bytes';
import { crc32 } from '../../firmware/device/core/crc32';

/**
 * The security log's on-flash format, byte by byte as docs/formats/audit.md gives it: a ring of
 * sectors, each a header slot and entry slots of 64 bytes. Shared by the device (log.ts, read.ts)
 * and the host's verifier (firmware/host/audit-log.ts). All integers little-endian. A header and an
 * entry's MAC are written by log.ts `append` alone (one function: each costs Kaluma's heap).
 */

/**
 * The format's numbers. A const enum: esbuild writes each value into the code that uses it, so on
 * the device they cost no variable.
 */
export const enum Audit {
  /** In every sector header. */
  VERSION = 1,
  /** Bytes of a slot: the sector header (slot 0) or an entry (slots 1 … E / 64 − 1). */
  SLOT = 64,
  /** Bytes of a header that are programmed: the CRC-32 ends them; the rest of slot 0 stays erased. */
  HEADER = 36,
  /** Header: sector sequence number, the first entry's sequence number, the anchor, the CRC. */
  SECTOR_AT = 8,
  FIRST_AT = 12,
  ANCHOR_AT = 16,
  CRC_AT = 32,
  /** Entry: sequence number at 0, then wall time, uptime, boot number, text, MAC, commit byte. */
  WALL_AT = 4,
  UPTIME_AT = 8,
  BOOT_AT = 12,
  TEXT_AT = 14,
  TEXT = 33,
  MAC_AT = 47,
  /** Bytes of an entry's MAC (HMAC-SHA-256 truncated), and so of the anchor. */
  MAC = 16,
  COMMIT_AT = 63,
  /** The commit byte ("C"), programmed after the entry: without it the entry is torn. */
  COMMIT = 0x43,
  /** What the text shows where it was cut ("~"). */
  CUT = 0x7e,
}

/**
 * The sector sequence number and the first entry's sequence number of a header (the first 36 bytes
 * of `b`), or undefined unless it is one: magic "HSLG", version, reserved zeroes, CRC-32, both
 * numbers above zero. Stored bytes: never throws.
 */
export function headerOf(b: Uint8Array): number[] | undefined {
  if (b[0] !== 0x48 || b[1] !== 0x53 || b[2] !== 0x4c || b[3] !== 0x47 || b[4] !== Audit.VERSION || (b[5] | b[6] | b[7]) !== 0) return undefined;
  if (crc32(b, 0, Audit.CRC_AT) !== u32(b, Audit.CRC_AT)) return undefined;
  const s = u32(b, Audit.SECTOR_AT);
  const f = u32(b, Audit.FIRST_AT);
  return s > 0 && f > 0 ? [s, f] : undefined;
}

/** True if every byte of `b` is 0xff (the host's reader of a dump; the device's open has its own). */
export function erased(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

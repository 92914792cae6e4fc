import { ESP32_BOOT } from '../../boards/espruino-esp32/board';

/**
 * The Storage files `hoshi flash` makes on an ESP32 (boards/espruino-esp32/board.ts ESP32_BOOT),
 * in order, on a Storage erased whole first: the fixed loader `.bootcde`, then `hoshi.bc`, `hoshi.a`
 * and `hoshi.b`. Storage puts each file right after the previous one (src/jsflash.c jsfCreateFile),
 * so with each file's header and data a whole number of 4 KB sectors, every file starts on a sector
 * boundary (the first at Storage's start, 0x320000) and so does whatever the product stores after
 * them. That keeps a compaction, which Storage starts at the last sector beginning with a header at
 * or before the first deleted file (jsfGetStorageStats), away from these files: only a deleted file
 * among them (`.bootcde` written again, by `save()` or E.setBootCode) would start one there.
 */
export const SECTOR = 4096;
const HEADER = 32;

/** `loader` padded with spaces so that its file (header included) is a whole number of sectors. */
export function paddedBootCode(loader: Uint8Array): Uint8Array {
  const size = Math.ceil((loader.length + HEADER) / SECTOR) * SECTOR - HEADER;
  const out = new Uint8Array(size).fill(0x20);
  out.set(loader);
  return out;
}

/** Where the region a reserved file holds starts in its data (board.ts `reservedFlash`), the file starting on a sector boundary. */
export const RESERVED_BASE = SECTOR - HEADER;

/** The reserved files after `.bootcde`: name, file size, and the region's size. */
export const RESERVED_FILES: { name: string; size: number; region: number }[] = [
  { name: ESP32_BOOT.bootctl, size: ESP32_BOOT.bootctlFile, region: 2 * ESP32_BOOT.unit },
  { name: ESP32_BOOT.slots[0]!, size: ESP32_BOOT.slotFile, region: ESP32_BOOT.slotSize },
  { name: ESP32_BOOT.slots[1]!, size: ESP32_BOOT.slotFile, region: ESP32_BOOT.slotSize },
];

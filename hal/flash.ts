/**
 * Flash: a region of NOR flash, addressed from 0 to `size`.
 *
 * The rules below are those of the NOR flash on every supported board (RP2040's external QSPI
 * flash, ESP32's SPI flash); the host board enforces them so that code that breaks them fails in
 * tests, not on a device.
 *
 * - An erased byte reads `erasedValue` (0xff on every supported chip).
 * - `erase(offset, length)` sets whole erase units (sectors) back to `erasedValue`; `offset` and
 *   `length` are multiples of `eraseSize`.
 * - `write(offset, data)` programs bytes; `offset` and `data.length` are multiples of `writeSize`.
 *   Programming can only clear bits, and a byte may be programmed once per erase: writing a value
 *   other than `erasedValue` over a byte that is not erased is an error, even if the new value
 *   would only clear bits. Writing `erasedValue` leaves a byte as it is, programmed or not: NOR
 *   page programming only drives the bits that are 0 in the data (W25Q16JV datasheet §8.2.13 Page
 *   Program; ESP-IDF's NVS re-programs its entry bitmaps this way). This is how a record smaller
 *   than `writeSize` is appended inside a page that already holds others: the page is written with
 *   `erasedValue` everywhere but the record's bytes.
 * - A power cut during a write can only affect the bytes it programs (those not `erasedValue`).
 * - All calls are synchronous, as both runtimes' flash APIs are. A call either completes or throws;
 *   after a power cut no call returns at all (the device is gone). A write or erase interrupted by a
 *   power cut may leave its range partly programmed or partly erased.
 * - Errors are programming errors (bad alignment, out of range, writing unerased bytes) and throw an
 *   `Error` naming the argument.
 */
export interface Flash {
  /** Size of the region in bytes: a multiple of `eraseSize`. */
  readonly size: number;
  /** Erase unit (sector) in bytes. */
  readonly eraseSize: number;
  /** Write unit in bytes: offsets and lengths of `write` are multiples of it. */
  readonly writeSize: number;
  /** Value of an erased byte. */
  readonly erasedValue: number;
  /** Reads `length` bytes at `offset`. Any offset and length within the region. */
  read(offset: number, length: number): Uint8Array;
  /** Programs `data` at `offset` (both aligned to `writeSize`) into erased bytes. */
  write(offset: number, data: Uint8Array): void;
  /** Erases `length` bytes at `offset` (both aligned to `eraseSize`). */
  erase(offset: number, length: number): void;
  /**
   * SHA-256 of `length` bytes at `offset`, computed natively in one call without copying the
   * region into RAM: only where the runtime memory-maps this flash and hashes it in place
   * (Espruino on ESP32: a Storage file read is a string over mapped flash, and `crypto.SHA256`
   * reads it where it lies). Absent elsewhere: callers hash what `read` returns, a block at a time.
   */
  sha256?(offset: number, length: number): Uint8Array;
}

/**
 * A partition: the sub-region [`offset`, `offset + size`) of `flash`, seen as a flash of its own.
 * `offset` and `size` must be multiples of the parent's erase unit.
 */
export function partition(flash: Flash, offset: number, size: number): Flash {
  if (offset % flash.eraseSize !== 0 || size % flash.eraseSize !== 0 || size <= 0) {
    throw new Error('partition: offset and size must be positive multiples of eraseSize');
  }
  if (offset < 0 || offset + size > flash.size) {
    throw new Error('partition: offset + size exceeds the flash size');
  }
  const check = (o: number, n: number): void => {
    if (o < 0 || n < 0 || o + n > size) throw new Error('flash: offset ' + o + ' + length ' + n + ' outside the partition');
  };
  return {
    size: size,
    eraseSize: flash.eraseSize,
    writeSize: flash.writeSize,
    erasedValue: flash.erasedValue,
    read: (o: number, n: number): Uint8Array => {
      check(o, n);
      return flash.read(offset + o, n);
    },
    write: (o: number, data: Uint8Array): void => {
      check(o, data.length);
      flash.write(offset + o, data);
    },
    erase: (o: number, n: number): void => {
      check(o, n);
      flash.erase(offset + o, n);
    },
  };
}

/** `flash` seen read-only: write and erase throw. For regions the device must never rewrite. */
export function readOnly(flash: Flash, name: string): Flash {
  const refuse = (): void => {
    throw new Error(name + ' is read-only on the device');
  };
  return {
    size: flash.size,
    eraseSize: flash.eraseSize,
    writeSize: flash.writeSize,
    erasedValue: flash.erasedValue,
    read: (offset: number, length: number): Uint8Array => flash.read(offset, length),
    write: refuse,
    erase: refuse,
  };
}

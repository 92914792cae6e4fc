import type { Flash } from '../../hal/flash';

/**
 * The flash the bench's device operations run on in the real engines (no runtime fake is loaded
 * when counting): `sectors` sectors of 4 KB in a RAM array with NOR semantics (programming only
 * clears bits, erase sets 0xff) and the board's write unit.
 */
export function ramFlash(sectors: number, writeSize: number): Flash {
  const bytes = new Uint8Array(sectors * 4096);
  bytes.fill(0xff);
  return {
    size: bytes.length,
    eraseSize: 4096,
    writeSize: writeSize,
    erasedValue: 0xff,
    // A copy through subarray: on Espruino, slice() of a typed array is a non-flat copy (one
    // variable per byte, and every element access walks it).
    read: (offset: number, length: number): Uint8Array => new Uint8Array(bytes.subarray(offset, offset + length)),
    write: (offset: number, data: Uint8Array): void => {
      for (let i = 0; i < data.length; i++) if (data[i] !== 0xff) bytes[offset + i] &= data[i];
    },
    erase: (offset: number, length: number): void => {
      bytes.fill(0xff, offset, offset + length);
    },
  };
}

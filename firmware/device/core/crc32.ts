/**
 * CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF; the
 * CRC of zlib and of Espruino's E.CRC32), two lookups per byte in a table of 16 entries (one per
 * 4-bit nibble, 64 bytes, built on first use): a 256-entry table would hold 1 KB of Kaluma's heap
 * for a CRC over at most a record at a time. It detects accidental corruption (every burst up to
 * 32 bits, every error of up to 3 bits in a record of Hoshi's size); it is not a security check:
 * sealed values carry an AEAD tag.
 */
let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(16);
  for (let n = 0; n < 16; n++) {
    let c = n;
    for (let k = 0; k < 4; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    t[n] = c;
  }
  return t;
}

/** CRC-32 of `bytes[start..end)`, as an unsigned 32-bit number; `previous` continues the CRC of bytes before them. */
export function crc32(bytes: Uint8Array, start: number, end: number, previous?: number): number {
  if (!table) table = makeTable();
  const t = table;
  let crc = (previous || 0) ^ -1;
  for (let i = start; i < end; i++) {
    crc = t[(crc ^ bytes[i]) & 15] ^ (crc >>> 4);
    crc = t[(crc ^ (bytes[i] >>> 4)) & 15] ^ (crc >>> 4);
  }
  return (crc ^ -1) >>> 0;
}

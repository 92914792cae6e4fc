/**
 * CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF; the
 * CRC of zlib and of Espruino's E.CRC32), one table lookup per byte. The table (1 KB) is built on
 * first use. It detects accidental corruption (every burst up to 32 bits, every error of up to 3
 * bits in a record of Hoshi's size); it is not a security check: sealed values carry an AEAD tag.
 */
let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    t[n] = c;
  }
  return t;
}

/** CRC-32 of `bytes[start..end)`, as an unsigned 32-bit number; `previous` continues the CRC of bytes before them. */
export function crc32(bytes: Uint8Array, start: number, end: number, previous?: number): number {
  if (!table) table = makeTable();
  const t = table;
  let crc = (previous || 0) ^ -1;
  for (let i = start; i < end; i++) crc = t[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

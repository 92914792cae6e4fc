/**
 * CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF; the
 * CRC of zlib and of Espruino's E.CRC32). It detects accidental corruption (every burst up to 32
 * bits, every error of up to 3 bits in a record of Hoshi's size); it is not a security check:
 * sealed values carry an AEAD tag.
 *
 * The byte table T[x] (x = 0..255) is linear in x: T[x] = T[x & 15] ^ T[x & 240]. On Kaluma the
 * table holds those 32 entries only (two lookups per byte, 128 bytes of heap instead of 1 KB, at the
 * same speed on JerryScript); elsewhere all 256 (one lookup: on Espruino the second lookup would
 * cost a store write about half as much again). The `KALUMA_ONLY` statement is dropped from other
 * device bundles (firmware/host/build.ts); the host runs the small table. Built on first use.
 */
let table: Int32Array | undefined;
let small = false;
KALUMA_ONLY: small = true;

/** The CRC of byte `x` alone (eight shifts), as the table holds it. */
function step(x: number): number {
  let c = x;
  for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  return c;
}

function makeTable(): Int32Array {
  const t = new Int32Array(small ? 32 : 256);
  if (small) for (let n = 0; n < 16; n++) {
    t[n] = step(n);
    t[16 + n] = step(n << 4);
  }
  else for (let n = 0; n < 256; n++) t[n] = step(n);
  return t;
}

/** CRC-32 of `bytes[start..end)`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!table) table = makeTable();
  const t = table;
  let crc = -1;
  let x = 0;
  if (small) {
    for (let i = start; i < end; i++) {
      x = (crc ^ bytes[i]) & 255;
      crc = t[x & 15] ^ t[16 + (x >>> 4)] ^ (crc >>> 8);
    }
  } else for (let i = start; i < end; i++) crc = t[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

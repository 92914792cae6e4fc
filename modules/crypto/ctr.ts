import type { BlockCipher } from '../../hal/crypto';

/**
 * CTR mode (NIST SP 800-38A §6.5): out = data ⊕ E(T1) ‖ E(T2) ‖ …, where T1 = `counter` and each
 * next counter block is the previous one plus one as a 128-bit big-endian integer (§B.1 with
 * m = 128). Counter blocks are enciphered a chunk at a time through `encryptBlocks`, so a native
 * cipher is called once per chunk. The same call encrypts and decrypts.
 */
const CHUNK = 256;

/** Adds one to the 16-byte big-endian counter block `c` in place. */
function incrementCounter(c: Uint8Array, from: number): void {
  for (let i = 15; i >= from; i--) {
    c[i] = (c[i] + 1) & 255;
    if (c[i] !== 0) return;
  }
}

/** CTR over `data` with the initial counter block `counter` (16 bytes, not modified). */
export function ctr(cipher: BlockCipher, counter: Uint8Array, data: Uint8Array): Uint8Array {
  if (counter.length !== 16) throw new RangeError('ctr: counter block must be 16 bytes');
  const out = new Uint8Array(data.length);
  const c = new Uint8Array(counter);
  const blocks = new Uint8Array(CHUNK);
  for (let at = 0; at < data.length; at += CHUNK) {
    const n = Math.min(CHUNK, data.length - at);
    const fill = (n + 15) & ~15;
    for (let b = 0; b < fill; b += 16) {
      blocks.set(c, b);
      incrementCounter(c, 0);
    }
    const stream = cipher.encryptBlocks(fill === CHUNK ? blocks : blocks.subarray(0, fill));
    for (let i = 0; i < n; i++) out[at + i] = data[at + i] ^ stream[i];
  }
  return out;
}

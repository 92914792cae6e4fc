/**
 * What both device bindings' flash regions check around the runtime's own calls (Kaluma's
 * `Flash` drops a misaligned write silently; neither runtime refuses programming a byte that is
 * not erased): ranges and alignment first, then that only erased bytes are programmed, then a
 * read-back. Device code, shared by boards/kaluma-* and boards/espruino-*.
 */

/** Throws unless [offset, offset + length) lies in a region of `size` bytes and is aligned to `unit`. */
export function checkRange(what: string, offset: number, length: number, size: number, unit: number): void {
  if (offset < 0 || length < 0 || offset + length > size) throw new Error(what + ': range outside the partition');
  if (offset % unit !== 0 || length % unit !== 0) throw new Error(what + ': offset and length must be multiples of ' + unit);
}

/**
 * Programs `data` at `offset` through the runtime (`program`), refusing to program a byte that is
 * not erased (bytes written as 0xff are not programmed: hal/flash.ts), then verifies the result.
 */
export function programChecked(offset: number, data: Uint8Array, read: (offset: number, length: number) => Uint8Array, program: () => void): void {
  const current = read(offset, data.length);
  for (let i = 0; i < data.length; i++) if (data[i] !== 0xff && current[i] !== 0xff) throw new Error('write: byte at ' + (offset + i) + ' is already programmed');
  program();
  const back = read(offset, data.length);
  for (let i = 0; i < data.length; i++) if (back[i] !== (data[i] === 0xff ? current[i] : data[i])) throw new Error('write: verify failed at ' + (offset + i));
}

import type { Flash } from '../../hal/flash';
import { espruinoCrypto } from '../../boards/espruino-esp32/crypto';
import { install } from './update-ops';

declare function require(name: string): any;
declare const E: { toUint8Array(s: string): Uint8Array };
declare const process: { memory(): { usage: number } };

/**
 * Storage files seen as one flash (`names`, each `fileSize` bytes), as an ESP32 keeps its update
 * slots: reads are strings Storage maps onto the flash, and `sha256` hashes such a string natively
 * in one call (crypto.SHA256), as the board's slots do. Erasing a file's first sector removes the
 * file; writing its offset 0 makes it anew at its size; its other sectors are erased with it (the
 * worker writes each sector once after erasing it).
 */
function storageFiles(names: string[], fileSize: number): Flash {
  const S = require('Storage');
  const at = function (offset: number): { name: string; offset: number } {
    return { name: names[Math.floor(offset / fileSize)], offset: offset % fileSize };
  };
  return {
    size: names.length * fileSize,
    eraseSize: 4096,
    writeSize: 4,
    erasedValue: 0xff,
    read: function (offset: number, length: number): Uint8Array {
      const f = at(offset);
      const out = new Uint8Array(length);
      const mapped = length > 0 ? S.read(f.name, f.offset, length) : undefined;
      const got = mapped === undefined ? 0 : mapped.length;
      if (got > 0) out.set(E.toUint8Array(mapped));
      for (let k = got; k < length; k++) out[k] = 0xff;
      return out;
    },
    write: function (offset: number, data: Uint8Array): void {
      const f = at(offset);
      if (f.offset === 0) S.write(f.name, data, 0, fileSize);
      else {
        if (S.read(f.name, 0, 1) === undefined) S.write(f.name, '\xff', 0, fileSize);
        S.write(f.name, data, f.offset);
      }
    },
    erase: function (offset: number, length: number): void {
      for (let o = offset; o < offset + length; o += 4096) if (o % fileSize === 0) S.erase(at(o).name);
    },
    sha256: function (offset: number, length: number): Uint8Array {
      const f = at(offset);
      return new Uint8Array(require('crypto').SHA256(S.read(f.name, f.offset, length)));
    },
  };
}

// Espruino: native crypto, the slot hashed in place in one call (hashSlice as the ESP32 board's).
install({
  runtime: 'espruino',
  board: 'espruino-esp32',
  crypto: espruinoCrypto(),
  hashSlice: 4096,
  flashes: function (capacity: number) {
    return {
      bootctl: storageFiles(['bench.bc0', 'bench.bc1'], 4096),
      slots: [storageFiles(['bench.a'], 4096 + capacity), storageFiles(['bench.b'], 4096 + capacity)],
    };
  },
  memory: function (): number {
    return process.memory().usage;
  },
});

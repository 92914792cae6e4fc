// The store's operations for `npm run bench` on the real engines: __bench(op, k). The flash is a
// RAM array with NOR semantics (no runtime fake is loaded when counting), 8 sectors of 4 KB with
// the board's write unit; the crypto provider is the board's (pure JS on Kaluma, native on
// Espruino).
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { openStore } from '../../modules/store/store';
import type { Store } from '../../firmware/device/core/services';

const SECTOR = 4096;

function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

export function install(p: CryptoProvider, writeSize: number): void {
  const bytes = new Uint8Array(8 * SECTOR);
  bytes.fill(0xff);
  const flash: Flash = {
    size: bytes.length,
    eraseSize: SECTOR,
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

  const seal = p.aes(fill(16, 9));
  const value = fill(64, 1);
  const held: Store[] = [];

  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number): number {
    let r = 0;
    if (op === 'load') return 1;
    if (op === 'open-empty') {
      for (let i = 0; i < k; i++) r = r + openStore(flash, { seal: seal }).report.keys;
      return r;
    }
    const store = openStore(flash, { seal: seal });
    if (op === 'set-64') {
      for (let i = 0; i < k; i++) store.set('bench.value', value);
    } else if (op === 'seal-64') {
      for (let i = 0; i < k; i++) store.set('bench.secret', value, true);
    } else if (op === 'get-sealed-64') {
      store.set('bench.secret', value, true);
      for (let i = 0; i < k; i++) r = r + store.get('bench.secret')![0];
    } else if (op === 'open-generation') {
      // A generation of 4 full sectors of 32-byte updates (what boot reads at most), opened k times.
      for (let i = 0; i < 300; i++) store.set('counter' + (i % 4), fill(32, i));
      for (let i = 0; i < k; i++) r = r + openStore(flash, { seal: seal }).report.sectors;
    } else if (op === 'purge') {
      // The smart plug's keys, some overwritten, the user's deleted in one commit (a factory wipe),
      // then k purges: each compacts the 2 remaining keys and erases the generation it replaces.
      store.set('acct.verifier', fill(85, 1), true);
      store.set('net.wifi', fill(30, 2), true);
      store.set('ota.pull', fill(41, 3));
      store.set('relay.schedule', fill(12, 4));
      for (let i = 0; i < 12; i++) {
        store.set('relay.on', fill(1, i));
        if (i % 4 === 0) store.set('hoshi.drbg', fill(32, i), true);
        if (i % 6 === 0) store.set('acct.fails', fill(4, i));
      }
      store.commit([{ key: 'acct.verifier' }, { key: 'acct.fails' }, { key: 'net.wifi' }, { key: 'ota.pull' }, { key: 'relay.schedule' }]);
      for (let i = 0; i < k; i++) store.purge();
    } else if (op === 'hold') {
      // Opens k stores on their own regions' worth of keys and keeps them: RAM held.
      for (let i = 0; i < k; i++) store.set('key' + i, fill(32, i), i % 2 === 0);
      held.push(openStore(flash, { seal: seal }));
    } else {
      throw new Error('unknown op ' + op);
    }
    return r + store.keys().length;
  };
}

// The store's operations for `npm run bench` on the real engines: __bench(op, k). The flash is a
// RAM array with NOR semantics (no runtime fake is loaded when counting), 8 sectors of 4 KB with
// the board's write unit; the crypto provider is the board's (pure JS on Kaluma, native on
// Espruino).
import type { CryptoProvider } from '../../hal/crypto';
import { ramFlash } from './ram-flash';
import { openStore } from '../../modules/store/store';
import type { Store } from '../../firmware/device/core/services';


function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

export function install(p: CryptoProvider, writeSize: number): void {
  const flash = ramFlash(8, writeSize);

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

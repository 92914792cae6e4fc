// The assets reader and the common-password filter for `npm run bench` on the real engines:
// __bench(op, k). The container's bytes come as hex in the global __assetsHex (no runtime fake is
// loaded when counting; the driver drops the hex once loaded); the flash is a RAM array of the
// container's size, read as the bindings read (a fresh copy per read); the crypto provider is the
// board's (pure JS on Kaluma, native on Espruino).
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { Asset, openAssets } from '../../firmware/device/core/assets';
import { commonPasswords } from '../../modules/accounts/common';

declare const __assetsHex: string;

export function install(p: CryptoProvider): void {
  let flash: Flash | undefined;
  const load = (): Flash => {
    if (flash) return flash;
    const bytes = new Uint8Array(__assetsHex.length >> 1);
    for (let i = 0; i < __assetsHex.length; i += 2) bytes[i >> 1] = parseInt(__assetsHex.substr(i, 2), 16);
    flash = {
      size: bytes.length,
      eraseSize: 4096,
      writeSize: 4,
      erasedValue: 0xff,
      read: (offset: number, length: number): Uint8Array => new Uint8Array(bytes.subarray(offset, offset + length)),
      write: (): void => undefined,
      erase: (): void => undefined,
    };
    return flash;
  };

  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number): number {
    const f = load();
    let r = 0;
    if (op === 'load') return 1;
    if (op === 'open') {
      // openAssets and find(): the header, the table and its CRC-32 (asset bytes are not checked at run time).
      for (let i = 0; i < k; i++) r = r + (openAssets(f).find(Asset.COMMON_PASSWORDS) ? 1 : 0);
      return r;
    }
    const common = commonPasswords(openAssets(f), p.sha256);
    if (!common) throw new Error('no filter');
    if (op === 'lookup') {
      for (let i = 0; i < k; i++) r = r + (common('correct-horse-' + i) ? 1 : 0);
      return r;
    }
    if (op === 'hold') return common('password1') ? 1 : 0;
    throw new Error('unknown op ' + op);
  };
}

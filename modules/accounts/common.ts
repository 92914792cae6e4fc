import { u32 } from '../../firmware/device/core/bytes';
import { utf8Bytes } from '../../firmware/device/core/bytes';
import { Asset, type Assets } from '../../firmware/device/core/assets';

/**
 * The common-password filter: a Bloom filter (Bloom 1970) of the lower-cased common passwords that
 * the length rule alone would let through, built on the host (firmware/host/assets.ts) and read
 * from the assets partition a byte at a time, so it costs the device no heap. Indices by double
 * hashing (Kirsch and Mitzenmacher 2006): h1, h2 from SHA-256 of the word, index i = (h1 + i·h2)
 * mod m. Layout (docs/formats/assets.md): k (1 byte), three zero bytes, m in bits (u32 LE), then
 * the ⌈m/8⌉ bytes of the bit array, bit j at byte j >> 3, mask 1 << (j & 7).
 */
export const enum Bloom {
  HEADER = 8,
  MAX_K = 32,
}

/** The k bit indices of `word` in a filter of m bits. */
export function bloomIndices(sha256: (data: Uint8Array) => Uint8Array, word: string, k: number, m: number): number[] {
  const d = sha256(utf8Bytes(word));
  const h1 = u32(d, 0);
  const h2 = u32(d, 4) | 1;
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push((h1 + ((i * h2) % m)) % m);
  return out;
}

/**
 * The device's check: true if `lowerCase` is (probably) a common password. Undefined when the
 * filter is missing or corrupt (the policy's other rules still apply; boot says why).
 */
export function commonPasswords(assets: Assets, sha256: (data: Uint8Array) => Uint8Array): ((lowerCase: string) => boolean) | undefined {
  const span = assets.find(Asset.COMMON_PASSWORDS);
  if (!span || span.length < Bloom.HEADER) return undefined;
  const head = assets.read(span.offset, Bloom.HEADER);
  const k = head[0];
  const m = u32(head, 4);
  if (k < 1 || k > Bloom.MAX_K || m < 8 || Bloom.HEADER + Math.ceil(m / 8) > span.length) return undefined;
  return (lowerCase: string): boolean => {
    const at = bloomIndices(sha256, lowerCase, k, m);
    for (let i = 0; i < at.length; i++) {
      const byte = assets.read(span.offset + Bloom.HEADER + (at[i] >> 3), 1)[0];
      if ((byte & (1 << (at[i] & 7))) === 0) return false;
    }
    return true;
  };
}

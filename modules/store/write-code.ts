import type { Asset, Assets } from '../../firmware/device/core/assets';
import { storeWrite } from './write';

/**
 * The store's writer (write.ts: appends, compaction, the capacity rule). A store writes now and
 * then (a setting, a password, the lockout's count), and its writer is the largest part of its
 * code, so the Kaluma image build replaces this file with core/code.ts's `loadParts`, which reads it
 * from asset 14 of the running image's assets (firmware/host/ondemand.ts) at the first write after
 * the store was idle; the store keeps it until `Store.idle`, which boot calls every 30 seconds. The
 * heap holds it from a write to at most half a minute later. Elsewhere the writer is linked and this
 * returns it.
 */
export function storeWriter(_assets: Pick<Assets, 'find' | 'read'> | undefined, _id: Asset.CODE_STORE_WRITER): typeof storeWrite {
  return storeWrite;
}

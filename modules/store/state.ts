import type { Assets } from '../../firmware/device/core/assets';
import type { storeWrite } from './write';
import type { BlockCipher } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import type { StoreReport, StoreReserve, StoreStats } from '../../firmware/device/core/services';

/**
 * The store's whole state, one explicit object that the file-level functions of scan.ts (open
 * and recovery) and write.ts (appends, compaction, the capacity rule) share — as littlefs keeps
 * its `lfs_t` and MCUboot its `boot_loader_state`.
 */

/** Where a live record is: ring position of its sector, offset, footprint. */
export interface Entry {
  s: number;
  o: number;
  n: number;
  sealed: boolean;
}

export interface StoreState {
  flash: Flash;
  /** Sector size, sectors in the region. */
  E: number;
  N: number;
  /** Sectors a generation may span (the budget in effect: report.budget). */
  G: number;
  seal: BlockCipher | undefined;
  onNonce: ((nonce: Uint8Array) => void) | undefined;
  /** What each sector's header says, in typed arrays (a few bytes per sector, also on Espruino). */
  kinds: Uint8Array;
  seqs: Uint32Array;
  gens: Uint32Array;
  /** Greatest sector sequence number seen on the flash or written since. */
  maxSeq: number;
  /** Unreadable headers were found: erase them and jump the sequence before the next new sector. */
  needsRepair: boolean;
  /** Set once a write failed midway: nothing more is written until the store is opened again. */
  broken: string | undefined;
  /** Live records by "#" + key, and the live keys' names in the order compaction packs them. */
  index: { [name: string]: Entry };
  names: string[];
  /** Footprint of the live records, bytes. */
  live: number;
  /** Ring positions of the generation in use, oldest first; the last one is `head`. */
  sectors: number[];
  head: number;
  /** Offset in `head` where the next record goes. */
  tail: number;
  /** Reserved keys in declaration order, and each one's reserved footprint by "#" + key. */
  reserve: StoreReserve[];
  reserved: { [name: string]: number };
  report: StoreReport;
  stats: StoreStats;
  /** Where a Kaluma image reads the writer from (write-code.ts); none elsewhere, where it is linked. */
  code: Pick<Assets, 'find' | 'read'> | undefined;
  /** The writer once read, until the store is idle (Store.idle). */
  writer: typeof storeWrite | undefined;
}

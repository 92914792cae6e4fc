import type { BlockCipher } from '../../../hal/crypto';
import type { StoreReadReason } from './errors';

/**
 * The kit's services as a module sees them: the state store (implemented by modules/store), the
 * unit's keys and random bytes (modules/keys). Declared here, below the modules, so that a module
 * depends on the contract and not on another module's code, and boot wires the implementations in.
 */

export type StoreRead = { ok: true; value: Uint8Array } | { ok: false; reason: StoreReadReason };

/** One change of a commit: `value` undefined deletes the key. */
export interface StoreChange {
  key: string;
  value?: Uint8Array;
  /** Encrypt and authenticate the value (needs the store's seal key). */
  sealed?: boolean;
}

/**
 * Room a module sets aside in the store for one key: the key can always be written with a value of
 * up to `bytes` bytes, however full other keys have made the store (docs/formats/store.md).
 */
export interface StoreReserve {
  key: string;
  bytes: number;
  sealed: boolean;
}

/** What open() found. */
export interface StoreReport {
  /** Sequence number of the generation in use; 0 if the region holds none (new or unreadable). */
  generation: number;
  /** Sectors of the generation in use. */
  sectors: number;
  /** Live keys. */
  keys: number;
  /** Sectors a generation may span: the budget asked for, or more when what is stored needs it. */
  budget: number;
  /** What was skipped and why: torn writes, uncommitted transactions, corrupt bytes, an over-full region. */
  skipped: string[];
}

export interface StoreStats {
  /** Bytes appended since open: records, commit records and sector headers, copies included. */
  appended: number;
  erases: number;
  /** Program operations (flash.write calls). */
  programs: number;
  compactions: number;
}

export interface Store {
  readonly report: StoreReport;
  readonly stats: StoreStats;
  /** The value of `key`, or why not. Never throws on stored bytes. */
  read(key: string): StoreRead;
  /** The value of `key`, or undefined if absent or unreadable (`read` says why). */
  get(key: string): Uint8Array | undefined;
  /**
   * Stores `value` under `key`; once it returns, the value survives any power cut. Throws a
   * `store-full` failure (core/errors) when the capacity rule refuses it: never for a delete, an
   * overwrite no larger than the value it replaces, or a reserved key within its reserve.
   */
  set(key: string, value: Uint8Array, sealed?: boolean): void;
  /** Removes `key`; once it returns, the key never comes back. */
  delete(key: string): void;
  /** Applies every change or, after a power cut at any point, none. */
  commit(changes: StoreChange[]): void;
  /** The live keys. */
  keys(): string[];
  /** Footprint in flash of the live records, bytes. */
  liveBytes(): number;
  /**
   * Where the next record will go: sector sequence number (4 bytes) and offset (4 bytes), little
   * endian. Once a record has been programmed there, however partly, every later stamp is greater:
   * a value that never repeats across boots and power cuts (modules/keys uses it as the DRBG's
   * instantiation nonce).
   */
  stamp(): Uint8Array;
  /**
   * Erases every byte of the region that is not part of the live records: compacts the live records
   * into a new generation, then erases every other sector. Changes no value. Once it returns, no
   * superseded or deleted value is left on the flash, plain or sealed (a factory wipe deletes the
   * user's keys, then calls it). Stamps stay greater than every stamp given before, and no sealed
   * value's nonce repeats, whatever it erased. After a power cut at any point the store holds what
   * it held, and calling it again completes it. Throws `store-broken` like a write
   * (docs/formats/store.md, "Purge").
   */
  purge(): void;
  /**
   * Lets go of what the store holds only to write: a Kaluma image reads the store's writer from its
   * assets at a write and keeps it until this is called (modules/store/write-code.ts), so that the
   * writes that come together read it once. Boot calls it every 30 seconds.
   */
  idle(): void;
}

/**
 * The security log as modules write to it: modules/audit keeps it in flash, each entry chained to
 * the one before by a MAC (docs/formats/audit.md).
 */
export interface SecurityLog {
  /**
   * Records a security event. `kind` is a short code ("login-failed", "update-refused"); `detail`
   * says more in public words (a reason code, a version, a peer address), never a secret or a
   * password. Never throws: a log that cannot write says so on the console and the device runs on.
   */
  event(kind: string, detail?: string): void;
  /**
   * A factory wipe (modules/wipe): erases every entry, which may identify the user (peer addresses),
   * and starts the chain again from the last entry's MAC, so it stays verifiable from its next
   * entry. Idempotent: a wipe resumed after a power cut calls it again.
   */
  forget(): void;
}

/** The unit's key hierarchy (modules/keys): one key per purpose, derived from the device secret. */
export interface KeyRing {
  /** The key for `purpose`, derived on first use. */
  key(purpose: string): Uint8Array;
  /** The AES cipher for `purpose`; its key is derived and scheduled on first use. */
  cipher(purpose: string): BlockCipher;
}

export interface UnitRandom {
  /** `length` bytes (1..1024) from the unit's DRBG. Throws if the state cannot be persisted. */
  bytes(length: number): Uint8Array;
  /** The board's entropy quality, as mixed in (known after the first call). */
  quality(): string | undefined;
  /** What the last instantiation found in the store (absent, or why the carry was unreadable). */
  note(): string | undefined;
}

import type { Clock } from './clock';
import type { ConsoleControl } from './console';
import type { CryptoProvider } from './crypto';
import type { Entropy } from './entropy';
import type { Flash } from './flash';
import type { Identity } from './identity';
import type { Io } from './io';
import type { Net } from './net';
import type { Power } from './power';
import type { UpdateSupport } from './update';

/**
 * The flash partitions every board provides. Each is a region no other partition overlaps, carved
 * only from flash the runtime leaves to user code (see docs/boards.md for each board's map).
 * - `provisioning`: the unit's provisioning record, written once at the factory by
 *   `hoshi provision`; device code only reads it.
 * - `state`: the device's own persistent state (the journal of later modules).
 * - `assets`: read-only data written with the image by `hoshi flash` (firmware/device/core/assets.ts):
 *   what must not take heap. Absent on a board without room for it. On a board with slots, the
 *   running slot's assets container (docs/formats/update.md §3–4: `assetsOf` in core/bootctl.ts).
 * - `bootctl`: the boot control record's two erase units (its two halves, each a whole number of
 *   erase units; docs/formats/update.md §5). Absent on a board without slots.
 * - `slots`: slots A and B (two regions of equal size: a 4 KB header, then the payload; §4).
 * - `log`: the security log's ring of sectors (modules/audit, docs/formats/audit.md). Absent on a
 *   board without room for it.
 */
export interface Partitions {
  readonly provisioning: Flash;
  readonly state: Flash;
  readonly assets?: Flash;
  readonly bootctl?: Flash;
  readonly slots?: Flash[];
  readonly log?: Flash;
}

/**
 * What the loader (firmware/device/loader.ts) tells the image it booted: which slot runs, whether
 * on trial, and how the image says it is healthy.
 */
export interface LoaderHandle {
  /** The slot running (0 = A, 1 = B). */
  readonly slot: number;
  /** True while the slot runs on trial (docs/formats/update.md §7): it must confirm in time; false once it has. */
  readonly trial: boolean;
  /** The security counter floor the loader read at this boot (the confirmed counter). */
  readonly floor: number;
  /**
   * Security events of this boot that the loader saw, as kind, detail pairs (a revert, an update
   * the loader's verification refused): boot records them in the security log.
   */
  readonly notes?: string[];
  /**
   * The image is healthy: cancels the loader's trial deadline (a no-op when not on trial). Called
   * by modules/ota once its confirming record is written.
   */
  confirmed(): void;
}

/**
 * A board: one runtime on one piece of hardware, wired to the HAL. Boards hold no policy: they
 * say what the hardware is and does, and the firmware decides what to do with it.
 */
export interface Board {
  /** Board id, as used by `hoshi build` (e.g. "kaluma-pico-w"). */
  readonly name: string;
  readonly identity: Identity;
  readonly clock: Clock;
  readonly entropy: Entropy;
  /** The crypto primitives: native where the runtime has them, modules/crypto otherwise. */
  readonly crypto: CryptoProvider;
  readonly net: Net;
  /** The pins of the product's own hardware. */
  readonly io: Io;
  readonly power: Power;
  readonly console: ConsoleControl;
  readonly partitions: Partitions;
  /** Signed updates (hal/update.ts); absent on a board without slots. */
  readonly update?: UpdateSupport;
  /** What the loader booted (absent on a board without slots, or before the loader ran). */
  readonly loader?: LoaderHandle;
  /**
   * Heap in use and in total, in the runtime's own unit (bytes on Kaluma and the host, variables
   * on Espruino), or undefined if the runtime does not say.
   */
  memory(): { used: number; total: number } | undefined;
  /**
   * Boot hands the board the image's assets once it has opened them (firmware/device/boot.ts): a
   * board that reads code from them when it is needed keeps them (the Pico W's TCP client).
   */
  useAssets?(assets: AssetReader): void;
}

/** What a board reads from the image's assets (firmware/device/core/assets.ts `Assets`). */
export interface AssetReader {
  find(id: number): { offset: number; length: number } | undefined;
  read(offset: number, length: number): Uint8Array;
}

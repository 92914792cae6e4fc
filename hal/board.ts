import type { Clock } from './clock';
import type { ConsoleControl } from './console';
import type { CryptoProvider } from './crypto';
import type { Entropy } from './entropy';
import type { Flash } from './flash';
import type { Identity } from './identity';
import type { Io } from './io';
import type { Net } from './net';
import type { Power } from './power';

/**
 * The flash partitions every board provides. Each is a region no other partition overlaps, carved
 * only from flash the runtime leaves to user code (see docs/boards.md for each board's map).
 * - `provisioning`: the unit's provisioning record, written once at the factory by
 *   `hoshi provision`; device code only reads it.
 * - `state`: the device's own persistent state (the journal of later modules).
 * - `assets`: read-only data written with the image by `hoshi flash` (firmware/device/core/assets.ts):
 *   what must not take heap. Absent on a board without room for it.
 */
export interface Partitions {
  readonly provisioning: Flash;
  readonly state: Flash;
  readonly assets?: Flash;
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
  /**
   * Heap in use and in total, in the runtime's own unit (bytes on Kaluma and the host, variables
   * on Espruino), or undefined if the runtime does not say.
   */
  memory(): { used: number; total: number } | undefined;
}

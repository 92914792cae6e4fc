import { randomBytes } from 'node:crypto';
import type { Board, LoaderHandle } from '../../hal/board';
import { partition, type Flash } from '../../hal/flash';
import { assetsOf, readBootRecord, runningSlot } from '../../firmware/device/core/bootctl';
import type { Io, Pin } from '../../hal/io';
import type { Net } from '../../hal/net';
import type { SimFlash } from './flash';
import { jsCrypto } from '../../modules/crypto/provider-js';
import { ed25519VerifySteps } from '../../modules/crypto/ed25519';

/**
 * The host simulator board: the device image runs in Node against a simulated flash
 * (boards/host/flash.ts), node:crypto entropy, the process clock and node:net on 127.0.0.1 (with the kit's own HTTP).
 *
 * Flash map (1 MB, 4 KB sectors, 256-byte pages, like the Pico's user regions; docs/formats/update.md §4):
 *   0x00000  4 KB    provisioning record (written once by the provisioning tool)
 *   0x01000  108 KB  state (device journal)
 *   0x1C000  16 KB   security log (modules/audit)
 *   0x20000  8 KB    boot control record, two 4 KB units (core/bootctl.ts)
 *   0x22000  444 KB  slot A (the factory image: the simulator's marker, written at its start)
 *   0x91000  444 KB  slot B
 * The board's `assets` is the running slot's assets container (§3).
 */
export const HOST_FLASH_SIZE = 1024 * 1024;
export const HOST_PARTITIONS = {
  provisioning: { offset: 0x00000, size: 0x01000 },
  state: { offset: 0x01000, size: 0x1b000 },
  log: { offset: 0x1c000, size: 0x04000 },
  bootctl: { offset: 0x20000, size: 0x02000 },
  slots: [
    { offset: 0x22000, size: 0x6f000 },
    { offset: 0x91000, size: 0x6f000 },
  ],
};

/** The boot control partition and the two slots of a host flash. */
export function hostSlots(flash: Flash): { bootctl: Flash; slots: Flash[] } {
  return {
    bootctl: partition(flash, HOST_PARTITIONS.bootctl.offset, HOST_PARTITIONS.bootctl.size),
    slots: HOST_PARTITIONS.slots.map((s) => partition(flash, s.offset, s.size)),
  };
}

/**
 * The assets container region of the slot running on a host flash (`slot`, or the record's running
 * slot), or undefined when that slot holds no app text.
 */
export function hostAssets(flash: Flash, slot?: number): Flash | undefined {
  const { bootctl, slots } = hostSlots(flash);
  const record = readBootRecord(bootctl);
  const s = slot ?? runningSlot(record);
  return assetsOf(slots[s]!, record.slots[s]!.app);
}

/** Simulated pins: outputs are recorded, analog inputs are set by the simulator's user or tests. */
export interface HostIo extends Io {
  /** Last level written to each output pin. */
  readonly outputs: { [pin: string]: boolean };
  /** Sets what analog input `pin` reads (a fraction of full scale, 0 ≤ value < 1). */
  setAnalog(pin: Pin, value: number): void;
  /** Presses (true) or releases a simulated button between `pin` and ground. */
  press(pin: Pin, pressed: boolean): void;
}

export function createHostIo(): HostIo {
  const outputs: { [pin: string]: boolean } = {};
  const inputs: { [pin: string]: number } = {};
  const pressed: { [pin: string]: boolean } = {};
  return {
    outputs,
    read: (pin) => !pressed[String(pin)],
    press: (pin, down) => {
      pressed[String(pin)] = down;
    },
    write: (pin, high) => {
      outputs[String(pin)] = high;
    },
    analog: (pin) => {
      const v = inputs[String(pin)];
      if (v === undefined) throw new Error('analog input ' + String(pin) + ': nothing connected in the simulator (Simulator.io.setAnalog)');
      return v;
    },
    setAnalog: (pin, value) => {
      if (!(value >= 0 && value < 1)) throw new RangeError('analog value must be in [0, 1)');
      inputs[String(pin)] = value;
    },
  };
}

export interface HostBoardOptions {
  flash: SimFlash;
  net: Net;
  io: Io;
  /** Simulated chip id (public, like RP2040's flash uid). */
  uid: string;
  /** Called by power.reboot(): the simulator rebuilds the device from the same flash. */
  reboot: (reason: string) => void;
  /** What the simulator's loader booted (firmware/device/loader.ts): its slot's assets are the board's. */
  loader?: LoaderHandle;
}

export function createHostBoard(options: HostBoardOptions): Board {
  const { flash } = options;
  const { bootctl, slots } = hostSlots(flash);
  const start = performance.now();
  return {
    name: 'host',
    identity: { uid: options.uid, model: 'Hoshi host simulator', hardwareRevision: '1' },
    clock: {
      now: () => Math.floor(performance.now() - start),
      wallTime: () => Date.now(),
    },
    crypto: jsCrypto,
    entropy: {
      quality: 'hardware',
      bytes: (length: number) => new Uint8Array(randomBytes(length)),
    },
    net: options.net,
    io: options.io,
    power: { reboot: options.reboot },
    console: {
      // The simulator has no REPL, no USB, no radio of its own: nothing to close, nothing left
      // open. Its one listener is the image's HTTP server, on one loopback address (boards/host/net.ts).
      restrict: () => ({ state: 'off', notClosed: [], interfaces: '' }),
    },
    partitions: {
      provisioning: partition(flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size),
      state: partition(flash, HOST_PARTITIONS.state.offset, HOST_PARTITIONS.state.size),
      log: partition(flash, HOST_PARTITIONS.log.offset, HOST_PARTITIONS.log.size),
      assets: hostAssets(flash, options.loader?.slot),
      bootctl,
      slots,
    },
    loader: options.loader,
    // The host verifies an update in the running image (modules/ota), as the ESP32 does; its
    // JavaScript SHA-256 takes 64 KB per slice without keeping requests waiting.
    update: {
      runtime: 'host',
      verifyIn: 'image',
      hashSlice: 65536,
      signatureSteps: (publicKey, message, signature) => ed25519VerifySteps(jsCrypto, publicKey, message, signature),
    },
    memory: () => {
      const m = process.memoryUsage();
      return { used: m.heapUsed, total: m.heapTotal };
    },
  };
}

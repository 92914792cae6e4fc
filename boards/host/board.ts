import { randomBytes } from 'node:crypto';
import type { Board } from '../../hal/board';
import { partition } from '../../hal/flash';
import type { Io, Pin } from '../../hal/io';
import type { Net } from '../../hal/net';
import type { SimFlash } from './flash';
import { jsCrypto } from '../../modules/crypto/provider-js';

/**
 * The host simulator board: the device image runs in Node against a simulated flash
 * (boards/host/flash.ts), node:crypto entropy, the process clock and node:net on 127.0.0.1 (with the kit's own HTTP).
 *
 * Flash map (1 MB, 4 KB sectors, 256-byte pages, like the Pico's user regions):
 *   0x00000  4 KB    provisioning record (written once by the provisioning tool)
 *   0x01000  124 KB  state (device journal)
 *   0x20000  64 KB   assets (read-only data written with the image: the simulator writes it at
 *                    every power-on, as `hoshi flash` does on a board; docs/formats/assets.md)
 */
export const HOST_FLASH_SIZE = 1024 * 1024;
export const HOST_PARTITIONS = {
  provisioning: { offset: 0x00000, size: 0x01000 },
  state: { offset: 0x01000, size: 0x1f000 },
  assets: { offset: 0x20000, size: 0x10000 },
};

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
}

export function createHostBoard(options: HostBoardOptions): Board {
  const { flash } = options;
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
      // The simulator has no REPL: nothing to close, nothing left open.
      restrict: () => ({ state: 'off', notClosed: [] }),
    },
    partitions: {
      provisioning: partition(flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size),
      state: partition(flash, HOST_PARTITIONS.state.offset, HOST_PARTITIONS.state.size),
      assets: partition(flash, HOST_PARTITIONS.assets.offset, HOST_PARTITIONS.assets.size),
    },
    memory: () => {
      const m = process.memoryUsage();
      return { used: m.heapUsed, total: m.heapTotal };
    },
  };
}

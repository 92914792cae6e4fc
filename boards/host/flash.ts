import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { Flash } from '../../hal/flash';

/**
 * The host board's simulated NOR flash.
 *
 * Bytes live in a backing store (a file, so a simulated device keeps its flash across restarts,
 * or memory). A `SimFlash` is one power-on of that store: it enforces the rules of `hal/flash.ts`,
 * counts program and erase operations, and can cut power at operation N. After a cut every access
 * throws `PowerCutError` until a new `SimFlash` is opened on the same backing (a reboot).
 */

/** Thrown by every access after a power cut. Device code must never catch and continue. */
export class PowerCutError extends Error {
  constructor(readonly operation: number) {
    super('power cut at flash operation ' + operation);
    this.name = 'PowerCutError';
  }
}

/** Raw bytes behind a simulated flash: a file or memory. */
export interface FlashBacking {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  /** Stores bytes as they are (no flash rules: `SimFlash` enforces those). */
  store(offset: number, data: Uint8Array): void;
  close(): void;
}

export function memoryBacking(size: number, erasedValue = 0xff): FlashBacking {
  const bytes = new Uint8Array(size).fill(erasedValue);
  return {
    size,
    read: (offset, length) => bytes.slice(offset, offset + length),
    store: (offset, data) => bytes.set(data, offset),
    close: () => undefined,
  };
}

/**
 * A file of exactly `size` bytes; created erased if absent. Each `store` is written through to the
 * file before it returns, so the file always holds exactly the operations that completed.
 */
export function fileBacking(path: string, size: number, erasedValue = 0xff): FlashBacking {
  const fresh = !existsSync(path);
  const fd = openSync(path, fresh ? 'w+' : 'r+');
  if (fresh) {
    writeSync(fd, new Uint8Array(size).fill(erasedValue), 0, size, 0);
  } else {
    const actual = fstatSync(fd).size;
    if (actual !== size) {
      closeSync(fd);
      throw new Error('flash file ' + path + ' is ' + actual + ' bytes, not the board size ' + size);
    }
  }
  let open = true;
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new Error('flash file ' + path + ' is shorter than expected');
        done += n;
      }
      return out;
    },
    store(offset, data) {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export interface Geometry {
  eraseSize: number;
  writeSize: number;
  erasedValue: number;
}

/** RP2040 + Kaluma geometry: 4 KB sectors, 256-byte program pages. */
export const PICO_GEOMETRY: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };

/** How a scheduled power cut treats the operation it interrupts. */
export interface CutOptions {
  /**
   * If set, the Nth operation is torn: only its first `tearWords` 32-bit words are programmed (or
   * erased) before the power goes. If unset, the Nth operation does nothing at all.
   */
  tearWords?: number;
}

export interface SimFlash extends Flash {
  /** Program and erase operations attempted since this power-on (the interrupted one included). */
  readonly operations: number;
  readonly programs: number;
  readonly erases: number;
  /** Bytes programmed and erased since this power-on. */
  readonly bytesProgrammed: number;
  readonly bytesErased: number;
  /** True once the power has been cut. */
  readonly dead: boolean;
  /**
   * Cuts power during the `operation`th program/erase operation of this power-on (1-based): the
   * operations before it complete, it is dropped or torn, and it throws `PowerCutError`.
   */
  cutAt(operation: number, options?: CutOptions): void;
  /** Cuts power now, between operations. */
  cut(): void;
}

const WORD = 4;

/** Opens one power-on of a flash over `backing`. */
export function openSimFlash(backing: FlashBacking, geometry: Geometry = PICO_GEOMETRY): SimFlash {
  const { eraseSize, writeSize, erasedValue } = geometry;
  if (backing.size % eraseSize !== 0) throw new Error('flash size must be a multiple of eraseSize');
  if (eraseSize % writeSize !== 0 || writeSize % WORD !== 0 && writeSize !== 1) {
    throw new Error('eraseSize must be a multiple of writeSize, and writeSize a multiple of 4 (or 1)');
  }
  let operations = 0;
  let programs = 0;
  let erases = 0;
  let bytesProgrammed = 0;
  let bytesErased = 0;
  let dead = false;
  let cutOperation = 0;
  let cutOptions: CutOptions = {};

  const alive = (): void => {
    if (dead) throw new PowerCutError(operations);
  };
  const range = (what: string, offset: number, length: number, unit: number): void => {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw new Error(what + ': offset and length must be non-negative integers');
    }
    if (offset + length > backing.size) throw new Error(what + ': range ' + offset + '+' + length + ' is outside the flash');
    if (offset % unit !== 0) throw new Error(what + ': offset ' + offset + ' is not aligned to ' + unit);
    if (length % unit !== 0) throw new Error(what + ': length ' + length + ' is not a multiple of ' + unit);
  };
  /** Starts an operation; returns how many bytes of it may complete (all, or a torn prefix). */
  const begin = (length: number): number => {
    operations++;
    if (cutOperation !== operations) return length;
    dead = true;
    if (cutOptions.tearWords === undefined) return 0;
    return Math.min(length, cutOptions.tearWords * WORD);
  };
  const finish = (allowed: number, length: number): void => {
    if (allowed < length || dead) {
      dead = true;
      throw new PowerCutError(operations);
    }
  };

  return {
    size: backing.size,
    eraseSize,
    writeSize,
    erasedValue,
    get operations() {
      return operations;
    },
    get programs() {
      return programs;
    },
    get erases() {
      return erases;
    },
    get bytesProgrammed() {
      return bytesProgrammed;
    },
    get bytesErased() {
      return bytesErased;
    },
    get dead() {
      return dead;
    },
    read(offset, length) {
      alive();
      range('read', offset, length, 1);
      return backing.read(offset, length);
    },
    write(offset, data) {
      alive();
      if (!(data instanceof Uint8Array)) throw new Error('write: data must be a Uint8Array');
      range('write', offset, data.length, writeSize);
      const current = backing.read(offset, data.length);
      for (let i = 0; i < data.length; i++) {
        if (current[i] !== erasedValue) {
          throw new Error('write: byte at ' + (offset + i) + ' is already programmed (0x' + current[i]!.toString(16) + '); erase its sector first');
        }
      }
      const allowed = begin(data.length);
      programs++;
      bytesProgrammed += allowed;
      if (allowed > 0) backing.store(offset, data.subarray(0, allowed));
      finish(allowed, data.length);
    },
    erase(offset, length) {
      alive();
      range('erase', offset, length, eraseSize);
      const allowed = begin(length);
      erases++;
      bytesErased += allowed;
      if (allowed > 0) backing.store(offset, new Uint8Array(allowed).fill(erasedValue));
      finish(allowed, length);
    },
    cutAt(operation, options = {}) {
      if (!Number.isInteger(operation) || operation <= operations) {
        throw new Error('cutAt: operation must be an integer after the ' + operations + ' already done');
      }
      cutOperation = operation;
      cutOptions = options;
    },
    cut() {
      dead = true;
    },
  };
}

import { closeSync, existsSync, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
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
  // The flash holds the unit's device secret: readable by its owner only, as `hoshi provision` writes records.
  const fd = openSync(path, fresh ? 'w+' : 'r+', 0o600);
  fchmodSync(fd, 0o600);
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
  /**
   * If set (a seed), the Nth operation is interrupted mid-flight instead: every byte it would
   * change ends up somewhere between its old and its new value, bit by bit at random (a program
   * has cleared some of the bits it had to clear; an erase has set some of the bits it had to
   * set), which is what an interrupted NOR operation leaves behind.
   */
  scramble?: number;
}

/** mulberry32: a small seeded generator for reproducible scrambles (not for anything secret). */
function scrambler(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) & 255;
  };
}

export interface SimFlash extends Flash {
  /** Program and erase operations attempted since this power-on (the interrupted one included). */
  readonly operations: number;
  readonly programs: number;
  readonly erases: number;
  /** Bytes programmed (written with a value other than erasedValue) and erased since this power-on. */
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
  /**
   * Starts an operation; returns how many bytes of it may complete (all, or a torn prefix). A torn
   * program stops `tearWords` words after the first byte it actually changes (`first`): bytes
   * written as erasedValue are no-ops, so on a 256-byte page holding one small record the tear
   * lands inside that record, not in the untouched bytes before it.
   */
  const begin = (length: number, first: number): number => {
    operations++;
    if (cutOperation !== operations) return length;
    dead = true;
    if (cutOptions.tearWords === undefined) return 0;
    return Math.min(length, first - (first % WORD) + cutOptions.tearWords * WORD);
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
        if (data[i] === erasedValue) continue;
        if (current[i] !== erasedValue) {
          throw new Error('write: byte at ' + (offset + i) + ' is already programmed (0x' + current[i]!.toString(16) + '); erase its sector first');
        }
      }
      let first = 0;
      while (first < data.length && data[first] === erasedValue) first++;
      const allowed = begin(data.length, first);
      programs++;
      if (dead && cutOptions.scramble !== undefined) {
        const random = scrambler(cutOptions.scramble);
        const out = current.slice();
        for (let i = 0; i < data.length; i++) {
          if (data[i] !== erasedValue) out[i] = current[i]! & (data[i]! | random());
        }
        backing.store(offset, out);
        throw new PowerCutError(operations);
      }
      // Bytes written as erasedValue are not programmed: the cell keeps what it holds.
      const merged = current.slice(0, allowed);
      for (let i = 0; i < allowed; i++) {
        if (data[i] !== erasedValue) {
          merged[i] = data[i]!;
          bytesProgrammed++;
        }
      }
      if (allowed > 0) backing.store(offset, merged);
      finish(allowed, data.length);
    },
    erase(offset, length) {
      alive();
      range('erase', offset, length, eraseSize);
      const allowed = begin(length, 0);
      erases++;
      if (dead && cutOptions.scramble !== undefined) {
        const random = scrambler(cutOptions.scramble);
        const out = backing.read(offset, length);
        for (let i = 0; i < length; i++) out[i] = out[i]! | random();
        backing.store(offset, out);
        throw new PowerCutError(operations);
      }
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

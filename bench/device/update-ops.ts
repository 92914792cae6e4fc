// Receiving a signed update as modules/ota's worker does, and hashing a slot as the Kaluma worker
// does, for `npm run bench` (the engine check and the real engines): __bench(op, k).
//
// The package comes from the host as its head (the COSE_Sign1 and the payload's byte-string head,
// hex) in the global __update, with the public key the unit trusts and the payload's size; the
// payload's bytes are made here from their offset (`payloadByte`, the same function the host
// signs), a 4 KB chunk at a time as the upload client sends them, so that nothing of the package is
// held by the bench itself whatever its size. Timers are run by the bench (the worker hashes in
// slices on setTimeout): each chunk is followed by every slice it allows, as on a device that keeps
// up. The board's flash and crypto come from the caller (update-js.ts, update-native.ts).
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import type { ModuleContext } from '../../firmware/device/core/module';
import { readBootRecord, SlotState } from '../../firmware/device/core/bootctl';
import { sha256Stream } from '../../modules/crypto/sha256';
import { createWorker, type UpdateWorker } from '../../modules/ota/worker';

declare const __update: { head: string; key: string; size: number; capacity: number };

/** What the bench's unit is: the package the host makes names the same. */
export const enum Bench {
  CHUNK = 4096,
  SECTOR = 4096,
}
export const BENCH_VENDOR = 'Hoshi bench vendor';
export const BENCH_MODEL = 'HS-BENCH-01';
export const BENCH_RUNNING = '0.1.0';

/**
 * Payload byte `i` of a payload of `size` bytes: app text (printable ASCII) up to `size` − 1, then
 * its NUL (docs/formats/update.md §3: a payload without assets), FF past the end.
 */
export function payloadByte(i: number, size: number): number {
  if (i < size - 1) return 0x20 + ((i * 7 + (i >> 10)) % 95);
  return i === size - 1 ? 0 : 0xff;
}

export interface UpdateRig {
  runtime: 'kaluma' | 'espruino';
  board: string;
  crypto: CryptoProvider;
  /** The board's `update.hashSlice`. */
  hashSlice: number;
  /** The boot control record's flash and the two slots, each a 4 KB header and `capacity` payload bytes. */
  flashes(capacity: number, size: number): { bootctl: Flash; slots: Flash[] };
  /** Memory in use now, where JavaScript can ask the runtime (Espruino: variables). */
  memory?: () => number;
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

/**
 * A slot whose payload sectors read as `payloadByte` (a write is compared with it, then dropped):
 * flash that holds a whole slot outside the heap, as the RP2040's does, on an engine whose only
 * store is its heap. The header sector is a `ramFlash`. Reads return a new array, as Kaluma's do.
 */
export function patternSlot(capacity: number, size: number, writeSize: number): Flash {
  const header = ramFlash(1, writeSize);
  const total = Bench.SECTOR + capacity;
  return {
    size: total,
    eraseSize: Bench.SECTOR,
    writeSize: writeSize,
    erasedValue: 0xff,
    read: function (offset: number, length: number): Uint8Array {
      const out = new Uint8Array(length);
      const inHeader = Math.max(0, Math.min(length, Bench.SECTOR - offset));
      if (inHeader > 0) out.set(header.read(offset, inHeader));
      for (let i = inHeader; i < length; i++) out[i] = payloadByte(offset + i - Bench.SECTOR, size);
      return out;
    },
    write: function (offset: number, data: Uint8Array): void {
      if (offset % writeSize !== 0 || data.length % writeSize !== 0 || offset + data.length > total) throw new Error('write: out of range or unaligned');
      const inHeader = Math.max(0, Math.min(data.length, Bench.SECTOR - offset));
      if (inHeader > 0) header.write(offset, data.subarray(0, inHeader));
      for (let i = inHeader; i < data.length; i++) {
        if (data[i] !== payloadByte(offset + i - Bench.SECTOR, size)) throw new Error('write: byte ' + (offset + i - Bench.SECTOR) + ' is not the payload\'s');
      }
    },
    erase: function (offset: number, length: number): void {
      if (offset === 0 && length > 0) header.erase(0, Bench.SECTOR);
    },
  };
}

/**
 * A small flash held in RAM (the boot control record's two units, a slot's header): each sector
 * holds only as far as it has been written since its erase (a record, a package head: 512 bytes,
 * not 4 KB), so that the bench's own flash adds little to the memory it measures.
 */
export function ramFlash(sectors: number, writeSize: number): Flash {
  const held: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < sectors; i++) held.push(undefined);
  return {
    size: sectors * Bench.SECTOR,
    eraseSize: Bench.SECTOR,
    writeSize: writeSize,
    erasedValue: 0xff,
    read: function (offset: number, length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const s = held[Math.floor((offset + i) / Bench.SECTOR)];
        const at = (offset + i) % Bench.SECTOR;
        out[i] = s && at < s.length ? s[at] : 0xff;
      }
      return out;
    },
    write: function (offset: number, data: Uint8Array): void {
      for (let i = 0; i < data.length; i++) {
        const n = Math.floor((offset + i) / Bench.SECTOR);
        const at = (offset + i) % Bench.SECTOR;
        let s = held[n];
        if (!s || at >= s.length) {
          // Grown to the end of this write within the sector.
          const grown = new Uint8Array(Math.min(Bench.SECTOR, at + data.length - i)).fill(0xff);
          if (s) grown.set(s);
          held[n] = s = grown;
        }
        s[at] = s[at] & data[i];
      }
    },
    erase: function (offset: number, length: number): void {
      for (let at = offset; at < offset + length; at += Bench.SECTOR) held[at / Bench.SECTOR] = undefined;
    },
  };
}

interface Receiving {
  worker: UpdateWorker;
  bootctl: Flash;
  head: Uint8Array;
  size: number;
  total: number;
  got: number;
}

export function install(rig: UpdateRig): void {
  const g = globalThis as unknown as { __bench: unknown; setTimeout: unknown; clearTimeout: unknown };
  // The worker's timers, run by the bench: [id, callback] in the order they were set.
  const timers: { id: number; run: () => void }[] = [];
  let nextId = 1;
  const shimSet = function (run: () => void): number {
    timers.push({ id: nextId, run: run });
    return nextId++;
  };
  const shimClear = function (id: number): void {
    for (let i = 0; i < timers.length; i++) {
      if (timers[i].id === id) {
        timers.splice(i, 1);
        return;
      }
    }
  };
  let peak = -1;
  const sample = function (): void {
    if (!rig.memory) return;
    const m = rig.memory();
    if (m > peak) peak = m;
  };
  const drain = function (): void {
    const saved = [g.setTimeout, g.clearTimeout];
    g.setTimeout = shimSet;
    g.clearTimeout = shimClear;
    try {
      while (timers.length > 0) {
        const t = timers.shift()!;
        t.run();
        sample();
      }
    } finally {
      g.setTimeout = saved[0];
      g.clearTimeout = saved[1];
    }
  };

  let r: Receiving | undefined;
  const begin = function (): Receiving {
    const f = rig.flashes(__update.capacity, __update.size);
    const context = {
      board: {
        name: rig.board,
        crypto: rig.crypto,
        clock: {
          now: function (): number {
            return 0;
          },
        },
        power: {
          reboot: function (): void {
            throw new Error('the bench never restarts');
          },
        },
        partitions: { bootctl: f.bootctl, slots: f.slots },
        update: { runtime: rig.runtime, verifyIn: rig.runtime === 'kaluma' ? 'loader' : 'image', hashSlice: rig.hashSlice },
      },
      config: { vendor: BENCH_VENDOR, model: BENCH_MODEL, firmwareVersion: BENCH_RUNNING },
      provisioning: { updateKeys: [fromHex(__update.key)] },
      status: {},
    } as unknown as ModuleContext;
    const head = fromHex(__update.head);
    return { worker: createWorker(context, 0), bootctl: f.bootctl, head: head, size: __update.size, total: head.length + __update.size, got: 0 };
  };
  /** The next chunk of the package, then every hashing slice it allows; the bytes left to send. */
  const chunk = function (s: Receiving): number {
    const n = Math.min(Bench.CHUNK, s.total - s.got);
    const body = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const at = s.got + i;
      body[i] = at < s.head.length ? s.head[at] : payloadByte(at - s.head.length, s.size);
    }
    const saved = [g.setTimeout, g.clearTimeout];
    g.setTimeout = shimSet;
    g.clearTimeout = shimClear;
    let answer;
    try {
      answer = s.worker.accept(s.got, body);
    } finally {
      g.setTimeout = saved[0];
      g.clearTimeout = saved[1];
    }
    if (answer.status !== 202) throw new Error('refused at ' + s.got + ': ' + String(answer.body));
    s.got += n;
    sample();
    drain();
    return s.total - s.got;
  };
  const received = function (s: Receiving): number {
    const info = readBootRecord(s.bootctl).slots[1];
    if (info.state !== SlotState.RECEIVED) throw new Error('the slot is not received (state ' + info.state + ')');
    return info.received;
  };

  g.__bench = function (op: string, k: number): number {
    if (op === 'load') return 1;
    if (op === 'hash') {
      // k KB of a slot hashed as the worker hashes it: the SHA-256 of modules/crypto over slices of
      // hashSlice bytes, each read into a new array (as Kaluma's flash read fills one), here from
      // one sector of RAM made the same for every k.
      const sector = new Uint8Array(Bench.SECTOR);
      for (let i = 0; i < Bench.SECTOR; i++) sector[i] = payloadByte(i, Bench.SECTOR + 1);
      const h = sha256Stream();
      for (let at = 0; at < k * 1024; at += rig.hashSlice) {
        const slice = new Uint8Array(rig.hashSlice);
        slice.set(sector.subarray(at % Bench.SECTOR, (at % Bench.SECTOR) + rig.hashSlice));
        h.update(slice);
      }
      return h.digest()[0];
    }
    if (op === 'begin') {
      r = begin();
      peak = -1;
      sample();
      return r.total;
    }
    if (op === 'chunk') return chunk(r!);
    if (op === 'received') return received(r!);
    if (op === 'receive') {
      // The whole package; the most memory sampled after each chunk and each slice (or -1).
      r = begin();
      peak = -1;
      sample();
      while (chunk(r) > 0);
      received(r);
      r = undefined;
      return peak;
    }
    if (op === 'drop') {
      r = undefined;
      return 0;
    }
    throw new Error('unknown op ' + op);
  };
}

import { join } from 'node:path';
import { memoryBacking, openSimFlash, type Geometry } from '../boards/host/flash';
import { bundleDevice, ROOT } from '../firmware/host/build';
import type { DeviceTarget } from '../firmware/host/profiles';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';
import { jsAes } from '../modules/crypto/provider-core';
import { openStore } from '../modules/store/store';
import { failureCode } from '../firmware/device/core/errors';
import type { Store } from '../firmware/device/core/services';
import { operationRows, table } from './crypto';

/**
 * Store rows of `npm run bench`: flash cost per logical update on each board's geometry (always),
 * and on the real engines built from source the instructions per operation and the RAM held.
 * docs/performance.md ("The store") explains the figures and how to reproduce them.
 */

const GEOMETRIES: [string, Geometry, number][] = [
  ['Kaluma (128 KB, 256-byte pages)', { eraseSize: 4096, writeSize: 256, erasedValue: 0xff }, 32],
  ['ESP32 (48 KB, 4-byte writes)', { eraseSize: 4096, writeSize: 4, erasedValue: 0xff }, 12],
];
const UPDATES = 10000;

function flashCost(): void {
  const rows: string[][] = [['region', 'value', 'flash bytes / update', 'amplification', 'programmed / update', 'erases / 1000', 'compactions / 1000', 'program ops / update']];
  for (const [name, geometry, sectors] of GEOMETRIES) {
    for (const sealed of [false, true]) {
      const flash = openSimFlash(memoryBacking(sectors * 4096), geometry);
      const store = openStore(flash, { seal: jsAes(new Uint8Array(16).fill(7)) });
      // Eight live keys (a device's state), each updated in turn with a new 32-byte value.
      for (let i = 0; i < UPDATES; i++) store.set('state.k' + (i % 8), new Uint8Array(32).fill(i & 255), sealed);
      const s = store.stats;
      rows.push([
        name,
        sealed ? '32 B sealed' : '32 B plain',
        (s.appended / UPDATES).toFixed(1),
        (s.appended / UPDATES / 32).toFixed(2) + '×',
        (flash.bytesProgrammed / UPDATES).toFixed(1),
        ((flash.erases * 1000) / UPDATES).toFixed(1),
        ((s.compactions * 1000) / UPDATES).toFixed(1),
        (flash.programs / UPDATES).toFixed(2),
      ]);
    }
  }
  console.log('\nmodules/store: flash per logical update (' + UPDATES + ' updates of 8 keys, key names of 8 characters)');
  table(rows);
}

/**
 * The capacity rule (docs/formats/store.md, "Capacity"), measured: new keys of one value size are
 * written into an empty region until the rule refuses one; the bytes of values accepted, and the
 * live footprint, per region size and generation budget.
 */
function capacity(): void {
  const rows: string[][] = [['region', 'budget', 'reserves', 'value', 'values stored', 'value bytes', 'live footprint', 'of the snapshot room']];
  const reserves = [
    { key: 'hoshi.drbg', bytes: 32, sealed: true },
    { key: 'net.wifi', bytes: 97, sealed: true },
  ];
  for (const [sectors, budget] of [[8, 4], [16, 4], [16, 8], [32, 4], [32, 16]] as const) {
    for (const reserve of [[], reserves]) {
      for (const size of [32, 256, 2048]) {
        const flash = openSimFlash(memoryBacking(sectors * 4096), { eraseSize: 4096, writeSize: 4, erasedValue: 0xff });
        const store = openStore(flash, { seal: jsAes(new Uint8Array(16).fill(7)), generationSectors: budget, reserve });
        let n = 0;
        for (;;) {
          try {
            store.set('k' + String(n).padStart(4, '0'), new Uint8Array(size).fill(n & 255));
            n++;
          } catch (error) {
            if (failureCode(error) !== 'store-full') throw error;
            break;
          }
        }
        const room = (budget - 1) * (4096 - 20);
        rows.push([sectors * 4 + ' KB', String(budget), reserve.length ? '129 B sealed' : 'none', size + ' B', String(n), String(n * size), String(store.liveBytes()), ((100 * store.liveBytes()) / room).toFixed(1) + ' %']);
      }
    }
  }
  console.log('\nmodules/store: capacity (new keys of 5 characters until the rule refuses one; snapshot room = (budget - 1) x 4,076 bytes)');
  table(rows);
}

/**
 * The smart plug's store as a unit in use holds it (the examples' reserves and typical values), and
 * the history that put it there: boots (the DRBG's carry), relay switches, schedule changes,
 * failed logins, a password change, the Wi-Fi credentials and the update settings.
 */
const PLUG_RESERVES = [
  { key: 'hoshi.drbg', bytes: 32, sealed: true },
  { key: 'acct.verifier', bytes: 133, sealed: true },
  { key: 'acct.fails', bytes: 4, sealed: false },
  { key: 'net.wifi', bytes: 97, sealed: true },
  { key: 'ota.pull', bytes: 201, sealed: false },
  { key: 'relay.on', bytes: 1, sealed: false },
  { key: 'relay.schedule', bytes: 24, sealed: false },
];
/** The keys a factory wipe deletes (the user's): all but the DRBG's carry and the relay's state. */
const PLUG_WIPED = ['acct.verifier', 'acct.fails', 'net.wifi', 'ota.pull', 'relay.schedule'];

function plugHistory(store: Store): void {
  const v = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
  store.set('acct.verifier', v(85, 1), true);
  store.set('net.wifi', v(30, 2), true);
  store.set('ota.pull', v(41, 3));
  for (let i = 0; i < 500; i++) {
    if (i % 5 === 0) store.set('hoshi.drbg', v(32, i), true);
    store.set('relay.on', new Uint8Array([i & 1]));
    if (i % 100 === 0) store.set('relay.schedule', v(12, i));
    if (i % 25 === 0) store.set('acct.fails', v(4, i));
    if (i === 250) store.set('acct.verifier', v(85, i), true);
  }
}

/**
 * purge() (docs/formats/store.md, "Purge") after a factory wipe of the smart plug's store: flash
 * bytes programmed, program operations and sectors erased, then a second purge at once (nothing
 * left to erase but the generation it replaces).
 */
function purgeCost(): void {
  const rows: string[][] = [['region', 'purge', 'live keys', 'live bytes', 'sectors in use before', 'flash bytes programmed', 'program ops', 'sectors erased']];
  for (const [name, geometry, sectors] of GEOMETRIES) {
    const flash = openSimFlash(memoryBacking(sectors * 4096), geometry);
    const store = openStore(flash, { seal: jsAes(new Uint8Array(16).fill(7)), reserve: PLUG_RESERVES });
    plugHistory(store);
    store.commit(PLUG_WIPED.map((key) => ({ key })));
    for (const what of ['after the wipe', 'again at once']) {
      let used = 0;
      for (let s = 0; s < sectors; s++) if (flash.read(s * 4096, 4096).some((b) => b !== 0xff)) used++;
      const before = { programmed: flash.bytesProgrammed, programs: flash.programs, erases: flash.erases };
      store.purge();
      rows.push([name, what, String(store.keys().length), String(store.liveBytes()), String(used), String(flash.bytesProgrammed - before.programmed), String(flash.programs - before.programs), String(flash.erases - before.erases)]);
    }
  }
  console.log("\nmodules/store: purge() after a factory wipe of the smart plug's store (500 relay switches, 100 boots, 20 failed logins, a password change; the wipe deletes 5 of 7 keys)");
  table(rows);
}

const OPS: [string, string, number][] = [
  ['open-empty', 'open(), empty region (8 sectors)', 3],
  ['open-generation', 'open(), generation of 4 full sectors', 2],
  ['set-64', 'set(), 64 B plain', 3],
  ['seal-64', 'set(), 64 B sealed (AES-128-CCM)', 3],
  ['get-sealed-64', 'get(), 64 B sealed', 3],
  ['purge', "purge(), the smart plug's content after a wipe (2 keys)", 3],
];

export async function storeBench(): Promise<void> {
  flashCost();
  capacity();
  purgeCost();
  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the store on the real engines)');
    return;
  }
  const rows: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate']];
  const memory: string[][] = [['engine', 'live keys', 'memory']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const file = target === 'kaluma' ? 'store-js' : 'store-native';
    const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';';
    const { code } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'));
    const engine = target === 'kaluma' ? 'JerryScript' : 'Espruino';
    rows.push(...operationRows(bin, target, code, engine, OPS));
    // On Espruino the bundle runs from Storage, as on an ESP32 (functions keep their code in flash).
    const fromStorage = { fromStorage: target === 'espruino' };
    const base = countOnRealEngine(bin, target, code, "__bench('load', 1);", fromStorage).memory;
    for (const keys of [0, 8, 32]) {
      const m = countOnRealEngine(bin, target, code, `__bench('hold', ${keys});`, fromStorage).memory;
      memory.push([engine, String(keys), target === 'kaluma' ? 'peak ' + (m - base) + ' B over the loaded bundle' : m - base + ' variables (' + (m - base) * 16 + ' B) held']);
    }
  }
  console.log('\nmodules/store on the real engines (callgrind, parse and run only; 8 sectors; Kaluma: pure-JS AES, 256-byte pages; Espruino: native AES, 4-byte writes)');
  table(rows);
  console.log('\nmodules/store: RAM (Espruino: variables in use after the call; JerryScript: peak heap, transient buffers included)');
  table(memory);
}

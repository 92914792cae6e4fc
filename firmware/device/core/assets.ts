import type { Flash } from '../../../hal/flash';
import { u16, u32 } from './bytes';
import { crc32 } from './crc32';

/**
 * The assets partition: read-only data the image needs but that must not take heap — the admin
 * page (gzip) and the common-password filter — written next to the image by `hoshi flash` (the
 * simulator writes it at every start). On Kaluma a string in the image is parsed into the heap;
 * bytes in this partition are read a few at a time when a request needs them.
 * Byte layout: docs/formats/assets.md. Stored bytes are untrusted: a bad header or a corrupt entry
 * is reported, never thrown, and the device serves without that asset.
 */
export const enum Asset {
  VERSION = 1,
  /** Header: magic "HSAS" (4), version (1), count (1), reserved (2); then the entries; then the CRC-32 of both. */
  HEADER = 8,
  ENTRY = 16,
  MAX_ENTRIES = 16,
  /** Entry ids. */
  PAGE = 1,
  COMMON_PASSWORDS = 2,
  /** The Kaluma build's messages (core/messages.ts). */
  MESSAGES = 3,
  /** The update verifier's text (signed updates, docs/formats/update.md §3): Kaluma and Espruino payloads. */
  VERIFIER = 4,
  /** Code an image evaluates only when it needs it (core/code.ts): the update worker (Kaluma images). */
  CODE_UPDATE_WORKER = 5,
  /** The new-password check (modules/accounts/password-check.ts), Kaluma images. */
  CODE_PASSWORD_CHECK = 6,
  /** The SCRAM server (modules/accounts/scram-server.ts), Kaluma images. */
  CODE_SCRAM = 7,
  /** The Kaluma loader's check of a received slot (modules/ota/slot-check.ts). */
  CODE_SLOT_CHECK = 8,
  /** The Pico W's TCP client (boards/kaluma-pico-w/tcp-client.ts), read when a pull connects. */
  CODE_TCP_CLIENT = 9,
  /** The Wi-Fi setup code (modules/network/wifi-setup.ts): the setup access point, the credentials' parser. */
  CODE_WIFI_SETUP = 10,
  /** The smart plug's schedule parser (examples/smart-plug/schedule-input.ts). */
  CODE_SCHEDULE = 11,
  /** The factory wipe's work (modules/wipe/work.ts), read when a wipe is asked for or resumed. */
  CODE_WIPE = 12,
  /** The security log's reader and its forget (modules/audit/read.ts), read when an administrator reads the log or the unit is wiped. */
  CODE_AUDIT_READER = 13,
  /** The store's writer (modules/store/write.ts), read at each commit and at the store's open (Kaluma images). */
  CODE_STORE_WRITER = 14,
}

export const ASSETS_MAGIC = [0x48, 0x53, 0x41, 0x53]; // "HSAS"

/** Where an asset lies in the partition. */
export interface AssetSpan {
  offset: number;
  length: number;
}

export interface Assets {
  /**
   * The asset `id`, or undefined. Its bytes are not checked here: the tools check each asset's CRC-32
   * when they write it, the page carries gzip's own CRC-32 (the browser checks it), and a bit the
   * flash loses in the filter changes the common-password rule for a few words; checking 30 KB in
   * JavaScript would cost a Pico 7-10 s (docs/formats/assets.md).
   */
  find(id: number): AssetSpan | undefined;
  /** `length` bytes at `offset` of the partition. */
  read(offset: number, length: number): Uint8Array;
  /** Why the partition was refused ("" if it was not): docs/formats/assets.md has each reason. */
  problem(): string;
}

/** Opens the assets of `flash` (undefined: the board has no assets partition). */
export let openAssets = function (flash: Flash | undefined, release?: boolean): Assets {
  // A device calls this once per boot (`release`): it then lets go of its binding, and on Kaluma of its code.
  if (release) openAssets = undefined as never;
  let problem = '';
  const spans: { [id: number]: AssetSpan } = {};
  if (!flash) problem = 'no assets partition';
  else {
    const head = flash.read(0, Asset.HEADER);
    const count = head[5];
    let magic = true;
    for (let i = 0; i < 4; i++) if (head[i] !== ASSETS_MAGIC[i]) magic = false;
    if (!magic) problem = head[0] === flash.erasedValue ? 'erased' : 'bad-magic';
    else if (head[4] !== Asset.VERSION) problem = 'bad-version';
    else if (count > Asset.MAX_ENTRIES || u16(head, 6) !== 0) problem = 'bad-header';
    else {
      const n = Asset.HEADER + count * Asset.ENTRY;
      const table = flash.read(0, n + 4);
      if (crc32(table, 0, n) !== u32(table, n)) problem = 'bad-crc';
      else {
        // Entries lie in increasing offset order, none overlapping another or the table.
        let end = n + 4;
        for (let i = 0; i < count; i++) {
          const e = Asset.HEADER + i * Asset.ENTRY;
          const offset = u32(table, e + 4);
          const length = u32(table, e + 8);
          if (table[e + 1] !== 0 || u16(table, e + 2) !== 0 || spans[table[e]] || offset < end || offset > flash.size || length > flash.size - offset) {
            problem = 'bad-entry';
            break;
          }
          end = offset + length;
          spans[table[e]] = { offset: offset, length: length };
        }
      }
    }
  }
  return {
    find: (id: number): AssetSpan | undefined => (problem === '' ? spans[id] : undefined),
    read: (offset: number, length: number): Uint8Array => flash!.read(offset, length),
    problem: (): string => problem,
  };
};

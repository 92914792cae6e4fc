import { Asset, type Assets } from './assets';
import { bytesAscii, u16, u32 } from './bytes';

/**
 * Messages kept in flash (docs/formats/assets.md, asset 3): on Kaluma every string literal of the
 * parsed application stays in JerryScript's heap for good, and the kit's reasons and log lines
 * (what makes every refusal specific) would take over 6 KB of it. The Kaluma build
 * (firmware/host/strings.ts) moves the longer literals inside functions into a table written with
 * the image's assets, and replaces each with a call of `__hm(index)`, which reads it back from
 * flash when it is used. Other targets keep their literals: nothing here runs for them.
 *
 * The table belongs to one build: the build writes its id into `BUILD` (below, in place of the
 * placeholder), and a table of another build is not used (its messages show as numbers).
 */
const BUILD = 'hoshi-messages-build';

/**
 * The function the replaced literals call: declared by the Kaluma build on the bundle's first line
 * (answering "(message N)" until the table is open), set here once it is.
 */
declare let __hm: (index: number) => string;

/**
 * Marks `text` as a message where no call says so (`problem`, `failure`, `console.log`, an error…):
 * a report's line, a board's note. It returns `text` as it is; the Kaluma build moves the literals
 * inside the call to the table like any other message (firmware/host/strings.ts).
 */
export function message(text: string): string {
  return text;
}

/** Reads messages from the assets from now on; boot calls this first thing. Nothing to do in a build that kept its literals. */
export function useMessages(assets: Assets): void {
  const span = assets.find(Asset.MESSAGES);
  const read = function (at: number, n: number): Uint8Array {
    return assets.read(span!.offset + at, n);
  };
  if (!openMessages(read, span ? span.length : 0)) console.log('[hoshi] no message table of this build: messages show as numbers');
}

/**
 * Reads messages from a table of `length` bytes that `read(offset, n)` reads (the assets' table,
 * or the Kaluma loader's, kept in its program text: boards/kaluma-pico-w/loader.ts). False, and
 * the messages stay numbers, if the table is not this build's. Nothing to do, and true, in a
 * build that kept its literals.
 */
export function openMessages(read: (at: number, n: number) => Uint8Array, length: number): boolean {
  // Only Kaluma builds carry the table (the statement is dropped from Espruino bundles).
  KALUMA_ONLY: {
    // Still the placeholder (a build that kept its literals): an id is at most 8 hex digits.
    if (BUILD.length > 8) break KALUMA_ONLY;
    const head = length >= 8 ? read(0, 6) : undefined;
    if (!head || (u32(head, 0) >>> 0).toString(16) !== BUILD || 6 + 2 * (u16(head, 4) + 1) > length) return false;
    const count = u16(head, 4);
    // Stored bytes: an offset outside the table gives the number, never a read past it.
    const strings = 6 + 2 * (count + 1);
    __hm = function (index: number): string {
      const at = index >= 0 && index < count ? read(6 + 2 * index, 4) : undefined;
      const a = at ? strings + u16(at, 0) : 0;
      const b = at ? strings + u16(at, 2) : 0;
      return at && a <= b && b <= length ? bytesAscii(read(a, b - a)) : '(message ' + index + ')';
    };
  }
  return true;
}

import { join } from 'node:path';
import { SLOT_CAPACITY } from './update/package';
import { buildAssets } from './assets';
import { buildHostSlotApp, buildImage, loadImage, readManifest, ROOT } from './build';

/**
 * Update payloads (docs/formats/update.md §3): the bytes a package carries into a slot, built from
 * an example for one target:
 *
 *   app text · 00 · FF up to the next multiple of 4096 · the assets container
 *
 * The app text is the device bundle (Kaluma, Espruino: `buildImage` with the release's version) or
 * the host slot app (an ES module the simulator's loader imports: `buildHostSlotApp`). The assets
 * are the image's own: the admin page, the password filter, a Kaluma image's messages, and for
 * Kaluma and Espruino the update verifier's text (asset 4; the host verifies in-process).
 */

// The slots' capacities (update.md §4) are the host tools' (update/package.ts), one table for both.
export { SLOT_CAPACITY };

export interface Payload {
  payload: Uint8Array;
  /** Bytes of app text (the manifest's `app`). */
  app: number;
  runtime: string;
  board: string;
  vendor: string;
  model: string;
}

/**
 * `app` (ASCII, no NUL, at least one byte), 00, FF to the next multiple of 4096, then `assets` (if
 * any). Throws a RangeError naming what is wrong with the text.
 */
export function composePayload(app: string, assets?: Uint8Array): Uint8Array {
  if (app.length === 0) throw new RangeError('payload: the app text is empty');
  const text = new Uint8Array(app.length);
  for (let i = 0; i < app.length; i++) {
    const c = app.charCodeAt(i);
    if (c === 0 || c > 0x7e) throw new RangeError('payload: the app text must be ASCII without NUL (character ' + c + ' at ' + i + ')');
    text[i] = c;
  }
  const start = Math.ceil((app.length + 1) / 4096) * 4096;
  const out = new Uint8Array(assets && assets.length ? start + assets.length : app.length + 1).fill(0xff);
  out.set(text);
  out[app.length] = 0;
  if (assets && assets.length) out.set(assets, start);
  return out;
}

/**
 * The verifier's text for a Kaluma or Espruino payload (asset 4: firmware/host/verifier-asset.ts), as
 * bytes. Imported when needed: the simulator (and the host bundle) use this file's composePayload only.
 */
async function verifierAsset(runtime: 'kaluma' | 'espruino'): Promise<Uint8Array> {
  const { verifierAssetText } = await import('./verifier-asset');
  const text = verifierAssetText(runtime);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) throw new RangeError('verifier asset: the text must be ASCII (character ' + c + ' at ' + i + ')');
    bytes[i] = c;
  }
  return bytes;
}

/**
 * Builds the payload of `example` for `target` at `options.version` (the image's firmwareVersion
 * in it), for the manifest's board of that target or `options.board`. Device bundles are written
 * under `options.outDir` (default dist/payload, so that a release build does not replace the
 * ordinary one in dist/). Throws if the payload does not fit the board's slot.
 */
export async function buildPayload(example: string, target: 'kaluma' | 'espruino' | 'host', options: { version: string; board?: string; outDir?: string }): Promise<Payload> {
  if (!/^(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})$/.test(options.version) || options.version.split('.').some((n) => Number(n) > 65535)) {
    throw new RangeError('version: MAJOR.MINOR.PATCH, each 0-65535 without leading zeros');
  }
  const manifest = readManifest(example);
  const board = options.board ?? manifest.boards[target];
  if (!board) throw new Error('example ' + example + ' declares no board for target ' + target + ' (manifest.json "boards")');
  const outDir = options.outDir ?? join(ROOT, 'dist', 'payload');
  let app: string;
  let assets: Uint8Array;
  let vendor: string;
  let model: string;
  if (target === 'host') {
    if (board !== 'host') throw new Error('board ' + board + ' does not run host');
    const built = await buildHostSlotApp(example, { firmwareVersion: options.version }, outDir);
    app = built.code;
    vendor = built.image.config.vendor;
    model = built.image.config.model;
    assets = await buildAssets();
  } else {
    const built = await buildImage(example, target, outDir, board, { firmwareVersion: options.version });
    // Kaluma's loader compiles the text a part at a time (loader-build.ts partedText): the same program.
    app = target === 'kaluma' ? (await import('./loader-build')).partedText(built.code) : built.code;
    const image = await loadImage(join(ROOT, 'examples', example, manifest.entry));
    vendor = image.config.vendor;
    model = image.config.model;
    assets = await buildAssets(built.messages, await verifierAsset(target), built.onDemand);
  }
  const payload = composePayload(app, assets);
  const capacity = SLOT_CAPACITY[board];
  if (capacity === undefined) throw new Error('board ' + board + ': no slot capacity known (docs/formats/update.md §4)');
  if (payload.length > capacity) throw new Error('payload: ' + payload.length + ' bytes (app ' + app.length + ', assets ' + assets.length + '); the ' + board + ' slot holds ' + capacity);
  return { payload, app: app.length, runtime: target, board, vendor, model };
}

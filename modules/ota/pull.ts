import { httpGet, parseHttpUrl, resolveHttpUrl, type HttpFailure } from '../../firmware/device/core/http-client';
import { bytesAscii } from '../../firmware/device/core/bytes';
import { json, problem, type HttpRequest, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import { ascii, body, count, enter, fail, has, head, leave, Major, reader } from './cbor';
import { compareVersions, parseVersion, Update, type DeviceFacts } from './manifest';
import { Head } from './verify';

/**
 * Pulling updates (docs/formats/update.md §10): the device fetches the signed pointer
 * `latest.cose` that `hoshi publish` writes, decides from it whether there is anything for it, and
 * if so fetches the package it names and streams it into the update worker (worker.ts `accept`)
 * as it arrives, then asks for the install. Part of the worker: on Kaluma its code is read from
 * the assets only while an update or a check runs (worker-code.ts).
 *
 * The pointer's signature is not verified here: the package it names is verified in full (§8), so
 * a forged pointer can only make the device fetch something it then refuses, and the verification
 * would cost a Pico about 30 s. Its structure is decoded strictly (exactly the format's map), and
 * it must name this device's vendor, model, runtime and board, a version newer than the one
 * running and a counter not below the floor, before anything else is fetched.
 *
 * The owner's settings (`GET`/`PUT /api/update/settings`): `{"auto": boolean, "url": string|null}`,
 * kept in the store under `ota.pull` (index.ts reserves it): one byte (1: install by itself, 0:
 * not), then the URL's bytes (none: no URL). Nothing stored: the image's `releaseUrl`, with
 * automatic installs on if there is one.
 */

/** Store key of the owner's settings (a const enum: the bundler writes it into the code). */
export const enum PullKey {
  KEY = 'ota.pull',
}

/** The pull's timings, ms. */
const enum Pull {
  /** The pointer: fetched whole within this time. */
  POINTER_MS = 20000,
  /** The package: generous, a Pico writes its flash as the bytes come. */
  PACKAGE_MS = 600000,
}

/** What the resident part (index.ts) keeps between checks: the image's URL and the last check. */
export interface PullState {
  /** The image's `releaseUrl` ("" if none). */
  url: string;
  /** When the last check ended (board clock, ms), -1 never. */
  ended: number;
  /** "" never, "checking", "up-to-date", "installing", or the refusal's code. */
  result: string;
  reason: string;
  /** The version the pointer named ("" before one was read). */
  version: string;
}

/** What a pull needs of the worker. */
export interface PullPort {
  context: ModuleContext;
  facts(): DeviceFacts;
  accept(offset: number, bytes: Uint8Array): HttpResponse;
  install(reply: (response: HttpResponse) => void): void;
  cancel(reply: (response: HttpResponse) => void): void;
}

/** A pointer's fields (§9), as decoded. */
interface Pointer {
  path: string;
  size: number;
  board: string;
  model: string;
  vendor: string;
  counter: number;
  runtime: string;
  version: string;
}

/**
 * Decodes a `latest.cose` (§9): a COSE_Sign1 with §1's protected header, whose payload is exactly
 * the pointer's map, and nothing after it. A pointer, or `{code, reason}` with §6's codes (a key of
 * another format: `manifest-unknown-field`; keys out of order or repeated: `package-malformed`; a
 * value of the wrong type or range, or a missing key: `manifest-malformed`). Never throws.
 */
export function parsePointer(b: Uint8Array): Pointer | HttpFailure {
  // The keys in the deterministic order of RFC 8949 §4.2.1 (a shorter text key's encoding sorts
  // first, then bytewise): the one order a pointer can have. Made per call: no table stays in RAM.
  const KEYS = 'path size board model format sha256 vendor counter runtime version'.split(' ');
  const r = reader(b, Update.SIGN1_MAX);
  const malformed = 'package-malformed';
  if (has(r, 1) && b[0] !== 0xd2) fail(r, malformed, 'it does not start with tag 18 (COSE_Sign1)');
  r.pos = 1;
  if (head(r) !== Major.ARRAY || r.arg !== 4) fail(r, malformed, 'the COSE_Sign1 is not an array of 4 items');
  if (head(r) !== Major.BSTR) fail(r, malformed, 'the protected header is not a byte string');
  let saved = enter(r);
  if (head(r) !== Major.MAP || r.arg !== 2) fail(r, malformed, 'the protected header is not a map of exactly alg (1) and kid (4)');
  if (head(r) !== Major.UINT || r.arg !== 1) fail(r, malformed, 'the protected header is not a map of exactly alg (1) and kid (4)');
  const alg = head(r) === Major.NINT ? -1 - r.arg : 0;
  if (alg !== Update.ALG_EDDSA && alg !== Update.ALG_ED25519) fail(r, 'alg-unsupported', 'alg is not -8 (EdDSA) or -19 (Ed25519)');
  if (head(r) !== Major.UINT || r.arg !== 4) fail(r, malformed, 'the protected header is not a map of exactly alg (1) and kid (4)');
  head(r);
  if (r.major !== Major.BSTR || body(r).length !== Update.KID) fail(r, malformed, 'kid is not an 8-byte byte string');
  if (r.code === '' && r.pos !== r.end) fail(r, malformed, 'bytes follow the protected header inside its byte string');
  leave(r, saved);
  if (head(r) !== Major.MAP || r.arg !== 0) fail(r, malformed, 'the unprotected header is not an empty map');
  if (head(r) !== Major.BSTR) fail(r, malformed, 'the payload is not a byte string');
  saved = enter(r);
  const p: Pointer = { path: '', size: 0, board: '', model: '', vendor: '', counter: 0, runtime: '', version: '' };
  if (head(r) !== Major.MAP) fail(r, 'manifest-malformed', 'the payload is not a map');
  const n = count(r, 2);
  for (let i = 0; i < n && r.code === ''; i++) {
    const k = head(r) === Major.TSTR ? ascii(body(r)) : undefined;
    if (k === undefined) fail(r, 'manifest-malformed', 'a key is not a printable text string');
    else if (k !== KEYS[i]) fail(r, KEYS.indexOf(k) < 0 ? 'manifest-unknown-field' : malformed, KEYS.indexOf(k) < 0 ? 'key "' + k + '" is not a pointer field of format 1' : 'key "' + k + '" is repeated or out of the deterministic order');
    if (r.code !== '') break;
    const t = head(r);
    const x = r.arg;
    const v = body(r);
    const s = t === Major.TSTR && v.length >= 1 && v.length <= 64 ? ascii(v) : undefined;
    // path, board, model, vendor, runtime, version: text; size, format, counter: unsigned; sha256: 32 bytes.
    const want = i === 1 || i === 4 || i === 7 ? Major.UINT : i === 5 ? Major.BSTR : Major.TSTR;
    if (r.code !== '') break;
    if (t !== want || (t === Major.TSTR && s === undefined) || (i === 5 && v.length !== 32) || (i === 2 && v.length > 32)) fail(r, 'manifest-malformed', k + ' is not ' + (want === Major.UINT ? 'an unsigned integer' : want === Major.BSTR ? 'a 32-byte byte string' : 'printable text of 1 to ' + (i === 2 ? 32 : 64) + ' bytes'));
    else if (i === 4 && x !== Update.FORMAT) fail(r, 'format-unsupported', 'pointer format ' + x + ' is not 1');
    else if ((i === 1 && x < 1) || (i === 7 && x > Update.U32_MAX)) fail(r, 'manifest-malformed', k + ' is out of range');
    else if (i === 8 && s !== 'kaluma' && s !== 'espruino' && s !== 'host') fail(r, 'manifest-malformed', 'runtime is not kaluma, espruino or host');
    else if (i === 9 && !parseVersion(s!)) fail(r, 'manifest-malformed', 'version is not MAJOR.MINOR.PATCH');
    if (i === 0) p.path = s!;
    else if (i === 1) p.size = x;
    else if (i === 2) p.board = s!;
    else if (i === 3) p.model = s!;
    else if (i === 6) p.vendor = s!;
    else if (i === 7) p.counter = x;
    else if (i === 8) p.runtime = s!;
    else if (i === 9) p.version = s!;
  }
  if (r.code === '' && n < KEYS.length) fail(r, 'manifest-malformed', KEYS[n] + ' is missing');
  if (r.code === '' && p.path !== p.version + '.hoshi') fail(r, 'manifest-malformed', 'path is not "' + p.version + '.hoshi" (the package beside the pointer)');
  if (r.code === '' && r.pos !== r.end) fail(r, malformed, 'bytes follow the map inside the payload');
  leave(r, saved);
  head(r);
  if (r.major !== Major.BSTR || body(r).length !== Update.SIGNATURE) fail(r, malformed, 'the signature is not a 64-byte byte string');
  if (r.code === '' && r.pos !== b.length) fail(r, malformed, (b.length - r.pos) + ' bytes follow the COSE_Sign1');
  return r.code === '' ? p : { code: r.code, reason: 'pointer: ' + r.reason };
}

/**
 * Why the pointer offers nothing this device may install (the result to report), or undefined:
 * the same checks and codes as a package's head (§2.1), plus "up-to-date" for the version running.
 */
function offer(p: Pointer, f: DeviceFacts): HttpFailure | undefined {
  const what = 'the release server offers ';
  if (p.vendor !== f.vendor) return { code: 'wrong-vendor', reason: what + 'vendor ' + p.vendor + "'s, this device is " + f.vendor + "'s" };
  if (p.model !== f.model) return { code: 'wrong-model', reason: what + 'model ' + p.model + ', this device is a ' + f.model };
  if (p.runtime !== f.runtime) return { code: 'wrong-runtime', reason: what + 'runtime ' + p.runtime + ', this device runs ' + f.runtime };
  if (p.board !== f.board) return { code: 'wrong-board', reason: what + 'board ' + p.board + ', this device is a ' + f.board };
  const order = compareVersions(parseVersion(p.version)!, parseVersion(f.version) || [0, 0, 0]);
  if (order === 0) return { code: 'up-to-date', reason: what + p.version + ', the version running' };
  if (order < 0) return { code: 'version-not-newer', reason: what + p.version + ', older than the running ' + f.version };
  if (p.counter < f.counterFloor) return { code: 'counter-rollback', reason: what + 'security counter ' + p.counter + ', below the device\'s floor ' + f.counterFloor };
  if (p.size > f.capacity + Head.MAX) return { code: 'image-too-large', reason: what + 'a package of ' + p.size + ' bytes, more than a slot of ' + f.capacity + ' bytes takes' };
  return undefined;
}

/** The owner's settings (stored bytes are untrusted: anything but the stored form reads as none). */
function settingsOf(port: PullPort, p: PullState): { auto: boolean; url: string } {
  const s = port.context.store.get(PullKey.KEY);
  if (!s || s.length < 1 || s[0] > 1) return { auto: p.url !== '', url: p.url };
  return { auto: s[0] === 1, url: bytesAscii(s.subarray(1)) };
}

/**
 * `GET /api/update/settings`: `{"auto": …, "url": …}`. `PUT` with exactly those two keys: `auto`
 * a boolean, `url` an `http://` URL (core/http-client.ts `parseHttpUrl`) or null; kept in the store.
 */
export function pullSettings(port: PullPort, p: PullState, request: HttpRequest): HttpResponse {
  if (request.method === 'PUT') {
    let v: { auto?: unknown; url?: unknown } | undefined;
    try {
      v = JSON.parse(bytesAscii(request.body));
    } catch (error) {
      v = undefined;
    }
    const keys = v !== null && typeof v === 'object' ? Object.keys(v).sort().join() : '';
    if (keys !== 'auto,url' || typeof v!.auto !== 'boolean' || (v!.url !== null && (typeof v!.url !== 'string' || !parseHttpUrl(v!.url as string)))) {
      return problem(400, 'bad-settings', 'the body must be {"auto": true|false, "url": "http://host[:port]/.../latest.cose"|null}');
    }
    const url = (v!.url as string | null) || '';
    const out = new Uint8Array(1 + url.length);
    out[0] = v!.auto ? 1 : 0;
    for (let i = 0; i < url.length; i++) out[i + 1] = url.charCodeAt(i);
    port.context.store.set(PullKey.KEY, out);
  }
  const s = settingsOf(port, p);
  return json(200, { auto: s.auto, url: s.url || null });
}

/** The last check, for `GET /api/update`. */
export function pullStatus(p: PullState, now: number): { [name: string]: string | number | null } {
  return { result: p.result || null, reason: p.reason || null, version: p.version || null, secondsAgo: p.ended < 0 ? null : Math.floor((now - p.ended) / 1000) };
}

/**
 * Checks the release URL (the owner's, or the image's) and, if the pointer offers a newer version
 * for this device, fetches the package into the worker and installs it. Returns 202 once started
 * (`done` is then called when the check ends, whatever its result, kept in `p`), or why not
 * (no URL, a URL that does not parse: `done` is not called).
 */
export function pullCheck(port: PullPort, p: PullState, done: () => void): HttpResponse {
  const context = port.context;
  const net = context.board.net;
  const url = parseHttpUrl(settingsOf(port, p).url);
  if (!url) return problem(409, 'no-release-url', 'no release URL is set (PUT /api/update/settings)');
  const end = function (f: HttpFailure): void {
    p.result = f.code;
    p.reason = f.reason;
    p.ended = context.board.clock.now();
    console.log('[hoshi] update check: ' + f.code);
    done();
  };
  p.result = 'checking';
  p.reason = '';
  p.version = '';
  const bytes = new Uint8Array(Update.SIGN1_MAX);
  httpGet(net, {
    url: url,
    limit: Update.SIGN1_MAX,
    timeoutMs: Pull.POINTER_MS,
    body: function (offset: number, piece: Uint8Array): undefined {
      bytes.set(piece, offset);
      return undefined;
    },
    done: function (failed: HttpFailure | undefined, length: number): void {
      if (failed) return end(failed);
      const parsed = parsePointer(bytes.subarray(0, length));
      if ((parsed as HttpFailure).code) return end(parsed as HttpFailure);
      const pointer = parsed as Pointer;
      p.version = pointer.version;
      const no = offer(pointer, port.facts());
      if (no) return end(no);
      fetchPackage(port, pointer, resolveHttpUrl(url, pointer.path), end);
    },
  });
  return json(202, { check: 'started' });
}

/** Streams the package the pointer names into the worker, then installs it (or drops what came). */
function fetchPackage(port: PullPort, pointer: Pointer, url: ReturnType<typeof resolveHttpUrl>, end: (f: HttpFailure) => void): void {
  const drop = function (f: HttpFailure): void {
    port.cancel(function (): void {
      end(f);
    });
  };
  httpGet(port.context.board.net, {
    url: url,
    limit: pointer.size,
    timeoutMs: Pull.PACKAGE_MS,
    body: function (offset: number, piece: Uint8Array, length: number): HttpFailure | undefined {
      if (length !== pointer.size) return { code: 'pointer-mismatch', reason: 'the package is ' + length + ' bytes, the pointer says ' + pointer.size };
      const r = port.accept(offset, piece);
      if (r.status === 202) return undefined;
      const e = JSON.parse(r.body as string) as { error: string; reason: string };
      return { code: e.error, reason: e.reason };
    },
    done: function (failed: HttpFailure | undefined, length: number): void {
      if (!failed && length !== pointer.size) failed = { code: 'pointer-mismatch', reason: 'the package is ' + length + ' bytes, the pointer says ' + pointer.size };
      if (failed) return drop(failed);
      port.install(function (r: HttpResponse): void {
        if (r.status !== 202) {
          const e = JSON.parse(r.body as string) as { error: string; reason: string };
          return drop({ code: e.error, reason: e.reason });
        }
        end({ code: 'installing', reason: 'version ' + pointer.version + ' received whole: verified, then booted on trial (the update\'s phase says how far)' });
      });
    },
  });
}

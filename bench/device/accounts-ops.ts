// The accounts module's requests for `npm run bench` (bench/accounts.ts): __bench(op, k, input).
// A unit is booted as firmware/device/boot.ts boots it (the state store sealed with the unit's key,
// the unit's DRBG, the assets, the module started), then requests go straight to the module's
// handlers: from the parsed request to the reply, without HTTP parsing or sending. The state and
// assets partitions are RAM (lazyFlash) with the boards' own checks around each program
// (boards/common/flash.ts: range, only erased bytes programmed, read back). The client's side
// (PBKDF2 and the proof) is computed on the host: `input` carries its messages.
import type { CryptoProvider } from '../../hal/crypto';
import { readOnly, type Flash } from '../../hal/flash';
import type { Board } from '../../hal/board';
import { checkRange, programChecked } from '../../boards/common/flash';
import { openAssets } from '../../firmware/device/core/assets';
import { asciiBytes } from '../../firmware/device/core/bytes';
import type { HttpResponse, ModuleContext, Route } from '../../firmware/device/core/module';
import type { ProvisioningRecord } from '../../firmware/device/core/provisioning';
import { accounts } from '../../modules/accounts/index';
import { deviceKeys, RANDOM_RESERVE, unitRandom } from '../../modules/keys/keys';
import { openStore } from '../../modules/store/store';

const SECTOR = 4096;

/** What the host computed for the run (bench/accounts.ts): hex for bytes, request bodies as JSON text. */
export interface AccountsBenchInput {
  serial: string;
  secret: string;
  seed: string;
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
  defaultCheck: string;
  /** The assets container: its runs of bytes that are not zero, [offset, hex]. */
  assets: [number, string][];
  /** Bodies of POST /api/login, step 1 and step 2, one per login in order. */
  firsts: string[];
  finals: string[];
  /** Step 2 of the second login with a wrong proof. */
  wrong: string;
  /** Bodies of POST /api/password: accepted ones, then one refused as a common password. */
  changes: string[];
  common: string;
}

function hex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

/**
 * A flash region in RAM whose blocks of `block` bytes are made when first programmed: until then a
 * block reads as `blank` (0xff: erased), so a region costs the engine's memory only for what is
 * written (Espruino's 12,000 variables hold the bundle, the region and the run). Reads and programs
 * have the boards' checks around them (boards/common/flash.ts).
 */
function lazyFlash(size: number, block: number, writeSize: number, blank: number): Flash & { load(offset: number, bytes: Uint8Array): void } {
  const blocks: (Uint8Array | undefined)[] = [];
  const read = (offset: number, length: number): Uint8Array => {
    const out = new Uint8Array(length);
    if (blank !== 0) out.fill(blank);
    const last = Math.floor((offset + length - 1) / block);
    for (let b = Math.floor(offset / block); b <= last && length > 0; b++) {
      const data = blocks[b];
      if (!data) continue;
      const from = offset > b * block ? offset - b * block : 0;
      const to = offset + length < (b + 1) * block ? offset + length - b * block : block;
      out.set(data.subarray(from, to), b * block + from - offset);
    }
    return out;
  };
  // A program ANDs the bytes in (a byte written as 0xff leaves the one there: hal/flash.ts); a load sets them.
  // On the device the program is one native call; here it is a loop (a small part of a write's cost).
  const put = (offset: number, data: Uint8Array, program: boolean): void => {
    let into: Uint8Array = new Uint8Array(0);
    let base = -block;
    for (let i = 0; i < data.length; i++) {
      if (offset + i >= base + block) {
        const b = Math.floor((offset + i) / block);
        if (!blocks[b]) {
          blocks[b] = new Uint8Array(block);
          if (blank !== 0) blocks[b]!.fill(blank);
        }
        into = blocks[b]!;
        base = b * block;
      }
      into[offset + i - base] = program ? into[offset + i - base] & data[i] : data[i];
    }
  };
  return {
    size: size,
    eraseSize: SECTOR,
    writeSize: writeSize,
    erasedValue: 0xff,
    read: (offset: number, length: number): Uint8Array => {
      checkRange('read', offset, length, size, 1);
      return read(offset, length);
    },
    write: (offset: number, data: Uint8Array): void => {
      checkRange('write', offset, data.length, size, writeSize);
      programChecked(offset, data, read, () => put(offset, data, true));
    },
    erase: (offset: number, length: number): void => {
      checkRange('erase', offset, length, size, SECTOR);
      for (let b = Math.floor(offset / block); b < (offset + length) / block; b++) blocks[b] = undefined;
    },
    load: (offset: number, bytes: Uint8Array): void => put(offset, bytes, false),
  };
}

/**
 * Boots a unit and runs `op` (`k` times where it says so); returns the statuses' sum. `final`,
 * when given, makes step 2 of login i from the server-first message (the host's replay, which
 * records the messages the engines are then given in `input.finals`). Throws on any answer that
 * is not the one expected.
 * - boot: nothing more;
 * - login: k logins (step 1 + step 2);
 * - step1: one login, then step 1 of k more;
 * - wrong: one login, then step 1 of the next and its step 2 with a wrong proof;
 * - change: one login (as the forced change follows it), then k password changes;
 * - common: one login, one change, then k changes refused as a common password.
 */
export function runAccounts(p: CryptoProvider, writeSize: number, op: string, k: number, input: AccountsBenchInput, final?: (i: number, serverFirst: string) => string): number {
  // Every input is made before any request, whatever op and k: setup cancels out of differences.
  const record: ProvisioningRecord = {
    serial: input.serial,
    deviceSecret: hex(input.secret),
    drbgSeed: hex(input.seed),
    verifier: { salt: hex(input.salt), iterations: input.iterations, storedKey: hex(input.storedKey), serverKey: hex(input.serverKey) },
    defaultCheck: hex(input.defaultCheck),
    // Any setup key: the handlers run here without the guard, so without the admin channel (its
    // cost per request: bench/channel.ts); the login derives the channel's keys with it.
    setupKey: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
  };
  // The assets partition (16 sectors, as on the Pico): the container's bytes that are not zero.
  const assetFlash = lazyFlash(16 * SECTOR, 256, writeSize, 0);
  for (let i = 0; i < input.assets.length; i++) assetFlash.load(input.assets[i][0], hex(input.assets[i][1]));
  const firsts: Uint8Array[] = [];
  const finals: Uint8Array[] = [];
  for (let i = 0; i < input.firsts.length; i++) firsts.push(asciiBytes(input.firsts[i]));
  for (let i = 0; i < input.finals.length; i++) finals.push(asciiBytes(input.finals[i]));
  const changes: Uint8Array[] = [];
  for (let i = 0; i < input.changes.length; i++) changes.push(asciiBytes(input.changes[i]));
  const wrong = asciiBytes(input.wrong);
  const common = asciiBytes(input.common);
  const entropy = new Uint8Array(32);
  for (let i = 0; i < 32; i++) entropy[i] = (i * 37 + 11) & 255;

  // Boot (firmware/device/boot.ts, the parts the module uses).
  let now = 1000000;
  const clock = { now: (): number => now, wallTime: (): undefined => undefined };
  // No inputs on this board: the module's clear button (if configured) is not polled.
  const board = { name: 'bench', crypto: p, clock: clock, io: { write: (): void => undefined, analog: (): number => 0 } } as unknown as Board;
  const module = accounts();
  const keys = deviceKeys(p, record.deviceSecret);
  const store = openStore(lazyFlash(8 * SECTOR, SECTOR, writeSize, 0xff), { seal: keys.cipher('store-seal'), reserve: [RANDOM_RESERVE].concat(module.reserve || []) });
  const random = unitRandom(p, record.drbgSeed, { quality: 'weak', bytes: (n: number): Uint8Array => entropy.subarray(0, n) }, store);
  const routes: Route[] = [];
  const context: ModuleContext = {
    board: board,
    config: { model: 'HS-BENCH-01', hardwareRevision: 'A', vendor: 'Hoshi Bench', firmwareVersion: '0.1.0', supportEnd: '2030-12-31', vulnerabilityDisclosureUrl: 'https://example.invalid/security', interfaces: { http: { port: 80, maxBodyBytes: 1024, maxHeaderBytes: 2048 }, console: 'off' } } as unknown as ModuleContext['config'],
    provisioning: record,
    store: store,
    keys: keys,
    random: random,
    assets: openAssets(readOnly(assetFlash, 'the assets partition')),
    guard: (): void => undefined,
    route: (route: Route): void => {
      routes.push(route);
    },
    every: (): void => undefined,
    whenServing: (): void => undefined,
    status: {},
    event: (): void => undefined,
    securityLog: (): void => undefined,
    onWipe: (): void => undefined,
    wipeTasks: [],
    keptKeys: [],
  };
  module.start(context);
  let login: Route | undefined;
  let change: Route | undefined;
  for (let i = 0; i < routes.length; i++) {
    if (routes[i].method === 'POST' && routes[i].path === '/api/login') login = routes[i];
    if (routes[i].method === 'POST' && routes[i].path === '/api/password') change = routes[i];
  }
  if (!login || !change) throw new Error('accounts: routes missing');

  let sum = 0;
  const send = (route: Route, body: Uint8Array, expected: number): HttpResponse => {
    now = now + 10;
    let answer: HttpResponse | undefined;
    // As the HTTP server hands a request to its handler (core/module HttpRequest).
    route.handler({ method: 'POST', path: route.path, query: '', headers: { 'content-type': 'application/json' }, body: body, remote: '192.0.2.7' }, (r: HttpResponse): void => {
      answer = r;
    });
    if (!answer || answer.status !== expected) throw new Error('accounts bench: ' + route.path + ' answered ' + (answer ? answer.status + ' ' + String(answer.body) : 'nothing') + ', expected ' + expected);
    sum = sum + answer.status;
    return answer;
  };
  // The server-first message is read back only for the host's replay.
  const step1 = (i: number): string => {
    const r = send(login!, firsts[i], 200);
    return final ? JSON.parse(String(r.body)).scram : '';
  };
  const fullLogin = (i: number): void => {
    const serverFirst = step1(i);
    send(login!, final ? asciiBytes(final(i, serverFirst)) : finals[i], 200);
  };

  if (op === 'boot') return 1;
  if (op === 'login') {
    for (let i = 0; i < k; i++) fullLogin(i);
    return sum;
  }
  fullLogin(0);
  if (op === 'step1') for (let i = 0; i < k; i++) step1(1 + i);
  else if (op === 'wrong') {
    step1(1);
    send(login, wrong, 401);
  } else if (op === 'change') {
    for (let i = 0; i < k; i++) send(change, changes[i], 200);
  } else if (op === 'common') {
    send(change, changes[0], 200);
    for (let i = 0; i < k; i++) send(change, common, 422);
  } else throw new Error('unknown op ' + op);
  return sum;
}

/** Defines __bench(op, k, inputJson) on the engine. */
export function install(p: CryptoProvider, writeSize: number): void {
  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number, input: string): number {
    return runAccounts(p, writeSize, op, k, JSON.parse(input) as AccountsBenchInput);
  };
}

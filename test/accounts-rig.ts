import { randomBytes } from 'node:crypto';
import { memoryBacking, openSimFlash, type FlashBacking, type SimFlash } from '../boards/host/flash';
import { createHostIo } from '../boards/host/board';
import type { Board } from '../hal/board';
import { openAssets } from '../firmware/device/core/assets';
import { base64Encode } from '../firmware/device/core/base64';
import type { RequestHead } from '../firmware/device/core/http-parser';
import type { Guard, HoshiModule, HttpResponse, ModuleContext, Route } from '../firmware/device/core/module';
import type { ProvisioningRecord } from '../firmware/device/core/provisioning';
import { routeRequest } from '../firmware/device/router';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys, RANDOM_RESERVE, unitRandom } from '../modules/keys/keys';
import { openStore } from '../modules/store/store';
import { scramClient, scramVerifier, type ScramClientCrypto } from '../modules/accounts/scram';
import type { Store } from '../firmware/device/core/services';
import smartPlug from '../examples/smart-plug/image';

/**
 * A device with one module on a simulated flash, driven without sockets: a clock the test moves,
 * requests routed as boot routes them (router.ts), handlers answered synchronously. Lets the
 * accounts tests run a thousand logins and cut the power at every flash operation.
 */

export const CLIENT: ScramClientCrypto = jsCrypto as ScramClientCrypto;
export const TEST_ITERATIONS = 4096;

export interface Unit {
  record: ProvisioningRecord;
  password: string;
}

/** A version-2 unit with a random default password (what `hoshi provision` makes, with few iterations). */
export function newUnit(password = 'dflt-' + randomBytes(6).toString('hex')): Unit {
  const secret = new Uint8Array(randomBytes(32));
  const record: ProvisioningRecord = {
    serial: 'HSTEST' + randomBytes(4).toString('hex').toUpperCase(),
    deviceSecret: secret,
    drbgSeed: new Uint8Array(randomBytes(48)),
    verifier: scramVerifier(CLIENT, password, new Uint8Array(randomBytes(16)), TEST_ITERATIONS),
    defaultCheck: jsCrypto.hmacSha256(deviceKeys(jsCrypto, secret).key('default-password'), new TextEncoder().encode(password)),
  };
  return { record, password };
}

export interface Rig {
  backing: FlashBacking;
  flash: SimFlash;
  store: Store;
  routes: Route[];
  clock: { t: number };
  /** Moves the clock by `ms`. */
  advance(ms: number): void;
  request(method: string, path: string, options?: { body?: unknown; token?: string; remote?: string; raw?: string; authorization?: string }): HttpResponse;
  /** Powers on again from the same flash (RAM state is gone). */
  reboot(): void;
  /** The board's pins (kept across reboots). */
  io: ReturnType<typeof createHostIo>;
  /** Runs every periodic task once, as one period passing would. */
  tick(): void;
}

export function rig(module: () => HoshiModule, unit: Unit | undefined, backing: FlashBacking = memoryBacking(32 * 4096)): Rig {
  const clock = { t: 1_000_000 };
  const io = createHostIo();
  const r = { backing, clock, routes: [] as Route[], io } as Rig;
  let tasks: (() => void)[] = [];
  let guard: Guard | undefined;
  const powerOn = (): void => {
    r.flash = openSimFlash(backing);
    const m = module();
    const keys = unit ? deviceKeys(jsCrypto, unit.record.deviceSecret) : undefined;
    const reserve = (unit ? [RANDOM_RESERVE] : []).concat(m.reserve ?? []);
    r.store = openStore(r.flash, keys ? { seal: keys.cipher('store-seal'), reserve } : { reserve });
    const random = unit ? unitRandom(jsCrypto, unit.record.drbgSeed, { quality: 'weak', bytes: (n) => new Uint8Array(randomBytes(n)) }, r.store) : undefined;
    r.routes = [];
    tasks = [];
    guard = undefined;
    const board = { name: 'host', io, crypto: jsCrypto, clock: { now: () => clock.t, wallTime: () => undefined } } as unknown as Board;
    const context: ModuleContext = {
      board,
      config: smartPlug.config,
      provisioning: unit?.record,
      store: r.store,
      keys,
      random,
      assets: openAssets(undefined),
      guard: (g) => {
        guard = g;
      },
      route: (route) => {
        r.routes.push(route);
      },
      every: (_ms, task) => {
        tasks.push(task);
      },
    };
    m.start(context);
  };
  r.advance = (ms) => {
    clock.t += ms;
  };
  r.reboot = powerOn;
  r.tick = () => {
    for (const task of tasks) task();
  };
  r.request = (method, path, o = {}) => {
    const headers: { [name: string]: string } = {};
    if (o.token) headers['authorization'] = 'Bearer ' + o.token;
    if (o.authorization !== undefined) headers['authorization'] = o.authorization;
    const head = { method, path, headers, query: '', target: path, authority: '', minor: 1, contentLength: 0, expectContinue: false } as RequestHead;
    const routed = routeRequest(r.routes, guard, head);
    if (typeof routed !== 'function') return routed;
    const text = o.raw ?? (o.body === undefined ? '' : JSON.stringify(o.body));
    let out: HttpResponse | undefined;
    routed({ method, path, query: '', headers, body: new TextEncoder().encode(text), remote: o.remote ?? '' }, (x) => (out = x));
    if (!out) throw new Error('no reply');
    return out;
  };
  powerOn();
  return r;
}

/** The JSON body of a response. */
export function body(r: HttpResponse): any {
  return JSON.parse(typeof r.body === 'string' ? r.body : new TextDecoder().decode(r.body));
}

/** A whole SCRAM login against the rig; returns the final answer and whether the server proved itself. */
export function login(r: Rig, password: string, remote = '192.0.2.1'): { status: number; body: any; response: HttpResponse; serverOk: boolean; client: ReturnType<typeof scramClient> } {
  const client = scramClient(CLIENT, 'admin', password, base64Encode(new Uint8Array(randomBytes(18))));
  const first = r.request('POST', '/api/login', { body: { scram: client.first }, remote });
  if (first.status !== 200) return { status: first.status, body: body(first), response: first, serverOk: false, client };
  const final = client.final(body(first).scram);
  if (typeof final !== 'string') throw new Error(final.error);
  const second = r.request('POST', '/api/login', { body: { scram: final }, remote });
  const b = body(second);
  return { status: second.status, body: b, response: second, serverOk: second.status === 200 && client.verifyServer(b.scram), client };
}

/** The body of POST /api/password for `password` (a fresh verifier). */
export function passwordBody(password: unknown, iterations = TEST_ITERATIONS): object {
  const salt = new Uint8Array(randomBytes(16));
  const v = scramVerifier(CLIENT, typeof password === 'string' ? password : 'x', salt, iterations);
  return { password, salt: base64Encode(salt), iterations, storedKey: base64Encode(v.storedKey), serverKey: base64Encode(v.serverKey) };
}

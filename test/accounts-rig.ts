import { randomBytes } from 'node:crypto';
import { checkPassword } from '../modules/accounts/policy';
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
import { scramClient, scramVerifier, sessionSecret, type ScramClientCrypto } from '../modules/accounts/scram';
import { CHANNEL_HEADER, channelKeys, COSE_ENCRYPT0, decodeProtected, openAnswer, pivOf, protectRequest, type ChannelKeys } from '../modules/channel/channel';
import { scramPassword, SETUP_KEY_BYTES } from '../modules/channel/setup';
import { base64Decode } from '../firmware/device/core/base64';
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
  /** The unit's setup key (record.setupKey): what the label gives every client. */
  setupKey: Uint8Array;
}

/**
 * A version-3 unit with a random default password and setup key (what `hoshi provision` makes,
 * with few iterations): the verifier is over the password pre-hashed with the setup key.
 */
/**
 * A default password as the factory makes them, that no policy rule but "default" refuses (a random
 * one could hold a run such as "aaaa" or "1234", which the policy refuses first).
 */
function defaultPassword(): string {
  for (;;) {
    const p = 'dflt-' + randomBytes(6).toString('hex');
    if (!checkPassword(p, { minLength: 8, identity: ['HS-PLUG-01', 'HS-ENV-01'] })) return p;
  }
}

export function newUnit(password = defaultPassword()): Unit {
  const secret = new Uint8Array(randomBytes(32));
  const setupKey = new Uint8Array(randomBytes(SETUP_KEY_BYTES));
  const record: ProvisioningRecord = {
    serial: 'HSTEST' + randomBytes(4).toString('hex').toUpperCase(),
    deviceSecret: secret,
    drbgSeed: new Uint8Array(randomBytes(48)),
    verifier: scramVerifier(CLIENT, scramPassword(CLIENT, setupKey, password), new Uint8Array(randomBytes(16)), TEST_ITERATIONS),
    defaultCheck: jsCrypto.hmacSha256(deviceKeys(jsCrypto, secret).key('default-password'), new TextEncoder().encode(password)),
    setupKey,
  };
  return { record, password, setupKey };
}

export interface Rig {
  backing: FlashBacking;
  flash: SimFlash;
  store: Store;
  routes: Route[];
  /** Security events the module recorded, "kind detail". */
  events: string[];
  /** The unit the rig runs (undefined: unprovisioned). */
  unit: Unit | undefined;
  clock: { t: number };
  /** Moves the clock by `ms`. */
  advance(ms: number): void;
  /** One request as it is (no channel): `bytes`, else `raw`, else `body` as JSON is its body. */
  request(method: string, path: string, options?: { body?: unknown; token?: string; remote?: string; raw?: string; bytes?: Uint8Array; authorization?: string; headers?: { [name: string]: string } }): HttpResponse;
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
  const r = { backing, clock, routes: [] as Route[], events: [] as string[], io, unit } as Rig;
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
      whenServing: () => undefined,
      status: {},
      event: (kind, detail) => {
        r.events.push(detail === undefined ? kind : kind + ' ' + detail);
      },
      securityLog: () => undefined,
      onWipe: () => undefined,
      wipeTasks: [],
      keptKeys: [],
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
    const headers: { [name: string]: string } = { ...o.headers };
    if (o.token) headers['authorization'] = 'Bearer ' + o.token;
    if (o.authorization !== undefined) headers['authorization'] = o.authorization;
    const head = { method, path, headers, query: '', target: path, authority: '', minor: 1, contentLength: 0, expectContinue: false } as RequestHead;
    const routed = routeRequest(r.routes, guard, head);
    if (typeof routed !== 'function') return routed;
    const bytes = o.bytes ?? new TextEncoder().encode(o.raw ?? (o.body === undefined ? '' : JSON.stringify(o.body)));
    let out: HttpResponse | undefined;
    routed({ method, path, query: '', headers, body: bytes, remote: o.remote ?? '' }, (x) => (out = x));
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

/**
 * A session's side of the admin channel, as the client keeps it (firmware/host/client.ts): the
 * token, the keys and the next sequence number.
 */
export interface RigSession {
  token: string;
  keys: ChannelKeys;
  seq: number;
}

/**
 * A whole SCRAM login against the rig, on the password pre-hashed with the unit's setup key (or
 * `setupKey`), as a client does; returns the final answer, whether the server proved itself and,
 * on success, the session with its channel keys derived exactly as the client derives them.
 */
export function login(
  r: Rig,
  password: string,
  remote = '192.0.2.1',
  setupKey: Uint8Array = r.unit?.setupKey ?? new Uint8Array(SETUP_KEY_BYTES).fill(1),
): { status: number; body: any; response: HttpResponse; serverOk: boolean; client: ReturnType<typeof scramClient>; session: RigSession | undefined } {
  const client = scramClient(CLIENT, 'admin', scramPassword(CLIENT, setupKey, password), base64Encode(new Uint8Array(randomBytes(18))));
  const first = r.request('POST', '/api/login', { body: { scram: client.first }, remote });
  if (first.status !== 200) return { status: first.status, body: body(first), response: first, serverOk: false, client, session: undefined };
  const final = client.final(body(first).scram);
  if (typeof final !== 'string') throw new Error(final.error);
  const second = r.request('POST', '/api/login', { body: { scram: final }, remote });
  const b = body(second);
  const serverOk = second.status === 200 && client.verifyServer(b.scram);
  let session: RigSession | undefined;
  if (serverOk) {
    const secrets = client.secrets()!;
    session = { token: b.token, keys: channelKeys(jsCrypto, sessionSecret(CLIENT, secrets.clientKey, secrets.authMessage), setupKey, base64Decode(b.token)!), seq: 0 };
  }
  return { status: second.status, body: b, response: second, serverOk, client, session };
}

/** The session of a login that must have succeeded. */
export function session(r: Rig, password: string, remote?: string): RigSession {
  const l = login(r, password, remote);
  if (!l.session) throw new Error('login ' + l.status + ' ' + JSON.stringify(l.body));
  return l.session;
}

/** A request protected for `method path` under `s`'s keys with sequence number `seq`: the COSE_Encrypt0 bytes. */
export function protect(s: RigSession, method: string, path: string, plain: Uint8Array, seq: number): Uint8Array {
  return protectRequest(jsCrypto, s.keys, seq, method + ' ' + path, plain);
}

/**
 * Sends `message` (a protected request, or any bytes) where the channel carries it: in the
 * Hoshi-Channel header (base64) for GET and HEAD, else as the body.
 */
export function carry(r: Rig, s: { token: string }, method: string, path: string, message: Uint8Array, remote?: string): HttpResponse {
  const get = method === 'GET' || method === 'HEAD';
  return get
    ? r.request(method, path, { token: s.token, headers: { [CHANNEL_HEADER]: base64Encode(message) }, remote })
    : r.request(method, path, { token: s.token, headers: { 'content-type': COSE_ENCRYPT0 }, bytes: message, remote });
}

/** An answer of the channel, opened: `sealed` says whether it came protected (its body is then the plaintext). */
export type Opened = HttpResponse & { sealed: boolean };

/**
 * Opens `a`, the answer to a request of sequence number `seq`: a protected answer must authenticate
 * under the device's key for its status; an answer that is not protected must be a refusal.
 * Either failure throws (the device never answers a non-public route otherwise).
 */
export function open(s: RigSession, seq: number, a: HttpResponse): Opened {
  if (a.headers?.['Content-Type'] !== COSE_ENCRYPT0) {
    if (a.status < 300) throw new Error('a ' + a.status + ' answer without the channel');
    return { ...a, sealed: false };
  }
  const bytes = typeof a.body === 'string' ? new TextEncoder().encode(a.body) : a.body ?? new Uint8Array(0);
  const d = decodeProtected(bytes, false);
  if (typeof d === 'string') throw new Error('the answer is not a protected answer: ' + d);
  const plain = openAnswer(jsCrypto, s.keys, pivOf(seq), a.status, d[1]);
  if (!plain) throw new Error('the answer does not authenticate');
  return { ...a, body: plain, sealed: true };
}

/**
 * One request through `s`'s channel, as the client makes it: `raw` (text or bytes), else `body` as
 * JSON, protected with the session's next sequence number (or `seq`); the answer opened.
 */
export function call(r: Rig, s: RigSession, method: string, path: string, o: { body?: unknown; raw?: string | Uint8Array; seq?: number; remote?: string } = {}): Opened {
  const seq = o.seq ?? s.seq++;
  const plain = o.raw instanceof Uint8Array ? o.raw : new TextEncoder().encode(o.raw ?? (o.body === undefined ? '' : JSON.stringify(o.body)));
  return open(s, seq, carry(r, s, method, path, protect(s, method, path, plain, seq), o.remote));
}

/** The body of POST /api/password for `password` (a fresh verifier of its pre-hash with `setupKey`). */
export function passwordBody(password: unknown, setupKey: Uint8Array, iterations = TEST_ITERATIONS): object {
  const salt = new Uint8Array(randomBytes(16));
  const v = scramVerifier(CLIENT, scramPassword(CLIENT, setupKey, typeof password === 'string' ? password : 'x'), salt, iterations);
  return { password, salt: base64Encode(salt), iterations, storedKey: base64Encode(v.storedKey), serverKey: base64Encode(v.serverKey) };
}

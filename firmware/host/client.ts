import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { checkPassword, type PolicyRefusal } from '../../modules/accounts/policy';
import { Scram, scramClient, scramVerifier, sessionSecret, SCRAM_USER, type ScramClientCrypto, type ScramVerifier } from '../../modules/accounts/scram';
import { CHANNEL_HEADER, channelKeys, COSE_ENCRYPT0, decodeProtected, openAnswer, pivOf, protectRequest, type ChannelKeys } from '../../modules/channel/channel';
import { scramPassword } from '../../modules/channel/setup';
import { jsCrypto } from '../../modules/crypto/provider-js';

/**
 * The host's client of a device's accounts API (docs/accounts.md) and admin channel
 * (docs/formats/channel.md): SCRAM-SHA-256 login on the password pre-hashed with the unit's setup
 * key, then every admin request protected by the session's channel; password change, Wi-Fi, the
 * public identity and policy. Used by `hoshi login`, `hoshi password`, `hoshi wifi`, the
 * evaluators' script (firmware/host/bruteforce.ts) and tests. Host code: node:crypto does the slow
 * PBKDF2.
 */

/** SCRAM's client-side crypto on node:crypto (PBKDF2 in native code: about 70 ms for 100,000 iterations). */
export const nodeScramCrypto: ScramClientCrypto = {
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  pbkdf2Sha256: (password, salt, iterations, length) => new Uint8Array(pbkdf2Sync(password, salt, iterations, length, 'sha256')),
};

/** The iteration count the host tools use for a new verifier (a PC computes it in about 70 ms; a Pico never does). */
export const DEFAULT_ITERATIONS = 100000;

/** True if `n` is an iteration count a device accepts (RFC 7677's minimum 4096 … 10,000,000). */
export function iterationsOk(n: number): boolean {
  return Number.isInteger(n) && n >= Scram.MIN_ITERATIONS && n <= Scram.MAX_ITERATIONS;
}

/** A new SCRAM verifier of `password`: a fresh 16-byte salt from the CSPRNG, `iterations` rounds. */
export function newVerifier(password: string, iterations = DEFAULT_ITERATIONS): ScramVerifier {
  if (!iterationsOk(iterations)) throw new RangeError('iterations: an integer in ' + Scram.MIN_ITERATIONS + '..' + Scram.MAX_ITERATIONS);
  return scramVerifier(nodeScramCrypto, password, new Uint8Array(randomBytes(16)), iterations);
}

/** Why a request to the device did not succeed. */
export type ClientErrorCode =
  /** 429: too many failed logins; `retryAfter` seconds. */
  | 'locked'
  /** 401 at the login's second step: wrong password (or an expired login). */
  | 'login-failed'
  /** The device answered the proof but could not prove it holds the verifier: not the device it claims to be. */
  | 'impostor'
  /** The device's messages are not the protocol (not SCRAM, not JSON, a bad server nonce…). */
  | 'protocol'
  /** No answer (connection refused, timeout). */
  | 'network'
  /** An answer of the admin channel that does not authenticate, or a success that is not protected. */
  | 'channel'
  /** Any other refusal: `error` and `reason` are the device's. */
  | 'refused';

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** HTTP status, when the device answered. */
    readonly status?: number,
    /** The device's error code (`{"error": …}`), when it gave one. */
    readonly error?: string,
    /** Seconds to wait before the next login (429, and 401s that carry it). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface ClientOptions {
  /** Each request's timeout, ms (default 30,000: a Pico answers a login's second step in seconds). */
  timeoutMs?: number;
  /** The most iterations the client will compute for a device (default 10,000,000). */
  maxIterations?: number;
}

interface Answer {
  status: number;
  headers: Headers;
  body: { [name: string]: unknown };
}

/** `url` joined with an API path (`url` may end with "/"). */
function endpoint(url: string, path: string): string {
  return url.replace(/\/+$/, '') + path;
}

/** One request; the answer's JSON object (an empty one if the body is not JSON). Throws 'network' if nothing comes back. */
/** A JSON object from bytes, or an empty one (callers say what they expected). */
function jsonObject(bytes: Uint8Array): { [name: string]: unknown } {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as { [name: string]: unknown };
  } catch {
    // not JSON
  }
  return {};
}

/** One request; the raw answer. Throws 'network' if nothing comes back. */
async function send(url: string, path: string, method: string, headers: { [name: string]: string }, body: Uint8Array | undefined, o: ClientOptions): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  let res: Response;
  try {
    res = await fetch(endpoint(url, path), { method, headers, body: body && new Uint8Array(body), signal: AbortSignal.timeout(o.timeoutMs ?? 30000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError('network', 'no answer from ' + url + ': ' + (cause?.code ?? cause?.message ?? (error as Error).message));
  }
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** One plain request (public routes and the login); the answer's JSON object. */
async function request(url: string, path: string, init: { method?: string; body?: unknown }, o: ClientOptions): Promise<Answer> {
  const headers: { [name: string]: string } = {};
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const body = init.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(init.body));
  const a = await send(url, path, init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers, body, o);
  return { status: a.status, headers: a.headers, body: jsonObject(a.bytes) };
}

/** Seconds from a 429's Retry-After header (delta-seconds), else its `retryAfter` field. */
function retryAfterOf(a: Answer): number | undefined {
  const h = a.headers.get('retry-after');
  if (h !== null && /^\d{1,9}$/.test(h)) return parseInt(h, 10);
  return typeof a.body.retryAfter === 'number' && a.body.retryAfter >= 0 ? a.body.retryAfter : undefined;
}

/** The error for an answer that is not 200. */
function refusal(a: Answer, what: string): ClientError {
  const error = typeof a.body.error === 'string' ? a.body.error : undefined;
  const reason = typeof a.body.reason === 'string' ? a.body.reason : undefined;
  const retryAfter = retryAfterOf(a);
  if (a.status === 429) return new ClientError('locked', 'locked: too many failed logins, retry after ' + (retryAfter ?? '?') + ' s', 429, error, retryAfter);
  return new ClientError('refused', what + ': ' + a.status + (error ? ' ' + error : '') + (reason ? ' (' + reason + ')' : ''), a.status, error, retryAfter);
}

export interface LoginResult {
  /** The session token: `Authorization: Bearer <token>` (public: it names the session, the channel's keys prove it). */
  token: string;
  /** True while the default password is in force: change it first (POST /api/password). */
  mustChange: boolean;
  /** Seconds a session lasts without a request. */
  expiresIn: number;
  /** The verifier's iteration count (from the server-first message). */
  iterations: number;
}

/**
 * Logs in as the device's administrator with SCRAM-SHA-256 (two POSTs to /api/login) and checks
 * the server signature. Throws a ClientError: 'locked' (429, with retryAfter), 'login-failed'
 * (401 at the second step), 'impostor' (the device's signature is wrong: it does not hold the
 * verifier), 'protocol', 'network' or 'refused' (e.g. 503 no-default-password).
 */
export async function login(url: string, password: string, setupKey: Uint8Array, o: ClientOptions = {}): Promise<Session> {
  // 24 random bytes, base64: a 32-character nonce of RFC 5802's printable characters (no ",").
  const client = scramClient(nodeScramCrypto, SCRAM_USER, scramPassword(nodeScramCrypto, setupKey, password), randomBytes(24).toString('base64'), o.maxIterations ?? Scram.MAX_ITERATIONS);
  const first = await request(url, '/api/login', { body: { scram: client.first } }, o);
  if (first.status !== 200) throw refusal(first, 'login');
  const serverFirst = first.body.scram;
  if (typeof serverFirst !== 'string') throw new ClientError('protocol', 'login: the device did not answer with a SCRAM server-first message', 200);
  const final = client.final(serverFirst);
  if (typeof final !== 'string') throw new ClientError('protocol', 'login: the device\'s server-first message is refused: ' + final.error, 200);
  const iterations = parseInt(/,i=(\d+)$/.exec(serverFirst)![1]!, 10);
  const second = await request(url, '/api/login', { body: { scram: final } }, o);
  if (second.status === 401) {
    throw new ClientError('login-failed', 'login failed', 401, typeof second.body.error === 'string' ? second.body.error : undefined, retryAfterOf(second));
  }
  if (second.status !== 200) throw refusal(second, 'login');
  const b = second.body;
  // The signature first: a device that cannot sign has not seen the password's verifier, so
  // nothing else it says (its token) is worth anything.
  if (typeof b.scram !== 'string' || !client.verifyServer(b.scram)) {
    throw new ClientError('impostor', 'the device could not prove it holds the password verifier', 200);
  }
  if (typeof b.token !== 'string' || b.token.length === 0) throw new ClientError('protocol', 'login: the device sent no session token', 200);
  if (b.channel !== 1) throw new ClientError('protocol', 'login: the device speaks no admin channel this client knows (version ' + String(b.channel) + ')', 200);
  const secrets = client.secrets()!;
  const keys = channelKeys(jsCrypto, sessionSecret(nodeScramCrypto, secrets.clientKey, secrets.authMessage), setupKey, new Uint8Array(Buffer.from(b.token, 'base64')));
  return new Session(url, b.token, keys, b.mustChange === true, typeof b.expiresIn === 'number' ? b.expiresIn : 0, iterations, o);
}

/**
 * A logged-in session: every request through the admin channel. `call` protects the request
 * (sequence numbers from 0, one request at a time) and opens the answer; an answer that is not
 * protected is a refusal by the device (its `error` and `reason`), and is believed only as a
 * refusal: a 2xx that is not protected, or a protected answer that does not authenticate, throws
 * 'channel'.
 */
export class Session implements LoginResult {
  /** The next sequence number. */
  seq = 0;
  constructor(
    readonly url: string,
    readonly token: string,
    /** The channel's keys (tests read them to check a capture). */
    readonly keys: ChannelKeys,
    public mustChange: boolean,
    readonly expiresIn: number,
    readonly iterations: number,
    private readonly o: ClientOptions,
  ) {}

  /**
   * A protected request; the answer's status and JSON object. With `raw` (routes that take public
   * bytes, such as an update package's chunks), `body` is protected in the Hoshi-Channel header and
   * `raw` is sent as the body, as it is.
   */
  async call(method: string, path: string, body?: unknown, raw?: Uint8Array): Promise<Answer> {
    const seq = this.seq++;
    const plain = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
    // The channel binds the path without its query (docs/formats/channel.md), as the device opens it.
    const message = protectRequest(jsCrypto, this.keys, seq, method + ' ' + path.replace(/\?.*$/, ''), plain);
    const headers: { [name: string]: string } = { Authorization: 'Bearer ' + this.token };
    const get = method === 'GET' || method === 'HEAD' || raw !== undefined;
    if (get) headers[CHANNEL_HEADER] = Buffer.from(message).toString('base64');
    else headers['Content-Type'] = COSE_ENCRYPT0;
    if (raw) headers['Content-Type'] = 'application/octet-stream';
    const a = await send(this.url, path, method, headers, raw ?? (get ? undefined : message), this.o);
    if (!(a.headers.get('content-type') ?? '').startsWith('application/cose')) {
      if (a.status < 300) throw new ClientError('channel', method + ' ' + path + ': the device answered ' + a.status + ' without protection', a.status);
      return { status: a.status, headers: a.headers, body: jsonObject(a.bytes) };
    }
    const d = decodeProtected(a.bytes, false);
    const opened = typeof d === 'string' ? undefined : openAnswer(jsCrypto, this.keys, pivOf(seq), a.status, d[1]);
    if (!opened) throw new ClientError('channel', method + ' ' + path + ': the answer does not authenticate' + (typeof d === 'string' ? ' (' + d + ')' : ''), a.status);
    return { status: a.status, headers: a.headers, body: jsonObject(opened) };
  }

  /** GET /api/session: the session's state. */
  async state(): Promise<{ access: string; mustChange: boolean; expiresIn: number }> {
    const a = await this.call('GET', '/api/session');
    if (a.status !== 200) throw refusal(a, 'GET /api/session');
    return { access: String(a.body.access), mustChange: a.body.mustChange === true, expiresIn: Number(a.body.expiresIn) };
  }

  async logout(): Promise<void> {
    const a = await this.call('POST', '/api/logout');
    if (a.status !== 200) throw refusal(a, 'logout');
  }
}

/** The public identity of GET /api/info: what the policy keeps out of a password. */
export interface DeviceIdentity {
  model: string;
  vendor: string;
  serial: string | null;
}

export async function deviceInfo(url: string, o: ClientOptions = {}): Promise<DeviceIdentity & { [name: string]: unknown }> {
  const a = await request(url, '/api/info', {}, o);
  if (a.status !== 200) throw refusal(a, 'GET /api/info');
  if (typeof a.body.model !== 'string' || typeof a.body.vendor !== 'string') throw new ClientError('protocol', 'GET /api/info: no model or vendor', 200);
  return { ...a.body, model: a.body.model, vendor: a.body.vendor, serial: typeof a.body.serial === 'string' ? a.body.serial : null };
}

/** GET /api/password/policy. */
export async function passwordPolicy(url: string, o: ClientOptions = {}): Promise<{ minLength: number; maxLength: number }> {
  const a = await request(url, '/api/password/policy', {}, o);
  if (a.status !== 200) throw refusal(a, 'GET /api/password/policy');
  const { minLength, maxLength } = a.body;
  if (typeof minLength !== 'number' || typeof maxLength !== 'number') throw new ClientError('protocol', 'GET /api/password/policy: no minLength or maxLength', 200);
  return { minLength, maxLength };
}

/**
 * The policy's verdict on `password` for a device of `identity`, checked on the host (the device
 * checks again): `common` is the full common-password list's lookup when the host has it.
 */
export function checkNewPassword(password: string, identity: DeviceIdentity, minLength: number, common?: (lowerCase: string) => boolean): PolicyRefusal | undefined {
  const ids = [identity.model, identity.vendor];
  if (identity.serial) ids.push(identity.serial);
  return checkPassword(password, { minLength, identity: ids, common });
}

/**
 * Sets a new password (POST /api/password through the session's channel): the device gets the
 * password, which it checks against its policy, and the verifier of its pre-hash with the setup key
 * made here with a fresh salt. Every session ends on success. Throws a ClientError 'refused' with
 * the device's `error` (`password-common`, `password-default`, …) and reason.
 */
export async function changePassword(session: Session, setupKey: Uint8Array, newPassword: string, o: { iterations?: number } = {}): Promise<void> {
  const v = newVerifier(scramPassword(nodeScramCrypto, setupKey, newPassword), o.iterations ?? DEFAULT_ITERATIONS);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const a = await session.call('POST', '/api/password', { password: newPassword, salt: b64(v.salt), iterations: v.iterations, storedKey: b64(v.storedKey), serverKey: b64(v.serverKey) });
  if (a.status !== 200 || a.body.ok !== true) throw refusal(a, 'password change refused');
}

/** The Wi-Fi state of GET /api/network/wifi. */
export type WifiState = { ssid: string | null; joined: boolean; error: { error: string; reason: string } | null; [name: string]: unknown };

/** GET /api/network/wifi through the channel. */
export async function wifiState(session: Session): Promise<WifiState> {
  const a = await session.call('GET', '/api/network/wifi');
  if (a.status !== 200) throw refusal(a, 'GET /api/network/wifi');
  return a.body as WifiState;
}

/** PUT /api/network/wifi through the channel: the home network's credentials, sealed by the device. */
export async function setWifi(session: Session, ssid: string, passphrase: string): Promise<WifiState> {
  const a = await session.call('PUT', '/api/network/wifi', { ssid, passphrase });
  if (a.status !== 200) throw refusal(a, 'Wi-Fi credentials refused');
  return a.body as WifiState;
}

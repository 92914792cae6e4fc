import type { Clock } from '../../hal/clock';
import type { CryptoProvider } from '../../hal/crypto';
import { base64Encode } from '../../firmware/device/core/base64';
import { failureCode } from '../../firmware/device/core/errors';
import { json, problem, type HttpRequest, type HttpResponse } from '../../firmware/device/core/module';
import type { UnitRandom } from '../../firmware/device/core/services';
import { channelKeys } from '../channel/channel';
import { authMessage, parseClientFinal, parseClientFirst, SCRAM_USER, serverFinalMessage, serverFirstMessage, sessionSecret, verifyProof, type ScramVerifier } from './scram';
import { Accounts, type Pending, type Session } from './state';

/**
 * `POST /api/login`, the device's side of a SCRAM login (scram.ts), with the admin channel's keys
 * made from it (docs/accounts.md). Used at each login only: on Kaluma its code is read from the
 * image's assets then (scram-code.ts). modules/accounts gives it its state (`LoginState`).
 */
export interface LoginState {
  p: CryptoProvider;
  clock: Clock;
  random: UnitRandom;
  setupKey: Uint8Array;
  sessions: Session[];
  pending: Pending[];
  idleMs: number;
  maxSessions: number;
  body(request: HttpRequest): { [name: string]: unknown } | undefined;
  /** The verifier in force: the user's, else the label's default. */
  verifier(): ScramVerifier;
  /** A new session must change the password first (the default is in force). */
  mustChange(): boolean;
  /** Seconds until `remote` may try again (0: now). */
  retryAfter(remote: string): number;
  refuse401(reason: string): HttpResponse;
  /** Counts a failure before the proof is checked (throws if the store cannot); the source's entry. */
  count(remote: string, now: number): [string, number, number] | undefined;
  /** The proof held: the counts go back to zero (and the security log records the login). */
  passed(entry: [string, number, number] | undefined, remote: string): void;
  /** The proof failed: the security log records it, and the lockout if one starts. */
  refused(remote: string): void;
}

export function login(request: HttpRequest, reply: (response: HttpResponse) => void, a: LoginState): void {
  const body = a.body(request);
  const message = body && body.scram;
  const first = typeof message !== 'string' || message.charAt(0) === 'c' ? undefined : parseClientFirst(message);
  const final = typeof message === 'string' && first === undefined ? parseClientFinal(message) : undefined;
  const bad = typeof message !== 'string' ? 'the body must be {"scram": message}' : typeof first === 'string' ? first : typeof final === 'string' ? final : undefined;
  if (bad) return reply(problem(400, 'bad-login', bad));
  const wait = a.retryAfter(request.remote);
  if (wait > 0) {
    const r = json(429, { error: 'locked', reason: 'too many failed logins: try again in ' + wait + ' s', retryAfter: wait });
    r.headers!['Retry-After'] = String(wait);
    return reply(r);
  }
  const now = a.clock.now();
  const v = a.verifier();
  const pending = a.pending;
  if (first && typeof first !== 'string') {
    // One draw for the server nonce and the session token (a DRBG draw costs a Pico about a second).
    const drawn = a.random.bytes(Accounts.NONCE_BYTES + Accounts.TOKEN_BYTES);
    const nonce = first.nonce + base64Encode(drawn.subarray(0, Accounts.NONCE_BYTES));
    const serverFirst = serverFirstMessage(nonce, v.salt, v.iterations);
    if (pending.length >= Accounts.PENDING) pending.shift();
    pending.push({ nonce: nonce, bare: first.bare, serverFirst: serverFirst, when: now, unknownUser: first.user !== SCRAM_USER, token: drawn.subarray(Accounts.NONCE_BYTES) });
    return reply(json(200, { scram: serverFirst }));
  }
  if (!final || typeof final === 'string') return;
  let started: Pending | undefined;
  for (let i = 0; i < pending.length; i++) if (pending[i].nonce === final.nonce) started = pending.splice(i, 1)[0];
  const failed = (): void => {
    const r = a.refuse401('');
    r.body = JSON.stringify({ error: 'login-failed', reason: 'wrong password, or the login is unknown or expired', retryAfter: a.retryAfter(request.remote) });
    reply(r);
  };
  // An unknown, replayed or expired nonce is the same failure, not counted: no proof is checked.
  if (!started || now - started.when > Accounts.PENDING_MS) return failed();
  // The failure is stored before the proof is checked: a power cut during the check never forgets it.
  let e: [string, number, number] | undefined;
  try {
    e = a.count(request.remote, now);
  } catch (error) {
    if (!failureCode(error)) throw error;
    return reply(problem(503, 'store-failed', 'the login cannot be counted: ' + (error as Error).message));
  }
  const m = authMessage(started.bare, started.serverFirst, final.withoutProof);
  const clientKey = started.unknownUser ? undefined : verifyProof(a.p, v.storedKey, m, final.proof);
  if (!clientKey) {
    a.refused(request.remote);
    return failed();
  }
  a.passed(e, request.remote);
  const token = started.token;
  const mustChange = a.mustChange();
  const sessions = a.sessions;
  if (sessions.length >= a.maxSessions) sessions.shift();
  sessions.push({ token: token, created: now, used: now, mustChange: mustChange, keys: channelKeys(a.p, sessionSecret(a.p, clientKey, m), a.setupKey, token), seq: -1 });
  reply(json(200, { scram: serverFinalMessage(a.p, v.serverKey, m), token: base64Encode(token), expiresIn: a.idleMs / 1000, mustChange: mustChange, channel: 1 }));
}

/** What the accounts module loads on demand for a login. */
export const scramServer = { login: login };

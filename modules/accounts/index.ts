import { Asset } from '../../firmware/device/core/assets';
import { message } from '../../firmware/device/core/messages';
import { asciiBytes, bytesAscii, putU32, u32, utf8Bytes } from '../../firmware/device/core/bytes';
import { base64Decode } from '../../firmware/device/core/base64';
import type { Pin } from '../../hal/io';
import { json, problem, type Access, type HoshiModule, type HttpRequest, type HttpResponse, type ModuleContext, type RequestHeadView, type Route, type RouteHandler } from '../../firmware/device/core/module';
import { constantTimeEqual } from '../crypto/compare';
import { MAX_PASSWORD } from './policy';
import { Accounts, type Pending, type Session } from './state';
import type { LoginState } from './scram-server';
import { passwordCheck } from './password-code';
import { Scram, type ScramVerifier } from './scram';
import { scramCode } from './scram-code';
import { CHANNEL_HEADER, COSE_ENCRYPT0, decodeProtected, openRequest, protectAnswer, seqOf } from '../channel/channel';
import { Lock, lockWait } from './lockout';

/** Store keys: the user's verifier (sealed) and the failed-login count (plain: not secret, and a sealed write costs a Pico seconds). */
export const VERIFIER_KEY = 'acct.verifier';
export const FAILS_KEY = 'acct.fails';


export interface AccountsOptions {
  /** Force a new password at the first login with the default (★1 S1.1-02's second option). Default true. */
  forceChange?: boolean;
  /** Shortest password a user may set; at least 8 (the default). */
  minLength?: number;
  /** A session ends after this long without a request, minutes (default 15). */
  idleMinutes?: number;
  /** A session ends this long after login whatever its use, minutes (default 480). */
  maxMinutes?: number;
  /** Sessions at once (default 4); a new login ends the oldest beyond it. */
  maxSessions?: number;
  /**
   * Per board, a button to ground that clears every lockout when held for 3 s while the device runs
   * (the owner's way back in during an attack; docs/accounts.md). Boards without one: lockouts expire.
   */
  clearButton?: { [board: string]: Pin };
}

/** The stored form of a verifier (Accounts.VERIFIER_MAX at most). */
export function encodeVerifier(v: ScramVerifier): Uint8Array {
  const out = new Uint8Array(5 + v.salt.length + 64);
  putU32(out, 0, v.iterations);
  out[4] = v.salt.length;
  out.set(v.salt, 5);
  out.set(v.storedKey, 5 + v.salt.length);
  out.set(v.serverKey, 37 + v.salt.length);
  return out;
}

/** The verifier in `b`, or undefined if it is not one (stored bytes are untrusted). */
export function decodeVerifier(b: Uint8Array): ScramVerifier | undefined {
  if (b.length < 5) return undefined;
  const n = b[4];
  const iterations = u32(b, 0);
  if (n < Scram.MIN_SALT || n > Scram.MAX_SALT || b.length !== 5 + n + 64 || iterations < Scram.MIN_ITERATIONS || iterations > Scram.MAX_ITERATIONS) return undefined;
  return { iterations: iterations, salt: b.slice(5, 5 + n), storedKey: b.slice(5 + n, 37 + n), serverKey: b.slice(37 + n, 69 + n) };
}

/** The JSON object of a request body, or undefined. */
function bodyObject(request: HttpRequest): { [name: string]: unknown } | undefined {
  try {
    const v = JSON.parse(bytesAscii(request.body));
    return v !== null && typeof v === 'object' && !(v instanceof Array) ? v : undefined;
  } catch (e) {
    return undefined;
  }
}

/** The session token of an `Authorization: Bearer` header, as bytes, or undefined. */
function bearer(headers: { [name: string]: string }): Uint8Array | undefined {
  const h = headers['authorization'];
  if (!h || h.length < 8 || h.substring(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const t = base64Decode(h.substring(7));
  return t && t.length === Accounts.TOKEN_BYTES ? t : undefined;
}

/**
 * accounts: the device's one administrator account (S1.1-01 … S1.1-04); docs/accounts.md.
 * - Login by SCRAM-SHA-256 in two POSTs to /api/login; the device stores the verifier only.
 * - Sessions in RAM (a reboot ends them): a 144-bit token from the unit's DRBG, idle and absolute
 *   expiry, logout; every session ends when the password changes.
 * - The default password's verifier comes from the provisioning record (version 2); while it is in
 *   force (and `forceChange`), a session reaches only its own routes: the change comes first.
 * - Lockout (modules/accounts/lockout.ts): each failed login is counted in the store before the
 *   proof is checked; growing delays, then lockouts up to an hour; per source and for the device.
 * - The access guard: every non-public route needs a live session, and takes only requests
 *   protected by the session's admin channel (modules/channel; docs/formats/channel.md): a
 *   COSE_Encrypt0 in the body (in the Hoshi-Channel header for GET), opened before the route sees
 *   it, its sequence number above every one accepted before; the answer is protected the same way.
 *   A plain, malformed, replayed, reordered or forged request is refused with a reason (400
 *   `channel-required`, `channel-malformed`, `channel-replayed`, `channel-unauthentic`) and changes
 *   nothing, not even the session's idle time.
 */
export let accounts = function (options?: AccountsOptions): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) accounts = undefined as never;
  const o = options || {};
  const forceChange = o.forceChange !== false;
  const minLength = o.minLength || 8;
  if (minLength < 8 || minLength > MAX_PASSWORD) throw new Error('accounts: minLength must be 8..64');
  const idleMs = (o.idleMinutes || 15) * 60000;
  const maxMs = (o.maxMinutes || 480) * 60000;
  const maxSessions = o.maxSessions || 4;
  return {
    name: 'accounts',
    reserve: [
      { key: VERIFIER_KEY, bytes: Accounts.VERIFIER_MAX, sealed: true },
      { key: FAILS_KEY, bytes: 4, sealed: false },
    ],
    // The failure counter is the device's defence, not the user's data: a wipe keeps it, so a wipe
    // is no way around the lockout (the password goes back to the label's, with the forced change).
    keeps: [FAILS_KEY],
    start: (context: ModuleContext): void => {
      const record = context.provisioning;
      const p = context.board.crypto;
      const clock = context.board.clock;
      const store = context.store;
      const assets = context.assets;
      const realm = 'realm="' + context.config.model + '"';
      const refuse401 = (reason: string): HttpResponse => {
        const r = problem(401, 'unauthenticated', reason);
        r.headers!['WWW-Authenticate'] = 'SCRAM-SHA-256 ' + realm + ', Bearer ' + realm;
        return r;
      };
      const route = (method: string, path: string, access: Access, handler: RouteHandler): void => context.route({ method: method, path: path, access: access, handler: handler });
      route('GET', '/api/password/policy', 'public', (_q, reply) => reply(json(200, { minLength: minLength, maxLength: MAX_PASSWORD })));
      // The filter in slices of at most 4 KB (password-check.ts: code loaded on demand on Kaluma).
      route('GET', '/api/password/common', 'public', (q, reply) => reply(passwordCheck(assets, Asset.CODE_PASSWORD_CHECK).commonSlice(q.headers['range'] || '', assets)));

      const defaultVerifier = record && record.verifier;
      const setupKey = record && record.setupKey;
      const keys = context.keys;
      const random = context.random;
      if (!defaultVerifier || !setupKey || !keys || !random) {
        // A record older than version 3 (or none): without a default password or a setup key no
        // admin channel can exist, so nothing but public routes is served.
        const v1 = !defaultVerifier;
        const why = 'no ' + (v1 ? 'default password' : 'setup key') + message(' on this unit (provisioning record version ') + (v1 ? 1 : 2) + message('): re-provision it');
        console.log('[accounts] ' + why);
        context.guard(() => refuse401(why));
        route('POST', '/api/login', 'public', (_q, reply) => reply(problem(503, v1 ? 'no-default-password' : 'no-setup-key', why)));
        return;
      }

      // The verifier in force: the user's from the store, else the default from the record.
      const stored = store.read(VERIFIER_KEY);
      let userVerifier = stored.ok ? decodeVerifier(stored.value) : undefined;
      if (!userVerifier && (stored.ok || stored.reason !== 'absent')) console.log('[accounts] stored password refused: default in force');

      const failsStored = store.get(FAILS_KEY);
      let fails = failsStored && failsStored.length === 4 ? u32(failsStored, 0) : 0;
      // After a reboot the current wait starts again: cutting the power never shortens it.
      let lastFail = clock.now();
      /** Per source address (RAM): [address, failures, time of the last]. */
      const sources: [string, number, number][] = [];
      const sessions: Session[] = [];
      const pending: Pending[] = [];

      /** The entry of a source address, or undefined where the runtime gives none (Kaluma on a Pico W: 0.0.0.0). */
      const source = (address: string, add: boolean): [string, number, number] | undefined => {
        if (address === '' || address === '0.0.0.0') return undefined;
        for (let i = 0; i < sources.length; i++) if (sources[i][0] === address) return sources[i];
        if (!add) return undefined;
        if (sources.length >= Lock.SOURCES) sources.shift();
        const e: [string, number, number] = [address, 0, 0];
        sources.push(e);
        return e;
      };
      /** Seconds until `address` may try again (0: now): the longer of its own wait and the device's. */
      const retryAfter = (address: string): number => {
        const now = clock.now();
        const known = address !== '' && address !== '0.0.0.0';
        const e = source(address, false);
        // Without a source address the device's count is the only one, on the per-source schedule.
        const own = known ? (e ? e[2] + lockWait(e[1]) * 1000 : 0) : lastFail + lockWait(fails) * 1000;
        const all = lastFail + lockWait(fails - Lock.GLOBAL_FREE) * 1000;
        const wait = (own > all ? own : all) - now;
        return wait > 0 ? Math.ceil(wait / 1000) : 0;
      };
      const setFails = (n: number): void => {
        const b = new Uint8Array(4);
        putU32(b, 0, n);
        store.set(FAILS_KEY, b);
        fails = n;
      };

      const button = o.clearButton && o.clearButton[context.board.name];
      const read = context.board.io.read;
      if (button !== undefined && read) {
        let held = 0;
        context.every(Accounts.BUTTON_POLL_MS, () => {
          held = read(button) ? 0 : held + 1;
          if (held !== Accounts.BUTTON_HOLD) return;
          setFails(0);
          sources.splice(0, sources.length);
          console.log('[accounts] lockouts cleared by the button');
          context.event('lockout-cleared', 'button');
        });
      }

      /** The live session of a request's Bearer token (its idle time is renewed by the channel, once a request authenticates). */
      const findSession = (headers: { [name: string]: string }): Session | undefined => {
        const t = bearer(headers);
        const now = clock.now();
        let found: Session | undefined;
        for (let i = sessions.length - 1; i >= 0; i--) {
          const s = sessions[i];
          if (now - s.used > idleMs || now - s.created > maxMs) sessions.splice(i, 1);
          else if (t && constantTimeEqual(s.token, t)) found = s;
        }
        return found;
      };

      /** The route `r` behind session `s`'s channel: opens the request, protects the answer. */
      const channel = (s: Session, r: Route): RouteHandler => (q, reply) => {
        // GET has no body, and a raw route's body is not protected: the protected request is in the header.
        const get = q.method === 'GET' || q.method === 'HEAD' || r.raw === true;
        const header = q.headers[CHANNEL_HEADER];
        const carried = get ? base64Decode(header || '') : q.body;
        const d = carried && carried.length ? decodeProtected(carried, true) : header ? message('the Hoshi-Channel header is not base64') : message('no protected request');
        if (typeof d === 'string') {
          const plain = get ? !header : !carried || carried[0] !== 0xd0;
          return reply(problem(400, plain ? 'channel-required' : 'channel-malformed', plain ? 'this route takes only requests protected by the admin channel (docs/formats/channel.md)' + (get ? ', in the Hoshi-Channel header' : '') : d));
        }
        // Authenticity first: only the session's own client learns where its sequence stands.
        const body = openRequest(p, s.keys, d[0], q.method + ' ' + q.path, d[1]);
        if (!body) return reply(problem(400, 'channel-unauthentic', 'the request does not authenticate under this session\'s keys: altered, truncated, or protected for another session, route or direction'));
        const seq = seqOf(d[0]);
        if (seq <= s.seq) return reply(problem(400, 'channel-replayed', 'sequence number ' + seq + ' is not above ' + s.seq + ', the last accepted: replayed or reordered'));
        s.seq = seq;
        s.used = clock.now();
        r.handler({ method: q.method, path: q.path, query: q.query, headers: q.headers, body: r.raw ? q.body : body, sealed: r.raw ? body : undefined, remote: q.remote }, (a) => {
          const h = a.headers || {};
          h['Content-Type'] = COSE_ENCRYPT0;
          reply({ status: a.status, headers: h, body: protectAnswer(p, s.keys, d[0], a.status, typeof a.body === 'string' ? utf8Bytes(a.body) : a.body || new Uint8Array(0)) });
        });
      };

      context.guard((head: RequestHeadView, r: Route): HttpResponse | RouteHandler => {
        const s = findSession(head.headers);
        if (!s) return refuse401(head.headers['authorization'] ? 'the session has ended or expired' : 'log in first (POST /api/login)');
        // While the default is in force a session reaches its own routes only: the change comes first.
        if (s.mustChange && r.path !== '/api/session' && r.path !== '/api/logout' && r.path !== '/api/password') {
          return problem(403, 'password-change-required', 'change the default password first (POST /api/password)');
        }
        return channel(s, r);
      });

      // The login (scram-server.ts: code read from the assets on demand on Kaluma), with what it
      // needs of this module's state.
      const login: LoginState = {
        p: p,
        clock: clock,
        random: random,
        setupKey: setupKey,
        sessions: sessions,
        pending: pending,
        idleMs: idleMs,
        maxSessions: maxSessions,
        body: bodyObject,
        verifier: () => userVerifier || defaultVerifier,
        mustChange: () => forceChange && !userVerifier,
        retryAfter: retryAfter,
        refuse401: refuse401,
        // The failure is stored before the proof is checked: a power cut during the check never forgets it.
        count: (remote: string, now: number) => {
          setFails(fails + 1);
          lastFail = now;
          const e = source(remote, true);
          if (e) {
            e[1]++;
            e[2] = now;
          }
          return e;
        },
        passed: (e: [string, number, number] | undefined, remote: string) => {
          setFails(0);
          if (e) e[1] = 0;
          context.event('login', remote);
        },
        // A 429 is not recorded (an attacker could fill the log with them); a failure is, and the
        // lockout it starts: both are bounded by the lockout itself.
        refused: (remote: string) => {
          context.event('login-failed', remote + ' ' + fails);
          const wait = retryAfter(remote);
          if (wait > 0) context.event('lockout', remote + ' ' + wait + 's');
        },
      };
      route('POST', '/api/login', 'public', (request, reply) => scramCode(assets, Asset.CODE_SCRAM).login(request, reply, login));

      // The guard has found the session of these; they look it up again for themselves.
      route('GET', '/api/session', 'user', (request, reply) => {
        const s = findSession(request.headers);
        reply(s ? json(200, { access: 'admin', mustChange: s.mustChange, expiresIn: idleMs / 1000 }) : refuse401('the session has ended'));
      });
      route('POST', '/api/logout', 'user', (request, reply) => {
        const s = findSession(request.headers);
        if (s) sessions.splice(sessions.indexOf(s), 1);
        reply(json(200, { ok: true }));
      });
      route('POST', '/api/password', 'admin', (request, reply) => {
        // The checks (password-check.ts) are code loaded on demand on Kaluma.
        const v = passwordCheck(assets, Asset.CODE_PASSWORD_CHECK).change(
          bodyObject(request),
          {
            minLength: minLength,
            identity: [context.config.model, context.config.vendor, record.serial],
            isDefault: (pw: string) => record.defaultCheck !== undefined && constantTimeEqual(p.hmacSha256(keys.key('default-password'), asciiBytes(pw)), record.defaultCheck),
          },
          assets,
          p.sha256,
        );
        if (!('salt' in v)) return reply(v);
        // One write: after a power cut the store holds the old verifier or the new one, never neither.
        store.set(VERIFIER_KEY, encodeVerifier(v), true);
        userVerifier = v;
        context.event('password', request.remote);
        sessions.splice(0, sessions.length);
        pending.splice(0, pending.length);
        reply(json(200, { ok: true }));
      });
    },
  };
};

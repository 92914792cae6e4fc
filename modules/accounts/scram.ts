import type { CryptoProvider } from '../../hal/crypto';
import { asciiBytes } from '../../firmware/device/core/bytes';
import { base64Decode, base64Encode } from '../../firmware/device/core/base64';
import { constantTimeEqual } from '../crypto/compare';

/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's SHA-256), both ends, without channel binding ("n,,").
 * The device keeps the verifier only (salt, iteration count, StoredKey, ServerKey): nothing it
 * stores logs in by itself, and the slow key stretching (PBKDF2, "Hi") is done by the client.
 * The messages are RFC 5802's byte for byte; docs/accounts.md says how HTTP carries them.
 * Passwords are printable ASCII (the policy's rule), which SASLprep (RFC 4013) leaves unchanged,
 * so the client uses the password's bytes as they are.
 */

/** The one account's name (the device has one administrator). */
export const SCRAM_USER = 'admin';
export const GS2_HEADER = 'n,,';
/** base64("n,,"): the channel-binding attribute of a client-final message without channel binding. */
export const CHANNEL_BINDING = 'biws';

/** What the device stores for a password: RFC 5802 §3. */
export interface ScramVerifier {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** Limits on what a verifier and a nonce may be (a const enum: the values are written into the code). */
export const enum Scram {
  /** RFC 7677 §4 asks for at least 4096; Hoshi's host tools default far higher (docs/accounts.md). */
  MIN_ITERATIONS = 4096,
  /** More than a client can afford: a verifier asking more is refused (it would lock its owner out). */
  MAX_ITERATIONS = 10000000,
  MIN_SALT = 16,
  MAX_SALT = 64,
  MIN_NONCE = 16,
  MAX_NONCE = 64,
  KEY = 32,
}

/** True if `nonce` is RFC 5802's printable (0x21..0x7E except ",") and of a sensible length. */
export function nonceOk(nonce: string, min: number): boolean {
  if (nonce.length < min || nonce.length > Scram.MAX_NONCE * 2) return false;
  for (let i = 0; i < nonce.length; i++) {
    const c = nonce.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2c) return false;
  }
  return true;
}

/** The attribute `name` ("r", "s", …) of a message's comma-separated list, at position `index`, or undefined. */
function attribute(parts: string[], index: number, name: string): string | undefined {
  const p = parts[index];
  return p !== undefined && p.length >= 2 && p.charAt(0) === name && p.charAt(1) === '=' ? p.substring(2) : undefined;
}

/** A parsed client-first message: its bare part (in the AuthMessage), user name and client nonce. */
export interface ClientFirst {
  bare: string;
  user: string;
  nonce: string;
}

/** RFC 5802 §7 client-first-message, strictly: "n,," gs2 header, "n=" user, "r=" nonce, no extensions. Returns the reason otherwise. */
export function parseClientFirst(message: string): ClientFirst | string {
  if (message.indexOf(GS2_HEADER) !== 0) {
    return message.charAt(0) === 'p' || message.charAt(0) === 'y' ? 'channel binding is not offered' : 'not a client-first message ("n,,n=…,r=…")';
  }
  const bare = message.substring(GS2_HEADER.length);
  const parts = bare.split(',');
  const user = attribute(parts, 0, 'n');
  const nonce = attribute(parts, 1, 'r');
  if (parts.length !== 2 || user === undefined || nonce === undefined) return 'not a client-first message ("n,,n=…,r=…")';
  if (!nonceOk(nonce, Scram.MIN_NONCE)) return 'the client nonce must be 16-128 printable characters without ","';
  return { bare: bare, user: user, nonce: nonce };
}

/** RFC 5802 server-first-message. */
export function serverFirstMessage(nonce: string, salt: Uint8Array, iterations: number): string {
  return 'r=' + nonce + ',s=' + base64Encode(salt) + ',i=' + iterations;
}

/** A parsed client-final message. */
export interface ClientFinal {
  /** client-final-message-without-proof (in the AuthMessage). */
  withoutProof: string;
  nonce: string;
  proof: Uint8Array;
}

/** RFC 5802 client-final-message, strictly: "c=biws,r=…,p=…" with a 32-byte proof. Returns the reason otherwise. */
export function parseClientFinal(message: string): ClientFinal | string {
  const parts = message.split(',');
  const binding = attribute(parts, 0, 'c');
  const nonce = attribute(parts, 1, 'r');
  const proof64 = attribute(parts, 2, 'p');
  if (parts.length !== 3 || binding === undefined || nonce === undefined || proof64 === undefined) return 'not a client-final message ("c=biws,r=…,p=…")';
  if (binding !== CHANNEL_BINDING) return 'channel binding must be "biws" (none)';
  const proof = base64Decode(proof64);
  if (!proof) return 'the proof is not base64';
  if (proof.length !== Scram.KEY) return 'the proof must be 32 bytes';
  return { withoutProof: 'c=' + binding + ',r=' + nonce, nonce: nonce, proof: proof };
}

/** RFC 5802 §3 AuthMessage. */
export function authMessage(clientFirstBare: string, serverFirst: string, clientFinalWithoutProof: string): Uint8Array {
  return asciiBytes(clientFirstBare + ',' + serverFirst + ',' + clientFinalWithoutProof);
}

/**
 * The device's check of a ClientProof: ClientKey = ClientProof ⊕ HMAC(StoredKey, AuthMessage) must
 * hash to StoredKey. Returns ClientKey when it does (the session key is derived from it), else
 * undefined. The comparison is constant-time.
 */
export function verifyProof(p: CryptoProvider, storedKey: Uint8Array, message: Uint8Array, proof: Uint8Array): Uint8Array | undefined {
  const signature = p.hmacSha256(storedKey, message);
  const clientKey = new Uint8Array(Scram.KEY);
  for (let i = 0; i < Scram.KEY; i++) clientKey[i] = proof[i] ^ signature[i];
  return constantTimeEqual(p.sha256(clientKey), storedKey) ? clientKey : undefined;
}

/** RFC 5802 server-final-message: "v=" ServerSignature. */
export function serverFinalMessage(p: CryptoProvider, serverKey: Uint8Array, message: Uint8Array): string {
  return 'v=' + base64Encode(p.hmacSha256(serverKey, message));
}

// ---- the client's side (host tools, the admin page, tests) ----

/** What a client needs besides HMAC and SHA-256: PBKDF2-HMAC-SHA-256 ("Hi"). */
export interface ScramClientCrypto {
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
}

/** SaltedPassword → ClientKey, StoredKey, ServerKey (RFC 5802 §3). */
export function scramKeys(c: ScramClientCrypto, password: string, salt: Uint8Array, iterations: number): { clientKey: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array } {
  const salted = c.pbkdf2Sha256(asciiBytes(password), salt, iterations, Scram.KEY);
  const clientKey = c.hmacSha256(salted, asciiBytes('Client Key'));
  return { clientKey: clientKey, storedKey: c.sha256(clientKey), serverKey: c.hmacSha256(salted, asciiBytes('Server Key')) };
}

/** The verifier of `password` under `salt` and `iterations`. */
export function scramVerifier(c: ScramClientCrypto, password: string, salt: Uint8Array, iterations: number): ScramVerifier {
  const k = scramKeys(c, password, salt, iterations);
  return { salt: salt, iterations: iterations, storedKey: k.storedKey, serverKey: k.serverKey };
}

/** A client's login in progress. */
export interface ScramClient {
  /** client-first-message. */
  first: string;
  /** From the server-first message: the client-final message, or why the server's message is refused. */
  final(serverFirst: string): string | { error: string };
  /** True if the server-final message proves the server holds the verifier (call after `final`). */
  verifyServer(serverFinal: string): boolean;
  /** ClientKey and AuthMessage of the exchange (after `final`): the session key's inputs. */
  secrets(): { clientKey: Uint8Array; authMessage: Uint8Array } | undefined;
}

/**
 * Starts a login as `user` with `password`. `clientNonce` must come from a CSPRNG (at least 16
 * printable characters). `maxIterations` bounds what the client will compute for a server.
 */
export function scramClient(c: ScramClientCrypto, user: string, password: string, clientNonce: string, maxIterations = Scram.MAX_ITERATIONS): ScramClient {
  if (!nonceOk(clientNonce, Scram.MIN_NONCE)) throw new RangeError('scram: the client nonce must be 16+ printable characters without ","');
  const bare = 'n=' + user + ',r=' + clientNonce;
  let message: Uint8Array | undefined;
  let serverKey: Uint8Array | undefined;
  let clientKey: Uint8Array | undefined;
  return {
    first: GS2_HEADER + bare,
    final: (serverFirst: string): string | { error: string } => {
      const parts = serverFirst.split(',');
      const nonce = attribute(parts, 0, 'r');
      const salt64 = attribute(parts, 1, 's');
      const iterText = attribute(parts, 2, 'i');
      if (parts.length !== 3 || nonce === undefined || salt64 === undefined || iterText === undefined) return { error: 'not a server-first message' };
      if (nonce.indexOf(clientNonce) !== 0 || !nonceOk(nonce, clientNonce.length + Scram.MIN_NONCE)) return { error: 'the server nonce does not extend the client nonce' };
      const salt = base64Decode(salt64);
      if (!salt || salt.length < Scram.MIN_SALT || salt.length > Scram.MAX_SALT) return { error: 'the salt is not 16-64 bytes of base64' };
      const iterations = /^[1-9][0-9]{0,8}$/.test(iterText) ? parseInt(iterText, 10) : 0;
      if (iterations < Scram.MIN_ITERATIONS || iterations > maxIterations) return { error: 'the iteration count is outside ' + Scram.MIN_ITERATIONS + '..' + maxIterations };
      const keys = scramKeys(c, password, salt, iterations);
      const withoutProof = 'c=' + CHANNEL_BINDING + ',r=' + nonce;
      message = authMessage(bare, serverFirst, withoutProof);
      const signature = c.hmacSha256(keys.storedKey, message);
      const proof = new Uint8Array(Scram.KEY);
      for (let i = 0; i < Scram.KEY; i++) proof[i] = keys.clientKey[i] ^ signature[i];
      serverKey = keys.serverKey;
      clientKey = keys.clientKey;
      return withoutProof + ',p=' + base64Encode(proof);
    },
    verifyServer: (serverFinal: string): boolean => {
      if (!message || !serverKey || serverFinal.indexOf('v=') !== 0) return false;
      const given = base64Decode(serverFinal.substring(2));
      return given !== undefined && constantTimeEqual(given, c.hmacSha256(serverKey, message));
    },
    secrets: () => (clientKey && message ? { clientKey: clientKey, authMessage: message } : undefined),
  };
}

/**
 * The session's secret from a finished exchange: HKDF-Extract (RFC 5869 §2.2) with the full
 * AuthMessage as salt and ClientKey as input keying material, 32 bytes. Both ends can compute it;
 * an eavesdropper who lacks ClientKey cannot. It is the admin channel's Master Secret
 * (modules/channel/channel.ts), whose Master Salt is the unit's setup key.
 */
export function sessionSecret(c: { hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array }, clientKey: Uint8Array, message: Uint8Array): Uint8Array {
  return c.hmacSha256(message, clientKey);
}

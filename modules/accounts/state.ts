import type { ChannelKeys } from '../channel/channel';

/**
 * What modules/accounts shares with the code it reads from the assets on demand (scram-server.ts,
 * password-check.ts): its numbers and the shapes of its sessions and pending logins. Types and a
 * const enum only: nothing here is code.
 */

/** The module's numbers (a const enum: the bundler writes the values into the code). */
export const enum Accounts {
  /** Bytes of a server nonce (base64: 24 characters) and of a session token (144 bits). */
  NONCE_BYTES = 18,
  TOKEN_BYTES = 18,
  /** Logins between their two steps, at most; the oldest is dropped for a new one. */
  PENDING = 2,
  /** A login's second step must come within this, ms. */
  PENDING_MS = 30000,
  /** Stored verifier: iterations (4), salt length (1), salt, StoredKey (32), ServerKey (32). */
  VERIFIER_MAX = 4 + 1 + 64 + 32 + 32,
  /** The clear button is read this often, ms, and must be held this many reads in a row (3 s). */
  BUTTON_POLL_MS = 250,
  BUTTON_HOLD = 12,
}

export interface Session {
  token: Uint8Array;
  created: number;
  used: number;
  mustChange: boolean;
  /** The admin channel's keys (modules/channel), from the login and the unit's setup key. */
  keys: ChannelKeys;
  /** The highest sequence number accepted from the client (-1: none yet). */
  seq: number;
}

export interface Pending {
  nonce: string;
  bare: string;
  serverFirst: string;
  when: number;
  /** The user named was not the account's: the login fails at its second step, like a wrong password. */
  unknownUser: boolean;
  /** The session token this login will get, drawn with the nonce. */
  token: Uint8Array;
}

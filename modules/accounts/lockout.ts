/**
 * The lockout schedule (S1.1-04): how long a source must wait after `fails` failed logins in a row.
 * No wait for the first three; then delays that double from 2 s to 64 s; from the ninth failure
 * lockouts that double from 5 minutes, capped at one hour, so the owner is never locked out for
 * good. The device's own count (all sources together, kept in the store) follows the same schedule
 * GLOBAL_FREE failures later, so an attacker who rotates addresses is held too. docs/accounts.md
 * has the arithmetic: ≈ 41 days for 1,000 guesses, ≈ 114 years for 1,000,000.
 */
export const enum Lock {
  /** Failures without a wait. */
  FREE = 3,
  /** Failures with a delay (2^(n-2) s) before lockouts begin. */
  DELAYS = 6,
  FIRST_LOCK_S = 300,
  MAX_LOCK_S = 3600,
  /** The device-wide count waits this many failures longer than one source's. */
  GLOBAL_FREE = 7,
  /** Sources remembered (RAM); the oldest is forgotten for a new one. */
  SOURCES = 8,
}

/** Seconds to wait after `fails` consecutive failures. */
export function lockWait(fails: number): number {
  if (fails < Lock.FREE) return 0;
  if (fails < Lock.FREE + Lock.DELAYS) return Math.pow(2, fails - Lock.FREE + 1);
  const lockouts = fails - Lock.FREE - Lock.DELAYS;
  const s = Lock.FIRST_LOCK_S * Math.pow(2, lockouts < 8 ? lockouts : 8);
  return s < Lock.MAX_LOCK_S ? s : Lock.MAX_LOCK_S;
}

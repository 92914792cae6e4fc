import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseSetupKey } from '../../modules/channel/setup';
import { pathToFileURL } from 'node:url';
import { ClientError, login } from './client';

/**
 * A bounded password-guessing run against one device, for evaluators checking the lockout
 * (docs/evaluators.md): each attempt is a full SCRAM login (firmware/host/client.ts) with one guess,
 * and its outcome is printed with the device's Retry-After. It stops after `attempts` guesses, or
 * at the first that logs in. It waits out a Retry-After only when asked (`--respect-retry-after`);
 * otherwise it shows what the device answers to a client that does not wait.
 *
 *   npx tsx firmware/host/bruteforce.ts <device-url> --attempts N [--guesses FILE] [--respect-retry-after] [--max-wait S]
 *
 * Guesses come from FILE (one per line) or, without it, are random 12-character strings that
 * cannot be the password. Use it only on devices you are allowed to test.
 */

export interface Attempt {
  /** 1-based. */
  attempt: number;
  /** 'login-failed' (401), 'locked' (429), 'accepted' (200, signature verified), or another error code. */
  outcome: string;
  status?: number;
  retryAfter?: number;
  /** Milliseconds the attempt took (both SCRAM steps). */
  ms: number;
}

export interface BruteForceOptions {
  /** Most guesses to make (1..10,000). */
  attempts: number;
  /** The guesses, used in order (cycled if fewer than `attempts`); default random strings. */
  guesses?: string[];
  /** Sleep for the device's Retry-After before the next guess (at most `maxWait` s each). */
  respectRetryAfter?: boolean;
  /** Longest single wait, seconds (default 3600). */
  maxWait?: number;
  /** Each attempt as it happens (default: printed). */
  report?: (a: Attempt) => void;
  /**
   * The unit's setup key (from its label). Without it the guesses run under a random key, as an
   * attacker without the label must: every guess then fails, and the lockout counts them the same.
   */
  setupKey?: Uint8Array;
}

/** A random guess of 12 characters outside the default-password alphabet's reach ("!" in it). */
function randomGuess(): string {
  return '!' + randomBytes(9).toString('base64').slice(0, 11);
}

export function formatAttempt(a: Attempt): string {
  return 'attempt ' + a.attempt + ': ' + a.outcome + (a.status !== undefined ? ' (' + a.status + ')' : '') + (a.retryAfter !== undefined ? ' retry-after ' + a.retryAfter + ' s' : '') + ', ' + a.ms + ' ms';
}

/** Runs the guesses; returns every attempt's outcome. */
export async function bruteForce(url: string, o: BruteForceOptions): Promise<Attempt[]> {
  if (!Number.isInteger(o.attempts) || o.attempts < 1 || o.attempts > 10000) throw new RangeError('attempts: 1..10000');
  if (o.guesses && o.guesses.length === 0) throw new RangeError('guesses: the list is empty');
  const report = o.report ?? ((a: Attempt) => console.log(formatAttempt(a)));
  const out: Attempt[] = [];
  const setupKey = o.setupKey ?? new Uint8Array(randomBytes(16));
  for (let i = 0; i < o.attempts; i++) {
    const guess = o.guesses ? o.guesses[i % o.guesses.length]! : randomGuess();
    const started = Date.now();
    let a: Attempt;
    try {
      await login(url, guess, setupKey);
      a = { attempt: i + 1, outcome: 'accepted', status: 200, ms: Date.now() - started };
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      a = { attempt: i + 1, outcome: error.code === 'refused' && error.error ? error.error : error.code, status: error.status, retryAfter: error.retryAfter, ms: Date.now() - started };
    }
    out.push(a);
    report(a);
    if (a.outcome === 'accepted' || a.outcome === 'network') break;
    if (o.respectRetryAfter && a.retryAfter && i + 1 < o.attempts) {
      await new Promise((r) => setTimeout(r, Math.min(a.retryAfter!, o.maxWait ?? 3600) * 1000));
    }
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const url = argv[0];
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const attempts = Number(value('--attempts') ?? '');
  if (!url || !/^https?:\/\//.test(url) || !Number.isInteger(attempts) || attempts < 1 || attempts > 10000) {
    console.error('usage: npx tsx firmware/host/bruteforce.ts <device-url> --attempts N (1..10000) [--guesses FILE] [--respect-retry-after] [--max-wait S]\n  the setup key from HOSHI_SETUP_KEY (as on the label); without it the guesses are made as by someone without the label');
    process.exit(2);
  }
  const file = value('--guesses');
  const guesses = file ? readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0) : undefined;
  const maxWait = value('--max-wait') !== undefined ? Number(value('--max-wait')) : undefined;
  const keyText = process.env.HOSHI_SETUP_KEY;
  const setupKey = keyText !== undefined ? parseSetupKey(keyText) : undefined;
  if (keyText !== undefined && !setupKey) throw new Error('HOSHI_SETUP_KEY must be 26 base32 characters (as on the label)');
  const result = await bruteForce(url, { attempts, guesses, respectRetryAfter: argv.includes('--respect-retry-after'), maxWait, setupKey });
  const count = (outcome: string): number => result.filter((a) => a.outcome === outcome).length;
  console.log(
    result.length + ' attempts: ' + count('login-failed') + ' failed, ' + count('locked') + ' locked out, ' + count('accepted') + ' accepted' +
      (result.length && result[result.length - 1]!.outcome === 'accepted' ? ' (guess ' + result.length + (file ? ' of ' + file : '') + ')' : ''),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error('bruteforce: ' + error.message);
    process.exit(1);
  });
}

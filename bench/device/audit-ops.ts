// The security log's operations for `npm run bench` on the real engines: __bench(op, k). The flash
// is a RAM array with NOR semantics (no runtime fake is loaded when counting), 4 sectors of 4 KB
// with the board's write unit; the crypto provider is the board's (pure JS on Kaluma, native on
// Espruino); the clock is fixed, so the chain is the host's to recompute.
import type { CryptoProvider } from '../../hal/crypto';
import { ramFlash } from './ram-flash';
import { oldestSeq, openLog, type AuditLog } from '../../modules/audit/log';
import { logPage } from '../../modules/audit/read';


export function install(p: CryptoProvider, writeSize: number): void {
  const flash = ramFlash(4, writeSize);
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = i * 7 + 1;
  let t = 5000;
  const clock = { now: (): number => t, wallTime: (): number => 1764560000000 };
  const events = (log: AuditLog, n: number): void => {
    for (let i = 0; i < n; i++) {
      t += 1500;
      log.event('login-failed', '192.168.1.' + (i % 250) + ' ' + (i % 9));
    }
  };

  (globalThis as unknown as { __bench: unknown }).__bench = function (op: string, k: number, expected?: string): number {
    if (op === 'load') return 1;
    let r = 0;
    if (op === 'open-empty') {
      for (let i = 0; i < k; i++) r = r + openLog(flash, p, key, clock).ring.seq;
      return r;
    }
    const log = openLog(flash, p, key, clock);
    if (op === 'event') events(log, k);
    else if (op === 'open') {
      // A log of 150 entries (three sectors in use), opened k times.
      events(log, 150);
      for (let i = 0; i < k; i++) r = r + openLog(flash, p, key, clock).ring.seq;
    } else if (op === 'page') {
      events(log, 100);
      for (let i = 0; i < k; i++) r = r + logPage(log.ring, 40, 16).slots.length;
    } else if (op === 'check') {
      // The chain as the host computes it: entry k (base64, its MAC included) after k events.
      events(log, k);
      const page = logPage(log.ring, k, 1);
      const got = String(page.slots[page.slots.length - 1]);
      if (got !== expected) throw new Error('audit check: entry ' + k + ' is ' + got + ', the host computes ' + expected);
      r = got.length;
    } else throw new Error('unknown op ' + op);
    return r + oldestSeq(log.ring);
  };
}

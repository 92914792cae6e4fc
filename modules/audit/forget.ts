import type { CryptoProvider } from '../../hal/crypto';
import { append, oldestSeq, type Ring } from './log';

/**
 * SecurityLog.forget, a factory wipe's (docs/formats/audit.md, "Writing"): a new sector anchored to
 * the last entry holds the wipe entry before anything is erased, so a power cut never loses the
 * chain's last MAC or sequence number; resumed, it only erases. Throws if the flash fails (a wipe is
 * then resumed at the next boot). Run once in a unit's life: on Kaluma its code comes with the
 * reader's (read.ts, read-code.ts), from the image's assets.
 */
export function forgetLog(r: Ring, p: CryptoProvider): void {
  if (!r.wiped) {
    const first = oldestSeq(r);
    // A new sector, whether or not the newest is full (if it cannot be started, the ring stays as it was).
    const slot = r.slot;
    r.slot = r.S;
    try {
      append(r, p, 'wipe' + (r.seq > first ? ' ' + first + '-' + (r.seq - 1) : ''));
    } catch (error) {
      if (r.slot === r.S) r.slot = slot;
      throw error;
    }
    r.wiped = true;
  }
  const flash = r.part.log!;
  for (let i = 0; i < r.N; i++) if (i !== r.pos) flash.erase(i * r.E, r.E);
}

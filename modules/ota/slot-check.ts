import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { Reason, UPDATE_REASONS, type BootRecord } from '../../firmware/device/core/bootctl';
import { parseProvisioning, Record } from '../../firmware/device/core/provisioning';
import { sha256 } from '../crypto/sha256';
import { checkSlot, type SlotCheck } from './verify';

/**
 * The Kaluma loader's check of a received slot (docs/formats/update.md §8), with the unit's
 * trusted keys from its provisioning record. The loader reads this code from the active slot's
 * assets (asset 8) only on the boot that verifies, and restarts afterwards: its code and its
 * literals never stay in the heap of a normal boot. `index` gives a code's number in §6's list, which
 * the loader writes into the record (it holds no code names of its own).
 */
export function loaderCheck(
  slots: Flash[],
  slot: number,
  record: BootRecord,
  provisioning: Flash,
  steps: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => { step(): number },
): SlotCheck & { index(code: string): number } {
  const parsed = parseProvisioning(provisioning.read(0, Record.READ), false);
  const keys = parsed.ok && parsed.record.updateKeys ? parsed.record.updateKeys : [];
  const check = checkSlot({ sha256: sha256 } as unknown as CryptoProvider, slots[slot], slot, record, keys, undefined, steps) as SlotCheck & { index(code: string): number };
  check.index = function (code: string): number {
    const i = UPDATE_REASONS.indexOf(code);
    return i > 0 ? i : Reason.PACKAGE_MALFORMED;
  };
  return check;
}

import { constantTimeEqual } from '../crypto/compare';
import type { CryptoProvider } from '../../hal/crypto';
import type { Flash } from '../../hal/flash';
import { Boot, type BootRecord } from '../../firmware/device/core/bootctl';
import { u32 } from '../../firmware/device/core/bytes';
import { checkManifest, Kind, kidOf, parsePackageHead, type DeviceFacts, type HeadResult, type PackageHead } from './manifest';

/**
 * The checks before a received slot may boot (docs/formats/update.md §8), shared by the module
 * (boards that verify in the running image) and the Kaluma loader (which verifies at the next boot
 * with the whole heap). Run a slice per `step()`, so that the caller feeds its watchdog or serves
 * requests between slices.
 */

/** The longest package head a slot keeps: a COSE_Sign1 of at most 1024 bytes and a byte-string head of at most 9. */
export const enum Head {
  MAX = 1033,
}

/** The package head kept in a slot's first sector (docs/formats/update.md §4). */
export function readSlotHead(slot: Flash): HeadResult {
  const l = u32(slot.read(0, 4), 0);
  if (l < 1 || l > Head.MAX) return { ok: false, code: 'package-malformed', reason: 'the slot holds no package head (its length field is out of range)' };
  return parsePackageHead(slot.read(4, l));
}

/**
 * Whether `kid` names a key the unit trusts: retired kids first (a retired key is never trusted
 * again), then the keys the boot record added, then those of the provisioning record.
 */
export function keyOf(crypto: CryptoProvider, kid: Uint8Array, record: BootRecord, provisioned: Uint8Array[]): Uint8Array | 'retired' | 'unknown' {
  for (let i = 0; i < record.retired.length; i++) if (constantTimeEqual(record.retired[i], kid)) return 'retired';
  for (let i = 0; i < record.keys.length; i++) if (constantTimeEqual(record.keys[i].kid, kid)) return record.keys[i].key;
  for (let i = 0; i < provisioned.length; i++) if (constantTimeEqual(kidOf(crypto.sha256, provisioned[i]), kid)) return provisioned[i];
  return 'unknown';
}

export interface SlotCheck {
  /** 0 while work remains; then "" (verified) or the refusal's code (docs/formats/update.md §6). */
  step(): number | string;
  /** Why, when refused. */
  reason: string;
  /** The package head, once read. */
  head: PackageHead | undefined;
}

/**
 * Verifies slot `index`: its head parses, names a trusted key, passes the manifest's checks
 * (`facts`: the unit's; the loader passes only what it knows, the image having checked the rest
 * before it wrote the slot), matches the digest and size the receiver recorded from the slot's
 * flash, and its Ed25519 signature verifies (`steps`, a slice per call).
 */
export function checkSlot(
  crypto: CryptoProvider,
  slot: Flash,
  index: number,
  record: BootRecord,
  provisioned: Uint8Array[],
  facts: DeviceFacts | undefined,
  steps: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => { step(): number },
): SlotCheck {
  let signature: { step(): number } | undefined;
  const check: SlotCheck = {
    reason: '',
    head: undefined,
    step: function (): number | string {
      if (signature) {
        const r = signature.step();
        if (r === 0) return 0;
        if (r > 0) return '';
        check.reason = 'the signature does not verify under key ' + hex(check.head!.kid);
        return 'signature-invalid';
      }
      const read = readSlotHead(slot);
      if (!read.ok) {
        check.reason = read.reason;
        return read.code;
      }
      const head = read.value;
      const m = head.manifest;
      check.head = head;
      const info = record.slots[index];
      const key = keyOf(crypto, head.kid, record, provisioned);
      if (typeof key === 'string') {
        check.reason = key === 'retired' ? 'key ' + hex(head.kid) + ' has been retired' : 'key ' + hex(head.kid) + ' is not one this unit trusts';
        return key === 'retired' ? 'key-retired' : 'key-unknown';
      }
      if (facts) {
        const bad = checkManifest(m, facts);
        if (bad) {
          check.reason = bad.reason;
          return bad.code;
        }
      } else if (m.counter < record.floor) {
        check.reason = 'security counter ' + m.counter + ' is below the unit\'s ' + record.floor;
        return 'counter-rollback';
      }
      if (m.kind === Kind.IMAGE) {
        if (m.size !== info.size || m.app !== info.app || m.counter !== info.counter) {
          check.reason = 'the slot\'s record does not match its package head';
          return 'size-mismatch';
        }
        if (!m.digest || !constantTimeEqual(m.digest, info.digest)) {
          check.reason = 'the payload in the slot does not have the SHA-256 the manifest signs';
          return 'digest-mismatch';
        }
      }
      signature = steps(key, head.toBeSigned, head.signature);
      return 0;
    },
  };
  return check;
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/** The version numbers of a slot as text. */
export function versionText(v: number[]): string {
  return v[0] + '.' + v[1] + '.' + v[2];
}

/** Slot capacity: its size less the header sector. */
export function capacityOf(slot: Flash): number {
  return slot.size - Boot.SLOT_HEADER;
}

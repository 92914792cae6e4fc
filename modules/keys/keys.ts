import { message } from '../../firmware/device/core/messages';
import { utf8Bytes } from '../../firmware/device/core/bytes';
import type { KeyRing, Store, StoreReserve, UnitRandom } from '../../firmware/device/core/services';
import type { BlockCipher, CryptoProvider } from '../../hal/crypto';
import type { Entropy } from '../../hal/entropy';
import { createDrbg, drbgGenerate, drbgInstantiateForUnit, Limits, type Drbg } from '../crypto/drbg';
import { hkdfExpand } from '../crypto/hkdf';

/**
 * The device's key hierarchy (S1.1-11). Its root is the device secret: 32 bytes the factory's
 * CSPRNG made for this unit alone (`hoshi provision`), delivered in the provisioning record, never
 * derived from anything public (serial, MAC, uid). Every key is derived from it with HKDF-SHA-256
 * (RFC 5869): PRK = HKDF-Extract(salt = "hoshi keys v1", device secret), then one HKDF-Expand per
 * purpose with its own label (KEY_PURPOSES), so a key serves one purpose only and learning one
 * reveals nothing of the others or of the secret. Keys are derived on first use and kept in RAM.
 * What this protects against, and what it cannot: docs/security.md.
 */

/** The HKDF labels (a const enum: the bundler writes them into the code, no object held on the device). */
const enum Label {
  SALT = 'hoshi keys v1',
  STORE_SEAL = 'hoshi store seal v1',
  DEFAULT_PASSWORD = 'hoshi default password v1',
  AUDIT_LOG = 'hoshi audit log v1',
}

/**
 * Every purpose a key is derived for: its HKDF info label and its length in bytes. For the host
 * and the tests: `deviceKeys` spells the same three out (test/keys.test.ts derives every purpose here).
 */
export const KEY_PURPOSES = {
  /** AES-128 key of the state store's sealed values (AES-CCM). */
  'store-seal': { label: Label.STORE_SEAL as string, bytes: 16 },
  /** HMAC key of the default password's check value (provisioning record version 2, modules/accounts). */
  'default-password': { label: Label.DEFAULT_PASSWORD as string, bytes: 32 },
  /** HMAC key of the security log's chain (modules/audit, docs/formats/audit.md). */
  'audit-log': { label: Label.AUDIT_LOG as string, bytes: 32 },
};
export type KeyPurpose = keyof typeof KEY_PURPOSES;

export const KEYS_SALT: string = Label.SALT;

/** The unit's keys (core/services KeyRing), typed by purpose. */
export interface DeviceKeys extends KeyRing {
  key(purpose: KeyPurpose): Uint8Array;
  cipher(purpose: KeyPurpose): BlockCipher;
}

/** The key hierarchy of a unit whose provisioned device secret is `deviceSecret` (32 bytes). */
export let deviceKeys = function (p: CryptoProvider, deviceSecret: Uint8Array, release?: boolean): DeviceKeys {
  // A device calls this once per boot (`release`): it then lets go of its binding, and on Kaluma of its code.
  if (release) deviceKeys = undefined as never;
  if (!(deviceSecret instanceof Uint8Array) || deviceSecret.length !== 32) throw new RangeError('keys: the device secret must be 32 bytes');
  const secret = new Uint8Array(deviceSecret);
  let prk: Uint8Array | undefined;
  const keys: { [purpose: string]: Uint8Array } = {};
  const ciphers: { [purpose: string]: BlockCipher } = {};
  // Function expressions, not arrows, for closures that live as long as the device (8 bytes each on Kaluma).
  const key = function (purpose: KeyPurpose): Uint8Array {
    const label = purpose === 'store-seal' ? Label.STORE_SEAL : purpose === 'default-password' ? Label.DEFAULT_PASSWORD : purpose === 'audit-log' ? Label.AUDIT_LOG : '';
    if (!label) throw new Error('keys: unknown purpose ' + purpose);
    if (!keys[purpose]) {
      // HKDF-Extract (RFC 5869 §2.2) with a non-empty salt: PRK = HMAC(salt, device secret).
      if (!prk) prk = p.hmacSha256(utf8Bytes(Label.SALT), secret);
      keys[purpose] = hkdfExpand(p, prk, utf8Bytes(label), purpose === 'store-seal' ? 16 : 32);
    }
    return keys[purpose];
  };
  return {
    key: key,
    cipher: function (purpose: KeyPurpose): BlockCipher {
      // Derived on first use, so a boot that seals nothing pays nothing (HKDF costs ≈ 1 s on Kaluma).
      const real = function (): BlockCipher {
        if (!ciphers[purpose]) ciphers[purpose] = p.aes(key(purpose));
        return ciphers[purpose];
      };
      return {
        encryptBlocks: function (blocks: Uint8Array): Uint8Array {
          return real().encryptBlocks(blocks);
        },
        cbcMac: function (blocks: Uint8Array): Uint8Array {
          return real().cbcMac(blocks);
        },
      };
    },
  };
};

/** Store key of the DRBG's persisted output (sealed); a const enum: the bundler writes it into the code. */
const enum Key {
  RANDOM_STATE = 'hoshi.drbg',
}
export const RANDOM_STATE_KEY: string = Key.RANDOM_STATE;

/** Room the DRBG's carry keeps in the store: it is written before any output, so it must never be refused. */
export const RANDOM_RESERVE: StoreReserve = { key: Key.RANDOM_STATE, bytes: 32, sealed: true };

/**
 * The unit's random bytes: HMAC_DRBG (modules/crypto/drbg) instantiated on first use at each boot
 * with entropy input = provisioned seed ‖ 32 bytes of board entropy ‖ the previous boot's carry,
 * and nonce = the store's stamp, which no two boots that produced output ever share (store.ts).
 * Before any output is returned, 32 bytes of fresh output (the new carry) are sealed into the
 * store; if that write fails, no output is returned. Hence no two boots produce the same bytes,
 * however the power is cut, even on a board whose entropy is `none`, and entropy gathered at every
 * boot accumulates in the carry. Reinstantiates the same way once RESEED_INTERVAL requests are
 * served. The store must be opened with the `store-seal` cipher.
 */
export let unitRandom = function (p: CryptoProvider, drbgSeed: Uint8Array, entropy: Entropy, store: Store, release?: boolean): UnitRandom {
  // A device calls this once per boot (`release`): it then lets go of its binding, and on Kaluma of its code.
  if (release) unitRandom = undefined as never;
  let drbg: Drbg | undefined;
  let quality: string | undefined;
  let note: string | undefined;
  const instantiate = function (): Drbg {
    const d = createDrbg(p);
    const previous = store.read(Key.RANDOM_STATE);
    note = previous.ok ? undefined : message('no previous carry: ') + previous.reason;
    quality = drbgInstantiateForUnit(d, drbgSeed, entropy, store.stamp(), previous.ok ? previous.value : undefined);
    store.set(Key.RANDOM_STATE, drbgGenerate(d, 32), true);
    return d;
  };
  return {
    bytes: function (length: number): Uint8Array {
      if (!drbg || drbg.counter > Limits.RESEED_INTERVAL) drbg = instantiate();
      return drbgGenerate(drbg, length);
    },
    quality: function (): string | undefined {
      return quality;
    },
    note: function (): string | undefined {
      return note;
    },
  };
};

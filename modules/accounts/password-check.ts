import { Asset, type Assets } from '../../firmware/device/core/assets';
import { problem, type HttpResponse } from '../../firmware/device/core/module';
import { base64Decode } from '../../firmware/device/core/base64';
import { commonPasswords } from './common';
import { Scram, type ScramVerifier } from './scram';
import { checkPassword, type PolicyRefusal } from './policy';

/**
 * The device's check of a new password (modules/accounts, `POST /api/password`): the policy
 * (policy.ts) with the common-password filter of the assets (common.ts). Used a few times in a
 * unit's life: on Kaluma its code is read from the image's assets only then (password-code.ts).
 */
export function newPasswordRefusal(
  password: unknown,
  o: { minLength: number; identity: string[]; isDefault: (password: string) => boolean },
  assets: Assets,
  sha256: (data: Uint8Array) => Uint8Array,
): PolicyRefusal | undefined {
  return checkPassword(password, { minLength: o.minLength, identity: o.identity, common: commonPasswords(assets, sha256), isDefault: o.isDefault });
}

/** Bytes of the filter one answer may carry (the Pico W's send buffer; every answer is heap while sent). */
const enum Common {
  SLICE = 4096,
}

/**
 * `GET /api/password/common`: the common-password filter in slices of at most 4 KB (RFC 9110 §14
 * ranges), for the page and the host tools to check a new password before sending it.
 */
export function commonSlice(range: string, assets: Assets): HttpResponse {
  const span = assets.find(Asset.COMMON_PASSWORDS);
  if (!span) return problem(404, 'not-found', 'no common-password filter');
  const m = /^bytes=([0-9]+)-([0-9]+)$/.exec(range);
  const a = m ? parseInt(m[1], 10) : 0;
  const b = m ? parseInt(m[2], 10) : -1;
  const r = !m || a > b || b >= span.length || b - a >= Common.SLICE ? problem(416, 'range-required', 'ask for 4096 bytes at most: Range: bytes=0-4095') : { status: 206, headers: {} as { [name: string]: string }, body: assets.read(span.offset + a, b - a + 1) };
  r.headers!['Content-Range'] = 'bytes ' + (m && r.status === 206 ? a + '-' + b : '*') + '/' + span.length;
  if (r.status === 206) r.headers!['Content-Type'] = 'application/octet-stream';
  return r;
}

/** The bytes of a base64 JSON field (empty if it is not one). */
function field(v: unknown): Uint8Array {
  return (typeof v === 'string' && base64Decode(v)) || new Uint8Array(0);
}

/**
 * `POST /api/password`'s checks: the body's verifier (salt, iterations, keys within SCRAM's bounds)
 * and the new password against the policy. The verifier to store, or the refusal to answer.
 */
export function passwordChange(
  b: { [name: string]: unknown } | undefined,
  o: { minLength: number; identity: string[]; isDefault: (password: string) => boolean },
  assets: Assets,
  sha256: (data: Uint8Array) => Uint8Array,
): ScramVerifier | HttpResponse {
  if (!b) return problem(400, 'bad-json', 'the body must be a JSON object');
  const v: ScramVerifier = { salt: field(b.salt), iterations: b.iterations as number, storedKey: field(b.storedKey), serverKey: field(b.serverKey) };
  const n = v.iterations;
  if (!(v.salt.length >= Scram.MIN_SALT && v.salt.length <= Scram.MAX_SALT && typeof n === 'number' && n === Math.floor(n) && n >= Scram.MIN_ITERATIONS && n <= Scram.MAX_ITERATIONS && v.storedKey.length === Scram.KEY && v.serverKey.length === Scram.KEY)) {
    return problem(400, 'bad-verifier', 'salt 16-64 bytes, iterations 4096-10000000, keys 32 bytes; base64');
  }
  const refusal = newPasswordRefusal(b.password, o, assets, sha256);
  return refusal ? problem(422, 'password-' + refusal.rule, refusal.reason) : v;
}

/** What the accounts module loads on demand: the password change's checks and the filter's slices. */
export const passwordTools = { change: passwordChange, commonSlice: commonSlice };

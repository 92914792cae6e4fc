/**
 * The password policy (S1.1-02, S1.1-03), one function for the device, the host tools and the
 * admin page, each refusal with its rule and a reason a user can act on. Passwords are printable
 * ASCII (SCRAM then needs no SASLprep: RFC 4013 leaves those characters unchanged).
 */

export interface PolicyOptions {
  /** At least 8 (★1's minimum for a password a user sets); an image may ask more. */
  minLength: number;
  /** Public identifiers the password may not contain, case-insensitively: model, serial, vendor. */
  identity: string[];
  /** True if `lowerCase` is a common password (the device: a Bloom filter; host and page: the full list). */
  common?: (lowerCase: string) => boolean;
  /** True if `password` is the unit's default password (the device checks a keyed digest of it). */
  isDefault?: (password: string) => boolean;
}

/** The most a password may be. */
export const MAX_PASSWORD = 64;
/** A run this long of one character, or of a sequence ("abcd", "4321"), is refused. */
export const MAX_RUN = 4;

export interface PolicyRefusal {
  rule: string;
  reason: string;
}

/** Why `password` is refused, or undefined if the policy accepts it. */
export function checkPassword(password: unknown, o: PolicyOptions): PolicyRefusal | undefined {
  if (typeof password !== 'string') return { rule: 'not-text', reason: 'the password must be a string' };
  if (password.length < o.minLength) return { rule: 'too-short', reason: 'at least ' + o.minLength + ' characters' };
  if (password.length > MAX_PASSWORD) return { rule: 'too-long', reason: 'at most ' + MAX_PASSWORD + ' characters' };
  let same = 1;
  let up = 1;
  let down = 1;
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return { rule: 'not-ascii', reason: 'letters, digits, spaces and ASCII symbols only' };
    if (i > 0) {
      const d = c - password.charCodeAt(i - 1);
      same = d === 0 ? same + 1 : 1;
      up = d === 1 ? up + 1 : 1;
      down = d === -1 ? down + 1 : 1;
      if (same >= MAX_RUN) return { rule: 'repeated', reason: 'no character ' + MAX_RUN + ' times in a row' };
      if (up >= MAX_RUN || down >= MAX_RUN) return { rule: 'sequence', reason: 'no runs like "abcd" or "4321"' };
    }
  }
  const lower = password.toLowerCase();
  for (let i = 0; i < o.identity.length; i++) {
    const id = o.identity[i].toLowerCase();
    if (id.length >= 3 && lower.indexOf(id) >= 0) return { rule: 'identity', reason: 'it must not contain the model, serial or vendor name' };
  }
  if (o.isDefault && o.isDefault(password)) return { rule: 'default', reason: 'it must not be the default password on the label' };
  if (o.common && o.common(lower)) return { rule: 'common', reason: 'it is on the list of commonly used passwords' };
  return undefined;
}

/**
 * Constant-time comparison: the time taken depends on the lengths only, never on where the
 * first difference is (a MAC or password check must not tell an attacker how many leading bytes
 * were right).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = diff | (a[i] ^ b[i]);
  return diff === 0;
}

/**
 * Runtime conditions a caller must handle, with their codes: one table, as littlefs's error enum
 * and MCUboot's return codes are. Programming errors (a bad argument, a misconfigured image) are
 * plain Errors naming the field; these are conditions of a working device — a full store, a network
 * that refuses to be joined — that code decides on by `code`, never by matching a message.
 */
export const FAILURES = {
  'store-full': 'the store has no room for this change (capacity rule: docs/formats/store.md)',
  'store-broken': 'a flash operation of the store failed; nothing more is written until the store is opened again',
  'wifi-not-found': 'no network of that name answered',
  'wifi-auth': 'the network refused the credentials',
  'wifi-failed': 'the station could not join the network',
  'wifi-lost': 'the station lost its network',
  'net-down': 'the board has no network link to serve on yet',
  'net-absent': 'the board has no network interface',
  'net-unresolved': 'the host name did not resolve',
  'net-refused': 'the host refused the connection, or closed it before it was established',
  'net-reset': 'the connection was reset',
  'net-failed': 'the connection failed for another reason (its detail says which)',
  'task-failed': 'a periodic task threw; it keeps running at its next period',
};
export type FailureCode = keyof typeof FAILURES;

/** An Error carrying a failure code; its message is "<code>: <detail>". */
export interface Failure extends Error {
  code: FailureCode;
  detail: string;
}

export function failure(code: FailureCode, detail: string): Failure {
  const error = new Error(code + ': ' + detail) as Failure;
  error.code = code;
  error.detail = detail;
  return error;
}

/**
 * The failure code of `error`, or undefined if it is not a Failure. (It does not look the code up
 * in FAILURES, so that device bundles carry the codes and not the table's descriptions.)
 */
export function failureCode(error: unknown): FailureCode | undefined {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? (code as FailureCode) : undefined;
}

/** Why a stored value cannot be returned (modules/store `read`): stored bytes are untrusted input. */
export const STORE_READ_REASONS = {
  absent: 'no value is stored under this key',
  corrupt: 'the stored record fails its CRC-32 (flash corruption): the value is not returned',
  'not-authentic': 'the sealed value fails authentication (wrong device key, or altered)',
  'no-seal-key': 'the value is sealed and the store was opened without a sealing key',
};
export type StoreReadReason = keyof typeof STORE_READ_REASONS;

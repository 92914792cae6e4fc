/**
 * Clock: time as the board knows it.
 *
 * `now()` is monotonic milliseconds since boot (it never goes backwards while the device runs and
 * restarts from an arbitrary value at each boot): use it for timeouts and rate limits.
 * `wallTime()` is milliseconds since the Unix epoch if the board has a wall clock that has been
 * set, or `undefined`: never base a security decision on it (anyone who can set it can move it).
 */
export interface Clock {
  now(): number;
  wallTime(): number | undefined;
}

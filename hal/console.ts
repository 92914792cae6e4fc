/**
 * Console: the runtime's interactive consoles (USB serial REPL, Telnet REPL). A REPL can read and
 * rewrite everything on the device, so production images close it where the runtime allows.
 *
 * `restrict(mode)` applies the mode as far as the runtime allows and reports what it could not do:
 * - `off`: the console is unreachable;
 * - `locked`: reachable only after authentication;
 * - `open`: left as the runtime starts it (development only).
 * The report is the truth about the device, not the request: a runtime that cannot close its REPL
 * says so in `notClosed`, and the image's evidence lists it as a residual risk.
 */
export type ConsoleMode = 'off' | 'locked' | 'open';

export interface ConsoleReport {
  /** The state every console is in after the call, at best. */
  readonly state: ConsoleMode;
  /** Each console or path that stays open, with why, e.g. "USB REPL: Kaluma 1.2.1 cannot disable it from JS". */
  readonly notClosed: string[];
}

export interface ConsoleControl {
  restrict(mode: ConsoleMode): ConsoleReport;
}

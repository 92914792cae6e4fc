/**
 * Console and the board's own interfaces: the runtime's interactive consoles (USB serial REPL,
 * Telnet REPL) and what else the runtime or the hardware opens by itself (Bluetooth, the USB
 * port's other uses, the runtime's own network services). A REPL can read and rewrite everything
 * on the device, so production images close it where the runtime allows.
 *
 * `restrict(mode)` applies the mode to every console as far as the runtime allows, and reports
 * what it could not do and the state of each of the board's own interfaces (docs/interfaces.md):
 * - `off`: the console is unreachable;
 * - `locked`: reachable only after authentication;
 * - `open`: left as the runtime starts it (development only).
 * The report is the truth about the device, not the request: a runtime that cannot close its REPL
 * says so in `notClosed`, and the image's evidence lists it as a residual risk.
 *
 * `restrict` is idempotent: boot calls it before anything else opens, and modules/interfaces calls
 * it again at its start for the report it publishes; a second call with the same mode changes
 * nothing and reports the same.
 */
export type ConsoleMode = 'off' | 'locked' | 'open';

/**
 * The names a board reports its own interfaces by (`ConsoleReport.interfaces`):
 * - `console`: the REPLs the console mode governs (the ESP32's on UART0, reached through the
 *   USB-serial bridge, and its Telnet REPL on TCP 23);
 * - `usb`: the board's USB port (the Pico's USB REPL, which no mode closes, and BOOTSEL mass
 *   storage; the ESP32 bridge's way to the ROM's download mode);
 * - `bluetooth`: Bluetooth (Low Energy, on the ESP32);
 * - `mdns`: a multicast DNS responder the runtime starts by itself, UDP 5353.
 * An interface an image may declare open has the name of its field in the declaration
 * (core/module.ts `InterfacesConfig`: `console`, `usb`, `bluetooth`). A board lists its
 * interfaces with their state; one it has no trace of (the host's USB) may be left out: closed by
 * absence.
 */
export type BoardInterface = 'console' | 'usb' | 'bluetooth' | 'mdns';

export interface ConsoleReport {
  /** The state every console is in after the call, at best. */
  readonly state: ConsoleMode;
  /**
   * Each console or path that stays open although the mode or the image did not ask for it, with
   * why, as one line per interface, "name: why" (`name` one of `BoardInterface`), e.g. "usb: REPL
   * always on in Kaluma 1.2.1, JS cannot close it ...".
   */
  readonly notClosed: string[];
  /**
   * The board's own interfaces and the state each is in after the call, as "name=state" items
   * (`BoardInterface`, `ConsoleMode`) separated by commas, e.g. "usb=open,bluetooth=off": one string, a
   * literal where it can be, since boot keeps the report for the device's life and on Kaluma every
   * object and string counts (no space in it: a Kaluma build would take it for a message and move
   * it to the message table, firmware/host/strings.ts).
   */
  readonly interfaces: string;
}

export interface ConsoleControl {
  restrict(mode: ConsoleMode): ConsoleReport;
}

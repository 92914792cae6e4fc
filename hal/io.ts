/**
 * Product I/O: the pins an example's own hardware uses (a relay, a sensor). Pins are named the
 * runtime's way: GPIO numbers on Kaluma (GP15 is 15), pin names on Espruino ("D36").
 */
export type Pin = number | string;

export interface Io {
  /** Drives `pin` as a digital output (made an output on first use). */
  write(pin: Pin, high: boolean): void;
  /** Reads analog input `pin` as a fraction of the ADC's full scale, in [0, 1). */
  analog(pin: Pin): number;
  /**
   * Reads digital input `pin` with its pull-up enabled (made an input on first use): false while a
   * button to ground is pressed. Boards whose binding cannot read inputs leave it out.
   */
  read?(pin: Pin): boolean;
}

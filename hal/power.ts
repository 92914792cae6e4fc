/**
 * Power: restart the device. `reboot` does not return on a real board (Kaluma: watchdog reset;
 * Espruino: `E.reboot()`); on the host board it rebuilds the device instance from the same flash.
 */
export interface Power {
  reboot(reason: string): void;
}

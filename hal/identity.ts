/**
 * Identity: what the board says about itself. Every value here is public (printed on a label,
 * sent on the network, readable over USB): nothing secret may ever be derived from them.
 */
export interface Identity {
  /** Unique id of the chip or its flash (Kaluma `board.uid`, Espruino `getSerial()`), as hex. */
  readonly uid: string;
  /** Board model, e.g. "Raspberry Pi Pico W". */
  readonly model: string;
  /** Hardware revision of the board, e.g. "1". */
  readonly hardwareRevision: string;
}

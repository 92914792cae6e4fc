import type { Board } from '../../hal/board';
import type { Net } from '../../hal/net';
import { failure } from '../../firmware/device/core/errors';
import { createKalumaBoard } from '../kaluma-pico-w/board';

/**
 * Kaluma 1.2.1 on the Raspberry Pi Pico (no Wi-Fi chip). Everything but the network is the Pico W
 * binding: the same flash map (targets/rp2/boards/pico/board.h equals pico-w's: storage sectors
 * 0-3, program 4-131, LittleFS from 132, mounted by board.js as on the Pico W), GPIO, weak entropy,
 * watchdog reboot, the REPL that cannot be closed. Kaluma's Pico firmware has no `net` or `wifi`
 * module, so the HTTP interface cannot open: boot says so and the image runs without it
 * (a Pico product talks to its host over UART or USB through its own modules).
 */
const noNetwork: Net = {
  limits: { connections: 0, exclusive: true, requestTimeoutMs: 0 },
  hostnames: [],
  onLink: (): void => undefined,
  listen: (): never => {
    throw failure('net-absent', 'the Raspberry Pi Pico has no network interface (no Wi-Fi chip; Kaluma has no net module for it)');
  },
};

export function createBoard(): Board {
  return createKalumaBoard('kaluma-pico', 'Raspberry Pi Pico', noNetwork);
}

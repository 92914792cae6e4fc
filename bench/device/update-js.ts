import { jsCryptoCore } from '../../modules/crypto/provider-core';
import { install, patternSlot, ramFlash } from './update-ops';

// Kaluma: the pure-JS SHA-256 in 128-byte slices (boards/kaluma-pico-w/board.ts `update`), 256-byte pages.
install({
  runtime: 'kaluma',
  board: 'kaluma-pico-w',
  crypto: jsCryptoCore,
  hashSlice: 128,
  flashes: function (capacity: number, size: number) {
    return { bootctl: ramFlash(2, 256), slots: [patternSlot(capacity, size, 256), patternSlot(capacity, size, 256)] };
  },
});

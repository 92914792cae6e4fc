import { KALUMA_PARTITIONS } from '../../../boards/kaluma-pico-w/board';
import { ESP32_PARTITIONS } from '../../../boards/espruino-esp32/board';
import type { DeviceTarget } from '../profiles';
import { espruinoFlash, espruinoFlashTranscript, espruinoProvision, espruinoProvisionTranscript, espruinoState, espruinoStateTranscript, ESPRUINO_BAUD } from './espruino';
import { kalumaAssets, kalumaAssetsTranscript, kalumaFlash, kalumaFlashTranscript, kalumaProvision, kalumaProvisionTranscript, kalumaState, kalumaStateTranscript, KALUMA_BAUD } from './kaluma';
import { concatBytes, type Link } from './link';

/** What `hoshi flash` and `hoshi provision` need to know about a real board. */
export interface SerialBoard {
  name: string;
  target: DeviceTarget;
  baud: number;
  /** Size of the provisioning partition: the record is padded with 0xFF (erased flash) to it. */
  provisioningBytes: number;
  /** The image and the assets container (docs/formats/assets.md), each written and checked. */
  flashTranscript(code: Uint8Array, assets: Uint8Array): Uint8Array;
  flash(link: Link, code: Uint8Array, assets: Uint8Array, log: (line: string) => void): Promise<void>;
  provisionTranscript(area: Uint8Array): Uint8Array;
  provision(link: Link, area: Uint8Array, log: (line: string) => void): Promise<void>;
  /** The state partition: its size and write unit, to seed a store (firmware/host/provision.ts). */
  state: { bytes: number; writeSize: number };
  /** Erases the state partition and writes its first sector. */
  stateTranscript(sector: Uint8Array): Uint8Array;
  writeState(link: Link, sector: Uint8Array, log: (line: string) => void): Promise<void>;
}

const kaluma = (name: string): SerialBoard => ({
  name: name,
  target: 'kaluma',
  baud: KALUMA_BAUD,
  provisioningBytes: KALUMA_PARTITIONS.provisioning.count * 4096,
  // The assets first, through the REPL, then the image over YMODEM and `.load`: the new image
  // starts with its own assets.
  flashTranscript: (code, assets) => concatBytes([kalumaAssetsTranscript(assets), kalumaFlashTranscript(code)]),
  flash: async (link, code, assets, log) => {
    await kalumaAssets(link, assets, log);
    await kalumaFlash(link, code, log);
  },
  provisionTranscript: kalumaProvisionTranscript,
  provision: kalumaProvision,
  state: { bytes: KALUMA_PARTITIONS.state.count * 4096, writeSize: 256 },
  stateTranscript: kalumaStateTranscript,
  writeState: kalumaState,
});

export const SERIAL_BOARDS: { [name: string]: SerialBoard } = {
  'kaluma-pico-w': kaluma('kaluma-pico-w'),
  'kaluma-pico': kaluma('kaluma-pico'),
  'espruino-esp32': {
    name: 'espruino-esp32',
    target: 'espruino',
    baud: ESPRUINO_BAUD,
    provisioningBytes: ESP32_PARTITIONS.provisioning.size,
    flashTranscript: espruinoFlashTranscript,
    flash: espruinoFlash,
    provisionTranscript: espruinoProvisionTranscript,
    provision: espruinoProvision,
    state: { bytes: ESP32_PARTITIONS.state.size, writeSize: 4 },
    stateTranscript: espruinoStateTranscript,
    writeState: espruinoState,
  },
};

/** The record padded with 0xFF to the partition's size. */
export function provisioningArea(board: SerialBoard, record: Uint8Array): Uint8Array {
  if (record.length > board.provisioningBytes) throw new Error('provision: the record does not fit the partition');
  const area = new Uint8Array(board.provisioningBytes).fill(0xff);
  area.set(record);
  return area;
}

import { KALUMA_PARTITIONS } from '../../../boards/kaluma-pico-w/board';
import { ESP32_PARTITIONS } from '../../../boards/espruino-esp32/board';
import type { DeviceTarget } from '../profiles';
import { espruinoFactory, espruinoFactoryTranscript, espruinoProvision, espruinoProvisionTranscript, espruinoState, espruinoStateTranscript, ESPRUINO_BAUD } from './espruino';
import { kalumaFactory, kalumaFactoryTranscript, kalumaProvision, kalumaProvisionTranscript, kalumaState, kalumaStateTranscript, KALUMA_BAUD, type FactoryImage } from './kaluma';
import type { Link } from './link';

export type { FactoryImage } from './kaluma';

/** What `hoshi flash` and `hoshi provision` need to know about a real board. */
export interface SerialBoard {
  name: string;
  target: DeviceTarget;
  baud: number;
  /** Size of the provisioning partition: the record is padded with 0xFF (erased flash) to it. */
  provisioningBytes: number;
  /**
   * The unit as the factory leaves it (docs/formats/update.md §4, §5, §7): the fixed loader, slot A
   * with the factory payload, the factory boot record; every byte written is checked.
   */
  flashTranscript(image: FactoryImage): Uint8Array;
  flash(link: Link, image: FactoryImage, log: (line: string) => void): Promise<void>;
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
  // Slot A and the boot record through the REPL, then the loader over YMODEM and `.load`.
  flashTranscript: kalumaFactoryTranscript,
  flash: kalumaFactory,
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
    flashTranscript: espruinoFactoryTranscript,
    flash: espruinoFactory,
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

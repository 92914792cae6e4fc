import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostBoard, createHostIo, HOST_FLASH_SIZE, HOST_PARTITIONS, type HostIo } from '../../boards/host/board';
import { fileBacking, memoryBacking, openSimFlash, PICO_GEOMETRY, type FlashBacking, type SimFlash } from '../../boards/host/flash';
import { hostNet } from '../../boards/host/net';
import { partition } from '../../hal/flash';
import type { NetLimits } from '../../hal/net';
import { boot } from '../device/boot';
import type { Device, Image } from '../device/image';
import { readProvisioning } from '../device/core/provisioning';
import { encodeProvisioning, newProvisioningRecord, writeProvisioning } from './provision';

export interface SimulatorOptions {
  image: Image;
  /** Folder holding the simulated unit (flash.bin, uid); omitted = memory-backed flash. */
  dir?: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. Overrides the image's port. */
  port?: number;
  /** Provision a new unit if the provisioning partition is erased (default true). */
  provision?: boolean;
  /** Silences the device's console output. */
  quiet?: boolean;
  /** Simulated analog inputs (pin → fraction of full scale). */
  analog?: { [pin: string]: number };
  /** The simulated network's limits (tests use a short request timeout). */
  netLimits?: Partial<NetLimits>;
}

/** A simulated unit: one flash backing, rebooted as many times as needed. */
export interface Simulator {
  readonly backing: FlashBacking;
  /** The current power-on's flash (replaced at each reboot). */
  flash: SimFlash;
  device: Device;
  url: string;
  /** Number of boots so far, this one included. */
  boots: number;
  /** The unit's pins: outputs written by the image, analog inputs to set. Kept across reboots. */
  readonly io: HostIo;
  /** Reboots from the same flash (after a power cut, too). */
  reboot(): Promise<Device>;
  stop(): void;
}

/**
 * Starts the image on the host board. With `dir`, the flash lives in `dir/flash.bin` and a second
 * start finds the same state; a unit is provisioned on its first start.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  let backing: FlashBacking;
  let uid: string;
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    backing = fileBacking(join(options.dir, 'flash.bin'), HOST_FLASH_SIZE);
    const uidFile = join(options.dir, 'uid');
    if (!existsSync(uidFile)) writeFileSync(uidFile, randomBytes(8).toString('hex') + '\n');
    uid = readFileSync(uidFile, 'utf8').trim();
  } else {
    backing = memoryBacking(HOST_FLASH_SIZE);
    uid = randomBytes(8).toString('hex');
  }

  let failBoot: (error: Error) => void = (error) => {
    throw error;
  };
  const net = hostNet((error) => failBoot(error), options.netLimits);
  const image = withPort(options.image, options.port ?? 0);

  const sim = { backing, boots: 0, io: createHostIo() } as Simulator;
  for (const pin of Object.keys(options.analog ?? {})) sim.io.setAnalog(pin, options.analog![pin]!);
  const powerOn = (): Promise<Device> =>
    new Promise((resolve, reject) => {
      failBoot = (error) => {
        if (options.quiet) hush(-1);
        // The image booted but cannot serve (e.g. the port is taken): stop its periodic tasks too.
        if (sim.device) sim.device.stop();
        reject(error);
      };
      sim.flash = openSimFlash(backing, PICO_GEOMETRY);
      sim.boots++;
      if (options.provision !== false) {
        const p = partition(sim.flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size);
        const found = readProvisioning(p);
        if (!found.ok && found.reason === 'erased') {
          const record = newProvisioningRecord();
          writeProvisioning(p, encodeProvisioning(record));
          if (!options.quiet) console.log('[host] provisioned a new simulated unit, serial ' + record.serial);
        }
      }
      const board = createHostBoard({
        flash: sim.flash,
        net,
        io: sim.io,
        uid,
        reboot: () => {
          void sim.reboot();
        },
      });
      if (options.quiet) hush(+1);
      try {
        sim.device = boot(board, image, (device) => {
          if (options.quiet) hush(-1);
          sim.url = 'http://127.0.0.1:' + device.port();
          resolve(device);
        });
      } catch (error) {
        if (options.quiet) hush(-1);
        throw error;
      }
    });

  sim.reboot = () => {
    sim.device.stop();
    net.closeAll();
    return powerOn();
  };
  sim.stop = () => {
    sim.device.stop();
    net.closeAll();
    backing.close();
  };
  await powerOn();
  return sim;
}

/** Device code logs with console.log: quiet simulators silence it while they boot. */
const consoleLog = console.log;
let quietBoots = 0;
function hush(delta: number): void {
  quietBoots += delta;
  console.log = quietBoots > 0 ? () => undefined : consoleLog;
}

function withPort(image: Image, port: number): Image {
  const http = { ...image.config.interfaces.http, port };
  return { ...image, config: { ...image.config, interfaces: { ...image.config.interfaces, http } } };
}

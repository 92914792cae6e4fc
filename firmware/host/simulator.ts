import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostBoard, createHostIo, HOST_FLASH_SIZE, HOST_PARTITIONS, type HostIo } from '../../boards/host/board';
import { fileBacking, memoryBacking, openSimFlash, PICO_GEOMETRY, type FlashBacking, type SimFlash } from '../../boards/host/flash';
import { hostNet } from '../../boards/host/net';
import { hostWifi, type HostWifi } from '../../boards/host/wifi';
import { partition } from '../../hal/flash';
import type { NetLimits } from '../../hal/net';
import { boot } from '../device/boot';
import type { Device, Image } from '../device/image';
import { readProvisioning } from '../device/core/provisioning';
import { encodeProvisioning, newProvisioningRecord, writeProvisioning } from './provision';
import { DEFAULT_SETUP_URL, labelJson, unitLabel, type LabelRecord } from './labels';
import { buildAssets, writeAssets } from './assets';

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
  /**
   * The assets container written into the assets partition at every power-on, as flashing a new
   * image would (default: the current `buildAssets()`); null leaves the partition as it is (tests
   * of a missing or corrupt partition).
   */
  assets?: Uint8Array | null;
  /** PBKDF2 iterations of a newly provisioned unit's default password (default 100,000; tests use 4096). */
  iterations?: number;
  /**
   * The simulated Wi-Fi (boards/host/wifi.ts): the networks in range (default: SIM_HOME_NETWORK),
   * and whether the station joins with the setup access point open (ESP32-like, the default) or
   * must close it first (`apsta: false`, Pico W-like).
   */
  wifi?: { networks?: { [ssid: string]: string }; apsta?: boolean };
}

/**
 * The network in range of a simulated unit unless the options say otherwise: a fixture of the
 * simulator (a simulated home network, not a secret of any unit), printed by `npm start` so that
 * the setup can be played through.
 */
export const SIM_HOME_NETWORK = { ssid: 'sim-home', passphrase: 'simulated home network' };

/** A simulated unit: one flash backing, rebooted as many times as needed. */
export interface Simulator {
  readonly backing: FlashBacking;
  /** The current power-on's flash (replaced at each reboot). */
  flash: SimFlash;
  device: Device;
  url: string;
  /** Number of boots so far, this one included. */
  boots: number;
  /**
   * The current power-on's Wi-Fi radio (replaced at each reboot): the setup access point's state
   * (`ap()`), a client joining it (`joinAp(passphrase)`), the station's network (`joined()`).
   */
  wifi: HostWifi;
  /** The networks in range (SSID → passphrase), kept across reboots: tests may change them. */
  readonly networks: { [ssid: string]: string };
  /** The unit's pins: outputs written by the image, analog inputs to set. Kept across reboots. */
  readonly io: HostIo;
  /**
   * The label of the unit this simulator provisioned (its default password), also in `dir`/label.json
   * (mode 0600). Undefined when the unit was provisioned before this start.
   */
  label?: LabelRecord;
  /** Reboots from the same flash (after a power cut, too). */
  reboot(): Promise<Device>;
  stop(): void;
}

/**
 * Starts the image on the host board. With `dir`, the flash lives in `dir/flash.bin` and a second
 * start finds the same state; a unit is provisioned on its first start.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  // Built before the flash opens: a page that does not build leaves no file open.
  const assets = options.assets === undefined ? await buildAssets() : options.assets;
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

  const networks = options.wifi?.networks ?? { [SIM_HOME_NETWORK.ssid]: SIM_HOME_NETWORK.passphrase };
  const sim = { backing, boots: 0, io: createHostIo(), networks } as Simulator;
  for (const pin of Object.keys(options.analog ?? {})) sim.io.setAnalog(pin, options.analog![pin]!);
  const powerOn = (): Promise<Device> =>
    new Promise((resolve, reject) => {
      failBoot = (error) => {
        if (options.quiet) hush(-1);
        // The image booted but cannot serve (e.g. the port is taken): stop its periodic tasks too.
        if (sim.device) sim.device.stop();
        reject(error);
      };
      // The assets as `hoshi flash` would leave them, written before this power-on (its flash
      // counts only the device's own operations).
      if (assets) {
        const flasher = openSimFlash(backing, PICO_GEOMETRY);
        writeAssets(partition(flasher, HOST_PARTITIONS.assets.offset, HOST_PARTITIONS.assets.size), assets);
      }
      sim.flash = openSimFlash(backing, PICO_GEOMETRY);
      sim.boots++;
      if (options.provision !== false) {
        const p = partition(sim.flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size);
        const found = readProvisioning(p);
        if (!found.ok && found.reason === 'erased') {
          const { record, password } = newProvisioningRecord(undefined, { iterations: options.iterations });
          const label: LabelRecord = unitLabel(options.image.config.model, record, password, DEFAULT_SETUP_URL);
          // The label first: a unit whose default password is lost could never be logged into.
          const labelFile = options.dir ? join(options.dir, 'label.json') : undefined;
          if (labelFile) writeOwnerOnly(labelFile, labelJson(label));
          writeProvisioning(p, encodeProvisioning(record));
          sim.label = label;
          if (!options.quiet) {
            console.log('[host] provisioned a new simulated unit, serial ' + record.serial);
            if (labelFile) console.log('[host] default password and setup key of the new unit: see ' + labelFile);
          }
        }
      }
      // A new radio at every power-on: the access point closed, the station not joined.
      if (sim.wifi) sim.wifi.off();
      sim.wifi = hostWifi({ networks, apsta: options.wifi?.apsta });
      const board = createHostBoard({
        flash: sim.flash,
        net: { ...net, wifi: sim.wifi },
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
    sim.wifi.off();
    sim.device.stop();
    net.closeAll();
    backing.close();
  };
  await powerOn();
  return sim;
}

/** Writes `text` to `file` readable by its owner only (also when an older file was readable by others). */
function writeOwnerOnly(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
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

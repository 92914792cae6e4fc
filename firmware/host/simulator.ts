import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHostBoard, createHostIo, HOST_FLASH_SIZE, HOST_PARTITIONS, hostSlots, type HostIo } from '../../boards/host/board';
import { fileBacking, memoryBacking, openSimFlash, PICO_GEOMETRY, type FlashBacking, type SimFlash } from '../../boards/host/flash';
import { hostNet, type HostNetOptions } from '../../boards/host/net';
import { hostWifi, type HostWifi } from '../../boards/host/wifi';
import type { LoaderHandle } from '../../hal/board';
import { partition } from '../../hal/flash';
import { boot } from '../device/boot';
import { Boot, emptySlot, encodeBootRecord, readBootRecord, runningSlot, SlotState, writeBootRecord, type SlotInfo } from '../device/core/bootctl';
import { u32 } from '../device/core/bytes';
import type { Device, Image } from '../device/image';
import { runLoader, type LoaderHooks } from '../device/loader';
import { readProvisioning } from '../device/core/provisioning';
import { encodeProvisioning, newProvisioningRecord, writeProvisioning } from './provision';
import { DEFAULT_SETUP_URL, labelJson, unitLabel, type LabelRecord } from './labels';
import { buildAssets } from './assets';
import { composePayload } from './payload';
import { generateKeyPair } from './update/keys';

export interface SimulatorOptions {
  image: Image;
  /** Folder holding the simulated unit (flash.bin, uid); omitted = memory-backed flash. */
  dir?: string;
  /** Port on the unit's address; 0 (the default) picks a free one before the first boot, kept by later boots (and declared by the image). Overrides the image's port. */
  port?: number;
  /** The loopback address the unit listens on (default 127.0.0.1; boards/host/net.ts). */
  address?: string;
  /** Provision a new unit if the provisioning partition is erased (default true). */
  provision?: boolean;
  /** Silences the device's console output. */
  quiet?: boolean;
  /** Simulated analog inputs (pin → fraction of full scale). */
  analog?: { [pin: string]: number };
  /** The simulated network's limits (tests use a short request timeout), and the address, which `address` overrides. */
  netLimits?: HostNetOptions;
  /**
   * The assets container flashed into slot A with the image at the simulator's start (default: the
   * current `buildAssets()`); null leaves slot A's assets region as it is (tests of missing or
   * corrupt assets).
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
  /**
   * The update signing keys (32-byte Ed25519 public keys) a newly provisioned unit trusts (the
   * provisioning record's field 0A, docs/formats/provisioning.md); default none.
   */
  updateKeys?: Uint8Array[];
  /**
   * The unit's flash (tests: a copy of another unit's, to replay the same moment many times); the
   * options `dir` and `uid` then say nothing about it. Provisioned already unless erased.
   */
  backing?: FlashBacking;
  /** The unit's chip id with `backing` (default: random). */
  uid?: string;
  /** Called at every power-on with its flash, before the loader runs (tests schedule power cuts). */
  powerOn?: (flash: SimFlash, boot: number) => void;
  /** Trial boots a newly installed update gets (the loader's N, default 3). */
  tries?: number;
  /** How long an image on trial has to confirm before the loader reboots the unit, ms (default 60,000). */
  confirmWithinMs?: number;
}

/**
 * The network in range of a simulated unit unless the options say otherwise: a fixture of the
 * simulator (a simulated home network, not a secret of any unit), printed by `npm start` so that
 * the setup can be played through.
 */
export const SIM_HOME_NETWORK = { ssid: 'sim-home', passphrase: 'simulated home network' };

/**
 * The app text of slot A as the simulator flashes it: a fixed text naming the model and version of
 * the Image object the simulator was given, which its loader boots in-process. Any other app text
 * is a host slot app (firmware/host/build.ts buildHostSlotApp), imported as an ES module.
 */
export const HOST_MARKER = '/* hoshi host image ';

/** The boot control partition and the slots of a simulator's flash (boards/host/board.ts), for tests and tools. */
export { hostSlots };

export function hostMarker(image: Image): string {
  return HOST_MARKER + image.config.model + ' ' + image.config.firmwareVersion + ' */';
}

/** A simulated unit: one flash backing, rebooted as many times as needed. */
export interface Simulator {
  readonly backing: FlashBacking;
  /** The current power-on's flash (replaced at each reboot). */
  flash: SimFlash;
  device: Device;
  url: string;
  /** Number of boots so far, this one included (a boot the loader rebooted counts too). */
  boots: number;
  /** The slot running (0 = A, 1 = B) and what the loader told the image (board.loader). */
  slot: number;
  loader: LoaderHandle;
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
  /**
   * The device of the next boot that comes up (a reboot the device asks for, or the loader's after a
   * trial deadline); rejected if that power-on fails.
   */
  nextBoot(): Promise<Device>;
  stop(): void;
}

/** One power-on: its timers (the loader's trial deadline) and whether the image came up. */
interface PowerOn {
  up: boolean;
  trial: boolean;
  hushed: boolean;
  error: unknown;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** Gives the console back if this power-on silenced it (a quiet boot that never came up, too). */
  unhush(): void;
}

/** Consecutive boots that end in a reboot before the image comes up, after which the simulator gives up. */
const MAX_REBOOTS = 16;

/**
 * Starts the image on the host board. With `dir`, the flash lives in `dir/flash.bin` and a second
 * start finds the same state; a unit is provisioned on its first start.
 *
 * The simulator is the host's loader (firmware/device/loader.ts, docs/formats/update.md §7). At its
 * start it "flashes" the image as `hoshi flash` would: when the flash holds no boot record, or the
 * running slot is the factory slot A, slot A gets the marker (`hostMarker`) and the assets, and the
 * record names it; when an installed update runs, nothing is written (the log says which version
 * runs). At each power-on the loader picks the slot: the marker boots `options.image` in-process;
 * a host slot app (an update's payload) is imported from its slot and started.
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
    backing = options.backing ?? memoryBacking(HOST_FLASH_SIZE);
    uid = options.uid ?? randomBytes(8).toString('hex');
  }
  const say = (line: string): void => {
    if (!options.quiet) console.log(line);
  };
  flashFactory(backing, options.image, assets, say);

  let failBoot: (error: Error) => void = (error) => {
    throw error;
  };
  const net = hostNet((error) => failBoot(error), { ...options.netLimits, ...(options.address ? { address: options.address } : {}) });
  // Port 0: a free port now, so that the image declares the port it serves from its first boot;
  // later boots keep it, as a unit keeps its address.
  let port = options.port ?? 0;
  if (port === 0) port = await freePort(net.address);

  const networks = options.wifi?.networks ?? { [SIM_HOME_NETWORK.ssid]: SIM_HOME_NETWORK.passphrase };
  const sim = { backing, boots: 0, io: createHostIo(), networks } as Simulator;
  for (const pin of Object.keys(options.analog ?? {})) sim.io.setAnalog(pin, options.analog![pin]!);
  let current: PowerOn | undefined;
  // Everyone waiting for the next boot to come up: each power-on's caller (a power-on superseded by
  // a reboot is answered by the boot that replaced it) and `nextBoot`.
  let waiting: { resolve: (d: Device) => void; reject: (e: unknown) => void }[] = [];
  // Once stopped, the unit stays off: a reboot its image had scheduled (an update's restart, a
  // trial deadline) does not power it on again behind the test's back.
  let stopped = false;
  // Every device this unit booted: a power-off stops them all, so no image of an earlier power-on
  // (one superseded while it booted, or whose boot failed) keeps a timer or a server going.
  const booted = new Set<Device>();
  const rebootLater = (): void => {
    if (!stopped) sim.reboot().catch((error: Error) => say('[host] reboot failed: ' + error.message));
  };

  const shutdown = (): void => {
    if (current) {
      for (const t of current.timers) clearTimeout(t);
      current.unhush();
    }
    current = undefined;
    if (sim.device) booted.add(sim.device);
    for (const device of booted) device.stop();
    booted.clear();
    net.closeAll();
  };

  const powerOn = (): Promise<Device> =>
    new Promise<Device>((resolve, reject) => {
      waiting.push({ resolve, reject });
      let reboots = 0;
      const settle = (device: Device | undefined, error?: unknown): void => {
        const waiters = waiting;
        waiting = [];
        for (const w of waiters) {
          if (device) w.resolve(device);
          else w.reject(error);
        }
      };
      const attempt = (): void => {
        if (stopped) return;
        const session: PowerOn = {
          up: false,
          trial: false,
          hushed: false,
          error: undefined,
          timers: new Set(),
          unhush: () => {
            if (session.hushed) hush(-1);
            session.hushed = false;
          },
        };
        current = session;
        const live = (): boolean => current === session;
        const unhush = session.unhush;
        failBoot = (error) => {
          unhush();
          // The image booted but cannot serve (e.g. the port is taken): stop its periodic tasks too.
          if (sim.device) sim.device.stop();
          settle(undefined, error);
        };
        sim.flash = openSimFlash(backing, PICO_GEOMETRY);
        sim.boots++;
        if (options.powerOn) options.powerOn(sim.flash, sim.boots);
        if (options.provision !== false) provisionIfErased(sim, options);
        // A new radio at every power-on: the access point closed, the station not joined.
        if (sim.wifi) sim.wifi.off();
        sim.wifi = hostWifi({ networks, apsta: options.wifi?.apsta });
        const ready = (device: Device): void => {
          if (!live()) {
            device.stop();
            return;
          }
          unhush();
          session.up = true;
          if (port === 0) port = device.port();
          sim.url = 'http://' + net.address + ':' + device.port();
          settle(device);
        };
        const crashed = (error: unknown): void => {
          session.error = error;
          unhush();
        };
        const { bootctl, slots } = hostSlots(sim.flash);
        let ran = false;
        const hooks: LoaderHooks = {
          bootctl,
          slots,
          tries: options.tries ?? 3,
          confirmWithinMs: options.confirmWithinMs ?? 60000,
          feed: () => undefined,
          log: say,
          reboot: (reason) => {
            if (!live()) return;
            if (session.up) {
              // After the image came up (the trial deadline): a reboot like the device's own.
              rebootLater();
              return;
            }
            shutdown();
            if (reason === 'crash' && !session.trial) {
              // A device's watchdog would reboot it into the same crash for ever: the simulator says why.
              settle(undefined, session.error ?? new Error('the image crashed at boot'));
              return;
            }
            if (++reboots > MAX_REBOOTS) {
              settle(undefined, new Error('the unit rebooted ' + MAX_REBOOTS + ' times without coming up (' + reason + ')'));
              return;
            }
            setImmediate(attempt);
          },
          run: (slot, app, handle) => {
            ran = true;
            session.trial = handle.trial;
            sim.slot = slot;
            sim.loader = handle;
            const board = createHostBoard({
              flash: sim.flash,
              net: { ...net, wifi: sim.wifi },
              io: sim.io,
              uid,
              loader: handle,
              // Only the image of this power-on can restart the unit: a timer an earlier image left
              // behind dies with its power-on, as it would on a device.
              reboot: () => {
                if (live()) rebootLater();
              },
            });
            const text = Buffer.from(slots[slot]!.read(Boot.SLOT_HEADER, app)).toString('latin1');
            if (options.quiet) {
              hush(+1);
              session.hushed = true;
            }
            if (text.startsWith(HOST_MARKER)) {
              try {
                const device = boot(board, withPort(options.image, port), ready);
                booted.add(device);
                if (!live()) device.stop();
                else sim.device = device;
              } catch (error) {
                crashed(error);
                throw error;
              }
              return;
            }
            // A host slot app: a module of its own at each boot (a new URL), as a device starts afresh.
            const url = 'data:text/javascript;base64,' + Buffer.from(text + '\n// boot ' + sim.boots + '\n', 'latin1').toString('base64');
            import(url)
              .then((module: { start?: (board: unknown, ready: (d: Device) => void, port?: number) => Device }) => {
                if (!live()) return;
                if (typeof module.start !== 'function') throw new Error('the slot app exports no start()');
                const device = module.start(board, ready, port);
                booted.add(device);
                if (live()) sim.device = device;
                else device.stop();
              })
              .catch((error: unknown) => {
                if (!live() || session.up) return;
                crashed(error);
                say('[loader] slot ' + 'AB'[slot] + ' crashed at boot: ' + String((error as Error).message || error));
                hooks.reboot('crash');
              });
          },
          setTimer: (ms, fn) => {
            const t = setTimeout(() => {
              session.timers.delete(t);
              try {
                fn();
              } catch (error) {
                // The loader's deadline ran into a power cut: the unit is off, nothing more runs, and
                // a power-on still waiting for its image to come up ends with the cut.
                if (sim.flash.dead) {
                  if (live() && !session.up) settle(undefined, error);
                  return;
                }
                throw error;
              }
            }, ms);
            t.unref();
            session.timers.add(t);
            return t;
          },
          clearTimer: (t) => {
            clearTimeout(t as ReturnType<typeof setTimeout>);
            session.timers.delete(t as ReturnType<typeof setTimeout>);
          },
        };
        try {
          runLoader(hooks);
        } catch (error) {
          // Not the image's crash (runLoader catches those): a power cut or a broken flash.
          unhush();
          settle(undefined, error);
          return;
        }
        if (!ran && live()) settle(undefined, new Error('no slot holds an image to boot'));
      };
      attempt();
    });

  sim.reboot = () => {
    if (stopped) return Promise.reject(new Error('the simulated unit is stopped'));
    shutdown();
    return powerOn();
  };
  sim.nextBoot = () =>
    new Promise<Device>((resolve, reject) => {
      waiting.push({ resolve, reject });
    });
  sim.stop = () => {
    // Whoever still waits for a boot waits for good (a promise left pending keeps nothing alive).
    stopped = true;
    waiting = [];
    if (sim.wifi) sim.wifi.off();
    shutdown();
    backing.close();
  };
  await powerOn();
  return sim;
}

/** Provisions a new unit when the provisioning partition is erased (the label first). */
function provisionIfErased(sim: Simulator, options: SimulatorOptions): void {
  const p = partition(sim.flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size);
  const found = readProvisioning(p);
  if (found.ok || found.reason !== 'erased') return;
  // A simulated unit kept in a folder trusts a release key of its own, made now beside its label
  // (mode 0600): the demo signs updates with it. A product's release key is made with `hoshi keygen`
  // and kept offline, never next to a unit, and never in a repository.
  let updateKeys = options.updateKeys;
  if (!updateKeys && options.dir) {
    const pair = generateKeyPair();
    writeOwnerOnly(join(options.dir, 'release.key'), pair.privatePem);
    writeFileSync(join(options.dir, 'release.key.pub'), pair.publicPem);
    updateKeys = [pair.publicKey];
    if (!options.quiet) console.log('[host] the unit trusts the release key ' + join(options.dir, 'release.key') + ' (kid ' + Buffer.from(pair.kid).toString('hex') + ')');
  }
  const { record, password } = newProvisioningRecord(undefined, { iterations: options.iterations, updateKeys });
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

/**
 * "Flashes" `image` as `hoshi flash` would, before the first power-on (its own flash: the device's
 * power-on counts only the device's operations). When the flash holds no boot record, or the
 * running slot is the factory slot A (header L = 0, docs/formats/update.md §4): slot A gets the
 * header, the marker, NUL, FF and `assets` (null: its assets region is left as it is), and the
 * record names it (the factory record if there was none; otherwise slot A's info, the rest kept).
 * When an installed update runs, nothing is written.
 */
function flashFactory(backing: FlashBacking, image: Image, assets: Uint8Array | null, say: (line: string) => void): void {
  const flash = openSimFlash(backing, PICO_GEOMETRY);
  const { bootctl, slots } = hostSlots(flash);
  const record = readBootRecord(bootctl);
  const running = runningSlot(record);
  const slot = slots[0]!;
  if (record.seq !== 0 && !(running === 0 && u32(slot.read(0, 4), 0) === 0)) {
    const v = record.slots[running]!.version;
    say('[host] slot ' + 'AB'[running] + ' runs the installed update ' + v.join('.') + ' (the image given is not flashed)');
    return;
  }
  const marker = hostMarker(image);
  const payload = composePayload(marker, assets ?? undefined);
  // The bytes written from offset 0: the header (L = 0, FF), then the payload to whole pages (null
  // assets: the marker's sector only).
  const span = assets ? Math.ceil(payload.length / flash.writeSize) * flash.writeSize : 4096;
  const wanted = new Uint8Array(Boot.SLOT_HEADER + span).fill(0xff);
  wanted.fill(0, 0, 4);
  wanted.set(payload, Boot.SLOT_HEADER);
  if (!equal(slot.read(0, wanted.length), wanted)) {
    slot.erase(0, assets ? slot.size : Boot.SLOT_HEADER + 4096);
    for (let at = Boot.SLOT_HEADER; at < wanted.length; at += 4096) slot.write(at, wanted.subarray(at, Math.min(wanted.length, at + 4096)));
    slot.write(0, wanted.subarray(0, flash.writeSize));
  }
  const info: SlotInfo = emptySlot(SlotState.GOOD);
  info.version = image.config.firmwareVersion.split('.').map(Number);
  info.size = payload.length;
  info.app = marker.length;
  info.received = payload.length;
  info.digest = new Uint8Array(createHash('sha256').update(payload).digest());
  const next = readBootRecord(bootctl);
  next.slots[0] = info;
  next.active = 0;
  if (next.trial === 0) {
    next.trial = Boot.NO_TRIAL;
    next.tries = 0;
  }
  next.seq = record.seq;
  if (record.seq === 0 || !equal(encodeBootRecord(next), encodeBootRecord(record))) writeBootRecord(bootctl, next);
  flash.cut();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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

/** A port free on `address` now (the simulated unit takes it at once). */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function withPort(image: Image, port: number): Image {
  const http = { ...image.config.interfaces.http, port };
  return { ...image, config: { ...image.config, interfaces: { ...image.config.interfaces, http } } };
}

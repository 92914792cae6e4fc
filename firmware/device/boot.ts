import type { Board } from '../../hal/board';
import { readOnly } from '../../hal/flash';
import type { TcpServer } from '../../hal/net';
import { failureCode } from './core/errors';
import { serveHttp } from './core/http-server';
import type { Guard, ModuleContext, Route } from './core/module';
import { parseProvisioning, Record } from './core/provisioning';
import type { SecurityLog, StoreReserve } from './core/services';
import { defineImage, type Device, type Image } from './image';
import { deviceKeys, RANDOM_RESERVE, unitRandom } from '../../modules/keys/keys';
import { openStore } from '../../modules/store/store';
import { routeRequest } from './router';
import { message, useMessages } from './core/messages';
import { openAssets } from './core/assets';

/** How often boot tries to listen while the board has no network, ms (a const enum: the bundler writes the values into the code). */
const enum Listen {
  LISTEN_RETRY_MS = 5000,
}

const enum Boot {
  /** Security events kept (as kind, detail pairs) until a log opens. */
  EARLY_EVENTS = 32,
}

/**
 * Boots an image on a board:
 * 1. checks the configuration on the host (programming errors throw before anything opens; a
 *    device runs the image its build checked: image.ts);
 * 2. closes the consoles as the configuration asks and keeps the runtime's report;
 * 3. reads the provisioning record: an unprovisioned or corrupt unit still boots, serving public
 *    routes only, and says why (modules that need the record do not start);
 * 3b. opens the state store (sealed with the device key when provisioned) and says what it skipped;
 * 4. starts each module in order; each adds its routes;
 * 5. opens the HTTP server on the declared port once the board has a network, and calls `ready`
 *    once it listens.
 *
 * A `let` holding a function expression, not a function declaration: a device boots once, so boot
 * drops its own binding as it starts and, on Kaluma, its bytecode (about 900 bytes) is freed when
 * it returns; the closures it made hold their own code and its variables. The host (simulator,
 * tests) boots many times: the statement labelled HOSHI_HOST, which device bundles drop
 * (firmware/host/build.ts), keeps the binding there.
 */
export let boot = function (board: Board, image: Image, ready?: (device: Device) => void): Device {
  let once = true;
  HOSHI_HOST: once = false;
  if (once) boot = undefined as never;
  defineImage(image);
  // The assets first: on Kaluma the messages of everything below are read from them (core/messages.ts).
  const assetsFlash = board.partitions.assets ? readOnly(board.partitions.assets, message('the assets partition')) : undefined;
  const assets = openAssets(assetsFlash, once);
  useMessages(assets);
  if (board.useAssets) board.useAssets(assets);
  const config = image.config;
  const consoleReport = board.console.restrict(config.interfaces.console);
  for (let i = 0; i < consoleReport.notClosed.length; i++) console.log('[hoshi] console left open: ' + consoleReport.notClosed[i]);

  // core/provisioning readProvisioning, written out; a device parses once (modules get the record
  // from their context), so the parser is released.
  const provisioningFlash = board.partitions.provisioning;
  const provisioning = parseProvisioning(provisioningFlash.read(0, Record.READ < provisioningFlash.size ? Record.READ : provisioningFlash.size), once);
  // The code only: docs/formats/provisioning.md says what each means (the table's sentences would
  // take a kilobyte of Kaluma's heap for one line of log).
  if (!provisioning.ok) console.log('[hoshi] no valid provisioning record (' + provisioning.reason + '): public routes only');
  const record = provisioning.ok ? provisioning.record : undefined;

  // Modules see the provisioning partition read-only: only the factory tool writes it. The board
  // is their prototype (one property held, not a copy of each).
  const moduleBoard = Object.create(board) as { -readonly [K in keyof Board]: Board[K] };
  // The board's partitions are the prototype too: those made when first asked for (a Kaluma
  // board's update slots) stay unmade until a module asks.
  const parts = Object.create(board.partitions) as { -readonly [K in keyof Board['partitions']]: Board['partitions'][K] };
  parts.provisioning = readOnly(board.partitions.provisioning, message('the provisioning partition'));
  parts.assets = assetsFlash;
  moduleBoard.partitions = parts;
  // The state store: sealed with the device key when the unit is provisioned (modules/keys).
  // Every module's declared reserve (and the DRBG carry's) is room no other key can take.
  const reserve: StoreReserve[] = record ? [RANDOM_RESERVE] : [];
  const keptKeys: string[] = [];
  for (let i = 0; i < image.modules.length; i++) {
    const r = image.modules[i].reserve;
    if (r) for (let j = 0; j < r.length; j++) reserve.push(r[j]);
    const k = image.modules[i].keeps;
    if (k) for (let j = 0; j < k.length; j++) keptKeys.push(k[j]);
  }
  const keys = record ? deviceKeys(board.crypto, record.deviceSecret, once) : undefined;
  const store = openStore(board.partitions.state, keys ? { seal: keys.cipher('store-seal'), reserve: reserve, once: once, code: assets } : { reserve: reserve, once: once, code: assets });
  for (let i = 0; i < store.report.skipped.length; i++) console.log('[hoshi] store: ' + store.report.skipped[i]);
  const random = record ? unitRandom(board.crypto, record.drbgSeed, board.entropy, store, once) : undefined;

  if (assets.problem()) console.log('[hoshi] assets: ' + assets.problem());

  const routes: Route[] = [];
  const serving: (() => void)[] = [];
  let guard: Guard | undefined;
  const timers: ReturnType<typeof setInterval>[] = [];
  // Security events before the log opens (boot's own, modules' at start), written when it does.
  let log: SecurityLog | undefined;
  let early: string[] | undefined = [];
  const wipeTasks: (() => void)[] = [];
  const context: ModuleContext = {
    board: moduleBoard,
    config: config,
    provisioning: record,
    store: store,
    keys: keys,
    random: random,
    assets: assets,
    // Function expressions, not arrows, for closures that live as long as the device (8 bytes each on Kaluma).
    guard: function (g: Guard): void {
      if (guard) throw new Error('a second access guard');
      guard = g;
    },
    route: function (route: Route): void {
      for (let i = 0; i < routes.length; i++) {
        if (routes[i].path === route.path && routes[i].method === route.method) throw new Error('route ' + route.method + ' ' + route.path + ': declared twice');
      }
      routes.push(route);
    },
    // A task's exception is reported (`task-failed`) as a route handler's is, and the task runs
    // again at its next period. Unreported, it would reach the runtime, which on Espruino removes the
    // interval for good.
    whenServing: function (task: () => void): void {
      serving.push(task);
    },
    status: {},
    event: function (kind: string, detail?: string): void {
      if (log) log.event(kind, detail);
      else if (early && early.length < Boot.EARLY_EVENTS) early.push(kind, detail === undefined ? '' : detail);
    },
    securityLog: function (l: SecurityLog): void {
      if (log) throw new Error('a second security log');
      log = l;
      const q = early || [];
      early = undefined;
      for (let i = 0; i < q.length; i += 2) l.event(q[i], q[i + 1] || undefined);
    },
    onWipe: function (task: () => void): void {
      wipeTasks.push(task);
    },
    wipeTasks: wipeTasks,
    keptKeys: keptKeys,
    every: function (ms: number, task: () => void): void {
      timers.push(
        setInterval(function (): void {
          try {
            task();
          } catch (error) {
            console.log('[hoshi] task-failed: ' + String((error as Error).message || error));
          }
        }, ms),
      );
    },
  };
  // The boot itself is the first security event: which slot runs, and whether on trial.
  const loader = board.loader;
  context.event('boot', config.firmwareVersion + (loader ? ' ' + 'AB'.charAt(loader.slot) + (loader.trial ? ' trial' : '') : ''));
  const notes = loader && loader.notes;
  if (notes) for (let i = 0; i + 1 < notes.length; i += 2) context.event(notes[i], notes[i + 1]);
  try {
    for (let i = 0; i < image.modules.length; i++) image.modules[i].start(context);
  } catch (error) {
    // The boot fails (the device restarts): the periodic tasks the modules set going stop with it.
    for (let i = 0; i < timers.length; i++) clearInterval(timers[i]);
    throw error;
  }
  // No log in the image: the early events are dropped.
  early = undefined;
  // What boot and the modules wrote is written: the store lets go of its writer (a Kaluma image reads
  // it again at the next write, and keeps it until the next of these ticks: modules/store/write-code.ts).
  store.idle();
  context.every(30000, store.idle);
  // On a device the modules have started for good: their factories and start functions can go
  // (each factory let go of its own binding), and with them their code, on Kaluma about 4 KB.
  if (once) image.modules.splice(0, image.modules.length);

  let server: TcpServer | undefined;
  let listening = false;
  let stopped = false;
  let waiting = '';
  const device: Device = {
    config: config,
    provisioned: provisioning.ok,
    provisioningProblem: provisioning.ok ? undefined : provisioning.reason,
    serial: record ? record.serial : undefined,
    console: consoleReport,
    routes: routes,
    port: function (): number {
      return server && listening ? server.port() : 0;
    },
    stop: function (): void {
      stopped = true;
      if (server) server.close();
      server = undefined;
      for (let i = 0; i < timers.length; i++) clearInterval(timers[i]);
    },
  };
  // Opens the HTTP server once the board has a network: at boot, at every link-up, and every few
  // seconds until it listens (a server then outlives lost links: hal/net.ts).
  let retry: ReturnType<typeof setInterval> | undefined;
  const open = function (): void {
    if (server || stopped) return;
    try {
      server = serveHttp(
        board.net,
        config.interfaces.http,
        function (head) {
          return routeRequest(routes, guard, head);
        },
        function (listened: TcpServer): void {
          server = listened;
          listening = true;
          if (retry !== undefined) clearInterval(retry);
          console.log('[hoshi] ' + config.model + ' ' + config.firmwareVersion + ' listening on port ' + device.port());
          while (serving.length) {
            try {
              serving.shift()!();
            } catch (error) {
              console.log('[hoshi] task-failed: ' + String((error as Error).message || error));
            }
          }
          if (ready) ready(device);
        },
      );
    } catch (error) {
      server = undefined;
      const code = failureCode(error);
      if (code === 'net-absent') {
        // No network on this board: the interface stays closed, the rest of the image runs.
        console.log('[hoshi] ' + config.model + ' ' + config.firmwareVersion + ' without its HTTP interface: ' + (error as Error).message);
        stopped = true;
        return;
      }
      if (code !== 'net-down') throw error;
      if (waiting !== (error as Error).message) console.log('[hoshi] HTTP server waits for the network: ' + (error as Error).message);
      waiting = (error as Error).message;
    }
  };
  board.net.onLink(function (up: boolean): void {
    if (up) open();
  });
  try {
    open();
  } catch (error) {
    // The boot fails here too: the modules' periodic tasks stop with it.
    device.stop();
    throw error;
  }
  if (!server && !stopped) {
    retry = setInterval(open, Listen.LISTEN_RETRY_MS);
    timers.push(retry);
  }
  return device;
};

import type { Board } from '../../hal/board';
import type { ConsoleMode, ConsoleReport } from '../../hal/console';
import type { HttpRequest, HttpResponse } from '../../hal/net';
import type { DeviceKeys, UnitRandom } from '../../modules/keys/keys';
import type { Store } from '../../modules/store/store';
import type { ProvisioningReason, ProvisioningRecord } from './provisioning';

/**
 * An image's declarative configuration: what the product is and which interfaces it opens.
 * Every field is public and ends up in the device-info endpoint and the ★1 evidence.
 */
export interface ImageConfig {
  /** Product model number as printed on the body (S1.1-10). */
  model: string;
  vendor: string;
  /** Firmware version, "MAJOR.MINOR.PATCH" (S1.1-06). */
  firmwareVersion: string;
  /** Last day security updates are promised, "YYYY-MM-DD" (S1.1-16). */
  supportEnd: string;
  /** Where the vulnerability disclosure policy is published (S1.1-05). */
  vulnerabilityDisclosureUrl: string;
  /** Every interface the image opens; anything not listed stays closed (S1.1-13). */
  interfaces: InterfacesConfig;
}

export interface InterfacesConfig {
  http: { port: number; maxBodyBytes: number; maxHeaderBytes: number };
  /** What to do with the runtime's REPLs at boot. Production images use "off". */
  console: ConsoleMode;
}

/**
 * Who may call a route. "public" routes serve only public information; every other level is
 * refused until an authentication module grants it (deny by default, S1.1-01).
 */
export type Access = 'public' | 'user' | 'admin';

export type RouteHandler = (request: HttpRequest, reply: (response: HttpResponse) => void) => void;

export interface Route {
  method: string;
  path: string;
  access: Access;
  handler: RouteHandler;
}

/** What a module sees at start: the board, the configuration and the route table. */
export interface ModuleContext {
  readonly board: Board;
  readonly config: ImageConfig;
  /** The unit's provisioning record, or undefined if the unit is not (validly) provisioned. */
  readonly provisioning: ProvisioningRecord | undefined;
  /**
   * The device's state store (modules/store) over the board's state partition. Sealed values need
   * the device key: on an unprovisioned unit the store holds plain values only.
   */
  readonly store: Store;
  /** The unit's key hierarchy, or undefined if the unit is not provisioned. */
  readonly keys: DeviceKeys | undefined;
  /** The unit's random bytes (persisted DRBG), or undefined if the unit is not provisioned. */
  readonly random: UnitRandom | undefined;
  /** Adds a route; every route states its access level. */
  route(route: Route): void;
  /** Runs `task` every `ms` milliseconds until the device stops (modules use this, not setInterval). */
  every(ms: number, task: () => void): void;
}

/** A security or product module: a name and a start function. */
export interface HoshiModule {
  readonly name: string;
  start(context: ModuleContext): void;
}

/** An image: configuration plus the modules it is composed of, in start order. */
export interface Image {
  config: ImageConfig;
  modules: HoshiModule[];
}

/** The running device, as boot leaves it. */
export interface Device {
  readonly config: ImageConfig;
  /** False when the provisioning record is missing or refused: such a unit serves public routes only. */
  readonly provisioned: boolean;
  /** Why the provisioning record was refused, when it was. */
  readonly provisioningProblem: ProvisioningReason | undefined;
  readonly serial: string | undefined;
  readonly console: ConsoleReport;
  readonly routes: Route[];
  /** Port the HTTP server listens on (0 until it is listening). */
  port(): number;
  /** Closes the HTTP server and stops every module's periodic task. */
  stop(): void;
}

const VERSION = /^\d+\.\d+\.\d+$/;
// Espruino's regular expressions have no {n} quantifiers: spelled out.
const DATE = /^\d\d\d\d-\d\d-\d\d$/;

/**
 * Checks an image's configuration and returns the image. Bad configuration is a programming
 * error: it throws naming the field, at build time on the host as well as at boot.
 */
export function defineImage(image: Image): Image {
  const c = image.config;
  if (!c || typeof c.model !== 'string' || c.model.length === 0) throw new Error('config.model: a model number is required');
  if (typeof c.vendor !== 'string' || c.vendor.length === 0) throw new Error('config.vendor: required');
  if (!VERSION.test(c.firmwareVersion)) throw new Error('config.firmwareVersion: must be MAJOR.MINOR.PATCH');
  if (!DATE.test(c.supportEnd)) throw new Error('config.supportEnd: must be YYYY-MM-DD');
  if (c.vulnerabilityDisclosureUrl.indexOf('https://') !== 0) throw new Error('config.vulnerabilityDisclosureUrl: must be an https:// URL');
  const http = c.interfaces && c.interfaces.http;
  if (!http || !(http.port >= 0 && http.port < 65536)) throw new Error('config.interfaces.http.port: 0-65535');
  if (!(http.maxBodyBytes > 0) || !(http.maxHeaderBytes > 0)) throw new Error('config.interfaces.http: maxBodyBytes and maxHeaderBytes must be positive');
  const mode = c.interfaces.console;
  if (mode !== 'off' && mode !== 'locked' && mode !== 'open') throw new Error('config.interfaces.console: off, locked or open');
  for (let i = 0; i < image.modules.length; i++) {
    const m = image.modules[i];
    if (!m || typeof m.name !== 'string' || typeof m.start !== 'function') throw new Error('modules[' + i + ']: not a module');
  }
  return image;
}

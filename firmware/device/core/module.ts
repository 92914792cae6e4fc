import type { Board } from '../../../hal/board';
import type { ConsoleMode } from '../../../hal/console';
import type { Assets } from './assets';
import type { ProvisioningRecord } from './provisioning';
import type { KeyRing, SecurityLog, Store, StoreReserve, UnitRandom } from './services';

/**
 * The module contract: what an image declares, what a module sees when it starts, and how it
 * answers HTTP. Everything a module imports from the kit is here or in core/services.ts, below
 * the modules; boot (firmware/device) wires it up.
 */

/**
 * An image's declarative configuration: what the product is and which interfaces it opens.
 * Every field is public and ends up in the device-info endpoint and the ★1 evidence.
 */
export interface ImageConfig {
  /** Product model number as printed on the body (S1.1-10). */
  model: string;
  /** The product's hardware revision as printed on the body or its board (S1.1-10), e.g. "A". */
  hardwareRevision: string;
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

export interface HttpConfig {
  port: number;
  /** Largest request body, bytes; a larger one is refused (413) before it is read. */
  maxBodyBytes: number;
  /** Largest request head (request line, headers, blank line), bytes: past it 414 or 431. */
  maxHeaderBytes: number;
  /**
   * Host names the device answers to besides IP literals (e.g. "plug.local"); a request naming any
   * other host is refused (421), which defeats DNS rebinding. Optional; default none.
   */
  hostnames?: string[];
}

/**
 * Every interface the image opens, with what serves it (S1.1-13, docs/interfaces.md). Whatever is
 * absent is closed: the optional fields default to none, off, false. The board closes what it can
 * of the rest at boot (hal/console.ts) and reports what it cannot; modules/interfaces publishes the
 * result, and `hoshi`'s port scan (firmware/host/port-scan.ts) checks a running unit against it.
 */
export interface InterfacesConfig {
  /** The HTTP server: TCP `http.port`. */
  http: HttpConfig;
  /** What to do with the runtime's REPLs at boot. Production images use "off". */
  console: ConsoleMode;
  /** Other TCP ports the image listens on, each with what serves it. Default none. */
  tcp?: ListenerDeclaration[];
  /**
   * UDP ports the image listens on, each with what serves it. Default none. The Wi-Fi station's
   * DHCP and DNS clients are outgoing: they belong in `outgoing`.
   */
  udp?: ListenerDeclaration[];
  /** Bluetooth: what it is on for (e.g. "provisioning from the phone app"). Absent: off. */
  bluetooth?: string;
  /**
   * The board's USB port: what the product uses it for (e.g. "the console, development units
   * only"). Absent: the product needs none (a board whose runtime keeps its USB REPL open reports
   * it as not closed).
   */
  usb?: string;
  /**
   * The Wi-Fi setup access point (modules/network/wifi opens it while the unit has no Wi-Fi
   * credentials: WPA2, the board at 192.168.4.1, its DHCP server on UDP 67). Default false.
   */
  setupAp?: boolean;
  /**
   * Connections the device opens itself, each with its purpose, e.g. "DHCP and DNS: the Wi-Fi
   * station's address and names", "update pulls: HTTP to the release URL (modules/ota)". Default none.
   */
  outgoing?: string[];
}

/** A listening port and what serves it. */
export interface ListenerDeclaration {
  /** 1-65535. */
  port: number;
  /** What listens there and why, e.g. "CoAP: the sensor's readings". */
  purpose: string;
}

/** A request as a route sees it. Everything in it is untrusted input. */
export interface HttpRequest {
  /** Method as sent (HEAD reaches GET routes as "HEAD"). */
  readonly method: string;
  readonly path: string;
  /** Query string without "?". */
  readonly query: string;
  /** Header names lower-case. */
  readonly headers: { [lowerCaseName: string]: string };
  readonly body: Uint8Array;
  /**
   * Raw routes only (`Route.raw`): the opened protected request that travelled in the Hoshi-Channel
   * header, while `body` holds the request's bytes as sent.
   */
  readonly sealed?: Uint8Array;
  /** Address of the peer, when the runtime tells it ("" otherwise). */
  readonly remote: string;
}

export interface HttpResponse {
  status: number;
  headers?: { [name: string]: string };
  /** A string is sent as UTF-8. */
  body?: Uint8Array | string;
}

/**
 * Who may call a route. "public" routes serve only public information; every other level is
 * refused unless the access guard (modules/accounts) grants it (deny by default, S1.1-01).
 */
export type Access = 'public' | 'user' | 'admin';

export type RouteHandler = (request: HttpRequest, reply: (response: HttpResponse) => void) => void;

/** What a guard sees of a request: its head only (access is decided before any of the body is read). */
export interface RequestHeadView {
  readonly method: string;
  readonly path: string;
  readonly headers: { [lowerCaseName: string]: string };
}

/**
 * Decides whether a request may reach a route that is not public: undefined grants it, a response
 * refuses it, and a handler grants it through that handler, which stands between the route and the
 * request (modules/accounts: the admin channel opens the request's body and protects the answer).
 * One module (modules/accounts) installs the guard; without one, every non-public route is refused
 * (deny by default, S1.1-01).
 */
export type Guard = (head: RequestHeadView, route: Route) => HttpResponse | RouteHandler | undefined;

export interface Route {
  method: string;
  path: string;
  access: Access;
  handler: RouteHandler;
  /**
   * The body is public data authenticated by other means (an update package's chunks: signed),
   * so the admin channel leaves it as sent: the protected request, which authenticates the
   * request and carries what the handler must trust about the body, travels in the Hoshi-Channel
   * header (docs/formats/channel.md). Only for non-public routes.
   */
  raw?: boolean;
}

/** What a module sees at start: the board, the configuration, the kit's services and the route table. */
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
  readonly keys: KeyRing | undefined;
  /** The unit's random bytes (persisted DRBG), or undefined if the unit is not provisioned. */
  readonly random: UnitRandom | undefined;
  /** The read-only data written with the image (core/assets.ts): the admin page, the password filter. */
  readonly assets: Assets;
  /** Installs the access guard of every non-public route; a second guard is a programming error. */
  guard(guard: Guard): void;
  /** Adds a route; every route states its access level. */
  route(route: Route): void;
  /**
   * Runs `task` every `ms` milliseconds until the device stops (modules use this, not setInterval).
   * A task that throws is reported (`task-failed`) like a route handler that throws, and runs again
   * at its next period.
   */
  every(ms: number, task: () => void): void;
  /** Runs `task` once, when the HTTP server first listens (the admin API is up). */
  whenServing(task: () => void): void;
  /**
   * Public status fields modules publish for the device-info endpoint (e.g. the security counter
   * and the update's phase): public by definition, as everything `/api/info` shows.
   */
  readonly status: { [field: string]: string | number | boolean };
  /**
   * Records a security event (core/services.ts `SecurityLog.event`) in the security log, if the
   * image has one (modules/audit). Events recorded before the log opens (at boot) are kept, up to
   * 16, and written when it does.
   */
  event(kind: string, detail?: string): void;
  /** Installs the log that `event` writes to (modules/audit); a second log is a programming error. */
  securityLog(log: SecurityLog): void;
  /**
   * Registers what a module does in a factory wipe (modules/wipe) besides the store keys it keeps
   * (`HoshiModule.keeps`): e.g. the security log forgets its entries. Tasks run in registration
   * order, after the wiped keys are deleted; each must be idempotent (a wipe cut by a power loss is
   * resumed at the next boot and runs them again).
   */
  onWipe(task: () => void): void;
  /** The tasks registered with `onWipe` (modules/wipe runs them). */
  readonly wipeTasks: (() => void)[];
  /** The store keys a factory wipe keeps: every module's `keeps`, collected by boot. */
  readonly keptKeys: string[];
}

/** A security or product module: a name, the store room it needs, and a start function. */
export interface HoshiModule {
  readonly name: string;
  /**
   * Keys the module must always be able to write (security state: counters, carries, credentials),
   * each with its largest value: the store keeps room for them that other keys cannot take.
   */
  readonly reserve?: StoreReserve[];
  /**
   * Store keys that are the device's own, not its user's (e.g. the lockout's failure counter): a
   * factory wipe (modules/wipe) keeps them and deletes every other key.
   */
  readonly keeps?: string[];
  start(context: ModuleContext): void;
}

/** JSON reply helper: the one way modules answer with data. */
export function json(status: number, value: unknown): HttpResponse {
  return { status: status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

/** Error reply with a specific reason: `{"error": code, "reason": text}`, the one shape of every refusal. */
export function problem(status: number, code: string, reason: string): HttpResponse {
  return json(status, { error: code, reason: reason });
}

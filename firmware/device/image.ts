import type { ConsoleReport } from '../../hal/console';
import type { HoshiModule, ImageConfig, InterfacesConfig, Route } from './core/module';
import type { ProvisioningReason } from './core/provisioning';

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

/**
 * Checks an image's configuration and returns the image. Bad configuration is a programming
 * error: it throws naming the field, on the host: when `hoshi build` loads the image (so also
 * `hoshi flash` and the engine check, which build through it), and when the host simulator boots
 * it.
 *
 * Device bundles do not carry the checks: the build drops statements labelled `HOSHI_HOST`
 * (firmware/host/build.ts, esbuild `dropLabels`), and with them `checkImage`. The image a device
 * runs is the one its build checked, and on Kaluma the checks' bytecode and messages would stay in
 * the heap for the program's life (about 1.4 KB) to prove again what cannot have changed since.
 */
export function defineImage(image: Image): Image {
  HOSHI_HOST: checkImage(image);
  return image;
}

const VERSION = /^\d+\.\d+\.\d+$/;
// Espruino's regular expressions have no {n} quantifiers: spelled out.
const DATE = /^\d\d\d\d-\d\d-\d\d$/;

function checkImage(image: Image): void {
  const c = image.config;
  if (!c || typeof c.model !== 'string' || c.model.length === 0) throw new Error('config.model: required');
  if (typeof c.vendor !== 'string' || c.vendor.length === 0) throw new Error('config.vendor: required');
  if (typeof c.hardwareRevision !== 'string' || c.hardwareRevision.length === 0) throw new Error('config.hardwareRevision: required');
  if (!VERSION.test(c.firmwareVersion)) throw new Error('config.firmwareVersion: must be MAJOR.MINOR.PATCH');
  if (!DATE.test(c.supportEnd)) throw new Error('config.supportEnd: must be YYYY-MM-DD');
  if (c.vulnerabilityDisclosureUrl.indexOf('https://') !== 0) throw new Error('config.vulnerabilityDisclosureUrl: an https:// URL');
  const http = c.interfaces && c.interfaces.http;
  if (!http || !(http.port >= 0 && http.port < 65536)) throw new Error('config.interfaces.http.port: 0-65535');
  if (!(http.maxBodyBytes > 0) || !(http.maxHeaderBytes > 0)) throw new Error('config.interfaces.http: limits must be positive');
  const mode = c.interfaces.console;
  if (mode !== 'off' && mode !== 'locked' && mode !== 'open') throw new Error('config.interfaces.console: off, locked or open');
  checkInterfaces(c.interfaces);
  for (let i = 0; i < image.modules.length; i++) {
    const m = image.modules[i];
    if (!m || typeof m.name !== 'string' || typeof m.start !== 'function') throw new Error('modules[' + i + ']: not a module');
  }
}

/** The declared interfaces besides `http` and `console` (core/module.ts `InterfacesConfig`): absent means closed. */
const INTERFACE_FIELDS = ['http', 'console', 'tcp', 'udp', 'bluetooth', 'usb', 'setupAp', 'outgoing'];

function checkInterfaces(d: InterfacesConfig): void {
  const at = 'config.interfaces.';
  // A misspelt field would leave an interface undeclared while a module opens it: refused.
  const fields = Object.keys(d);
  for (let i = 0; i < fields.length; i++) if (INTERFACE_FIELDS.indexOf(fields[i]) < 0) throw new Error(at + fields[i] + ': not an interface (' + INTERFACE_FIELDS.join(', ') + ')');
  const ports: { [key: string]: boolean } = {};
  ports['tcp/' + d.http.port] = true;
  const listeners = function (kind: 'tcp' | 'udp'): void {
    const list = d[kind];
    if (list === undefined) return;
    if (!Array.isArray(list)) throw new Error(at + kind + ': a list of {port, purpose}');
    for (let i = 0; i < list.length; i++) {
      const l = list[i];
      const field = at + kind + '[' + i + ']';
      if (!l || typeof l !== 'object') throw new Error(field + ': {port, purpose}');
      if (typeof l.port !== 'number' || !(l.port >= 1 && l.port <= 65535) || Math.floor(l.port) !== l.port) throw new Error(field + '.port: 1-65535');
      if (typeof l.purpose !== 'string' || l.purpose.trim().length === 0) throw new Error(field + '.purpose: what serves the port (required)');
      const keys = Object.keys(l);
      for (let k = 0; k < keys.length; k++) if (keys[k] !== 'port' && keys[k] !== 'purpose') throw new Error(field + '.' + keys[k] + ': unknown field (port, purpose)');
      if (ports[kind + '/' + l.port]) throw new Error(field + '.port: ' + kind.toUpperCase() + ' ' + l.port + ' is declared twice' + (kind === 'tcp' && l.port === d.http.port ? ' (it is the HTTP port)' : ''));
      ports[kind + '/' + l.port] = true;
    }
  };
  listeners('tcp');
  listeners('udp');
  const purpose = function (field: 'bluetooth' | 'usb'): void {
    const v = d[field];
    if (v !== undefined && (typeof v !== 'string' || v.trim().length === 0)) throw new Error(at + field + ': what it is on for (a string), or absent for off');
  };
  purpose('bluetooth');
  purpose('usb');
  if (d.setupAp !== undefined && typeof d.setupAp !== 'boolean') throw new Error(at + 'setupAp: true or false');
  const out = d.outgoing;
  if (out !== undefined) {
    if (!Array.isArray(out)) throw new Error(at + 'outgoing: a list of purposes');
    for (let i = 0; i < out.length; i++) if (typeof out[i] !== 'string' || out[i].trim().length === 0) throw new Error(at + 'outgoing[' + i + ']: what the connection is for (a string)');
  }
}

import { connect, Socket } from 'node:net';
import type { InterfacesConfig } from '../device/core/module';

/**
 * The TCP port scan of S1.1-13 (docs/interfaces.md): which ports of a unit accept a connection, and
 * whether each is one its image declares (`config.interfaces`: the HTTP server's port and `tcp`).
 * Used by test/interfaces-scan.test.ts against the host simulator, and meant for a conformance
 * command against a real unit on the LAN (one address, its own: no control address needed, and a
 * small concurrency, since a unit's lwIP has a handful of sockets).
 *
 * A port is open when a TCP connection to it completes; refused (RST), unreachable or silent past
 * the timeout, it is closed. A connection the host made to itself (on loopback, the kernel may pick
 * the scanned port as the source port: TCP's simultaneous open) is not an open port.
 */

export interface ScanOptions {
  /** First and last port scanned (default 1 and 65535). */
  from?: number;
  to?: number;
  /** Connection attempts at once (default 512: loopback answers at once; use 4-8 for a unit). */
  concurrency?: number;
  /** How long a port may stay silent before it counts as closed (filtered), ms (default 1000). */
  timeoutMs?: number;
}

/** Whether `address`:`port` accepts a TCP connection within `timeoutMs`. */
export function probeTcp(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let done = false;
    const finish = (open: boolean): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(!(socket.localPort === port && socket.localAddress === socket.remoteAddress)));
    socket.once('error', () => finish(false));
  });
}

/**
 * The ports of `address` that accept a TCP connection, ascending. Written with callbacks, not a
 * promise per port: on loopback the scan's own JavaScript is most of its time (about 70 µs a port).
 */
export function scanTcp(address: string, options: ScanOptions = {}): Promise<number[]> {
  const from = options.from ?? 1;
  const to = options.to ?? 65535;
  if (!(from >= 1 && to <= 65535 && from <= to)) return Promise.reject(new RangeError('scan: ports ' + from + '-' + to + ' (1-65535)'));
  const timeoutMs = options.timeoutMs ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 512);
  return new Promise((resolve) => {
    const open: number[] = [];
    let next = from;
    let active = 0;
    const start = (): void => {
      while (active < concurrency && next <= to) {
        const port = next++;
        active++;
        const socket = new Socket();
        let done = false;
        const finish = (accepted: boolean): void => {
          if (done) return;
          done = true;
          if (accepted && !(socket.localPort === port && socket.localAddress === socket.remoteAddress)) open.push(port);
          socket.destroy();
          active--;
          if (next > to && active === 0) resolve(open.sort((a, b) => a - b));
          else start();
        };
        socket.once('connect', () => finish(true));
        socket.once('error', () => finish(false));
        socket.setTimeout(timeoutMs, () => finish(false));
        socket.connect(port, address);
      }
    };
    start();
  });
}

export interface ListenerScanOptions extends ScanOptions {
  /**
   * An address of the same host where the unit does not listen (the host simulator: the unit on
   * 127.0.0.x, the control on another 127.0.0.y): a port open there too belongs to another
   * process's wildcard listener (0.0.0.0 or ::, reachable on every loopback address), not the unit.
   */
  control?: string;
  /** How many times a port found is probed again, on the unit and on the control (default 2). */
  rechecks?: number;
}

export interface ListenerScan {
  address: string;
  control?: string;
  /** The unit's open ports: open at the scan and at every recheck, and (with a control) closed there each time. */
  open: number[];
  /** Ports open at the unit's address but left out: open on the control too, or not open again at a recheck. */
  others: number[];
  /** Connection attempts made, and how long the whole scan took, ms. */
  probes: number;
  ms: number;
}

/**
 * The TCP ports the unit at `address` listens on: every port scanned, then each port found probed
 * on the control address (when given) and again on both `rechecks` times, so that a listener of
 * another process (on every address, or opening or closing during the scan) or a self-connection
 * is not taken for the unit's.
 */
export async function scanListeners(address: string, options: ListenerScanOptions = {}): Promise<ListenerScan> {
  const started = Date.now();
  const from = options.from ?? 1;
  const to = options.to ?? 65535;
  const timeoutMs = options.timeoutMs ?? 1000;
  const control = options.control;
  // The whole range on the unit's address only: a port open there and on the control address is
  // a wildcard listener's, and the probes of each port found tell it (both at once, each time).
  const found = await scanTcp(address, options);
  let probes = to - from + 1;
  const open: number[] = [];
  const others: number[] = [];
  for (const port of found) {
    let unit = true;
    for (let r = 0; unit && r <= (options.rechecks ?? 2); r++) {
      const [here, there] = await Promise.all([r === 0 ? Promise.resolve(true) : probeTcp(address, port, timeoutMs), control ? probeTcp(control, port, timeoutMs) : Promise.resolve(false)]);
      probes += (r === 0 ? 0 : 1) + (control ? 1 : 0);
      unit = here && !there;
    }
    (unit ? open : others).push(port);
  }
  return { address, control, open, others, probes, ms: Date.now() - started };
}

/** A declared listening port and what serves it. */
export interface DeclaredPort {
  port: number;
  purpose: string;
}

/**
 * The TCP ports an image declares (core/module.ts `InterfacesConfig`): the HTTP server's, then
 * `tcp`. `httpPort` is the port the server listens on when it is not the configured one (the host
 * simulator chooses a free port when told 0).
 */
export function declaredTcp(interfaces: InterfacesConfig, httpPort?: number): DeclaredPort[] {
  const out: DeclaredPort[] = [{ port: httpPort ?? interfaces.http.port, purpose: 'the HTTP server' }];
  for (const l of interfaces.tcp ?? []) out.push({ port: l.port, purpose: l.purpose });
  return out;
}

export interface Conformance {
  /** No open port is undeclared. */
  ok: boolean;
  open: number[];
  /** Open ports the image does not declare: each fails S1.1-13. */
  undeclared: number[];
  /** Declared ports found closed (a listener not open yet, or not on this unit): not a failure. */
  closed: DeclaredPort[];
}

/** The open ports against the declared ones. */
export function compareWithDeclaration(open: number[], declared: DeclaredPort[]): Conformance {
  const ports = declared.map((d) => d.port);
  const undeclared = open.filter((p) => !ports.includes(p));
  return { ok: undeclared.length === 0, open: [...open], undeclared, closed: declared.filter((d) => !open.includes(d.port)) };
}

/** A conformance result as lines of text, for a person or a log. */
export function formatConformance(c: Conformance, declared: DeclaredPort[]): string {
  const purpose = (port: number): string => declared.find((d) => d.port === port)?.purpose ?? 'undeclared';
  const lines = c.open.map((p) => 'tcp/' + p + ' open: ' + purpose(p));
  for (const d of c.closed) lines.push('tcp/' + d.port + ' closed (declared: ' + d.purpose + ')');
  lines.push(c.ok ? 'every open TCP port is declared' : 'undeclared open TCP ports: ' + c.undeclared.join(', '));
  return lines.join('\n');
}

import type { Net, TcpConnection, TcpHandlers, TcpServer } from '../../../hal/net';
import { asciiBytes, utf8Bytes } from './bytes';
import { newRequestParser, parseRequest, State, type RequestHead, type RequestParser } from './http-parser';
import { problem, type HttpConfig, type HttpRequest, type HttpResponse, type RouteHandler } from './module';

/** How long an answered connection may stay open before it is destroyed, ms (a const enum: the bundler writes the values into the code). */
const enum Grace {
  CLOSE_GRACE_MS = 2000,
}

/**
 * The kit's HTTP/1.1 server over a board's TCP server (hal/net): one request per connection,
 * answered and closed. Bytes are counted as they arrive (core/http-parser), so a request is
 * refused the moment it passes a limit and what follows is dropped, never held:
 * - the head (request line and headers) within `maxHeaderBytes` (414, 431), the body within
 *   `maxBodyBytes` (413) in one buffer of its declared size;
 * - the route and its access level are decided from the head, before any of the body is read
 *   (`decide`), and `Expect: 100-continue` is answered only for a request that will be served;
 * - the Host must be an IP literal or a name the device answers to (421 otherwise: a web page
 *   cannot reach the device through DNS rebinding);
 * - a request that has not arrived whole within the board's timeout is answered 408 and closed;
 * - connections beyond the board's socket slots are refused at once (503), or destroyed before
 *   they can send where a newcomer would disturb the open connection (`limits.exclusive`);
 * - every answer carries Content-Length, `Connection: close`, `Cache-Control: no-store` and
 *   `X-Content-Type-Options: nosniff`; every refusal is `{"error": code, "reason": text}`.
 * A connection that has been answered and is not closed by its peer is destroyed after a grace.
 */

/**
 * What the server asks of its owner (boot routes requests to modules), from a request's head: the
 * handler that will serve it once its body has arrived, or a refusal to send at once (the body is
 * never read).
 */
export type HttpRouter = (head: RequestHead) => RouteHandler | HttpResponse;

/** What a closed connection's state points at instead of the runtime's socket. */
const GONE: TcpConnection = (function (): TcpConnection {
  const nothing = function (): void {};
  return { remote: '', write: nothing, end: nothing, destroy: nothing };
})();

/** One connection's state. */
interface Conn {
  tcp: TcpConnection;
  /** Undefined once the connection is answered or closed: its buffers go at once. */
  parser: RequestParser | undefined;
  /** Request timeout, then close grace. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The head was decided on (routed, 100 Continue sent when asked). */
  decided: boolean;
  /** The route's handler, once decided. */
  handler: RouteHandler | undefined;
  /** An answer was sent (or the connection refused): every further byte is dropped. */
  answered: boolean;
  closed: boolean;
  /** HEAD request: the answer has no body. */
  head: boolean;
}

interface ServerState {
  net: Net;
  config: HttpConfig;
  route: HttpRouter;
  open: number;
  /** Names the Host header may carry besides IP literals, lower-case. */
  names: string[];
}

/** The bytes of an answer: status line, headers, body (none for HEAD; Content-Length as for GET). */
export function serializeResponse(response: HttpResponse, head: boolean): Uint8Array {
  const body = response.body === undefined ? new Uint8Array(0) : typeof response.body === 'string' ? utf8Bytes(response.body) : response.body;
  // The reason phrase is left empty (RFC 9112 §4: a client ignores it): a table of phrases would
  // cost Kaluma's heap more than it tells anyone.
  let text = 'HTTP/1.1 ' + response.status + ' \r\n';
  const given = response.headers || {};
  const names = Object.keys(given);
  for (let i = 0; i < names.length; i++) {
    const lower = names[i].toLowerCase();
    // The server frames and closes every answer itself.
    if (lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue;
    text += names[i] + ': ' + given[names[i]] + '\r\n';
  }
  text += 'Content-Length: ' + body.length + '\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n';
  const start = asciiBytes(text);
  if (head || body.length === 0) return start;
  const out = new Uint8Array(start.length + body.length);
  out.set(start, 0);
  out.set(body, start.length);
  return out;
}

/**
 * Whether the request names this device: its Host (or absolute-form authority) is an IP literal or
 * one of the device's names. DNS rebinding needs a name the attacker controls; an IP literal cannot
 * be rebound (the rule Syncthing applies to its GUI). HTTP/1.0 without Host is allowed.
 */
function hostAllowed(st: ServerState, head: RequestHead): boolean {
  let authority = head.authority || head.headers['host'];
  if (authority === undefined) return head.minor === 0;
  authority = authority.toLowerCase();
  let host = authority;
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close) host = authority.substring(0, colon);
  // An IP literal: bracketed IPv6, or an IPv4 dotted quad (four parts of 1 to 3 digits, each at most 255).
  if (host.length > 2 && host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93) return true;
  const parts = host.split('.');
  let quad = parts.length === 4;
  for (let i = 0; quad && i < 4; i++) {
    const p = parts[i];
    quad = p.length >= 1 && p.length <= 3 && parseInt(p, 10) <= 255;
    for (let j = 0; quad && j < p.length; j++) quad = p.charCodeAt(j) >= 48 && p.charCodeAt(j) <= 57;
  }
  if (quad) return true;
  if (host.length > 0 && host.charCodeAt(host.length - 1) === 46) host = host.substring(0, host.length - 1); // "name."
  return st.names.indexOf(host) >= 0;
}

function clearTimer(c: Conn): void {
  if (c.timer !== undefined) clearTimeout(c.timer);
  c.timer = undefined;
}

/** Sends `response` and closes; the connection is destroyed if its peer does not close it soon. */
function answer(c: Conn, response: HttpResponse): void {
  if (c.answered || c.closed) return;
  c.answered = true;
  clearTimer(c);
  c.parser = undefined; // the buffers go at once
  try {
    c.tcp.write(serializeResponse(response, c.head));
    c.tcp.end();
  } catch (error) {
    c.tcp.destroy();
    return;
  }
  c.timer = setTimeout(function (): void {
    c.timer = undefined;
    if (!c.closed) c.tcp.destroy();
  }, Grace.CLOSE_GRACE_MS);
}

/** Hands a complete request to its route; one reply, a throwing handler gets 500. */
function complete(c: Conn): void {
  clearTimer(c);
  const p = c.parser!;
  const h = p.head!;
  const request: HttpRequest = {
    method: h.method,
    path: h.path,
    query: h.query,
    headers: h.headers,
    body: p.body || new Uint8Array(0),
    remote: c.tcp.remote,
  };
  let replied = false;
  const reply = function (response: HttpResponse): void {
    if (replied) return;
    replied = true;
    answer(c, response);
  };
  try {
    c.handler!(request, reply);
  } catch (error) {
    console.log('[hoshi] handler error: ' + error);
    reply(problem(500, 'internal-error', 'the request handler failed'));
  }
}

/** Decides on a request whose head just completed: refuse it now, or go on with its body. */
function decide(st: ServerState, c: Conn): void {
  c.decided = true;
  const h = c.parser!.head!;
  c.head = h.method === 'HEAD';
  if (!hostAllowed(st, h)) {
    answer(c, problem(421, 'misdirected-request', 'not a name of this device'));
    return;
  }
  const routed = st.route(h);
  if (typeof routed !== 'function') {
    answer(c, routed);
    return;
  }
  c.handler = routed;
  const p = c.parser;
  if (h.expectContinue && p && p.state === State.BODY) c.tcp.write(asciiBytes('HTTP/1.1 100 \r\n\r\n'));
}

/** Bytes of one connection, as they arrive. */
function received(st: ServerState, c: Conn, bytes: Uint8Array): void {
  let at = 0;
  while (!c.answered && !c.closed && at < bytes.length) {
    const p = c.parser!;
    at = parseRequest(p, bytes, at, bytes.length);
    if (p.state === State.FAILED) {
      // The parser's refusal as the answer.
      const e = p.error!;
      answer(c, problem(e.status, e.code, e.reason));
      return;
    }
    if (!c.decided && (p.state === State.BODY || p.state === State.DONE)) decide(st, c);
    // decide() may have answered, or its write seen the connection close.
    if (!c.answered && !c.closed && p.state === State.DONE) {
      // Bytes after the request (a pipelined one) are never read: this one is answered, then closed.
      complete(c);
      return;
    }
  }
}

function accept(st: ServerState, tcp: TcpConnection): TcpHandlers {
  const limits = st.net.limits;
  const c: Conn = {
    tcp: tcp,
    parser: newRequestParser(st.config),
    timer: undefined,
    decided: false,
    handler: undefined,
    answered: false,
    closed: false,
    head: false,
  };
  const handlers: TcpHandlers = {
    data: function (bytes: Uint8Array): void {
      if (!c.answered && !c.closed) received(st, c, bytes);
    },
    closed: function (): void {
      if (c.closed) return;
      c.closed = true;
      clearTimer(c);
      st.open--;
      // Nothing of a closed connection is kept: its buffers and the runtime's socket are let go.
      c.tcp = GONE;
      c.parser = undefined;
      c.handler = undefined;
    },
  };
  st.open++;
  if (st.open > limits.connections) {
    if (limits.exclusive) {
      c.answered = true;
      tcp.destroy();
    } else {
      answer(c, problem(503, 'busy', limits.connections + ' connection(s) at a time: try again'));
    }
    return handlers;
  }
  c.timer = setTimeout(function (): void {
    c.timer = undefined;
    if (!c.answered && !c.closed) answer(c, problem(408, 'request-timeout', 'no whole request within ' + limits.requestTimeoutMs + ' ms'));
  }, limits.requestTimeoutMs);
  return handlers;
}

/**
 * Serves HTTP on `net` at `config.port` until the returned server is closed; `ready` once it
 * listens. Throws what `net.listen` throws (`net-down`, `net-absent`).
 */
export function serveHttp(net: Net, config: HttpConfig, route: HttpRouter, ready: (server: TcpServer) => void): TcpServer {
  const names: string[] = [];
  const extra = (config.hostnames || []).concat(net.hostnames);
  for (let i = 0; i < extra.length; i++) names.push(extra[i].toLowerCase());
  const st: ServerState = { net: net, config: config, route: route, open: 0, names: names };
  return net.listen(
    config.port,
    function (tcp: TcpConnection): TcpHandlers {
      return accept(st, tcp);
    },
    ready,
  );
}

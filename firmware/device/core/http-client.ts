import type { Net, TcpConnection } from '../../../hal/net';
import { asciiBytes } from './bytes';

/**
 * The kit's HTTP/1.1 client: one GET over a board's TCP client (hal/net.ts `connect`), for pulling
 * files from a static server (modules/ota: docs/formats/update.md §10). Its peer is untrusted, as a
 * request's sender is to the server (core/http-server.ts), so it takes only the one shape of answer
 * it needs and refuses the rest, each with its code:
 * - the request is `GET <path> HTTP/1.1`, `Host`, `Connection: close`, nothing else;
 * - the response head within 2,048 bytes (`http-head-too-large`), its lines ending in CRLF (a bare
 *   CR or LF, an obs-fold, a line that is not a status line or `name: value`: `http-malformed`);
 * - status 200 only, decided at the status line (`http-status`, with the status): a redirect is
 *   refused like anything else, so a pull never goes anywhere but where it was sent;
 * - exactly one Content-Length of 1 to 9 digits (`http-no-length`; two, or not digits:
 *   `http-bad-length`), no Transfer-Encoding (`http-chunked`), and the length within the
 *   caller's limit, checked before any of the body is read (`http-too-large`);
 * - the body handed to the caller's `body` in pieces as they arrive (nothing is held: memory does
 *   not depend on its size; the runtimes cannot slow the sender, so `body` must deal with each
 *   piece within its call), then the peer's close, which `Connection: close` asked for: a close
 *   before the last byte is `http-truncated` (before the end of the head: `http-closed`), a byte
 *   past the declared length `http-excess`;
 * - all of it within the caller's time (`http-timeout`, the reason saying at which stage).
 * A failure of the connection itself ends with the binding's code (hal/net.ts: `net-down`,
 * `net-unresolved`, `net-refused`, `net-reset`, `net-failed`; `net-absent` for a board without a
 * TCP client), a refusal of the caller's `body` with the caller's own. `done` is called once, from
 * a timer (never from inside a runtime's network callback, where Kaluma's driver runs), and the
 * connection is destroyed before it.
 *
 * Programming errors (a URL that was not parsed by `parseHttpUrl`) are not checked here: the caller
 * parses URLs, which are configuration or an owner's input.
 */

/** Limits (a const enum: the bundler writes the values into the code). */
const enum Client {
  /** Largest response head, bytes (status line, fields, final CRLF). */
  HEAD_MAX = 2048,
  /** Longest URL taken, bytes. */
  URL_MAX = 200,
}

/** An `http:` URL, parsed. */
export interface HttpUrl {
  host: string;
  port: number;
  /** From the first "/" on, query included. */
  path: string;
}

/** Why a GET failed: a code (above) and a reason naming the rule; `status` for `http-status`. */
export interface HttpFailure {
  code: string;
  reason: string;
  status?: number;
}

export interface HttpGet {
  url: HttpUrl;
  /** Largest body taken, bytes: a larger Content-Length is refused before any of the body is read. */
  limit: number;
  /** The whole exchange, from connecting to the peer's close, ms. */
  timeoutMs: number;
  /**
   * Each piece of the body as it arrives, at `offset` of a body of `length` bytes (a view valid
   * during the call only). Undefined goes on; a failure ends the GET with it.
   */
  body(offset: number, bytes: Uint8Array, length: number): HttpFailure | undefined;
  /** Once: undefined when the whole body has arrived and the peer has closed; else why not. */
  done(failure: HttpFailure | undefined, length: number): void;
}

/** One GET's state (file-level functions work on it, as the server's do on its connections). */
interface Get {
  q: HttpGet;
  tcp: TcpConnection | undefined;
  /** The head as it arrives; undefined once it is parsed. */
  buf: Uint8Array | undefined;
  /** Head bytes so far, and where the current line starts. */
  fill: number;
  index: number;
  /** The Content-Length field's value, until the head ends. */
  field: string | undefined;
  /** The body's length once the head is accepted, -1 before. */
  size: number;
  got: number;
  connected: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  over: boolean;
}

/**
 * `http://host[:port]/path` (RFC 3986 §3, `http` only: there is no TLS on these runtimes), or
 * undefined: the host a DNS name or an IPv4 dotted quad (letters, digits, "." and "-"; no
 * userinfo, no IPv6: Kaluma's lwIP resolves IPv4 only), the port 1 to 65535 (default 80), the
 * path and query in visible ASCII without a fragment, at most 200 bytes in all.
 */
export function parseHttpUrl(url: string): HttpUrl | undefined {
  if (typeof url !== 'string' || url.length > Client.URL_MAX || url.slice(0, 7).toLowerCase() !== 'http://') return undefined;
  const rest = url.slice(7);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const colon = authority.indexOf(':');
  const host = colon < 0 ? authority : authority.slice(0, colon);
  const port = colon < 0 ? '80' : authority.slice(colon + 1);
  const path = slash < 0 ? '/' : rest.slice(slash);
  // pchar, "/" and "?" (RFC 3986 §3.3, §3.4): no space, "#", quote, "<>\^`{|}", control or non-ASCII bytes.
  if (!/^[A-Za-z0-9.-]+$/.test(host) || !/^[0-9]+$/.test(port) || port.length > 5 || !/^[!$%&-;=?-Z_a-z~]+$/.test(path)) return undefined;
  const n = parseInt(port, 10);
  return n >= 1 && n <= 65535 ? { host: host, port: n, path: path } : undefined;
}

/**
 * `reference` (a path segment without "/", "." or "..") resolved against `base` (RFC 3986 §5.2:
 * the base's path up to its last "/", then the reference; the base's query dropped).
 */
export function resolveHttpUrl(base: HttpUrl, reference: string): HttpUrl {
  const path = base.path.split('?')[0];
  return { host: base.host, port: base.port, path: path.slice(0, path.lastIndexOf('/') + 1) + reference };
}

function failure(code: string, reason: string): HttpFailure {
  return { code: code, reason: reason };
}

/** Ends the GET once: the timer stopped, the connection destroyed, `done` called from a timer. */
function finish(g: Get, f: HttpFailure | undefined): void {
  if (g.over) return;
  g.over = true;
  g.buf = undefined;
  if (g.timer !== undefined) clearTimeout(g.timer);
  g.timer = undefined;
  const tcp = g.tcp;
  g.tcp = undefined;
  if (tcp) tcp.destroy();
  setTimeout(function (): void {
    g.q.done(f, g.got);
  }, 0);
}

/**
 * One line of the head, without its CRLF: the status line (RFC 9112 §4), a field line (§5), or the
 * empty line that ends the head. Undefined to go on, else the refusal.
 */
function line(g: Get, s: string): HttpFailure | undefined {
  let m: string[] | null;
  if (g.index === 0) {
    m = /^HTTP\/1\.[01] ([0-9][0-9][0-9]) [\t -~\x80-\xff]*$/.exec(s);
    if (!m) return failure('http-malformed', 'the status line is not HTTP/1.0 or 1.1, a 3-digit status and a reason');
    if (m[1] !== '200') {
      const f = failure('http-status', 'the server answered ' + m[1] + (m[1].charAt(0) === '3' ? ' (a redirect: never followed)' : '') + ', not 200');
      f.status = parseInt(m[1], 10);
      return f;
    }
    return undefined;
  }
  if (s) {
    m = /^([\w!#$%&'*+.^`|~-]+):([\t -~\x80-\xff]*)$/.exec(s);
    if (!m) return failure('http-malformed', 'a field line is not name: value (or starts with whitespace)');
    const name = m[1].toLowerCase();
    let v = m[2];
    let a = 0;
    let z = v.length;
    while (a < z && (v.charCodeAt(a) === 32 || v.charCodeAt(a) === 9)) a++;
    while (z > a && (v.charCodeAt(z - 1) === 32 || v.charCodeAt(z - 1) === 9)) z--;
    v = v.slice(a, z);
    if (name === 'transfer-encoding') return failure('http-chunked', 'the response has Transfer-Encoding: ' + v.slice(0, 40) + ' (only a Content-Length body is taken)');
    if (name === 'content-length') {
      if (g.field !== undefined) return failure('http-bad-length', 'the response has more than one Content-Length');
      if (v.length > 9 || !/^[0-9]+$/.test(v)) return failure('http-bad-length', 'Content-Length is not 1 to 9 digits');
      g.field = v;
    }
    return undefined;
  }
  if (g.field === undefined) return failure('http-no-length', 'the response has no Content-Length');
  // parseInt, not +: Espruino reads a leading 0 as octal
  const n = parseInt(g.field, 10);
  if (n > g.q.limit) return failure('http-too-large', 'the body is ' + n + ' bytes, more than the ' + g.q.limit + ' taken');
  g.size = n;
  return undefined;
}

/** Bytes as they arrive: the head byte by byte, then the body in pieces. */
function received(g: Get, b: Uint8Array): void {
  let i = 0;
  let f: HttpFailure | undefined;
  while (g.size < 0 && i < b.length) {
    const h = g.buf!;
    const c = b[i++];
    if (g.fill >= Client.HEAD_MAX) return finish(g, failure('http-head-too-large', 'the response head runs past ' + Client.HEAD_MAX + ' bytes'));
    // A CR must be followed by LF, and an LF must follow a CR (RFC 9112 §2.2: no bare CR or LF).
    if (g.fill > 0 && h[g.fill - 1] === 13 ? c !== 10 : c === 10) return finish(g, failure('http-malformed', 'a bare CR or LF in the response head'));
    h[g.fill++] = c;
    if (c !== 10) continue;
    let s = '';
    for (let k = g.index; k < g.fill - 2; k++) s += String.fromCharCode(h[k]);
    f = line(g, s);
    g.index = g.fill;
    if (f) return finish(g, f);
  }
  if (g.size < 0 || i >= b.length) return;
  g.buf = undefined;
  const n = Math.min(b.length - i, g.size - g.got);
  if (n > 0) {
    f = g.q.body(g.got, b.subarray(i, i + n), g.size);
    g.got += n;
    if (f) return finish(g, f);
  }
  if (i + n < b.length) finish(g, failure('http-excess', 'bytes follow the ' + g.size + ' the response declared'));
}

/** The peer closed (or the connection failed): the end of the response, or why it is not whole. */
function closed(g: Get, code: string | undefined, detail: string | undefined): void {
  g.tcp = undefined;
  if (g.over) return;
  if (code) return finish(g, failure(code, (g.connected ? 'the connection failed' : 'no connection') + ' to ' + g.q.url.host + ':' + g.q.url.port + (detail ? ': ' + detail : '')));
  if (!g.connected && g.fill === 0) return finish(g, failure('net-refused', 'the connection to ' + g.q.url.host + ':' + g.q.url.port + ' closed before it was established'));
  if (g.size < 0) return finish(g, failure('http-closed', 'the connection closed ' + (g.fill ? 'inside the response head' : 'before any response')));
  if (g.got < g.size) return finish(g, failure('http-truncated', 'the connection closed after ' + g.got + ' of the ' + g.size + ' bytes declared'));
  finish(g, undefined);
}

/**
 * GETs `q.url`, handing the body to `q.body` as it arrives; `q.done` once, whatever happens
 * (from a timer). Never throws for anything the network or the peer does.
 */
export function httpGet(net: Net, q: HttpGet): void {
  const g: Get = { q: q, tcp: undefined, buf: new Uint8Array(Client.HEAD_MAX), fill: 0, index: 0, field: undefined, size: -1, got: 0, connected: false, timer: undefined, over: false };
  const u = q.url;
  if (!net.connect) return finish(g, failure('net-absent', 'this board has no TCP client'));
  g.timer = setTimeout(function (): void {
    g.timer = undefined;
    finish(g, failure('http-timeout', (!g.connected ? 'no connection to ' + u.host + ':' + u.port : g.size < 0 ? 'no whole response head' : 'the body was at ' + g.got + ' of ' + g.size + ' bytes') + ' after ' + q.timeoutMs + ' ms'));
  }, q.timeoutMs);
  try {
    g.tcp = net.connect(u.host, u.port, {
      connected: function (): void {
        if (g.over || g.connected) return;
        g.connected = true;
        g.tcp!.write(asciiBytes('GET ' + u.path + ' HTTP/1.1\r\nHost: ' + u.host + (u.port === 80 ? '' : ':' + u.port) + '\r\nConnection: close\r\n\r\n'));
      },
      data: function (bytes: Uint8Array): void {
        if (!g.over) received(g, bytes);
      },
      closed: function (code?: string, detail?: string): void {
        closed(g, code, detail);
      },
    });
  } catch (error) {
    // A binding keeps its runtime's exceptions to itself (hal/net.ts); should one escape, it ends this GET.
    finish(g, failure('net-failed', String((error as Error).message || error)));
  }
}

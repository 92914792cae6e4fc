/**
 * Net: a plain HTTP/1.1 server, small enough to sit on Kaluma's and Espruino's `http` modules.
 *
 * Contract for a binding:
 * - It listens on `options.port` (0 = any free port, host board only) and calls the handler once
 *   per complete request, with the method upper-case, the path without the query string, the
 *   query string without "?", header names lower-case, and the whole body.
 * - Requests it cannot hand over complete are answered by the binding itself and never reach the
 *   handler: a body over `maxBodyBytes` → 413, headers over `maxHeaderBytes` → 431, a malformed
 *   request → 400. The connection is then closed; the server keeps serving.
 * - The handler calls `reply` exactly once, synchronously or later. A body given as a string is
 *   sent as UTF-8. The binding frames the body (Content-Length, or chunked where the runtime's
 *   module always chunks, as Kaluma's does) and closes the connection after the reply.
 * - A handler that throws gets a 500 reply from the binding; the server keeps serving.
 *
 * Everything in a request is untrusted input.
 */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: { [lowerCaseName: string]: string };
  readonly body: Uint8Array;
  /** Address of the peer, when the runtime tells it ("" otherwise). */
  readonly remote: string;
}

export interface HttpResponse {
  status: number;
  headers?: { [name: string]: string };
  body?: Uint8Array | string;
}

export type HttpHandler = (request: HttpRequest, reply: (response: HttpResponse) => void) => void;

export interface HttpServerOptions {
  port: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
}

export interface HttpServer {
  /** The port actually listened on (known once `ready` has been called). */
  port(): number;
  close(): void;
}

/** What joins a Wi-Fi network: both are secrets of the customer's network, kept sealed (modules/network). */
export interface WifiCredentials {
  /** 1..32 bytes. */
  ssid: string;
  /** WPA2 passphrase, 8..63 printable ASCII characters, or "" for an open network. */
  passphrase: string;
}

/**
 * A Wi-Fi station. `join` calls `done()` once the board has joined the network (and has an
 * address), or `done(reason)` when it could not; it never stores the credentials anywhere itself
 * (bindings do not call the runtimes' own save functions, which write them in plain text).
 */
export interface Wifi {
  join(credentials: WifiCredentials, done: (error?: string) => void): void;
  /** Calls `dropped(reason)` whenever the station loses its network (the module then rejoins). */
  onDrop(dropped: (reason: string) => void): void;
}

export interface Net {
  /** The board's Wi-Fi station, if it has one. */
  readonly wifi?: Wifi;
  /**
   * Starts a server; `ready` is called once it accepts connections. Throws when the board has no
   * network interface at all (boot then runs the image without its HTTP interface, and says so).
   */
  listen(options: HttpServerOptions, handler: HttpHandler, ready: (server: HttpServer) => void): HttpServer;
}

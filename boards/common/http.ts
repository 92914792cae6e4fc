import type { HttpHandler, HttpRequest, HttpResponse, HttpServerOptions } from '../../hal/net';

/** What both runtimes' http modules hand a request listener (Kaluma http.js, Espruino jswrap_http.c). */
export interface RuntimeRequest {
  method: string;
  url: string;
  headers: { [name: string]: string };
  on(event: string, listener: (value: any) => void): void;
}

/**
 * What the device HTTP bindings share: turning a runtime's request (header names in any case, a
 * body in chunks) into a `hal/net` request within the limits, or into the binding's own error reply.
 * Runtime quirks stay in the bindings; this file has none.
 */

/** Header names lower-cased (Espruino keeps the client's case), and the total header size. */
export function lowerHeaders(raw: { [name: string]: string }): { headers: { [name: string]: string }; bytes: number } {
  const headers: { [name: string]: string } = {};
  let bytes = 0;
  const names = Object.keys(raw);
  for (let i = 0; i < names.length; i++) {
    const value = '' + raw[names[i]];
    headers[names[i].toLowerCase()] = value;
    bytes += names[i].length + value.length + 4;
  }
  return { headers: headers, bytes: bytes };
}

/** Splits a request target into path and query. */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/**
 * The size the body will have, from Content-Length: a number, -1 for chunked bodies (size known
 * only at the end), or a refusal (400 or 413) to send at once.
 */
export function expectedBody(headers: { [name: string]: string }, options: HttpServerOptions): number | HttpResponse {
  const chunked = (headers['transfer-encoding'] || '').toLowerCase().indexOf('chunked') >= 0;
  const declared = headers['content-length'];
  if (chunked && declared !== undefined) return { status: 400, body: 'both Content-Length and Transfer-Encoding' };
  if (chunked) return -1;
  if (declared === undefined) return 0;
  // Digits only, at most 9 (Espruino's regular expressions have no {n,m} quantifiers).
  if (declared.length === 0 || declared.length > 9 || !/^[0-9]+$/.test(declared)) return { status: 400, body: 'malformed Content-Length' };
  const n = parseInt(declared, 10);
  if (n > options.maxBodyBytes) return { status: 413, body: 'request body over ' + options.maxBodyBytes + ' bytes' };
  return n;
}

/** A body being received chunk by chunk, bounded by `max` bytes. */
export interface BodyCollector {
  /** Adds a chunk; false once the body went over `max` (the request is then refused with 413). */
  add(chunk: Uint8Array): boolean;
  length(): number;
  bytes(): Uint8Array;
}

export function collectBody(max: number): BodyCollector {
  let parts: Uint8Array[] = [];
  let total = 0;
  return {
    add: (chunk: Uint8Array): boolean => {
      total += chunk.length;
      if (total > max) {
        parts = [];
        return false;
      }
      parts.push(chunk);
      return true;
    },
    length: (): number => total,
    bytes: (): Uint8Array => {
      const out = new Uint8Array(total);
      let at = 0;
      for (let i = 0; i < parts.length; i++) {
        out.set(parts[i], at);
        at += parts[i].length;
      }
      return out;
    },
  };
}

/**
 * Calls the handler with the request, guaranteeing one reply: a second reply is ignored, and a
 * handler that throws gets 500 (the device keeps serving).
 */
export function handOver(handler: HttpHandler, request: HttpRequest, send: (response: HttpResponse) => void): void {
  let replied = false;
  const reply = (response: HttpResponse): void => {
    if (replied) return;
    replied = true;
    send(response);
  };
  try {
    handler(request, reply);
  } catch (error) {
    console.log('[hoshi] handler error: ' + error);
    reply({ status: 500, body: 'internal error' });
  }
}

/**
 * Receives one request from a runtime's http module and hands it to `handler` once complete, or
 * refuses it (431, 400, 413) through `send`. A sized body is complete when Content-Length bytes
 * have arrived (neither runtime's 'end' can be trusted for it: Kaluma fires it before later
 * segments); a chunked one at 'end', which both fire at the last chunk. `bytes` turns the
 * runtime's chunk (Kaluma: Uint8Array, Espruino: byte string) into bytes.
 */
export function receive(
  options: HttpServerOptions,
  handler: HttpHandler,
  req: RuntimeRequest,
  bytes: (chunk: any) => Uint8Array,
  send: (response: HttpResponse) => void,
): void {
  const h = lowerHeaders(req.headers || {});
  if (h.bytes > options.maxHeaderBytes) {
    send({ status: 431, body: 'request headers too large' });
    return;
  }
  const expected = expectedBody(h.headers, options);
  if (typeof expected !== 'number') {
    send(expected);
    return;
  }
  const target = splitTarget('' + req.url);
  const body = collectBody(options.maxBodyBytes);
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    const request: HttpRequest = {
      method: ('' + req.method).toUpperCase(),
      path: target.path,
      query: target.query,
      headers: h.headers,
      body: body.bytes(),
      remote: '',
    };
    handOver(handler, request, send);
  };
  if (expected === 0) {
    finish();
    return;
  }
  req.on('data', (chunk: any) => {
    if (done) return;
    if (!body.add(bytes(chunk))) {
      done = true;
      send({ status: 413, body: 'request body over ' + options.maxBodyBytes + ' bytes' });
      return;
    }
    if (expected > 0 && body.length() >= expected) finish();
  });
  if (expected < 0) req.on('end', finish);
}

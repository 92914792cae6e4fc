import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpHandler, HttpRequest, HttpResponse, HttpServer, HttpServerOptions, Net } from '../../hal/net';

/**
 * The host board's Net: node:http bound to 127.0.0.1 only (a simulated device is never reachable
 * from another machine), with the limits of `hal/net.ts` enforced before the handler runs.
 */
export function hostNet(onError: (error: Error) => void = (error) => {
  throw error;
}): Net & { closeAll(): void } {
  const servers: HttpServer[] = [];
  return {
    listen(options: HttpServerOptions, handler: HttpHandler, ready: (server: HttpServer) => void): HttpServer {
      const server = createServer({ maxHeaderSize: options.maxHeaderBytes, requireHostHeader: false }, (req, res) => receive(options, handler, req, res));
      server.on('clientError', (error: Error & { code?: string }, socket) => {
        if (!socket.writable) return socket.destroy();
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
        socket.end('HTTP/1.1 ' + status + '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
      let port = 0;
      const handle: HttpServer = {
        port: () => port,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      };
      server.once('error', (error) => onError(new Error('cannot listen on 127.0.0.1:' + options.port + ': ' + error.message)));
      server.listen(options.port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        ready(handle);
      });
      servers.push(handle);
      return handle;
    },
    closeAll() {
      for (const s of servers.splice(0)) s.close();
    },
  };
}

function send(res: ServerResponse, response: HttpResponse): void {
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : Buffer.from(response.body ?? new Uint8Array(0));
  const headers: Record<string, string | number> = { ...(response.headers ?? {}) };
  headers['Content-Length'] = body.length;
  headers['Connection'] = 'close';
  res.writeHead(response.status, headers);
  res.end(body);
}

function receive(options: HttpServerOptions, handler: HttpHandler, req: IncomingMessage, res: ServerResponse): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > options.maxBodyBytes) {
    send(res, { status: 413, body: 'request body over ' + options.maxBodyBytes + ' bytes' });
    req.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    length += chunk.length;
    if (length > options.maxBodyBytes) {
      refused = true;
      send(res, { status: 413, body: 'request body over ' + options.maxBodyBytes + ' bytes' });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (refused) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers: { [name: string]: string } = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const request: HttpRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      headers,
      body: new Uint8Array(Buffer.concat(chunks)),
      remote: req.socket.remoteAddress ?? '',
    };
    let replied = false;
    const reply = (response: HttpResponse): void => {
      if (replied) throw new Error('reply: called twice');
      replied = true;
      send(res, response);
    };
    try {
      handler(request, reply);
    } catch (error) {
      if (!replied) reply({ status: 500, body: 'internal error' });
      console.error('[host] handler threw:', error);
    }
  });
}

import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Net, NetLimits, TcpClientHandlers, TcpConnection, TcpHandlers, TcpServer } from '../../hal/net';

/**
 * The host board's Net: node:net bound to 127.0.0.1 only (a simulated device is never reachable
 * from another machine). HTTP is the kit's own, as on the devices (firmware/device/core), so the
 * simulator parses and limits requests exactly as a unit does. Its client (`connect`) reaches any
 * address the host can (a release server), and reports failures by their errno (hal/net.ts).
 */
export function hostNet(
  onError: (error: Error) => void = (error) => {
    throw error;
  },
  limits: Partial<NetLimits> = {},
): Net & { closeAll(): void } {
  const servers: TcpServer[] = [];
  // Outgoing connections, destroyed with the simulated unit.
  const clients = new Set<Socket>();
  return {
    // node:net has sockets to spare; the cap keeps the simulator's behaviour close to a device's.
    limits: { connections: 8, exclusive: false, requestTimeoutMs: 10000, ...limits },
    hostnames: ['localhost'],
    onLink() {
      // Loopback is always up.
    },
    listen(port: number, accept: (connection: TcpConnection) => TcpHandlers, ready: (server: TcpServer) => void): TcpServer {
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        const connection: TcpConnection = {
          remote: socket.remoteAddress ?? '',
          write: (bytes) => {
            if (!socket.destroyed) socket.write(Buffer.from(bytes));
          },
          end: () => socket.end(),
          destroy: () => socket.destroy(),
        };
        const handlers = accept(connection);
        socket.on('data', (chunk: Buffer) => handlers.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          sockets.delete(socket);
          handlers.closed();
        });
      });
      let bound = 0;
      const handle: TcpServer = {
        port: () => bound,
        close: () => {
          server.close();
          for (const s of sockets) s.destroy();
        },
      };
      server.once('error', (error) => onError(new Error('cannot listen on 127.0.0.1:' + port + ': ' + error.message)));
      server.listen(port, '127.0.0.1', () => {
        bound = (server.address() as AddressInfo).port;
        ready(handle);
      });
      servers.push(handle);
      return handle;
    },
    connect(host: string, port: number, handlers: TcpClientHandlers): TcpConnection {
      const socket = createConnection({ host, port });
      clients.add(socket);
      let failure: string | undefined;
      let detail: string | undefined;
      socket.on('connect', () => handlers.connected());
      socket.on('data', (chunk: Buffer) => handlers.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        failure ??= clientFailure(error.code);
        detail ??= error.message;
      });
      socket.on('close', () => {
        clients.delete(socket);
        handlers.closed(failure, detail);
      });
      return {
        remote: host,
        write: (bytes) => {
          if (!socket.destroyed) socket.write(Buffer.from(bytes));
        },
        end: () => socket.end(),
        destroy: () => socket.destroy(),
      };
    },
    closeAll() {
      for (const s of clients) s.destroy();
      for (const s of servers.splice(0)) s.close();
    },
  };
}

/** The failure code (hal/net.ts `TcpClientHandlers.closed`) of a node:net error code. */
function clientFailure(code: string | undefined): string {
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'net-refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return 'net-unresolved';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'net-reset';
  if (code === 'ENETDOWN') return 'net-down';
  return 'net-failed';
}

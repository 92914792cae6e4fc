import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Net, NetLimits, TcpClientHandlers, TcpConnection, TcpHandlers, TcpServer } from '../../hal/net';

/**
 * The host net's options: its limits (hal/net.ts `NetLimits`), and the one address it listens on.
 */
export interface HostNetOptions extends Partial<NetLimits> {
  /**
   * The loopback address every server binds (default 127.0.0.1). On Linux every 127.0.0.0/8
   * address is the loopback's, so a unit on 127.0.0.x can be told from other processes' listeners
   * on 127.0.0.1 (the port scan's test, firmware/host/port-scan.ts); elsewhere only 127.0.0.1 may
   * be bound. Anything outside 127.0.0.0/8 is refused: a simulated device is never reachable from
   * another machine.
   */
  address?: string;
}

/** The addresses a host net may bind: the loopback network's, as a dotted quad. */
const LOOPBACK = /^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/;

/**
 * The host board's Net: node:net bound to one loopback address only (127.0.0.1 unless
 * `options.address` says otherwise; a simulated device is never reachable from another machine).
 * HTTP is the kit's own, as on the devices (firmware/device/core), so the simulator parses and
 * limits requests exactly as a unit does. Its client (`connect`) reaches any address the host can
 * (a release server), and reports failures by their errno (hal/net.ts).
 */
export function hostNet(
  onError: (error: Error) => void = (error) => {
    throw error;
  },
  options: HostNetOptions = {},
): Net & { closeAll(): void; readonly address: string } {
  const { address = '127.0.0.1', ...limits } = options;
  if (!LOOPBACK.test(address)) throw new Error('hostNet: ' + address + ' is not a loopback address (127.0.0.0/8)');
  const servers: TcpServer[] = [];
  // Outgoing connections, destroyed with the simulated unit.
  const clients = new Set<Socket>();
  return {
    address,
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
      server.once('error', (error) => onError(new Error('cannot listen on ' + address + ':' + port + ': ' + error.message)));
      server.listen(port, address, () => {
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

import type { TcpClientHandlers, TcpConnection } from '../../hal/net';
import { picoConnection, type PicoConnection } from './connection';

/**
 * The Pico W's TCP client (hal/net.ts `connect`) over the CYW43 network device (`global.__netdev`,
 * module_pico_cyw43.c), as Kaluma does it: socket() throws while the link is down; connect()
 * resolves a name (blocking up to 3 s) and throws when it cannot; connect_cb, read_cb (its own: a
 * client socket has no server_fd) and close_cb are set on the socket's object. A refused or reset
 * connection is never reported (lwIP's tcp_err callback is not set): the caller's destroy() is its
 * end, as is a connection the chip's reset took (the HTTP client's deadline ends both). On Kaluma this code is read from the image's assets when a pull connects (asset 9,
 * tcp-client-code.ts), not kept in the heap.
 */
export function picoConnect(dev: any, host: string, port: number, handlers: TcpClientHandlers): TcpConnection {
  const e: PicoConnection = { fd: -1, open: false, handlers: handlers, queue: undefined, ending: false, waiting: false, tries: 0 };
  let failed = 'net-down';
  let detail = '';
  try {
    e.fd = dev.socket('AF_INET', 'STREAM');
    const o = dev.get(e.fd);
    o.connect_cb = function (): void {
      if (e.open) handlers.connected();
    };
    o.read_cb = function (data: Uint8Array): void {
      if (e.open) handlers.data(data);
    };
    o.close_cb = function (): void {
      if (!e.open) return;
      e.open = false;
      handlers.closed();
    };
    failed = 'net-unresolved';
    dev.connect(e.fd, host, port);
    failed = dev.errno === 0 ? '' : 'net-failed';
    detail = 'errno ' + dev.errno;
  } catch (error) {
    // "WiFi is not connected." (socket), "DNS response timeout." or "DNS Error: ..." (connect).
    detail = (error as Error).message || String(error);
  }
  if (failed) {
    if (e.fd >= 0) dev.close(e.fd);
    setTimeout(function (): void {
      handlers.closed(failed, detail);
    }, 0);
  } else e.open = true;
  return picoConnection(dev, e, host);
}

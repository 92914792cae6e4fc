import type { TcpConnection, TcpHandlers } from '../../hal/net';
import { bytesAscii } from '../../firmware/device/core/bytes';

/**
 * A TCP connection of the Pico W through the CYW43 network device (module_pico_cyw43.c): accepted by
 * the board's server, or opened by its TCP client (tcp-client.ts). Shared by both, so that the
 * client, read from the assets on demand, writes as the server does.
 */
export interface PicoConnection {
  fd: number;
  open: boolean;
  handlers: TcpHandlers | undefined;
  /** What waits for room in lwIP's send buffer (`send`). */
  queue: Uint8Array | undefined;
  ending: boolean;
  waiting: boolean;
  tries: number;
}

/** Bytes handed to the driver per write (two TCP segments), and how it waits for room in lwIP's send buffer. */
const enum Send {
  CHUNK = 2920,
  RETRY_MS = 20,
  TRIES = 100,
}

/**
 * Hands a connection's queue to the driver: tcp_write takes nothing past its 11,680 bytes
 * (TCP_SND_BUF, lwipopts.h) and write() then sets errno -1 (module_pico_cyw43.c); the rest goes
 * once the peer has acknowledged, in Send.CHUNK pieces, tried again every Send.RETRY_MS. A peer that
 * takes nothing for Send.TRIES tries is closed. After `end`, closes once the queue is gone. (One
 * function for every connection: a closure per connection that retried itself would be a cycle.)
 */
export function send(dev: any, e: PicoConnection): void {
  e.waiting = false;
  while (e.queue && e.open) {
    const n = e.queue.length < Send.CHUNK ? e.queue.length : Send.CHUNK;
    dev.write(e.fd, bytesAscii(e.queue.subarray(0, n)));
    if (dev.errno !== 0) {
      if (++e.tries > Send.TRIES) return dev.close(e.fd);
      e.waiting = true;
      setTimeout(function (): void {
        send(dev, e);
      }, Send.RETRY_MS);
      return;
    }
    e.tries = 0;
    e.queue = n < e.queue.length ? e.queue.subarray(n) : undefined;
  }
  if (e.ending && e.open) dev.close(e.fd);
}

/** The TcpConnection of `e`: writes queued and sent as lwIP takes them (`send`). */
export function picoConnection(dev: any, e: PicoConnection, remote: string): TcpConnection {
  return {
    remote: remote,
    write: function (bytes: Uint8Array): void {
      if (!e.open) return;
      const q = e.queue;
      if (q) {
        const both = new Uint8Array(q.length + bytes.length);
        both.set(q);
        both.set(bytes, q.length);
        e.queue = both;
      } else e.queue = new Uint8Array(bytes);
      if (!e.waiting) send(dev, e);
    },
    // lwIP's tcp_close sends what it has taken, then FIN: after the queue.
    end: function (): void {
      e.ending = true;
      if (!e.waiting) send(dev, e);
    },
    destroy: function (): void {
      if (e.open) dev.close(e.fd);
    },
  };
}

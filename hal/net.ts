/**
 * Net: a TCP server on the board's network, a TCP client where the runtime has one, and its Wi-Fi
 * station. HTTP is the kit's own (firmware/device/core/http-server.ts over core/http-parser.ts,
 * one parser for every board; core/http-client.ts for the client): the runtimes' `http` modules
 * buffer a request of any size before JavaScript sees it, so one hostile request could exhaust a
 * device. Over TCP every byte is counted as it arrives.
 *
 * Contract for a binding:
 * - `listen` starts a server on `port` (0 = any free port, host board only) and calls `ready` once
 *   it accepts connections. It throws a `net-down` failure (core/errors) while the board has no
 *   link to listen on (Kaluma's socket() refuses while Wi-Fi is down), and `net-absent` when the
 *   board has no network interface at all.
 * - Each accepted connection is handed to `accept`, which returns the handlers of its events:
 *   `data` with the bytes as they arrived (a view valid during the call only), `closed` once,
 *   when the connection is gone whoever closed it.
 * - A listening server outlives a lost link on every supported runtime (the Pico W's socket is bound
 *   to any address, module_pico_cyw43.c; Espruino keeps its servers, socketserver.c): it is opened
 *   once, when the link first allows it. It also outlives the setup access point closing (`Wifi`
 *   `closeAp`): where that resets the radio and closes every socket (the Pico W), the binding
 *   reports each accepted connection `closed` then, and listens again by itself, on the same port
 *   and behind the same `TcpServer`, at the next link-up.
 * - `onLink(true)` means `listen` can succeed: the station has joined, or the setup access point
 *   has opened.
 * - `connect`, where the board has it, opens an outgoing connection (its contract is at `connect`).
 * - `limits.connections` is how many accepted connections the runtime can serve at once; the
 *   server refuses the others at once. `exclusive` says that a further connection accepted while
 *   one is open disturbs the open one (Kaluma on the Pico W delivers every connection's data to
 *   the latest one): such a connection must be destroyed before it can send.
 */

/** One accepted TCP connection. */
export interface TcpConnection {
  /** Address of the peer, when the runtime tells it ("" otherwise). */
  readonly remote: string;
  /** Queues bytes to send. */
  write(bytes: Uint8Array): void;
  /** Sends what is queued, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

/** What a connection's owner does with its events. */
export interface TcpHandlers {
  data(bytes: Uint8Array): void;
  closed(): void;
}

/**
 * What the owner of an outgoing connection (`Net.connect`) does with its events: those of an
 * accepted one, plus `connected`, and `closed` saying why when the connection failed.
 */
export interface TcpClientHandlers extends TcpHandlers {
  /** The connection is established: `write` may be called from now on. Called at most once. */
  connected(): void;
  /**
   * Called once, when the connection is gone (after `connected` or without it). `failure` is
   * undefined for an orderly end (the peer closed, or the owner called `end` or `destroy`), else
   * one of: `net-down` (no link to connect over), `net-unresolved` (the host name did not
   * resolve), `net-refused` (the peer or the way to it refused the connection), `net-reset` (the
   * connection was reset once established), `net-failed` (any other failure the runtime reports;
   * `detail` says what it said).
   */
  closed(failure?: string, detail?: string): void;
}

export interface TcpServer {
  /** The port actually listened on (known once `ready` has been called). */
  port(): number;
  close(): void;
}

export interface NetLimits {
  /** Accepted connections the runtime can serve at once. */
  connections: number;
  /** A connection accepted while another is open disturbs it: destroy the newcomer at once. */
  exclusive: boolean;
  /** How long a request may take to arrive whole before it is answered 408 and closed, ms. */
  requestTimeoutMs: number;
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
 * address), or `done(code, detail)` when it could not, `code` one of core/errors' `wifi-not-found`,
 * `wifi-auth`, `wifi-failed`. On success a binding whose runtime tells the station's address passes
 * it as `detail` (`done(undefined, "192.168.1.60")`). It never stores the credentials anywhere
 * itself (bindings do not call the runtimes' own save functions, which write them in plain text).
 *
 * The setup access point (optional: a board whose runtime has none leaves `openAp` out):
 * - `openAp(ap, done)` opens a WPA2-PSK (AES) access point named `ap.ssid` with the passphrase
 *   `ap.passphrase`, the board at 192.168.4.1 with a DHCP server for its clients, and calls
 *   `done()` once it is up, or `done('wifi-failed', detail)` (an ESP-IDF error is only printed by
 *   Espruino, which then never calls back: the access point stays closed). A passphrase under 8
 *   characters is refused with a thrown Error, as both runtimes refuse it (a programming error: the
 *   caller's passphrase is derived, modules/channel/setup.ts); there is no open access point. While
 *   it is open, `listen`'s server is reachable from its clients.
 * - `closeAp()` closes it; nothing happens when it is not open (the Pico W's binding keeps its own
 *   flag, since Kaluma throws "WiFi AP_mode is not enabled."; Espruino's stopAP never fails).
 * - `apsta`: true when the station can join while the access point stays open (ESP32: ESP-IDF's
 *   AP+STA mode; the access point then follows the station's channel, so its clients may lose it
 *   for a moment while the station joins). Absent or false (the Pico W): `closeAp` resets the
 *   radio (module_pico_cyw43.c disable_ap_mode: every socket closed, the chip started again in
 *   station mode), which would drop a station joined meanwhile; the caller closes the access point
 *   before the station joins, and never with the station joined.
 */
export interface Wifi {
  join(credentials: WifiCredentials, done: (code?: string, detail?: string) => void): void;
  /** Calls `dropped(reason)` whenever the station loses its network (the module then rejoins). */
  onDrop(dropped: (reason: string) => void): void;
  openAp?(ap: WifiCredentials, done: (code?: string, detail?: string) => void): void;
  closeAp?(): void;
  readonly apsta?: boolean;
}

export interface Net {
  /** The board's Wi-Fi station, if it has one. */
  readonly wifi?: Wifi;
  readonly limits: NetLimits;
  /** Host names the board answers to besides IP literals (the host board: "localhost"). */
  readonly hostnames: string[];
  /**
   * Calls `changed(up)` whenever the board's link comes up or goes down: Wi-Fi joined or lost, and
   * where `listen` depends on it (the Pico W), the setup access point opened or closed.
   */
  onLink(changed: (up: boolean) => void): void;
  listen(port: number, accept: (connection: TcpConnection) => TcpHandlers, ready: (server: TcpServer) => void): TcpServer;
  /**
   * A TCP client (optional: a board without one leaves it out, and cannot pull updates). Opens a
   * connection to `host` (an IPv4 dotted quad, or a host name the runtime resolves) on `port`, and
   * returns it at once. Contract for a binding:
   * - No handler is called from inside `connect`: every event comes later, from the event loop,
   *   so the caller holds the returned connection first. `connect` itself does not throw for a
   *   runtime condition: a link that is down, a name that does not resolve, a runtime that refuses
   *   the socket all end in `closed(failure, detail)`, later.
   * - `connected()` once the connection is established; `write` before it is the caller's mistake
   *   (each runtime queues it differently). `data` brings the bytes as they arrive (a view valid
   *   during the call only); `closed` comes once, whoever closed, with a failure code when it was
   *   not an orderly end (`TcpClientHandlers`).
   * - No binding sets a timeout of its own beyond the runtime's: the caller bounds the exchange
   *   and calls `destroy()` when its time is up (on Kaluma the only end some failures have).
   * - Neither device runtime lets a receiver slow its sender down: each piece of data must be
   *   dealt with within the call that brings it.
   * What each runtime does:
   * - Host (node:net): names resolved by the system; every failure reported with its errno
   *   (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH → `net-refused`; ENOTFOUND, EAI_AGAIN →
   *   `net-unresolved`; ECONNRESET, EPIPE → `net-reset`; ENETDOWN → `net-down`; others
   *   `net-failed`); data in pieces of up to 64 KB.
   * - Kaluma 1.2.1, Pico W (`__netdev`, module_pico_cyw43.c): socket() throws "WiFi is not
   *   connected." while the link is down (`net-down`). connect() resolves a host name through
   *   lwIP's DNS (IPv4), blocking the runtime for up to 3 s, and throws when it cannot
   *   (`net-unresolved`); an IP literal needs no lookup. The connection reports its establishment
   *   through the socket's connect_cb, the peer's close through close_cb, and its data through its
   *   own read_cb (a client socket has no server_fd: its bytes are its own, unlike an accepted
   *   connection's). lwIP's error callback is set to NULL: a refused, unreachable or reset
   *   connection is never reported to JavaScript (it neither connects nor closes), so the caller's
   *   timeout is its end; lwIP has freed such a connection's pcb, which the module still holds and
   *   hands to tcp_close() when it is closed (a defect of module_pico_cyw43.c that affects accepted
   *   connections alike, and that no binding can avoid). The window is reopened (tcp_recved) before
   *   JavaScript sees the data: nothing slows the sender.
   * - Espruino 2v29, ESP32 (`require("net").connect`, socketserver.c over network_esp32.c):
   *   connect() throws "Not connected to the internet" without a link, and leaves behind a
   *   connection object that, having no socket, the idle loop never closes (the binding does not
   *   call it while its link is down: `net-down`); it throws "Unable to locate host" for a name lwIP's gethostbyname
   *   (blocking) cannot resolve (`net-unresolved`), then closes that connection by itself.
   *   'connect' is emitted at the first pass of the event loop that finds nothing wrong, before
   *   the handshake has completed (net_esp32_recv answers 0 for a socket with nothing to read);
   *   writes wait in Espruino's queue until the socket is writable. net_esp32_recv answers -1
   *   for any failure, which socketserver.c reads as SOCKET_ERR_CLOSED: a refused, unreachable or
   *   reset connection closes with no 'error', `closed()` with no failure, which the ESP32 cannot
   *   tell from a peer that closed (the caller tells it by what it had received). An 'error'
   *   event, where one comes, carries Espruino's socket error code (socketerrors.h: -9 reset →
   *   `net-reset`, others `net-failed`). 'data' brings at most 536 bytes per pass of the event
   *   loop: lwIP holds the rest within the TCP window.
   */
  connect?(host: string, port: number, handlers: TcpClientHandlers): TcpConnection;
}

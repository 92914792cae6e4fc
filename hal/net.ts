/**
 * Net: a TCP server on the board's network, and its Wi-Fi station. HTTP is the kit's own
 * (firmware/device/core/http-server.ts over core/http-parser.ts, one parser for every board): the
 * runtimes' `http` modules buffer a request of any size before JavaScript sees it, so one hostile
 * request could exhaust a device. Over TCP every byte is counted as it arrives.
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
}

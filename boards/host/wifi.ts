import type { Wifi, WifiCredentials } from '../../hal/net';

/**
 * The host board's simulated Wi-Fi (hal/net.ts `Wifi`): a station that joins the networks the
 * simulator knows, and a setup access point whose passphrase a simulated client must present.
 * HTTP stays on 127.0.0.1 whatever the radio does (boards/host/net.ts): the access point is state,
 * and `joinAp(passphrase)` is the check a client joining it would pass.
 *
 * It refuses what both runtimes refuse (an access point without a passphrase of 8 characters or
 * more), and, when it plays a board without AP+STA (`apsta: false`, like the Pico W), a join while
 * the access point is open: the module must close it first.
 */
export interface HostWifiOptions {
  /** The networks in range: SSID → WPA2 passphrase ("" for an open network). Shared, so tests may change it. */
  networks: { [ssid: string]: string };
  /** The station joins while the access point stays open (ESP32; the default) or not (Pico W). */
  apsta?: boolean;
  /** Simulated time a join takes, ms (default 20). */
  joinMs?: number;
}

export interface HostWifi extends Wifi {
  openAp(ap: WifiCredentials, done: (code?: string, detail?: string) => void): void;
  closeAp(): void;
  readonly apsta: boolean;
  /** The setup access point: its SSID and whether it is open (null before the device asked for one). */
  ap(): { ssid: string; open: boolean } | null;
  /** A client joining the setup access point with `passphrase`: true when it is open and the passphrase is its. */
  joinAp(passphrase: string): boolean;
  /** The SSID the station has joined, or null. */
  joined(): string | null;
  /** The station's network goes away (the station reports the loss). */
  drop(): void;
  /** Powers the radio off: the device is gone, nothing it left pending reaches it any more. */
  off(): void;
}

/** The station's address on the simulated network: the device is served on 127.0.0.1. */
export const HOST_STATION_ADDRESS = '127.0.0.1';

export function hostWifi(options: HostWifiOptions): HostWifi {
  const apsta = options.apsta ?? true;
  const drops: ((reason: string) => void)[] = [];
  let access: WifiCredentials | undefined;
  let open = false;
  let station: string | null = null;
  let on = true;
  return {
    apsta,
    join(credentials, done) {
      if (open && !apsta) throw new Error('join while the setup access point is open: this board cannot (close it first)');
      station = null;
      setTimeout(() => {
        if (!on) return;
        const known = Object.prototype.hasOwnProperty.call(options.networks, credentials.ssid);
        if (!known) done('wifi-not-found', 'no network "' + credentials.ssid + '" in range of the simulator');
        else if (options.networks[credentials.ssid] !== credentials.passphrase) done('wifi-auth', 'the simulated network refused the passphrase');
        else {
          station = credentials.ssid;
          done(undefined, HOST_STATION_ADDRESS);
        }
      }, options.joinMs ?? 20);
    },
    onDrop(dropped) {
      drops.push(dropped);
    },
    openAp(ap, done) {
      if (typeof ap.passphrase !== 'string' || ap.passphrase.length < 8) throw new Error('the setup access point needs a passphrase of at least 8 characters (WPA2)');
      access = { ssid: ap.ssid.slice(0, 32), passphrase: ap.passphrase };
      open = true;
      setTimeout(() => {
        if (on) done();
      }, 0);
    },
    closeAp() {
      if (!open) return;
      open = false;
      // Without AP+STA, closing the access point resets the radio: a joined station leaves too.
      if (!apsta && station !== null) {
        station = null;
        for (const d of drops) d('the setup access point closed');
      }
    },
    ap: () => (access ? { ssid: access.ssid, open } : null),
    joinAp: (passphrase) => open && access !== undefined && access.passphrase === passphrase,
    joined: () => station,
    drop() {
      if (station === null) return;
      station = null;
      for (const d of drops) d('the simulated network went away');
    },
    off() {
      on = false;
      open = false;
      station = null;
      drops.length = 0;
    },
  };
}

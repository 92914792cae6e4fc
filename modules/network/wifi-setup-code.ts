import type { Asset, Assets } from '../../firmware/device/core/assets';
import { wifiSetup as linked, type WifiSetup } from './wifi-setup';

/**
 * Where the Wi-Fi module's setup code (wifi-setup.ts) comes from. Here, from the bundle itself
 * (host and Espruino, library bundles). The Kaluma image build replaces this file with one that
 * evaluates its text from the image's assets (asset 10) when a unit opens its setup access point or
 * takes credentials over PUT (firmware/host/ondemand.ts, core/code.ts): JerryScript keeps the
 * bytecode of everything the program parses in its heap for as long as the program runs, and a
 * unit is set up once.
 */
export function wifiSetup(_assets: Assets, _id: Asset.CODE_WIFI_SETUP): WifiSetup {
  return linked;
}

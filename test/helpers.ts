import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import type { DeviceTarget } from '../firmware/host/profiles';

/** Bundles a device snippet under test/fixtures for `target`, as `hoshi build` bundles an image. */
export async function bundleFixture(file: string, target: DeviceTarget): Promise<{ code: string; map: string }> {
  const entry = 'import ' + JSON.stringify(join(ROOT, 'test/fixtures', file)) + ';';
  return bundleDevice(entry, ROOT, target, join(ROOT, 'dist/test', target, file.replace(/\.ts$/, '.js')));
}

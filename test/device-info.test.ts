import test from 'ava';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Image } from '../firmware/device/image';
import { buildImage, readManifest, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import type { DeviceTarget } from '../firmware/host/profiles';
import { startSimulator } from '../firmware/host/simulator';
import { hostSlots } from '../boards/host/board';
import { readBootRecord } from '../firmware/device/core/bootctl';

/**
 * S1.1-10 and the other public facts of `/api/info`: for each example, what the unit shows is what
 * its image's configuration says (the configuration `hoshi build` builds from), on the host
 * simulator and on each device target's build in the engine check; the security counter is the
 * boot control record's floor.
 */

const EXAMPLES = ['smart-plug', 'env-sensor'];

async function imageOf(example: string): Promise<Image> {
  const manifest = readManifest(example);
  return (await import(pathToFileURL(join(ROOT, 'examples', example, manifest.entry)).href)).default as Image;
}

function expected(image: Image): { [field: string]: unknown } {
  const c = image.config;
  return { model: c.model, vendor: c.vendor, hardwareRevision: c.hardwareRevision, firmwareVersion: c.firmwareVersion, supportEnd: c.supportEnd, vulnerabilityDisclosure: c.vulnerabilityDisclosureUrl };
}

for (const example of EXAMPLES) {
  test(`${example} on the host simulator: /api/info shows the configuration's model, hardware revision, version, support end and disclosure URL, and the record's counter`, async (t) => {
    const image = await imageOf(example);
    const sim = await startSimulator({ image, quiet: true, iterations: 4096 });
    t.teardown(() => sim.stop());
    const info = (await (await fetch(sim.url + '/api/info')).json()) as { [field: string]: unknown } & { status: { securityCounter: number; interfaces: string } };
    t.like(info, expected(image));
    t.is(info.serial, sim.device.serial);
    t.is(info.status.securityCounter, readBootRecord(hostSlots(sim.flash).bootctl).floor);
    t.regex(info.status.interfaces, /^tcp\/\d+/);
  });

  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    if (!readManifest(example).boards[target]) continue;
    test(`${example} built for ${target}: its /api/info in the engine check shows the same configuration`, async (t) => {
      const image = await imageOf(example);
      const built = await buildImage(example, target, join(ROOT, 'dist/test/device-info'));
      const report = await runInEngine(built.code, target, { budgetBytes: 64 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
      t.true(report.booted, report.error);
      const info = JSON.parse(report.replies[0]!.text) as { [field: string]: unknown } & { status: { securityCounter: number } };
      t.like(info, expected(image));
      t.is(typeof info.board, 'string', 'the board as its runtime names it (' + built.board + ')');
      t.is(info.status.securityCounter, 0, 'the factory boot record: counter floor 0');
    });
  }
}

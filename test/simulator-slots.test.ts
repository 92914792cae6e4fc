import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostAssets, hostSlots, HOST_PARTITIONS } from '../boards/host/board';
import { openSimFlash, PICO_GEOMETRY, type FlashBacking } from '../boards/host/flash';
import { openAssets } from '../firmware/device/core/assets';
import { Boot, readBootRecord, runningSlot, SlotState, UPDATE_REASONS, writeBootRecord } from '../firmware/device/core/bootctl';
import { u32 } from '../firmware/device/core/bytes';
import { defineImage } from '../firmware/device/image';
import { buildAssets } from '../firmware/host/assets';
import { buildHostSlotApp, ROOT } from '../firmware/host/build';
import { composePayload } from '../firmware/host/payload';
import { HOST_MARKER, startSimulator, type Simulator } from '../firmware/host/simulator';
import image from '../examples/smart-plug/image';
import echoImage from './fixtures/echo-image';

/**
 * The simulator as the host's loader (docs/formats/update.md §4, §7): slot A flashed with the
 * marker at its start, a real host slot-app payload in slot B booted on trial (the record written
 * by hand, as modules/ota writes it), the revert after N unconfirmed or crashed trial boots, and a
 * start that finds an installed update running.
 */

const COUNTER = 5;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-slots-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let built: Promise<{ payload: Uint8Array; app: number }> | undefined;
/**
 * A real host slot app at 0.2.0 with its assets: the echo fixture's image, which has no ota module,
 * so nothing in it confirms a trial (the tests confirm by hand, as modules/ota would, or not at all).
 */
const hostPayload = (): Promise<{ payload: Uint8Array; app: number }> =>
  (built ??= (async () => {
    const { code } = await buildHostSlotApp({ image: 'test/fixtures/echo-image.ts' }, { firmwareVersion: '0.2.0' }, join(ROOT, 'dist/test'));
    return { payload: composePayload(code, await buildAssets()), app: code.length };
  })());

/**
 * Installs `payload` in slot B as modules/ota leaves it before the reboot: the header (L and a
 * stand-in for the COSE_Sign1), the payload, and a record naming B the trial slot with `tries`.
 */
function install(backing: FlashBacking, payload: Uint8Array, app: number, tries: number): void {
  const flash = openSimFlash(backing, PICO_GEOMETRY);
  const { bootctl, slots } = hostSlots(flash);
  const slot = slots[1]!;
  slot.erase(0, slot.size);
  const padded = new Uint8Array(Math.ceil(payload.length / 256) * 256).fill(0xff);
  padded.set(payload);
  slot.write(Boot.SLOT_HEADER, padded);
  const header = new Uint8Array(256).fill(0xff);
  header.set([8, 0, 0, 0, 0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, 0x04, 0x48]);
  slot.write(0, header);
  const record = readBootRecord(bootctl);
  record.trial = 1;
  record.tries = tries;
  record.slots[1] = {
    state: SlotState.TRIAL,
    reason: 0,
    version: [0, 2, 0],
    counter: COUNTER,
    size: payload.length,
    app,
    received: payload.length,
    digest: new Uint8Array(createHash('sha256').update(payload).digest()),
    kid: new Uint8Array(8).fill(0x11),
  };
  writeBootRecord(bootctl, record);
}

/** What modules/ota writes when the trial image confirms: B active and good, the floor raised, in one record. */
function confirm(sim: Simulator): void {
  const { bootctl } = hostSlots(sim.flash);
  const record = readBootRecord(bootctl);
  record.active = 1;
  record.trial = Boot.NO_TRIAL;
  record.tries = 0;
  record.slots[1]!.state = SlotState.GOOD;
  record.floor = record.slots[1]!.counter;
  writeBootRecord(bootctl, record);
  sim.loader.confirmed();
}

async function info(sim: Simulator): Promise<{ firmwareVersion: string; model: string }> {
  return (await fetch(sim.url + '/api/info')).json() as Promise<{ firmwareVersion: string; model: string }>;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('start: slot A holds the header (L = 0), the marker, NUL, FF and the assets; the factory record names it', async (t) => {
  const sim = await startSimulator({ image, quiet: true });
  t.teardown(() => sim.stop());
  const { bootctl, slots } = hostSlots(sim.flash);
  const record = readBootRecord(bootctl);
  t.is(record.seq, 1);
  t.is(record.active, 0);
  t.is(record.trial, Boot.NO_TRIAL);
  const a = record.slots[0]!;
  t.is(a.state, SlotState.GOOD);
  t.deepEqual(a.version, [0, 1, 0]);
  t.is(record.slots[1]!.state, SlotState.EMPTY);
  t.is(u32(slots[0]!.read(0, 4), 0), 0, 'L = 0: the factory wrote it');
  const marker = Buffer.from(slots[0]!.read(Boot.SLOT_HEADER, a.app)).toString('latin1');
  t.is(marker, HOST_MARKER + 'HS-PLUG-01 0.1.0 */');
  t.is(slots[0]!.read(Boot.SLOT_HEADER + a.app, 1)[0], 0);
  const container = await buildAssets();
  const expected = composePayload(marker, container);
  t.is(a.size, expected.length);
  t.deepEqual(slots[0]!.read(Boot.SLOT_HEADER, a.size), expected);
  t.deepEqual(a.digest, new Uint8Array(createHash('sha256').update(expected).digest()));
  t.is(openAssets(hostAssets(sim.flash)).problem(), '');
  t.is(sim.slot, 0);
  t.false(sim.loader.trial);
  // A reboot writes nothing to the record: the loader boots the active slot.
  await sim.reboot();
  t.is(readBootRecord(hostSlots(sim.flash).bootctl).seq, 1);
  t.is(sim.flash.erases, 0);
});

test('a host slot-app payload in slot B boots on trial; confirmed, it stays; a new start leaves it running', async (t) => {
  const dir = tempDir(t);
  const { payload, app } = await hostPayload();
  let sim = await startSimulator({ image: echoImage, quiet: true, dir, confirmWithinMs: 400 });
  t.teardown(() => sim.stop());
  t.like(await info(sim), { firmwareVersion: '0.1.0' });
  const serial = sim.device.serial;
  install(sim.backing, payload, app, 3);
  await sim.reboot();
  t.is(sim.slot, 1);
  t.true(sim.loader.trial);
  t.like(await info(sim), { firmwareVersion: '0.2.0', model: 'HS-ECHO-01' });
  t.is(sim.device.serial, serial, 'the same unit: its provisioning and state are kept');
  const record = readBootRecord(hostSlots(sim.flash).bootctl);
  t.is(record.tries, 2, 'one trial boot used, written before it ran');
  // The board's assets are slot B's container.
  const assets = openAssets(hostAssets(sim.flash, 1));
  t.is(assets.problem(), '');
  t.is((await fetch(sim.url + '/echo', { method: 'POST', body: 'abc' })).status, 200, 'slot B\'s image serves');
  confirm(sim);
  const boots = sim.boots;
  await wait(600);
  t.is(sim.boots, boots, 'confirmed: the deadline does not reboot');
  await sim.reboot();
  t.is(sim.slot, 1);
  t.false(sim.loader.trial);
  t.like(await info(sim), { firmwareVersion: '0.2.0' });
  // A new start of the simulator finds the installed update running and flashes nothing.
  sim.stop();
  sim = await startSimulator({ image: echoImage, quiet: true, dir });
  t.is(sim.slot, 1);
  t.like(await info(sim), { firmwareVersion: '0.2.0' });
  const after = readBootRecord(hostSlots(sim.flash).bootctl);
  t.is(after.active, 1);
  t.is(after.floor, COUNTER);
});

test('a trial image that never confirms: rebooted at each deadline, then reverted to slot A after N boots (not-confirmed)', async (t) => {
  const { payload, app } = await hostPayload();
  const sim = await startSimulator({ image: echoImage, quiet: true, confirmWithinMs: 150, tries: 2 });
  t.teardown(() => sim.stop());
  install(sim.backing, payload, app, 2);
  await sim.reboot();
  t.is(sim.slot, 1);
  const boots = sim.boots;
  const second = await sim.nextBoot();
  t.is(sim.slot, 1, 'the deadline rebooted it into its second trial');
  t.is(second, sim.device);
  await sim.nextBoot();
  t.is(sim.slot, 0, 'no tries left: slot A');
  t.is(sim.boots, boots + 2);
  t.false(sim.loader.trial);
  t.like(await info(sim), { firmwareVersion: '0.1.0' });
  const record = readBootRecord(hostSlots(sim.flash).bootctl);
  t.is(record.active, 0);
  t.is(record.trial, Boot.NO_TRIAL);
  t.is(record.slots[1]!.state, SlotState.BAD);
  t.is(UPDATE_REASONS[record.slots[1]!.reason], 'not-confirmed');
  t.is(runningSlot(record), 0);
});

test('a trial image that crashes at every boot: the simulator reboots it (a watchdog would), then reverts (trial-crashed)', async (t) => {
  const sim = await startSimulator({ image, quiet: true, tries: 3 });
  t.teardown(() => sim.stop());
  const crash = 'export function start() { throw new Error("boom at boot"); }';
  install(sim.backing, composePayload(crash), crash.length, 3);
  const boots = sim.boots;
  await sim.reboot();
  t.is(sim.boots, boots + 4, 'three crashed trial boots, then slot A');
  t.is(sim.slot, 0);
  t.like(await info(sim), { firmwareVersion: '0.1.0' });
  const record = readBootRecord(hostSlots(sim.flash).bootctl);
  t.is(record.slots[1]!.state, SlotState.BAD);
  t.is(UPDATE_REASONS[record.slots[1]!.reason], 'trial-crashed');
  // A slot app that is not even a module crashes the same way.
  install(sim.backing, composePayload('this is not javascript'), 22, 1);
  await sim.reboot();
  t.is(sim.slot, 0);
  t.is(UPDATE_REASONS[readBootRecord(hostSlots(sim.flash).bootctl).slots[1]!.reason], 'trial-crashed');
});

test('the marker image that throws at boot: the start fails with its error (a device would reboot into it for ever)', async (t) => {
  const broken = defineImage({
    ...image,
    modules: [
      {
        name: 'broken',
        start: () => {
          throw new Error('broken module');
        },
      },
    ],
  });
  await t.throwsAsync(startSimulator({ image: broken, quiet: true }), { message: 'broken module' });
});

test('a flash from before the slots (the old assets partition at 0x20000) is flashed anew', async (t) => {
  const dir = tempDir(t);
  const first = await startSimulator({ image, quiet: true, dir });
  const serial = first.device.serial;
  // What an older simulator left at 0x20000: an assets container where the record now lies.
  const flash = openSimFlash(first.backing, PICO_GEOMETRY);
  flash.erase(HOST_PARTITIONS.bootctl.offset, 0x12000);
  const old = await buildAssets();
  flash.write(HOST_PARTITIONS.bootctl.offset, old.subarray(0, 0x10000 - (0x10000 % 256)).subarray(0, Math.floor(old.length / 256) * 256));
  first.stop();
  const sim = await startSimulator({ image, quiet: true, dir });
  t.teardown(() => sim.stop());
  t.is(sim.device.serial, serial);
  t.is(sim.slot, 0);
  t.is(readBootRecord(hostSlots(sim.flash).bootctl).seq, 1);
  t.like(await info(sim), { firmwareVersion: '0.1.0' });
});

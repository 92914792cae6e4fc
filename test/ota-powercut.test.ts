import test, { type ExecutionContext } from 'ava';
import { createHash, createPrivateKey } from 'node:crypto';
import smartPlug from '../examples/smart-plug/image';
import { Boot, readBootRecord, SlotState } from '../firmware/device/core/bootctl';
import { readProvisioning } from '../firmware/device/core/provisioning';
import { HOST_PARTITIONS } from '../boards/host/board';
import { memoryBacking, type FlashBacking, type SimFlash } from '../boards/host/flash';
import { partition } from '../hal/flash';
import { changePassword, deviceInfo, login } from '../firmware/host/client';
import { buildPayload, composePayload } from '../firmware/host/payload';
import { hostSlots, startSimulator, type Simulator } from '../firmware/host/simulator';
import { updateDevice } from '../firmware/host/update-client';
import { generateKeyPair } from '../firmware/host/update/keys';
import { createImagePackage, type SigningKey } from '../firmware/host/update/package';
import { parseSetupKey } from '../modules/channel/setup';

/**
 * A power cut at every flash operation of an update (docs/formats/update.md §4–7): receiving,
 * hashing, verifying, marking the trial, the loader's trial boot, the confirmation, and on a
 * second path the revert of a trial image that never confirms. After each cut the unit is powered
 * on again: it must boot an image whose reported version is its slot's, never an unverified one
 * (a slot booted with version 0.2.0 is on trial or good, and holds exactly the signed payload), and
 * it keeps its provisioning (never factory state). The counts of cut points are printed.
 */

const PASSWORD = 'Juniper-otter 47 lantern';
const k = generateKeyPair();
const KEY: SigningKey = { privateKey: createPrivateKey(k.privatePem), publicKey: k.publicKey, kid: k.kid };
const FIELDS = { vendor: smartPlug.config.vendor, model: smartPlug.config.model, runtime: 'host', board: 'host' };

interface Before {
  bytes: Uint8Array;
  uid: string;
  setupKey: Uint8Array;
  serial: string;
}

/** A provisioned unit whose password has been changed: its flash, to start every run from. */
async function prepare(t: ExecutionContext): Promise<Before> {
  const backing = memoryBacking(1024 * 1024);
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, updateKeys: [KEY.publicKey], backing, uid: 'c0ffee00c0ffee00' });
  const setupKey = parseSetupKey(sim.label!.setupKey)!;
  const first = await login(sim.url, sim.label!.defaultPassword, setupKey);
  await changePassword(first, setupKey, PASSWORD, { iterations: 4096 });
  const serial = sim.device.serial!;
  sim.stop();
  t.truthy(serial);
  return { bytes: backing.read(0, backing.size), uid: 'c0ffee00c0ffee00', setupKey, serial };
}

function copyOf(bytes: Uint8Array): FlashBacking {
  const b = memoryBacking(bytes.length);
  b.store(0, bytes);
  return b;
}

/**
 * Runs `work` on a unit started from `before`, the power cut at its `cut`th flash operation counted
 * from the end of the first boot across power-ons (0: none; the first boot's own writes, its
 * security log entries, are not the work's); then powers the unit on again (if the cut came) and
 * returns it with the number of operations the work did.
 */
async function run(before: Before, cut: number, work: (sim: Simulator) => Promise<unknown>, options: { confirmWithinMs?: number; tries?: number } = {}): Promise<{ sim: Simulator; operations: number; cutHappened: boolean }> {
  const backing = copyOf(before.bytes);
  let done = 0;
  let previous: SimFlash | undefined;
  let cutHappened = false;
  let started = false;
  const sim = await startSimulator({
    image: smartPlug,
    quiet: true,
    iterations: 4096,
    updateKeys: [KEY.publicKey],
    backing,
    uid: before.uid,
    confirmWithinMs: options.confirmWithinMs,
    tries: options.tries,
    powerOn: (flash) => {
      if (!started) return;
      if (previous) {
        done += previous.operations;
        if (previous.dead) cutHappened = true;
      }
      previous = flash;
      if (cut > 0 && !cutHappened && cut - done >= 1) flash.cutAt(cut - done);
    },
  });
  // From here on the work's: the first power-on counts from its operations so far.
  started = true;
  previous = sim.flash;
  done = -sim.flash.operations;
  if (cut > 0) sim.flash.cutAt(sim.flash.operations + cut);
  await work(sim).catch(() => undefined);
  // Let the unit settle: a trial boot's deadline, a revert.
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (previous?.dead) {
    cutHappened = true;
    done += previous.operations;
    previous = undefined;
    // A unit that does not come up again is powered off before the test fails, so nothing of it runs on.
    await sim.reboot().catch((error: unknown) => {
      sim.stop();
      throw error;
    });
  } else if (previous) done += previous.operations;
  return { sim, operations: done, cutHappened };
}

async function check(t: ExecutionContext, before: Before, sim: Simulator, payload: Uint8Array, label: string): Promise<string> {
  const info = (await deviceInfo(sim.url)) as unknown as { firmwareVersion: string; serial: string };
  t.is(info.serial, before.serial, label + ': provisioning kept');
  const found = readProvisioning(partition(sim.flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size));
  t.true(found.ok, label);
  const { bootctl, slots } = hostSlots(sim.flash);
  const r = readBootRecord(bootctl);
  const slot = sim.slot!;
  const s = r.slots[slot]!;
  t.is(s.version.join('.'), info.firmwareVersion, label + ': the version reported is the running slot\'s');
  if (info.firmwareVersion === '0.2.0') {
    t.true(s.state === SlotState.TRIAL || s.state === SlotState.GOOD, label + ': booted only on trial or confirmed, state ' + s.state);
    const stored = slots[slot]!.read(Boot.SLOT_HEADER, payload.length);
    t.is(createHash('sha256').update(stored).digest('hex'), createHash('sha256').update(payload).digest('hex'), label + ': the payload booted is the signed one');
  } else {
    t.is(info.firmwareVersion, '0.1.0', label);
    t.is(slot, 0, label);
  }
  return info.firmwareVersion;
}

async function update(before: Before, pkg: Uint8Array, sim: Simulator): Promise<void> {
  const session = await login(sim.url, PASSWORD, before.setupKey);
  await updateDevice(session, pkg, '0.2.0', { pollMs: 10, waitMs: 3000 });
}

/** Runs every cut point of `work`, a few at a time. */
async function everyCut(t: ExecutionContext, before: Before, total: number, each: (cut: number) => Promise<void>): Promise<void> {
  let next = 1;
  const lanes = Array.from({ length: 3 }, async () => {
    while (next <= total) await each(next++);
  });
  await Promise.all(lanes);
  t.pass();
}

test('a power cut at every flash operation of an update leaves a unit that boots a verified image, its version reported (S1.1-08, -14)', async (t) => {
  t.timeout(600000);
  const before = await prepare(t);
  const built = await buildPayload('smart-plug', 'host', { version: '0.2.0' });
  const pkg = createImagePackage({ ...FIELDS, version: '0.2.0', counter: 1, app: built.app }, built.payload, KEY);
  // Without a cut: how many operations the whole update takes, power-ons included.
  const clean = await run(before, 0, (sim) => update(before, pkg, sim));
  t.is(await check(t, before, clean.sim, built.payload, 'no cut'), '0.2.0');
  clean.sim.stop();
  const versions: { [v: string]: number } = {};
  await everyCut(t, before, clean.operations, async (cut) => {
    const r = await run(before, cut, (sim) => update(before, pkg, sim));
    try {
      const v = await check(t, before, r.sim, built.payload, 'cut at ' + cut + ' of ' + clean.operations);
      versions[v] = (versions[v] ?? 0) + 1;
      // Every fifth cut: the unit can still take the update after the cut.
      if (cut % 5 === 0 && v === '0.1.0') {
        await update(before, pkg, r.sim);
        t.is(await check(t, before, r.sim, built.payload, 'after cut ' + cut + ', updated again'), '0.2.0');
      }
    } finally {
      r.sim.stop();
    }
  });
  console.log('[ota-powercut] update: ' + clean.operations + ' cut points; the unit came back on ' + JSON.stringify(versions));
});

test('a power cut at every flash operation of a revert leaves a unit on the previous image', async (t) => {
  t.timeout(600000);
  const before = await prepare(t);
  const silent = 'export function start(board, ready, port) { return { config: {}, provisioned: false, routes: [], port: () => 0, stop: () => undefined }; }';
  const payload = composePayload(silent);
  const pkg = createImagePackage({ ...FIELDS, version: '0.2.0', counter: 1, app: silent.length }, payload, KEY);
  const work = async (sim: Simulator): Promise<void> => {
    await update(before, pkg, sim).catch(() => undefined);
  };
  const clean = await run(before, 0, work, { confirmWithinMs: 150, tries: 2 });
  t.is((await deviceInfo(clean.sim.url)).firmwareVersion, '0.1.0');
  t.is(readBootRecord(hostSlots(clean.sim.flash).bootctl).slots[1]!.state, SlotState.BAD);
  clean.sim.stop();
  await everyCut(t, before, clean.operations, async (cut) => {
    const r = await run(before, cut, work, { confirmWithinMs: 150, tries: 2 });
    try {
      // Wait out any trial still pending after the cut, then the unit must be on 0.1.0 from slot A.
      for (let i = 0; i < 40 && (readBootRecord(hostSlots(r.sim.flash).bootctl).trial !== Boot.NO_TRIAL || r.sim.slot !== 0); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const info = await deviceInfo(r.sim.url);
      t.is(info.firmwareVersion, '0.1.0', 'cut at ' + cut);
      t.is(r.sim.slot, 0, 'cut at ' + cut);
    } finally {
      r.sim.stop();
    }
  });
  console.log('[ota-powercut] revert: ' + clean.operations + ' cut points');
});

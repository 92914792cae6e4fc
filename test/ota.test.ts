import test, { type ExecutionContext } from 'ava';
import smartPlug from '../examples/smart-plug/image';
import { Boot, readBootRecord, SlotState, UPDATE_REASONS } from '../firmware/device/core/bootctl';
import { changePassword, ClientError, deviceInfo, login, type Session } from '../firmware/host/client';
import { buildPayload, composePayload } from '../firmware/host/payload';
import { hostSlots, startSimulator, type Simulator } from '../firmware/host/simulator';
import { updateDevice, updateState } from '../firmware/host/update-client';
import { newSigningKey } from '../firmware/host/update/keys';
import { bstrHead, createImagePackage, createRotationPackage, encodeCbor, kidOf, sha256, signSign1, type SigningKey } from '../firmware/host/update/package';
import { parseSetupKey } from '../modules/channel/setup';

/**
 * Signed updates end to end on the simulated unit (modules/ota, the loader, the boot record):
 * a package uploaded through the admin channel, verified in the running image, booted on trial,
 * confirmed and kept across restarts; refused packages leave the running image as it was and the
 * device serving; a trial image that never confirms, or crashes at boot, is reverted by the device.
 */

const PASSWORD = 'Juniper-otter 47 lantern';


const KEY = newSigningKey();
const OTHER = newSigningKey();

interface Unit {
  sim: Simulator;
  setupKey: Uint8Array;
  session(): Promise<Session>;
}

async function unit(t: ExecutionContext, options: { confirmWithinMs?: number; tries?: number; keys?: Uint8Array[] } = {}): Promise<Unit> {
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, updateKeys: options.keys ?? [KEY.publicKey], confirmWithinMs: options.confirmWithinMs, tries: options.tries });
  t.teardown(() => sim.stop());
  const setupKey = parseSetupKey(sim.label!.setupKey)!;
  const first = await login(sim.url, sim.label!.defaultPassword, setupKey);
  await changePassword(first, setupKey, PASSWORD, { iterations: 4096 });
  return { sim, setupKey, session: () => login(sim.url, PASSWORD, setupKey) };
}

let hostPayload: Promise<{ payload: Uint8Array; app: number }> | undefined;
/** The smart plug built as a host slot app, version 0.2.0 (built once). */
function payload020(): Promise<{ payload: Uint8Array; app: number }> {
  hostPayload ??= buildPayload('smart-plug', 'host', { version: '0.2.0' });
  return hostPayload;
}

const FIELDS = { vendor: smartPlug.config.vendor, model: smartPlug.config.model, runtime: 'host', board: 'host' };

async function imagePackage(o: { version?: string; counter?: number; key?: SigningKey; model?: string; board?: string } = {}): Promise<Uint8Array> {
  const p = await payload020();
  return createImagePackage({ ...FIELDS, model: o.model ?? FIELDS.model, board: o.board ?? 'host', version: o.version ?? '0.2.0', counter: o.counter ?? 1, app: p.app }, p.payload, o.key ?? KEY);
}

/** A host slot app of our own (an ES module exporting start), in a signed package. */
function appPackage(app: string, version: string, counter = 1): Uint8Array {
  const payload = composePayload(app);
  return createImagePackage({ ...FIELDS, version, counter, app: app.length }, payload, KEY);
}

async function running(u: Unit): Promise<{ version: string; counter: number }> {
  const info = (await deviceInfo(u.sim.url)) as unknown as { firmwareVersion: string; status: { securityCounter: number } };
  return { version: info.firmwareVersion, counter: info.status.securityCounter };
}

async function refusedWith(t: ExecutionContext, u: Unit, pkg: Uint8Array, code: string): Promise<void> {
  const session = await u.session();
  const before = readBootRecord(hostSlots(u.sim.flash).bootctl);
  const error = await t.throwsAsync(updateDevice(session, pkg, '9.9.9', { pollMs: 20, waitMs: 5000 }));
  t.true(error instanceof ClientError, String(error));
  t.is((error as ClientError).error, code, (error as Error).message);
  // Still serving the same image, its slot untouched.
  t.deepEqual(await running(u), { version: '0.1.0', counter: 0 });
  const after = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(after.active, before.active);
  t.is(after.slots[after.active]!.state, SlotState.GOOD);
  t.is(after.trial, Boot.NO_TRIAL);
}

test('a signed update is uploaded, verified, booted on trial, confirmed, and kept across restarts (S1.1-06, -08, -14)', async (t) => {
  const u = await unit(t);
  t.deepEqual(await running(u), { version: '0.1.0', counter: 0 });
  const phases = new Set<string>();
  const done = await updateDevice(await u.session(), await imagePackage({ counter: 3 }), '0.2.0', { pollMs: 20, onProgress: (p) => phases.add(p) });
  t.deepEqual(done, { version: '0.2.0', securityCounter: 3 });
  t.true(phases.has('upload') && phases.has('restart'), [...phases].join(','));
  const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(r.active, 1);
  t.is(r.slots[1]!.state, SlotState.GOOD);
  t.is(r.floor, 3);
  t.is(r.trial, Boot.NO_TRIAL);
  // The admin state says the same, and a restart keeps it.
  const s = await updateState(await u.session());
  t.like(s, { phase: 'idle', securityCounter: 3, running: { slot: 1, version: '0.2.0', trial: false } });
  await u.sim.reboot();
  t.deepEqual(await running(u), { version: '0.2.0', counter: 3 });
  // The package that was installed cannot be installed again, nor the old version.
  await t.throwsAsync(updateDevice(await u.session(), await imagePackage({ counter: 3 }), '0.2.0', { pollMs: 20 }), { message: /version-not-newer/ });
});

test('refused packages: each with its reason, the running image untouched, the device serving', async (t) => {
  const u = await unit(t);
  const p = await payload020();
  await refusedWith(t, u, await imagePackage({ key: OTHER }), 'key-unknown');
  await refusedWith(t, u, await imagePackage({ model: 'HS-OTHER-01' }), 'wrong-model');
  await refusedWith(t, u, await imagePackage({ board: 'kaluma-pico-w' }), 'wrong-board');
  await refusedWith(t, u, await imagePackage({ version: '0.1.0' }), 'version-not-newer');
  await refusedWith(t, u, await imagePackage({ version: '0.0.9' }), 'version-not-newer');
  // A valid signature over a manifest whose digest is not the payload's.
  const tampered = await imagePackage();
  tampered[tampered.length - 10] ^= 0x01;
  await refusedWith(t, u, tampered, 'digest-mismatch');
  // Unknown manifest field: the same map with key 15 added, signed.
  const manifest = new Map<number, unknown>([
    [0, 1], [1, 1], [2, FIELDS.vendor], [3, FIELDS.model], [4, 'host'], [5, 'host'], [6, '0.2.0'], [7, 1],
    [8, p.payload.length], [9, sha256(p.payload)], [10, KEY.kid], [11, p.app], [15, 'surprise'],
  ]);
  const sign1 = signSign1(encodeCbor(manifest as never), KEY);
  const unknown = new Uint8Array([...sign1, ...bstrHead(p.payload.length), ...p.payload]);
  await refusedWith(t, u, unknown, 'manifest-unknown-field');
});

test('a lower security counter is refused once a higher one is committed (anti-rollback)', async (t) => {
  const u = await unit(t);
  await updateDevice(await u.session(), await imagePackage({ counter: 5 }), '0.2.0', { pollMs: 20 });
  const error = await t.throwsAsync(updateDevice(await u.session(), await imagePackage({ version: '0.3.0', counter: 4 }), '0.3.0', { pollMs: 20 }));
  t.is((error as ClientError).error, 'counter-rollback');
  t.deepEqual(await running(u), { version: '0.2.0', counter: 5 });
});

test('a trial image that never confirms is reverted by the device', async (t) => {
  const u = await unit(t, { confirmWithinMs: 300, tries: 2 });
  // Boots, never serves: it cannot confirm.
  const silent = 'export function start(board, ready, port) { return { config: {}, provisioned: false, routes: [], port: () => 0, stop: () => undefined }; }';
  const session = await u.session();
  await t.throwsAsync(updateDevice(session, appPackage(silent, '0.2.0'), '0.2.0', { pollMs: 20, waitMs: 4000 }), { message: /did not come back on 0.2.0/ });
  const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(r.active, 0);
  t.is(r.slots[1]!.state, SlotState.BAD);
  t.is(UPDATE_REASONS[r.slots[1]!.reason], 'not-confirmed');
  t.deepEqual(await running(u), { version: '0.1.0', counter: 0 });
});

test('a trial image that crashes at boot is reverted by the device', async (t) => {
  const u = await unit(t, { confirmWithinMs: 2000, tries: 2 });
  const crashing = 'export function start() { throw new Error("broken at boot"); }';
  await t.throwsAsync(updateDevice(await u.session(), appPackage(crashing, '0.2.0'), '0.2.0', { pollMs: 20, waitMs: 4000 }), { message: /did not come back/ });
  const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(r.active, 0);
  t.is(UPDATE_REASONS[r.slots[1]!.reason], 'trial-crashed');
  t.deepEqual(await running(u), { version: '0.1.0', counter: 0 });
});

test('key rotation: a new key is trusted, a retired key is refused afterwards', async (t) => {
  const u = await unit(t);
  const next = newSigningKey();
  const rotation = createRotationPackage({ ...FIELDS, counter: 0, add: next.publicKey, retire: KEY.kid }, KEY);
  const session = await u.session();
  // A rotation package is applied without a restart.
  t.is((await updateDevice(session, rotation, '', { pollMs: 20 })).version, '');
  const r = readBootRecord(hostSlots(u.sim.flash).bootctl);
  t.is(r.keys.length, 1);
  t.deepEqual([...r.keys[0]!.kid], [...kidOf(next.publicKey)]);
  t.deepEqual([...r.retired[0]!], [...KEY.kid]);
  await refusedWith(t, u, await imagePackage(), 'key-retired');
  const done = await updateDevice(await u.session(), await imagePackage({ key: next }), '0.2.0', { pollMs: 20 });
  t.is(done.version, '0.2.0');
});

test('hostile packages at the device: truncated in each region, a byte flipped in each region, malformed CBOR, oversize — each refused with its reason, the running image untouched', async (t) => {
  const u = await unit(t);
  const good = await imagePackage();
  const head = (await import('../modules/ota/manifest')).parsePackageHead(good.subarray(0, 1033));
  if (!head.ok) throw new Error(head.reason);
  const payloadAt = head.value.payloadOffset;
  t.true(payloadAt < 1033);
  // Regions: the protected header, the manifest, the signature, the payload's byte-string head, the payload.
  const sign1 = head.value.length;
  const regions: { [name: string]: number } = { protected: 4, manifest: 40, signature: sign1 - 20, 'payload head': sign1 + 1, payload: payloadAt + 5000 };
  for (const [name, at] of Object.entries(regions)) {
    await refusedWith(t, u, good.subarray(0, at), 'package-truncated');
    t.log('truncated in ' + name);
  }
  const flips: { [name: string]: string[] } = {
    protected: ['package-malformed', 'alg-unsupported', 'manifest-malformed', 'key-unknown', 'signature-invalid'],
    manifest: ['manifest-malformed', 'manifest-unknown-field', 'package-malformed', 'signature-invalid', 'wrong-vendor', 'wrong-model', 'key-unknown', 'size-mismatch', 'version-not-newer'],
    signature: ['signature-invalid'],
    'payload head': ['size-mismatch', 'package-malformed', 'package-too-large', 'image-too-large'],
    payload: ['digest-mismatch'],
  };
  for (const [name, at] of Object.entries(regions)) {
    const bad = new Uint8Array(good);
    bad[at] ^= 0x04;
    const session = await u.session();
    const error = (await t.throwsAsync(updateDevice(session, bad, '0.2.0', { pollMs: 20, waitMs: 3000 }))) as ClientError;
    t.true(flips[name]!.includes(error.error!), name + ': ' + error.message);
    t.deepEqual(await running(u), { version: '0.1.0', counter: 0 });
  }
  // CBOR the format does not allow: an indefinite-length array, 5,000 nested arrays, a 2^64-1 length.
  const indefinite = new Uint8Array([0xd2, 0x9f, ...good.subarray(2, 200)]);
  const nested = new Uint8Array([0xd2, 0x84, ...new Array(5000).fill(0x81), 0x00]);
  const huge = new Uint8Array([0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
  await refusedWith(t, u, indefinite, 'package-malformed');
  await refusedWith(t, u, nested, 'package-malformed');
  // A declared length past the 1024 bytes a COSE_Sign1 may take.
  await refusedWith(t, u, huge, 'package-too-large');
  // Oversize: a manifest declaring more than the slot holds is refused at its head, before any payload.
  const big = composePayload('export function start() {}', new Uint8Array(460 * 1024).fill(1));
  const oversize = (await import('../firmware/host/update/package')).encodePackage(
    { format: 1, kind: 1, ...FIELDS, version: '0.2.0', counter: 1, size: big.length, digest: sha256(big), kid: KEY.kid, app: 26 },
    big,
    KEY,
  );
  await refusedWith(t, u, oversize, 'image-too-large');
});

test('the device answers requests throughout an update: every request sent while it hashes and verifies is answered', async (t) => {
  const u = await unit(t);
  let answered = 0;
  let failed = 0;
  let running = true;
  const poll = (async () => {
    while (running) {
      try {
        await deviceInfo(u.sim.url);
        answered++;
      } catch {
        failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const session = await u.session();
  const pkg = await imagePackage();
  // Upload and install, then stop polling when the device says it restarts.
  const seen: string[] = [];
  await updateDevice(session, pkg, '0.2.0', {
    pollMs: 20,
    onProgress: (phase) => {
      if (phase === 'restart') running = false;
      seen.push(phase);
    },
  });
  running = false;
  await poll;
  t.true(answered > 10, answered + ' answers');
  t.is(failed, 0);
  t.true(seen.includes('upload'));
});

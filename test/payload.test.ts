import test from 'ava';
import { Asset } from '../firmware/device/core/assets';
import { ASSETS_MAX_BYTES, buildAssets, describeAssets } from '../firmware/host/assets';
import { verifierAssetText } from '../firmware/host/verifier-asset';
import { buildPayload, composePayload, SLOT_CAPACITY } from '../firmware/host/payload';

/**
 * Update payloads (docs/formats/update.md §3): app text, NUL, FF to the next 4 KB, the assets
 * container; for each target.
 */

function layout(t: { is(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void }, payload: Uint8Array, app: number): number {
  const start = Math.ceil((app + 1) / 4096) * 4096;
  t.is(payload[app], 0, 'NUL after the app text');
  for (let i = 0; i < app; i++) if (payload[i] === 0 || payload[i]! > 0x7e) t.true(false, 'app byte ' + i + ' is ' + payload[i]);
  t.true(payload.subarray(app + 1, start).every((b) => b === 0xff), 'FF up to the 4 KB boundary');
  t.is(payload[start], 0x48, 'the assets container at ' + start);
  return start;
}

test('composePayload: app, 00, FF to the next multiple of 4096, the container (or nothing)', (t) => {
  const assets = new Uint8Array([1, 2, 3]);
  for (const n of [1, 4094, 4095, 4096, 5000]) {
    const app = 'x'.repeat(n);
    const p = composePayload(app, assets);
    const start = Math.ceil((n + 1) / 4096) * 4096;
    t.is(p.length, start + 3);
    t.is(p[n], 0);
    t.true(p.subarray(n + 1, start).every((b) => b === 0xff));
    t.deepEqual([...p.subarray(start)], [1, 2, 3]);
    t.is(composePayload(app).length, n + 1, 'no assets: size = app + 1');
  }
  t.throws(() => composePayload(''), { instanceOf: RangeError, message: /empty/ });
  t.throws(() => composePayload('a\0b'), { instanceOf: RangeError, message: /NUL/ });
  t.throws(() => composePayload('caf\u00e9'), { instanceOf: RangeError, message: /ASCII/ });
});

test('buildPayload host: the slot app (an ES module exporting start) and the page and filter; fits the host slot', async (t) => {
  const built = await buildPayload('smart-plug', 'host', { version: '3.2.1' });
  t.like(built, { runtime: 'host', board: 'host', model: 'HS-PLUG-01', vendor: 'Hoshi example vendor' });
  const start = layout(t, built.payload, built.app);
  const text = Buffer.from(built.payload.subarray(0, built.app)).toString('latin1');
  t.regex(text, /export\s*\{[^}]*\bstart\b/);
  t.true(text.includes('"3.2.1"'), 'the release version');
  const container = built.payload.subarray(start);
  t.deepEqual(container, await buildAssets());
  t.deepEqual(
    describeAssets(container).map((e) => e.id),
    [Asset.PAGE, Asset.COMMON_PASSWORDS],
    'the host verifies in-process: no verifier asset',
  );
  t.true(built.payload.length <= SLOT_CAPACITY.host!);
  t.log('host payload ' + built.payload.length + ' bytes (app ' + built.app + ', assets ' + container.length + '); capacity ' + SLOT_CAPACITY.host);
  await t.throwsAsync(buildPayload('smart-plug', 'host', { version: '1.02.3' }), { instanceOf: RangeError });
  await t.throwsAsync(buildPayload('smart-plug', 'host', { version: '65536.0.0' }), { instanceOf: RangeError });
});

test('slot capacities: the table of §4', (t) => {
  t.is(SLOT_CAPACITY.host, 450560);
  t.is(SLOT_CAPACITY['kaluma-pico-w'], 241664);
  t.is(SLOT_CAPACITY['kaluma-pico'], 241664);
  t.is(SLOT_CAPACITY['espruino-esp32'], 262144);
});

for (const target of ['kaluma', 'espruino'] as const) {
  test('buildPayload ' + target + ': the bundle at the release version, its messages (Kaluma) and the verifier text, within the slot', async (t) => {
    const built = await buildPayload('smart-plug', target, { version: '0.9.1' });
    t.like(built, { runtime: target, board: target === 'kaluma' ? 'kaluma-pico-w' : 'espruino-esp32', model: 'HS-PLUG-01', vendor: 'Hoshi example vendor' });
    const start = layout(t, built.payload, built.app);
    t.true(Buffer.from(built.payload.subarray(0, built.app)).toString('latin1').includes('"0.9.1"'), 'the release version');
    const container = built.payload.subarray(start);
    const entries = describeAssets(container);
    const expected: number[] = [Asset.PAGE, Asset.COMMON_PASSWORDS];
    if (target === 'kaluma') expected.push(Asset.MESSAGES);
    expected.push(Asset.VERIFIER);
    // A Kaluma image's code read on demand (firmware/host/ondemand.ts).
    if (target === 'kaluma') expected.push(Asset.CODE_UPDATE_WORKER, Asset.CODE_PASSWORD_CHECK, Asset.CODE_SCRAM, Asset.CODE_SLOT_CHECK, Asset.CODE_TCP_CLIENT, Asset.CODE_WIFI_SETUP, Asset.CODE_SCHEDULE, Asset.CODE_WIPE, Asset.CODE_AUDIT_READER, Asset.CODE_STORE_WRITER);
    t.deepEqual(entries.map((e) => e.id), expected);
    const verifier = entries.find((e) => e.id === Asset.VERIFIER)!;
    t.is(Buffer.from(container.subarray(verifier.offset, verifier.offset + verifier.length)).toString('latin1'), verifierAssetText(target));
    t.true(container.length <= ASSETS_MAX_BYTES);
    t.true(built.payload.length <= SLOT_CAPACITY[built.board]!);
    t.log(target + ' payload ' + built.payload.length + ' bytes (app ' + built.app + ', assets ' + container.length + ', verifier ' + verifier.length + '); capacity ' + SLOT_CAPACITY[built.board]);
  });
}

import test from 'ava';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { bundleFixture } from './helpers';

/**
 * Every HAL function of each real-board binding, run against its runtime's fake: what it does, what
 * it refuses, and that it touched no runtime member the fake lacks.
 */
const CALLS = ['geometry', 'erase', 'write', 'read', 'rewrite', 'masked', 'misaligned', 'outside', 'provisioningReadOnly', 'entropy', 'clock', 'identity', 'console', 'memory', 'io', 'analog', 'crypto', 'reboot'];

for (const [target, fixture, expected] of [
  ['kaluma', 'binding-kaluma.ts', { geometry: [131072, 4096, 256, 255], entropy: ['weak', 16], crypto: 'js:32', identity: ['string', 'Raspberry Pi Pico W'] }],
  ['espruino', 'binding-espruino.ts', { geometry: [65536, 4096, 4, 255], entropy: ['none', 16], crypto: 'espruino-native:32', identity: ['string', 'ESP32 (Espruino 2v29)'] }],
] as [DeviceTarget, string, { [k: string]: unknown }][]) {
  test(`${target} binding: every HAL function against the runtime fake`, async (t) => {
    const { code, map } = await bundleFixture(fixture, target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const report = await runInEngine(code, target, { library: true, probes: CALLS.map((c) => `__binding(${JSON.stringify(c)})`) });
    t.true(report.booted, report.error);
    const r: { [k: string]: { ok?: any; error?: string } } = {};
    CALLS.forEach((c, i) => (r[c] = JSON.parse(report.values[i] as string)));
    t.deepEqual(r.geometry!.ok, expected.geometry);
    t.is(r.erase!.error, undefined);
    t.is(r.write!.error, undefined);
    const writeSize = (expected.geometry as number[])[2]!;
    t.deepEqual(r.read!.ok, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (i < writeSize ? i * 7 : 255)));
    t.regex(r.rewrite!.error!, /already programmed|not erased|verify/i, 'programming over data is refused, not silently ANDed');
    const half = writeSize / 2;
    t.deepEqual(r.masked!.ok, Array.from({ length: writeSize }, (_, i) => (i < half ? 0x10 + i : 0x20 + i - half)), 'a write of 0xff leaves programmed bytes as they are');
    t.regex(r.misaligned!.error!, /multiple/);
    t.regex(r.outside!.error!, /outside/);
    t.is(r.provisioningReadOnly!.ok, 4);
    t.deepEqual(r.entropy!.ok, expected.entropy);
    t.is(r.clock!.ok, 'number');
    t.deepEqual(r.identity!.ok, expected.identity);
    t.truthy(r.console!.ok);
    t.is(r.io!.error, undefined);
    t.is(typeof r.analog!.ok, 'number');
    t.is(r.crypto!.ok, expected.crypto);
    t.is(r.reboot!.error, undefined);
    t.deepEqual(report.missing, [], 'the binding used runtime members the fake lacks');
  });
}

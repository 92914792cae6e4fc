import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineImage, type Image } from '../firmware/device/image';
import { buildImage } from '../firmware/host/build';
import type { Target } from '../firmware/host/profiles';
import smartPlug from '../examples/smart-plug/image';

/**
 * The configuration check (firmware/device/image.ts) runs on the host: when an image is loaded,
 * when the host boots one, and at build time for every target. Device bundles do not carry it.
 */

/** The smart plug's image with one configuration field changed. */
function withConfig(change: (config: { [field: string]: unknown }) => void): Image {
  const config = JSON.parse(JSON.stringify(smartPlug.config)) as { [field: string]: unknown };
  change(config);
  return { config: config as unknown as Image['config'], modules: smartPlug.modules };
}

test('defineImage refuses a bad configuration on the host, naming the field', (t) => {
  t.is(defineImage(smartPlug), smartPlug);
  const cases: [(c: { [field: string]: unknown }) => void, RegExp][] = [
    [(c) => (c.model = ''), /^config\.model: required$/],
    [(c) => delete c.vendor, /^config\.vendor: required$/],
    [(c) => delete c.hardwareRevision, /^config\.hardwareRevision: required$/],
    [(c) => (c.firmwareVersion = '1.0'), /^config\.firmwareVersion: must be MAJOR\.MINOR\.PATCH$/],
    [(c) => (c.supportEnd = '2031-1-1'), /^config\.supportEnd: must be YYYY-MM-DD$/],
    [(c) => (c.vulnerabilityDisclosureUrl = 'http://example.com/'), /^config\.vulnerabilityDisclosureUrl: an https:\/\/ URL$/],
    [(c) => ((c.interfaces as { http: { port: number } }).http.port = 65536), /^config\.interfaces\.http\.port: 0-65535$/],
    [(c) => ((c.interfaces as { http: { maxBodyBytes: number } }).http.maxBodyBytes = 0), /^config\.interfaces\.http: limits must be positive$/],
    [(c) => ((c.interfaces as { console: string }).console = 'closed'), /^config\.interfaces\.console: off, locked or open$/],
  ];
  for (const [change, message] of cases) t.throws(() => defineImage(withConfig(change)), { message });
  t.throws(() => defineImage({ config: smartPlug.config, modules: [{ name: 'x' } as unknown as Image['modules'][number]] }), { message: /^modules\[0\]: not a module$/ });
});

test('a bad configuration throws at build time for every target (build, flash and the engine check build through it), before anything is written', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'hoshi-bad-image-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  for (const target of ['kaluma', 'espruino', 'host'] as Target[]) {
    await t.throwsAsync(buildImage('../test/fixtures/bad-image', target, join(out, 'dist')), { message: /^config\.firmwareVersion: must be MAJOR\.MINOR\.PATCH$/ }, target);
  }
  t.false(existsSync(join(out, 'test')), 'nothing written');
});

test('device bundles do not carry the configuration check; the host bundle does', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'hoshi-image-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  for (const target of ['kaluma', 'espruino'] as const) {
    const built = await buildImage('smart-plug', target, out);
    t.false(built.code.includes('config.firmwareVersion'), target);
    t.false(built.code.includes('HOSHI_HOST'), target);
  }
  const host = await buildImage('smart-plug', 'host', out);
  t.true(host.code.includes('config.firmwareVersion: must be MAJOR.MINOR.PATCH'));
  t.true(host.code.includes('HOSHI_HOST'));
});

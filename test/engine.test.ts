import test from 'ava';
import { buildImage } from '../firmware/host/build';
import { runInEngine, unhoistFunctions, type EngineReport } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { encodeProvisioning, newProvisioningRecord, padTo } from '../firmware/host/provision';
import { KALUMA_PARTITIONS } from '../boards/kaluma-pico-w/board';
import { ESP32_PARTITIONS } from '../boards/espruino-esp32/board';
import { bundleFixture } from './helpers';

const TARGETS: DeviceTarget[] = ['kaluma', 'espruino'];
/** Where each board keeps its provisioning record, as an address of the fake's __engine.flash. */
const PROVISIONING_AT = { kaluma: KALUMA_PARTITIONS.provisioning.sector * 4096, espruino: ESP32_PARTITIONS.provisioning.address };

function info(report: EngineReport, i = 0): any {
  return JSON.parse(report.replies[i]!.text);
}

for (const target of TARGETS) {
  test(`smart-plug builds for ${target}, passes the profile check and boots in the engine`, async (t) => {
    const built = await buildImage('smart-plug', target);
    const profile = checkProfile(built.code, target, built.map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const report = await runInEngine(built.code, target, { requests: [{ method: 'GET', url: '/api/info' }] });
    t.true(report.booted, report.error);
    t.true(report.bootBytes > 0 && report.bootBytes < report.budgetBytes);
    t.is(report.replies[0]!.status, 200);
    t.like(info(report), { model: 'HS-PLUG-01', firmwareVersion: '0.1.0', provisioned: false, serial: null });
    t.true(report.logs.some((l) => l.includes('no valid provisioning record (erased)')));
    t.deepEqual(report.missing, [], 'the runtime fake lacks members the image used');
  });

  test(`smart-plug on ${target} reads a provisioned unit's record`, async (t) => {
    const built = await buildImage('smart-plug', target);
    const record = newProvisioningRecord().record;
    const bytes = Array.from(padTo(encodeProvisioning(record), 256));
    const prelude = `__engine.flash.load(${PROVISIONING_AT[target]}, ${JSON.stringify(bytes)});`;
    const report = await runInEngine(built.code, target, { prelude, requests: [{ method: 'GET', url: '/api/info?x=1' }] });
    t.true(report.booted, report.error);
    t.like(info(report), { provisioned: true, serial: record.serial });
  });

  test(`smart-plug on ${target} answers bad requests itself and keeps serving`, async (t) => {
    const built = await buildImage('smart-plug', target);
    const big = new Uint8Array(5000).fill(0x41);
    const report = await runInEngine(built.code, target, {
      requests: [
        { method: 'POST', url: '/api/info', headers: { 'Content-Length': '5000' }, body: big },
        { method: 'POST', url: '/api/info', headers: { 'Transfer-Encoding': 'chunked' }, body: big, segment: 1000 },
        { method: 'GET', url: '/api/info', headers: { 'X-Padding': 'p'.repeat(3000) } },
        { method: 'GET', url: '/api/info', headers: { 'Content-Length': '12abc' } },
        { method: 'GET', url: '/nope' },
        { method: 'POST', url: '/api/info', headers: { 'content-length': '600' }, body: new Uint8Array(600), segment: 100 },
        { method: 'GET', url: '/api/info' },
      ],
    });
    t.true(report.booted, report.error);
    // A route is decided from the head: a chunked POST to a GET route is refused (405) before its body.
    t.deepEqual(report.replies.map((r) => r.status), [413, 405, 431, 400, 404, 405, 200]);
    for (const r of report.replies.slice(0, 6)) t.is(typeof JSON.parse(r.text).error, 'string');
    t.deepEqual(report.missing, []);
  });
}

test('the engine check reports a runtime member the fake lacks', async (t) => {
  const kaluma = await runInEngine("var f = require('flash'); var x = f.nonexistent; var b = board.serial;", 'kaluma', { library: true });
  t.deepEqual(kaluma.missing, ["require('flash').nonexistent", 'board.serial']);
  const espruino = await runInEngine("var x = E.getRTCPrescaler; var c = require('crypto').HMAC;", 'espruino', { library: true });
  t.deepEqual(espruino.missing, ['E.getRTCPrescaler', "require('crypto').HMAC"]);
});

test('on Espruino a function called before its definition fails; on Kaluma it is hoisted', async (t) => {
  const espruino = await bundleFixture('profile/calls-before-definition.ts', 'espruino');
  const failed = await runInEngine(espruino.code, 'espruino');
  t.false(failed.booted);
  t.regex(failed.error!, /not a function/);
  const kaluma = await bundleFixture('profile/calls-before-definition.ts', 'kaluma');
  const ok = await runInEngine(kaluma.code, 'kaluma');
  t.true(ok.booted, ok.error);
});

test('unhoisting keeps behaviour when functions are defined before use', (t) => {
  const code = 'function a(){return 1}function b(){return a()+1}var r=b();';
  const out = unhoistFunctions(code);
  t.is(out, 'var a=function a(){return 1};var b=function b(){return a()+1};var r=b();');
  t.is(new Function(out + 'return r;')(), 2);
});

test('a bundle holding more than the heap budget fails the engine check', async (t) => {
  for (const target of TARGETS) {
    const { code } = await bundleFixture('profile/allocates.ts', target);
    const report = await runInEngine(code, target);
    t.false(report.booted, target);
    t.regex(report.error ?? '', /out of memory|InternalError/i, target);
    const roomy = await runInEngine(code, target, { budgetBytes: 8 * 1024 * 1024 });
    t.true(roomy.booted, roomy.error);
  }
});

test('the engine lacks what the target lacks', async (t) => {
  const probe = (expr: string) => `__engine.server = { listening: true }; console.log(String(${expr}));`;
  const espruino = await runInEngine(probe("[typeof Map, typeof Symbol, typeof Object.freeze, typeof [].at, typeof Math.imul, typeof E]"), 'espruino');
  t.deepEqual(espruino.logs, ['undefined,undefined,undefined,undefined,undefined,object']);
  const kaluma = await runInEngine("'use strict';" + probe("[typeof Map, typeof Object.hasOwn, typeof [].at, typeof board, typeof TextEncoder, typeof Buffer]"), 'kaluma');
  t.deepEqual(kaluma.logs, ['function,undefined,undefined,object,function,undefined']);
  const strict = await runInEngine("'use strict'; undeclared = 1;", 'kaluma');
  t.regex(strict.error ?? '', /undeclared/);
});

test('the Pico W sends an answer larger than lwIP\'s send buffer whole: the admin page, 12 KB gzipped', async (t) => {
  const { buildAssets } = await import('../firmware/host/assets');
  const built = await buildImage('smart-plug', 'kaluma');
  const assets = await buildAssets(built.messages);
  const page = (await import('../firmware/host/page')).buildPage;
  const gzip = (await page()).gzip;
  t.true(gzip.length > 11680, 'the page alone is larger than TCP_SND_BUF (' + gzip.length + ' bytes)');
  const report = await runInEngine(built.code, 'kaluma', { assets, requests: [{ method: 'GET', url: '/' }, { method: 'GET', url: '/api/info' }] });
  t.true(report.booted, report.error);
  t.is(report.replies[0]!.status, 200);
  t.deepEqual(new Uint8Array(report.replies[0]!.body), gzip, 'every byte, in order');
  t.is(report.replies[1]!.status, 200, 'and the device serves on');
});

test('the loader check: each runtime\'s fixed loader boots the smart plug from slot A of the fake flash (as hoshi flash leaves a unit) and it serves', async (t) => {
  const { buildLoader } = await import('../firmware/host/loader-build');
  const { runLoaderInEngine } = await import('../firmware/host/engine');
  for (const target of TARGETS) {
    const built = await buildImage('smart-plug', target);
    const loader = await buildLoader(target);
    const direct = await runInEngine(built.code, target, { budgetBytes: 64 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
    const report = await runLoaderInEngine(loader.code, built.code, target, { budgetBytes: 64 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
    t.true(report.booted, report.error);
    t.is(report.replies[0]!.status, 200, target);
    t.true(report.logs.includes('[hoshi] [loader] booting slot A 0.1.0'), target);
    t.deepEqual(report.missing, [], target);
    t.is(report.reset, undefined);
    t.log(target + ': loader ' + loader.bytes + ' bytes (gzip ' + loader.gzipBytes + '); QuickJS after boot ' + report.bootBytes + ' bytes through the loader, ' + direct.bootBytes + ' as the program text (peaks ' + report.peakBytes + ', ' + direct.peakBytes + ')');
  }
});

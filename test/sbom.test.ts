import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, bundleDevice, ROOT } from '../firmware/host/build';
import {
  assetSources,
  bundleSources,
  createSbom,
  kitDirectory,
  licensesOf,
  npmPackageOf,
  npmPurl,
  readLock,
  runtimeImports,
  sha512HexOfIntegrity,
  validateSbom,
  type SourceFile,
} from '../firmware/host/sbom';

const IMAGE = { example: 'smart-plug', model: 'HS-PLUG-01', vendor: 'Hoshi example vendor', firmwareVersion: '0.1.0', hardwareRevision: 'A' };
const KIT = { kitVersion: '0.1.0', kitCommit: '0123456789abcdef0123456789abcdef01234567' };

/** The npm packages a source map names, found here independently of sbom.ts: the last node_modules/<name> of each source. */
function packagesInMap(sources: string[]): string[] {
  const names = new Set<string>();
  for (const s of sources) {
    const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

test('kit directories and npm packages of source paths', (t) => {
  t.is(kitDirectory('modules/accounts/scram.ts'), 'modules/accounts');
  t.is(kitDirectory('firmware/device/core/bootctl.ts'), 'firmware/device/core');
  t.is(kitDirectory('firmware/device/boot.ts'), 'firmware/device');
  t.is(kitDirectory('firmware/host/update/package.ts'), 'firmware/host/update');
  t.is(kitDirectory('boards/kaluma-pico-w/board.ts'), 'boards/kaluma-pico-w');
  t.is(kitDirectory('hal/flash.ts'), 'hal');
  t.is(kitDirectory('examples/smart-plug/relay.ts'), 'examples/smart-plug');
  t.is(kitDirectory('../main/node_modules/acorn/dist/acorn.mjs'), undefined);
  t.is(kitDirectory('elsewhere/x.ts'), undefined);
  t.deepEqual(npmPackageOf('../main/node_modules/@jridgewell/sourcemap-codec/dist/sourcemap-codec.mjs'), { name: '@jridgewell/sourcemap-codec', dir: '../main/node_modules/@jridgewell/sourcemap-codec', lockPath: 'node_modules/@jridgewell/sourcemap-codec' });
  t.deepEqual(npmPackageOf('node_modules/a/node_modules/b/index.js'), { name: 'b', dir: 'node_modules/a/node_modules/b', lockPath: 'node_modules/a/node_modules/b' });
  t.is(npmPackageOf('modules/accounts/scram.ts'), undefined);
  t.is(npmPurl('@jridgewell/trace-mapping', '0.3.31'), 'pkg:npm/%40jridgewell/trace-mapping@0.3.31');
  t.is(npmPurl('qrcode', '1.5.4'), 'pkg:npm/qrcode@1.5.4');
});

test('package-lock integrity as SHA-512 hex; licences as SPDX ids, expressions or names', (t) => {
  const lock = readLock();
  const integrity = lock.packages['node_modules/qrcode']!.integrity!;
  t.is(sha512HexOfIntegrity(integrity), Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex'));
  t.is(sha512HexOfIntegrity(integrity)!.length, 128);
  t.is(sha512HexOfIntegrity('sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk='), undefined);
  t.is(sha512HexOfIntegrity('sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= ' + integrity), sha512HexOfIntegrity(integrity));
  t.deepEqual(licensesOf('MIT'), [{ license: { id: 'MIT' } }]);
  t.deepEqual(licensesOf('(MIT OR Apache-2.0)'), [{ expression: '(MIT OR Apache-2.0)' }]);
  t.deepEqual(licensesOf('Some custom licence'), [{ license: { name: 'Some custom licence' } }]);
  t.is(licensesOf(undefined), undefined);
});

test('a device bundle that compiles an npm package in: the SBOM lists exactly the packages of its source map, with version, purl, hash and licence', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-sbom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const entry = "import { encode } from '@jridgewell/sourcemap-codec';\nexport const mappings = encode([[[0, 0, 0, 0]]]);\n";
  const { code, map } = await bundleDevice(entry, ROOT, 'espruino', join(dir, 'app.js'));
  const sources = bundleSources({ target: 'espruino', map, mapFile: join(dir, 'app.js.map') });
  const inMap = packagesInMap(sources);
  t.deepEqual(inMap, ['@jridgewell/sourcemap-codec']);
  const files: SourceFile[] = sources.map((path) => ({ path, part: 'bundle' }));
  const bom = createSbom(IMAGE, { target: 'espruino', board: 'espruino-esp32', code, files }, KIT);
  const npm = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/'));
  t.deepEqual(npm.map((c) => c.name).sort(), inMap);
  const c = npm[0]!;
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/@jridgewell/sourcemap-codec/package.json'), 'utf8')) as { version: string; license: string };
  t.is(c.version, pkg.version);
  t.is(c.purl, 'pkg:npm/%40jridgewell/sourcemap-codec@' + pkg.version);
  t.deepEqual(c.licenses, [{ license: { id: pkg.license } }]);
  t.deepEqual(c.hashes, [{ alg: 'SHA-512', content: sha512HexOfIntegrity(readLock().packages['node_modules/@jridgewell/sourcemap-codec']!.integrity) }]);
  t.true(c.properties!.some((p) => p.name === 'hoshi:part' && p.value === 'bundle'));
  // The image depends on it.
  const image = (bom.metadata as { component: { 'bom-ref': string; hashes: { content: string }[] } }).component;
  t.is(image.hashes[0]!.content, sha256(code));
  t.true(bom.dependencies.find((d) => d.ref === image['bom-ref'])!.dependsOn.includes(c['bom-ref']));
  t.is(await validateSbom(JSON.stringify(bom)), undefined);
});

test('the smart plug\'s Espruino build: kit directories with their files\' hash, the assets\' npm data, the runtime; valid CycloneDX 1.6', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoshi-sbom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const built = await buildImage('smart-plug', 'espruino', dir);
  const bundle = bundleSources(built);
  const assets = await assetSources('espruino');
  const files: SourceFile[] = [...bundle.map((path) => ({ path, part: 'bundle' as const })), ...assets.map((path) => ({ path, part: 'assets' as const }))];
  const bom = createSbom(IMAGE, { target: 'espruino', board: built.board, code: built.code, files }, KIT);
  const names = bom.components.map((c) => c.name);
  for (const n of ['modules/accounts', 'modules/store', 'modules/wipe', 'firmware/device/core', 'firmware/device', 'boards/espruino-esp32', 'hal', 'examples/smart-plug', 'modules/admin-page', 'espruino']) t.true(names.includes(n), n);
  // npm packages: those of the bundle's source map (none: device code is the kit's own) and the
  // common-password list in the assets.
  const npmInBundle = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/') && c.properties!.some((p) => p.name === 'hoshi:part' && p.value.split(', ').includes('bundle')));
  t.deepEqual(npmInBundle.map((c) => c.name).sort(), packagesInMap(JSON.parse(built.map).sources));
  t.true(bom.components.some((c) => c.name === '@zxcvbn-ts/language-common' && c.properties!.some((p) => p.value === 'assets')));
  // A kit component's hash: sha256sum's listing of its files, hashed again.
  const store = bom.components.find((c) => c.name === 'modules/store')!;
  const storeFiles = [...new Set(files.map((f) => f.path).filter((p) => p.startsWith('modules/store/')))].sort();
  t.true(storeFiles.length > 0);
  const listing = storeFiles.map((p) => sha256(readFileSync(join(ROOT, p))) + '  ' + p + '\n').join('');
  t.deepEqual(store.hashes, [{ alg: 'SHA-256', content: sha256(listing) }]);
  t.is(store.properties!.filter((p) => p.name === 'hoshi:file').length, storeFiles.length);
  const runtime = bom.components.find((c) => c.name === 'espruino')!;
  t.is(runtime.version, '2v29');
  t.is(runtime.purl, 'pkg:github/espruino/espruino@RELEASE_2V29');
  const metadata = bom.metadata as { component: { name: string; version: string; supplier: { name: string } } };
  t.is(metadata.component.name, 'HS-PLUG-01');
  t.is(metadata.component.version, '0.1.0');
  t.is(metadata.component.supplier.name, 'Hoshi example vendor');
  t.is(await validateSbom(JSON.stringify(bom, null, 2)), undefined);
});

test('the host build imports its npm packages at run time: listed with what they need, from package-lock.json', (t) => {
  const code = "import { x } from 'qrcode';\nimport 'node:fs';\nimport fs from 'fs';\nconst y = await import('@jridgewell/trace-mapping');\nexport * from './local.js';\n";
  t.deepEqual(runtimeImports(code), ['@jridgewell/trace-mapping', 'qrcode']);
  const bom = createSbom(IMAGE, { target: 'host', board: 'host', code, files: [], imports: runtimeImports(code) }, KIT);
  const byName = new Map(bom.components.map((c) => [c.name, c]));
  // qrcode needs pngjs, dijkstrajs and yargs; trace-mapping its two siblings.
  for (const n of ['qrcode', 'pngjs', 'dijkstrajs', 'yargs', '@jridgewell/trace-mapping', '@jridgewell/resolve-uri', '@jridgewell/sourcemap-codec']) t.true(byName.has(n), n);
  const image = bom.dependencies[0]!;
  t.true(image.dependsOn.includes('npm:node_modules/qrcode'));
  t.false(image.dependsOn.includes('npm:node_modules/pngjs'), 'a package the image does not import itself is its dependency\'s');
  t.true(bom.dependencies.find((d) => d.ref === 'npm:node_modules/qrcode')!.dependsOn.includes('npm:node_modules/pngjs'));
  t.true(byName.get('qrcode')!.properties!.some((p) => p.value.startsWith('imported at run time')));
});

test('validation catches a broken SBOM: a missing bomFormat, an unknown hash algorithm, a malformed hash, an unknown field', async (t) => {
  const bom = createSbom(IMAGE, { target: 'host', board: 'host', code: 'x', files: [{ path: 'hal/flash.ts', part: 'bundle' }] }, KIT);
  t.is(await validateSbom(JSON.stringify(bom)), undefined);
  const broken = (change: (b: Record<string, unknown> & { components: { hashes?: { alg: string; content: string }[] }[] }) => void): string => {
    const copy = JSON.parse(JSON.stringify(bom));
    change(copy);
    return JSON.stringify(copy);
  };
  const noFormat = await validateSbom(broken((b) => delete b.bomFormat));
  t.truthy(noFormat);
  t.regex(noFormat!.join('\n'), /bomFormat/);
  const badAlg = await validateSbom(broken((b) => (b.components[0]!.hashes![0]!.alg = 'SHA-999')));
  t.truthy(badAlg);
  t.regex(badAlg!.join('\n'), /\/components\/0\/hashes\/0\/alg/);
  t.truthy(await validateSbom(broken((b) => (b.components[0]!.hashes![0]!.content = 'not hex'))));
  t.truthy(await validateSbom(broken((b) => (b.unexpected = true))));
  t.truthy(await validateSbom('{"bomFormat":"CycloneDX","specVersion":"1.6","version":0}'));
});

import { Spec, SPDX, Validation } from '@cyclonedx/cyclonedx-library';
import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { build as esbuild } from 'esbuild';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { deviceOptions, ROOT, type BuildResult } from './build';
import { ON_DEMAND } from './ondemand';
import { PROFILES, type Target } from './profiles';

/**
 * The software bill of materials of one device build (CycloneDX 1.6, JSON): what `hoshi evidence`
 * writes as sbom.<target>.cdx.json (docs/evidence.md).
 *
 * What a build carries is read from the build itself, not from a list kept by hand:
 * - the bundle: the sources of its source map (`buildImage`'s `map`);
 * - the assets written with it (docs/formats/assets.md): the admin page (its own esbuild bundle),
 *   the common-password filter (data of an npm package), on Kaluma and Espruino the update
 *   verifier's text, and on Kaluma the code read on demand (firmware/host/ondemand.ts, one esbuild
 *   bundle each): their inputs, from esbuild's metafile of the same entries;
 * - on the host target, the npm packages the image imports at run time (the host build leaves
 *   packages external): the bare imports of its code, and what they need in package-lock.json.
 *
 * Components: the kit's files grouped by directory (modules/accounts, firmware/device/core,
 * boards/kaluma-pico-w …) with a SHA-256 over the files of each that went into the build; the
 * product's own code (examples/<x>); each npm package, with its version and licence from its
 * package.json and the SHA-512 of its registry tarball from package-lock.json's `integrity`; the
 * runtime the bundle runs on (Kaluma, Espruino), flashed apart from the image.
 */

/** Where a file of the build ends up: the bundle, or the assets written with it. */
export type Part = 'bundle' | 'assets';

/** One input file of a build: its path relative to the repository (`../main/node_modules/…` may lead out of it). */
export interface SourceFile {
  path: string;
  part: Part;
}

/** The kit directory a repository file belongs to, or undefined when it is none of the kit's. */
export function kitDirectory(path: string): string | undefined {
  if (path.startsWith('../') || path.startsWith('/') || path.includes('node_modules/')) return undefined;
  const p = path.split('/');
  if (p.length < 2) return undefined;
  // modules/<name>, boards/<name>, examples/<name>; firmware/device, firmware/device/core,
  // firmware/host, firmware/host/update …; hal.
  if (p[0] === 'modules' || p[0] === 'boards' || p[0] === 'examples') return p.length > 2 ? p[0] + '/' + p[1] : p[0];
  if (p[0] === 'firmware') return p.length > 3 ? p.slice(0, 3).join('/') : p.slice(0, 2).join('/');
  if (p[0] === 'hal') return 'hal';
  return undefined;
}

/** The npm package a file lies in: its directory (as given, relative to the repository) and its path in package-lock.json. */
export function npmPackageOf(path: string): { name: string; dir: string; lockPath: string } | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const rest = path.slice(at + 'node_modules/'.length).split('/');
  if (!rest[0] || (rest[0].startsWith('@') && !rest[1])) return undefined;
  const name = rest[0].startsWith('@') ? rest[0] + '/' + rest[1] : rest[0];
  const dir = path.slice(0, at) + 'node_modules/' + name;
  // package-lock.json names packages from the project's own node_modules: the symlinked
  // node_modules of a worktree resolves to another checkout's, whose layout is the same.
  return { name, dir, lockPath: dir.slice(dir.indexOf('node_modules/')) };
}

/**
 * The bundle's input files, relative to the repository. Device builds (firmware/host/build.ts
 * `bundleDevice`) already name them so; the host build's map names them relative to the map's
 * own directory. The build's generated entry (`hoshi-entry.ts`) is no file and is left out.
 */
export function bundleSources(build: Pick<BuildResult, 'target' | 'map' | 'mapFile'>, root = ROOT): string[] {
  const sources = (JSON.parse(build.map) as { sources: string[] }).sources;
  const out: string[] = [];
  for (const s of sources) {
    if (s === 'hoshi-entry.ts' || s.endsWith('/hoshi-entry.ts')) continue;
    out.push(build.target === 'host' ? relative(root, resolve(dirname(build.mapFile), s)) : s);
  }
  return out;
}

/** Input files of an esbuild bundle of `entry` (relative to the repository) with these options, from its metafile. */
async function inputsOf(entry: string, options: Parameters<typeof esbuild>[0]): Promise<string[]> {
  const result = await esbuild({ ...options, entryPoints: [join(ROOT, entry)], stdin: undefined, outfile: undefined, outdir: undefined, sourcemap: false, write: false, metafile: true, absWorkingDir: ROOT, logLevel: 'silent', plugins: [] });
  return Object.keys(result.metafile!.inputs).filter((p) => !p.includes(':'));
}

/**
 * The input files of the assets a build of `target` is flashed and released with
 * (firmware/host/assets.ts `buildAssets`, firmware/host/payload.ts): the admin page (bundled as
 * firmware/host/page.ts does, plus its HTML template), the common-password list the filter is
 * made of, the update verifier's sources (device targets: firmware/host/verifier-asset.ts) and, on
 * Kaluma, every entry of the code read on demand (firmware/host/ondemand.ts `ON_DEMAND`).
 */
export async function assetSources(target: Target): Promise<string[]> {
  const files = new Set<string>();
  // The page: the options of firmware/host/page.ts `buildPage`, whose resolution they decide.
  for (const f of await inputsOf('modules/admin-page/page.ts', { bundle: true, format: 'iife', platform: 'browser', target: 'es2017' })) files.add(f);
  files.add('modules/admin-page/page.html');
  // The filter's words (firmware/host/assets.ts `commonPasswordList`).
  const require = createRequire(join(ROOT, 'package.json'));
  files.add(relative(ROOT, require.resolve('@zxcvbn-ts/language-common/src/passwords.json')));
  if (target !== 'host') {
    files.add('firmware/host/gen/ed25519-core.ts');
    files.add('firmware/host/gen/ed25519-core.template.js');
    if (target === 'kaluma') files.add('modules/crypto/sha512.js');
  }
  if (target === 'kaluma') {
    for (const o of ON_DEMAND) for (const f of await inputsOf(o.entry, deviceOptions('kaluma'))) files.add(f);
  }
  return [...files].sort();
}

/**
 * The npm packages an ES module's code imports (bare specifiers; Node's built-ins and relative or
 * URL imports left out): the packages the host target's image loads at run time.
 */
export function runtimeImports(code: string): string[] {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
  const names = new Set<string>();
  const add = (source: Node | null | undefined): void => {
    if (!source || source.type !== 'Literal') return;
    const s = (source as unknown as { value: unknown }).value;
    if (typeof s !== 'string' || /^(\.|\/|node:|data:|file:)/.test(s)) return;
    const parts = s.split('/');
    const name = s.startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]!;
    if (builtinModules.includes(name)) return;
    names.add(name);
  };
  walk.full(ast, (n) => {
    if (n.type === 'ImportDeclaration' || n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration' || n.type === 'ImportExpression') {
      add((n as unknown as { source?: Node | null }).source);
    }
  });
  return [...names].sort();
}

/** package-lock.json (lockfileVersion 2 or 3): the packages by their path. */
export interface Lock {
  packages: { [path: string]: { version?: string; integrity?: string; license?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string>; link?: boolean; resolved?: string } };
}

export function readLock(root = ROOT): Lock {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock & { lockfileVersion?: number };
  if (!lock.packages) throw new Error('package-lock.json: no "packages" (lockfileVersion 2 or later is needed)');
  return lock;
}

/** An npm integrity string's SHA-512 ("sha512-<base64>") as hex; undefined for any other algorithm. */
export function sha512HexOfIntegrity(integrity: string | undefined): string | undefined {
  if (!integrity) return undefined;
  // An integrity may list several hashes separated by spaces; the SHA-512 one is wanted.
  for (const item of integrity.trim().split(/\s+/)) {
    const m = /^sha512-([A-Za-z0-9+/]+={0,2})$/.exec(item);
    if (!m) continue;
    const bytes = Buffer.from(m[1]!, 'base64');
    if (bytes.length === 64) return bytes.toString('hex');
  }
  return undefined;
}

/** The package's purl (purl-spec, npm type: the scope's "@" percent-encoded). */
export function npmPurl(name: string, version: string): string {
  const [a, b] = name.split('/');
  return 'pkg:npm/' + (b === undefined ? encodeURIComponent(a!) : '%40' + encodeURIComponent(a!.slice(1)) + '/' + encodeURIComponent(b)) + '@' + encodeURIComponent(version);
}

type License = { license: { id: string } } | { license: { name: string } } | { expression: string };

/** A package.json licence as CycloneDX licence choices: an SPDX id, an expression, or a name. */
export function licensesOf(value: unknown): License[] | undefined {
  let text: string | undefined;
  if (typeof value === 'string') text = value;
  else if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') text = (value as { type: string }).type;
  if (!text || text === 'UNLICENSED') return undefined;
  if (SPDX.isSupportedSpdxId(text)) return [{ license: { id: text } }];
  if (/\s(OR|AND|WITH)\s|[()]/.test(text)) return [{ expression: text }];
  return [{ license: { name: text } }];
}

/** An npm package as found on disk and in the lock. */
export interface NpmPackage {
  name: string;
  version: string;
  lockPath: string;
  /** SHA-512 hex of the registry tarball (package-lock.json `integrity`), when the lock has it for this version. */
  sha512?: string;
  license?: unknown;
  /** Lock paths of the packages it needs (run-time imports only; bundled code carries what it used). */
  dependsOn: string[];
  /** Where it is: in the bundle, the assets, or imported at run time (the host target). */
  parts: (Part | 'runtime')[];
}

function readPackage(root: string, dir: string, lockPath: string, lock: Lock): NpmPackage {
  const file = join(resolve(root, dir), 'package.json');
  let json: { name?: string; version?: string; license?: unknown };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new Error('sbom: cannot read ' + relative(root, file) + ' (' + (error as Error).message + ')');
  }
  if (typeof json.name !== 'string' || typeof json.version !== 'string') throw new Error('sbom: ' + relative(root, file) + ' has no name or version');
  const locked = lock.packages[lockPath];
  // The lock's hash is of the version it locked: another version on disk has none here.
  const sha512 = locked && locked.version === json.version ? sha512HexOfIntegrity(locked.integrity) : undefined;
  return { name: json.name, version: json.version, lockPath, sha512, license: json.license ?? locked?.license, dependsOn: [], parts: [] };
}

/** Where Node finds `name` from the package at `from` (a lock path; '' for the project), as the lock records it: nested first, then upwards. */
export function lockResolve(lock: Lock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = (base ? base + '/' : '') + 'node_modules/' + name;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const at = base.lastIndexOf('node_modules/');
    base = at <= 0 ? '' : base.slice(0, at - 1);
  }
}

/**
 * The npm packages of a build: those whose files went into the bundle or the assets, and those the
 * host image imports at run time (`imports`) with everything they need, as package-lock.json
 * resolves it (packages the lock lists but that are not installed, e.g. another platform's esbuild
 * binary, are left out).
 */
export function npmPackages(files: SourceFile[], imports: string[], root = ROOT, lock: Lock = readLock(root)): NpmPackage[] {
  const found = new Map<string, NpmPackage>();
  for (const f of files) {
    const p = npmPackageOf(f.path);
    if (!p) continue;
    const pkg = found.get(p.lockPath) ?? readPackage(root, p.dir, p.lockPath, lock);
    found.set(p.lockPath, pkg);
    if (!pkg.parts.includes(f.part)) pkg.parts.push(f.part);
  }
  const queue: string[] = [];
  for (const name of imports) {
    const lockPath = lockResolve(lock, '', name);
    if (!lockPath) throw new Error('sbom: the image imports ' + name + ', which package-lock.json does not list');
    queue.push(lockPath);
  }
  const seen = new Set<string>();
  while (queue.length) {
    const lockPath = queue.shift()!;
    if (seen.has(lockPath)) continue;
    seen.add(lockPath);
    if (!existsSync(join(root, lockPath, 'package.json'))) continue;
    const pkg = found.get(lockPath) ?? readPackage(root, lockPath, lockPath, lock);
    found.set(lockPath, pkg);
    if (!pkg.parts.includes('runtime')) pkg.parts.push('runtime');
    const entry = lock.packages[lockPath] ?? {};
    const deps = { ...entry.peerDependencies, ...entry.optionalDependencies, ...entry.dependencies };
    for (const name of Object.keys(deps).sort()) {
      const to = lockResolve(lock, lockPath, name);
      if (!to || !existsSync(join(root, to, 'package.json'))) continue;
      if (!pkg.dependsOn.includes(to)) pkg.dependsOn.push(to);
      queue.push(to);
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The image an SBOM describes. */
export interface SbomImage {
  example: string;
  description?: string;
  model: string;
  vendor: string;
  vendorUrl?: string;
  firmwareVersion: string;
  hardwareRevision: string;
}

/** One build of it. */
export interface SbomBuild {
  target: Target;
  board: string;
  /** The bundle as built (its SHA-256 is the image's hash). */
  code: string;
  files: SourceFile[];
  /** Host target: the npm packages its code imports at run time. */
  imports?: string[];
}

export interface SbomOptions {
  kitVersion: string;
  kitCommit?: string;
  timestamp?: Date;
  root?: string;
  lock?: Lock;
}

/** A CycloneDX 1.6 BOM, as JSON. */
export type Bom = { bomFormat: 'CycloneDX'; specVersion: '1.6'; components: BomComponent[]; dependencies: { ref: string; dependsOn: string[] }[] } & Record<string, unknown>;
export interface BomComponent {
  'bom-ref': string;
  type: string;
  name: string;
  group?: string;
  version?: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: License[];
  properties?: { name: string; value: string }[];
  [field: string]: unknown;
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The runtimes a device bundle runs on, from their profiles (firmware/host/profiles.ts): name, version, upstream. */
export function runtimeComponent(target: Target): BomComponent | undefined {
  if (target === 'host') return undefined;
  const m = /^(\S+) (\S+)/.exec(PROFILES[target].runtime);
  if (!m) throw new Error('sbom: cannot read the runtime version of ' + target + ' from its profile');
  const version = m[2]!;
  // The upstream repositories and licences (Kaluma: Apache-2.0; Espruino: MPL-2.0), at the tags the profiles name.
  const upstream = target === 'kaluma'
    ? { purl: 'pkg:github/kaluma-project/kaluma@' + version, license: 'Apache-2.0', url: 'https://github.com/kaluma-project/kaluma' }
    : { purl: 'pkg:github/espruino/espruino@RELEASE_' + version.toUpperCase(), license: 'MPL-2.0', url: 'https://github.com/espruino/Espruino' };
  return {
    'bom-ref': 'runtime:' + target,
    type: 'firmware',
    name: m[1]!.toLowerCase(),
    version,
    purl: upstream.purl,
    licenses: [{ license: { id: upstream.license } }],
    externalReferences: [{ type: 'vcs', url: upstream.url }],
    properties: [
      { name: 'hoshi:part', value: 'device runtime: flashed apart from the image, not changed by its signed updates' },
    ],
  };
}

/**
 * The BOM of one build: metadata.component is the image (its name the model, its version the
 * firmware version, its supplier the vendor, its hash the bundle's SHA-256); components are the
 * kit's directories, the product's code, the npm packages and the runtime; the image depends on
 * each, and each run-time npm package on what it needs.
 */
export function createSbom(image: SbomImage, build: SbomBuild, options: SbomOptions): Bom {
  const root = options.root ?? ROOT;
  const supplier = { name: image.vendor, ...(image.vendorUrl ? { url: [image.vendorUrl] } : {}) };
  const imageRef = 'image:' + image.model + '@' + image.firmwareVersion + '/' + build.board;
  const kitProps = [{ name: 'hoshi:kit-version', value: options.kitVersion }, ...(options.kitCommit ? [{ name: 'hoshi:kit-commit', value: options.kitCommit }] : [])];

  // The kit's files and the product's, by directory.
  const groups = new Map<string, { files: Map<string, string>; parts: Set<Part> }>();
  for (const f of build.files) {
    if (npmPackageOf(f.path)) continue;
    const dir = kitDirectory(f.path);
    if (!dir) throw new Error('sbom: ' + f.path + ' went into the ' + build.target + ' build but belongs to no kit directory nor npm package');
    const g = groups.get(dir) ?? { files: new Map<string, string>(), parts: new Set<Part>() };
    groups.set(dir, g);
    g.parts.add(f.part);
    if (!g.files.has(f.path)) g.files.set(f.path, sha256(readFileSync(join(root, f.path))));
  }
  const components: BomComponent[] = [];
  for (const dir of [...groups.keys()].sort()) {
    const g = groups.get(dir)!;
    const paths = [...g.files.keys()].sort();
    // The component's hash: SHA-256 of `sha256sum`'s listing of its files in path order
    // ("<hex>  <path>\n" each), so `sha256sum <files…> | sha256sum` gives it again.
    const listing = paths.map((p) => g.files.get(p) + '  ' + p + '\n').join('');
    const product = dir.startsWith('examples/');
    components.push({
      'bom-ref': (product ? 'product:' : 'kit:') + dir,
      type: product ? 'application' : 'library',
      ...(product ? { supplier } : { group: 'hoshi' }),
      name: dir,
      version: product ? image.firmwareVersion : options.kitVersion,
      description: product ? 'the product\'s own code (' + image.example + ')' : 'Hoshi kit directory ' + dir,
      hashes: [{ alg: 'SHA-256', content: sha256(listing) }],
      properties: [
        { name: 'hoshi:part', value: [...g.parts].sort().join(', ') },
        ...(product ? [] : kitProps),
        ...paths.map((p) => ({ name: 'hoshi:file', value: g.files.get(p) + '  ' + p })),
      ],
    });
  }
  const lock = options.lock ?? readLock(root);
  const packages = npmPackages(build.files, build.imports ?? [], root, lock);
  const npmRef = (lockPath: string): string => 'npm:' + lockPath;
  for (const p of packages) {
    components.push({
      'bom-ref': npmRef(p.lockPath),
      type: 'library',
      name: p.name,
      version: p.version,
      purl: npmPurl(p.name, p.version),
      ...(p.sha512 ? { hashes: [{ alg: 'SHA-512', content: p.sha512 }] } : {}),
      ...(licensesOf(p.license) ? { licenses: licensesOf(p.license) } : {}),
      properties: [
        { name: 'hoshi:part', value: p.parts.sort().map((x) => (x === 'runtime' ? 'imported at run time from node_modules (not bundled)' : x)).join(', ') },
        { name: 'hoshi:lock-path', value: p.lockPath },
      ],
    });
  }
  const runtime = runtimeComponent(build.target);
  if (runtime) components.push(runtime);

  // The image needs every component of its bundle and assets, the runtime, and the packages it
  // imports itself; a run-time package, the packages it needs.
  const imported = new Set((build.imports ?? []).map((n) => lockResolve(lock, '', n)));
  const needed = packages.filter((p) => p.parts.some((x) => x !== 'runtime') || imported.has(p.lockPath));
  const direct = components.filter((c) => !c['bom-ref'].startsWith('npm:')).map((c) => c['bom-ref']).concat(needed.map((p) => npmRef(p.lockPath)));
  const dependencies = [{ ref: imageRef, dependsOn: direct }];
  for (const p of packages) dependencies.push({ ref: npmRef(p.lockPath), dependsOn: p.dependsOn.filter((d) => packages.some((q) => q.lockPath === d)).map(npmRef) });

  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:' + randomUUID(),
    version: 1,
    metadata: {
      timestamp: (options.timestamp ?? new Date()).toISOString(),
      component: {
        'bom-ref': imageRef,
        type: 'firmware',
        supplier,
        name: image.model,
        version: image.firmwareVersion,
        ...(image.description ? { description: image.description } : {}),
        hashes: [{ alg: 'SHA-256', content: sha256(build.code) }],
        properties: [
          { name: 'hoshi:example', value: image.example },
          { name: 'hoshi:target', value: build.target },
          { name: 'hoshi:board', value: build.board },
          { name: 'hoshi:hardware-revision', value: image.hardwareRevision },
          { name: 'hoshi:generated-by', value: 'hoshi evidence ' + options.kitVersion },
          { name: 'hoshi:hash-of', value: build.target === 'host' ? 'image.mjs, the host build' : 'app.js, the bundle (the assets are listed by component)' },
          ...kitProps,
        ],
      },
      manufacturer: supplier,
      supplier,
    },
    components,
    dependencies,
  };
}

let validator: Validation.JsonStrictValidator | undefined;

/**
 * Validates a BOM's JSON text against the CycloneDX 1.6 JSON schema, strictly (no properties the
 * schema does not define). Resolves to undefined when it is valid, else to the schema's findings,
 * one line each ("/components/3/hashes/0/alg: must be equal to one of the allowed values").
 */
export async function validateSbom(json: string): Promise<string[] | undefined> {
  validator ??= new Validation.JsonStrictValidator(Spec.Version.v1dot6);
  const errors = await validator.validate(json);
  if (errors === null) return undefined;
  const list = Array.isArray(errors) ? (errors as { instancePath?: string; message?: string; params?: unknown }[]) : [errors as { message?: string }];
  return list.map((e) => ((e as { instancePath?: string }).instancePath || '/') + ': ' + (e.message ?? JSON.stringify(e)) + ((e as { params?: unknown }).params ? ' ' + JSON.stringify((e as { params?: unknown }).params) : ''));
}

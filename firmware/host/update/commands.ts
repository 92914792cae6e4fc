import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BOARDS_OF } from '../build';
import { parseKid, readPublicKey, readSigningKey, ToolError, writeKeyPair, type ToolCode } from './keys';
import {
  checkPayload,
  checkPointerTarget,
  createImagePackage,
  createRotationPackage,
  describePackage,
  describePointer,
  hex,
  kidOf,
  looksLikePointer,
  parsePackage,
  parsePointer,
  parseVersion,
  RUNTIMES,
  verifyPackage,
  verifyPointer,
} from './package';
import { directoryName, publish } from './publish';

/**
 * The update commands of `hoshi` (docs/formats/update.md §9): keygen, release, verify, inspect,
 * rotate, publish. Each returns its exit code (the table below) and prints one line saying why
 * when it refuses.
 */

/** Exit codes, imgtool style: one per refusal, so scripts can tell them apart. */
export const EXIT: { readonly [code in ToolCode | 'ok' | 'usage']: number } = {
  ok: 0,
  failed: 1,
  usage: 2,
  'inside-repository': 3,
  exists: 4,
  'bad-key': 5,
  'package-truncated': 10,
  'package-malformed': 11,
  'package-too-large': 12,
  'alg-unsupported': 13,
  'manifest-malformed': 14,
  'manifest-unknown-field': 15,
  'format-unsupported': 16,
  'key-unknown': 17,
  'signature-invalid': 18,
  'image-too-large': 19,
  'size-mismatch': 20,
  'digest-mismatch': 21,
  'pointer-mismatch': 22,
};

export const UPDATE_USAGE = `  hoshi keygen --out FILE          a signing key pair: FILE (private, PKCS#8 PEM, mode 0600, never inside
                                   the repository) and FILE.pub (public, SPKI PEM); prints the kid
  hoshi release <example> --version X.Y.Z --counter N --key FILE [--target kaluma|espruino|host]
      [--board B] [--notes https://…] [--out FILE]
                                   build the payload and write the signed package (default target kaluma,
                                   default file <model>-<version>-<board>.hoshi here; never replaced)
  hoshi verify FILE --pub PUB      check a package or a latest.cose pointer fully (--pub repeatable)
  hoshi inspect FILE               show a package's or a pointer's header, manifest, sizes and overhead (no key)
  hoshi rotate --key FILE --vendor V --model M --runtime R --board B --counter N [--add PUB] [--retire KID]
      [--out FILE]                 a key-rotation package (default file <model>-rotate-<counter>-<board>.hoshi)
  hoshi publish OUT-DIR PACKAGE… --key FILE [--pub PUB]
                                   static files for a web server: OUT-DIR/<vendor>/<model>/<runtime>-<board>/
                                   <version>.hoshi and a signed latest.cose naming the newest
      exit codes of these: 0 ok, 1 failed, 2 usage, 3 inside the repository, 4 file exists, 5 bad key file,
      10 package-truncated, 11 package-malformed, 12 package-too-large, 13 alg-unsupported,
      14 manifest-malformed, 15 manifest-unknown-field, 16 format-unsupported, 17 key-unknown,
      18 signature-invalid, 19 image-too-large, 20 size-mismatch, 21 digest-mismatch, 22 pointer-mismatch`;

/** What `release` needs from the payload builder (firmware/host/payload.ts `buildPayload`). */
export type BuildPayload = (
  example: string,
  target: 'kaluma' | 'espruino' | 'host',
  options: { version: string; board?: string },
) => Promise<{ payload: Uint8Array; app: number; runtime: string; board: string; vendor: string; model: string }>;

/** Options each command takes: a value, or a value that may repeat. Anything else is a usage error. */
type Spec = { [name: string]: 'one' | 'many' };

interface Args {
  positional: string[];
  one: { [name: string]: string | undefined };
  many: { [name: string]: string[] };
}

class UsageError extends Error {}

function parseArgs(command: string, args: string[], spec: Spec): Args {
  const out: Args = { positional: [], one: {}, many: {} };
  for (const name of Object.keys(spec)) if (spec[name] === 'many') out.many[name] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    const kind = spec[a];
    if (!kind) throw new UsageError(command + ': unknown option ' + a);
    const value = args[++i];
    if (value === undefined) throw new UsageError(command + ': ' + a + ' needs a value');
    if (kind === 'many') out.many[a]!.push(value);
    else if (out.one[a] !== undefined) throw new UsageError(command + ': ' + a + ' given twice');
    else out.one[a] = value;
  }
  return out;
}

function required(args: Args, command: string, name: string, what: string): string {
  const v = args.one[name];
  if (v === undefined) throw new UsageError(command + ': ' + name + ' ' + what);
  return v;
}

/** A security counter: 0 … 2^32 − 1, decimal. */
function counterOption(args: Args, command: string): number {
  const text = required(args, command, '--counter', 'N: the security counter (0-4294967295)');
  const n = /^(0|[1-9][0-9]{0,9})$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 0xffffffff)) throw new UsageError(command + ': --counter must be an integer in 0-4294967295');
  return n;
}

/** Runs a command body; maps its refusals to their exit codes and messages. */
async function run(command: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error('hoshi: ' + error.message + '\nusage:\n' + UPDATE_USAGE);
      return EXIT.usage;
    }
    if (error instanceof ToolError) {
      console.error('hoshi ' + command + ': ' + error.message);
      return EXIT[error.code];
    }
    console.error('hoshi ' + command + ': ' + (error as Error).message);
    return EXIT.failed;
  }
}

/** Writes a file that must not exist yet (a package is never replaced). */
function writeNew(file: string, bytes: Uint8Array): void {
  try {
    writeFileSync(file, bytes, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ToolError('exists', file + ' exists: a package is never replaced (move it away, or give --out)');
    throw error;
  }
}

function refuseExisting(file: string): void {
  if (existsSync(file)) throw new ToolError('exists', file + ' exists: a package is never replaced (move it away, or give --out)');
}

function readInput(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new ToolError('failed', 'cannot read ' + file + ': ' + ((error as NodeJS.ErrnoException).code ?? (error as Error).message));
  }
}

/** `hoshi keygen --out FILE` */
export function keygen(args: string[]): Promise<number> {
  return run('keygen', () => {
    const a = parseArgs('keygen', args, { '--out': 'one' });
    if (a.positional.length) throw new UsageError('keygen: unexpected ' + a.positional[0]);
    const out = required(a, 'keygen', '--out', 'FILE: where the private key goes (outside the repository)');
    const written = writeKeyPair(out);
    console.log('kid ' + hex(written.kid));
    console.log('private key: ' + written.privateFile + ' (mode 0600: keep it offline, never commit it)');
    console.log('public key:  ' + written.publicFile + ' (for hoshi provision --update-key and hoshi verify --pub)');
    return EXIT.ok;
  });
}

/** The payload builder of firmware/host/payload.ts, loaded when `release` runs (the other commands need no build tools). */
export const loadBuildPayload: BuildPayload = async (example, target, options) => (await import('../payload')).buildPayload(example, target, options);

/** `hoshi release <example> …` with the payload builder given (tests give their own). */
export function release(args: string[], build: BuildPayload = loadBuildPayload): Promise<number> {
  return run('release', async () => {
    const a = parseArgs('release', args, { '--version': 'one', '--counter': 'one', '--key': 'one', '--target': 'one', '--board': 'one', '--notes': 'one', '--out': 'one' });
    const example = a.positional[0];
    if (!example || a.positional.length > 1) throw new UsageError('release: which example? (one)');
    const version = required(a, 'release', '--version', 'X.Y.Z: the version the image reports');
    if (!parseVersion(version)) throw new UsageError('release: --version must be MAJOR.MINOR.PATCH, each 0-65535 without leading zeros');
    const counter = counterOption(a, 'release');
    const target = (a.one['--target'] ?? 'kaluma') as 'kaluma' | 'espruino' | 'host';
    if (!RUNTIMES.includes(target)) throw new UsageError('release: --target must be one of ' + RUNTIMES.join(', '));
    const board = a.one['--board'];
    if (board !== undefined && !BOARDS_OF[target].includes(board)) throw new UsageError('release: --board must be one of ' + BOARDS_OF[target].join(', ') + ' for ' + target);
    const notes = a.one['--notes'];
    if (notes !== undefined && !(/^https:\/\/\S+$/.test(notes) && Buffer.byteLength(notes) <= 200)) throw new UsageError('release: --notes must be an https:// URL of at most 200 bytes');
    const key = readSigningKey(required(a, 'release', '--key', 'FILE: the signing key (hoshi keygen)'));
    if (a.one['--out'] !== undefined) refuseExisting(a.one['--out']);
    const built = await build(example, target, { version, board });
    if (built.runtime !== target) throw new ToolError('failed', 'the payload builder made a ' + built.runtime + ' payload for target ' + target);
    const out = a.one['--out'] ?? directoryName('model', built.model) + '-' + version + '-' + built.board + '.hoshi';
    refuseExisting(out);
    const bytes = createImagePackage(
      { vendor: built.vendor, model: built.model, runtime: built.runtime, board: built.board, version, counter, app: built.app, notes },
      built.payload,
      key,
    );
    writeNew(out, bytes);
    console.log(out + ': ' + built.model + ' ' + version + ' for ' + built.runtime + ' on ' + built.board + ', counter ' + counter + ', signed by kid ' + hex(key.kid));
    console.log('payload ' + built.payload.length + ' bytes (app text ' + built.app + '), package ' + bytes.length + ' bytes (overhead ' + (bytes.length - built.payload.length) + ')');
    return EXIT.ok;
  });
}

/** `hoshi verify FILE --pub PUB…`: a package, or a latest.cose pointer (and the package it names, when beside it). */
export function verify(args: string[]): Promise<number> {
  return run('verify', () => {
    const a = parseArgs('verify', args, { '--pub': 'many' });
    const file = a.positional[0];
    if (!file || a.positional.length > 1) throw new UsageError('verify: which package? (one file)');
    if (!a.many['--pub']!.length) throw new UsageError('verify: --pub PUB: the public key that signed it (FILE.pub of hoshi keygen)');
    const keys = a.many['--pub']!.map(readPublicKey);
    const bytes = readInput(file);
    if (looksLikePointer(bytes)) {
      const checked = verifyPointer(bytes, keys);
      if (!checked.ok) throw new ToolError(checked.code, file + ': ' + checked.code + ': ' + checked.reason);
      const q = checked.value.pointer;
      const beside = join(dirname(file), q.path);
      let note = q.path + ' is not beside it: not checked';
      if (existsSync(beside)) {
        const target = checkPointerTarget(q, readInput(beside));
        if (!target.ok) throw new ToolError(target.code, file + ': ' + target.code + ': ' + beside + ': ' + target.reason);
        const pkg = verifyPackage(readInput(beside), keys);
        if (!pkg.ok) throw new ToolError(pkg.code, beside + ': ' + pkg.code + ': ' + pkg.reason);
        note = q.path + ' matches it and verifies';
      }
      console.log(file + ': OK, a pointer to ' + q.model + ' ' + q.version + ' (' + q.runtime + ', ' + q.board + ', counter ' + q.counter + '), signed by kid ' + hex(checked.value.kid) + '; ' + note);
      return EXIT.ok;
    }
    const checked = verifyPackage(bytes, keys);
    if (!checked.ok) throw new ToolError(checked.code, file + ': ' + checked.code + ': ' + checked.reason);
    const m = checked.value.manifest;
    const what = m.kind === 1 ? m.model + ' ' + m.version + ' (' + m.runtime + ', ' + m.board + ', counter ' + m.counter + ', ' + m.size + ' bytes)' : 'key rotation for ' + m.model + ' (' + m.runtime + ', ' + m.board + ', counter ' + m.counter + ')';
    console.log(file + ': OK, ' + what + ', signed by kid ' + hex(checked.value.kid) + ' (alg ' + checked.value.alg + ')');
    return EXIT.ok;
  });
}

/** `hoshi inspect FILE`: no key; the payload's size and digest are checked, the signature is not. */
export function inspect(args: string[]): Promise<number> {
  return run('inspect', () => {
    const a = parseArgs('inspect', args, {});
    const file = a.positional[0];
    if (!file || a.positional.length > 1) throw new UsageError('inspect: which package? (one file)');
    const bytes = readInput(file);
    if (looksLikePointer(bytes)) {
      const p = parsePointer(bytes);
      if (!p.ok) throw new ToolError(p.code, file + ': ' + p.code + ': ' + p.reason);
      console.log(file);
      for (const line of describePointer(p.value)) console.log(line);
      return EXIT.ok;
    }
    const p = parsePackage(bytes);
    if (!p.ok) throw new ToolError(p.code, file + ': ' + p.code + ': ' + p.reason);
    console.log(file);
    for (const line of describePackage(p.value)) console.log(line);
    const payload = checkPayload(p.value);
    if (!payload.ok) throw new ToolError(payload.code, file + ': ' + payload.code + ': ' + payload.reason);
    console.log(p.value.manifest.kind === 1 ? "digest: the payload's SHA-256 matches" : 'payload: empty, as a key rotation has it');
    return EXIT.ok;
  });
}

/** `hoshi rotate …`: a key-rotation package (update.md §2.2). */
export function rotate(args: string[]): Promise<number> {
  return run('rotate', () => {
    const a = parseArgs('rotate', args, { '--key': 'one', '--vendor': 'one', '--model': 'one', '--runtime': 'one', '--board': 'one', '--counter': 'one', '--add': 'one', '--retire': 'one', '--out': 'one' });
    if (a.positional.length) throw new UsageError('rotate: unexpected ' + a.positional[0]);
    const vendor = required(a, 'rotate', '--vendor', "V: the image config's vendor");
    const model = required(a, 'rotate', '--model', "M: the image config's model");
    const runtime = required(a, 'rotate', '--runtime', 'R: kaluma, espruino or host');
    if (!RUNTIMES.includes(runtime)) throw new UsageError('rotate: --runtime must be one of ' + RUNTIMES.join(', '));
    const board = required(a, 'rotate', '--board', 'B: the units\' board');
    if (!BOARDS_OF[runtime as 'kaluma'].includes(board)) throw new UsageError('rotate: --board must be one of ' + BOARDS_OF[runtime as 'kaluma'].join(', ') + ' for ' + runtime);
    const counter = counterOption(a, 'rotate');
    if (a.one['--add'] === undefined && a.one['--retire'] === undefined) throw new UsageError('rotate: --add PUB, --retire KID, or both');
    let retire: Uint8Array | undefined;
    if (a.one['--retire'] !== undefined) {
      retire = parseKid(a.one['--retire']);
      if (!retire) throw new UsageError('rotate: --retire takes a kid: 16 hexadecimal digits (hoshi keygen printed it)');
    }
    const key = readSigningKey(required(a, 'rotate', '--key', 'FILE: a currently trusted signing key'));
    const add = a.one['--add'] !== undefined ? readPublicKey(a.one['--add']) : undefined;
    if (add && kidOf(add).every((b, i) => b === key.kid[i])) throw new UsageError('rotate: --add is the signing key itself, trusted already');
    if (retire && retire.every((b, i) => b === key.kid[i]) && !add) throw new UsageError('rotate: retiring the signing key needs --add with another key in the same package');
    const out = a.one['--out'] ?? directoryName('model', model) + '-rotate-' + counter + '-' + board + '.hoshi';
    refuseExisting(out);
    const bytes = createRotationPackage({ vendor, model, runtime, board, counter, add, retire }, key);
    writeNew(out, bytes);
    console.log(out + ': key rotation for ' + model + ' (' + runtime + ', ' + board + ', counter ' + counter + ')' + (add ? ', adds kid ' + hex(kidOf(add)) : '') + (retire ? ', retires kid ' + hex(retire) : '') + ', signed by kid ' + hex(key.kid));
    return EXIT.ok;
  });
}

/** `hoshi publish OUT-DIR PACKAGE… --key FILE [--pub PUB]` */
export function publishCommand(args: string[]): Promise<number> {
  return run('publish', () => {
    const a = parseArgs('publish', args, { '--key': 'one', '--pub': 'many' });
    const [outDir, ...packages] = a.positional;
    if (!outDir || !packages.length) throw new UsageError('publish: OUT-DIR and at least one package');
    const key = readSigningKey(required(a, 'publish', '--key', 'FILE: the key that signs the latest.cose pointers'));
    const others = a.many['--pub']!.map(readPublicKey);
    for (const line of publish(outDir, packages, key, others).lines) console.log(line);
    return EXIT.ok;
  });
}

/** The update commands by name, for firmware/host/cli.ts: each resolves to its exit code. */
export const updateCommands: { [name: string]: (args: string[]) => Promise<number> } = {
  keygen,
  release: (args) => release(args),
  verify,
  inspect,
  rotate,
  publish: publishCommand,
};

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ROOT } from '../build';
import { hex, kidOf, PUBLIC_KEY_BYTES, type SigningKey, type UpdateCode } from './package';

/**
 * Update signing keys on the host: Ed25519 key pairs in PEM files (update.md §1, §9).
 * The private key is PKCS#8 PEM, owner-only (0600), never inside the repository (where it could
 * be committed); the public key beside it (`<file>.pub`) is SPKI PEM, and its 32 raw bytes are
 * what `hoshi provision --update-key` puts into a unit's provisioning record.
 */

/**
 * What the update tools refuse, by code: a key file's problems, a file that exists, a package's
 * refusal (update.md §6), or `failed` (anything else). commands.ts maps each code to its exit code.
 */
export type ToolCode = 'inside-repository' | 'exists' | 'bad-key' | 'failed' | UpdateCode;

export class ToolError extends Error {
  constructor(
    readonly code: ToolCode,
    message: string,
  ) {
    super(message);
  }
}

/** The 32 raw bytes of an Ed25519 public (or private) key object. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new ToolError('bad-key', 'not an Ed25519 key');
  const raw = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  if (raw.length !== PUBLIC_KEY_BYTES) throw new ToolError('bad-key', 'not an Ed25519 key');
  return raw;
}

/** The SPKI PEM of 32 raw Ed25519 public key bytes. */
export function publicKeyPem(publicKey: Uint8Array): string {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

/** A new Ed25519 key pair from node:crypto (the host's CSPRNG): PEM texts, raw public key, kid. */
export function generateKeyPair(): { privatePem: string; publicPem: string; publicKey: Uint8Array; kid: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKey: raw,
    kid: kidOf(raw),
  };
}

/** A new Ed25519 signing key held in memory only (tests, benchmarks): never written anywhere. */
export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return { privateKey, publicKey: raw, kid: kidOf(raw) };
}

/**
 * `path` as the file system will resolve it, every existing component's symbolic links followed
 * one component at a time (so `link/..` goes where the system goes, not where the text says).
 * Components past the last existing one are appended as they are.
 */
export function resolveReal(path: string, cwd = process.cwd()): string {
  if (process.platform === 'win32') {
    let p = resolve(cwd, path);
    const rest: string[] = [];
    while (true) {
      try {
        return join(realpathSync(p), ...rest.reverse());
      } catch {
        const parent = dirname(p);
        if (parent === p) return resolve(cwd, path);
        rest.push(p.slice(parent.length).replace(/^[\\/]/, ''));
        p = parent;
      }
    }
  }
  const full = isAbsolute(path) ? path : cwd + sep + path;
  let current: string = sep;
  let existing = true;
  for (const part of full.split(sep)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = current === sep ? sep + part : current + sep + part;
    if (existing) {
      try {
        lstatSync(next);
      } catch {
        existing = false;
      }
    }
    if (existing) {
      try {
        current = realpathSync(next);
      } catch {
        // A symbolic link that leads nowhere: where it would create a file is not knowable here.
        throw new ToolError('inside-repository', next + ' is a symbolic link that leads nowhere: give a plain path');
      }
    } else current = next;
  }
  return current;
}

/** Whether `path` (resolved through symbolic links) is the repository's root or under it. */
export function insideRepository(path: string, root = ROOT, cwd = process.cwd()): boolean {
  const realRoot = realpathSync(root);
  const rel = relative(realRoot, resolveReal(path, cwd));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Writes a new key pair: the private key to `file` (PKCS#8 PEM, mode 0600) and the public key to
 * `file.pub` (SPKI PEM, 0644). Refuses a path inside the repository (`root`), and a file that
 * exists (neither is ever replaced). Returns the pair's kid and public key.
 */
export function writeKeyPair(file: string, root = ROOT): { privateFile: string; publicFile: string; kid: Uint8Array; publicKey: Uint8Array } {
  const publicFile = file + '.pub';
  for (const f of [file, publicFile]) {
    if (insideRepository(f, root)) throw new ToolError('inside-repository', f + ' is inside the repository (' + root + '): a private key there could be committed; write it elsewhere (e.g. ~/.hoshi/keys/)');
  }
  for (const f of [file, publicFile]) {
    let exists = true;
    try {
      lstatSync(f);
    } catch {
      exists = false;
    }
    if (exists) throw new ToolError('exists', f + ' exists: a key file is never replaced (move it away, or give another --out)');
  }
  const pair = generateKeyPair();
  try {
    writeFileSync(file, pair.privatePem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ToolError('exists', file + ' exists: a key file is never replaced');
    throw error;
  }
  chmodSync(file, 0o600);
  try {
    writeFileSync(publicFile, pair.publicPem, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    unlinkSync(file);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ToolError('exists', publicFile + ' exists: a key file is never replaced');
    throw error;
  }
  return { privateFile: file, publicFile, kid: pair.kid, publicKey: pair.publicKey };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ToolError('bad-key', 'cannot read ' + file + ': ' + ((error as NodeJS.ErrnoException).code ?? (error as Error).message));
  }
}

/**
 * Reads a signing key: an Ed25519 private key in PKCS#8 PEM. Refuses any other key, and (where
 * the file system has modes) a file that others than its owner can read, as ssh does.
 */
export function readSigningKey(file: string): SigningKey {
  const text = readText(file);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new ToolError('bad-key', file + ' is not a PEM private key (hoshi keygen writes one)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ToolError('bad-key', file + ' is a ' + privateKey.asymmetricKeyType + ' key, not Ed25519');
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new ToolError('bad-key', file + ' can be read by others than its owner (mode ' + (statSync(file).mode & 0o777).toString(8) + '): chmod 600 it first');
  }
  const publicKey = rawPublicKey(privateKey);
  return { privateKey, publicKey, kid: kidOf(publicKey) };
}

/** Reads a public key file (SPKI PEM, as `hoshi keygen` writes `<file>.pub`): its 32 raw bytes. */
export function readPublicKey(file: string): Uint8Array {
  const text = readText(file);
  if (/PRIVATE KEY/.test(text)) throw new ToolError('bad-key', file + ' holds a private key: give the public key (<file>.pub)');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new ToolError('bad-key', file + ' is not a PEM public key (hoshi keygen writes one beside the private key, <file>.pub)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ToolError('bad-key', file + ' is a ' + key.asymmetricKeyType + ' key, not Ed25519');
  return rawPublicKey(key);
}

/** A kid as 16 hexadecimal digits, or undefined. */
export function parseKid(text: string): Uint8Array | undefined {
  return /^[0-9a-fA-F]{16}$/.test(text) ? new Uint8Array(Buffer.from(text, 'hex')) : undefined;
}

export { hex };

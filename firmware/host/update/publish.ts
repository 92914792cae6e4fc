import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError } from './keys';
import {
  compareVersions,
  createPointer,
  hex,
  KIND_IMAGE,
  sha256,
  verifyPackage,
  verifyPointer,
  type ParsedPackage,
  type SigningKey,
} from './package';

/**
 * `hoshi publish`: static files any web server can serve (update.md §9). No server of its own.
 *
 *   <out-dir>/<vendor>/<model>/<runtime>-<board>/<version>.hoshi   each package, as given
 *   <out-dir>/<vendor>/<model>/<runtime>-<board>/latest.cose       a signed pointer to the newest
 *
 * A version is published once: a different package under a name that exists is refused. Every
 * file is written beside its place and renamed into it, so a server never serves half a file.
 */

/** Names a directory may not have, or characters it may not hold (any common file system). */
const UNSAFE = /[\x00-\x1f\x7f/\\:*?"<>|]/;

/** Refuses a manifest field that cannot be one directory name on every file system. */
export function directoryName(what: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.startsWith('.') || name.endsWith('.') || name.endsWith(' ') || UNSAFE.test(name)) {
    throw new ToolError('failed', what + ' ' + JSON.stringify(name) + ' cannot be a directory name (no / \\ : * ? " < > |, control characters, leading dot or trailing dot or space)');
  }
  return name;
}

/** Writes `bytes` to `file` through a temporary file beside it and a rename. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const temp = file + '.tmp-' + process.pid;
  writeFileSync(temp, bytes, { mode: 0o644 });
  renameSync(temp, file);
}

export interface Published {
  /** One line per file: what was written, kept or left. */
  lines: string[];
}

interface Entry {
  file: string;
  bytes: Uint8Array;
  parsed: ParsedPackage;
  dir: string;
  target: string;
}

/**
 * Publishes image packages into `outDir`. Each package must verify (update.md §1–3) under the
 * publishing key or one of `otherKeys` (public keys of other release signers). Per model, runtime
 * and board the pointer names the highest version among the packages given and the one an
 * existing pointer (valid under the same keys) names already: a pointer never goes back.
 * Throws a ToolError naming the file and the refusal.
 */
export function publish(outDir: string, packageFiles: string[], key: SigningKey, otherKeys: Uint8Array[] = []): Published {
  const keys = [key.publicKey, ...otherKeys];
  const entries: Entry[] = [];
  for (const file of packageFiles) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (error) {
      throw new ToolError('failed', 'cannot read ' + file + ': ' + ((error as NodeJS.ErrnoException).code ?? (error as Error).message));
    }
    const checked = verifyPackage(bytes, keys);
    if (!checked.ok) throw new ToolError(checked.code, file + ': ' + checked.code + ': ' + checked.reason);
    const m = checked.value.manifest;
    if (m.kind !== KIND_IMAGE) throw new ToolError('failed', file + ': a key-rotation package: publish takes image packages (give rotations to the units directly)');
    const dir = join(outDir, directoryName('vendor', m.vendor), directoryName('model', m.model), directoryName('runtime-board', m.runtime + '-' + m.board));
    entries.push({ file, bytes, parsed: checked.value, dir, target: join(dir, m.version + '.hoshi') });
  }
  const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
  // Every refusal before the first write.
  const byTarget = new Map<string, Entry>();
  for (const e of entries) {
    const other = byTarget.get(e.target);
    if (other && !same(other.bytes, e.bytes)) throw new ToolError('exists', e.file + ' and ' + other.file + ' are two different packages of version ' + e.parsed.manifest.version + ' for the same model, runtime and board');
    byTarget.set(e.target, e);
    if (existsSync(e.target) && !same(new Uint8Array(readFileSync(e.target)), e.bytes)) {
      throw new ToolError('exists', e.target + ' holds another package of version ' + e.parsed.manifest.version + ': a version is published once (release a new version)');
    }
  }
  const lines: string[] = [];
  for (const e of byTarget.values()) {
    if (existsSync(e.target)) {
      lines.push(e.target + ': already published (the same bytes)');
      continue;
    }
    mkdirSync(e.dir, { recursive: true });
    writeAtomically(e.target, e.bytes);
    lines.push(e.target + ': ' + e.bytes.length + ' bytes');
  }
  const groups = new Map<string, Entry[]>();
  for (const e of byTarget.values()) groups.set(e.dir, [...(groups.get(e.dir) ?? []), e]);
  for (const [dir, group] of groups) {
    const newest = group.reduce((a, b) => (compareVersions(b.parsed.manifest.version!, a.parsed.manifest.version!) > 0 ? b : a));
    const m = newest.parsed.manifest;
    const file = join(dir, 'latest.cose');
    if (existsSync(file)) {
      const existing = verifyPointer(new Uint8Array(readFileSync(file)), keys);
      if (existing.ok && compareVersions(existing.value.pointer.version, m.version!) > 0) {
        lines.push(file + ': kept, it names ' + existing.value.pointer.version + ', newer than ' + m.version);
        continue;
      }
      if (!existing.ok) lines.push(file + ': replaced an invalid pointer (' + existing.code + ': ' + existing.reason + ')');
    }
    const pointer = createPointer(
      { format: 1, vendor: m.vendor, model: m.model, runtime: m.runtime, board: m.board, version: m.version!, counter: m.counter, path: m.version + '.hoshi', sha256: sha256(newest.bytes), size: newest.bytes.length },
      key,
    );
    writeAtomically(file, pointer);
    lines.push(file + ': names ' + m.version + ' (counter ' + m.counter + ', SHA-256 ' + hex(sha256(newest.bytes)).slice(0, 16) + '…), signed by kid ' + hex(key.kid));
  }
  return { lines };
}

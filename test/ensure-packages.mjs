// Makes sure the Debian packages some tests need are installed; runs before the tests (`npm test`):
// - chromium: test/browser.test.ts drives the admin page in it (the browser builds playwright
//   would download cannot be fetched here);
// - python3-cryptography and python3-cbor2: test/channel-interop.test.ts reads and writes the
//   admin channel with them (test/interop/open_channel.py), in Debian's /usr/bin/python3;
// - python3-nacl (with python3-cbor2): test/update-interop.test.ts signs and verifies update
//   packages with them;
// - fonts-ipafont-gothic: test/evidence.test.ts prints the Japanese checklist to PDF (IPA's own
//   Gothic font; without a Japanese font Chromium prints boxes).
// Installs what is missing with one apt-get call as root, runs `apt-get update` once if that fails,
// and exits non-zero with a clear message if a package still cannot be had.
// `node test/ensure-packages.mjs [package…]` checks the packages named, or all of them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's own Python, where the python3-* packages install (a python3 first on PATH may be another). */
export const PYTHON = '/usr/bin/python3';
export const CHROMIUM = '/usr/bin/chromium';

const pythonHas = (module) => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import ' + module], { stdio: 'ignore' }).status === 0;

/** Each package: how to tell it is there, and who needs it. */
export const PACKAGES = {
  chromium: { present: () => existsSync(CHROMIUM), for: 'test/browser.test.ts (' + CHROMIUM + ')' },
  'python3-cryptography': { present: () => pythonHas('cryptography.hazmat.primitives.ciphers.aead'), for: 'test/channel-interop.test.ts (' + PYTHON + ', AESCCM)' },
  'python3-cbor2': { present: () => pythonHas('cbor2'), for: 'test/channel-interop.test.ts and test/update-interop.test.ts (' + PYTHON + ', cbor2)' },
  'python3-nacl': { present: () => pythonHas('nacl.signing'), for: 'test/update-interop.test.ts (' + PYTHON + ', Ed25519)' },
  'fonts-ipafont-gothic': { present: () => spawnSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' }).stdout?.trim().length > 0, for: 'test/evidence.test.ts (a Japanese checklist printed to PDF)' },
};

function aptGet(args) {
  return spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

/** Installs the packages of `names` that are missing; returns the names still missing (after a message). */
export function ensurePackages(names = Object.keys(PACKAGES), tag = 'ensure-packages') {
  for (const n of names) if (!PACKAGES[n]) throw new Error('unknown package ' + n + ': add it to PACKAGES in test/ensure-packages.mjs');
  const missing = () => names.filter((n) => !PACKAGES[n].present());
  let wanted = missing();
  if (wanted.length === 0) return [];
  const installing = wanted;
  console.log('[' + tag + '] missing: ' + wanted.join(', ') + ': installing with apt-get');
  const needs = (list) => list.map((n) => '  ' + n + ' (for ' + PACKAGES[n].for + ')').join('\n');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error('[' + tag + '] cannot install them: apt-get needs root. Install them with `sudo apt-get install ' + wanted.join(' ') + '`:\n' + needs(wanted));
    return wanted;
  }
  const install = () => aptGet(['install', '-y', '--no-install-recommends', ...wanted]) && missing().length === 0;
  if (!install()) {
    // The package lists may be missing or stale (a fresh machine): refresh them once, then try again.
    aptGet(['update']);
    install();
  }
  wanted = missing();
  if (wanted.length > 0) {
    console.error('[' + tag + '] cannot install with apt-get (see its messages above):\n' + needs(wanted));
    return wanted;
  }
  console.log('[' + tag + '] installed ' + installing.join(', '));
  return [];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2);
  if (ensurePackages(asked.length ? asked : undefined).length > 0) process.exit(1);
}

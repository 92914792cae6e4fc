// Makes sure the Chromium that test/browser.test.ts drives is installed (Debian's package; the
// browser builds that playwright would download cannot be fetched here). Runs before the tests:
// `npm test`. Installs with apt-get as root, runs `apt-get update` once if the first install fails,
// and exits non-zero with a clear message if Chromium still cannot be had.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

function aptInstall() {
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 && existsSync(CHROMIUM);
}

if (!existsSync(CHROMIUM)) {
  console.log('[ensure-chromium] ' + CHROMIUM + ' is missing: installing Debian\'s chromium package');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error('[ensure-chromium] cannot install chromium: apt-get needs root. Install it with `sudo apt-get install chromium`.');
    process.exit(1);
  }
  let ok = aptInstall();
  if (!ok) {
    const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    ok = update.status === 0 && aptInstall();
  }
  if (!ok) {
    console.error('[ensure-chromium] cannot install chromium with apt-get: the browser test (test/browser.test.ts) needs ' + CHROMIUM + '.');
    process.exit(1);
  }
  console.log('[ensure-chromium] installed ' + CHROMIUM);
}

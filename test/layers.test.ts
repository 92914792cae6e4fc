import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../firmware/host/build';

/**
 * The layers of docs/architecture.md, held: every import of device code points down (or within
 * its own layer; modules and boards only within their own folder). A layer is a path prefix; the
 * most specific prefix wins, and a layer named in a list covers the more specific ones under it.
 *
 *   examples/                  → firmware/device, modules, core, hal
 *   firmware/device/ (boot)    → modules, core, hal
 *   boards/<runtime>           → boards/common, modules/crypto, core, hal
 *   boards/<runtime>/loader.ts → its board, firmware/device (the loader's decisions), modules/ota
 *                                (the Kaluma loader verifies updates), modules/crypto, core, hal
 *   modules/<feature>          → modules/keys, modules/store, modules/channel, modules/crypto, core, hal
 *   modules/keys, modules/store, modules/channel → modules/crypto, core, hal
 *   modules/crypto             → core, hal
 *   firmware/device/core       → hal
 *   hal                        → nothing
 */
const LAYERS: { [layer: string]: string[] } = {
  'hal/': [],
  'firmware/device/core/': ['hal/'],
  'modules/crypto/': ['firmware/device/core/', 'hal/'],
  'modules/store/': ['modules/crypto/', 'firmware/device/core/', 'hal/'],
  'modules/keys/': ['modules/crypto/', 'firmware/device/core/', 'hal/'],
  'modules/channel/': ['modules/crypto/', 'firmware/device/core/', 'hal/'],
  'modules/': ['modules/keys/', 'modules/store/', 'modules/channel/', 'modules/crypto/', 'firmware/device/core/', 'hal/'],
  'boards/common/': ['firmware/device/core/', 'hal/'],
  'boards/': ['boards/common/', 'modules/crypto/', 'firmware/device/core/', 'hal/'],
  // The fixed loaders' entries: a program of their own that composes, as boot does.
  'boards/kaluma-pico-w/loader.ts': ['boards/', 'boards/common/', 'firmware/device/', 'modules/', 'modules/ota/', 'modules/crypto/', 'firmware/device/core/', 'hal/'],
  'boards/espruino-esp32/loader.ts': ['boards/', 'boards/common/', 'firmware/device/', 'modules/', 'modules/ota/', 'modules/crypto/', 'firmware/device/core/', 'hal/'],
  'firmware/device/': ['modules/', 'firmware/device/core/', 'hal/'],
  'examples/': ['firmware/device/', 'modules/', 'firmware/device/core/', 'hal/'],
};

/** The most specific layer holding `file` (a path relative to the repository). */
function layerOf(file: string): string | undefined {
  let best: string | undefined;
  for (const layer of Object.keys(LAYERS)) if (file.startsWith(layer) && (!best || layer.length > best.length)) best = layer;
  return best;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...files(path));
    else if (/\.(ts|js)$/.test(name)) out.push(path);
  }
  return out;
}

/** Relative imports of a file, resolved to repository paths. */
function imports(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/g)) out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)));
  return out;
}

test('device code imports downward only: the layers of docs/architecture.md', (t) => {
  // modules/admin-page/page.ts is the admin page's script: it runs in the browser, not on the device.
  const device = ['hal', 'firmware/device', 'modules', 'boards', 'examples'].flatMap((d) => files(d)).filter((f) => !f.startsWith('boards/host/') && f !== 'modules/admin-page/page.ts');
  const wrong: string[] = [];
  let edges = 0;
  for (const file of device) {
    const from = layerOf(file)!;
    for (const target of imports(file)) {
      edges++;
      const to = layerOf(target + '/') ?? layerOf(target);
      if (!to) {
        wrong.push(`${file} → ${target}: outside device code`);
        continue;
      }
      const sameModule = to === from && (from !== 'modules/' || target.split('/')[1] === file.split('/')[1]) && (from !== 'boards/' || target.split('/')[1] === file.split('/')[1] || target.startsWith('boards/kaluma-pico-w/'));
      if (!sameModule && !LAYERS[from]!.some((allowed) => to.startsWith(allowed))) wrong.push(`${file} (${from}) → ${target} (${to})`);
    }
  }
  t.deepEqual(wrong, []);
  t.true(edges > 50, `${edges} imports checked`);
});

test('the layer test sees a wrong import', (t) => {
  t.is(layerOf('modules/store/store.ts'), 'modules/store/');
  t.is(layerOf('modules/network/wifi.ts'), 'modules/');
  t.false(LAYERS['firmware/device/core/']!.includes('modules/'));
  t.false(LAYERS['modules/store/']!.includes('firmware/device/'));
  t.false(LAYERS['modules/']!.includes('boards/'));
  t.is(layerOf('modules/channel/channel.ts'), 'modules/channel/');
  t.false(LAYERS['modules/channel/']!.includes('modules/'), 'the channel imports no feature module');
});

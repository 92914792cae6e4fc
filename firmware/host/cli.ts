import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSimFlash, fileBacking, PICO_GEOMETRY } from '../../boards/host/flash';
import { HOST_FLASH_SIZE, HOST_PARTITIONS } from '../../boards/host/board';
import { partition } from '../../hal/flash';
import { buildImage, readManifest, ROOT } from './build';
import { checkProfile, formatViolations } from './profile';
import type { Target } from './profiles';
import { encodeProvisioning, newProvisioningRecord, padTo, writeProvisioning } from './provision';
import { runImage } from './run';
import type { Image } from '../device/image';

/**
 * hoshi: the host tools.
 *   hoshi build <example> --target kaluma|espruino|host [--out DIR]
 *   hoshi start [<example>] [--dir DIR] [--port N]
 *   hoshi provision (--out FILE | --sim DIR) [--serial S]
 * Exit codes: 0 ok, 1 the work failed (message says why), 2 usage.
 */
const USAGE = `usage:
  hoshi build <example> --target kaluma|espruino|host [--out DIR]
  hoshi start [<example>] [--dir DIR] [--port N]
  hoshi provision --out FILE [--serial S]     write a new unit's record (padded to 256 bytes) to FILE
  hoshi provision --sim DIR [--serial S]      provision the simulated unit in DIR`;

const TARGETS: Target[] = ['kaluma', 'espruino', 'host'];

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function usage(message: string): never {
  console.error('hoshi: ' + message + '\n' + USAGE);
  process.exit(2);
}

async function build(args: string[]): Promise<void> {
  const example = args[0];
  const target = option(args, '--target') as Target | undefined;
  if (!example || example.startsWith('--')) usage('build: which example?');
  if (!target || !TARGETS.includes(target)) usage('build: --target must be one of ' + TARGETS.join(', '));
  const result = await buildImage(example, target, option(args, '--out'));
  console.log(result.file.replace(ROOT + '/', '') + ': ' + result.bytes + ' bytes, ' + result.gzipBytes + ' gzipped (board ' + result.board + ')');
  if (target !== 'host') {
    const report = checkProfile(result.code, target, result.map);
    if (report.violations.length) {
      console.error(formatViolations(report));
      console.error('hoshi: build: ' + report.violations.length + ' construct(s) outside the ' + target + ' profile');
      process.exit(1);
    }
    console.log('profile check: inside the ' + target + ' profile');
  }
}

async function start(args: string[]): Promise<void> {
  const example = args[0] && !args[0].startsWith('--') ? args[0] : 'smart-plug';
  const manifest = readManifest(example);
  const module = (await import(join(ROOT, 'examples', example, manifest.entry))) as { default: Image };
  await runImage(module.default, args, manifest.simulator?.analog ?? {});
}

function provision(args: string[]): void {
  const serial = option(args, '--serial');
  const record = newProvisioningRecord(serial);
  const encoded = encodeProvisioning(record);
  const out = option(args, '--out');
  const sim = option(args, '--sim');
  if (out) {
    writeFileSync(out, padTo(encoded, PICO_GEOMETRY.writeSize), { mode: 0o600 });
    console.log('unit ' + record.serial + ': record written to ' + out + ' (holds the device secret: keep it off shared storage, delete it once flashed)');
  } else if (sim) {
    const backing = fileBacking(join(sim, 'flash.bin'), HOST_FLASH_SIZE);
    try {
      const flash = openSimFlash(backing, PICO_GEOMETRY);
      writeProvisioning(partition(flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size), encoded);
    } finally {
      backing.close();
    }
    console.log('unit ' + record.serial + ': provisioned in ' + sim + '/flash.bin');
  } else {
    usage('provision: --out FILE or --sim DIR');
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'build') await build(rest);
  else if (command === 'start') await start(rest);
  else if (command === 'provision') provision(rest);
  else usage(command ? 'unknown command ' + command : 'which command?');
} catch (error) {
  console.error('hoshi: ' + (error as Error).message);
  process.exit(1);
}

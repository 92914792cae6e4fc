import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSimFlash, fileBacking, PICO_GEOMETRY } from '../../boards/host/flash';
import { HOST_FLASH_SIZE, HOST_PARTITIONS } from '../../boards/host/board';
import { partition } from '../../hal/flash';
import { buildImage, readManifest, ROOT } from './build';
import { checkProfile, formatViolations } from './profile';
import type { Target } from './profiles';
import { encodeProvisioning, newProvisioningRecord, padTo, seedStateSector, writeProvisioning } from './provision';
import { concatBytes } from './serial/link';
import { runImage } from './run';
import { provisioningArea, SERIAL_BOARDS, type SerialBoard } from './serial/boards';
import { openSerialLink } from './serial/link';
import type { Image } from '../device/image';

/**
 * hoshi: the host tools.
 *   hoshi build <example> --target kaluma|espruino|host [--board B] [--out DIR]
 *   hoshi start [<example>] [--dir DIR] [--port N]
 *   hoshi provision (--out FILE | --sim DIR) [--serial S]
 *   hoshi provision --board B (--port P | --dry-run FILE) [--serial S] [--wifi-ssid SSID]
 *   hoshi flash <example> --board B (--port P | --dry-run FILE)
 * Exit codes: 0 ok, 1 the work failed (message says why), 2 usage.
 */
const USAGE = `usage:
  hoshi build <example> --target kaluma|espruino|host [--board B] [--out DIR]
  hoshi start [<example>] [--dir DIR] [--port N]
  hoshi provision --out FILE [--serial S]     write a new unit's record (padded to 256 bytes) to FILE
  hoshi provision --sim DIR [--serial S]      provision the simulated unit in DIR
  hoshi provision --board B --port P [--serial S]      write a new unit's record into a real board
  hoshi provision --board B --dry-run FILE [--serial S] write the exact bytes that would be sent to FILE
      [--wifi-ssid SSID]  also seal the Wi-Fi credentials into the unit's store (passphrase from
                          HOSHI_WIFI_PASSPHRASE; the state partition is erased first)
  hoshi flash <example> --board B --port P             build and write the image to a real board
  hoshi flash <example> --board B --dry-run FILE       write the exact bytes that would be sent to FILE
boards: ${Object.keys(SERIAL_BOARDS).join(', ')}`;

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
  const result = await buildImage(example, target, option(args, '--out'), option(args, '--board'));
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

function serialBoard(args: string[], command: string): SerialBoard {
  const name = option(args, '--board');
  const board = name ? SERIAL_BOARDS[name] : undefined;
  if (!board) usage(command + ': --board must be one of ' + Object.keys(SERIAL_BOARDS).join(', '));
  if (!option(args, '--port') && !option(args, '--dry-run')) usage(command + ': --port P or --dry-run FILE');
  return board;
}

/** Sends through the serial port, or writes the exact bytes to the dry-run file. */
async function overSerial(args: string[], board: SerialBoard, transcript: () => Uint8Array, live: (link: Awaited<ReturnType<typeof openSerialLink>>) => Promise<void>, secret: boolean): Promise<void> {
  const dry = option(args, '--dry-run');
  if (dry) {
    writeFileSync(dry, transcript(), { mode: secret ? 0o600 : 0o644 });
    console.log('dry run: the bytes for ' + board.name + ' are in ' + dry + (secret ? ' (they hold the device secret: delete the file once used)' : ''));
    return;
  }
  const link = await openSerialLink(option(args, '--port')!, board.baud);
  try {
    await live(link);
  } finally {
    await link.close();
  }
}

async function flash(args: string[]): Promise<void> {
  const example = args[0];
  if (!example || example.startsWith('--')) usage('flash: which example?');
  const board = serialBoard(args, 'flash');
  const manifest = readManifest(example);
  if (!manifest.boards[board.target]) usage('flash: example ' + example + ' has no image for ' + board.target + ' boards');
  const built = await buildImage(example, board.target, undefined, board.name);
  const report = checkProfile(built.code, board.target, built.map);
  if (report.violations.length) throw new Error('flash: the image is outside the ' + board.target + ' profile:\n' + formatViolations(report));
  const code = new TextEncoder().encode(built.code);
  await overSerial(args, board, () => board.flashTranscript(code), (link) => board.flash(link, code, (l) => console.log(l)), false);
}

async function provision(args: string[]): Promise<void> {
  const serial = option(args, '--serial');
  const record = newProvisioningRecord(serial);
  const encoded = encodeProvisioning(record);
  const out = option(args, '--out');
  const sim = option(args, '--sim');
  const ssid = option(args, '--wifi-ssid');
  if (option(args, '--board')) {
    const board = serialBoard(args, 'provision');
    const area = provisioningArea(board, encoded);
    // The passphrase comes from the environment, never the command line (shell history, ps).
    const passphrase = process.env.HOSHI_WIFI_PASSPHRASE;
    if (ssid !== undefined && passphrase === undefined) usage('provision: --wifi-ssid needs HOSHI_WIFI_PASSPHRASE in the environment ("" for an open network)');
    const seeded = ssid !== undefined ? seedStateSector(record, board.state.bytes, board.state.writeSize, { ssid, passphrase: passphrase! }) : undefined;
    await overSerial(
      args,
      board,
      () => (seeded ? concatBytes([board.provisionTranscript(area), board.stateTranscript(seeded)]) : board.provisionTranscript(area)),
      async (link) => {
        await board.provision(link, area, (l) => console.log(l));
        if (seeded) await board.writeState(link, seeded, (l) => console.log(l));
      },
      true,
    );
    console.log('unit ' + record.serial + ' (' + board.name + ')' + (ssid !== undefined ? ', Wi-Fi "' + ssid + '" sealed in its store' : ''));
  } else if (out) {
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
  else if (command === 'provision') await provision(rest);
  else if (command === 'flash') await flash(rest);
  else usage(command ? 'unknown command ' + command : 'which command?');
} catch (error) {
  console.error('hoshi: ' + (error as Error).message);
  process.exit(1);
}

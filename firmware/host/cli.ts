import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { openSimFlash, fileBacking, PICO_GEOMETRY } from '../../boards/host/flash';
import { HOST_FLASH_SIZE, HOST_PARTITIONS } from '../../boards/host/board';
import { partition } from '../../hal/flash';
import { buildImage, readManifest, ROOT } from './build';
import { checkProfile, formatViolations } from './profile';
import type { Target } from './profiles';
import { encodeProvisioning, newProvisioningRecord, padTo, seedStateSector, writeProvisioning } from './provision';
import { readProvisioning } from '../device/core/provisioning';
import { checkModel, checkSetupUrl, DEFAULT_SETUP_URL, labelJson, labelSheetSvg, labelsCsv, unitLabel, type LabelRecord } from './labels';
import { changePassword, checkNewPassword, ClientError, deviceInfo, iterationsOk, login, passwordPolicy, setWifi, wifiState, type DeviceIdentity, type Session } from './client';
import { base32Encode, parseSetupKey } from '../../modules/channel/setup';
import { concatBytes } from './serial/link';
import { runImage } from './run';
import { provisioningArea, SERIAL_BOARDS, type SerialBoard } from './serial/boards';
import { openSerialLink } from './serial/link';
import type { Image } from '../device/image';
import { updateCommands, UPDATE_USAGE } from './update/commands';
import { readPublicKey } from './update/keys';

/**
 * hoshi: the host tools.
 *   hoshi build <example> --target kaluma|espruino|host [--board B] [--out DIR]
 *   hoshi start [<example>] [--dir DIR] [--port N] [--address A]
 *   hoshi provision (--out FILE | --sim DIR) --model M [--serial S] [--label FILE]
 *   hoshi provision --board B (--port P | --dry-run FILE) --model M [--serial S] [--wifi-ssid SSID] [--label FILE]
 *   hoshi provision --count N --out-dir DIR --model M
 *   hoshi flash <example> --board B (--port P | --dry-run FILE)
 *   hoshi login <device-url> [--label FILE]
 *   hoshi password <device-url> [--iterations N] [--label FILE]
 *   hoshi keygen | release | verify | inspect | rotate | publish   signed updates (update/commands.ts, its own exit codes)
 *   hoshi update <device-url> <package>            upload a signed package, install it, and follow the device until it runs it (HOSHI_PASSWORD or a prompt)
 *   hoshi pull <device-url> [--url U|--no-url] [--auto on|off] [--check]   the device's release URL and automatic installs (GET/PUT /api/update/settings); --check checks now
 *   hoshi wifi <device-url> [--ssid SSID] [--label FILE]
 *   hoshi log <device-url> [--json] [--label FILE]   the security log, fetched through the admin channel and verified
 *   hoshi conform <device-url> [options]   the black-box ★1 probe (conform.ts, its own usage and exit codes)
 *   hoshi evidence <example> [--out DIR] [--conform REPORT.json] [--pdf]   the ★1 checklist draft, policies, SBOM (evidence.ts)
 * Exit codes: 0 ok, 1 the work failed (message says why), 2 usage; login, password and wifi also
 * 3 locked (too many failed logins: Retry-After given), 4 login failed; log 5 the chain is broken.
 */
const USAGE = `usage:
  hoshi build <example> --target kaluma|espruino|host [--board B] [--out DIR]
  hoshi start [<example>] [--dir DIR] [--port N] [--address A]   (A: a loopback address, default 127.0.0.1)
  hoshi provision --out FILE --model M [--serial S]     write a new unit's record (padded to 256 bytes) to FILE
  hoshi provision --sim DIR --model M [--serial S]      provision the simulated unit in DIR
  hoshi provision --board B --port P --model M [--serial S]      write a new unit's record into a real board
  hoshi provision --board B --dry-run FILE --model M [--serial S] write the exact bytes that would be sent to FILE
      [--wifi-ssid SSID]  also seal the Wi-Fi credentials into the unit's store (passphrase from
                          HOSHI_WIFI_PASSPHRASE; the state partition is erased first)
      [--label FILE]      the unit's label record (default password; mode 0600): default FILE.label.json
                          beside --out/--dry-run (".bin" dropped), DIR/label.json, or <serial>.label.json
  hoshi provision --count N --out-dir DIR --model M     N units: DIR/<serial>.secret.bin each, DIR/labels.csv
                          and DIR/labels.svg (an A4 sheet of labels with QR codes); all mode 0600
      [--setup-url URL]   the setup page on the labels (default ${DEFAULT_SETUP_URL})
      [--iterations N]    PBKDF2 iterations of the default password's verifier (default 100000, at least 4096)
      [--update-key PUB]  (any provision command; repeatable, 1-4) a public key (hoshi keygen's FILE.pub) the
                          unit trusts for update packages: the record is then version 4
  hoshi flash <example> --board B --port P             build and write a unit as the factory leaves it: the loader,
                          slot A (the image and its assets) and the boot record
  hoshi flash <example> --board B --dry-run FILE       write the exact bytes that would be sent to FILE
  hoshi login <device-url>         log in through the admin channel and show the session (password: HOSHI_PASSWORD or a prompt)
  hoshi password <device-url> [--iterations N]   change the password (HOSHI_PASSWORD, HOSHI_NEW_PASSWORD or prompts)
  hoshi update <device-url> <package>            upload a signed package, install it, and follow the device until it runs it (HOSHI_PASSWORD or a prompt)
  hoshi pull <device-url> [--url U|--no-url] [--auto on|off] [--check]   the device's release URL and automatic installs; --check checks now
  hoshi wifi <device-url> [--ssid SSID]          show the Wi-Fi state, or set the home network (passphrase:
                          HOSHI_WIFI_PASSPHRASE or a prompt); sent through the admin channel
  hoshi log <device-url> [--json]                the security log: every entry fetched through the admin channel,
                          its chain verified (and that it continues from the entry verified at the last run,
                          kept per unit beside the setup keys); --json prints the report; exit 5 if the chain is broken
      each of these needs the unit's setup key once: --label FILE (its label record), HOSHI_SETUP_KEY
      or a prompt; once a login has proved it, it is kept for the unit's serial in
      ${keptKeysFile()} (mode 0600)
  hoshi conform <device-url> [--label FILE] [--package FILE] [--wipe] [--out DIR] …
                          a bounded black-box probe of a live unit, one check per ★1 criterion testable from the
                          network, each with its verdict and the evidence seen (docs/conformance.md; hoshi conform --help)
  hoshi evidence <example> [--out DIR] [--conform REPORT.json] [--pdf]
                          the ★1 checklist draft (Japanese and English), the vulnerability disclosure and update
                          policies and the user information drafted from the image, its interface declaration and
                          a CycloneDX SBOM per build (docs/evidence.md); default DIR evidence/<example>
${UPDATE_USAGE}
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
  // The unit as the factory leaves it (firmware/host/loader-build.ts): the loader, slot A, the boot record.
  const { factoryImage } = await import('./loader-build');
  const image = await factoryImage(example, board.name);
  await overSerial(args, board, () => board.flashTranscript(image), (link) => board.flash(link, image, (l) => console.log(l)), false);
}

/** `--iterations N`: the default password's verifier cost (undefined: the tools' default). */
function iterationsOption(args: string[], command: string): number | undefined {
  const text = option(args, '--iterations');
  if (text === undefined) return undefined;
  const n = /^[0-9]{1,9}$/.test(text) ? parseInt(text, 10) : NaN;
  if (!iterationsOk(n)) usage(command + ': --iterations must be an integer in 4096..10000000');
  return n;
}

/** The label's model and setup URL from the options (usage error when missing or unfit). */
function labelOptions(args: string[]): { model: string; setupUrl: string } {
  const model = option(args, '--model');
  if (model === undefined) usage('provision: --model M: the model printed on the unit\'s label');
  const setupUrl = option(args, '--setup-url') ?? DEFAULT_SETUP_URL;
  const bad = checkModel(model) ?? checkSetupUrl(setupUrl);
  if (bad) usage('provision: ' + bad);
  return { model, setupUrl };
}

/** `file` without a trailing ".bin", plus ".label.json": where a unit's label goes beside its record. */
function labelBeside(file: string): string {
  return file.replace(/\.bin$/, '') + '.label.json';
}

/**
 * Writes a unit's label record, owner-only. `exclusive`: refuse to replace a file (it may hold
 * the password of a unit already made).
 */
function writeLabel(file: string, label: LabelRecord, exclusive: boolean): void {
  try {
    writeFileSync(file, labelJson(label), { mode: 0o600, flag: exclusive ? 'wx' : 'w' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error('provision: ' + file + ' exists (another unit\'s label?): move it away or give --label FILE');
    throw error;
  }
}

/** Runs `work`; if it fails, the label written for it is removed (no unit has that password). */
async function labelled(file: string, work: () => Promise<void> | void): Promise<void> {
  try {
    await work();
  } catch (error) {
    unlinkSync(file);
    throw error;
  }
}

/** `--update-key PUB` (repeatable): the public keys a unit trusts for update packages (record version 4). */
function updateKeysOption(args: string[]): Uint8Array[] {
  const files = args.flatMap((a, i) => (a === '--update-key' ? [args[i + 1] ?? ''] : []));
  if (files.length > 4) usage('provision: at most 4 --update-key');
  return files.map((f) => {
    if (!f || f.startsWith('--')) usage('provision: --update-key needs a public key file (hoshi keygen\'s FILE.pub)');
    return readPublicKey(f);
  });
}

async function provision(args: string[]): Promise<void> {
  const serial = option(args, '--serial');
  const iterations = iterationsOption(args, 'provision');
  const updateKeys = updateKeysOption(args);
  if (option(args, '--count') !== undefined) {
    await provisionBatch(args, iterations, updateKeys);
    return;
  }
  const out = option(args, '--out');
  const sim = option(args, '--sim');
  const ssid = option(args, '--wifi-ssid');
  if (!option(args, '--board') && !out && !sim) usage('provision: --out FILE, --sim DIR, --board B or --count N');
  const { model, setupUrl } = labelOptions(args);
  const { record, password } = newProvisioningRecord(serial, { iterations, updateKeys });
  const label: LabelRecord = unitLabel(model, record, password, setupUrl);
  const encoded = encodeProvisioning(record);
  const labelNote = (file: string): string => '; its label (default password) is in ' + file + ' (owner-only: print it, then delete it)';
  if (option(args, '--board')) {
    const board = serialBoard(args, 'provision');
    const area = provisioningArea(board, encoded);
    // The passphrase comes from the environment, never the command line (shell history, ps).
    const passphrase = process.env.HOSHI_WIFI_PASSPHRASE;
    if (ssid !== undefined && passphrase === undefined) usage('provision: --wifi-ssid needs HOSHI_WIFI_PASSPHRASE in the environment ("" for an open network)');
    const seeded = ssid !== undefined ? seedStateSector(record, board.state.bytes, board.state.writeSize, { ssid, passphrase: passphrase! }) : undefined;
    const dry = option(args, '--dry-run');
    const labelFile = option(args, '--label') ?? (dry ? labelBeside(dry) : record.serial + '.label.json');
    // The label before the unit: a unit whose default password is lost cannot be logged into. It
    // stays if a real board's write fails midway (the board may hold the record).
    writeLabel(labelFile, label, true);
    const send = (): Promise<void> =>
      overSerial(
        args,
        board,
        () => (seeded ? concatBytes([board.provisionTranscript(area), board.stateTranscript(seeded)]) : board.provisionTranscript(area)),
        async (link) => {
          await board.provision(link, area, (l) => console.log(l));
          if (seeded) await board.writeState(link, seeded, (l) => console.log(l));
        },
        true,
      );
    if (dry) await labelled(labelFile, send);
    else await send();
    console.log('unit ' + record.serial + ' (' + board.name + ')' + (ssid !== undefined ? ', Wi-Fi "' + ssid + '" sealed in its store' : '') + labelNote(labelFile));
  } else if (out) {
    const labelFile = option(args, '--label') ?? labelBeside(out);
    writeLabel(labelFile, label, true);
    await labelled(labelFile, () => writeFileSync(out, padTo(encoded, PICO_GEOMETRY.writeSize), { mode: 0o600 }));
    console.log('unit ' + record.serial + ': record written to ' + out + ' (holds the device secret: keep it off shared storage, delete it once flashed)' + labelNote(labelFile));
  } else if (sim) {
    const labelFile = option(args, '--label') ?? join(sim, 'label.json');
    const backing = fileBacking(join(sim, 'flash.bin'), HOST_FLASH_SIZE);
    try {
      const flash = openSimFlash(backing, PICO_GEOMETRY);
      const p = partition(flash, HOST_PARTITIONS.provisioning.offset, HOST_PARTITIONS.provisioning.size);
      const found = readProvisioning(p);
      if (found.ok || found.reason !== 'erased') throw new Error('provisioning partition is not erased: this unit is already provisioned');
      // A label.json beside an erased flash belongs to no unit: replaced.
      writeLabel(labelFile, label, option(args, '--label') !== undefined);
      await labelled(labelFile, () => writeProvisioning(p, encoded));
    } finally {
      backing.close();
    }
    console.log('unit ' + record.serial + ': provisioned in ' + sim + '/flash.bin' + labelNote(labelFile));
  }
}

/** `hoshi provision --count N --out-dir DIR`: a batch of units, their records and their label sheet. */
async function provisionBatch(args: string[], iterations: number | undefined, updateKeys: Uint8Array[]): Promise<void> {
  const countText = option(args, '--count')!;
  const count = /^[0-9]{1,5}$/.test(countText) ? parseInt(countText, 10) : 0;
  if (count < 1 || count > 10000) usage('provision: --count must be 1..10000');
  const dir = option(args, '--out-dir');
  if (!dir) usage('provision: --count N needs --out-dir DIR');
  for (const alone of ['--serial', '--out', '--sim', '--board', '--label']) if (option(args, alone) !== undefined) usage('provision: --count takes no ' + alone);
  const { model, setupUrl } = labelOptions(args);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = readdirSync(dir).filter((f) => f === 'labels.csv' || f === 'labels.svg');
  if (existing.length) throw new Error('provision: ' + dir + ' already holds a batch (' + existing.join(', ') + '): give another --out-dir');
  const units: { encoded: Uint8Array; label: LabelRecord }[] = [];
  const serials = new Set<string>();
  const started = Date.now();
  while (units.length < count) {
    const { record, password } = newProvisioningRecord(undefined, { iterations, updateKeys });
    if (serials.has(record.serial)) continue; // 60 random bits: never seen, but a batch must not hold two
    serials.add(record.serial);
    units.push({ encoded: encodeProvisioning(record), label: unitLabel(model, record, password, setupUrl) });
  }
  const labels = units.map((u) => u.label);
  // The labels first: a record whose label was not written would be a unit nobody can log into.
  const csv = join(dir, 'labels.csv');
  const svg = join(dir, 'labels.svg');
  writeFileSync(csv, labelsCsv(labels), { mode: 0o600, flag: 'wx' });
  writeFileSync(svg, labelSheetSvg(labels), { mode: 0o600, flag: 'wx' });
  for (const u of units) writeFileSync(join(dir, u.label.serial + '.secret.bin'), padTo(u.encoded, PICO_GEOMETRY.writeSize), { mode: 0o600, flag: 'wx' });
  for (const u of units) console.log('unit ' + u.label.serial);
  console.log(
    count + ' units in ' + ((Date.now() - started) / 1000).toFixed(1) + ' s: records ' + join(dir, '<serial>.secret.bin') + ' (hold the device secrets), labels ' + csv + ' and ' + svg +
      ' (hold the default passwords): owner-only; keep them off shared storage and delete them once used',
  );
}

/**
 * A secret for a command: from the environment variable `env` (scripts), else typed at a prompt
 * on the terminal without echo. Never from the command line (shell history, the process list).
 */
async function secret(env: string, prompt: string): Promise<string> {
  const given = process.env[env];
  if (given !== undefined) return given;
  const input = process.stdin;
  if (!input.isTTY) throw new Error('no terminal to ask for the ' + prompt.replace(/: $/, '') + ': set ' + env);
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return await new Promise<string>((resolve, reject) => {
    let typed = '';
    const done = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return done();
        if (c === '\u0003' || c === '\u0004') return done(new Error('cancelled'));
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
        else if (c >= ' ') typed += c;
      }
    };
    input.on('data', onData);
  });
}

/** Where the setup keys of the devices this client has met are kept: HOSHI_CONFIG_DIR, else $XDG_CONFIG_HOME/hoshi, else ~/.config/hoshi. */
function keptKeysFile(): string {
  const dir = process.env.HOSHI_CONFIG_DIR ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'hoshi');
  return join(dir, 'setup-keys.json');
}

/**
 * The setup key of the device at `url`: from `--label FILE`, HOSHI_SETUP_KEY, the keys kept for the
 * unit's serial (GET /api/info: every unit in setup mode answers at the same address), or a
 * prompt. `keep()` keeps a key given anew for that serial (owner-only file): the commands call it
 * once a login has proved the key right, so a mistyped key is never kept.
 */
async function setupKeyFor(url: string, args: string[]): Promise<{ key: Uint8Array; keep(): void; identity: DeviceIdentity }> {
  const file = keptKeysFile();
  let kept: { [serial: string]: string } = {};
  if (existsSync(file)) {
    try {
      kept = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new Error(file + ' is not JSON: move it away');
    }
  }
  let identity: DeviceIdentity;
  try {
    identity = await deviceInfo(url);
  } catch (error) {
    clientFailed(error);
  }
  const serial = identity.serial ?? new URL(url).origin;
  const label = option(args, '--label');
  let text: string | undefined;
  if (label !== undefined) {
    const v: unknown = JSON.parse(readFileSync(label, 'utf8')).setupKey;
    if (typeof v !== 'string') throw new Error(label + ' holds no setupKey (a label record of provisioning version 3)');
    text = v;
  }
  text ??= process.env.HOSHI_SETUP_KEY ?? kept[serial] ?? (await secret('HOSHI_SETUP_KEY', 'setup key (on the unit\'s label): '));
  const key = parseSetupKey(text);
  if (!key) throw new Error('the setup key must be 26 base32 characters (as on the label)');
  return {
    key,
    identity,
    keep() {
      if (kept[serial] === base32Encode(key)) return;
      kept[serial] = base32Encode(key);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify(kept, null, 2) + '\n', { mode: 0o600 });
      chmodSync(file, 0o600);
    },
  };
}

/** The device URL argument of login and password. */
function deviceUrl(args: string[], command: string): string {
  const url = args[0];
  if (!url || !/^https?:\/\/[^\s]+$/.test(url)) usage(command + ': which device? (e.g. http://192.168.4.1)');
  return url;
}

/** Ends the process for a client error: 3 locked, 4 login failed, 1 anything else. */
function clientFailed(error: unknown): never {
  if (!(error instanceof ClientError)) throw error;
  if (error.code === 'locked') {
    console.error('hoshi: locked: too many failed logins; retry after ' + (error.retryAfter ?? '?') + ' s');
    process.exit(3);
  }
  if (error.code === 'login-failed') {
    console.error('hoshi: login failed');
    process.exit(4);
  }
  console.error('hoshi: ' + error.message);
  process.exit(1);
}

/**
 * `hoshi login URL`: logs in and asks the session's state through the admin channel (a session's
 * keys stay in the process that logged in: the other commands log in themselves).
 */
async function loginCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'login');
  const setup = await setupKeyFor(url, args);
  await asAdmin(url, setup, await secret('HOSHI_PASSWORD', 'password: '), async (session) => {
    const state = await session.state();
    await session.logout();
    console.log('logged in: access ' + state.access + ', session idle limit ' + state.expiresIn + ' s, admin channel version 1');
    console.error('mustChange: ' + state.mustChange + (state.mustChange ? ' (the default password is in force: change it first, hoshi password ' + url + ')' : ''));
  });
}

/** Logs in, keeps a setup key that has proved right, and runs `work` in the session; a client error ends the process (clientFailed). */
async function asAdmin(url: string, setup: { key: Uint8Array; keep(): void }, password: string, work: (session: Session) => Promise<void>): Promise<void> {
  try {
    const session = await login(url, password, setup.key);
    setup.keep();
    await work(session);
  } catch (error) {
    clientFailed(error);
  }
}

/** `hoshi wifi URL [--ssid SSID]`: the Wi-Fi state, or new credentials (through the admin channel). */
async function wifiCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'wifi');
  const ssid = option(args, '--ssid');
  const setup = await setupKeyFor(url, args);
  const password = await secret('HOSHI_PASSWORD', 'password: ');
  const passphrase = ssid === undefined ? undefined : process.env.HOSHI_WIFI_PASSPHRASE ?? (await secret('HOSHI_WIFI_PASSPHRASE', 'passphrase of ' + ssid + ': '));
  await asAdmin(url, setup, password, async (session) => {
    const state = ssid === undefined ? await wifiState(session) : await setWifi(session, ssid, passphrase!);
    console.log(JSON.stringify(state));
    if (ssid === undefined) await session.logout();
  });
}

/** `hoshi update URL PACKAGE`: uploads a signed package, installs it and follows the device until it runs it. */
async function updateCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'update');
  const file = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'))[1];
  if (!file) usage('update: which package? hoshi update <device-url> <package>');
  const pkg = new Uint8Array(readFileSync(file!));
  const { parsePackageHead } = await import('../../modules/ota/manifest');
  const head = parsePackageHead(pkg.subarray(0, 1033));
  if (!head.ok) {
    console.error('hoshi: update: ' + file + ' is not a package this kit reads (' + head.code + '): ' + head.reason);
    process.exit(1);
  }
  const m = head.value.manifest;
  if (head.value.payloadOffset + head.value.payloadLength !== pkg.length) {
    console.error('hoshi: update: ' + file + ' is ' + pkg.length + ' bytes, its manifest says ' + (head.value.payloadOffset + head.value.payloadLength) + ' (package-truncated)');
    process.exit(1);
  }
  const setup = await setupKeyFor(url, args);
  const password = await secret('HOSHI_PASSWORD', 'password: ');
  const { updateDevice, progressBar } = await import('./update-client');
  await asAdmin(url, setup, password, async (session) => {
    console.error('updating ' + url + ' to ' + m.model + ' ' + (m.version || '(keys)') + ', security counter ' + m.counter + ' (' + pkg.length + ' bytes)');
    const done = await updateDevice(session, pkg, m.version, { onProgress: progressBar() });
    console.error('');
    console.log(JSON.stringify(done));
  });
}

/**
 * `hoshi pull URL`: the device's pull settings (modules/ota/pull.ts, `GET`/`PUT /api/update/settings`):
 * the release URL (the static files of `hoshi publish`: …/latest.cose) and whether the device
 * installs what it finds by itself; with --check, asks it to check at once (`POST
 * /api/update/check`). Prints the settings (and the check's answer) as JSON.
 */
async function pullCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'pull');
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    if (i + 1 >= args.length || args[i + 1]!.startsWith('--')) usage('pull: ' + name + ' needs a value');
    return args[i + 1];
  };
  const release = value('--url');
  const auto = value('--auto');
  if (auto !== undefined && auto !== 'on' && auto !== 'off') usage('pull: --auto on or --auto off');
  if (release !== undefined && args.includes('--no-url')) usage('pull: --url or --no-url, not both');
  if (release !== undefined && !/^http:\/\/[^/\s]+\/\S*$/.test(release)) usage('pull: --url must be an http:// URL (the device has no TLS client): http://host[:port]/path/latest.cose');
  const setup = await setupKeyFor(url, args);
  const password = await secret('HOSHI_PASSWORD', 'password: ');
  await asAdmin(url, setup, password, async (session) => {
    let settings = await session.call('GET', '/api/update/settings');
    if (settings.status !== 200) throw new Error('pull: the device answered ' + settings.status + ' ' + JSON.stringify(settings.body));
    if (release !== undefined || auto !== undefined || args.includes('--no-url')) {
      const body = { auto: auto === undefined ? settings.body.auto === true : auto === 'on', url: args.includes('--no-url') ? null : release ?? settings.body.url ?? null };
      settings = await session.call('PUT', '/api/update/settings', body);
      if (settings.status !== 200) throw new Error('pull: the device refused the settings: ' + settings.status + ' ' + JSON.stringify(settings.body));
    }
    console.log(JSON.stringify(settings.body));
    if (args.includes('--check')) {
      const check = await session.call('POST', '/api/update/check');
      console.log(JSON.stringify({ status: check.status, ...check.body }));
    }
    await session.logout();
  });
}

/**
 * `hoshi log URL [--json]`: the unit's security log (modules/audit), every entry fetched page by page
 * through the admin channel (`GET /api/log`) and its chain verified here (firmware/host/audit-log.ts):
 * the entries and the verdict, or with --json the report. The last verified entry (sequence number
 * and MAC) is kept per unit serial beside the setup keys (owner-only), and the next run checks that
 * the chain still continues from it, or says which entries the ring (or a wipe) has dropped since.
 * Exits 5 when the chain is broken (the kept entry is then not replaced).
 */
async function logCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'log');
  const json = args.includes('--json');
  const setup = await setupKeyFor(url, args);
  const serial = setup.identity.serial ?? new URL(url).origin;
  const password = await secret('HOSHI_PASSWORD', 'password: ');
  const { checkPin, fetchLog, formatEntry, verifyLog } = await import('./audit-log');
  const file = join(dirname(keptKeysFile()), 'audit-pins.json');
  let pins: { [serial: string]: { seq: number; mac: string } } = {};
  if (existsSync(file)) {
    try {
      pins = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new Error(file + ' is not JSON: move it away');
    }
  }
  let broken = false;
  await asAdmin(url, setup, password, async (session) => {
    const fetched = await fetchLog((path, body) => session.call('GET', path, body));
    await session.logout();
    const report = verifyLog(fetched);
    const pin = pins[serial];
    const continuity = pin && typeof pin.seq === 'number' && typeof pin.mac === 'string' ? checkPin(report, pin) : undefined;
    if (continuity?.break) {
      report.breaks.push(continuity.break);
      report.ok = false;
    }
    if (continuity?.note) report.notes.push(continuity.note);
    broken = !report.ok;
    if (json) console.log(JSON.stringify({ serial, ...report }, null, 2));
    else {
      for (const e of report.entries) console.log(formatEntry(e));
      for (const n of report.notes) console.log('note: ' + n);
      for (const b of report.breaks) console.log('BREAK (' + b.kind + '): ' + b.message);
      console.log(
        report.ok
          ? 'chain verified: ' + (report.entries.length ? report.entries.length + ' entries, ' + report.first + ' to ' + report.last : 'no entries') + ' (unit ' + serial + ')'
          : 'the chain is BROKEN: ' + report.breaks.length + ' break' + (report.breaks.length > 1 ? 's' : '') + ' (unit ' + serial + ')',
      );
    }
    if (report.ok && report.last !== null && report.lastMac !== null) {
      pins[serial] = { seq: report.last, mac: report.lastMac };
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify(pins, null, 2) + '\n', { mode: 0o600 });
      chmodSync(file, 0o600);
    }
  });
  if (broken) process.exit(5);
}

/** `hoshi password URL`: checks the new password against the policy here, then logs in and sets it. */
async function passwordCommand(args: string[]): Promise<void> {
  const url = deviceUrl(args, 'password');
  const iterations = iterationsOption(args, 'password');
  const setup = await setupKeyFor(url, args);
  const current = await secret('HOSHI_PASSWORD', 'current password: ');
  let next = process.env.HOSHI_NEW_PASSWORD;
  if (next === undefined) {
    next = await secret('HOSHI_NEW_PASSWORD', 'new password: ');
    if ((await secret('HOSHI_NEW_PASSWORD', 'new password again: ')) !== next) throw new Error('password: the two entries differ');
  }
  let refused: { rule: string; reason: string } | undefined;
  try {
    const identity = setup.identity;
    const policy = await passwordPolicy(url);
    const { isCommonPassword } = await import('./assets');
    refused = next === current ? { rule: 'same', reason: 'the new password is the current one' } : checkNewPassword(next, identity, policy.minLength, isCommonPassword);
  } catch (error) {
    clientFailed(error);
  }
  if (refused) {
    console.error('hoshi: password refused (' + refused.rule + '): ' + refused.reason);
    process.exit(1);
  }
  await asAdmin(url, setup, current, async (session) => {
    await changePassword(session, setup.key, next!, { iterations: iterations ?? session.iterations });
    console.error('password changed; every session of the device has ended: log in again');
  });
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'build') await build(rest);
  else if (command === 'start') await start(rest);
  else if (command === 'provision') await provision(rest);
  else if (command === 'flash') await flash(rest);
  else if (command === 'login') await loginCommand(rest);
  else if (command === 'password') await passwordCommand(rest);
  else if (command === 'wifi') await wifiCommand(rest);
  else if (command !== undefined && Object.prototype.hasOwnProperty.call(updateCommands, command)) process.exit(await updateCommands[command]!(rest));
  else if (command === 'update') await updateCommand(rest);
  else if (command === 'pull') await pullCommand(rest);
  else if (command === 'log') await logCommand(rest);
  else if (command === 'conform') process.exit(await (await import('./conform')).conformCommand(rest));
  else if (command === 'evidence') process.exit(await (await import('./evidence')).evidenceCommand(rest));
  else usage(command ? 'unknown command ' + command : 'which command?');
} catch (error) {
  console.error('hoshi: ' + (error as Error).message);
  process.exit(1);
}

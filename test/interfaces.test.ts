import test from 'ava';
import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { startSimulator } from '../firmware/host/simulator';
import { defineImage, type Image } from '../firmware/device/image';
import type { HoshiModule, ImageConfig, InterfacesConfig, ModuleContext } from '../firmware/device/core/module';
import type { ConsoleMode, ConsoleReport } from '../hal/console';
import { interfaces } from '../modules/interfaces';
import smartPlug from '../examples/smart-plug/image';

/**
 * S1.1-13: the declaration of every interface an image opens (core/module.ts `InterfacesConfig`,
 * checked by firmware/device/image.ts), each board's policy (hal/console.ts `restrict`, run against
 * its runtime's fake), and modules/interfaces, which publishes what is open. The port scan that
 * checks a running unit against the declaration: test/interfaces-scan.test.ts.
 */

/** The smart plug's image with its interface declaration changed. */
function declaring(change: (d: { [field: string]: unknown }) => void): Image {
  const config = JSON.parse(JSON.stringify(smartPlug.config)) as ImageConfig;
  change(config.interfaces as unknown as { [field: string]: unknown });
  return { config, modules: smartPlug.modules };
}

test('a full declaration passes; what is absent is closed', (t) => {
  t.notThrows(() =>
    defineImage(
      declaring((d) => {
        d.tcp = [{ port: 5683, purpose: 'CoAP: the readings' }];
        d.udp = [{ port: 5683, purpose: 'CoAP over UDP' }];
        d.bluetooth = 'provisioning from the phone app';
        d.usb = 'the console, development units only';
        d.setupAp = true;
        d.outgoing = ['DHCP and DNS: the Wi-Fi station', 'update pulls: HTTP to the release URL'];
      }),
    ),
  );
  t.notThrows(() => defineImage(declaring(() => undefined)), 'http and console alone');
});

test('a malformed declaration is refused at the image check, naming the field', (t) => {
  const cases: [(d: { [field: string]: unknown }) => void, RegExp][] = [
    [(d) => (d.setupAP = true), /^config\.interfaces\.setupAP: not an interface \(http, console, tcp, udp, bluetooth, usb, setupAp, outgoing\)$/],
    [(d) => (d.telnet = 'off'), /^config\.interfaces\.telnet: not an interface/],
    [(d) => (d.tcp = { port: 8080, purpose: 'x' }), /^config\.interfaces\.tcp: a list of \{port, purpose\}$/],
    [(d) => (d.tcp = [8080]), /^config\.interfaces\.tcp\[0\]: \{port, purpose\}$/],
    [(d) => (d.tcp = [{ port: 0, purpose: 'x' }]), /^config\.interfaces\.tcp\[0\]\.port: 1-65535$/],
    [(d) => (d.tcp = [{ port: 65536, purpose: 'x' }]), /^config\.interfaces\.tcp\[0\]\.port: 1-65535$/],
    [(d) => (d.tcp = [{ port: 80.5, purpose: 'x' }]), /^config\.interfaces\.tcp\[0\]\.port: 1-65535$/],
    [(d) => (d.tcp = [{ port: '8080', purpose: 'x' }]), /^config\.interfaces\.tcp\[0\]\.port: 1-65535$/],
    [(d) => (d.tcp = [{ port: 8080 }]), /^config\.interfaces\.tcp\[0\]\.purpose: what serves the port \(required\)$/],
    [(d) => (d.tcp = [{ port: 8080, purpose: '  ' }]), /^config\.interfaces\.tcp\[0\]\.purpose: what serves the port \(required\)$/],
    [(d) => (d.tcp = [{ port: 8080, purpose: 'x', open: true }]), /^config\.interfaces\.tcp\[0\]\.open: unknown field \(port, purpose\)$/],
    [(d) => (d.tcp = [{ port: 80, purpose: 'x' }]), /^config\.interfaces\.tcp\[0\]\.port: TCP 80 is declared twice \(it is the HTTP port\)$/],
    [(d) => (d.tcp = [{ port: 81, purpose: 'x' }, { port: 81, purpose: 'y' }]), /^config\.interfaces\.tcp\[1\]\.port: TCP 81 is declared twice$/],
    [(d) => (d.udp = [{ port: 53, purpose: 'x' }, { port: 53, purpose: 'y' }]), /^config\.interfaces\.udp\[1\]\.port: UDP 53 is declared twice$/],
    [(d) => (d.udp = [{ port: -1, purpose: 'x' }]), /^config\.interfaces\.udp\[0\]\.port: 1-65535$/],
    [(d) => (d.bluetooth = ''), /^config\.interfaces\.bluetooth: what it is on for \(a string\), or absent for off$/],
    [(d) => (d.bluetooth = true), /^config\.interfaces\.bluetooth: what it is on for/],
    [(d) => (d.usb = false), /^config\.interfaces\.usb: what it is on for/],
    [(d) => (d.setupAp = 'yes'), /^config\.interfaces\.setupAp: true or false$/],
    [(d) => (d.outgoing = 'update pulls'), /^config\.interfaces\.outgoing: a list of purposes$/],
    [(d) => (d.outgoing = ['ok', '']), /^config\.interfaces\.outgoing\[1\]: what the connection is for \(a string\)$/],
  ];
  for (const [change, message] of cases) t.throws(() => defineImage(declaring(change)), { message }, String(message));
});

/** A module context with only what modules/interfaces reads, and the events it records. */
function contextFor(d: InterfacesConfig, report: ConsoleReport, withAp = true): { context: ModuleContext; events: string[][]; modes: ConsoleMode[] } {
  const events: string[][] = [];
  const modes: ConsoleMode[] = [];
  const context = {
    config: { interfaces: d } as ImageConfig,
    board: {
      console: {
        restrict: (mode: ConsoleMode) => {
          modes.push(mode);
          return report;
        },
      },
      net: { wifi: withAp ? { openAp: () => undefined } : {} },
    },
    status: {},
    event: (kind: string, detail?: string) => events.push([kind, detail ?? '']),
  } as unknown as ModuleContext;
  return { context, events, modes };
}

const HTTP = { port: 80, maxBodyBytes: 1024, maxHeaderBytes: 2048 };
/** What the boards report (boards/*\/board.ts `restrictConsole`), as of the reports' shape. */
const PICO_OFF: ConsoleReport = {
  state: 'open',
  notClosed: ['usb: the USB REPL is always on; BOOTSEL rewrites the flash'],
  interfaces: 'usb=open,bluetooth=off',
};
const ESP32_OFF: ConsoleReport = {
  state: 'off',
  notClosed: ['usb: download mode', 'mdns: UDP 5353', 'bluetooth: on in NVS'],
  interfaces: 'console=off,usb=open,bluetooth=open,mdns=open',
};

test('modules/interfaces: the summary lists the declared interfaces, then what the board could not close; two events: what is open as declared, what is not closed', (t) => {
  const { context, events, modes } = contextFor({ http: HTTP, console: 'off', setupAp: true, tcp: [{ port: 5683, purpose: 'CoAP' }], udp: [{ port: 5683, purpose: 'CoAP over UDP' }], outgoing: ['update pulls'] }, PICO_OFF);
  interfaces().start(context);
  t.deepEqual(modes, ['off'], 'the console mode applied through the board');
  t.is(context.status.interfaces, 'tcp/80 tcp/5683 udp/5683 setup-ap; not closed: usb');
  t.deepEqual(events, [
    ['interfaces', 'tcp/80 tcp/5683 udp/5683 setup-ap'],
    ['not-closed', 'usb'],
  ]);
});

test('modules/interfaces: a declared purpose makes a board interface declared; an undeclared one stays "not closed"; no access point on a board without one', (t) => {
  const esp = contextFor({ http: HTTP, console: 'off', setupAp: true, bluetooth: 'provisioning from the phone app' }, ESP32_OFF);
  interfaces().start(esp.context);
  t.is(esp.context.status.interfaces, 'tcp/80 setup-ap bluetooth; not closed: usb mdns');
  t.deepEqual(esp.events, [
    ['interfaces', 'tcp/80 setup-ap bluetooth'],
    ['not-closed', 'usb mdns'],
  ]);
  const pico = contextFor({ http: HTTP, console: 'off', setupAp: true, usb: 'the host link' }, PICO_OFF, false);
  interfaces().start(pico.context);
  t.is(pico.context.status.interfaces, 'tcp/80 usb');
  const host = contextFor({ http: HTTP, console: 'off' }, { state: 'off', notClosed: [], interfaces: '' });
  interfaces().start(host.context);
  t.is(host.context.status.interfaces, 'tcp/80');
  t.deepEqual(host.events, [['interfaces', 'tcp/80']]);
});

test('modules/interfaces: a console left open or locked is declared (development); a board interface open and not declared is not closed', (t) => {
  const open = contextFor({ http: HTTP, console: 'open' }, { state: 'open', notClosed: ['usb: download mode'], interfaces: 'console=open,usb=open,bluetooth=off' });
  interfaces().start(open.context);
  t.is(open.context.status.interfaces, 'tcp/80 console; not closed: usb');
  const locked = contextFor({ http: HTTP, console: 'locked' }, { state: 'locked', notClosed: [], interfaces: 'console=locked,mdns=open' });
  interfaces().start(locked.context);
  t.is(locked.context.status.interfaces, 'tcp/80 console (locked); not closed: mdns');
  t.deepEqual(locked.events, [
    ['interfaces', 'tcp/80 console (locked)'],
    ['not-closed', 'mdns'],
  ]);
});

/** Bundles `body` (TypeScript, after `import { createBoard } from board`) for `target` and runs `probes` in its runtime's fake. */
async function onBoard(target: DeviceTarget, board: string, probes: string[], prelude = ''): Promise<{ values: unknown[]; missing: string[] }> {
  const entry = `import { createBoard } from ${JSON.stringify(join(ROOT, 'boards', board, 'board'))};
const board = createBoard();
(globalThis as unknown as { __restrict: (mode: string) => string }).__restrict = (mode: string): string => JSON.stringify(board.console.restrict(mode as never));`;
  const { code, map } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/test', target, 'interfaces-' + board + '.js'));
  const profile = checkProfile(code, target, map);
  if (profile.violations.length) throw new Error(formatViolations(profile));
  const report = await runInEngine(code, target, { library: true, network: 'down', prelude, probes });
  if (!report.booted) throw new Error(report.error);
  return { values: report.values.map((v) => (typeof v === 'string' && /^[[{"]/.test(v) ? JSON.parse(v) : v)), missing: report.missing };
}

test('ESP32 board (Espruino fake): "off" turns Telnet off and detaches the serial console for good; USB, mDNS and Bluetooth (on in NVS) are reported not closed, with why', async (t) => {
  const off = await onBoard('espruino', 'espruino-esp32', ['__restrict("off")', '__engine.telnet', 'JSON.stringify([__engine.console, __engine.consoleForced])']);
  t.deepEqual(off.missing, [], 'the board used no runtime member the fake lacks');
  const report = off.values[0] as ConsoleReport;
  t.is(report.state, 'off');
  t.is(report.interfaces, 'console=off,usb=open,bluetooth=open,mdns=open');
  t.deepEqual(
    report.notClosed.map((l) => l.split(':')[0]),
    ['usb', 'mdns', 'bluetooth'],
  );
  t.regex(report.notClosed[2]!, /enableBLE\(false\).*erases \.bootcde/);
  t.is(off.values[1], 'off');
  t.deepEqual(off.values[2], [null, true]);

  const noBle = await onBoard('espruino', 'espruino-esp32', ['__restrict("locked")', '__engine.telnet'], '__engine.nvs.BLE = false;');
  const locked = noBle.values[0] as ConsoleReport;
  t.is(locked.state, 'off', 'locked closes the console: Espruino\'s password is plain text with no attempt limit');
  t.is(locked.interfaces, 'console=off,usb=open,bluetooth=off,mdns=open');
  t.deepEqual(locked.notClosed.map((l) => l.split(':')[0]), ['usb', 'mdns']);

  const open = await onBoard('espruino', 'espruino-esp32', ['__restrict("open")', '__engine.telnet', 'String(__engine.console)']);
  t.is((open.values[0] as ConsoleReport).interfaces, 'console=open,usb=open,bluetooth=open,mdns=open');
  t.deepEqual(open.values.slice(1), ['on', 'undefined'], 'left as the runtime starts it');
});

test('Kaluma boards (Kaluma fake): the USB REPL cannot be closed and is reported with what a product must do; Bluetooth is closed by absence', async (t) => {
  for (const board of ['kaluma-pico-w', 'kaluma-pico']) {
    const r = await onBoard('kaluma', board, ['__restrict("off")', '__restrict("open")']);
    t.deepEqual(r.missing, [], board);
    const off = r.values[0] as ConsoleReport;
    t.is(off.state, 'open', board);
    t.is(off.interfaces, 'usb=open,bluetooth=off', board);
    t.is(off.notClosed.length, 1, 'one line per interface');
    t.regex(off.notClosed[0]!, /^usb: REPL always on in Kaluma 1\.2\.1, JS cannot close it \(a build without it can\); BOOTSEL reflashes/);
    const open = r.values[1] as ConsoleReport;
    t.deepEqual(open.notClosed.map((l) => l.slice(0, 12)), ['usb: BOOTSEL'], 'asked open, the REPL is as asked; BOOTSEL is not the console');
  }
});

/** The smart plug, which has modules/interfaces. */
function plugWithInterfaces(): Image {
  return smartPlug;
}

test('the smart plug with modules/interfaces on the host simulator: GET /api/info shows what is open; the events reach the security log', async (t) => {
  const events: string[][] = [];
  const log: HoshiModule = { name: 'log (test)', start: (context) => context.securityLog({ event: (kind, detail) => events.push([kind, detail ?? '']), forget: () => undefined }) };
  // This log in place of the image's own (modules/audit), if it has one: a second log is refused.
  const image = plugWithInterfaces();
  const sim = await startSimulator({ image: { config: image.config, modules: [log, ...image.modules.filter((m) => m.name !== 'audit')] }, quiet: true, iterations: 4096 });
  t.teardown(() => sim.stop());
  const status = async (): Promise<string> => ((await (await fetch(sim.url + '/api/info')).json()) as { status: { interfaces: string } }).status.interfaces;
  // The image says port 80; the simulator picks a free port before the first boot and boots the
  // image with it in its configuration (the port it declares is the port it serves), and later
  // boots keep it, as a unit keeps its.
  const port = sim.device.port();
  t.not(port, 0);
  t.is(await status(), 'tcp/' + port + ' setup-ap');
  await sim.reboot();
  t.is(sim.device.port(), port);
  t.is(await status(), 'tcp/' + port + ' setup-ap');
  t.deepEqual(
    events.filter((e) => e[0].startsWith('interface')),
    [
      ['interfaces', 'tcp/' + port + ' setup-ap'],
      ['interfaces', 'tcp/' + port + ' setup-ap'],
    ],
  );
});

for (const [target, board] of [
  ['kaluma', 'kaluma-pico-w'],
  ['espruino', 'espruino-esp32'],
] as [DeviceTarget, string][]) {
  test(`${target}: the smart plug with modules/interfaces passes the profile check and boots in the engine check; /api/info shows the board's residual interfaces`, async (t) => {
    const entry = `import { createBoard } from ${JSON.stringify(join(ROOT, 'boards', board, 'board'))};
import image from ${JSON.stringify(join(ROOT, 'examples/smart-plug/image'))};
import { boot } from ${JSON.stringify(join(ROOT, 'firmware/device/boot'))};
boot(createBoard(), image);`;
    const { code, map } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/test', target, 'interfaces-plug.js'), true);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    // What the module costs is measured on the real engines (docs/interfaces.md); here, that it
    // runs as the runtime has it, with room to spare whatever the example holds meanwhile.
    const report = await runInEngine(code, target, { budgetBytes: 64 * 1024 * 1024, requests: [{ method: 'GET', url: '/api/info' }] });
    t.true(report.booted, report.error);
    t.deepEqual(report.missing, []);
    const status = (JSON.parse(report.replies[0]!.text) as { status: { interfaces: string } }).status;
    t.is(status.interfaces, target === 'kaluma' ? 'tcp/80 setup-ap; not closed: usb' : 'tcp/80 setup-ap; not closed: usb bluetooth mdns');
  });
}

import test from 'ava';
import { runInEngine } from '../firmware/host/engine';
import { probeFake } from './helpers';

/**
 * The runtime fakes refuse what the runtimes refuse (each behaviour cites its upstream file in
 * firmware/host/engine/kaluma.js and espruino.js: kaluma-project/kaluma at 1.2.1, espruino/Espruino
 * at RELEASE_2V29). Each probe returns what the call did: its result, or the error it threw.
 */

const kaluma = (probes: string[], prelude = ''): Promise<unknown[]> => probeFake('kaluma', probes, prelude);
const espruino = (probes: string[], prelude = ''): Promise<unknown[]> => probeFake('espruino', probes, prelude);

test('Kaluma TextEncoder/TextDecoder (src/global.c): labels, ascii, argument types', async (t) => {
  t.deepEqual(
    await kaluma([
      'Array.prototype.slice.call(new TextEncoder().encode("é"))',
      'Array.prototype.slice.call(new TextEncoder("ascii").encode("aé€"))',
      'new TextEncoder("latin1").encoding',
      'new TextEncoder("latin1").encode("a")',
      'new TextEncoder("UTF-8").encode("a")',
      'new TextEncoder(8)',
      'new TextEncoder().encode(42)',
      'new TextEncoder().encode()',
      'new TextDecoder().decode(new Uint8Array([0x68, 0xc3, 0xa9]))',
      'new TextDecoder("ascii").decode(new Uint8Array([0x68, 0xe9]))',
      'new TextDecoder().decode([104])',
      'new TextDecoder().decode(new Uint16Array([104]))',
      'new TextDecoder().decode()',
      'new TextDecoder("utf-16").decode(new Uint8Array([104]))',
    ]),
    [
      '[195,169]',
      '[97,233,0]',
      '"latin1"',
      'Error: Unsupported encoding.',
      'Error: Unsupported encoding.',
      'TypeError: "label" argument must be a string',
      'TypeError: "input" argument must be a string',
      'TypeError: "input" argument must be a string',
      '"hé"',
      '"hé"',
      'Error: input must be Uint8Array.',
      'Error: input must be Uint8Array.',
      'TypeError: "input" argument required',
      'Error: Unsupported encoding.',
    ],
  );
});

test("Kaluma Flash and WDT (module_flash.c, module_wdt.c): missing or mistyped arguments throw; a misaligned write does nothing", async (t) => {
  const f = 'new (require("flash").Flash)(134, 2)';
  t.deepEqual(
    await kaluma([
      `${f}.read(undefined, new Uint8Array(4))`,
      `${f}.read(0, [0, 0])`,
      `${f}.write(0)`,
      `${f}.write("0", new Uint8Array(256))`,
      `${f}.read(0, new Uint8Array(4), "0")`,
      `${f}.ioctl()`,
      `(function () { var x = ${f}; x.write(0, new Uint8Array(100)); var b = new Uint8Array(4); x.read(0, b); return Array.prototype.slice.call(b); })()`,
      'new (require("wdt").WDT)()',
      'new (require("wdt").WDT)("1000")',
      'new (require("wdt").WDT)(1000).timeout',
    ]),
    [
      'TypeError: "block" argument must be a number',
      'TypeError: "buffer" argument must be an TypedArray',
      'TypeError: "buffer" argument must be an TypedArray',
      'TypeError: "block" argument must be a number',
      'TypeError: "offset" argument must be a number',
      'TypeError: "op" argument must be a number',
      '[255,255,255,255]',
      'TypeError: "timeout" argument must be a number',
      'TypeError: "timeout" argument must be a number',
      '1000',
    ],
  );
});

test('Kaluma\'s CYW43 Wi-Fi device (module_pico_cyw43.c): events before the callback; a failed join shows only in errno; a lost link says nothing', async (t) => {
  const prelude = '__engine.wifi.networks.Home = "correct horse"; var seen = []; var w = __ieee80211dev; w.assoc_cb = function () { seen.push("associated"); }; w.connect_cb = function () { seen.push("connected"); }; w.disconnect_cb = function () { seen.push("disconnected"); };';
  t.deepEqual(
    await kaluma(
      [
        '(function () { w.connect({ ssid: "Home", password: "correct horse", security: "WPA2_PSK" }, function (e) { seen.push("callback " + e); }); return seen.splice(0).concat([w.errno]); })()',
        '(function () { var c; w.get_connection(function (e, info) { c = info; }); return [c, w.errno]; })()',
        '(function () { __engine.wifi.drop(); var c = "?"; w.get_connection(function (e, info) { c = info === undefined ? "none" : info; }); return [c, w.errno].concat(seen.splice(0)); })()',
        '(function () { w.connect({ ssid: "Home", password: "wrong", security: "WPA2_PSK" }, function (e) { seen.push("callback " + e); }); return seen.splice(0).concat([w.errno]); })()',
        '(function () { w.disconnect(); return seen.splice(0); })()',
        'w.connect({ ssid: 42 })',
        'w.connect()',
      ],
      prelude,
    ),
    [
      '["associated","connected","callback 0",0]',
      '[{"ssid":"Home","bssid":""},0]',
      '["none",-1]',
      // The callback's errno reaches JS as 0 on the RP2040: only the errno property tells.
      '["callback 0",-1]',
      '["disconnected"]',
      'TypeError: SSID error',
      'TypeError: "connectInfo" argument required',
    ],
  );
});

test("Kaluma's CYW43 network device (module_pico_cyw43.c): no socket while Wi-Fi is down; every connection's bytes reach the listening socket's read_cb; a peer's close calls the connection's own close_cb", async (t) => {
  const prelude = [
    'var log = []; var d = __netdev;',
    'function serve() { var fd = d.socket("AF_INET", "STREAM"); var s = d.get(fd); s.read_cb = function (data) { log.push("read " + String.fromCharCode.apply(null, data)); };',
    '  s.accept_cb = function (c) { var o = d.get(c); log.push("accept " + c + " " + o.raddr + ":" + o.rport); o.close_cb = function () { log.push("close " + c); }; };',
    '  d.bind(fd, d.ip, 80); d.listen(fd); return fd; }',
  ].join('\n');
  const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
  t.deepEqual(
    await kaluma(
      [
        'serve()',
        'd.socket("AF_INET", "RAW")',
        '(function () { __engine.wifi.up("Home"); return [serve(), d.errno, d.ip]; })()',
        `(function () { var a = __engine.connect(), b; a.send("${hex('from a')}"); __engine.advance(10); b = __engine.connect(); b.send("${hex('from b')}"); __engine.advance(10); return log.splice(0); })()`,
        `(function () { d.write(1, "hi"); d.write(1, new Uint8Array([1])); })()`,
        `(function () { d.write(1, "h\u00e9\u20ac"); d.write(9, "x"); return [d.errno, String.fromCharCode.apply(null, __engine.clients[0].inbox)]; })()`,
        '(function () { __engine.clients[1].close(); __engine.advance(10); return log.splice(0).concat([d.get(2) === undefined]); })()',
        '(function () { d.close(1); return log.splice(0).concat([__engine.clients[0].closed]); })()',
        '(function () { __engine.wifi.drop(); var c = __engine.connect(); return [c.refused, __engine.server !== null]; })()',
      ],
      prelude,
    ),
    [
      'Error: WiFi is not connected.',
      'TypeError: un-supported domain or protocol.',
      '[0,0,"192.168.1.50"]',
      // Both connections' bytes arrive at the listening socket, none says whose they are.
      '["accept 1 0.0.0.0:0","read from a","accept 2 0.0.0.0:0","read from b"]',
      'TypeError: "data" argument must be a string',
      // One byte per character: é is 0xe9, € (above U+00FF) becomes 0 (jerryxx.c:208-238).
      '[-1,"hih\u00e9\\u0000"]',
      '["close 2",true]',
      '["close 1",true]',
      '[true,true]',
    ],
  );
});

test("Kaluma's CYW43 access point (module_pico_cyw43.c ap_mode, disable_ap_mode): a short password is refused; sockets work at the gateway; disabling it closes every socket and the station's link", async (t) => {
  const prelude = [
    'var log = []; var w = __ieee80211dev; var d = __netdev;',
    'function serve() { var fd = d.socket("AF_INET", "STREAM"); var s = d.get(fd); s.read_cb = function () { log.push("read"); };',
    '  s.accept_cb = function (c) { log.push("accept " + c); d.get(c).close_cb = function () { log.push("close " + c); }; };',
    '  s.close_cb = function () { log.push("server closed"); }; d.bind(fd, d.ip, 80); d.listen(fd); return [fd, s.laddr, d.ip]; }',
  ].join('\n');
  t.deepEqual(
    await kaluma(
      [
        'w.ap_mode()',
        'w.ap_mode({ ssid: 42, password: "12345678" })',
        'w.ap_mode({ ssid: "Setup", password: "1234567" })',
        'w.ap_mode({ ssid: "Setup" })',
        'w.ap_mode({ ssid: "Setup", password: "12345678", gateway: "192.168.4.300" })',
        'w.ap_mode({ ssid: "Setup", password: "12345678" }, 42)',
        'w.disable_ap_mode()',
        'serve()',
        // Opened: errno 0, the callback's errno 0, the gateway and mask set on the device.
        '(function () { var got; w.ap_mode({ ssid: "Setup-0123456789012345678901234567", password: "abcdefgh12345678" }, function (e) { got = e; }); return [w.errno, got, w.gateway, w.subnetMask, __engine.wifi.ap.ssid]; })()',
        '[__engine.wifi.joinAp("abcdefgh12345678"), __engine.wifi.joinAp("abcdefgh")]',
        // socket() works in AP mode; the local address is the gateway.
        'serve()',
        '(function () { var c = __engine.connect(); __engine.advance(10); return log.splice(0).concat([c.closed]); })()',
        // disable_ap_mode: every slot freed without a callback, clients cut off, no server, no AP.
        '(function () { __engine.wifi.up("Home"); w.disable_ap_mode(); return log.splice(0).concat([__engine.clients[0].closed, d.get(0) === undefined, d.get(1) === undefined, __engine.server, __engine.wifi.ap, __engine.wifi.joined]); })()',
        'w.disable_ap_mode()',
        // A DHCP server that does not start: the chip is reset, errno tells.
        '(function () { __engine.wifi.up("Home"); serve(); __engine.wifi.apFails = -8; w.ap_mode({ ssid: "Setup", password: "12345678" }); return [w.errno, d.get(0) === undefined, __engine.wifi.ap, __engine.wifi.joined]; })()',
      ],
      prelude,
    ),
    [
      'TypeError: "apInfo" argument required',
      'TypeError: SSID error',
      'Error: PASSWORD need to have at least 8 characters',
      'Error: engine check: ap_mode without a password hands the driver NULL with WPA2-AES',
      "Error: Can't decode Gateway IP Address",
      'TypeError: "callback" argument must be a function',
      'Error: WiFi AP_mode is not enabled.',
      'Error: WiFi is not connected.',
      '[0,0,"192.168.4.1","255.255.255.0","Setup-01234567890123456789012345"]',
      '[true,false]',
      '[0,"192.168.4.1","192.168.4.1"]',
      '["accept 1",false]',
      '[true,true,true,null,null,null]',
      'Error: WiFi AP_mode is not enabled.',
      '[-8,true,null,null]',
    ],
  );
});

test("Espruino's Wifi access point (jswrap_esp32_network.c startAP, stopAP): refusals as the runtime's; it stays open while the station joins; stopAP never fails; getIP tells the station's address", async (t) => {
  const W = 'require("Wifi")';
  const prelude = `__engine.wifi.networks.Home = "correct horse"; var log = []; ${W}.on("connected", function (d) { log.push("connected " + d.ip); });`;
  t.deepEqual(
    await espruino(
      [
        `${W}.startAP(42, { password: "12345678" })`,
        `${W}.startAP("Setup", { password: "1234567" })`,
        `${W}.startAP("Setup", { password: 12345678 })`,
        `${W}.startAP("Setup", { password: "12345678", authMode: "wep" })`,
        `${W}.startAP("Setup", { password: "12345678", authMode: "open" })`,
        `${W}.startAP("Setup", { authMode: "wpa2" })`,
        `${W}.startAP("Setup", "12345678")`,
        `${W}.startAP("Setup", { password: "12345678" }, 42)`,
        `[${W}.getIP().ip, __engine.wifi.ap]`,
        `(function () { ${W}.startAP("Setup", { password: "abcdefgh12345678", authMode: "wpa2" }, function (e) { log.push("started " + e); }); var before = log.length; __engine.advance(10); return [before].concat(log.splice(0), [__engine.wifi.ap.authMode, __engine.wifi.joinAp("abcdefgh12345678"), __engine.wifi.joinAp("x")]); })()`,
        `(function () { ${W}.connect("Home", { password: "correct horse" }, function (e) { log.push("joined " + e + " " + ${W}.getIP().ip); }); __engine.advance(10); return log.splice(0).concat([__engine.wifi.ap !== null]); })()`,
        `(function () { ${W}.stopAP(function () { log.push("stopped"); }); __engine.advance(10); ${W}.stopAP(); return log.splice(0).concat([__engine.wifi.ap, __engine.wifi.joined]); })()`,
      ],
      prelude,
    ),
    [
      'Error: No SSID',
      'Error: Password must be string of at least 8 characters',
      'Error: Password must be string of at least 8 characters',
      'Error: Unknown authMode value',
      'Error: Auth mode set to open but password supplied',
      'Error: Password not set but authMode not open',
      'Error: Expecting Object, got string',
      'Error: Expecting callback function but got 42',
      '["0.0.0.0",null]',
      // The callback comes once the access point has started (a later pass), with null.
      '[0,"started null","wpa2",true,false]',
      '["joined null 192.168.1.60","connected 192.168.1.60",true]',
      '["stopped",null,"Home"]',
    ],
  );
});

test("Espruino Storage (jswrap_storage.c, jsflash.c): zero-length files refused, long names cut to 28 characters, objects written as JSON", async (t) => {
  const S = 'require("Storage")';
  t.deepEqual(
    await espruino([
      `${S}.write("empty", "")`,
      `${S}.read("empty")`,
      `(function () { ${S}.write("a-name-of-more-than-28-characters", "x"); return ${S}.read("a-name-of-more-than-28-charac"); })()`,
      `(function () { ${S}.write("obj", { a: 1 }); return ${S}.read("obj"); })()`,
      `(function () { ${S}.write("num", 42); return ${S}.read("num"); })()`,
      `${S}.write("nothing", null)`,
      `${S}.write("made", "", 0, 0)`,
    ]),
    [
      "Error: Can't create zero length file",
      undefined,
      '"x"',
      '"{\\"a\\":1}"',
      '"*"',
      'Error: Expecting a string, array or object to write',
      "Error: Can't create zero length file",
    ],
  );
});

test("Espruino Storage.write at offsets (jsfWriteFile): a file made at its full size, bytes programmed into erased space only; at offset 0 a file not wholly erased is made anew", async (t) => {
  const S = 'require("Storage")';
  t.deepEqual(
    await espruino([
      // Made at 8 bytes holding "ab"; the rest reads 0xFF.
      `(function () { ${S}.write("f", "ab", 0, 8); return ${S}.read("f"); })()`,
      `(function () { ${S}.write("f", "cd", 4); return ${S}.read("f"); })()`,
      `${S}.write("f", "x", 5)`,
      `${S}.write("f", "xyz", 6)`,
      `${S}.write("g", "x", 3)`,
      `${S}.write("f", "x", -1)`,
      // Offset 0 again: "f" is not wholly erased, so it is made anew (8 bytes, "Z" then 0xFF).
      `(function () { ${S}.write("f", "Z", 0, 8); return ${S}.read("f"); })()`,
      // A wholly erased file of the same size is written in place.
      `(function () { ${S}.write("e", "\\xff", 0, 8); ${S}.write("e", "p", 0, 8); ${S}.write("e", "q", 2); return ${S}.read("e"); })()`,
      `${S}.read("f", 1, 2)`,
      `${S}.read("f", 6, 10)`,
      `${S}.read("f", 9)`,
      `${S}.read("nope", 0, 1)`,
    ]),
    [
      '"abÿÿÿÿÿÿ"',
      '"abÿÿcdÿÿ"',
      'Error: File already written with different data',
      'Error: Too much data for file size',
      'Error: Unable to find or create file',
      'false',
      '"Zÿÿÿÿÿÿÿ"',
      '"pÿqÿÿÿÿÿ"',
      '"ÿÿ"',
      '"ÿÿ"',
      '""',
      undefined,
    ],
  );
});

test("Espruino Storage space (jsfCreateFile): a file made anew leaves the old one's bytes as trash until a compaction, which runs when a file would not fit otherwise; past that, no file", async (t) => {
  const S = 'require("Storage")';
  const [before, after, stats, full] = await espruino([
    `${S}.getFree()`,
    // 200 KB three times over: the third needs the trash of the first two compacted.
    `(function () { for (var i = 0; i < 5; i++) ${S}.write("big", "x" + i, 0, 200000); return ${S}.getFree(); })()`,
    '__engine.storageStats()',
    `${S}.write("huge", "x", 0, 900000)`,
  ]);
  t.is(before, String(0xe0000));
  t.is(after, String(0xe0000 - 32 - 200000));
  t.like(JSON.parse(stats as string), { files: 1 });
  t.true(JSON.parse(stats as string).compactions >= 1);
  t.is(full, 'Error: Unable to find or create file');
});

test("watchdogs: Kaluma's WDT (module_wdt.c) resets the chip unless fed within its timeout; Espruino's (E.enableWatchdog) too, and in automatic mode each pass of the idle loop kicks it", async (t) => {
  const run = async (target: 'kaluma' | 'espruino', setup: string, steps: string[]): Promise<unknown[]> => {
    const report = await runInEngine(target === 'kaluma' ? "'use strict';" : '', target, { library: true, network: 'down', prelude: setup, probes: steps.map((s) => `(function () { ${s}; return __engine.reset; })()`) });
    if (!report.booted) throw new Error(report.error);
    return report.values;
  };
  t.deepEqual(
    await run('kaluma', 'var w = new (require("wdt").WDT)(1000);', ['__engine.advance(900)', 'w.feed(); __engine.advance(900)', '__engine.advance(200)', '__engine.advance(10000)']),
    [null, null, 'watchdog', 'watchdog'],
  );
  t.deepEqual(await run('kaluma', 'new (require("wdt").WDT)(100000);', ['__engine.advance(8300)', '__engine.advance(200)']), [null, 'watchdog'], 'the RP2040 counts ≈ 8.3 s at most');
  t.deepEqual(
    await run('espruino', 'E.enableWatchdog(1.4, false);', ['__engine.advance(900)', 'E.kickWatchdog(); __engine.advance(900)', '__engine.advance(200)']),
    [null, null, 'watchdog'],
  );
  t.deepEqual(await run('espruino', 'E.enableWatchdog(1);', ['__engine.advance(900)', '__engine.advance(5000)']), [null, null], 'automatic: the event loop kicks it');
  t.deepEqual(await run('espruino', '', ['E.reboot()', '__engine.advance(10)']), ['reboot', 'reboot']);
});

test("Espruino net (jswrap_net.c, socketserver.c): data in byte strings of at most 536 bytes a pass; write() of a Uint8Array sends its text; no writing after end(); a peer's close gives 'end' then 'close'", async (t) => {
  const prelude = [
    'var log = []; var socks = [];',
    'var server = require("net").createServer(function (s) { s.on("data", function (d) { log.push("data " + typeof d + " " + d.length); }); s.on("end", function () { log.push("end"); }); s.on("close", function (e) { log.push("close " + e); }); socks.push(s); });',
    '__engine.wifi.up("Home");',
  ].join('\n');
  t.deepEqual(
    await espruino(
      [
        'require("net").createServer(42)',
        'server.listen(80) === server',
        `(function () { var c = __engine.connect(); c.floodWith("61", 1000); for (var i = 0; i < 4; i++) __engine.advance(10); return log.splice(0); })()`,
        '[typeof socks[0].destroy, typeof socks[0].remoteAddress]',
        '(function () { socks[0].write(new Uint8Array([65, 66])); __engine.advance(10); return String.fromCharCode.apply(null, __engine.clients[0].inbox); })()',
        '(function () { __engine.clients[0].close(); __engine.advance(10); return log.splice(0); })()',
        '(function () { __engine.connect(); __engine.advance(10); socks[1].end(); return socks[1].write("x"); })()',
      ],
      prelude,
    ),
    [
      undefined,
      'true',
      '["data string 536","data string 464"]',
      '["undefined","undefined"]',
      '"65,66"',
      '["end","close false"]',
      'Error: This socket is closed',
    ],
  );
});

test("Espruino's String.prototype.indexOf (jswrap_string.c) matches a needle that only begins at the end of the string", async (t) => {
  t.deepEqual(await espruino(["'abc'.indexOf('cd')", "'hello'.indexOf('lox')", "'GET POST'.indexOf('POSTX')", "'abc'.indexOf('bc')", "'abc'.indexOf('x')"]), ['2', '3', '4', '1', '-1']);
});

test("the fakes offer no http module (nor net and wifi on Kaluma, where Hoshi uses the CYW43 devices): an image that loads them fails the engine check", async (t) => {
  t.deepEqual(await kaluma(['require("http")', 'require("net")', 'require("wifi")']), ['Error: engine check: no fake for Kaluma module http', 'Error: engine check: no fake for Kaluma module net', 'Error: engine check: no fake for Kaluma module wifi']);
  t.deepEqual(await espruino(['require("http")']), ['Error: Module http not found']);
});


test("Kaluma's CYW43 network device, outgoing (module_pico_cyw43.c connect): a name resolved or refused at the call; cb(0) before the handshake; connect_cb, the socket's own read_cb and close_cb; a refusal or a reset never reported", async (t) => {
  const prelude = [
    'var log = []; var d = __netdev;',
    'function dial(addr, port) { var fd = d.socket("AF_INET", "STREAM"); var o = d.get(fd);',
    '  o.connect_cb = function () { log.push("connect " + fd); }; o.read_cb = function (b) { log.push("read " + fd + " " + String.fromCharCode.apply(null, b)); }; o.close_cb = function () { log.push("close " + fd); };',
    '  d.connect(fd, addr, port, function (e) { log.push("cb " + e); }); return [fd, d.errno, o.state, o.raddr, o.rport]; }',
    'function pass(n) { for (var i = 0; i < (n || 3); i++) __engine.advance(10); return log.splice(0); }',
    '__engine.wifi.up("Home"); var peer = __engine.listenAt("192.168.1.10", 8000); __engine.names["releases.example"] = "192.168.1.10"; __engine.names["silent.example"] = null;',
  ].join('\n');
  const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
  t.deepEqual(
    await kaluma(
      [
        'd.connect(0, "192.168.1.10")',
        'dial("nowhere.example", 80)',
        'dial("silent.example", 80)',
        '[d.errno, pass()]',
        '(function () { var r = dial("releases.example", 8000); return [r, log.splice(0), pass()]; })()',
        `(function () { var c = peer.connections[0]; d.write(2, "GET /"); c.send("${hex('answer')}"); c.end(); return [String.fromCharCode.apply(null, c.inbox), pass(4), d.get(2) === undefined]; })()`,
        '(function () { var r = dial("192.168.1.10", 9); return [r, pass(5), d.get(r[0]) !== undefined]; })()',
        '(function () { var r = dial("192.168.1.10", 8000); pass(); peer.connections[1].reset(); return [pass(5), d.get(r[0]) !== undefined, (d.close(r[0]), log.splice(0))]; })()',
      ],
      prelude,
    ),
    [
      'TypeError: "port" argument must be a number',
      'Error: DNS Error: IP is not found.',
      'Error: DNS response timeout.',
      // Both failed lookups left their slots (0 and 1) open until closed.
      '[-1,[]]',
      '[[2,0,2,"192.168.1.10",8000],["cb 0"],["connect 2"]]',
      '["GET /",["read 2 answer","close 2"],true]',
      // Nothing listens at port 9: no connect_cb, no close_cb, the slot kept.
      '[[2,0,2,"192.168.1.10",9],["cb 0"],true]',
      // Reset once connected: nothing more, the slot kept until closed.
      '[[],true,["close 3"]]',
    ],
  );
});

test("Espruino net, outgoing (jswrap_net.c connect, socketserver.c): offline it throws and strands the request; a name it cannot resolve throws; 'connect' before the handshake; a refusal closes without 'error'", async (t) => {
  const prelude = [
    'var log = []; var peer = __engine.listenAt("192.168.1.10", 8000); __engine.names["releases.example"] = "192.168.1.10";',
    'function dial(host, port) { var s = require("net").connect({ host: host, port: port }, function () { log.push("connect"); });',
    '  s.on("data", function (d) { log.push("data " + typeof d + " " + d.length); }); s.on("end", function () { log.push("end"); }); s.on("close", function (e) { log.push("close " + e); }); s.on("error", function (e) { log.push("error " + e.code); }); return s; }',
    'function pass(n) { for (var i = 0; i < (n || 3); i++) __engine.advance(10); return log.splice(0); }',
  ].join('\n');
  t.deepEqual(
    await espruino(
      [
        'dial("192.168.1.10", 8000)',
        '__engine.net.stranded',
        '(function () { __engine.wifi.up("Home"); return dial("nowhere.example", 80); })()',
        '(function () { var s = dial("releases.example", 8000); s.write("GET /"); var p = pass(2); var c = peer.connections[0]; c.floodWith("61", 600); c.end(); return [p, String.fromCharCode.apply(null, c.inbox), pass(5)]; })()',
        '(function () { dial("192.168.1.10", 9); return pass(4); })()',
        '(function () { var s = dial("192.168.1.10", 8000); pass(2); peer.connections[1].reset(); return pass(3); })()',
        '__engine.net.sockets',
      ],
      prelude,
    ),
    [
      'Error: InternalError: Not connected to the internet',
      '1',
      'Error: InternalError: Unable to locate host',
      '[["connect"],"GET /",["data string 536","data string 64","end","close false"]]',
      // Nothing listens at port 9: 'connect', then a close without 'error'.
      '["connect","end","close false"]',
      // A reset once connected: the same close.
      '["end","close false"]',
      // Telnet's listener only.
      '1',
    ],
  );
});

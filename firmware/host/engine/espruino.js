// Espruino 2v29 on ESP32 as the device bundle sees it, for the engine check. Each piece names the
// upstream file (espruino/Espruino at RELEASE_2V29) whose behaviour it reproduces.
(function (g) {
  var X = __engine;
  // The engine check computes native crypto on the host (engine.ts hostCrypto); on a real
  // Espruino (real-engines.ts) its own crypto module is used instead.
  var hostCrypto = typeof __host_crypto === 'function' ? __host_crypto : null;
  var realRequire = typeof g.require === 'function' ? g.require : null;
  g.setTimeout = function (cb, ms) { return X.addTimer(cb, ms || 0, false); };
  g.setInterval = function (cb, ms) { return X.addTimer(cb, ms || 0, true); };
  g.clearTimeout = function (id) { X.clearTimer(id); };
  g.clearInterval = function (id) { X.clearTimer(id); };
  g.console = { log: function () { X.log(arguments); } };
  // src/jswrap_interactive.c: getTime() in seconds (float).
  g.getTime = function () { return X.now() / 1000; };
  // targets/esp32/jshardware.c: getSerial() is the factory MAC.
  g.getSerial = function () { return '30aea4f1c2d8'; };
  // src/jswrap_process.c: process.memory() counts variables.
  g.process = { env: { BOARD: 'ESP32', VERSION: '2v29' }, memory: function () { return { free: 12000, usage: 4000, total: 16000 }; } };
  // src/jswrap_io.c: pinMode(pin, "input"|"output"|...), digitalWrite(pin, value),
  // analogRead(pin) -> 0 <= v < 1 (the ADC reading divided by its range). Pins by name ("D36").
  X.pins = { modes: {}, levels: {}, analog: {}, pressed: {} };
  var PIN_MODES = { analog: 1, input: 1, input_pullup: 1, input_pulldown: 1, output: 1, opendrain: 1, af_output: 1, af_opendrain: 1, auto: 1 };
  var pinName = function (pin) { var n = String(pin); if (!/^D[0-9]+$/.test(n)) throw new Error('Invalid pin: ' + n); return n; };
  g.pinMode = function (pin, mode) { if (!PIN_MODES[mode]) throw new Error('Unknown pin mode'); X.pins.modes[pinName(pin)] = mode; };
  g.digitalWrite = function (pin, value) { X.pins.levels[pinName(pin)] = value ? 1 : 0; };
  // digitalRead(pin) -> 0 or 1; an input with its pull-up and nothing pulling it low reads 1.
  g.digitalRead = function (pin) { var n = pinName(pin); if (X.pins.levels[n] !== undefined && X.pins.modes[n] === 'output') return X.pins.levels[n]; return X.pins.modes[n] === 'input_pullup' && !X.pins.pressed[n] ? 1 : 0; };
  g.analogRead = function (pin) { var n = pinName(pin); return X.pins.analog[n] === undefined ? 0 : X.pins.analog[n]; };
  // src/jswrap_functions.c: atob() returns a String (one char per byte); print() is console.log.
  // On a real engine (real-engines.ts) the native ones stay: only what the engine check lacks is defined.
  if (typeof g.atob !== 'function') g.atob = function (b64) {
    var A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', out = '', bits = 0, n = 0;
    for (var i = 0; i < b64.length; i++) {
      var v = A.indexOf(b64[i]);
      if (v < 0) continue;
      bits = (bits << 6) | v; n += 6;
      if (n >= 8) { n -= 8; out += String.fromCharCode((bits >> n) & 255); }
    }
    return out;
  };
  if (typeof g.print !== 'function') g.print = function () { X.log(arguments); };
  // src/jswrap_interactive.c: reset() clears RAM (the engine check keeps going), load() re-runs the boot code.
  if (typeof g.reset !== 'function') g.reset = function () {};
  if (typeof g.load !== 'function') g.load = function () { X.loaded = true; };
  // src/jswrap_string.c (2v29): indexOf finds a needle that only begins at the end of the string
  // ("abc".indexOf("cd") is 2): the search stops at length - 1 and compares past the end as a match.
  // Found running the HTTP parser's corpus on the Linux build; reproduced so that the engine check sees it.
  // Only in the engine check: a real Espruino has the quirk itself.
  var realIndexOf = String.prototype.indexOf;
  if (hostCrypto) String.prototype.indexOf = function (needle, from) {
    var s = String(this), n = String(needle);
    var found = realIndexOf.call(s, n, from);
    if (found >= 0 || n.length < 2) return found;
    for (var i = Math.max(from | 0, s.length - n.length + 1); i < s.length; i++) {
      if (s.substr(i) === n.substr(0, s.length - i)) return i;
    }
    return -1;
  };
  var rand = 1;
  // On a real Espruino (real-engines.ts) its own E.toUint8Array stays: the fake's would hold a 4 KB
  // read as 4,096 numbers in variables.
  var realE = g.E && typeof g.E.toUint8Array === 'function' ? g.E : null;
  g.E = {
    // src/jswrap_espruino.c: E.toString(Uint8Array) is a byte string.
    toString: function (u8) { var s = ''; for (var i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i] & 0xff); return s; },
    // src/jswrap_espruino.c E.toUint8Array: a byte string (or array) as a new Uint8Array.
    toUint8Array: realE ? realE.toUint8Array : function (data) { return new Uint8Array(bytesOf(data)); },
    // targets/esp32/jshardware.c: rand() with a fixed seed.
    hwRand: function () { rand = (rand * 1103515245 + 12345) & 0x7fffffff; return rand; },
    // src/jswrap_espruino.c E.reboot → targets/esp32/jshardware.c jshReboot: esp_restart().
    reboot: function () { X.rebooted = true; X.stop('reboot'); },
    // src/jswrap_espruino.c E.enableWatchdog(timeout s, isAuto): a negative or NaN timeout is 1 s;
    // isAuto undefined or truthy kicks it from every pass of the idle loop (JSIS_WATCHDOG_AUTO,
    // src/jsinteractive.c), otherwise only E.kickWatchdog() does. ESP32 (targets/esp32/jshardware.c
    // jshEnableWatchDog): the task watchdog, the timeout rounded to whole seconds. Not kicked in
    // time, it resets the chip (__engine.reset === 'watchdog').
    enableWatchdog: function (timeout, isAuto) {
      var t = typeof timeout === 'number' && timeout >= 0 ? timeout : 1;
      X.arm(Math.floor(t + 0.5) * 1000, isAuto === undefined || !!isAuto);
    },
    kickWatchdog: function () { X.kick(); },
    // src/jswrap_espruino.c E.CRC32: CRC-32 (0xEDB88320 reflected, init and final xor 0xFFFFFFFF) of a string or array.
    CRC32: function (data) {
      var b = bytesOf(data), c = -1;
      for (var i = 0; i < b.length; i++) { c ^= b[i]; for (var k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
      return (c ^ -1) >>> 0;
    },
    // src/jswrap_espruino.c jswrap_espruino_setConsole(device, options): options go through
    // jsvReadConfigObject (src/jsvar.c: anything but an object or undefined throws "Expecting Object
    // or undefined, got …", a key other than `force` throws "Unknown option …"); `null` is no
    // device (the console unreachable), a string names one (src/jsdevices.c jshFromDeviceString:
    // Serial1-3 on the ESP32's three UARTs, Telnet, Bluetooth), anything else throws "Unknown
    // device type" (followed upstream by what %q makes of the device number; a Serial object,
    // which the runtime takes, is not modelled: refused). `force` keeps the console where it is
    // put: a Telnet or Bluetooth connection no longer takes it. __engine.console is the device
    // (null: none; undefined: never set, the runtime's default Serial1), __engine.consoleForced
    // whether it is forced.
    setConsole: function (device, options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) throw new Error('Expecting Object or undefined, got ' + (options === null ? 'null' : typeof options));
      var force = false;
      if (options) for (var k in options) {
        if (k !== 'force') throw new Error('Unknown option "' + k + '"');
        force = !!options[k];
      }
      var name = null;
      if (typeof device === 'string') {
        if (['Serial1', 'Serial2', 'Serial3', 'Telnet', 'Bluetooth'].indexOf(device) < 0) throw new Error('Unknown device type');
        name = device;
      } else if (device !== null) throw new Error('Unknown device type');
      X.console = name;
      X.consoleForced = force;
    },
    lockConsole: function () {},
  };
  // targets/esp32/jswrap_esp32.c with targets/esp32/jshardwareESP32.c: ESP32.getState() returns
  // {sdkVersion, freeHeap, BLE, Wifi, minHeap}, BLE and Wifi read from NVS (on by default,
  // ESP32HARDWAREDEFAULT). ESP32.enableBLE(enable) writes NVS, then erases the saved code
  // (src/jsflash.c jsfRemoveCodeFromFlash: the Storage files .varimage, .bootcde and .bootrst) and
  // restarts (esp_restart). Bluetooth's state is __engine.nvs.BLE (a test sets it in its prelude).
  X.nvs = { BLE: true, Wifi: true };
  g.ESP32 = {
    getState: function () { return { sdkVersion: 'v3.1.3', freeHeap: 90000, BLE: !!X.nvs.BLE, Wifi: !!X.nvs.Wifi, minHeap: 60000 }; },
    enableBLE: function (enable) {
      X.nvs.BLE = !!enable;
      var files = ['.varimage', '.bootcde', '.bootrst'];
      for (var i = 0; i < files.length; i++) modules.Storage.erase(files[i]);
      X.rebooted = true;
      X.stop('reboot');
    },
  };
  // src/jswrap_flash.c with targets/esp32/jshardware.c: 4 MB; read(len, addr) -> Uint8Array;
  // write(data, addr) read-modify-writes unaligned edges in 4-byte words and only clears bits;
  // erasePage(addr) erases the 4 KB sector holding addr.
  var flash = X.sparseFlash(4 * 1024 * 1024);
  // The partition table at 0x8000 (ESP-IDF format: 32-byte entries, magic AA 50, type, subtype,
  // offset and size little-endian, 16-byte label): only the entry Hoshi relies on is reproduced,
  // "free, data, 0x40, 0xE000, 8K" of partitions_espruino.csv (espruino/EspruinoBuildTools).
  flash.load(0x8000, [0xaa, 0x50, 0x01, 0x40, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x66, 0x72, 0x65, 0x65]);
  flash.load(0x8010, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  // Data arguments are strings (one char per byte, as atob() returns), arrays or typed arrays.
  function bytesOf(data) {
    var out = [];
    for (var i = 0; i < data.length; i++) out.push(typeof data === 'string' ? data.charCodeAt(i) & 255 : data[i] & 255);
    return out;
  }
  var Flash = {
    getPage: function (addr) { return addr >= flash.size ? undefined : { addr: addr & ~0xfff, length: 4096 }; },
    getFree: function () { return [{ addr: 0xe000, length: 0x2000 }, { addr: 0x310000, length: 0x10000 }, { addr: 0x360000, length: 0xa0000 }]; },
    erasePage: function (addr) {
      if (typeof addr !== 'number') throw new Error('Address must be an integer');
      flash.erase(addr >> 12);
    },
    write: function (data, addr) { flash.programRange(addr, bytesOf(data)); },
    read: function (length, addr) {
      if (length <= 0) return undefined;
      return flash.readRange(addr, length);
    },
  };
  // libs/network/jswrap_net.c over libs/network/socketserver.c and network_esp32.c (RELEASE_2V29):
  // - createServer(fn): a non-function prints an error and returns undefined (jswrap_net.c:364-369);
  //   listen(port) is synchronous, takes no callback, returns the server (:679-700); close() stops
  //   accepting only (socketserver.c:890-903). Wi-Fi state never goes offline on ESP32
  //   (jswrap_esp32_network.c:727-732): the server survives a lost link.
  // - Connections are accepted from the idle loop (socketserver.c:786-820): the callback gets the
  //   Socket on the next pass. lwIP has 10 sockets (CONFIG_LWIP_MAX_SOCKETS): Telnet's listener,
  //   each server and each connection take one; past that the client is dropped with no JS event.
  // - Each pass, per connection: up to 536 bytes of what was written are sent; up to 536 received
  //   bytes arrive as one 'data' byte string (kept until a 'data' listener exists); a peer's close
  //   gives 'end' then 'close' (false), never 'error' (socketserver.c:553-587, 737-746).
  // - write(data): strings are sent as bytes; anything else as its string form ("65,66" for a
  //   Uint8Array, jsvAsString); after end() it throws "This socket is closed" (:934-936). end()
  //   closes once what was written is sent ('end', then 'close'); no 'data' after it.
  // - Sockets have no destroy(), remoteAddress, remotePort or setTimeout.
  // - A lost Wi-Fi link aborts the accepted connections at their next poll ('end', 'close').
  // - connect(options, cb) (jswrap_net.c:390-437, socketserver.c:1017-1070): a non-object options
  //   or a non-function cb prints an error and returns undefined; cb listens to 'connect'. Offline
  //   it throws "Not connected to the internet" (network.c:272-280) and leaves the request in the
  //   list of connections without a socket, where the idle loop never closes it. A name is resolved
  //   by lwIP's gethostbyname (network_esp32.c:55-61, blocking); one it cannot resolve throws
  //   "Unable to locate host" and the request closes at the next pass. 'connect' is emitted at the
  //   first pass that finds nothing wrong, before the handshake has completed (net_esp32_recv
  //   answers 0 for a socket with nothing to read; socketserver.c:693-701); writes wait until the
  //   socket is writable. recv's -1 for any failure reads as SOCKET_ERR_CLOSED: a refused or reset
  //   connection gives 'end' then 'close' (false), never 'error' (socketserver.c:677-692, 717-746).
  var LWIP_SOCKETS = 10;
  X.net = { sockets: 1, connections: [], outgoing: [], stranded: 0 }; // the Telnet listener
  function NetSocket() {
    this._ev = X.emitter();
    this._rx = '';
    this._out = '';
    this._closing = false;
    this._ended = false;
    this._hasData = false;
  }
  NetSocket.prototype.emit = function (name, value) { this._ev.emit(name, value); };
  NetSocket.prototype.on = function (name, fn) {
    this._ev.on(name, fn);
    if (name === 'data' && !this._hasData) {
      this._hasData = true;
      if (this._rx) { var rx = this._rx; this._rx = ''; this.emit('data', rx); }
    }
    return this;
  };
  NetSocket.prototype.write = function (data) {
    if (this._closing) throw new Error('This socket is closed');
    this._out += typeof data === 'string' ? data : String(data);
    return false;
  };
  NetSocket.prototype.end = function (data) {
    if (data !== undefined && !this._closing) this.write(data);
    this._closing = true;
  };
  var finish = function (conn) {
    if (conn.done) return;
    conn.done = true;
    X.net.connections.splice(X.net.connections.indexOf(conn), 1);
    conn.client.closed = true;
    X.net.sockets--;
    var s = conn.socket;
    if (s) { if (!s._ended) { s._ended = true; s.emit('end'); } s.emit('close', false); s._ev.forget(); }
  };
  X.pollers.push(function () {
    var ran = 0;
    var list = X.net.connections.slice();
    for (var i = 0; i < list.length; i++) {
      var conn = list[i];
      if (conn.done) continue;
      var c = conn.client;
      if (!conn.socket) {
        conn.socket = new NetSocket();
        ran++;
        conn.server.listener(conn.socket);
        continue;
      }
      var s = conn.socket;
      if (s._out.length) {
        X.deliver(c, s._out.substr(0, 536));
        s._out = s._out.substr(536);
        ran++;
        if (s._out.length) continue;
      }
      if (s._closing) { c.ended = true; finish(conn); ran++; continue; }
      if (c.closedByClient || conn.linkLost) { finish(conn); ran++; continue; }
      var chunk = c.take(536);
      if (!chunk) continue;
      ran++;
      var text = g.E.toString(chunk);
      if (s._hasData) s.emit('data', text); else s._rx += text;
    }
    return ran;
  });
  var finishOutgoing = function (o) {
    if (o.done) return;
    o.done = true;
    X.net.outgoing.splice(X.net.outgoing.indexOf(o), 1);
    X.net.sockets--;
    if (o.peer) o.peer.closed = true;
    var s = o.socket;
    if (!s._ended) { s._ended = true; s.emit('end'); }
    s.emit('close', false);
    s._ev.forget();
  };
  X.pollers.push(function () {
    var ran = 0;
    var list = X.net.outgoing.slice();
    for (var i = 0; i < list.length; i++) {
      var o = list[i];
      var s = o.socket;
      var p = o.peer;
      if (o.done) continue;
      if (!o.connected) { o.connected = true; ran++; s.emit('connect', s); continue; }
      if (!p || p.resetByPeer || o.linkLost) { finishOutgoing(o); ran++; continue; }
      if (s._out.length) {
        X.deliver(p, s._out.substr(0, 536));
        s._out = s._out.substr(536);
        ran++;
        if (s._out.length) continue;
      }
      if (s._closing) { p.ended = true; finishOutgoing(o); ran++; continue; }
      if (p.finished()) { finishOutgoing(o); ran++; continue; }
      var chunk = p.take(536);
      if (!chunk) continue;
      ran++;
      var text = g.E.toString(chunk);
      if (s._hasData) s.emit('data', text); else s._rx += text;
    }
    return ran;
  });
  var net = {
    connect: function (options, callback) {
      if (typeof options !== 'object' || options === null) { X.log(['ERROR: Expecting Options to be an Object but it was ' + typeof options]); return undefined; }
      if (callback !== undefined && typeof callback !== 'function') { X.log(['ERROR: Expecting Callback Function but got ' + typeof callback]); return undefined; }
      if (!X.wifi.joined) { X.net.stranded++; throw new Error('InternalError: Not connected to the internet'); }
      var host = options.host === undefined ? '127.0.0.1' : String(options.host);
      var ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : X.names[host];
      if (!ip) throw new Error('InternalError: Unable to locate host');
      if (X.net.sockets >= LWIP_SOCKETS) throw new Error('InternalError: Unable to create socket');
      X.net.sockets++;
      var s = new NetSocket();
      if (callback) s.on('connect', callback);
      X.net.outgoing.push({ socket: s, peer: X.dial(ip, options.port & 0xffff), connected: false, done: false, linkLost: false });
      return s;
    },
    createServer: function (listener) {
      if (typeof listener !== 'function') { X.log(['ERROR: Expecting Callback Function but got ' + typeof listener]); return undefined; }
      var server = { listener: listener, port: 0, listening: false };
      server.listen = function (port) {
        if (X.net.sockets >= LWIP_SOCKETS) throw new Error('InternalError: Unable to create socket');
        X.net.sockets++;
        server.port = port;
        server.listening = true;
        X.server = server;
        X.onConnect = function (client) {
          if (!server.listening || X.net.sockets >= LWIP_SOCKETS || (!X.wifi.joined && !X.wifi.ap)) { client.refused = client.closed = true; return; }
          X.net.sockets++;
          // A client that reaches the device while its station is off came through the access point.
          X.net.connections.push({ client: client, server: server, socket: null, done: false, linkLost: false, viaAp: !X.wifi.joined });
        };
        return server;
      };
      server.close = function () {
        if (!server.listening) { X.log(['WARNING: Server not found!']); return; }
        server.listening = false;
        X.net.sockets--;
        X.onConnect = null;
        X.server = null;
      };
      return server;
    },
  };
  // libs/crypto/jswrap_crypto.c (USE_CRYPTO, USE_SHA256, USE_SHA512, USE_TLS → USE_AES on
  // boards/ESP32.py; no USE_AES_CCM). Arguments go through JSV_GET_AS_CHAR_ARRAY (strings, arrays,
  // ArrayBuffers, Uint8Arrays); results are new ArrayBuffers. mbedtls errors are printed by
  // jsError and the call returns undefined; only an unknown mode or hasher throws.
  function hex(v) {
    var s = '';
    if (typeof v === 'string') { for (var i = 0; i < v.length; i++) s += (v.charCodeAt(i) & 255 | 256).toString(16).substr(1); return s; }
    if (v instanceof ArrayBuffer) v = new Uint8Array(v);
    if (v && typeof v.length === 'number') { for (var j = 0; j < v.length; j++) s += (v[j] & 255 | 256).toString(16).substr(1); return s; }
    if (v === undefined) return undefined;
    throw new Error('Expecting a string or array, got ' + typeof v);
  }
  function buffer(h) {
    if (h === '') return undefined;
    var out = new Uint8Array(h.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
    return out.buffer;
  }
  function fail(message) { X.log(['ERROR: ' + message]); return undefined; }
  function sha(name) {
    // jswrap_crypto_SHAx: one-shot; undefined for an undefined message.
    return function (message) { var m = hex(message); return m === undefined ? undefined : buffer(hostCrypto(name, JSON.stringify([m]))); };
  }
  var HASHERS = { SHA1: 1, SHA224: 1, SHA256: 1, SHA384: 1, SHA512: 1 };
  var MODES = { CBC: 1, CFB: 1, CTR: 1, OFB: 1, ECB: 1 };
  function aes(direction) {
    // jswrap_crypto_AEScrypt: options.iv (up to 16 bytes, zero-padded), options.mode (default
    // CBC). CBC needs whole blocks; ECB leaves a partial last block as zeros; CTR ignores the IV
    // and counts from zero; CFB is CFB-8; OFB is accepted by name but reports "Feature unavailable".
    return function (message, key, options) {
      var mode = options && options.mode !== undefined ? String(options.mode) : 'CBC';
      if (!MODES[mode]) throw new Error('Unknown Crypto mode ' + mode);
      var iv = new Uint8Array(16);
      if (options && options.iv !== undefined) { var given = new Uint8Array(buffer(hex(options.iv)) || new ArrayBuffer(0)); for (var i = 0; i < 16 && i < given.length; i++) iv[i] = given[i]; }
      var k = hex(key);
      if (k.length !== 32 && k.length !== 48 && k.length !== 64) return fail('Unknown error: -0x20');
      if (mode === 'OFB') return fail('Feature unavailable');
      if (direction === 'decrypt' && (mode === 'CTR' || mode === 'CFB')) {
        // decrypt() sets a decryption key schedule, but mbedtls runs CTR and CFB8 in the encrypt
        // direction: the result depends on the mbedtls build. Hoshi never calls it.
        throw new Error('engine check: AES.decrypt in ' + mode + ' mode has build-dependent results');
      }
      var m = hex(message);
      var out = hostCrypto('AES', JSON.stringify([direction, mode, m, k, hex(iv)]));
      if (out === '') return fail('Invalid input length');
      return buffer(out);
    };
  }
  var crypto = {
    SHA1: sha('SHA1'), SHA224: sha('SHA224'), SHA256: sha('SHA256'), SHA384: sha('SHA384'), SHA512: sha('SHA512'),
    // jswrap_crypto_PBKDF2: keySize in 32-bit words (default 4), iterations (default 1), hasher (default SHA1).
    PBKDF2: function (passphrase, salt, options) {
      var keySize = 4, iterations = 1, hasher = 'SHA1';
      if (options && typeof options === 'object') {
        if (options.keySize > 0) keySize = options.keySize | 0;
        if (options.iterations >= 1) iterations = options.iterations | 0;
        if (options.hasher !== undefined) hasher = String(options.hasher);
      }
      if (!HASHERS[hasher]) throw new Error('Unknown Hasher ' + hasher);
      return buffer(hostCrypto('PBKDF2', JSON.stringify([hex(passphrase), hex(salt), iterations, keySize, hasher])));
    },
    AES: { encrypt: aes('encrypt'), decrypt: aes('decrypt') },
  };
  // Storage: src/jswrap_storage.c over src/jsflash.c, kept in the SPI flash itself (the region
  // "flash", where require("Flash") reads and writes too), from 0x320000 to 0x400000 (boards/ESP32.py
  // saved_code: 224 pages of 4 KB). A file is a 32-byte header (JsfFileHeader, src/jsflash.h: a
  // 32-bit word, the size in its low 24 bits and the flags in its top 8, then the name, at most 28
  // characters, padded with zeros; longer names are cut silently, jsfNameFromString) and its data;
  // the next header follows the data rounded up to 4 bytes (JSF_ALIGNMENT, jsfAlignAddress).
  // - Finding files (jsfBankFindFile over jsfGetNextFileHeader, GNFH_GET_ALL): from the area's
  //   start, a header is valid when its word is neither FFFFFFFF nor 0 and the file ends inside the
  //   area (jsfGetFileHeader); where no valid header follows a file, the next page's start is tried
  //   once. A name whose first 4 bytes are 0 is a deleted file; flags other than 0, 64 (Storage
  //   file) or 128 (compressed) are Storage's own files (jsfIsRealFile).
  // - A new file goes after the last one (jsfCreateFile; files are not aligned to pages since 2v14,
  //   espruino/Espruino#2232). If it does not fit but would once the deleted files' space is
  //   reclaimed, Storage compacts first (jsfCompact → jsfCompactInternal): from the start of the
  //   last page that begins with a header at or before the first deleted file
  //   (jsfGetStorageStats: lastUnbrokenPageStart), every live file is copied down over the deleted
  //   ones and the pages after the last are erased; a file that stays where it was is still erased
  //   and written again. __engine.storageStats().compactions counts them. Past that, "Unable to find
  //   or create file".
  // - Deleting a file (jsfEraseFileInternal) writes 0 over its name's first 4 bytes.
  // write(name, data, offset, size) (jswrap_storage_write, jsfWriteFile): a plain object is written
  // as JSON at offset 0; a number as one byte; null and undefined throw. offset or size negative:
  // false. size 0 means the data's length, and a length of 0 throws "Can't create zero length file".
  // At offset 0, a missing file, or one of another size or not wholly erased, is made anew at `size`
  // bytes (erased) — unless it already holds exactly this data — and the old one is deleted; at
  // another offset the file must exist ("Unable to find or create file"). The data must fit the file
  // ("Too much data for file size") and land on erased bytes only ("File already written with
  // different data"). read(name, offset, length) (jsfReadFile) clips to the file: a negative offset
  // reads from 0, an offset past the end from the end, a length <= 0 or past the end to the end;
  // nothing left gives "", no file undefined. On the ESP32 the String is mapped onto the flash
  // (jsvAddressToVar): nothing is copied until it is converted. eraseAll() (jsfEraseAll) erases the
  // whole area. getFree() (jswrap_storage_getFree) is the space after the last file, deleted files'
  // space not counted.
  var S_START = 0x320000;
  var S_END = 0x400000;
  var FILE_HEADER = 32;
  var fileName = function (name) { return String(name).substr(0, 28); };
  var align4 = function (n) { return (n + 3) & ~3; };
  var headerAt = function (a) {
    if (a + FILE_HEADER > S_END) return null;
    var b = flash.readRange(a, FILE_HEADER);
    var word = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    var size = word & 0xffffff;
    if (word === 0xffffffff || word === 0 || a + FILE_HEADER + size > S_END) return null;
    var name = '';
    for (var i = 4; i < 32 && b[i] !== 0; i++) name += String.fromCharCode(b[i]);
    var flags = word >>> 24;
    return { addr: a, data: a + FILE_HEADER, size: size, flags: flags, deleted: (b[4] | b[5] | b[6] | b[7]) === 0, real: flags === 0 || flags === 64 || flags === 128, name: name };
  };
  // Every header in order, and where the next file would go.
  var walk = function () {
    var out = [];
    var h = headerAt(S_START);
    var end = S_START;
    while (h) {
      out.push(h);
      end = align4(h.data + h.size);
      h = headerAt(end);
      if (!h) {
        var page = end - (end % 4096) + 4096;
        if (page < S_END) h = headerAt(page);
      }
    }
    return { files: out, end: end };
  };
  var findFile = function (name) {
    var all = walk().files;
    for (var i = 0; i < all.length; i++) if (!all[i].deleted && all[i].real && all[i].name === name) return all[i];
    return null;
  };
  var writeHeader = function (a, name, size) {
    var b = [size & 255, (size >> 8) & 255, (size >> 16) & 255, 0];
    for (var i = 0; i < 28; i++) b.push(i < name.length ? name.charCodeAt(i) & 255 : 0);
    flash.programRange(a, b);
  };
  var compactions = X.meta('storageCompactions') || 0;
  var compact = function () {
    var w = walk();
    var start = S_START;
    var first = -1;
    for (var i = 0; i < w.files.length; i++) {
      if (w.files[i].addr % 4096 === 0) start = w.files[i].addr;
      if (w.files[i].deleted) { first = i; break; }
    }
    if (first < 0) return false;
    var keep = [];
    for (var j = 0; j < w.files.length; j++) {
      var f = w.files[j];
      if (f.addr >= start && !f.deleted && f.real) keep.push(flash.readRange(f.addr, FILE_HEADER + align4(f.size)));
    }
    for (var p = start; p < S_END; p += 4096) flash.erase(p >> 12);
    var at = start;
    for (var k = 0; k < keep.length; k++) { flash.programRange(at, keep[k]); at += keep[k].length; }
    compactions++;
    X.meta('storageCompactions', compactions);
    return true;
  };
  var createFile = function (name, size) {
    var need = FILE_HEADER + align4(size);
    for (var attempt = 0; attempt < 2; attempt++) {
      var w = walk();
      if (w.end + need <= S_END) {
        writeHeader(w.end, name, size);
        return headerAt(w.end);
      }
      var trash = 0;
      for (var i = 0; i < w.files.length; i++) if (w.files[i].deleted) trash += FILE_HEADER + align4(w.files[i].size);
      if (attempt > 0 || !(need < S_END - w.end + trash) || !compact()) return null;
    }
    return null;
  };
  var removeFile = function (f) { if (f) flash.programRange(f.addr + 4, [0, 0, 0, 0]); };
  var storageData = function (data) {
    if (data === null || data === undefined) throw new Error('Expecting a string, array or object to write');
    if (typeof data === 'number') return [data & 255];
    if (typeof data === 'object' && typeof data.length !== 'number') data = JSON.stringify(data);
    return bytesOf(data);
  };
  var isErased = function (a, n) {
    var b = flash.readRange(a, n);
    for (var i = 0; i < b.length; i++) if (b[i] !== 255) return false;
    return true;
  };
  var holds = function (f, b) {
    var c = flash.readRange(f.data, b.length);
    for (var i = 0; i < b.length; i++) if (c[i] !== b[i]) return false;
    return true;
  };
  var Storage = {
    write: function (name, data, offset, size) {
      name = fileName(name);
      if (data !== null && typeof data === 'object' && typeof data.length !== 'number') { offset = 0; size = 0; }
      var b = storageData(data);
      offset = offset === undefined ? 0 : Math.floor(+offset) || 0;
      size = size === undefined ? 0 : Math.floor(+size) || 0;
      if (offset < 0 || size < 0) return false;
      if (size === 0) size = b.length;
      if (!size) throw new Error("Can't create zero length file");
      var f = findFile(name);
      if (offset === 0 && (!f || f.size !== size || !isErased(f.data, f.size))) {
        if (f && f.size === size && b.length === size && holds(f, b)) return true;
        removeFile(f);
        f = createFile(name, size);
      }
      if (!f) throw new Error('Unable to find or create file');
      if (offset + b.length > f.size) throw new Error('Too much data for file size');
      if (!isErased(f.data + offset, b.length)) throw new Error('File already written with different data');
      flash.programRange(f.data + offset, b);
      return true;
    },
    read: function (name, offset, length) {
      var f = findFile(fileName(name));
      if (!f) return undefined;
      var from = offset === undefined ? 0 : offset | 0;
      var n = length === undefined ? 0 : length | 0;
      if (from < 0) from = 0;
      if (n <= 0) n = f.size;
      if (from > f.size) from = f.size;
      if (from + n > f.size) n = f.size - from;
      var b = flash.readRange(f.data + from, n);
      var s = '';
      for (var i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096));
      return s;
    },
    erase: function (name) { removeFile(findFile(fileName(name))); },
    eraseAll: function () { for (var p = S_START; p < S_END; p += 4096) flash.erase(p >> 12); },
    list: function () {
      var all = walk().files;
      var out = [];
      for (var i = 0; i < all.length; i++) if (!all[i].deleted && all[i].real) out.push(all[i].name);
      return out;
    },
    getFree: function () { return S_END - walk().end; },
  };
  X.storageFile = function (name) { var f = findFile(fileName(name)); return f ? flash.readRange(f.data, f.size) : undefined; };
  X.storageStats = function () {
    var w = walk();
    var used = 0;
    var files = 0;
    for (var i = 0; i < w.files.length; i++) { used += FILE_HEADER + align4(w.files[i].size); if (!w.files[i].deleted) files++; }
    return { used: used, compactions: compactions, files: files };
  };
  // libs/network/telnet/jswrap_telnet.c: on the ESP32 the Telnet console (TCP 23) starts on
  // (jswrap_telnet_init: MODE_ON). setOptions(options) throws "Expecting Object, got …" for
  // anything but an object; a string `mode` other than "on" or "off" throws "Unknown mode value";
  // a `mode` that is not a string changes nothing. With the mode off, the idle handler closes the
  // listener once the network is up (jswrap_telnet_idle). __engine.telnet is the mode.
  X.telnet = 'on';
  var TelnetServer = {
    setOptions: function (o) {
      if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('Expecting Object, got ' + (o === null ? 'null' : typeof o));
      if (typeof o.mode === 'string') {
        if (o.mode !== 'on' && o.mode !== 'off') throw new Error('Unknown mode value');
        X.telnet = o.mode;
      }
    },
  };
  // libs/network/esp32/jswrap_esp32_network.c: connect(ssid, options, callback) throws without a
  // string ssid or with a non-string options.password; once the station has an address it emits
  // 'associated', the callback is queued with null, then 'connected' ({ip, netmask, gw}); or with
  // the disconnect reason ("no_ap_found", "auth_fail"). A lost link emits 'disconnected' with
  // {ssid, mac, reason, msg}; there is no automatic reconnect. Networks the fake knows:
  // __engine.wifi.networks (ssid -> password); the station's network is __engine.wifi.joined;
  // __engine.wifi.drop() plays the access point going away (accepted connections die at their next
  // poll), __engine.wifi.up(ssid) a station joined before the program started. getIP() (:1535-1578)
  // returns {ip, netmask, gw, mac} at once: ip "0.0.0.0" while the station has none.
  // startAP(ssid, options, callback) (:999-1136) throws (Error) for a callback that is not a
  // function ("Expecting callback function but got …"), an ssid that is not a string ("No SSID"),
  // options that are not an object ("Expecting Object, got …"), a password that is not a string of
  // at least 8 characters ("Password must be string of at least 8 characters"), an authMode other
  // than "open", "wpa2", "wpa", "wpa_wpa2" ("Unknown authMode value"; without one: wpa2 with a
  // password, open without), a password with "open" or none without ("Auth mode set to open but
  // password supplied", "Password not set but authMode not open"). Then ESP-IDF's mode gains the
  // access point (AP+STA when the station is on: the station is untouched) and the callback is
  // queued with null once it has started (AP_START, :659-665). connect() keeps it (APSTA, :870-883).
  // stopAP(callback) (:771-804): the mode loses the access point (never an error, also when none is
  // open), the callback is queued at once; connections that came through it die at their next poll.
  // __engine.wifi.ap is the open access point ({ssid, password, authMode}) or null;
  // __engine.wifi.joinAp(password) plays a client joining it (true when it is open and the password
  // its, or it is open without one).
  X.wifi = { networks: {}, joined: null, attempts: 0, ap: null };
  X.wifi.joinAp = function (password) { var ap = X.wifi.ap; return !!ap && (ap.authMode === 'open' || ap.password === password); };
  var wifiEvents = X.emitter();
  X.wifi.up = function (ssid) { X.wifi.joined = ssid; };
  X.wifi.drop = function () {
    var ssid = X.wifi.joined;
    X.wifi.joined = null;
    for (var i = 0; i < X.net.connections.length; i++) X.net.connections[i].linkLost = true;
    for (var k = 0; k < X.net.outgoing.length; k++) X.net.outgoing[k].linkLost = true;
    wifiEvents.emit('disconnected', { ssid: ssid, mac: '00:00:00:00:00:00', reason: '200', msg: 'beacon_timeout' });
  };
  var Wifi = {
    on: function (name, fn) { wifiEvents.on(name, fn); return Wifi; },
    getIP: function (cb) {
      if (cb !== undefined && cb !== null && typeof cb !== 'function') throw new Error('Expecting callback function but got ' + cb);
      var info = { ip: X.wifi.joined ? '192.168.1.60' : '0.0.0.0', netmask: X.wifi.joined ? '255.255.255.0' : '0.0.0.0', gw: X.wifi.joined ? '192.168.1.1' : '0.0.0.0', mac: '30:ae:a4:f1:c2:d8' };
      if (typeof cb === 'function') g.setTimeout(function () { cb(null, info); }, 0);
      return info;
    },
    startAP: function (ssid, options, callback) {
      if (callback !== undefined && typeof callback !== 'function') throw new Error('Expecting callback function but got ' + callback);
      if (typeof ssid !== 'string') throw new Error('No SSID');
      if (options !== undefined && options !== null && typeof options !== 'object') throw new Error('Expecting Object, got ' + typeof options);
      var password = '', authMode = 'open';
      if (options) {
        if (options.password !== undefined) {
          if (typeof options.password !== 'string' || options.password.length < 8) throw new Error('Password must be string of at least 8 characters');
          password = options.password.substr(0, 63);
        }
        if (typeof options.authMode === 'string') {
          if (['open', 'wpa2', 'wpa', 'wpa_wpa2'].indexOf(options.authMode) < 0) throw new Error('Unknown authMode value');
          authMode = options.authMode;
        } else authMode = password ? 'wpa2' : 'open';
        if (authMode !== 'open' && !password) throw new Error('Password not set but authMode not open');
        if (authMode === 'open' && password) throw new Error('Auth mode set to open but password supplied');
      }
      X.wifi.ap = { ssid: ssid.substr(0, 32), password: password, authMode: authMode };
      if (callback) g.setTimeout(function () { callback(null); }, 0);
    },
    stopAP: function (callback) {
      if (callback !== undefined && typeof callback !== 'function') throw new Error('Expecting callback function but got ' + callback);
      if (X.wifi.ap) for (var i = 0; i < X.net.connections.length; i++) if (X.net.connections[i].viaAp) X.net.connections[i].linkLost = true;
      X.wifi.ap = null;
      if (callback) g.setTimeout(callback, 0);
    },
    connect: function (ssid, options, callback) {
      if (typeof ssid !== 'string') throw new Error('No SSID provided');
      var password = options && options.password;
      if (password !== undefined && typeof password !== 'string') throw new Error('Expecting options.password to be a string');
      X.wifi.attempts++;
      var known = Object.prototype.hasOwnProperty.call(X.wifi.networks, ssid);
      var reason = !known ? 'no_ap_found' : X.wifi.networks[ssid] !== (password || '') ? 'auth_fail' : null;
      // STA_GOT_IP queues the callback before the 'connected' event (:585-611).
      g.setTimeout(function () {
        if (!reason) {
          X.wifi.joined = ssid;
          wifiEvents.emit('associated', {});
        }
        if (callback) callback(reason);
        if (!reason) wifiEvents.emit('connected', { ip: '192.168.1.60', netmask: '255.255.255.0', gw: '192.168.1.1' });
      }, 0);
    },
  };
  var modules = { Flash: Flash, Storage: Storage, net: net, TelnetServer: TelnetServer, crypto: crypto, Wifi: Wifi };
  if (!hostCrypto && realRequire) modules.crypto = realRequire('crypto');
  // On a real engine asked for its own network (real-engines.ts, the hostile-request row), the
  // runtime's own net module serves real sockets.
  if (realRequire && g.__hoshiRealNet) modules.net = realRequire('net');
  // On a real engine asked for its own Storage (real-engines.ts, the loader's run), the runtime's
  // Storage holds the slots and the boot record, and the loader evaluates the image from its file.
  // The Linux build's Storage is not at the ESP32's 0x320000 and holds 256 KB, so the loader's
  // require("Flash") reads a layout as an ESP32 unit has it, over the runtime's own files: from
  // 0x320000, the files `__hoshiRealStorage` names with their sizes on a unit ([name, size] pairs,
  // real-engines.ts: hoshi.bc, hoshi.a, hoshi.b), each on a sector boundary, their data read from the
  // real files (past a real file's end: erased). The run writes nothing (a factory boot); a write or
  // an erase throws.
  if (realRequire && g.__hoshiRealStorage) {
    var real = realRequire('Storage');
    modules.Storage = real;
    var layout = g.__hoshiRealStorage;
    var virtualByte = function (a) {
      var at = S_START;
      for (var i = 0; i < layout.length; i++) {
        var name = layout[i][0], size = layout[i][1];
        if (a < at + FILE_HEADER) {
          var o = a - at;
          if (o < 4) return o === 3 ? 0 : (size >> (8 * o)) & 255;
          return o - 4 < name.length ? name.charCodeAt(o - 4) : 0;
        }
        if (a < at + FILE_HEADER + size) {
          var c = real.read(name, a - at - FILE_HEADER, 1);
          return c && c.length ? c.charCodeAt(0) : 255;
        }
        at += FILE_HEADER + size;
      }
      return 255;
    };
    modules.Flash = {
      read: function (length, addr) {
        var out = new Uint8Array(length);
        for (var i = 0; i < length; i++) out[i] = virtualByte(addr + i);
        return out;
      },
      write: function () { throw new Error('the real-engine run writes no flash'); },
      erasePage: function () { throw new Error('the real-engine run erases no flash'); },
      getFree: Flash.getFree,
      getPage: Flash.getPage,
    };
  }
  g.require = function (id) {
    if (!modules[id]) throw new Error('Module ' + id + ' not found');
    return X.watch(modules[id], "require('" + id + "')");
  };
  g.E = X.watch(g.E, 'E');
  g.ESP32 = X.watch(g.ESP32, 'ESP32');
  g.process = X.watch(g.process, 'process');
  g.global = g;
})(globalThis);

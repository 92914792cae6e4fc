// Kaluma 1.2.1 as the device bundle sees it, for the engine check. Each piece names the upstream
// file (kaluma-project/kaluma at tag 1.2.1) whose behaviour it reproduces.
(function (g) {
  var E = __engine;
  // src/global.c: timers need a delay argument and pass no extra arguments.
  g.setTimeout = function (cb, ms) { if (typeof ms !== 'number') throw new TypeError('delay is required'); return E.addTimer(cb, ms, false); };
  g.setInterval = function (cb, ms) { if (typeof ms !== 'number') throw new TypeError('delay is required'); return E.addTimer(cb, ms, true); };
  g.clearTimeout = function (id) { E.clearTimer(id); };
  g.clearInterval = function (id) { E.clearTimer(id); };
  g.millis = function () { return E.now(); };
  g.micros = function () { return E.now() * 1000; };
  g.delay = function () {};
  // src/global.c print_fn: prints its arguments separated by spaces, no newline.
  if (typeof g.print !== 'function') g.print = function () { var parts = []; for (var i = 0; i < arguments.length; i++) parts.push(String(arguments[i])); E.log([parts.join(' ')]); };
  // src/global.c: console has log and error only.
  g.console = { log: function () { E.log(arguments); }, error: function () { E.log(arguments); } };
  // targets/rp2/boards/pico-w/board.js: board.name, board.uid (16 hex chars).
  g.board = { name: 'pico-w', uid: 'E6614C311B7A2F28' };
  g.process = {
    arch: 'cortex-m0-plus',
    platform: 'rp2',
    version: '1.2.1',
    builtin_modules: ['events', 'gpio', 'led', 'button', 'pwm', 'adc', 'i2c', 'spi', 'uart', 'graphics', 'at', 'storage', 'wifi',
      'stream', 'net', 'http', 'url', 'rp2', 'rtc', 'path', 'flash', 'fs', 'vfs_lfs', 'vfs_fat', 'sdcard', 'wdt', 'pico_cyw43'],
    memoryUsage: function () { return { heapTotal: 184320, heapUsed: 0, heapPeak: 0 }; },
  };
  // src/global.c: pinMode(pin, mode), digitalWrite(pin, value) with numeric pins; analogRead(pin)
  // sets up the ADC (km_adc_setup fails on pins other than 26-29) and returns 0 <= v < 1.
  E.pins = { modes: {}, levels: {}, analog: {} };
  g.INPUT = 0; g.OUTPUT = 1; g.INPUT_PULLUP = 2; g.INPUT_PULLDOWN = 3; g.HIGH = 1; g.LOW = 0;
  var pinNumber = function (pin) { if (typeof pin !== 'number') throw new TypeError('"pin" argument must be a number'); return pin; };
  g.pinMode = function (pin, mode) { E.pins.modes[pinNumber(pin)] = mode === undefined ? 0 : mode; };
  g.digitalWrite = function (pin, value) { E.pins.levels[pinNumber(pin)] = value ? 1 : 0; };
  g.analogRead = function (pin) {
    pinNumber(pin);
    if (pin < 26 || pin > 29) throw new Error('SystemError: ADC not available on pin ' + pin);
    return E.pins.analog[pin] === undefined ? 0 : E.pins.analog[pin];
  };
  // src/modules/text_encoder: "utf-8" (default) and "ascii" only.
  var unesc = unescape;
  var esc = escape;
  g.TextEncoder = function TextEncoder() {};
  g.TextEncoder.prototype.encode = function (s) {
    var bytes = [];
    var u = unesc(encodeURIComponent(String(s)));
    for (var i = 0; i < u.length; i++) bytes.push(u.charCodeAt(i));
    return new Uint8Array(bytes);
  };
  g.TextDecoder = function TextDecoder() {};
  g.TextDecoder.prototype.decode = function (u8) {
    var s = '';
    for (var i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
    return decodeURIComponent(esc(s));
  };

  // src/modules/flash/module_flash.c over targets/rp2/src/flash.c: 260 sectors of 4096 bytes after
  // the firmware; read/write ignore a view's byteOffset; a write whose address or length is not a
  // multiple of 256 is dropped silently; programming only clears bits; ioctl 6 erases a sector.
  var area = E.sparseFlash(260 * 4096);
  function Flash(base, count) {
    this.base = base === undefined ? 0 : base;
    this.count = count === undefined ? 260 : count;
    this.size = 4096;
    return E.watch(this, 'Flash instance');
  }
  Flash.prototype.read = function (block, buffer, offset) {
    var at = (this.base + block) * 4096 + (offset || 0);
    var whole = new Uint8Array(buffer.buffer);
    for (var i = 0; i < buffer.length; i++) whole[i] = area.read(at + i);
  };
  Flash.prototype.write = function (block, buffer, offset) {
    var at = (this.base + block) * 4096 + (offset || 0);
    if (at % 256 !== 0 || buffer.length % 256 !== 0) return;
    var whole = new Uint8Array(buffer.buffer);
    for (var i = 0; i < buffer.length; i++) area.program(at + i, whole[i]);
  };
  Flash.prototype.ioctl = function (op, arg) {
    if (op === 4) return this.count;
    if (op === 5) return 4096;
    if (op === 7) return 256;
    if (op === 6) { area.erase(this.base + arg); return 0; }
    if (op >= 1 && op <= 3) return 0;
    return -1;
  };

  // src/modules/http/http.js: header names lower-cased; body as Uint8Array 'data' events; its
  // Content-Length lookup misses (names are lower-case), so 'end' follows the first segment and
  // later segments arrive after it; writeHead(status, message, headers); always chunked.
  function request(method, url, headers, body, segment) {
    var req = E.emitter();
    req.method = method;
    req.url = url;
    req.headers = {};
    for (var name in headers) req.headers[name.trim().toLowerCase()] = headers[name];
    var res = { statusCode: 200, headers: {}, body: [], ended: false };
    res.writeHead = function (status, message, h) { res.statusCode = status; res.statusMessage = message; for (var k in h) res.headers[k] = h[k]; };
    res.write = function (chunk) { res.body.push(typeof chunk === 'string' ? new g.TextEncoder().encode(chunk) : chunk); };
    res.end = function (chunk) { if (chunk !== undefined) res.write(chunk); res.ended = true; };
    E.server.listener(req, res);
    // Chunked bodies are decoded and end at the 0-length chunk; sized ones hit the bug above.
    var chunked = /chunked/i.test(req.headers['transfer-encoding'] || '');
    var step = segment || 1460;
    for (var at = 0; at < body.length || at === 0; at += step) {
      if (body.length) req.emit('data', body.subarray(at, at + step));
      if (at === 0 && !chunked) req.emit('end');
      if (body.length === 0) break;
    }
    if (chunked) req.emit('end');
    return res;
  }
  var http = {
    createServer: function (listener) {
      var server = { listener: listener, port: 0, listening: false };
      server.listen = function (port, cb) {
        server.port = port;
        E.server = server;
        E.request = request;
        g.setTimeout(function () { server.listening = true; if (cb) cb(); }, 0);
        return server;
      };
      server.close = function () { server.listening = false; E.server = null; };
      return server;
    },
  };
  // src/modules/rp2/module_rp2.c: randomBigInt() returns 128 bits as a BigInt.
  var rp2 = {
    randomBigInt: function () {
      var hex = '';
      for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
      return BigInt('0x' + hex);
    },
  };
  // src/modules/wdt/module_wdt.c: enabled at construction, cannot be disabled.
  function WDT(timeout) { this.timeout = timeout; E.watchdog = timeout; }
  WDT.prototype.feed = function () {};
  // src/modules/wifi/wifi.js over src/modules/pico_cyw43/module_pico_cyw43.c: new WiFi() throws
  // without the CYW43 (Pico); connect() needs an ssid, takes password and security from Kaluma's
  // `storage` when they are missing, and calls back synchronously (the driver blocks until it
  // joins or times out) with a SystemError or null and the connect info. Networks the fake knows:
  // E.wifi.networks (ssid -> password); the last join is E.wifi.joined.
  // WiFi extends EventEmitter: 'disconnected' comes from the driver's disconnect_cb; E.wifi.drop()
  // plays the access point going away.
  E.wifi = { networks: {}, joined: null, attempts: 0, instances: [] };
  E.wifi.drop = function () {
    E.wifi.joined = null;
    for (var i = 0; i < E.wifi.instances.length; i++) E.wifi.instances[i].emit('disconnected');
  };
  function WiFi() {
    if (g.board.name !== 'pico-w') throw new Error('IEEE 802.11 device not found');
    var events = E.emitter();
    this.on = events.on;
    this.emit = events.emit;
    E.wifi.instances.push(this);
    return E.watch(this, 'WiFi instance');
  }
  WiFi.prototype.connect = function (connectInfo, cb) {
    if (typeof connectInfo === 'function') { cb = connectInfo; connectInfo = null; }
    if (!connectInfo) connectInfo = { enforce: false };
    if (!connectInfo.ssid) { if (cb) cb(new Error('WIFI SSID is required')); return; }
    if (!connectInfo.password || !connectInfo.security) E.wifi.usedStorage = true;
    E.wifi.attempts++;
    var known = Object.prototype.hasOwnProperty.call(E.wifi.networks, connectInfo.ssid);
    if (!known || E.wifi.networks[connectInfo.ssid] !== (connectInfo.password || '')) {
      var error = new Error('SystemError');
      error.errno = -1;
      if (cb) cb(error);
      return;
    }
    E.wifi.joined = connectInfo.ssid;
    if (cb) cb(null, connectInfo);
  };
  var modules = { flash: { Flash: Flash }, http: http, rp2: rp2, wdt: { WDT: WDT }, wifi: { WiFi: WiFi } };
  // src/modules/startup/startup.js: only built-in modules; anything else throws.
  g.require = function (id) {
    if (g.process.builtin_modules.indexOf(id) < 0) throw new Error('Failed to load module: ' + id);
    if (!modules[id]) throw new Error('engine check: no fake for Kaluma module ' + id);
    return E.watch(modules[id], "require('" + id + "')");
  };
  g.board = E.watch(g.board, 'board');
  g.process = E.watch(g.process, 'process');
  g.global = g;
})(globalThis);

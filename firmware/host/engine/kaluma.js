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
  // src/global.c:969-1123 TextEncoder/TextDecoder: the label must be a string and is kept as given;
  // only "utf-8" and "ascii" work, anything else throws Error "Unsupported encoding." at encode or
  // decode time. encode() requires a string; "ascii" gives one byte per UTF-16 unit (above U+00FF: 0,
  // jerryxx.c:208-238). decode() requires a Uint8Array (other input: Error "input must be
  // Uint8Array."); "ascii" is Latin-1. Invalid UTF-8 decodes to garbage upstream: the fake throws.
  var unesc = unescape;
  var esc = escape;
  var label = function (l) {
    if (l === undefined) return 'utf-8';
    if (typeof l !== 'string') throw new TypeError('"label" argument must be a string');
    return l;
  };
  g.TextEncoder = function TextEncoder(l) { this.encoding = label(l); };
  g.TextEncoder.prototype.encode = function (s) {
    if (typeof s !== 'string') throw new TypeError('"input" argument must be a string');
    var bytes = [];
    if (this.encoding === 'ascii') {
      for (var j = 0; j < s.length; j++) { var c = s.charCodeAt(j); bytes.push(c < 256 ? c : 0); }
      return new Uint8Array(bytes);
    }
    if (this.encoding !== 'utf-8') throw new Error('Unsupported encoding.');
    var u = unesc(encodeURIComponent(s));
    for (var i = 0; i < u.length; i++) bytes.push(u.charCodeAt(i));
    return new Uint8Array(bytes);
  };
  g.TextDecoder = function TextDecoder(l) { this.encoding = label(l); };
  g.TextDecoder.prototype.decode = function (u8) {
    if (u8 === undefined) throw new TypeError('"input" argument required');
    if (!(u8 instanceof Uint8Array)) throw new Error('input must be Uint8Array.');
    var s = '';
    for (var i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
    if (this.encoding === 'ascii') return s;
    if (this.encoding !== 'utf-8') throw new Error('Unsupported encoding.');
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
  // module_flash.c:64-66, 100-102: block must be a number, buffer a TypedArray, offset a number if given.
  var flashArgs = function (block, buffer, offset) {
    if (typeof block !== 'number') throw new TypeError('"block" argument must be a number');
    if (!buffer || !(buffer.buffer instanceof ArrayBuffer) || typeof buffer.BYTES_PER_ELEMENT !== 'number') throw new TypeError('"buffer" argument must be an TypedArray');
    if (offset !== undefined && typeof offset !== 'number') throw new TypeError('"offset" argument must be a number');
  };
  Flash.prototype.read = function (block, buffer, offset) {
    flashArgs(block, buffer, offset);
    var at = (this.base + block) * 4096 + (offset || 0);
    var whole = new Uint8Array(buffer.buffer);
    for (var i = 0; i < buffer.length; i++) whole[i] = area.read(at + i);
  };
  Flash.prototype.write = function (block, buffer, offset) {
    flashArgs(block, buffer, offset);
    var at = (this.base + block) * 4096 + (offset || 0);
    if (at % 256 !== 0 || buffer.length % 256 !== 0) return;
    var whole = new Uint8Array(buffer.buffer);
    for (var i = 0; i < buffer.length; i++) area.program(at + i, whole[i]);
  };
  Flash.prototype.ioctl = function (op, arg) {
    if (typeof op !== 'number') throw new TypeError('"op" argument must be a number');
    if (op === 4) return this.count;
    if (op === 5) return 4096;
    if (op === 7) return 256;
    if (op === 6) { area.erase(this.base + arg); return 0; }
    if (op >= 1 && op <= 3) return 0;
    return -1;
  };

  // src/modules/net/net.js over src/modules/pico_cyw43/module_pico_cyw43.c (the Pico W's driver),
  // as read at tag 1.2.1:
  // - 16 socket slots for everything (KM_MAX_SOCKET_NO, :51); listen() takes one.
  // - createServer(options, listener) passes `options` as the listener (net.js:238-241, 141-151):
  //   createServer(fn) works, createServer({}, fn) throws TypeError.
  // - listen(port, cb): socket() throws Error "WiFi is not connected." while the station is down
  //   (:610-614); otherwise 'listening' is emitted before listen() returns; never 'error' (every
  //   native callback gets errno 0 on the RP2040).
  // - Every accepted Socket's callbacks are set on the listening socket's native object
  //   (net.js:166-170, 21-42) and the driver hands every connection's bytes to it (read_fd =
  //   server_fd, :737-758): all data arrives as 'data' (a Uint8Array) on the newest Socket.
  //   remoteAddress is always '0.0.0.0' (raddr.addr = 0, :836-837).
  // - write(chunk, cb): a Uint8Array is buffered as a byte string, anything else as String(chunk);
  //   cb is called at once; the buffer is sent on the next tick (stream.js:126-201); a slot that is
  //   not connected drops it silently, a reused slot sends it to the newer connection (:1014-1069).
  // - end(): flush on the next tick, then a half-close (FIN) and 'finish'; no 'end', no 'close'.
  //   destroy(): full close and 'close' at once. A peer's close emits nothing and frees the slot
  //   (:733-735); server.close() also emits 'close' on the newest Socket (:716-723).
  // - Exceptions in handlers called from the driver are swallowed (:767, 877, 720, 1145, 1313):
  //   the fake records them in E.net.swallowed so that tests can require none.
  // - A lost Wi-Fi link changes nothing in JS: the server stays (bound to any address), new
  //   connections wait for the link.
  var SLOTS = 16;
  E.net = { slots: [], swallowed: [] };
  var freeSlot = function () { for (var i = 0; i < SLOTS; i++) if (!E.net.slots[i]) return i; return -1; };
  var native = function (fn) { try { fn(); } catch (e) { E.net.swallowed.push(String(e && e.message ? e.message : e)); } };
  var closeSlot = function (fd) {
    var s = E.net.slots[fd];
    if (!s) return;
    if (s.client) s.client.closed = true;
    E.net.slots[fd] = undefined;
  };
  function Socket(fd, server) {
    var ev = E.emitter();
    this.on = ev.on;
    this.emit = ev.emit;
    this._forget = ev.forget;
    this._fd = fd;
    this.localAddress = E.wifi.ip;
    this.localPort = server.port;
    this.remoteAddress = '0.0.0.0';
    this.remotePort = 0;
    this.destroyed = false;
    this.writableEnded = false;
    this._wbuf = '';
  }
  Socket.prototype.once = function (name, fn) {
    var done = false;
    this.on(name, function (v) { if (!done) { done = true; fn(v); } });
  };
  Socket.prototype._flush = function () {
    if (!this._wbuf) return;
    var data = this._wbuf;
    this._wbuf = '';
    var s = E.net.slots[this._fd];
    if (s && s.client) E.deliver(s.client, data);
  };
  Socket.prototype.write = function (chunk, cb) {
    if (this.writableEnded) return this._wbuf.length === 0;
    if (chunk) this._wbuf += chunk instanceof Uint8Array ? String.fromCharCode.apply(null, chunk) : String(chunk);
    var self = this;
    g.setTimeout(function () { self._flush(); }, 0);
    if (cb) cb();
    return this._wbuf.length === 0;
  };
  Socket.prototype.end = function (chunk, cb) {
    if (chunk) this._wbuf += chunk instanceof Uint8Array ? String.fromCharCode.apply(null, chunk) : String(chunk);
    if (cb) this.once('finish', cb);
    this.writableEnded = true;
    var self = this;
    g.setTimeout(function () {
      self._flush();
      var s = E.net.slots[self._fd];
      if (s && s.client) s.client.ended = true;
      native(function () { self.emit('finish'); });
    }, 0);
  };
  Socket.prototype.destroy = function () {
    if (this.destroyed) return;
    closeSlot(this._fd);
    this.destroyed = true;
    var self = this;
    native(function () { self.emit('close'); });
    self._forget();
  };
  function Server(listener) {
    var ev = E.emitter();
    this.on = ev.on;
    this.emit = ev.emit;
    if (listener !== undefined) {
      if (typeof listener !== 'function') throw new TypeError('listener must be a function');
      this.on('connection', listener);
    }
    this.listening = false;
    this._newest = null;
  }
  Server.prototype.listen = function (port, cb) {
    if (!E.wifi.joined) throw new Error('WiFi is not connected.');
    var fd = freeSlot();
    if (fd < 0) { var full = new Error('Remote I/O error'); full.errno = -121; throw full; }
    var server = this;
    E.net.slots[fd] = { server: server };
    server._fd = fd;
    server.port = port;
    server.listening = true;
    E.server = server;
    E.onConnect = function (client) {
      var cfd = E.wifi.joined && server.listening ? freeSlot() : -1;
      if (cfd < 0) { client.refused = client.closed = true; return; }
      E.net.slots[cfd] = { client: client, server: server };
      client.fd = cfd;
      var socket = new Socket(cfd, server);
      server._newest = socket;
      native(function () { server.emit('connection', socket); });
    };
    if (cb) server.on('listening', cb);
    native(function () { server.emit('listening'); });
    return server;
  };
  Server.prototype.close = function (cb) {
    closeSlot(this._fd);
    this.listening = false;
    E.onConnect = null;
    E.server = null;
    var newest = this._newest;
    if (newest && !newest.destroyed) { newest.destroyed = true; native(function () { newest.emit('close'); }); }
    this.emit('close');
    if (cb) cb();
  };
  // One pass of the driver's poll: each client's next segment (one pbuf, up to 1460 bytes), and peers' closes.
  E.pollers.push(function () {
    var ran = 0;
    for (var i = 0; i < E.clients.length; i++) {
      var c = E.clients[i];
      if (!c || c.fd === undefined || c.closed) continue;
      var s = E.net.slots[c.fd];
      if (!s || s.client !== c) continue;
      if (c.closedByClient) { E.net.slots[c.fd] = undefined; c.closed = true; ran++; continue; }
      var chunk = c.take(1460);
      if (!chunk) continue;
      ran++;
      var server = s.server;
      if (!server.listening || !server._newest) continue;
      var newest = server._newest;
      var data = new Uint8Array(chunk);
      native(function () { newest.emit('data', data); });
    }
    return ran;
  });
  var net = {
    createServer: function (options, listener) { return new Server(options); },
    Socket: Socket,
    Server: Server,
  };
  // src/modules/rp2/module_rp2.c: randomBigInt() returns 128 bits as a BigInt. src/global.c
  // process_binding_fn: process.binding(name) returns a native module's exports (each call a new
  // object), and process.binding[name] === name for every native module.
  var rp2 = {
    randomBigInt: function () {
      var hex = '';
      for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
      return BigInt('0x' + hex);
    },
  };
  var natives = { rp2: function () { return { randomBigInt: rp2.randomBigInt }; } };
  g.process.binding = function (name) {
    if (typeof name !== 'string') throw new TypeError('"native_module_name" argument must be a string');
    return natives[name] ? E.watch(natives[name](), 'process.binding(' + name + ')') : undefined;
  };
  g.process.binding.rp2 = 'rp2';
  // src/modules/wdt/module_wdt.c: enabled at construction, cannot be disabled.
  function WDT(timeout) {
    if (typeof timeout !== 'number') throw new TypeError('"timeout" argument must be a number');
    this.timeout = timeout;
    E.watchdog = timeout;
  }
  WDT.prototype.feed = function () {};
  // src/modules/wifi/wifi.js over src/modules/pico_cyw43/module_pico_cyw43.c: new WiFi() throws
  // without the CYW43 (Pico) and wires the driver's callbacks to 'associated', 'connected',
  // 'disconnected' (wifi.js:10-18; one device object, so the newest WiFi gets them). connect()
  // needs an ssid, takes password and security from Kaluma's `storage` when they are missing
  // (wifi.js:66-85), and blocks in the driver; on success it emits 'associated' then 'connected'
  // and then calls back cb(null, info) (:460-476). On failure it emits nothing and still calls back
  // cb(null, info): the errno reaches JS as 0 on the RP2040 (notes of module_pico_cyw43.c:492-496).
  // getConnection(cb): cb(null, {ssid, bssid}) while the link is up, cb(null, undefined) when it is
  // down (:537-579). 'disconnected' follows wifi.disconnect() only: a lost link emits nothing.
  // Networks the fake knows: E.wifi.networks (ssid -> password); the station's network is
  // E.wifi.joined; E.wifi.drop() plays the access point going away, E.wifi.up(ssid) a station
  // already joined before the program started.
  E.wifi = { networks: {}, joined: null, attempts: 0, device: null, ip: undefined };
  E.wifi.drop = function () { E.wifi.joined = null; };
  E.wifi.up = function (ssid) { E.wifi.joined = ssid; E.wifi.ip = '192.168.1.50'; };
  function WiFi() {
    if (g.board.name !== 'pico-w') throw new Error('IEEE 802.11 device not found');
    var events = E.emitter();
    this.on = events.on;
    this.emit = events.emit;
    E.wifi.device = this;
    return E.watch(this, 'WiFi instance');
  }
  WiFi.prototype.connect = function (connectInfo, cb) {
    if (typeof connectInfo === 'function') { cb = connectInfo; connectInfo = null; }
    if (!connectInfo) connectInfo = { enforce: false };
    if (!connectInfo.ssid) { if (cb) cb(new Error('WIFI SSID is required')); return; }
    if (typeof connectInfo.ssid !== 'string') throw new TypeError('SSID error');
    if (!connectInfo.password || !connectInfo.security) E.wifi.usedStorage = true;
    if (!connectInfo.enforce && E.wifi.joined) { if (cb) cb(null, { ssid: E.wifi.joined, bssid: '' }); return; }
    E.wifi.attempts++;
    var known = Object.prototype.hasOwnProperty.call(E.wifi.networks, connectInfo.ssid);
    if (known && E.wifi.networks[connectInfo.ssid] === (connectInfo.password || '')) {
      E.wifi.up(connectInfo.ssid);
      var device = E.wifi.device;
      if (device) { device.emit('associated'); device.emit('connected'); }
    } else {
      E.wifi.joined = null;
    }
    if (cb) cb(null, connectInfo);
  };
  WiFi.prototype.getConnection = function (cb) {
    if (cb) cb(null, E.wifi.joined ? { ssid: E.wifi.joined, bssid: '' } : undefined);
  };
  WiFi.prototype.disconnect = function (cb) {
    E.wifi.joined = null;
    if (E.wifi.device) E.wifi.device.emit('disconnected');
    if (cb) cb(null);
  };
  var modules = { flash: { Flash: Flash }, net: net, rp2: rp2, wdt: { WDT: WDT }, wifi: { WiFi: WiFi } };
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

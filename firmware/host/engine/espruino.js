// Espruino 2v29 on ESP32 as the device bundle sees it, for the engine check. Each piece names the
// upstream file (espruino/Espruino at RELEASE_2V29) whose behaviour it reproduces.
(function (g) {
  var X = __engine;
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
  var rand = 1;
  g.E = {
    // src/jswrap_espruino.c: E.toString(Uint8Array) is a byte string.
    toString: function (u8) { var s = ''; for (var i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i] & 0xff); return s; },
    // targets/esp32/jshardware.c: rand() with a fixed seed.
    hwRand: function () { rand = (rand * 1103515245 + 12345) & 0x7fffffff; return rand; },
    reboot: function () { X.rebooted = true; },
    setConsole: function (device) { X.console = device; },
    lockConsole: function () {},
  };
  // src/jswrap_flash.c with targets/esp32/jshardware.c: 4 MB; read(len, addr) -> Uint8Array;
  // write(data, addr) read-modify-writes unaligned edges in 4-byte words and only clears bits;
  // erasePage(addr) erases the 4 KB sector holding addr.
  var flash = X.sparseFlash(4 * 1024 * 1024);
  var Flash = {
    getPage: function (addr) { return addr >= flash.size ? undefined : { addr: addr & ~0xfff, length: 4096 }; },
    getFree: function () { return [{ addr: 0xe000, length: 0x2000 }, { addr: 0x310000, length: 0x10000 }, { addr: 0x360000, length: 0xa0000 }]; },
    erasePage: function (addr) {
      if (typeof addr !== 'number') throw new Error('Address must be an integer');
      flash.erase(addr >> 12);
    },
    write: function (data, addr) { for (var i = 0; i < data.length; i++) flash.program(addr + i, data[i]); },
    read: function (length, addr) {
      if (length <= 0) return undefined;
      var out = new Uint8Array(length);
      for (var i = 0; i < length; i++) out[i] = flash.read(addr + i);
      return out;
    },
  };
  // libs/network/http/jswrap_http.c: header names keep the client's case; body as byte-string
  // 'data' events, then 'end'; writeHead(status, headers); write() of a non-string sends its
  // jsvAsString form ("1,2,3"); listen(port) has no callback.
  function request(method, url, headers, body, segment) {
    var req = X.emitter();
    req.method = method;
    req.url = url;
    req.headers = headers;
    var res = { statusCode: 200, headers: {}, body: [], ended: false };
    var bytes = function (s) { var out = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff; return out; };
    res.writeHead = function (status, h) { res.statusCode = status; for (var k in h) res.headers[k] = h[k]; };
    res.write = function (chunk) { res.body.push(bytes(typeof chunk === 'string' ? chunk : String(chunk))); };
    res.end = function (chunk) { if (chunk !== undefined) res.write(chunk); res.ended = true; };
    X.server.listener(req, res);
    var step = segment || 536;
    for (var at = 0; at < body.length; at += step) req.emit('data', g.E.toString(body.subarray(at, at + step)));
    req.emit('end');
    return res;
  }
  var http = {
    createServer: function (listener) {
      if (typeof listener !== 'function') throw new Error('Expecting a function');
      var server = { listener: listener, port: 0, listening: false };
      server.listen = function (port) { server.port = port; server.listening = true; X.server = server; X.request = request; return server; };
      server.close = function () { server.listening = false; X.server = null; };
      return server;
    },
  };
  var TelnetServer = { setOptions: function (o) { X.telnet = o.mode; } };
  var modules = { Flash: Flash, http: http, TelnetServer: TelnetServer };
  g.require = function (id) {
    if (!modules[id]) throw new Error('Module ' + id + ' not found');
    return modules[id];
  };
  g.global = g;
})(globalThis);

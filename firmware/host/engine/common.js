// Shared by the runtime fakes: evaluated first inside the engine. Defines the timer queue the
// engine check drives, console output to the host, and the control object `__engine`.
// Written in the subset both runtimes run, since the globals they lack are deleted afterwards.
var __engine = (function () {
  // Captured before the globals a runtime lacks (Proxy, Reflect on Espruino) are deleted.
  var HasProxy = typeof Proxy === 'function' ? Proxy : null;
  var HasReflect = typeof Reflect === 'object' ? Reflect : null;
  var timers = [];
  var nextId = 1;
  var clock = 0;
  var engine = {
    server: null,
    now: function () { return clock; },
    /** Runs every timer due within `ms` of simulated time; returns how many ran. */
    advance: function (ms) {
      var until = clock + ms;
      var ran = 0;
      for (;;) {
        var best = -1;
        for (var i = 0; i < timers.length; i++) {
          if (timers[i].at <= until && (best < 0 || timers[i].at < timers[best].at)) best = i;
        }
        if (best < 0) break;
        var t = timers[best];
        if (t.at > clock) clock = t.at;
        if (t.every > 0) t.at = clock + t.every; else timers.splice(best, 1);
        ran++;
        t.cb();
      }
      clock = until;
      return ran;
    },
    pending: function () { return timers.length; },
    /** Delivers a request (body as hex) through the runtime's fake http module. */
    send: function (method, url, headers, hex, segment) {
      var body = new Uint8Array(hex.length / 2);
      for (var i = 0; i < body.length; i++) body[i] = parseInt(hex.substr(i * 2, 2), 16);
      return engine.request(method, url, headers, body, segment);
    },
    addTimer: function (cb, ms, every) {
      if (typeof cb !== 'function') throw new TypeError('callback must be a function');
      var id = nextId++;
      timers.push({ id: id, at: clock + (ms > 0 ? ms : 0), every: every ? (ms > 1 ? ms : 1) : 0, cb: cb });
      return id;
    },
    clearTimer: function (id) {
      for (var i = 0; i < timers.length; i++) if (timers[i].id === id) { timers.splice(i, 1); return; }
    },
    log: function (args) {
      var parts = [];
      for (var i = 0; i < args.length; i++) parts.push(String(args[i]));
      __host_log(parts.join(' '));
    },
    /**
     * Sparse NOR flash of `size` bytes in 4 KB sectors, allocated on first change (an engine
     * configured like the device has no room for a whole flash image): erased reads 0xff,
     * programming ANDs. Tests preload it with flash.load(address, bytes).
     */
    sparseFlash: function (size) {
      var sectors = {};
      var sector = function (n, create) {
        if (!sectors[n] && create) sectors[n] = new Uint8Array(4096).fill(0xff);
        return sectors[n];
      };
      var flash = {
        size: size,
        read: function (at) { var s = sector(at >> 12, false); return s ? s[at & 4095] : 0xff; },
        program: function (at, value) { var s = sector(at >> 12, true); s[at & 4095] &= value; },
        erase: function (n) { delete sectors[n]; },
        load: function (at, bytes) { for (var i = 0; i < bytes.length; i++) flash.program(at + i, bytes[i]); },
      };
      engine.flash = flash;
      return flash;
    },
    /**
     * Members a device bundle read from a runtime object that the fake does not have: the fakes
     * must cover every runtime API the bindings use, so the engine check reports these and tests
     * require the list to be empty. Real engines (no Proxy on Espruino) get the object itself.
     */
    missing: [],
    watch: function (target, name) {
      if (!HasProxy) return target;
      return new HasProxy(target, {
        get: function (t, key, receiver) {
          if (typeof key === 'string' && !(key in t) && key !== 'toJSON' && key !== 'then') {
            var what = name + '.' + key;
            if (engine.missing.indexOf(what) < 0) engine.missing.push(what);
          }
          return HasReflect.get(t, key, receiver);
        },
      });
    },
    /** A minimal event emitter, as both runtimes' stream objects are. */
    emitter: function () {
      var handlers = {};
      return {
        on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); return this; },
        emit: function (name, value) {
          var list = handlers[name] || [];
          for (var i = 0; i < list.length; i++) list[i](value);
        },
      };
    },
  };
  return engine;
})();

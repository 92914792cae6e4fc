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
  // The flash's bytes live on the host when the engine check provides __host_flash (engine.ts): they
  // are the device's flash, not its heap, so memory figures leave them out, and they outlive a boot
  // (a reboot is a new engine over the same flash). On a real engine (real-engines.ts) they live here.
  var hostFlash = typeof __host_flash === 'function' ? __host_flash : null;
  var localRegions = {};
  var localMeta = {};
  /** One TCP client of the device (see `engine.connect`). */
  function Client(id) {
    this.id = id;
    this.queue = [];
    this.at = 0;
    this.flood = 0;
    this.floodPattern = null;
    this.floodAt = 0;
    this.segment = 0;
    this.every = 0;
    this.nextAt = 0;
    this.sent = 0;
    this.inbox = [];
    this.refused = false;
    this.ended = false;
    this.closed = false;
    this.closedByClient = false;
    this.endAfterQueue = false;
    this.resetByPeer = false;
  }
  Client.prototype.send = function (hex, segment, every) {
    var b = new Uint8Array(hex.length / 2);
    for (var i = 0; i < b.length; i++) b[i] = parseInt(hex.substr(i * 2, 2), 16);
    this.queue.push(b);
    if (segment) this.segment = segment;
    if (every) this.every = every;
    return this;
  };
  /** `count` more bytes repeating `pattern` (hex), generated as they are sent. */
  Client.prototype.floodWith = function (pattern, count) {
    this.floodPattern = new Uint8Array(pattern.length / 2);
    for (var i = 0; i < this.floodPattern.length; i++) this.floodPattern[i] = parseInt(pattern.substr(i * 2, 2), 16);
    this.flood += count;
    return this;
  };
  /** Up to `max` bytes due now, or null (nothing queued, or a slow client's next segment not yet due). */
  Client.prototype.take = function (max) {
    if (this.closed || this.closedByClient) return null;
    if (this.every && clock < this.nextAt) return null;
    var n = this.segment && this.segment < max ? this.segment : max;
    var out = null;
    if (this.queue.length) {
      var head = this.queue[0];
      out = head.subarray(this.at, this.at + n);
      this.at += out.length;
      if (this.at >= head.length) { this.queue.shift(); this.at = 0; }
    } else if (this.flood > 0) {
      out = new Uint8Array(n < this.flood ? n : this.flood);
      var p = this.floodPattern;
      for (var k = 0; k < out.length; k++) out[k] = p[(this.floodAt + k) % p.length];
      this.floodAt += out.length;
      this.flood -= out.length;
    }
    if (out) { this.sent += out.length; this.nextAt = clock + this.every; }
    return out;
  };
  Client.prototype.pendingBytes = function () {
    var n = this.flood;
    for (var i = 0; i < this.queue.length; i++) n += this.queue[i].length;
    return n - this.at;
  };
  Client.prototype.close = function () { this.closedByClient = true; };
  /** Closes once every queued byte has gone (a server's answer, then its FIN). */
  Client.prototype.end = function () { this.endAfterQueue = true; };
  /** Resets the connection (a peer the device connected to: its RST). */
  Client.prototype.reset = function () { this.resetByPeer = true; };
  /** The queue has gone and the peer asked to close after it (or closed outright). */
  Client.prototype.finished = function () { return this.closedByClient || (this.endAfterQueue && this.pendingBytes() === 0); };
  Client.prototype.hex = function () {
    var s = '';
    for (var i = 0; i < this.inbox.length; i++) s += (this.inbox[i] | 256).toString(16).substr(1);
    return s;
  };
  Client.prototype.state = function () {
    return { refused: this.refused, ended: this.ended, closed: this.closed, sent: this.sent, received: this.inbox.length, pending: this.pendingBytes() };
  };
  var engine = {
    server: null,
    now: function () { return clock; },
    /**
     * One pass of the runtime's event loop, then every timer due within `ms` of simulated time.
     * A pass first lets the runtime fake's network deliver what its clients sent (`pollers`: one
     * chunk per connection per pass, as both runtimes read sockets from their idle loop). Returns
     * how many deliveries and timers ran.
     */
    advance: function (ms) {
      var until = clock + ms;
      var ran = 0;
      if (engine.reset) { clock = until; return 0; }
      var w = engine.watchdog;
      // An automatic watchdog is kicked by every pass of the idle loop (Espruino's JSIS_WATCHDOG_AUTO):
      // simulated time passes in the idle loop, so only code that never returns to it (which the
      // engine check stops by its deadline) would let it fire.
      if (w && w.auto) w.fedAt = until;
      for (var p = 0; p < engine.pollers.length; p++) ran += engine.pollers[p]();
      for (;;) {
        var best = -1;
        for (var i = 0; i < timers.length; i++) {
          if (timers[i].at <= until && (best < 0 || timers[i].at < timers[best].at)) best = i;
        }
        if (best < 0) break;
        var t = timers[best];
        w = engine.watchdog;
        if (w && !w.auto && t.at - w.fedAt > w.timeout) { clock = w.fedAt + w.timeout; engine.stop('watchdog'); return ran; }
        if (t.at > clock) clock = t.at;
        if (t.every > 0) t.at = clock + t.every; else timers.splice(best, 1);
        ran++;
        t.cb();
        if (engine.reset) return ran;
        if (engine.watchdog && engine.watchdog.auto) engine.watchdog.fedAt = until;
      }
      w = engine.watchdog;
      if (w && !w.auto && until - w.fedAt > w.timeout) { clock = w.fedAt + w.timeout; engine.stop('watchdog'); return ran; }
      clock = until;
      return ran;
    },
    pending: function () { return timers.length; },
    /**
     * Why the device stopped, or null while it runs: "watchdog" (armed and not fed in time) or
     * "reboot" (the runtime's own reset). Nothing runs afterwards: the next boot is a new engine.
     */
    reset: null,
    /** The armed watchdog: { timeout ms, fedAt, auto (kicked by each pass of the event loop) }, or null. */
    watchdog: null,
    arm: function (timeout, auto) { engine.watchdog = { timeout: timeout, fedAt: clock, auto: !!auto }; },
    kick: function () { if (engine.watchdog) engine.watchdog.fedAt = clock; },
    stop: function (why) {
      if (engine.reset) return;
      engine.reset = why;
      timers = [];
    },
    pollers: [],
    /**
     * TCP clients of the device (the engine check's side of a connection). The runtime fake's
     * network sets `onConnect(client)` while a server listens; until then a connection is refused.
     * A client sends queued bytes in segments (`send`), possibly one segment every `every` ms of
     * simulated time (a slow client), or a flood of one byte value generated as it goes; it
     * collects what the device sends, and whether the device ended (FIN) or closed it.
     */
    clients: [],
    onConnect: null,
    connect: function () {
      var c = new Client(engine.clients.length);
      engine.clients.push(c);
      if (engine.onConnect) engine.onConnect(c);
      else c.refused = c.closed = true;
      return c;
    },
    /**
     * Peers the device connects to (hal/net.ts `connect`), by "address:port": `listenAt(address,
     * port)` makes one reachable and returns it; each connection the device opens there is a Client
     * (the other side of the same object the device's own clients are: `send`, `inbox`, `end`,
     * `close`, `reset`) pushed on its `connections`. An address nothing listens at refuses.
     * `names[name]` is the IPv4 address a DNS lookup of `name` finds; absent, the name is not
     * found; null, the lookup is never answered.
     */
    peers: {},
    names: {},
    listenAt: function (address, port) {
      var p = { connections: [] };
      engine.peers[address + ':' + port] = p;
      return p;
    },
    /** The peer's side of a new connection to address:port, or null when nothing listens there. */
    dial: function (address, port) {
      var p = engine.peers[address + ':' + port];
      if (!p) return null;
      var c = new Client(-1);
      p.connections.push(c);
      return c;
    },
    /** Forgets client `id` once the host has read its answer (its bytes are the harness's, not the device's). */
    release: function (id) {
      var c = engine.clients[id];
      if (c) { c.closedByClient = true; c.inbox = []; c.queue = []; }
      engine.clients[id] = null;
    },
    /** Bytes the device sends to client `c` (a Uint8Array, or a byte string). */
    deliver: function (c, data) {
      if (c.closed || c.closedByClient) return;
      for (var i = 0; i < data.length; i++) c.inbox.push(typeof data === 'string' ? data.charCodeAt(i) & 255 : data[i]);
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
     * A region of NOR flash named `name`, in 4 KB sectors: erased reads 0xff, programming ANDs,
     * erasing a sector sets it back to 0xff. read(at, n) gives a new Uint8Array; program(at, bytes)
     * takes a Uint8Array or an array. On the host when it provides one (see `hostFlash`).
     */
    region: function (name) {
      if (hostFlash) {
        return {
          read: function (at, n) { return new Uint8Array(hostFlash('read', name, at, n)); },
          program: function (at, bytes) { var b = new Uint8Array(bytes.length); b.set(bytes); hostFlash('program', name, at, b.buffer); },
          erase: function (sector) { hostFlash('erase', name, sector, 0); },
          drop: function () { hostFlash('drop', name, 0, 0); },
        };
      }
      var sectors = localRegions[name] || (localRegions[name] = {});
      return {
        read: function (at, n) {
          var out = new Uint8Array(n);
          for (var i = 0; i < n; i++) { var s = sectors[(at + i) >> 12]; out[i] = s ? s[(at + i) & 4095] : 0xff; }
          return out;
        },
        program: function (at, bytes) {
          for (var i = 0; i < bytes.length; i++) {
            var n = (at + i) >> 12;
            if (!sectors[n]) sectors[n] = new Uint8Array(4096).fill(0xff);
            sectors[n][(at + i) & 4095] &= bytes[i];
          }
        },
        erase: function (sector) { delete sectors[sector]; },
        drop: function () { delete localRegions[name]; sectors = {}; },
      };
    },
    /** A small JSON value kept with the flash (a runtime's file directory): meta(key) reads it, meta(key, value) writes it. */
    meta: function (key, value) {
      if (hostFlash) {
        if (value === undefined) { var text = hostFlash('meta', key, 0, ''); return text ? JSON.parse(text) : undefined; }
        hostFlash('meta', key, 0, JSON.stringify(value));
        return value;
      }
      if (value !== undefined) localMeta[key] = JSON.stringify(value);
      return localMeta[key] === undefined ? undefined : JSON.parse(localMeta[key]);
    },
    /**
     * The board's NOR flash of `size` bytes (the region "flash"): read(at) and program(at, value)
     * byte by byte, readRange(at, n) and programRange(at, bytes), erase(sector); tests preload it
     * with flash.load(address, bytes).
     */
    sparseFlash: function (size) {
      var r = engine.region('flash');
      var flash = {
        size: size,
        read: function (at) { return r.read(at, 1)[0]; },
        program: function (at, value) { r.program(at, [value]); },
        readRange: r.read,
        programRange: r.program,
        erase: function (n) { r.erase(n); },
        load: function (at, bytes) { r.program(at, bytes); },
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
        /**
         * Drops every listener once the object can emit nothing more (a closed socket). The runtimes'
         * collectors free such a socket with its listeners; QuickJS in this WebAssembly build never
         * runs its cycle collector (its malloc accounting is empty), so the fakes cut the cycle.
         */
        forget: function () { handlers = {}; },
      };
    },
  };
  return engine;
})();

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
    new Uint8Array(buffer.buffer).set(area.readRange(at, buffer.length));
  };
  Flash.prototype.write = function (block, buffer, offset) {
    flashArgs(block, buffer, offset);
    var at = (this.base + block) * 4096 + (offset || 0);
    if (at % 256 !== 0 || buffer.length % 256 !== 0) return;
    area.programRange(at, new Uint8Array(buffer.buffer, 0, buffer.length));
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

  // The Pico W's network device as board.js creates it at boot (targets/rp2/boards/pico-w/board.js:
  // global.__netdev = new PicoCYW43Network()), read from src/modules/pico_cyw43/module_pico_cyw43.c
  // at tag 1.2.1. Hoshi's binding uses it directly rather than net.js, whose stream layer would
  // cost 7.7 KB of heap and whose sockets hide a peer's close.
  // - socket(domain, protocol): "STREAM" or "DGRAM" (else TypeError), throws Error "WiFi is not
  //   connected." while the station's link is down and no access point is open (:610-614), a
  //   SystemError when the 16 slots are taken (:615-618); returns the fd and sets this.ip, the
  //   station's address or, in AP mode, the access point's gateway (:590-674, 651-660).
  // - get(fd): the slot's native object {fd, ptcl, state, laddr, lport, raddr, rport}, undefined for a
  //   free slot (:676-683). Callbacks are its properties: accept_cb, read_cb, close_cb, shutdown_cb.
  // - bind(fd, addr, port, cb) and listen(fd, cb): errno 0 or -1 in the `errno` property (:1165-1320).
  // - An accepted connection gets the lowest free slot, an object of its own (raddr "0.0.0.0", rport
  //   0: :836-861), and the listening object's accept_cb(fd) is called (:824-887). Every byte of
  //   every accepted connection goes to the LISTENING object's read_cb, as a Uint8Array, without its
  //   fd (read_fd = server_fd, :730-781). A peer's close frees the slot and calls the accepted
  //   object's own close_cb (:685-728, 733-735).
  // - write(fd, data, cb): data must be a string, sent one byte per character (:1014-1069); errno -1
  //   when the slot is not connected. close(fd, cb): frees the slot, closes the connection, calls its
  //   close_cb (:1071-1099). shutdown(fd, 1, cb): FIN (:1101-1163).
  // - connect(fd, addr, port, cb) (:900-1010): addr is resolved by lwIP's DNS for IPv4
  //   (dns_gethostbyname_addrtype, :910-941): a dotted quad at once; a name while the call
  //   blocks, up to 3 s, then Error "DNS response timeout." or "DNS Error: IP is not found."
  //   (errno -1, cb not called). Then tcp_connect: errno 0, state 2 (NET_SOCKET_STATE_CONNECTED,
  //   :48, 990) and cb(0) at once, before the handshake. The socket's connect_cb is called once
  //   the peer accepts (__net_client_connect_cb, :802-822); its bytes go to its own read_cb (its
  //   server_fd is -1, :619, 737-738); the peer's FIN calls its close_cb (:733-735). tcp_err is
  //   set to NULL (:963): a refused connection or a reset is never reported (lwIP frees the pcb;
  //   the slot stays until close()).
  // - Callbacks are called synchronously; their exceptions are swallowed (:767, 877, 720): the fake
  //   records them in E.net.swallowed so that tests can require none.
  // - A lost Wi-Fi link changes nothing for a listening socket (bound to any address). A chip reset
  //   (km_cyw43_deinit, :138-167: disable_ap_mode, a failed ap_mode) frees every slot and releases
  //   its object without calling any callback; lwIP closes the connections (their clients see them
  //   end) and the listening socket.
  var SLOTS = 16;
  E.net = { slots: [], swallowed: [] };
  var freeSlot = function () { for (var i = 0; i < SLOTS; i++) if (!E.net.slots[i]) return i; return -1; };
  var native = function (fn, arg) { if (typeof fn !== 'function') return; try { fn(arg); } catch (e) { E.net.swallowed.push(String(e && e.message ? e.message : e)); } };
  var closeSlot = function (fd) {
    var s = E.net.slots[fd];
    if (!s) return;
    E.net.slots[fd] = undefined;
    if (s.client) s.client.closed = true;
    if (s.peer) s.peer.closed = true;
    if (s.listening) { E.server = null; E.onConnect = null; }
    native(s.obj.close_cb);
  };
  function PicoCYW43Network() { this.errno = 0; }
  PicoCYW43Network.prototype.socket = function (domain, protocol) {
    if (typeof domain !== 'string') throw new TypeError('"domain" argument must be a string');
    if (typeof protocol !== 'string') throw new TypeError('"protocol" argument must be a string');
    if (protocol !== 'STREAM' && protocol !== 'DGRAM') throw new TypeError('un-supported domain or protocol.');
    if (!E.wifi.joined && !E.wifi.ap) throw new Error('WiFi is not connected.');
    var fd = freeSlot();
    if (fd < 0) { var full = new Error('Remote I/O error'); full.errno = -121; throw full; }
    this.mac = '28:CD:C1:00:00:01';
    this.ip = E.wifi.ap ? E.wifi.ap.gateway : E.wifi.ip;
    E.net.slots[fd] = { obj: { fd: fd, ptcl: protocol, state: 0, laddr: this.ip, lport: 0, raddr: '0.0.0.0', rport: 0 } };
    return fd;
  };
  PicoCYW43Network.prototype.get = function (fd) {
    if (typeof fd !== 'number') throw new TypeError('"fd" argument must be a number');
    var s = E.net.slots[fd];
    return s ? s.obj : undefined;
  };
  PicoCYW43Network.prototype.bind = function (fd, addr, port, cb) {
    var s = E.net.slots[fd];
    this.errno = s ? 0 : -1;
    if (s) { s.obj.lport = port; s.obj.state = 1; }
    if (cb) native(cb, 0);
  };
  PicoCYW43Network.prototype.listen = function (fd, cb) {
    var s = E.net.slots[fd];
    this.errno = s ? 0 : -1;
    if (s) {
      // NET_SOCKET_STATE_LISTENING (module_pico_cyw43.c:49, set at :1297).
      s.obj.state = 3;
      s.listening = true;
      E.server = { listening: true, port: s.obj.lport };
      E.onConnect = function (client) {
        var cfd = (E.wifi.joined || E.wifi.ap) && E.net.slots[fd] === s ? freeSlot() : -1;
        if (cfd < 0) { client.refused = client.closed = true; return; }
        var obj = { fd: cfd, ptcl: 'STREAM', state: 3, laddr: s.obj.laddr, lport: s.obj.lport, raddr: '0.0.0.0', rport: 0 };
        E.net.slots[cfd] = { obj: obj, client: client, server: fd };
        client.fd = cfd;
        native(s.obj.accept_cb, cfd);
      };
    }
    if (cb) native(cb, 0);
  };
  PicoCYW43Network.prototype.write = function (fd, data, cb) {
    if (typeof fd !== 'number') throw new TypeError('"fd" argument must be a number');
    if (typeof data !== 'string') throw new TypeError('"data" argument must be a string');
    var s = E.net.slots[fd];
    // tcp_write with TCP_WRITE_FLAG_COPY (:1030) takes the whole string or nothing: ERR_MEM past the
    // send buffer, TCP_SND_BUF = 8 * TCP_MSS = 11,680 bytes (src/modules/pico_cyw43/lwipopts.h:33-34),
    // less what the peer has not acknowledged yet; any error sets errno -1. The peer here
    // acknowledges at the driver's next poll pass (below).
    if (s && (s.client || s.peer) && (s.unacked || 0) + data.length <= 11680) {
      var bytes = [];
      for (var i = 0; i < data.length; i++) { var c = data.charCodeAt(i); bytes.push(c < 256 ? c : 0); }
      s.unacked = (s.unacked || 0) + data.length;
      E.deliver(s.client || s.peer, bytes);
      this.errno = 0;
    } else {
      this.errno = -1;
    }
    if (cb) native(cb, 0);
  };
  PicoCYW43Network.prototype.connect = function (fd, addr, port, cb) {
    if (typeof fd !== 'number') throw new TypeError('"fd" argument must be a number');
    if (typeof addr !== 'string') throw new TypeError('"addr" argument must be a string');
    if (typeof port !== 'number') throw new TypeError('"port" argument must be a number');
    if (cb !== undefined && typeof cb !== 'function') throw new TypeError('"callback" argument must be a function');
    var s = E.net.slots[fd];
    this.errno = -1;
    if (s && s.obj.state === 0) {
      var ip = addr;
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr)) {
        ip = E.names[addr];
        if (ip === null) throw new Error('DNS response timeout.');
        if (ip === undefined) throw new Error('DNS Error: IP is not found.');
      }
      s.obj.raddr = ip;
      s.obj.rport = port & 0xffff;
      s.obj.state = 2;
      s.outgoing = true;
      s.peer = E.dial(ip, port & 0xffff);
      this.errno = 0;
    }
    if (cb) native(cb, this.errno);
  };
  PicoCYW43Network.prototype.close = function (fd, cb) {
    if (typeof fd !== 'number') throw new TypeError('"fd" argument must be a number');
    closeSlot(fd);
    this.errno = 0;
    if (cb) native(cb, 0);
  };
  PicoCYW43Network.prototype.shutdown = function (fd, how, cb) {
    var s = E.net.slots[fd];
    this.errno = s ? 0 : -1;
    if (s && s.client && how !== 0) s.client.ended = true;
    if (s) native(s.obj.shutdown_cb);
    if (cb) native(cb, 0);
  };
  // One pass of the driver's poll (cyw43_arch_poll from the main loop): each client's next segment
  // (one pbuf, up to 1460 bytes) to the listening object's read_cb, and peers' closes.
  E.pollers.push(function () {
    var ran = 0;
    for (var i = 0; i < E.clients.length; i++) {
      var c = E.clients[i];
      if (!c || c.fd === undefined || c.closed) continue;
      var s = E.net.slots[c.fd];
      if (!s || s.client !== c) continue;
      if (s.unacked) { s.unacked = 0; ran++; }
      if (c.closedByClient) { closeSlot(c.fd); ran++; continue; }
      var chunk = c.take(1460);
      if (!chunk) continue;
      ran++;
      var server = E.net.slots[s.server];
      if (!server || !server.listening) continue;
      native(server.obj.read_cb, new Uint8Array(chunk));
    }
    return ran;
  });
  // The same pass for connections the device opened (connect): the handshake's end (connect_cb),
  // then the peer's next segment to the socket's own read_cb, its FIN (close_cb). Nothing for a
  // connection nothing accepted, or one the peer reset: lwIP tells JavaScript nothing (tcp_err NULL).
  E.pollers.push(function () {
    var ran = 0;
    for (var fd = 0; fd < SLOTS; fd++) {
      var s = E.net.slots[fd];
      if (!s || !s.peer || s.dead) continue;
      var p = s.peer;
      if (p.resetByPeer) { s.dead = true; ran++; continue; }
      if (!s.established) { s.established = true; ran++; native(s.obj.connect_cb); continue; }
      if (s.unacked) { s.unacked = 0; ran++; }
      if (p.finished()) { closeSlot(fd); ran++; continue; }
      var chunk = p.take(1460);
      if (!chunk) continue;
      ran++;
      native(s.obj.read_cb, new Uint8Array(chunk));
    }
    return ran;
  });
  // PicoCYW43WIFI (:229-579), global.__ieee80211dev of board.js. connect(info, cb) blocks in the
  // driver (30 s at most) and returns; on success errno is 0 and assoc_cb then connect_cb are called,
  // then cb; on failure errno is -1 and only cb is called. The errno handed to cb reaches JS as 0 on
  // the RP2040 (a double converted to a jerry value): the `errno` property is what tells.
  // get_connection(cb): errno 0 and cb(errno, {ssid, bssid}) while the link is up, errno -1 and
  // cb(errno) when it is down. disconnect(cb): leaves, calls disconnect_cb. A lost link calls nothing.
  // Networks the fake knows: E.wifi.networks (ssid -> password); the station's network is
  // E.wifi.joined; E.wifi.drop() plays the access point going away, E.wifi.up(ssid) a station already
  // joined before the program started.
  // AP mode (:1325-1455): ap_mode(apInfo, cb) requires apInfo (TypeError '"apInfo" argument
  // required'); its ssid must be a string (TypeError "SSID error"; cut to 32 characters); a string
  // password under 8 characters throws Error "PASSWORD need to have at least 8 characters" (no
  // password at all would hand the driver NULL with WPA2-AES: the fake refuses that too, naming
  // itself); gateway (default "192.168.4.1") and subnetMask (default "255.255.255.0") must be dotted
  // quads (Error "Can't decode Gateway IP Address", "Can't decode Subnet Mask") and are set as the
  // device's properties. Then the access point is up (WPA2-AES, a DHCP server), errno 0, and cb(0).
  // When the DHCP server does not start (the fake: E.wifi.apFails = an lwIP error), the chip is reset
  // (km_cyw43_deinit) and errno is that error. A second ap_mode is not refused.
  // disable_ap_mode() throws Error "WiFi AP_mode is not enabled." unless the access point is open,
  // then resets the chip: every socket gone as above, the station's link too, the chip back in
  // station mode. E.wifi.ap is the open access point ({ssid, password, gateway}) or null;
  // E.wifi.joinAp(password) plays a client joining it (true when it is open and the password its).
  E.wifi = { networks: {}, joined: null, attempts: 0, ip: undefined, ap: null, apFails: 0 };
  E.wifi.drop = function () { E.wifi.joined = null; };
  E.wifi.up = function (ssid) { E.wifi.joined = ssid; E.wifi.ip = '192.168.1.50'; };
  E.wifi.joinAp = function (password) { return !!E.wifi.ap && E.wifi.ap.password === password; };
  var deinit = function () {
    for (var i = 0; i < SLOTS; i++) {
      var s = E.net.slots[i];
      if (!s) continue;
      E.net.slots[i] = undefined;
      if (s.client) s.client.closed = true;
      if (s.peer) s.peer.closed = true;
      if (s.listening) { E.server = null; E.onConnect = null; }
    }
    E.wifi.joined = null;
    E.wifi.ap = null;
  };
  var quad = function (v, fallback, message) {
    var text = typeof v === 'string' ? v : fallback;
    var parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    for (var i = 1; parts && i < 5; i++) if (+parts[i] > 255) parts = null;
    if (!parts) throw new Error(message);
    return text;
  };
  // The callback slots start empty (the driver reads them as undefined; declared here so that the
  // watch on this object does not count the fake's own reads as the bundle's).
  function PicoCYW43WIFI() { this.errno = 0; this.assoc_cb = undefined; this.connect_cb = undefined; this.disconnect_cb = undefined; this.gateway = undefined; this.subnetMask = undefined; }
  PicoCYW43WIFI.prototype.connect = function (info, cb) {
    if (info === undefined) throw new TypeError('"connectInfo" argument required');
    if (typeof info.ssid !== 'string') throw new TypeError('SSID error');
    if (typeof info.password !== 'string' || typeof info.security !== 'string') E.wifi.usedDefaults = true;
    E.wifi.attempts++;
    var known = Object.prototype.hasOwnProperty.call(E.wifi.networks, info.ssid);
    if (known && E.wifi.networks[info.ssid] === (info.password || '')) {
      E.wifi.up(info.ssid);
      this.errno = 0;
      native(this.assoc_cb);
      native(this.connect_cb);
    } else {
      E.wifi.joined = null;
      this.errno = -1;
    }
    if (cb) native(cb, 0);
  };
  PicoCYW43WIFI.prototype.get_connection = function (cb) {
    this.errno = E.wifi.joined ? 0 : -1;
    var info = E.wifi.joined ? { ssid: E.wifi.joined, bssid: '' } : undefined;
    if (cb) { try { if (info) cb(0, info); else cb(0); } catch (e) { E.net.swallowed.push(String(e && e.message ? e.message : e)); } }
  };
  PicoCYW43WIFI.prototype.ap_mode = function (info, cb) {
    if (info === undefined) throw new TypeError('"apInfo" argument required');
    if (arguments.length > 1 && typeof cb !== 'function') throw new TypeError('"callback" argument must be a function');
    if (typeof info.ssid !== 'string') throw new TypeError('SSID error');
    if (typeof info.password === 'string' && info.password.length < 8) throw new Error('PASSWORD need to have at least 8 characters');
    if (typeof info.password !== 'string') throw new Error('engine check: ap_mode without a password hands the driver NULL with WPA2-AES');
    this.gateway = quad(info.gateway, '192.168.4.1', "Can't decode Gateway IP Address");
    this.subnetMask = quad(info.subnetMask, '255.255.255.0', "Can't decode Subnet Mask");
    if (E.wifi.apFails) {
      deinit();
      this.errno = E.wifi.apFails;
    } else {
      E.wifi.ap = { ssid: info.ssid.substr(0, 32), password: info.password, gateway: this.gateway };
      this.errno = 0;
    }
    if (cb) native(cb, 0);
  };
  PicoCYW43WIFI.prototype.disable_ap_mode = function () {
    if (!E.wifi.ap) throw new Error('WiFi AP_mode is not enabled.');
    deinit();
  };
  PicoCYW43WIFI.prototype.disconnect = function (cb) {
    E.wifi.joined = null;
    this.errno = 0;
    native(this.disconnect_cb);
    if (cb) native(cb, 0);
  };
  g.__netdev = E.watch(new PicoCYW43Network(), '__netdev');
  g.__ieee80211dev = E.watch(new PicoCYW43WIFI(), '__ieee80211dev');
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
  // src/modules/wdt/module_wdt.c over targets/rp2/src/wdt.c: enabled at construction with the
  // timeout in ms (clamped to 0x7fffff; the RP2040 itself counts at most ≈ 8.3 s: pico-sdk
  // hardware_watchdog), cannot be disabled; a second WDT re-arms it with its own timeout; feed()
  // restarts the count. Not fed in time, it resets the chip (E.reset === 'watchdog').
  function WDT(timeout) {
    if (typeof timeout !== 'number') throw new TypeError('"timeout" argument must be a number');
    this.timeout = timeout;
    E.arm(Math.min(timeout >>> 0, 0x7fffff, 8388), false);
  }
  WDT.prototype.feed = function () { E.kick(); };
  var modules = { flash: { Flash: Flash }, rp2: rp2, wdt: { WDT: WDT } };
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

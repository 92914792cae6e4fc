import test, { type ExecutionContext } from 'ava';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostNet } from '../boards/host/net';
import { httpGet, parseHttpUrl, resolveHttpUrl, type HttpFailure, type HttpUrl } from '../firmware/device/core/http-client';
import type { Net } from '../hal/net';

/**
 * The device's HTTP client (firmware/device/core/http-client.ts) over the host board's TCP client
 * (boards/host/net.ts), against a raw TCP server that answers whatever each case scripts: the
 * responses a hostile or broken release server could send. Each ends in one specific code, the
 * connection closed, `done` called once; nothing of a refused response's body reaches the sink.
 */

const net = hostNet();

interface Scripted {
  server: Server;
  url: HttpUrl;
  /** The request bytes each connection sent (as latin1). */
  requests: string[];
}

/** A server that answers each connection with `answer(socket)` once the request's head is in. */
async function serve(t: ExecutionContext, answer: (socket: Socket) => void): Promise<Scripted> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let text = '';
    let answered = false;
    const index = requests.length;
    requests.push('');
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      requests[index] = text;
      if (!answered && text.includes('\r\n\r\n')) {
        answered = true;
        answer(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  return { server, requests, url: { host: '127.0.0.1', port, path: '/releases/latest.cose' } };
}

interface Outcome {
  failure: HttpFailure | undefined;
  length: number;
  body: Buffer;
  pieces: number;
  doneCalls: number;
  /** `done` was not called from inside httpGet. */
  later: boolean;
}

function get(url: HttpUrl, o: { limit?: number; timeoutMs?: number; sink?: (offset: number, bytes: Uint8Array, length: number) => HttpFailure | undefined; on?: Net } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let pieces = 0;
    let doneCalls = 0;
    let inside = true;
    let later = false;
    let expected = 0;
    httpGet(o.on ?? net, {
      url,
      limit: o.limit ?? 1 << 20,
      timeoutMs: o.timeoutMs ?? 3000,
      body(offset, bytes, length) {
        if (offset !== expected) throw new Error('a piece at ' + offset + ', expected ' + expected);
        expected += bytes.length;
        pieces++;
        parts.push(Buffer.from(bytes));
        return o.sink ? o.sink(offset, bytes, length) : undefined;
      },
      done(failure, length) {
        doneCalls++;
        later = !inside;
        // A second call would show here.
        setTimeout(() => resolve({ failure, length, body: Buffer.concat(parts), pieces, doneCalls, later }), 50);
      },
    });
    inside = false;
  });
}

function respond(head: string, body: string | Buffer = '', close = true): (socket: Socket) => void {
  return (socket) => {
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]));
    if (close) socket.end();
  };
}

async function refused(t: ExecutionContext, answer: (socket: Socket) => void, code: string, o: { limit?: number; timeoutMs?: number } = {}): Promise<Outcome> {
  const s = await serve(t, answer);
  const out = await get(s.url, o);
  t.is(out.failure?.code, code, JSON.stringify(out.failure));
  t.true((out.failure?.reason.length ?? 0) > 0);
  t.is(out.doneCalls, 1);
  t.true(out.later, 'done is called from a timer');
  return out;
}

test('a 200 with a Content-Length body: the exact request, the body in order, done once after the close', async (t) => {
  const body = Buffer.alloc(100000, 7);
  body[99999] = 1;
  const s = await serve(t, respond('HTTP/1.1 200 OK\r\nContent-Type: application/cose\r\nContent-Length: 100000\r\n\r\n', body));
  const out = await get(s.url);
  t.is(out.failure, undefined);
  t.is(out.length, 100000);
  t.true(out.body.equals(body));
  t.true(out.later);
  t.is(out.doneCalls, 1);
  t.deepEqual(s.requests, ['GET /releases/latest.cose HTTP/1.1\r\nHost: 127.0.0.1:' + s.url.port + '\r\nConnection: close\r\n\r\n']);
});

test('the response split into one-byte writes, and an empty body', async (t) => {
  const text = 'HTTP/1.0 200 \r\ncontent-length:  5 \r\nX: y\r\n\r\nhello';
  const s = await serve(t, (socket) => {
    let i = 0;
    const next = (): void => {
      if (i === text.length) return void socket.end();
      socket.write(text[i++]!, next);
    };
    next();
  });
  const out = await get(s.url);
  t.is(out.failure, undefined);
  t.is(out.body.toString(), 'hello');
  const empty = await serve(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const none = await get(empty.url);
  t.is(none.failure, undefined);
  t.is(none.length, 0);
  t.is(none.pieces, 0);
});

test('a body of 8 MB reaches the sink in pieces as it arrives', async (t) => {
  const size = 8 << 20;
  const s = await serve(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: ' + size + '\r\n\r\n');
    const chunk = Buffer.alloc(1 << 16, 0x5a);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  let biggest = 0;
  let total = 0;
  const out = await new Promise<HttpFailure | undefined>((resolve) =>
    httpGet(net, {
      url: s.url,
      limit: size,
      timeoutMs: 20000,
      body(_offset, bytes) {
        biggest = Math.max(biggest, bytes.length);
        total += bytes.length;
        return undefined;
      },
      done: (failure) => resolve(failure),
    }),
  );
  t.is(out, undefined);
  t.is(total, size);
  t.true(biggest <= 1 << 16, 'pieces as they arrive, never the whole: ' + biggest);
});

test('a head past 2 KB: refused at its 2,049th byte, whatever follows', async (t) => {
  const out = await refused(t, respond('HTTP/1.1 200 OK\r\nX-Filler: ' + 'a'.repeat(2100) + '\r\nContent-Length: 1\r\n\r\nx'), 'http-head-too-large');
  t.is(out.pieces, 0);
  // A head that never ends, sent until the client closes.
  await refused(
    t,
    (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const flood = setInterval(() => {
        if (socket.destroyed) return clearInterval(flood);
        socket.write('X: ' + 'b'.repeat(1000) + '\r\n');
      }, 1);
      socket.on('close', () => clearInterval(flood));
    },
    'http-head-too-large',
  );
});

test('framing: no Content-Length, two (equal or not), a bad one, chunked, any Transfer-Encoding', async (t) => {
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\nbody'), 'http-no-length');
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nbody'), 'http-bad-length');
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 4\r\ncontent-length: 5\r\n\r\nbody'), 'http-bad-length');
  for (const v of ['4, 4', '-1', '+4', '0x4', '4a', '1234567890', '', ' ']) {
    await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: ' + v + '\r\n\r\nbody'), 'http-bad-length');
  }
  await refused(t, respond('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n'), 'http-chunked');
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: identity\r\n\r\nbody'), 'http-chunked');
});

test('the body: shorter than declared, longer (in the same write or later), bytes after it', async (t) => {
  const short = await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 'http-truncated');
  t.is(short.body.toString(), 'abc');
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef'), 'http-excess');
  await refused(
    t,
    (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
      setTimeout(() => socket.end('HTTP/1.1 200 OK\r\n\r\n'), 50);
    },
    'http-excess',
  );
  // The server keeps the connection open after the body although the request said close: the time runs out.
  await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', '', false), 'http-timeout', { timeoutMs: 300 });
});

test('limits: a body over the caller\'s limit is refused before any of it is read', async (t) => {
  const out = await refused(t, respond('HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n', Buffer.alloc(1025)), 'http-too-large', { limit: 1024 });
  t.is(out.pieces, 0);
});

test('time: a slow drip past the timeout, a server that never answers', async (t) => {
  await refused(
    t,
    (socket) => {
      const text = 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100);
      let i = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || i >= text.length) return clearInterval(drip);
        socket.write(text[i++]!);
      }, 10);
      socket.on('close', () => clearInterval(drip));
    },
    'http-timeout',
    { timeoutMs: 400 },
  );
  const out = await refused(t, () => undefined, 'http-timeout', { timeoutMs: 200 });
  t.regex(out.failure!.reason, /no whole response head/);
});

test('the connection: refused, reset in the body, closed before any response, unresolvable name', async (t) => {
  const gone = await serve(t, () => undefined);
  const port = gone.url.port;
  await new Promise<void>((resolve) => gone.server.close(() => resolve()));
  const refusedOut = await get({ host: '127.0.0.1', port, path: '/' });
  t.is(refusedOut.failure?.code, 'net-refused');
  await refused(
    t,
    (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc');
      setTimeout(() => socket.resetAndDestroy(), 50);
    },
    'net-reset',
  );
  await refused(t, (socket) => socket.end(), 'http-closed');
  await refused(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-'), 'http-closed');
  const unresolved = await get({ host: 'release.invalid', port: 80, path: '/' }, { timeoutMs: 8000 });
  t.true(unresolved.failure?.code === 'net-unresolved' || unresolved.failure?.code === 'http-timeout', JSON.stringify(unresolved.failure));
  const none = await get({ host: '127.0.0.1', port: 1, path: '/' }, { on: { ...net, connect: undefined } });
  t.is(none.failure?.code, 'net-absent');
});

test('status: anything but 200 is refused at the status line, a redirect never followed', async (t) => {
  for (const status of [301, 302, 307, 308]) {
    const s = await serve(t, respond('HTTP/1.1 ' + status + ' Moved\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n'));
    const out = await get(s.url);
    t.is(out.failure?.code, 'http-status');
    t.is(out.failure?.status, status);
    t.regex(out.failure!.reason, /redirect/);
    t.is(s.requests.length, 1, 'one request: the redirect is not followed');
  }
  for (const status of [100, 204, 206, 404, 500, 503]) {
    const out = await refused(t, respond('HTTP/1.1 ' + status + ' X\r\nContent-Length: 4\r\n\r\nbody'), 'http-status');
    t.is(out.failure?.status, status);
    t.is(out.pieces, 0);
  }
});

test('malformed heads: status lines, field lines, bare LF or CR, obs-fold, injected fields', async (t) => {
  const heads = [
    'HTTP/2 200 OK\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\nx',
    'ICY 200 OK\r\nContent-Length: 1\r\n\r\nx',
    '\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\nContent-Length: 1\n\nx',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\nx',
    'HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX-A\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX\x7fY: 1\r\nContent-Length: 1\r\n\r\nx',
  ];
  for (const h of heads) {
    const out = await refused(t, respond(h), 'http-malformed');
    t.is(out.pieces, 0, JSON.stringify(h));
  }
  // A value that carries its own CRLF cannot exist: a field that looks injected is just another field,
  // and the framing fields it could carry are refused as duplicates.
  await refused(t, respond('HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx'), 'http-bad-length');
});

test('the sink refuses: the GET ends with its refusal, the connection closed', async (t) => {
  let closed = false;
  const s = await serve(t, (socket) => {
    socket.on('close', () => (closed = true));
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
  });
  const out = await get(s.url, { sink: () => ({ code: 'key-unknown', reason: 'the sink says no' }) });
  t.deepEqual(out.failure, { code: 'key-unknown', reason: 'the sink says no' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.true(closed);
});

test('URLs: http only, host and port, a path of visible ASCII; references resolved against the pointer', (t) => {
  t.deepEqual(parseHttpUrl('http://192.168.1.10:8000/acme/HS-PLUG-01/kaluma-kaluma-pico-w/latest.cose'), { host: '192.168.1.10', port: 8000, path: '/acme/HS-PLUG-01/kaluma-kaluma-pico-w/latest.cose' });
  t.deepEqual(parseHttpUrl('HTTP://updates.example.com/latest.cose?x=1'), { host: 'updates.example.com', port: 80, path: '/latest.cose?x=1' });
  t.deepEqual(parseHttpUrl('http://example.com'), { host: 'example.com', port: 80, path: '/' });
  for (const bad of [
    'https://example.com/latest.cose',
    'ftp://example.com/x',
    'http://user:pw@example.com/x',
    'http://[::1]/x',
    'http://example.com:0/x',
    'http://example.com:65536/x',
    'http://example.com:/x',
    'http://example.com:80a/x',
    'http:///x',
    'http://exa mple.com/x',
    'http://example.com/a b',
    'http://example.com/a\r\nHost: evil',
    'http://example.com/a#frag',
    'http://example.com/\u00e9',
    'http://example.com/' + 'a'.repeat(200),
    '',
  ]) {
    t.is(parseHttpUrl(bad), undefined, bad);
  }
  t.is(parseHttpUrl(42 as unknown as string), undefined);
  const base = parseHttpUrl('http://h:81/a/b/latest.cose?v=2')!;
  t.deepEqual(resolveHttpUrl(base, '0.2.0.hoshi'), { host: 'h', port: 81, path: '/a/b/0.2.0.hoshi' });
  t.deepEqual(resolveHttpUrl(parseHttpUrl('http://h/latest.cose')!, '1.0.0.hoshi').path, '/1.0.0.hoshi');
});

import type { ExecutionContext } from 'ava';
import type { EngineReply, EngineRequest } from '../firmware/host/engine';

/** The hostile-request suite's cases (test/http-hostile.test.ts runs them on every binding). */

export const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const HOST = 'Host: 192.168.1.50\r\n';

/** The flood was not read past the limit (on real sockets the kernel's buffers take much of it anyway). */
const unread = (t: ExecutionContext, r: EngineReply, where: string, least: number): void => {
  if (where !== 'host') t.true(r.unsent > least, `${where}: ${r.unsent} bytes unsent`);
};

export interface Case {
  name: string;
  request: EngineRequest;
  /** Expected status (0: closed without an answer), and error code when it is a refusal. */
  status: number;
  code?: string;
  /** Further checks of the reply. */
  check?: (t: ExecutionContext, reply: EngineReply, timeoutMs: number, where: string) => void;
}

export const raw = (s: string, extra: Partial<EngineRequest> = {}): EngineRequest => ({ method: 'RAW', url: '', raw: enc(s), ...extra });

export const CASES: Case[] = [
  { name: 'a plain GET', request: { method: 'GET', url: '/api/info' }, status: 200 },
  {
    name: 'HEAD on a GET route: headers and Content-Length, no body',
    request: { method: 'HEAD', url: '/api/info' },
    status: 200,
    check: (t, r) => {
      t.true(Number(r.headers['content-length']) > 100);
      t.is(r.body.length, 0);
    },
  },
  {
    name: 'every answer has no-store, nosniff and closes',
    request: { method: 'GET', url: '/nowhere' },
    status: 404,
    code: 'not-found',
    check: (t, r) => {
      t.is(r.headers['cache-control'], 'no-store');
      t.is(r.headers['x-content-type-options'], 'nosniff');
      t.is(r.headers['connection'], 'close');
      t.is(r.headers['content-type'], 'application/json');
    },
  },
  { name: 'a 1 MB request line', request: raw('GET /', { flood: { byte: 0x61, count: 1 << 20 } }), status: 414, code: 'uri-too-long', check: (t, r, _ms, where) => unread(t, r, where, 900000) },
  { name: '1 MB of headers', request: raw('GET / HTTP/1.1\r\n' + HOST + 'X-Big: ', { flood: { byte: 0x61, count: 1 << 20 } }), status: 431, code: 'header-too-large', check: (t, r, _ms, where) => unread(t, r, where, 900000) },
  { name: '20,000 headers', request: raw('GET / HTTP/1.1\r\n' + HOST, { flood: { pattern: 'X: 1\r\n', count: 6 * 20000 } }), status: 431, code: 'header-too-large' },
  {
    name: 'a 10 MB body is refused before it is read',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 10485760\r\n\r\n', { flood: { byte: 0x62, count: 10485760 } }),
    status: 413,
    code: 'body-too-large',
    check: (t, r, _ms, where) => unread(t, r, where, 10000000),
  },
  {
    name: 'a 10 MB chunked body is refused past the limit',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\nA00000\r\n', { flood: { byte: 0x62, count: 10485760 } }),
    status: 413,
    code: 'body-too-large',
    check: (t, r, _ms, where) => unread(t, r, where, 10000000),
  },
  {
    name: 'the body is cut to its Content-Length',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 4\r\n\r\nabcdEFGHIJKLMNOP'),
    status: 200,
    check: (t, r) => t.deepEqual(JSON.parse(r.text), { length: 4, start: 'abcd', query: '' }),
  },
  {
    name: 'a chunked body is decoded',
    request: raw('POST /echo?x=1 HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'),
    status: 200,
    check: (t, r) => t.deepEqual(JSON.parse(r.text), { length: 5, start: 'abcde', query: 'x=1' }),
  },
  { name: 'two Content-Length headers', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 1\r\nContent-Length: 1\r\n\r\na'), status: 400 },
  { name: 'Content-Length differing only in case', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 999\r\ncontent-length: 1\r\n\r\na'), status: 400 },
  { name: 'Content-Length with Transfer-Encoding', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), status: 400 },
  { name: 'a transfer coding other than chunked', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'), status: 501 },
  { name: 'a chunk size that is not hex', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\nzz\r\n'), status: 400 },
  { name: 'a negative chunk size', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n'), status: 400 },
  { name: 'a chunk size of 9 hex digits', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\nfffffffff\r\n'), status: 400 },
  { name: 'chunk data longer than its size', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n'), status: 400 },
  { name: 'a malformed Content-Length', request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: -4\r\n\r\n'), status: 400 },
  { name: 'obs-fold', request: raw('GET /api/info HTTP/1.1\r\n' + HOST + 'X: a\r\n b\r\n\r\n'), status: 400 },
  { name: 'a bare LF', request: raw('GET /api/info HTTP/1.1\n' + HOST + '\r\n'), status: 400 },
  { name: 'no Host in HTTP/1.1', request: raw('GET /api/info HTTP/1.1\r\n\r\n'), status: 400 },
  { name: 'a Host the device does not answer to (DNS rebinding)', request: raw('GET /api/info HTTP/1.1\r\nHost: attacker.example\r\n\r\n'), status: 421, code: 'misdirected-request' },
  { name: 'a declared host name, with a port', request: raw('GET /api/info HTTP/1.1\r\nHost: ECHO.local:80\r\n\r\n'), status: 200 },
  { name: 'HTTP/1.0 without Host', request: raw('GET /api/info HTTP/1.0\r\n\r\n'), status: 200 },
  { name: 'an unknown version', request: raw('GET /api/info HTTP/2.0\r\n' + HOST + '\r\n'), status: 505 },
  { name: 'an unknown method', request: raw('BREW /api/info HTTP/1.1\r\n' + HOST + '\r\n'), status: 501 },
  {
    name: 'pipelined requests: the first is answered, then the connection closes',
    request: raw('GET /api/info HTTP/1.1\r\n' + HOST + '\r\nGET /nowhere HTTP/1.1\r\n' + HOST + '\r\n'),
    status: 200,
    check: (t, r) => t.is((Buffer.from(r.body).toString('latin1').match(/HTTP\/1\.1/g) ?? []).length, 0),
  },
  {
    name: 'a route that needs admin is refused from the head: no 100 Continue, the body is never read',
    request: raw('PUT /admin HTTP/1.1\r\n' + HOST + 'Content-Length: 4000\r\nExpect: 100-continue\r\n\r\n', { flood: { byte: 0x63, count: 4000 }, everyMs: 0 }),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'Expect: 100-continue on a route that serves it',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 3\r\nExpect: 100-continue\r\n\r\nxyz'),
    status: 200,
    check: (t, r) => t.deepEqual(JSON.parse(r.text), { length: 3, start: 'xyz', query: '' }),
  },
  {
    name: 'slow headers (a byte at a time) are answered 408 at the timeout',
    request: raw('GET /api/info HTTP/1.1\r\n' + HOST + 'X-Slow: ' + 'a'.repeat(400), { segment: 1, everyMs: 50 }),
    status: 408,
    code: 'request-timeout',
    check: (t, r, timeout) => t.true(r.ms <= timeout + 1000, r.ms + ' ms'),
  },
  {
    name: 'a slow body is answered 408 at the timeout',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 4000\r\n\r\n' + 'd'.repeat(4000), { segment: 10, everyMs: 100 }),
    status: 408,
    code: 'request-timeout',
    check: (t, r, timeout) => t.true(r.ms <= timeout + 1000, r.ms + ' ms'),
  },
  {
    name: 'a short body is answered 408 and the connection closed',
    request: raw('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 100\r\n\r\nonly ten.'),
    status: 408,
    code: 'request-timeout',
  },
];


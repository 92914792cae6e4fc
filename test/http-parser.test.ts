import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { runInEngine } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import {
  HTTP_REFUSALS,
  newRequestParser,
  parseRequest,
  PARSE_BODY,
  PARSE_DONE,
  PARSE_FAILED,
  PARSE_HEAD,
  type RequestParser,
} from '../firmware/device/core/http-parser';
import { feedRequest, type FeedResult } from './fixtures/http-parser-entry';
import { bundleFixture } from './helpers';

/**
 * The request parser against Node's own (llhttp, strict mode) on the same bytes: generated valid
 * requests, a hostile corpus and random mutations; then its limits and memory, split independence,
 * and the same requests on the built device bundles in the engine check.
 */

const MAX_HEAD = 8192;
const MAX_BODY = 65536;
/** Node's limit is far above the parser's, so that the parser's own limits are what is tested. */
const NODE_MAX_HEAD = 65536;

/**
 * Where the parser refuses what Node accepts, on purpose. Any other refusal of a request Node
 * accepts fails the test.
 */
const INTENTIONAL: { [code: string]: string } = {
  'bad-request-line': 'Node skips bare-LF empty lines before the request line, and takes several spaces between the parts, HTTP/0.9 lines without a version, and a target with a fragment, any scheme, userinfo or "*" with any method; RFC 9112 §2.2, §3 and §3.2 do not',
  'version-not-supported': 'Node takes HTTP/0.9 and HTTP/2.0 request lines as messages; only 1.0 and 1.1 are served',
  'not-implemented': 'only GET HEAD POST PUT DELETE OPTIONS PATCH are served (Node knows some thirty more methods), and only "chunked" alone as a transfer coding (Node passes others through undecoded)',
  'expectation-failed': 'Node takes any list holding 100-continue, and any Expect in HTTP/1.0; only exactly 100-continue is',
  'uri-too-long': 'the device head limit is below the Node test server\'s',
  'header-too-large': 'the device head limit is below the Node test server\'s',
  'body-too-large': 'the device body limit; Node has none',
  // Codes whose other refusals must agree with Node: only these reasons are intentional ("*": any end).
  'bad-header: repeated *': 'Node silently keeps the first copy of a single-value field (Host included, which RFC 9112 §3.2 requires to refuse); a second copy is refused',
  'bad-header: host': 'Node does not check the Host value; RFC 9112 §3.2 requires 400 for an invalid one',
  'bad-header: __proto__': 'Node drops a field named __proto__; it is refused',
  'bad-header: content-length': 'Node takes Content-Length of any number of digits; at most 9 are (bodies are far smaller)',
  'bad-header: transfer-encoding': 'Node takes Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1: 400)',
  'bad-chunk: extension': 'Node takes chunk extensions; clients send none, and a recipient may refuse them',
  'bad-chunk: trailer': 'Node takes trailer fields; clients send none, and a recipient may refuse them',
  'bad-chunk: size': 'Node takes chunk sizes with any number of leading zeros; at most 8 hex digits are',
};

/** The intentional strictness a refusal falls under, if any. */
function intentional(code: string, reason: string): string | undefined {
  const refusal = code + ': ' + reason;
  const key = Object.keys(INTENTIONAL).find((k) => k === code || k === refusal || (k.endsWith('*') && refusal.startsWith(k.slice(0, -1))));
  return key === undefined ? undefined : INTENTIONAL[key];
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness (the seed is logged; HOSHI_SEED reproduces a run).

const SEED = process.env.HOSHI_SEED ? Number(process.env.HOSHI_SEED) : (Date.now() % 1000000007) >>> 0;
let rngState = SEED >>> 0;
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)];
const chance = (p: number): boolean => random() < p;
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function randomSplits(length: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 1 + int(6); i++) out.push(1 + int(Math.max(2, chance(0.5) ? 8 : length)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generators.

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TCHAR = ALNUM + "!#$%&'*+-.^_`|~";
const PATH_CHARS = ALNUM + "-._~!$&'()*+,;=:@" + '"<>\\^`{|}';
const QUERY_CHARS = PATH_CHARS + '/?';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

function word(chars: string, min: number, max: number): string {
  let s = '';
  const n = min + int(max - min + 1);
  for (let i = 0; i < n; i++) s += chars[int(chars.length)];
  return s;
}

function randomCase(s: string): string {
  let out = '';
  for (const c of s) out += chance(0.5) ? c.toUpperCase() : c.toLowerCase();
  return out;
}

function pctWord(): string {
  return chance(0.2) ? '%' + pick([...'0123456789abcdefABCDEF']) + pick([...'0123456789ABCDEF']) : '';
}

function genHost(): string {
  const host = pick(['example.com', 'device.local', '192.168.1.20', '[::1]', '[fe80::1]', 'a-b.c_d~e', word(ALNUM + '-.', 1, 20) + pctWord()]);
  return host + (chance(0.4) ? ':' + int(65536) : '');
}

function genOriginTarget(): string {
  let t = '';
  const segments = int(5);
  for (let i = 0; i < segments; i++) t += '/' + word(PATH_CHARS, 0, 12) + pctWord();
  if (t === '') t = '/';
  if (chance(0.5)) t += '?' + word(QUERY_CHARS, 0, 30);
  return t;
}

function genTarget(method: string): string {
  if (method === 'OPTIONS' && chance(0.15)) return '*';
  if (chance(0.12)) {
    let t = randomCase('http') + '://' + genHost();
    if (chance(0.7)) t += genOriginTarget();
    else if (chance(0.5)) t += '?' + word(QUERY_CHARS, 0, 10);
    return t;
  }
  return genOriginTarget();
}

/** A field value: visible ASCII, inner spaces and tabs, obs-text, optional surrounding OWS. */
function genValue(): string {
  let v = '';
  const n = int(40);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.8) v += String.fromCharCode(0x21 + int(94));
    else if (r < 0.9) v += ' ';
    else if (r < 0.93) v += '\t';
    else v += String.fromCharCode(0x80 + int(128));
  }
  const ows = (): string => (chance(0.2) ? pick([' ', '  ', '\t', ' \t']) : '');
  return ows() + v + ows();
}

const LIST_FIELDS = ['Accept', 'Accept-Language', 'Cache-Control', 'X-Request-Id', 'X-Custom', 'Cookie', 'Forwarded', 'Via', 'Set-Cookie', 'Warning', 'Constructor'];
const SINGLE_FIELDS = ['Content-Type', 'User-Agent', 'Authorization', 'Referer', 'If-Modified-Since', 'From', 'Max-Forwards', 'ETag', 'Server'];

interface Generated {
  bytes: Buffer;
  label: string;
}

function genChunkExt(): string {
  let s = '';
  const n = chance(0.6) ? 0 : 1 + int(3);
  for (let i = 0; i < n; i++) {
    s += ';' + word(TCHAR, 1, 8);
    if (chance(0.6)) {
      if (chance(0.5)) s += '=' + word(TCHAR, 1, 8);
      else s += '="' + word(ALNUM + ' !#$%&()*+,-./:;<=>?@[]^_`{|}~', 0, 12) + (chance(0.3) ? '\\"' : '') + (chance(0.2) ? '\xe9' : '') + '"';
    }
  }
  return s;
}

/** A chunk size in hex, in either case, sometimes with leading zeros (at most 8 digits in all). */
function genChunkSize(n: number): string {
  let h = n.toString(16);
  if (chance(0.3)) h = randomCase(h);
  if (chance(0.15)) h = '0'.repeat(1 + int(8 - h.length)) + h;
  return h;
}

/**
 * A valid request Node accepts and so must the parser; with `extras`, a chunked one with chunk
 * extensions or trailer fields, which Node accepts and the parser refuses (bad-chunk).
 */
function genValid(extras = false): Generated {
  const method = pick(METHODS);
  const minor = !extras && chance(0.15) ? 0 : 1;
  const target = genTarget(method);
  const fields: [string, string][] = [];
  if (minor === 1 || chance(0.5)) fields.push([randomCase('host'), genHost()]);
  const singles = new Set<string>();
  const count = int(8);
  for (let i = 0; i < count; i++) {
    if (chance(0.4)) {
      const name = pick(SINGLE_FIELDS);
      if (singles.has(name)) continue;
      singles.add(name);
      fields.push([chance(0.3) ? randomCase(name) : name, genValue()]);
    } else fields.push([chance(0.3) ? randomCase(pick(LIST_FIELDS)) : chance(0.5) ? pick(LIST_FIELDS) : 'X-' + word(TCHAR, 1, 16), genValue()]);
  }
  if (chance(0.1)) fields.push([pick(['Expect', 'expect', 'EXPECT']), pick(['100-continue', '100-Continue', ' 100-CONTINUE '])]);
  let body = '';
  const framing = extras ? 2 : minor === 0 ? int(2) : int(3);
  if (framing === 1) {
    const n = chance(0.2) ? 0 : int(3000);
    for (let i = 0; i < n; i++) body += String.fromCharCode(int(256));
    fields.splice(int(fields.length + 1), 0, [randomCase('content-length'), (chance(0.1) ? '00' : '') + String(n)]);
  } else if (framing === 2) {
    fields.splice(int(fields.length + 1), 0, [randomCase('transfer-encoding'), pick(['chunked', 'Chunked', ' chunked  ', '\tCHUNKED'])]);
    const chunks = int(5);
    for (let i = 0; i < chunks; i++) {
      const n = 1 + int(chance(0.5) ? 20 : 900);
      body += genChunkSize(n) + (extras ? genChunkExt() : '') + '\r\n';
      for (let j = 0; j < n; j++) body += String.fromCharCode(int(256));
      body += '\r\n';
    }
    const last = extras ? genChunkExt() : '';
    body += (chance(0.2) ? '000' : '0') + last + '\r\n';
    // with `extras`, at least one extension on the last chunk or one trailer field
    const trailers = !extras || (last && chance(0.6)) ? 0 : 1 + int(3);
    for (let i = 0; i < trailers; i++) body += 'X-' + word(TCHAR, 1, 10) + ':' + genValue() + '\r\n';
    body += '\r\n';
  }
  const lead = chance(0.1) ? '\r\n'.repeat(1 + int(2)) : '';
  const head = lead + method + ' ' + target + ' HTTP/1.' + minor + '\r\n' + fields.map(([n, v]) => n + ':' + (chance(0.8) ? ' ' : '') + v + '\r\n').join('') + '\r\n';
  return { bytes: latin1(head + body), label: (extras ? 'extras ' : 'valid ') + method + (framing === 1 ? ' sized' : framing === 2 ? ' chunked' : '') };
}

const H = (lines: string[], body = ''): string => lines.join('\r\n') + '\r\n\r\n' + body;
const G = (fields: string[], body = '', line = 'POST / HTTP/1.1'): string => H([line, 'Host: example.com', ...fields], body);

/** The hand-written hostile corpus. */
function hostileCorpus(): Generated[] {
  const out: string[] = [
    // request line
    'GET / HTTP/1.1\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\rHost: a\r\n\r\n',
    'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /  HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1 \r\nHost: a\r\n\r\n',
    ' GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /\tHTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /\r\nHost: a\r\n\r\n',
    'GET\r\n\r\n',
    'get / HTTP/1.1\r\nHost: a\r\n\r\n',
    'Get / HTTP/1.1\r\nHost: a\r\n\r\n',
    'TRACE / HTTP/1.1\r\nHost: a\r\n\r\n',
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    'PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'G@T / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.2\r\nHost: a\r\n\r\n',
    'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
    'GET / HTTP/0.9\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.10\r\nHost: a\r\n\r\n',
    'GET / HTTP/1\r\nHost: a\r\n\r\n',
    'GET / http/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.x\r\nHost: a\r\n\r\n',
    'GET / HTTPS/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/11\r\nHost: a\r\n\r\n',
    // targets
    'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /a"<>\\^`{|} HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET a HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET ?a HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n',
    'GET HTTP://Example.COM HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://example.com?q=1 HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://example.com:8080 HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://[::1]:80/x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET https://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://user@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://exa mple/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://ex{ample/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://example.com:8o/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://%zz/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://%41%2f/ HTTP/1.1\r\nHost: a\r\n\r\n',
    "GET http://a!$&'()*+,;=b/ HTTP/1.1\r\nHost: a\r\n\r\n",
    'GET http://a:/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://[::1]x/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://[v1.x]/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://[1]/ HTTP/1.1\r\nHost: [1]\r\n\r\n',
    'GET http://[]/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://a/b#c HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET http://a/b?c#d HTTP/1.1\r\nHost: a\r\n\r\n',
    "GET / HTTP/1.1\r\nHost: a!$&'()*+,;=b:80\r\n\r\n",
    'GET / HTTP/1.1\r\nHost: %41\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET * HTTP/1.1\r\nHost: a\r\n\r\n',
    'OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n',
    'OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n',
    // leading lines, pipelining
    '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    '\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    '\rGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    '\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\x00\r\n\r\n',
    G(['Content-Length: 3'], 'abcGET / HTTP/1.1\r\nHost: a\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\nPOST / HTTP/1.1\r\n'),
    // field lines
    'GET / HTTP/1.1\r\nHost: a\r\n Folded: x\r\n\r\n',
    'GET / HTTP/1.1\r\n Host: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tz\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX\t: y\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX y: z\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX\xe9: z\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: \xe9\xff\x80\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\t\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX:\r\nX: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: y\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r',
    'GET / HTTP/1.1\r\nHost: a\r\n__proto__: x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nconstructor: x\r\nConstructor: y\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nhasOwnProperty: x\r\n\r\n',
    // Host
    'GET / HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.0\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost:\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a:b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: :80\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n',
    // duplicates
    'GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nauthorization: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: a\r\nUSER-AGENT: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nACCEPT: b\r\naccept: c\r\n\r\n',
    // Content-Length
    G(['Content-Length: 3', 'Content-Length: 3'], 'abc'),
    G(['Content-Length: 3', 'content-length: 4'], 'abcd'),
    G(['Content-Length: 3, 3'], 'abc'),
    G(['Content-Length: +3'], 'abc'),
    G(['Content-Length: -3'], 'abc'),
    G(['Content-Length: 0x3'], 'abc'),
    G(['Content-Length: 3 3'], 'abc'),
    G(['Content-Length: 3a'], 'abc'),
    G(['Content-Length:'], ''),
    G(['Content-Length: '], ''),
    G(['Content-Length: 1e3'], 'abc'),
    G(['Content-Length: 3.0'], 'abc'),
    G(['Content-Length: 0003'], 'abc'),
    G(['Content-Length: \t3\t'], 'abc'),
    G(['Content-Length: 999999999'], ''),
    G(['Content-Length: 1000000000'], ''),
    G(['Content-Length: 18446744073709551617'], ''),
    G(['Content-Length: 5'], 'abc'),
    G(['Content-Length: 2'], 'abc'),
    G(['Content-Length: 0'], ''),
    // Transfer-Encoding
    G(['Transfer-Encoding: chunked', 'Content-Length: 3'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Content-Length: 3', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked, chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: gzip, chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked, gzip'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: gzip'], 'abc'),
    G(['Transfer-Encoding: identity'], 'abc'),
    G(['Transfer-Encoding: chunked;q=1'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: "chunked"'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: xchunked'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding:'], ''),
    G(['Transfer-Encoding: CHUNKED'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding:\tchunked\t'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked \t'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked,'], '3\r\nabc\r\n0\r\n\r\n'),
    G(['Content-Length: 3\t'], 'abc'),
    G(['Content-Length: 3  '], 'abc'),
    G(['Content-Length:\t3'], 'abc'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n', 'POST / HTTP/1.0'),
    G(['Transfer-Encoding : chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    // chunks
    ...[
      '-3', '+3', '0x3', ' 3', '3 ', '3\t', 'g', '', '3;', '3; a', '3;a =b', '3;a= b', '3;a=b ', '3;a="b" ', '3;a="b', '3;a="\x01"',
      '3;a=\xe9', '3;a="\xe9"', '3;a="\\\x01"', '3;=b', '3;a=b;;c', '3;a=b;c', '000000003', '0000000003', 'fffffffff', '100000000', '3;' + 'a'.repeat(300),
    ].map((size) => G(['Transfer-Encoding: chunked'], size + '\r\nabc\r\n0\r\n\r\n')),
    G(['Transfer-Encoding: chunked'], '3\nabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\rabc\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabcd\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nab\r\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\n0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX: y\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX: y\r\nZ: \xe9\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX y\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX : y\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX: y\r\n z\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX: \x00\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX: y\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nContent-Length: 3\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nHost: b\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '3\r\nabc\r\n0;e=1\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '0\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], '00\r\n\r\n'),
    G(['Transfer-Encoding: chunked'], ''),
    // Expect
    G(['Expect: 100-continue', 'Content-Length: 3'], 'abc'),
    G(['Expect: 100-Continue', 'Content-Length: 3'], 'abc'),
    G(['Expect: 100-continue, foo', 'Content-Length: 3'], 'abc'),
    G(['Expect: foo', 'Content-Length: 3'], 'abc'),
    G(['Expect:', 'Content-Length: 3'], 'abc'),
    G(['Expect: 100-continue', 'Expect: 100-continue'], ''),
    H(['POST / HTTP/1.0', 'Expect: 100-continue', 'Content-Length: 3'], 'abc'),
    H(['POST / HTTP/1.0', 'Expect: foo', 'Content-Length: 3'], 'abc'),
    // upgrade-looking requests are plain requests here
    G(['Connection: Upgrade', 'Upgrade: websocket', 'Content-Length: 3'], 'abc'),
  ];
  const generated: string[] = [];
  // long targets and heads around both limits
  for (const n of [MAX_HEAD - 40, MAX_HEAD - 17, MAX_HEAD - 16, MAX_HEAD - 15, MAX_HEAD + 10, NODE_MAX_HEAD + 100]) {
    generated.push('GET /' + 'a'.repeat(n) + ' HTTP/1.1\r\nHost: a\r\n\r\n');
  }
  for (const n of [MAX_HEAD - 30, MAX_HEAD - 29, MAX_HEAD - 28, MAX_HEAD + 1000, NODE_MAX_HEAD + 100]) {
    generated.push('GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'v'.repeat(n) + '\r\n\r\n');
  }
  for (const n of [100, 700, 3000]) {
    let s = 'GET / HTTP/1.1\r\nHost: a\r\n';
    for (let i = 0; i < n; i++) s += 'X-' + i + ': ' + i + '\r\n';
    generated.push(s + '\r\n');
  }
  generated.push('\r\n'.repeat(MAX_HEAD / 2) + 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  // field names differing only in case, for every kind of field
  for (const name of ['Content-Length', 'Transfer-Encoding', 'Host', 'Content-Type', 'Cookie', 'Accept', 'Expect', 'X-Y']) {
    const value = name === 'Content-Length' ? '0' : name === 'Transfer-Encoding' ? 'chunked' : name === 'Host' ? 'a' : name === 'Expect' ? '100-continue' : 'v';
    const body = name === 'Transfer-Encoding' ? '0\r\n\r\n' : '';
    generated.push(H(['POST / HTTP/1.1', 'Host: a', name + ': ' + value, name.toUpperCase() + ': ' + value], body));
    generated.push(H(['POST / HTTP/1.1', 'Host: a', name.toLowerCase() + ': ' + value, randomCase(name) + ':' + value], body));
  }
  // long runs that a backtracking pattern would take quadratic time over: whitespace before a bad
  // byte or around a value, colons and digits in Host, an absolute-form authority, slashes
  const run = MAX_HEAD - 100;
  generated.push('GET / HTTP/1.1\r\nHost: a\r\nX:' + ' '.repeat(run) + '\x01\r\n\r\n');
  generated.push('GET / HTTP/1.1\r\nHost: a\r\nX: a' + ' '.repeat(run) + 'b \t\r\n\r\n');
  generated.push('GET / HTTP/1.1\r\nHost: a\r\nContent-Length:' + '\t'.repeat(run) + '\r\n\r\n');
  generated.push('GET / HTTP/1.1\r\nHost: ' + ':1'.repeat(run / 2) + 'x\r\n\r\n');
  generated.push('GET / HTTP/1.1\r\nHost: [' + ':'.repeat(run) + ']x\r\n\r\n');
  generated.push('GET / HTTP/1.1\r\nHost: ' + '%'.repeat(run) + '\r\n\r\n');
  generated.push('GET http://' + 'a'.repeat(run) + ' HTTP/1.1\r\nHost: a\r\n\r\n');
  generated.push('GET http://' + 'a'.repeat(run) + '@ HTTP/1.1\r\nHost: a\r\n\r\n');
  generated.push('GET ' + '/'.repeat(run) + ' HTTP/1.x\r\n\r\n');
  // every control byte and a few others in each position of a small request
  const base = 'GET /p?q HTTP/1.1\r\nHost: a\r\nX: v\r\n\r\n';
  for (const at of [0, 3, 4, 6, 9, 14, 17, 18, 20, 24, 27, 29, 30, 31]) {
    for (const byte of [0, 9, 10, 13, 32, 0x7f, 0x80, 0xff, 0x3a, 0x22]) {
      generated.push(base.slice(0, at) + String.fromCharCode(byte) + base.slice(at));
      generated.push(base.slice(0, at) + String.fromCharCode(byte) + base.slice(at + 1));
    }
  }
  return [...out.map((s, i) => ({ bytes: latin1(s), label: 'hostile #' + i })), ...generated.map((s, i) => ({ bytes: latin1(s), label: 'hostile generated #' + i }))];
}

const INTERESTING = [0, 9, 10, 13, 32, 0x22, 0x23, 0x2c, 0x2f, 0x30, 0x3a, 0x3b, 0x3d, 0x3f, 0x41, 0x5c, 0x61, 0x66, 0x7f, 0x80, 0xff];

/** A valid request with one to three bytes flipped, inserted or deleted. */
function mutate(g: Generated): Generated {
  const b = [...g.bytes];
  const ops = 1 + int(3);
  const headEnd = g.bytes.indexOf('\r\n\r\n');
  for (let k = 0; k < ops; k++) {
    // most mutations in the head, where the grammar is
    const at = chance(0.75) && headEnd > 0 ? int(headEnd + 4) : int(b.length + 1);
    const value = chance(0.6) ? pick(INTERESTING) : int(256);
    const op = int(3);
    if (op === 0 && at < b.length) b[at] = value;
    else if (op === 1) b.splice(at, 0, value);
    else if (at < b.length) b.splice(at, 1);
  }
  return { bytes: Buffer.from(b), label: 'mutated ' + g.label };
}

// ---------------------------------------------------------------------------------------------
// Node's parser as the reference.

type Outcome =
  | { kind: 'accept'; method: string; target: string; headers: { [name: string]: string }; body: string }
  | { kind: 'refuse'; code: string; status: number; reason?: string }
  | { kind: 'incomplete' };

interface ServerRecord {
  requests: { method: string; url: string; headers: { [name: string]: string }; body: Buffer[]; complete: boolean }[];
  error: string;
  closed: Promise<void>;
}

async function startNode(): Promise<{ send: (bytes: Buffer) => Promise<Outcome>; close: () => Promise<void> }> {
  const server = http.createServer({ requireHostHeader: true, maxHeaderSize: NODE_MAX_HEAD, insecureHTTPParser: false });
  server.maxHeadersCount = 0;
  const records = new Map<number, ServerRecord>();
  server.on('connection', (socket: net.Socket) => {
    let done = (): void => {};
    const record: ServerRecord = { requests: [], error: '', closed: new Promise((resolve) => (done = resolve)) };
    records.set(socket.remotePort as number, record);
    socket.on('close', () => setTimeout(done, 5));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const record = records.get(socket.remotePort as number);
    if (record && !record.error) record.error = error.code ?? 'error';
    socket.destroy();
  });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const record = records.get(req.socket.remotePort as number);
    if (record && !record.error) record.error = 'EXPECTATION_FAILED';
    res.writeHead(417, { connection: 'close' });
    res.end();
  });
  server.on('request', (req: http.IncomingMessage) => {
    const record = records.get(req.socket.remotePort as number) as ServerRecord;
    const headers: { [name: string]: string } = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : (value as string);
    const entry = { method: req.method as string, url: req.url as string, headers, body: [] as Buffer[], complete: false };
    record.requests.push(entry);
    req.on('data', (d: Buffer) => entry.body.push(d));
    req.on('end', () => (entry.complete = true));
    req.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const send = (bytes: Buffer): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      const client = net.connect(port, '127.0.0.1');
      let local = 0;
      let response = '';
      client.on('connect', () => {
        local = client.localPort as number;
        client.end(bytes);
      });
      client.on('data', (d: Buffer) => (response += d.toString('latin1')));
      client.on('error', () => {});
      client.on('close', () => {
        const record = records.get(local);
        if (!record) return reject(new Error('no server record for a connection'));
        record.closed.then(() => {
          records.delete(local);
          const first = record.requests[0];
          if (first && first.complete) {
            resolve({ kind: 'accept', method: first.method, target: first.url, headers: first.headers, body: Buffer.concat(first.body).toString('latin1') });
          } else if (record.error === 'HPE_INVALID_EOF_STATE') resolve({ kind: 'incomplete' });
          else if (record.error) resolve({ kind: 'refuse', code: record.error, status: 0 });
          else if (/^HTTP\/1\.1 [45]/.test(response)) resolve({ kind: 'refuse', code: 'response', status: Number(response.slice(9, 12)) });
          else resolve({ kind: 'incomplete' });
        }, reject);
      });
    });
  return { send, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

function hoshiOutcome(r: FeedResult): Outcome {
  if (r.state === PARSE_DONE) {
    const head = r.head!;
    return { kind: 'accept', method: head.method, target: head.target, headers: head.headers, body: Buffer.from(r.body!, 'hex').toString('latin1') };
  }
  if (r.state === PARSE_FAILED) return { kind: 'refuse', code: r.error!.code, status: r.error!.status, reason: r.error!.reason };
  return { kind: 'incomplete' };
}

const show = (b: Buffer): string => JSON.stringify(b.toString('latin1').slice(0, 160)) + (b.length > 160 ? '… (' + b.length + ' bytes)' : '');

/**
 * The whole corpus, built once: every request of the differential and of the other tests.
 * HOSHI_HTTP_SCALE multiplies the generated and mutated requests for a longer search.
 */
const SCALE = Number(process.env.HOSHI_HTTP_SCALE ?? 1);
const VALID = Array.from({ length: 600 * SCALE }, () => genValid());
const HOSTILE = hostileCorpus();
const EXTRAS = Array.from({ length: 60 * SCALE }, () => genValid(true));
const MUTATED = Array.from({ length: 700 * SCALE }, () => mutate(pick(VALID)));
const CORPUS = [...VALID, ...HOSTILE, ...EXTRAS, ...MUTATED];

test('differential: Node\'s parser and this one agree on valid, hostile and mutated requests', async (t) => {
  t.log('seed ' + SEED + ' (HOSHI_SEED=' + SEED + ' reproduces it)');
  const node = await startNode();
  let outcomes: Outcome[];
  try {
    outcomes = await pool(CORPUS, 32, (g) => node.send(g.bytes));
  } finally {
    await node.close();
  }
  const problems: string[] = [];
  const counts = { acceptedByBoth: 0, refusedByBoth: 0, incompleteForBoth: 0, refusedOnlyByHoshi: {} as { [code: string]: number } };
  const validAccepted = { node: 0, hoshi: 0 };
  const examples: { [code: string]: string } = {};
  CORPUS.forEach((g, i) => {
    const n = outcomes[i];
    const h = hoshiOutcome(feedRequest(g.bytes, randomSplits(g.bytes.length), MAX_HEAD, MAX_BODY));
    const where = g.label + ' ' + show(g.bytes) + ': Node ' + JSON.stringify(n).slice(0, 200) + ', Hoshi ' + JSON.stringify(h).slice(0, 200);
    if (i < VALID.length) {
      if (n.kind === 'accept') validAccepted.node++;
      if (h.kind === 'accept') validAccepted.hoshi++;
    }
    if (n.kind === 'accept' && h.kind === 'accept') {
      counts.acceptedByBoth++;
      if (n.method !== h.method || n.target !== h.target || n.body !== h.body || JSON.stringify(sorted(n.headers)) !== JSON.stringify(sorted(h.headers))) {
        problems.push('fields differ: ' + where);
      }
    } else if (n.kind === 'refuse' && h.kind === 'refuse') counts.refusedByBoth++;
    else if (n.kind === 'incomplete' && h.kind === 'incomplete') counts.incompleteForBoth++;
    else if (h.kind === 'refuse' && n.kind !== 'refuse') {
      counts.refusedOnlyByHoshi[h.code] = (counts.refusedOnlyByHoshi[h.code] ?? 0) + 1;
      if (!examples[h.code]) examples[h.code] = show(g.bytes).slice(0, 140);
      if (!intentional(h.code, h.reason ?? '')) problems.push('refused only by Hoshi, not an intentional strictness: ' + where);
    } else problems.push('outcomes differ: ' + where);
  });
  t.log('accepted by both ' + counts.acceptedByBoth + ', refused by both ' + counts.refusedByBoth + ', incomplete for both ' + counts.incompleteForBoth);
  t.log('refused only by Hoshi: ' + JSON.stringify(counts.refusedOnlyByHoshi));
  for (const code of Object.keys(examples)) t.log('  ' + code + ', e.g. ' + examples[code]);
  t.log('generated valid requests: ' + VALID.length + ', accepted by Node ' + validAccepted.node + ', by Hoshi ' + validAccepted.hoshi);
  t.deepEqual(problems.slice(0, 20), [], problems.length + ' disagreements');
  t.is(validAccepted.node, VALID.length, 'Node accepts every generated valid request');
  t.is(validAccepted.hoshi, VALID.length, 'Hoshi accepts every generated valid request');
  for (const key of Object.keys(INTENTIONAL)) t.true(Object.prototype.hasOwnProperty.call(HTTP_REFUSALS, key.split(':')[0]), key + ' is a refusal code');
});

function sorted(o: { [name: string]: string }): [string, string][] {
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k]]);
}

// ---------------------------------------------------------------------------------------------
// Split independence.

test('the result does not depend on how the bytes are split', (t) => {
  let differing = 0;
  for (const g of CORPUS) {
    const whole = JSON.stringify(feedRequest(g.bytes, [g.bytes.length || 1], MAX_HEAD, MAX_BODY));
    const splits = [[1], randomSplits(g.bytes.length), randomSplits(g.bytes.length), [1460]];
    for (const sizes of splits) {
      const other = JSON.stringify(feedRequest(g.bytes, sizes, MAX_HEAD, MAX_BODY));
      if (other !== whole) {
        differing++;
        if (differing < 5) t.fail(g.label + ' ' + show(g.bytes) + ' split ' + JSON.stringify(sizes) + ':\n' + other.slice(0, 300) + '\nwhole:\n' + whole.slice(0, 300));
      }
    }
  }
  t.is(differing, 0);
});

// ---------------------------------------------------------------------------------------------
// Limits and memory.

function run(text: string | Buffer, maxHeaderBytes: number, maxBodyBytes: number, sizes: number[] = [1460]): FeedResult {
  return feedRequest(typeof text === 'string' ? latin1(text) : text, sizes, maxHeaderBytes, maxBodyBytes);
}

test('maxHeaderBytes: the whole head fits exactly; one byte more is 414 in the request line, 431 after', (t) => {
  const line = 'GET /' + 'a'.repeat(40) + ' HTTP/1.1\r\n';
  const fields = 'Host: a\r\nX: 123456\r\n\r\n';
  const head = line + fields;
  const exact = run(head, head.length, 0, [1]);
  t.is(exact.state, PARSE_DONE);
  t.is(exact.consumed, head.length);
  t.is(run(head, head.length - 1, 0).error?.code, 'header-too-large');
  // the request line fills the limit exactly: the first field byte is past it, in the fields
  t.is(run(head, line.length, 0).error?.code, 'header-too-large');
  t.is(run(head, line.length - 1, 0).error?.code, 'uri-too-long');
  // empty lines before the request line count, in the request line
  t.is(run('\r\n' + head, head.length + 2, 0).state, PARSE_DONE);
  t.is(run('\r\n' + head, head.length + 1, 0).error?.code, 'header-too-large');
  t.is(run('\r\n\r\n' + head, line.length + 3, 0).error?.code, 'uri-too-long');
  // the refusal stops at the byte past the limit
  const over = run(head, 20, 0, [1]);
  t.is(over.error?.code, 'uri-too-long');
  t.is(over.error?.status, 414);
  t.is(over.consumed, 21);
  // the CRLF ending a chunked body counts with the head (a trailer field is refused at its first byte)
  const chunked = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  const message = chunked + '3\r\nabc\r\n0\r\n';
  t.is(run(message + '\r\n', chunked.length + 2, 10, [1]).state, PARSE_DONE);
  t.is(run(message + '\r\n', chunked.length + 1, 10, [1]).error?.code, 'header-too-large');
  const trailer = run(message + 'X: y\r\n\r\n', 4096, 10, [1]);
  t.deepEqual(trailer.error, { status: 400, code: 'bad-chunk', reason: 'trailer' });
  t.is(trailer.consumed, message.length + 1);
  t.is(run(chunked + '0\r\n\r\n', chunked.length + 2, 10).state, PARSE_DONE);
  t.is(run(chunked + '0\r\n\r\n', chunked.length + 1, 10).error?.code, 'header-too-large');
});

test('maxBodyBytes: Content-Length refused at once (413, before any body byte); chunked when the sizes add up past it', (t) => {
  const head = (n: number): string => 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ' + n + '\r\n\r\n';
  const fits = run(head(100) + 'x'.repeat(100), 1024, 100);
  t.is(fits.state, PARSE_DONE);
  t.is(fits.body, Buffer.from('x'.repeat(100)).toString('hex'));
  const over = run(head(101) + 'x'.repeat(101), 1024, 100);
  t.is(over.error?.code, 'body-too-large');
  t.is(over.error?.status, 413);
  t.is(over.consumed, head(101).length, 'refused right after the head, before any body byte');
  t.is(over.body, null);
  const chunkedHead = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  const chunks = (sizes: number[]): string => sizes.map((n) => n.toString(16) + '\r\n' + 'y'.repeat(n) + '\r\n').join('') + '0\r\n\r\n';
  const exact = run(chunkedHead + chunks([60, 40]), 1024, 100, [7]);
  t.is(exact.state, PARSE_DONE);
  t.is(exact.body!.length, 200);
  const past = run(chunkedHead + chunks([60, 41]), 1024, 100, [7]);
  t.is(past.error?.code, 'body-too-large');
  // decided at the end of the second size, before its data
  t.is(past.consumed, chunkedHead.length + '3c\r\n'.length + 60 + 2 + '29'.length + 1);
  t.is(run('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', 1024, 0).state, PARSE_DONE);
  // a chunk-size line: 1 to 8 hex digits and nothing else (a chunk extension is refused at its ";")
  const sizeLine = (line: string): FeedResult => run(chunkedHead + line + '\r\nabc\r\n0\r\n\r\n', 1024, 100, [3]);
  t.is(sizeLine('00000003').state, PARSE_DONE);
  t.deepEqual(sizeLine('000000003').error, { status: 400, code: 'bad-chunk', reason: 'size' });
  t.is(sizeLine('000000003').consumed, chunkedHead.length + 9);
  t.deepEqual(sizeLine('3;e').error, { status: 400, code: 'bad-chunk', reason: 'extension' });
  t.is(sizeLine('3;e').consumed, chunkedHead.length + 2);
  t.is(sizeLine('').error?.code, 'bad-chunk');
  t.is(run(chunkedHead + '1\r\nz\r\n0\r\n\r\n', 1024, 0).error?.code, 'body-too-large');
});

/** What the parser holds: its buffers, and the characters of the head it built. */
function held(p: RequestParser): number {
  let n = (p.buffer ? p.buffer.length : 0) + (p.body ? p.body.length : 0);
  if (p.head) {
    n += p.head.method.length + p.head.target.length + p.head.path.length + p.head.query.length + p.head.authority.length;
    for (const k of Object.keys(p.head.headers)) n += k.length + p.head.headers[k].length;
  }
  return n;
}

/**
 * Feeds `total` bytes made by `make(offset, length)` in 1,460-byte segments, as long as the parser
 * takes them; returns the parser, the bytes consumed and the most it held between calls.
 */
function stream(make: (at: number, n: number) => Uint8Array, total: number, maxHeaderBytes: number, maxBodyBytes: number) {
  const p = newRequestParser({ maxHeaderBytes, maxBodyBytes });
  let at = 0;
  let consumed = 0;
  let most = 0;
  let afterStop = -1;
  while (at < total) {
    const segment = make(at, Math.min(1460, total - at));
    let pos = 0;
    while (pos < segment.length && (p.state === PARSE_HEAD || p.state === PARSE_BODY)) {
      pos = parseRequest(p, segment, pos, segment.length);
      most = Math.max(most, held(p));
    }
    consumed += pos;
    at += segment.length;
    if (p.state !== PARSE_HEAD && p.state !== PARSE_BODY) {
      // it stopped: anything offered now is not consumed
      afterStop = parseRequest(p, segment, 0, segment.length);
      break;
    }
  }
  return { p, consumed, most, afterStop };
}

test('memory: a 1 MB request line, 1 MB of fields, a 10 MB body: the parser stops at its limit and holds no more', (t) => {
  const MH = 4096;
  const MB = 16384;
  const bound = MH + MB + 256;
  const fill = (prefix: string, byte: number) => (at: number, n: number): Uint8Array => {
    const out = new Uint8Array(n).fill(byte);
    for (let i = 0; i < n; i++) if (at + i < prefix.length) out[i] = prefix.charCodeAt(at + i);
    return out;
  };
  const line = stream(fill('GET /', 0x61), 1 << 20, MH, MB);
  t.is(line.p.error?.code, 'uri-too-long');
  t.is(line.consumed, MH + 1);
  t.true(line.most <= bound, 'held ' + line.most);
  const fieldsPrefix = 'GET / HTTP/1.1\r\nHost: a\r\nX: ';
  const fields = stream(fill(fieldsPrefix, 0x62), 1 << 20, MH, MB);
  t.is(fields.p.error?.code, 'header-too-large');
  t.is(fields.consumed, MH + 1);
  t.true(fields.most <= bound, 'held ' + fields.most);
  const many = stream((at, n) => latin1(('GET / HTTP/1.1\r\nHost: a\r\n' + 'X: y\r\n'.repeat(200000)).slice(at, at + n)), 1 << 20, MH, MB);
  t.is(many.p.error?.code, 'header-too-large');
  t.is(many.consumed, MH + 1);
  const sizedHead = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10485760\r\n\r\n';
  const sized = stream(fill(sizedHead, 0x63), sizedHead.length + 10 * 1024 * 1024, MH, MB);
  t.is(sized.p.error?.code, 'body-too-large');
  t.is(sized.consumed, sizedHead.length);
  t.true(sized.most <= bound, 'held ' + sized.most);
  // a chunked body of 1,460-byte chunks: refused when the declared sizes pass the limit
  const chunkedHead = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  const chunk = '5b4\r\n' + 'd'.repeat(1460) + '\r\n';
  const chunkedText = chunkedHead + chunk.repeat(Math.ceil((10 * 1024 * 1024) / 1460));
  const chunked = stream((at, n) => latin1(chunkedText.slice(at, at + n)), chunkedText.length, MH, MB);
  t.is(chunked.p.error?.code, 'body-too-large');
  const fitting = Math.floor(MB / 1460);
  t.is(chunked.consumed, chunkedHead.length + fitting * chunk.length + 3 + 1);
  t.true(chunked.most <= bound, 'held ' + chunked.most);
  // a body within the limit, followed by 10 MB more: done, and nothing past the request is taken
  const okHead = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16384\r\n\r\n';
  const ok = stream(fill(okHead, 0x65), okHead.length + 10 * 1024 * 1024, MH, MB);
  t.is(ok.p.state, PARSE_DONE);
  t.is(ok.consumed, okHead.length + MB);
  t.is(ok.p.body!.length, MB);
  t.true(ok.most <= bound, 'held ' + ok.most);
  t.deepEqual([line, fields, many, sized, chunked, ok].map((r) => r.afterStop), [0, 0, 0, 0, 0, 0], 'a stopped parser consumes nothing');
});

test('the head buffer is allocated at the first byte and released once the head is parsed', (t) => {
  const p = newRequestParser({ maxHeaderBytes: 1000, maxBodyBytes: 10 });
  const bytes = latin1('POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcEXTRA');
  t.is(parseRequest(p, bytes, 0, 0), 0);
  t.is(p.buffer, undefined);
  t.is(parseRequest(p, bytes, 0, 5), 5);
  t.is(p.buffer?.length, 1000);
  const headEnd = bytes.indexOf('abc');
  t.is(parseRequest(p, bytes, 5, bytes.length), headEnd, 'stops right after the head');
  t.is(p.state, PARSE_BODY);
  t.is(p.buffer, undefined);
  t.is(p.body, undefined, 'the body array is made at the first body byte');
  t.like(p.head, { method: 'POST', target: '/x?y=1', path: '/x', query: 'y=1', authority: '', minor: 1, contentLength: 3, expectContinue: false });
  t.is(parseRequest(p, bytes, headEnd, bytes.length), headEnd + 3, 'bytes after the request are not consumed');
  t.is(p.state, PARSE_DONE);
  t.is(Buffer.from(p.body!).toString(), 'abc');
  t.is(parseRequest(p, bytes, headEnd + 3, bytes.length), headEnd + 3);
});

test('head fields: absolute-form, asterisk-form, Expect, duplicates joined as Node joins them', (t) => {
  const head = (s: string) => run(s, 4096, 100).head;
  t.like(head('GET HTTP://Example.com:8080?q=1 HTTP/1.1\r\nHost: other\r\n\r\n'), { path: '/', query: 'q=1', authority: 'Example.com:8080', target: 'HTTP://Example.com:8080?q=1' });
  t.like(head('GET http://[::1]/a/b?c?d HTTP/1.0\r\n\r\n'), { path: '/a/b', query: 'c?d', authority: '[::1]', minor: 0 });
  t.like(head('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'), { path: '*', query: '', target: '*' });
  t.like(head('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n'), { expectContinue: true, contentLength: 1 });
  t.like(head('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n'), { expectContinue: false });
  t.like(head('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n'), { contentLength: -1 });
  t.deepEqual(head('GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nX: 1\r\ncookie: b=2\r\nx:\t2 \r\nConstructor: c\r\n\r\n')?.headers, { host: 'a', cookie: 'a=1; b=2', x: '1, 2', constructor: 'c' });
  t.is(run('GET / HTTP/1.1\r\nHost: a\r\nX: \xe9\r\n\r\n', 4096, 0).head?.headers.x, '\xe9');
});

test('programming errors throw, naming the field; untrusted input never throws', (t) => {
  t.throws(() => newRequestParser({ maxHeaderBytes: 0, maxBodyBytes: 1 }), { message: /maxHeaderBytes/ });
  t.throws(() => newRequestParser({ maxHeaderBytes: 1.5, maxBodyBytes: 1 }), { message: /maxHeaderBytes/ });
  t.throws(() => newRequestParser({ maxHeaderBytes: 100, maxBodyBytes: -1 }), { message: /maxBodyBytes/ });
  t.throws(() => newRequestParser({ maxHeaderBytes: 100, maxBodyBytes: NaN }), { message: /maxBodyBytes/ });
  t.throws(() => newRequestParser(undefined as never));
  const p = newRequestParser({ maxHeaderBytes: 100, maxBodyBytes: 1 });
  t.throws(() => parseRequest(p, [1, 2] as never, 0, 2), { message: /bytes/ });
  t.throws(() => parseRequest(p, new Uint8Array(2), 1, 0), { message: /to/ });
  t.throws(() => parseRequest(p, new Uint8Array(2), -1, 1), { message: /from/ });
  t.throws(() => parseRequest(p, new Uint8Array(2), 0, 3), { message: /to/ });
  for (let i = 0; i < 300; i++) {
    const junk = new Uint8Array(int(300)).map(() => int(256));
    t.notThrows(() => run(Buffer.from(junk), 128, 16, [1 + int(20)]));
  }
});

// ---------------------------------------------------------------------------------------------
// The built device bundles in the engine check.

for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
  test(`${target} bundle: profile check, then a sample of the corpus in the engine gives the host's results`, async (t) => {
    const { code, map } = await bundleFixture('http-parser-entry.ts', target);
    const profile = checkProfile(code, target, map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const sample: { bytes: Buffer; segment: number }[] = [];
    const small = CORPUS.filter((g) => g.bytes.length < 6000);
    for (let i = 0; i < 100; i++) sample.push({ bytes: pick(small).bytes, segment: pick([1, 7, 64, 1460]) });
    sample.push({ bytes: HOSTILE.find((g) => g.bytes.length > NODE_MAX_HEAD)!.bytes, segment: 1460 });
    const probes = sample.map((s) => `hoshiHttpParse(${JSON.stringify(hex(s.bytes))}, ${s.segment}, ${MAX_HEAD}, ${MAX_BODY})`);
    // The bundle's own memory is small; the budget is for the test driver's hex strings (one request is 65 KB).
    const report = await runInEngine(code, target, { library: true, probes, timeoutMs: 120000, budgetBytes: 1024 * 1024 });
    t.true(report.booted, report.error);
    t.is(report.values.length, sample.length);
    const wrong = sample.filter((s, i) => report.values[i] !== JSON.stringify(feedRequest(s.bytes, [s.segment], MAX_HEAD, MAX_BODY)));
    t.deepEqual(wrong.map((s) => show(s.bytes)), [], wrong.length + ' of ' + sample.length + ' differ');
    t.deepEqual(report.missing, []);
    t.log('engine peak ' + report.peakBytes + ' bytes over the empty engine');
  });
}

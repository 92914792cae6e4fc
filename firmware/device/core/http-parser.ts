/**
 * The kit's HTTP/1.1 request parser (RFC 9112 message syntax, RFC 9110 semantics), shared by every
 * board in place of the runtimes' `http` modules, whose parsers buffer requests of any size.
 *
 * A server feeds it the bytes of one TCP connection as they arrive; the connection carries one
 * request, answered and then closed. Memory is bounded by the limits: the head is accumulated in one
 * Uint8Array of `maxHeaderBytes` (allocated at the first byte, released once the head is parsed)
 * and the body goes into one Uint8Array of its size (a chunked body: grown to the total of the chunk
 * sizes declared so far, never over `maxBodyBytes`). Everything received is untrusted input and
 * never throws: a request the parser will not take ends in PARSE_FAILED with a refusal (status,
 * code, reason). Only programming errors (bad limits or arguments) throw, naming the field.
 *
 * How: line endings are checked byte by byte as the head is stored (a bare CR is refused at the
 * byte after it, a bare LF at once); each line of the head is turned into a string when its CRLF
 * arrives and checked there with a regular expression, so a refusal comes at the end of the line
 * that decides it, whatever the split. The body is copied as it comes; a chunked body is read byte
 * by byte outside its data.
 *
 * Code size is memory on the device: Kaluma holds the whole program's bytecode, literals and
 * functions in its heap, Espruino a 16-byte variable per dozen bytes of function code and per
 * property. So this file has few functions, few literals and short reasons; the functions come
 * largest first and the constants last (measured: Kaluma's peak is lower that way).
 *
 * What the engines do differently, checked on Kaluma's JerryScript and Espruino 2v29:
 * - the regular expressions keep to what Espruino's matcher does right: character classes (no
 *   range ending in "."), * and +, ^ and $, plain groups, the i and g flags; no "?" quantifier,
 *   no alternation, no {n,m};
 * - no two repetitions in a pattern can take the same characters, and whitespace is trimmed by
 *   loops: both engines backtrack, and such a pattern takes quadratic time over a long line;
 * - lists are searched with Array indexOf: Espruino's String indexOf finds a string that only
 *   begins at the end of the searched one ("abc".indexOf("cd") is 2);
 * - Espruino throws on reading a Uint8Array at -1, and reads a number with a leading 0 as octal;
 * - Espruino's trim() keeps a NBSP that Kaluma's removes (so it is not used).
 *
 * Deny by default: what the grammar does not allow is refused, and so is what it allows but the
 * kit has no use for (other methods, transfer codings, expectations, chunk extensions, trailer
 * fields). Where RFC 9112 lets a recipient choose, the choice is the strict one:
 * - lines end in CRLF; a bare LF or bare CR anywhere is refused (§2.2), including in the empty
 *   lines before the request line, which are skipped only as CRLF (§2.2);
 * - the request line is method SP target SP version with single spaces (§3);
 * - the request-target holds visible ASCII without "#" (a fragment is not part of any form, §3.2);
 *   the absolute-form is taken for the "http" scheme only, without userinfo (RFC 9110 §4.2.1,
 *   §4.2.4), and its authority is the one to use (§3.2.2: Host is still required and checked);
 *   "*" only with OPTIONS (§3.2.4);
 * - Expect is "100-continue" or refused (417); in HTTP/1.0, 100-continue is ignored (RFC 9110 §10.1.1);
 * - a field line starting with whitespace (obs-fold, or whitespace after the request line) is
 *   refused (§5.2, §2.2); so are duplicates of fields that carry one value (RFC 9110 §5.3), and a
 *   field named __proto__;
 * - Content-Length is 1 to 9 digits; Transfer-Encoding is "chunked" alone, in HTTP/1.1, without
 *   Content-Length (§6.1, §6.3); the framing fields take no tab after their value (as Node's
 *   strict parser);
 * - a chunk is 1 to 8 hex digits, CRLF, its data, CRLF; the body ends with "0" CRLF CRLF: chunk
 *   extensions and trailer fields are refused (§7.1.1 and §7.1.2 let a recipient ignore them;
 *   clients do not send them).
 */

export interface HttpLimits {
  /** The whole head (empty lines before it, request line, field lines, final CRLF), and the CRLF ending a chunked body. */
  maxHeaderBytes: number;
  /** The body: its Content-Length, or the decoded total of a chunked body. */
  maxBodyBytes: number;
}

export interface RequestHead {
  /** As sent (methods are case-sensitive tokens). */
  method: string;
  /** The request-target as sent. */
  target: string;
  /** Origin-form path without the query; absolute-form: its path ("/" if empty); "*" for OPTIONS *. */
  path: string;
  /** Without "?" ("" if none). */
  query: string;
  /** The authority of an absolute-form target, "" otherwise. */
  authority: string;
  /** HTTP/1.<minor>: 0 or 1. */
  minor: number;
  headers: { [lowerCaseName: string]: string };
  /** Body size declared by Content-Length; -1 for chunked; 0 without a body. */
  contentLength: number;
  /** "Expect: 100-continue" in an HTTP/1.1 request (the server sends 100 Continue before reading the body). */
  expectContinue: boolean;
}

export interface HttpRefusal {
  status: number;
  code: string;
  reason: string;
}

export type HttpRefusalCode = keyof typeof HTTP_REFUSALS;

/**
 * The parser state. Fields after `error` are private to this file; their names are ones Kaluma
 * already holds (built-in names, or the limits' own), so they cost no heap as property names.
 */
export interface RequestParser {
  state: number;
  /** Set once the head is accepted (PARSE_BODY or PARSE_DONE); it stays set if the body is then refused. */
  head: RequestHead | undefined;
  /** At PARSE_DONE: the whole body (empty without one). Before: what has been received. */
  body: Uint8Array | undefined;
  error: HttpRefusal | undefined;
  /** The limits. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** Step within the head or the body (Step below). */
  step: number;
  /** The head being accumulated (maxHeaderBytes), undefined before the first byte and after the head. */
  buffer?: Uint8Array;
  /** Head bytes so far; after a chunked body, also its final CRLF (both count against maxHeaderBytes). */
  length: number;
  /** Start of the current line in `buffer`. */
  index: number;
  /** The head being built, from the request line on. */
  next?: RequestHead;
  /** Body bytes still expected: of the Content-Length body, or of the current chunk; while a chunk size is read, its hex digits. */
  left: number;
  /** Body bytes received (where the next one goes in `body`). */
  byteOffset: number;
  /** Chunk size being read. */
  size: number;
}

/** The states (PARSE_* below), inlined by the bundler where this file uses them. */
export const enum State {
  HEAD,
  BODY,
  DONE,
  FAILED,
}

/** Steps of the head and the body (numbers inlined by the bundler). */
const enum Step {
  LINE, // the request line, or the empty lines before it
  FIELDS,
  SIZED, // a Content-Length body
  SIZE, // a chunk size
  DATA,
  // Steps expecting one byte: CR at the even ones, LF at the odd ones.
  SIZE_LF,
  DATA_CR,
  DATA_LF,
  END_CR, // the CRLF after the last chunk
  END_LF,
}

/**
 * A line of the head, without its CRLF (the first ones: empty lines are skipped, §2.2):
 * - the request line (§3): method SP request-target SP HTTP-version, the method one of those
 *   served (any other, a token or not, is not implemented), the version HTTP/digit.digit (§2.3);
 *   the target's form (§3.2);
 * - a field line (§5): field-name ":" OWS field-value OWS, the value trimmed of SP and HTAB and
 *   without control characters but HTAB (RFC 9110 §5.5); a line starting with whitespace (obs-fold,
 *   §5.2) has no name. Duplicates of a field that carries one value are refused: the framing
 *   fields, Host, and those Node's http module keeps only once (it drops later copies);
 * - the empty line ending the head: Host (§3.2), Expect (RFC 9110 §10.1.1), the framing (§6.1, §6.3).
 */
function line(p: RequestParser, s: string): void {
  const head = p.next as RequestHead;
  let m: string[] | null;
  let name: string;
  let value: string;
  let k: number;
  let z: number;
  if (!p.step) {
    m = /^([^ ]+) ([!"$-~]+) HTTP\/(\d)\.(\d)$/.exec(s);
    if (!m) return fail(p, 'bad-request-line', 'syntax');
    name = m[1];
    value = m[2];
    // The authority of an absolute-form target (§3.2.2) is value[k, k + z) (k is 0 for the
    // origin and asterisk forms, which have none); s is the path and query.
    k = value.charAt(0) === '/' || value === '*' ? 0 : 7;
    z = value.slice(7).split('/')[0].split('?')[0].length;
    s = value.slice(k && k + z);
    if ('GET HEAD POST PUT DELETE OPTIONS PATCH'.split(' ').indexOf(name) < 0) return fail(p, 'not-implemented', 'method');
    // the scheme is case-insensitive (RFC 9110 §4.2.3)
    if ((k && (value.slice(0, 7).toLowerCase() !== 'http://' || !authority(value.slice(7, 7 + z)))) || (value === '*' && name !== 'OPTIONS')) return fail(p, 'bad-request-line', 'target');
    if (m[3] !== '1' || m[4] > '1') return fail(p, 'version-not-supported', 'not 1.0 or 1.1');
    p.step = Step.FIELDS;
    p.next = {
      method: name,
      target: value,
      path: s.split('?')[0] || '/',
      query: s.slice(s.split('?')[0].length + 1),
      authority: value.slice(k, k && k + z),
      minor: +m[4],
      headers: {},
      contentLength: 0,
      expectContinue: false,
    };
    return;
  }
  const headers = head.headers;
  if (s) {
    m = /^([\w!#$%&'*+.^`|~-]+):([\t -~\x80-\xff]*)$/.exec(s);
    if (!m) return fail(p, 'bad-header', 'syntax');
    name = m[1].toLowerCase();
    // The value without the SP and HTAB around it: its only characters below 33.
    value = m[2];
    for (k = 0; value.charCodeAt(k) < 33; ) k++;
    for (z = value.length; z > k && value.charCodeAt(z - 1) < 33; ) z--;
    // A field named __proto__; a tab after the value of a framing field (Node's strict parser
    // refuses it); a Host that is not host[:port] (§3.2).
    if (name === '__proto__' || ((name === 'content-length' || name === 'transfer-encoding') && value.indexOf('\t', z) >= 0)) return fail(p, 'bad-header', name);
    value = value.slice(k, z);
    if (name === 'host' && value && !authority(value)) return fail(p, 'bad-header', name);
    if (!headers.hasOwnProperty(name)) headers[name] = value;
    else if ('host content-length transfer-encoding content-type user-agent referer authorization proxy-authorization if-modified-since if-unmodified-since from location max-forwards retry-after etag last-modified server age expires'.split(' ').indexOf(name) >= 0) fail(p, 'bad-header', 'repeated ' + name);
    else headers[name] += (name === 'cookie' ? '; ' : ', ') + value;
    return;
  }
  // the end of the head
  name = headers['transfer-encoding'];
  value = headers['content-length'];
  p.buffer = undefined;
  if (head.minor && headers.host === undefined) return fail(p, 'bad-header', 'no Host');
  if (headers.expect !== undefined && headers.expect.toLowerCase() !== '100-continue') return fail(p, 'expectation-failed', 'not 100-continue');
  head.expectContinue = !!headers.expect && head.minor > 0;
  if (name !== undefined) {
    if (!head.minor || value !== undefined) return fail(p, 'bad-header', 'transfer-encoding');
    if (name.toLowerCase() !== 'chunked') return fail(p, 'not-implemented', 'transfer-encoding');
    head.contentLength = -1;
    p.step = Step.SIZE;
  } else if (value !== undefined) {
    if (value.length > 9 || !/^\d+$/.test(value)) return fail(p, 'bad-header', 'content-length');
    // parseInt, not +: Espruino reads a leading 0 as octal
    head.contentLength = p.left = parseInt(value, 10);
    if (p.left > p.maxBodyBytes) return fail(p, 'body-too-large', 'over ' + p.maxBodyBytes + ' bytes');
    p.step = Step.SIZED;
  }
  p.head = head;
  p.state = head.contentLength ? State.BODY : State.DONE;
  if (!head.contentLength) p.body = new Uint8Array(0);
}

/**
 * Consumes bytes[from, to) and returns the index where it stopped. It stops right after the head is complete
 * (state becomes PARSE_BODY, or PARSE_DONE when there is no body) so the caller can route and refuse before
 * reading the body; at PARSE_DONE (bytes after the request are never consumed: the caller answers and closes);
 * or at PARSE_FAILED (error set; the index is just past the byte that decided the refusal). Calling it again
 * after PARSE_BODY continues with the body; at PARSE_DONE or PARSE_FAILED it consumes nothing.
 *
 * The head is kept in `buffer` (414 while in the request line, 431 after). A Content-Length body is
 * copied as it comes into an array made at its first byte; a chunked one (§7.1: 1*8HEXDIG CRLF
 * data CRLF ... "0" CRLF CRLF) into one grown to the total declared so far at each size (the
 * previous array is garbage once copied).
 */
export function parseRequest(p: RequestParser, bytes: Uint8Array, from: number, to: number): number {
  if (!(bytes instanceof Uint8Array)) throw new Error('bytes: not a Uint8Array');
  integer(from, 0, bytes.length, 'from');
  integer(to, from, bytes.length, 'to');
  let i = from;
  let b: number;
  let n: number;
  let step: number;
  let s: string;
  let body = p.body;
  const buf = p.buffer || (i < to && !p.state ? (p.buffer = new Uint8Array(p.maxHeaderBytes)) : undefined);
  while (buf && i < to && p.state === State.HEAD) {
    b = bytes[i++];
    if (p.length >= p.maxHeaderBytes) fail(p, p.step ? 'header-too-large' : 'uri-too-long', 'over ' + p.maxHeaderBytes + ' bytes');
    else if (p.length && buf[p.length - 1] === 13 ? b !== 10 : b === 10) fail(p, p.step ? 'bad-header' : 'bad-request-line', 'bare CR or LF');
    else if ((buf[p.length++] = b) === 10) {
      for (s = '', n = p.index; n < p.length - 2; n++) s += String.fromCharCode(buf[n]);
      p.index = p.length;
      if (s || p.step) line(p, s);
    }
    if (p.state) return i;
  }
  while (i < to && p.state === State.BODY) {
    step = p.step;
    if (step === Step.SIZED || step === Step.DATA) {
      if (!body) body = p.body = new Uint8Array(p.left);
      n = to - i < p.left ? to - i : p.left;
      body.set(bytes.subarray(i, i + n), p.byteOffset);
      p.byteOffset += n;
      p.left -= n;
      i += n;
      if (!p.left) {
        p.step = Step.DATA_CR;
        if (step === Step.SIZED) p.state = State.DONE;
      }
      continue;
    }
    b = bytes[i++];
    n = parseInt(String.fromCharCode(b), 16);
    if (step === Step.SIZE) {
      if (n >= 0 && p.left < 8) {
        p.size = p.size * 16 + n;
        p.left++;
      } else if (b !== 13 || !p.left) fail(p, 'bad-chunk', b === 59 ? 'extension' : 'size');
      else if (p.byteOffset + p.size > p.maxBodyBytes) fail(p, 'body-too-large', 'over ' + p.maxBodyBytes + ' bytes');
      else p.step = Step.SIZE_LF;
    } else if (step >= Step.END_CR && p.length++ >= p.maxHeaderBytes) fail(p, 'header-too-large', 'over ' + p.maxHeaderBytes + ' bytes');
    else if (b !== (step & 1 ? 10 : 13)) fail(p, 'bad-chunk', step === Step.END_CR ? 'trailer' : 'no CRLF');
    else if (step === Step.END_LF) {
      p.body = body || new Uint8Array(0);
      p.state = State.DONE;
    } else if (step === Step.SIZE_LF) {
      if (p.size) {
        body = new Uint8Array(p.byteOffset + p.size);
        if (p.body) body.set(p.body);
        p.body = body;
      }
      p.step = p.size ? Step.DATA : Step.END_CR;
      p.left = p.size;
      p.size = 0;
    } else p.step = step === Step.DATA_LF ? Step.SIZE : step + 1;
  }
  return i;
}

/**
 * authority = host [ ":" port ] without userinfo (RFC 9110 §4.2.1, §4.2.4; RFC 3986 §3.2.2, §3.2.3):
 * host an IP-literal ("[" hex digits, ":" and "." "]") or a reg-name (unreserved, sub-delims,
 * pct-encoded), port digits (possibly none). An empty host is refused (RFC 9110 §4.2.1).
 */
function authority(s: string): boolean {
  s = s.replace(/:\d*$/, '').replace(/%[\da-f][\da-f]/gi, 'x');
  return (s.charAt(0) === '[' ? /^\[[\da-f:.]+\]$/i : /^[\w!$&'()*+,.;=~-]+$/).test(s);
}

/** A parser for one request, within `limits`. */
export function newRequestParser(limits: HttpLimits): RequestParser {
  return {
    state: State.HEAD,
    head: undefined,
    body: undefined,
    error: undefined,
    maxHeaderBytes: integer(limits.maxHeaderBytes, 1, 0x7fffffff, 'maxHeaderBytes'),
    maxBodyBytes: integer(limits.maxBodyBytes, 0, 0x7fffffff, 'maxBodyBytes'),
    step: Step.LINE,
    length: 0,
    index: 0,
    left: 0,
    byteOffset: 0,
    size: 0,
  };
}

/** `v` if it is an integer from `min` to `max`; throws naming `field` otherwise. */
function integer(v: number, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !(v >= min && v <= max && v % 1 === 0)) throw new Error(field + ': out of range');
  return v;
}

/** Ends the request with a refusal; the buffers are released (an accepted head stays). */
function fail(p: RequestParser, code: HttpRefusalCode, reason: string): void {
  p.state = State.FAILED;
  p.error = { status: HTTP_REFUSALS[code], code: code, reason: reason };
  p.buffer = p.body = undefined;
}

export const PARSE_HEAD: 0 = State.HEAD;
export const PARSE_BODY: 1 = State.BODY;
export const PARSE_DONE: 2 = State.DONE;
export const PARSE_FAILED: 3 = State.FAILED;

/**
 * Every refusal the parser gives: code -> status (no descriptions on the device). Codes are stable
 * (servers and documentation decide on them); the reason of an actual refusal says which rule:
 * - bad-request-line (400), in the request line or the empty lines before it: "bare CR or LF"
 *   (RFC 9112 §2.2); "syntax": not method SP target SP HTTP/digit.digit with single spaces, a
 *   target in visible ASCII without "#" (§3, §2.3); "target": not a path, an http URI without
 *   userinfo, or "*" with OPTIONS (§3.2)
 * - bad-header (400), in the field lines: "bare CR or LF"; "syntax": not name ":" value, the name
 *   a token, no space before the colon, no control character but HTAB, no whitespace starting
 *   the line (obs-fold, §5.2); "__proto__": a field of that name; "repeated <name>": a second
 *   copy of a field that carries one value (RFC 9110 §5.3); "no Host" in HTTP/1.1, "host": not
 *   host[:port] (§3.2, RFC 9110 §7.2); "content-length": not 1 to 9 digits; "transfer-encoding":
 *   in HTTP/1.0 or with Content-Length (§6.1, §6.3); either of the last two for a tab after the
 *   value
 * - bad-chunk (400): "size": not 1 to 8 hex digits; "extension": a chunk extension; "no CRLF"
 *   after chunk data; "trailer": a trailer field (§7.1)
 * - not-implemented (501): "method": not GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH (RFC 9110
 *   §15.6.2); "transfer-encoding": a coding other than chunked alone (§6.1)
 * - version-not-supported (505): "not 1.0 or 1.1" (RFC 9110 §15.6.6)
 * - uri-too-long (414): "over <maxHeaderBytes> bytes" in the request line (RFC 9110 §15.5.15)
 * - header-too-large (431): "over <maxHeaderBytes> bytes" in the head or the CRLF ending a chunked
 *   body (RFC 6585 §5)
 * - expectation-failed (417): "not 100-continue" (RFC 9110 §10.1.1)
 * - body-too-large (413): "over <maxBodyBytes> bytes" (RFC 9110 §15.5.14)
 */
export const HTTP_REFUSALS = {
  'bad-request-line': 400,
  'bad-header': 400,
  'bad-chunk': 400,
  'not-implemented': 501,
  'version-not-supported': 505,
  'uri-too-long': 414,
  'header-too-large': 431,
  'expectation-failed': 417,
  'body-too-large': 413,
};

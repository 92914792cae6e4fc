import { join } from 'node:path';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { hostileOnEspruino } from '../firmware/host/real-engines';
import { table } from './crypto';

/**
 * The hostile-request row of `npm run bench` on Espruino's Linux build, with its real `net` (real
 * sockets): the test image (test/fixtures/echo-image.ts: 2,048 header bytes, 4,096 body bytes) run
 * from Storage, sent each flood and then a plain request; variables in use before, at the most, after.
 */
function* flood(head: string, total: number): Iterable<Uint8Array> {
  yield Buffer.from(head, 'latin1');
  const chunk = Buffer.alloc(65536, 0x61);
  for (let n = 0; n < total; n += chunk.length) yield chunk;
}

export async function hostileBench(espruino: string): Promise<void> {
  const { code } = await bundleDevice('import ' + JSON.stringify(join(ROOT, 'test/fixtures/echo-espruino.ts')) + ';', ROOT, 'espruino', join(ROOT, 'dist/bench/espruino/echo.js'));
  const host = 'Host: 127.0.0.1\r\n';
  const rows = await hostileOnEspruino(espruino, code, 80, [
    { name: 'plain GET', bytes: () => [Buffer.from('GET /api/info HTTP/1.1\r\n' + host + '\r\n', 'latin1')] },
    { name: '1 MB request line', bytes: () => flood('GET /', 1 << 20) },
    { name: '1 MB of headers', bytes: () => flood('GET / HTTP/1.1\r\n' + host + 'X-Big: ', 1 << 20) },
    { name: '20,000 headers', bytes: () => [Buffer.from('GET / HTTP/1.1\r\n' + host + 'X: 1\r\n'.repeat(20000) + '\r\n', 'latin1')] },
    { name: '10 MB body', bytes: () => flood('POST /echo HTTP/1.1\r\n' + host + 'Content-Length: 10485760\r\n\r\n', 10 << 20) },
    { name: '10 MB chunked body', bytes: () => flood('POST /echo HTTP/1.1\r\n' + host + 'Transfer-Encoding: chunked\r\n\r\nA00000\r\n', 10 << 20) },
    { name: '100,000 one-byte chunks', bytes: () => [Buffer.from('POST /echo HTTP/1.1\r\n' + host + 'Transfer-Encoding: chunked\r\n\r\n' + '1\r\na\r\n'.repeat(100000) + '0\r\n\r\n', 'latin1')] },
  ]);
  console.log('\nHostile requests on Espruino 2v29 (Linux, 12,000 variables, real sockets, image run from Storage): variables in use');
  table([['request', 'answer', 'before', 'most', 'after', 'next request'], ...rows.map((r) => [r.name, String(r.status || 'closed'), String(r.before), String(r.peak), String(r.after), r.servesAfter ? '200' : 'not served'])]);
}

import test, { type ExecutionContext } from 'ava';
import { connect as tcpConnect } from 'node:net';
import { parseAnswer, requestBytes, runInEngine, type EngineReply, type EngineRequest, type EngineSession } from '../firmware/host/engine';
import { checkProfile, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { startSimulator } from '../firmware/host/simulator';
import echoImage from './fixtures/echo-image';
import { bundleFixture } from './helpers';

/**
 * One hostile-request suite, run against every binding: the Pico W (Kaluma's `net` fake), the
 * ESP32 (Espruino's `net` fake) and the host board (node:net, real sockets). The image is
 * test/fixtures/echo-image.ts: limits of 2,048 header bytes and 4,096 body bytes, a public route
 * that reads its body, an admin route. Every refusal is answered with its status and the one error
 * shape, the connection is closed, a flood is not read past the limit, and the device answers the
 * next request.
 */

import { CASES, enc, HOST, type Case } from './http-hostile.cases';

/** The checks every reply of the suite gets. */
function expectCase(t: ExecutionContext, c: Case, r: EngineReply, timeoutMs: number, where: string): void {
  t.true(r.closed, `${where}: ${c.name}: the device closed the connection`);
  t.is(r.status, c.status, `${where}: ${c.name}: ${r.text}`);
  if (r.status >= 400) {
    const body = JSON.parse(r.text) as { error: string; reason: string };
    t.is(typeof body.error, 'string', `${where}: ${c.name}`);
    t.true(body.reason.length > 0, `${where}: ${c.name}`);
    if (c.code) t.is(body.error, c.code, `${where}: ${c.name}`);
  }
  if (c.check) c.check(t, r, timeoutMs, where);
}

const TIMEOUTS: { [target in DeviceTarget]: number } = { kaluma: 3000, espruino: 5000 };

for (const target of ['kaluma', 'espruino'] as const) {
  test(`${target}: the hostile-request suite through the runtime's net fake; memory stays within the limits plus one connection`, async (t) => {
    const { code, map } = await bundleFixture(target === 'kaluma' ? 'echo-kaluma.ts' : 'echo-espruino.ts', target);
    t.deepEqual(checkProfile(code, target, map).violations, [], formatViolations(checkProfile(code, target, map)));
    let growth = 0;
    const report = await runInEngine(code, target, {
      timeoutMs: 600000,
      session: (e: EngineSession) => {
        const after: number[] = [];
        for (const c of CASES) {
          const r = e.request(c.request);
          expectCase(t, c, r, TIMEOUTS[target], target);
          const ok = e.request({ method: 'GET', url: '/api/info' });
          t.is(ok.status, 200, `${target}: after "${c.name}" the device serves`);
          after.push(e.memory());
        }
        // Nothing a request did stays behind: memory after the last case is where it was after the
        // first (QuickJS collects cycles from time to time, so single steps vary).
        growth = after[after.length - 1]! - after[0]!;
        t.true(growth < 16 * 1024, `${target}: ${growth} bytes more after ${CASES.length} cases`);
      },
    });
    t.true(report.booted, report.error);
    // The peak over the booted image: the limits (2,048 head and 4,096 body bytes, held as bytes in
    // QuickJS too) plus one connection's state and the harness's segment in flight (12 KB of
    // QuickJS objects at most), whatever the flood: a 1 MB request line, 1 MB of headers, 10 MB bodies.
    // (The peak while serving: on Kaluma the code that boot runs once is freed after it, so the
    // peak while booting lies above what the image holds once booted.)
    const extra = report.servingPeakBytes - report.bootBytes;
    t.true(extra < 2048 + 4096 + 12 * 1024, `peak ${report.servingPeakBytes} over boot ${report.bootBytes}`);
    t.log(`${target}: ${CASES.length} hostile cases; peak serving ${report.servingPeakBytes} B, ${extra} B over the booted image, ${growth} B after the last case (QuickJS)`);
    t.deepEqual(report.missing, []);
    t.deepEqual(report.swallowed, []);
  });
}

/** A raw client on real sockets: segments, a slow pace, a flood; resolves once the device closes. */
function hostExchange(port: number, request: EngineRequest): Promise<EngineReply> {
  const bytes = Buffer.from(requestBytes(request));
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    let flood = request.flood?.count ?? 0;
    let closed = false;
    const segment = request.segment ?? 65536;
    const finish = (): void => {
      if (closed) return;
      closed = true;
      clearTimeout(limit);
      const answer = parseAnswer(new Uint8Array(Buffer.concat(chunks)));
      resolve({ ...answer, text: Buffer.from(answer.body).toString('utf8'), closed: true, sent, unsent: bytes.length - Math.min(sent, bytes.length) + flood, ms: Date.now() - started });
    };
    const limit = setTimeout(() => {
      socket.destroy();
      finish();
    }, request.waitMs ?? 20000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => finish());
    const pump = (): void => {
      while (!closed && !socket.destroyed) {
        let chunk: Buffer;
        if (sent < bytes.length) chunk = bytes.subarray(sent, sent + segment);
        else if (flood > 0) {
          const f = request.flood!;
          chunk = Buffer.alloc(Math.min(flood, 65536), f.pattern !== undefined ? Buffer.from(f.pattern, 'latin1') : f.byte ?? 0);
          flood -= chunk.length;
        } else return;
        sent += chunk.length;
        const more = socket.write(chunk);
        if (request.everyMs) {
          setTimeout(pump, request.everyMs);
          return;
        }
        if (!more) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('connect', pump);
  });
}

test('host: the same suite over real sockets against the simulator', async (t) => {
  const timeout = 800;
  const sim = await startSimulator({ image: echoImage, quiet: true, netLimits: { requestTimeoutMs: timeout } });
  try {
    const port = sim.device.port();
    for (const c of CASES) {
      const r = await hostExchange(port, { ...c.request, everyMs: c.request.everyMs ? Math.max(20, c.request.everyMs / 4) : 0 });
      // On real sockets a flood may outrun the answer: the client can see a reset instead of the refusal.
      if (c.request.flood && r.status === 0) t.log(`host: ${c.name}: connection reset before the answer arrived`);
      else expectCase(t, c, r, timeout, 'host');
      t.is((await hostExchange(port, { method: 'GET', url: '/api/info' })).status, 200, `host: after "${c.name}" the device serves`);
    }
  } finally {
    sim.stop();
  }
});

test('connections beyond the socket slots are refused at once; on the Pico W a newcomer is destroyed before it can send and the open request is still served', async (t) => {
  for (const target of ['kaluma', 'espruino'] as const) {
    const { code } = await bundleFixture(target === 'kaluma' ? 'echo-kaluma.ts' : 'echo-espruino.ts', target);
    const slots = target === 'kaluma' ? 1 : 4;
    const report = await runInEngine(code, target, {
      session: (e) => {
        const open: number[] = [];
        for (let i = 0; i < slots; i++) {
          const id = e.connect();
          e.send(id, enc('POST /echo HTTP/1.1\r\n' + HOST + 'Content-Length: 2\r\n\r\n'));
          open.push(id);
        }
        e.advance(100);
        const extra = e.connect();
        e.send(extra, enc('GET /api/info HTTP/1.1\r\n' + HOST + '\r\n'));
        e.advance(200);
        const refused = e.answer(extra);
        t.true(refused.closed, target);
        if (target === 'kaluma') t.is(refused.status, 0, 'destroyed without an answer');
        else t.is(refused.status, 503);
        for (const id of open) e.send(id, enc('ok'));
        e.advance(300);
        for (const id of open) t.deepEqual(JSON.parse(e.answer(id).text), { length: 2, start: 'ok', query: '' }, target);
        t.is(e.request({ method: 'GET', url: '/api/info' }).status, 200);
      },
    });
    t.true(report.booted, report.error);
    t.deepEqual(report.swallowed, []);
  }
});

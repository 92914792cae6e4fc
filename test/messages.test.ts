import test from 'ava';
import { parse } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import { buildImage } from '../firmware/host/build';
import { runInEngine, type EngineRequest } from '../firmware/host/engine';
import { encodeAssets } from '../firmware/host/assets';
import { MESSAGE_MIN, MESSAGES_OF } from '../firmware/host/strings';
import { Asset } from '../firmware/device/core/assets';
import { encodeProvisioning, newProvisioningRecord, padTo } from '../firmware/host/provision';

/**
 * A Kaluma image's messages in the assets (firmware/host/strings.ts, firmware/device/core/messages.ts):
 * what moves, what must not, and that the device behaves the same with its table, without one and
 * with a damaged one — only what its messages say differs.
 */

/** The table's strings (docs/formats/assets.md, id 3). */
function strings(table: Uint8Array): string[] {
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const n = v.getUint16(4, true);
  const base = 6 + 2 * (n + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(table.subarray(base + v.getUint16(6 + 2 * i, true), base + v.getUint16(8 + 2 * i, true))).toString('ascii'));
  return out;
}

test('the Kaluma image moves its messages to a table, and keeps every literal it compares, indexes or computes with', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  t.truthy(built.messages);
  const table = strings(built.messages!);
  t.true(table.length > 100, table.length + ' messages');
  t.true(table.every((s) => s.length >= MESSAGE_MIN && /^[\x20-\x7e]+$/.test(s)));
  t.true(table.includes('the request does not authenticate under this session\'s keys: altered, truncated, or protected for another session, route or direction'));
  t.regex(built.code, /^'use strict';var __hm=function\(i\)\{return"\(message "\+i\+"\)"\};\n/);
  // What the code computes with stays in it: key labels, codes, header names, media types.
  for (const kept of ['hoshi store seal v1', 'hoshi default password v1', 'hoshi audit log v1', 'channel-unauthentic', 'password-change-required', 'application/cose; cose-type="cose-encrypt0"', 'GET HEAD POST PUT DELETE OPTIONS PATCH', 'transfer-encoding']) {
    t.true(built.code.includes(kept), kept);
  }
  // No message call stands where the code compares, indexes, switches or names a property.
  const misused: string[] = [];
  let calls = 0;
  fullAncestor(parse(built.code, { ecmaVersion: 'latest' }), (node, _s, ancestors) => {
    const n = node as { type: string; callee?: { type: string; name?: string } };
    if (n.type !== 'CallExpression' || n.callee?.type !== 'Identifier' || n.callee.name !== '__hm') return;
    calls++;
    const parent = ancestors[ancestors.length - 2] as { type: string; operator?: string; object?: unknown; key?: unknown; test?: unknown; property?: unknown };
    const compared = parent.type === 'BinaryExpression' && parent.operator !== '+';
    if (compared || (parent.type === 'MemberExpression' && (parent.object === node || parent.property === node)) || (parent.type === 'Property' && parent.key === node) || (parent.type === 'SwitchCase' && parent.test === node)) {
      misused.push(JSON.stringify(parent.type + ' ' + (parent.operator ?? '')));
    }
  });
  t.true(calls >= table.length, calls + ' calls');
  t.deepEqual(misused, []);
});

/** Requests whose answers carry reasons: the table's texts in them. */
const REQUESTS: EngineRequest[] = [
  { method: 'GET', url: '/api/info' },
  { method: 'GET', url: '/nowhere' },
  { method: 'DELETE', url: '/api/info' },
  { method: 'PUT', url: '/api/relay', body: new TextEncoder().encode('{"on":true}') },
  { method: 'BREW', url: '/' },
];

test('with its table, without one and with a damaged one the device answers the same; only the messages differ', async (t) => {
  const built = await buildImage('smart-plug', 'kaluma');
  const table = built.messages!;
  const record = newProvisioningRecord(undefined, { iterations: 4096 }).record;
  const prelude = `__engine.flash.load(0, ${JSON.stringify(Array.from(padTo(encodeProvisioning(record), 256)))});`;
  const run = async (assets: Uint8Array | undefined) => {
    MESSAGES_OF.delete(built.code);
    // The assets go into slot A with the image (engine.ts), as `hoshi flash` writes them.
    const report = await runInEngine(built.code, 'kaluma', { prelude, assets, requests: REQUESTS });
    MESSAGES_OF.set(built.code, table);
    t.true(report.booted, report.error);
    return report;
  };
  const whole = await run(encodeAssets([{ id: Asset.MESSAGES, bytes: table }]));
  const none = await run(undefined);
  // Damaged after it was written: the id (head) intact, every offset 0xffff.
  const damaged = new Uint8Array(table);
  damaged.fill(0xff, 6, 6 + 2 * (new DataView(table.buffer, table.byteOffset).getUint16(4, true) + 1));
  const broken = await run(encodeAssets([{ id: Asset.MESSAGES, bytes: damaged }]));
  // Another build's table: refused at boot.
  const foreign = new Uint8Array(table);
  foreign[0] ^= 1;
  const other = await run(encodeAssets([{ id: Asset.MESSAGES, bytes: foreign }]));

  const shape = (r: typeof whole) => r.replies.map((a) => [a.status, a.text.startsWith('{') ? JSON.parse(a.text).error ?? null : null]);
  t.deepEqual(shape(none), shape(whole));
  t.deepEqual(shape(broken), shape(whole));
  t.deepEqual(shape(other), shape(whole));
  t.deepEqual(shape(whole).map((s) => s[0]), [200, 404, 405, 401, 501]);
  const reason = (r: typeof whole, i: number): string => JSON.parse(r.replies[i]!.text).reason;
  t.is(reason(whole, 3), 'log in first (POST /api/login)', 'the text read from the table');
  t.regex(reason(none, 3), /^\(message \d+\)$/);
  t.regex(reason(broken, 3), /^\(message \d+\)$/);
  t.true(whole.logs.some((l) => l.includes('console left open: usb: REPL always on in Kaluma 1.2.1')), 'log lines from the table too');
  t.true(none.logs.some((l) => l.includes('no message table of this build')));
  t.true(other.logs.some((l) => l.includes('no message table of this build')));
});

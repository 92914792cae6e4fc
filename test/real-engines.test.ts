import test from 'ava';
import { runLoaderOnRealEngine, runOnRealEngine } from '../firmware/host/real-engines';
import { buildLoader, factoryBootRecord, factorySlot } from '../firmware/host/loader-build';
import { buildPayload } from '../firmware/host/payload';

/**
 * On Espruino 2v29 built from source (HOSHI_ESPRUINO names the Linux binary; skipped without it):
 * the fixed loader, stored as `.bootcde` with slot A and the factory record in the runtime's own
 * Storage, boots the image from `hoshi.a`, and it answers as the same image run as the boot code.
 */
const espruino = process.env.HOSHI_ESPRUINO;

(espruino ? test : test.skip)('Espruino 2v29: the loader boots env-sensor from hoshi.a; it answers GET /api/info as the image run as the boot code does', async (t) => {
  const loader = await buildLoader('espruino');
  const p = await buildPayload('env-sensor', 'espruino', { version: '0.1.0' });
  const through = runLoaderOnRealEngine(espruino!, 'espruino', loader.code, factorySlot(p.payload), factoryBootRecord(p.payload, p.app, '0.1.0'));
  t.true(through.ok, through.output.slice(-2000));
  t.regex(through.output, /\[hoshi\] \[loader\] booting slot A 0\.1\.0/);
  const direct = runOnRealEngine(espruino!, 'espruino', Buffer.from(p.payload.subarray(0, p.app)).toString('latin1'));
  t.true(direct.ok, direct.output.slice(-2000));
  t.log('variables over the fakes after the request: through the loader ' + (through.used - through.fakesOnly) + ', as the boot code ' + (direct.used - direct.fakesOnly));
});

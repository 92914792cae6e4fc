import { crc32 } from '../device/core/crc32';
import { ClientError, deviceInfo, type Session } from './client';

/** What `updateDevice` reports as it goes: the phase, and bytes or steps done of a total when known. */
export type UpdateProgress = (phase: string, done: number, total: number) => void;

export interface UpdateOptions {
  /** Largest chunk, bytes (default 4096; halved while the device answers 413). */
  chunk?: number;
  /** How long to wait for the device to come back on its new version, ms (default 10 minutes: a Pico verifies at boot). */
  waitMs?: number;
  /** Poll interval while the device hashes, verifies and restarts, ms (default 1000). */
  pollMs?: number;
  onProgress?: UpdateProgress;
}

export interface UpdateResult {
  /** The version the device runs at the end. */
  version: string;
  securityCounter: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The upload's state on the device (GET /api/update). */
export async function updateState(session: Session): Promise<{ [key: string]: unknown }> {
  const a = await session.call('GET', '/api/update');
  if (a.status !== 200) throw refused('GET /api/update', a.status, a.body);
  return a.body;
}

/**
 * Applies `pkg` (a signed package, docs/formats/update.md) to the device behind `session`: uploads
 * it in chunks (each authenticated by the admin channel, resumed where the device stands after a
 * refused offset), asks for the install, then follows the device while it hashes, verifies and
 * restarts, until `/api/info` shows the package's version running. Throws a ClientError with the
 * device's refusal (its code and reason) when the package is refused.
 */
export async function updateDevice(session: Session, pkg: Uint8Array, version: string, o: UpdateOptions = {}): Promise<UpdateResult> {
  const progress = o.onProgress ?? (() => undefined);
  let chunk = o.chunk ?? 4096;
  let offset = 0;
  progress('upload', 0, pkg.length);
  while (offset < pkg.length) {
    const bytes = pkg.subarray(offset, Math.min(pkg.length, offset + chunk));
    const a = await session.call('PUT', '/api/update/package', { offset, crc: crc32(bytes, 0, bytes.length) >>> 0 }, bytes);
    if (a.status === 413 && chunk > 256) {
      chunk = chunk >> 1;
      continue;
    }
    if (a.status === 409 && a.body.error === 'offset-mismatch') {
      const next = typeof a.body.offset === 'number' ? a.body.offset : 0;
      if (next === offset) throw refused('PUT /api/update/package', a.status, a.body);
      offset = next;
      continue;
    }
    if (a.status !== 202) throw refused('PUT /api/update/package', a.status, a.body);
    offset += bytes.length;
    progress('upload', offset, pkg.length);
  }
  const i = await session.call('POST', '/api/update/install');
  if (i.status !== 202) throw refused('POST /api/update/install', i.status, i.body);
  // Hashing and, where the image verifies, the signature: followed until the device restarts.
  const poll = o.pollMs ?? 1000;
  for (;;) {
    let s: { [key: string]: unknown };
    try {
      s = await updateState(session);
    } catch (error) {
      if (error instanceof ClientError && (error.code === 'network' || error.status === 401)) break; // restarting
      throw error;
    }
    const phase = String(s.phase);
    if (phase === 'refused') throw new ClientError('refused', 'the device refused the update: ' + String(s.error) + ': ' + String(s.reason), 422, String(s.error));
    if (phase === 'restarting') break;
    // A key-rotation package is applied without a restart: the worker is idle again.
    if (phase === 'idle') return { version: '', securityCounter: Number(s.securityCounter) };
    if (phase === 'hashing' || phase === 'receiving') progress('hash', Number(s.hashed), Number(s.total));
    else progress(phase, 0, 0);
    await pause(poll);
  }
  // The device restarts, verifies at boot where its loader does, boots the new image on trial and
  // confirms it once it serves.
  progress('restart', 0, 0);
  const deadline = Date.now() + (o.waitMs ?? 600000);
  let last = '';
  while (Date.now() < deadline) {
    await pause(poll);
    try {
      const info = (await deviceInfo(session.url)) as unknown as { firmwareVersion: string; status?: { securityCounter?: number; update?: string } };
      last = info.firmwareVersion;
      if (info.firmwareVersion === version) return { version, securityCounter: Number(info.status?.securityCounter ?? 0) };
    } catch (error) {
      if (!(error instanceof ClientError) || error.code !== 'network') throw error;
    }
  }
  throw new ClientError('network', 'the device did not come back on ' + version + ' in time' + (last ? ' (it runs ' + last + ': the update was refused at boot or reverted; GET /api/update says why)' : ''));
}

function refused(what: string, status: number, body: { [key: string]: unknown }): ClientError {
  return new ClientError('refused', what + ': ' + status + ' ' + String(body.error ?? '') + ': ' + String(body.reason ?? ''), status, typeof body.error === 'string' ? body.error : undefined);
}

/** A one-line progress bar on stderr. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): UpdateProgress {
  let shown = '';
  return (phase, done, total) => {
    const width = 30;
    const bar = total > 0 ? '[' + '#'.repeat(Math.round((done / total) * width)).padEnd(width, '.') + '] ' + Math.floor((done * 100) / total) + ' %' : '';
    const line = phase.padEnd(10) + bar + (total > 0 && phase === 'upload' ? ' ' + done + '/' + total + ' bytes' : '');
    if (line === shown) return;
    shown = line;
    if (stream.isTTY) stream.write('\r' + line.padEnd(78));
    else stream.write(line + '\n');
  };
}

import { base64Encode } from '../../firmware/device/core/base64';
import { bytesAscii, u32 } from '../../firmware/device/core/bytes';
import { message } from '../../firmware/device/core/messages';
import { json, problem, type HttpRequest, type HttpResponse } from '../../firmware/device/core/module';
import { forgetLog } from './forget';
import { Audit, headerOf } from './format';
import { oldestSeq, Window, type Ring } from './log';

/**
 * The security log's reader: what `GET /api/log` and `GET /api/security` answer (docs/formats/audit.md).
 * Needed only while an administrator reads the log: read-code.ts says where its code comes from (on
 * Kaluma, code read from the image's assets on demand keeps it out of the heap). It carries the
 * log's forget too (forget.ts), needed once in a unit's life.
 */

const enum Read {
  /** Entries per page, at most and by default: an answer of about 1.8 KB. */
  PAGE = 16,
  /** The longest request read ({"from": 4294967295, "count": 16} is 35 characters). */
  BODY = 64,
}

/** One page of the log, as `GET /api/log` answers it (slots in base64; numbers: slots skipped). */
export interface LogPage {
  /** The sequence number of the first entry in `slots`, or null if there is none. */
  from: number | null;
  /** The MAC of the entry before it (the anchor), base64. */
  anchor: string | null;
  /**
   * The slots in ring order from that entry's: its sector's header first when it is the sector's
   * first entry, the header of each sector entered, each complete entry; a number stands for as many
   * slots since the last slot returned that hold no complete entry (torn by a power cut).
   */
  slots: (string | number)[];
  /** The sequence number to ask for next, or null once the page ends the log. */
  next: number | null;
}

/** Up to `count` entries from the first with a sequence number ≥ `from`. Never throws on what the flash holds. */
export function logPage(r: Ring, from: number, count: number): LogPage {
  const E = r.E;
  const flash = r.part.log!;
  // The kept sectors in ring order from the oldest: [ring position, first entry's sequence number].
  const k: number[][] = [];
  for (let i = 1; i <= r.N; i++) {
    const at = (r.pos + i) % r.N;
    const h = headerOf(flash.read(at * E, Audit.HEADER));
    if (h && h[0] <= r.sector && h[0] + r.N > r.sector) k.push([at, h[1]]);
  }
  let i = 0;
  while (i + 1 < k.length && k[i + 1][1] <= from) i++;
  const slots: (string | number)[] = [];
  let anchor: Uint8Array | undefined;
  let first = -1;
  let last = -1;
  let skip = 0;
  let left = count;
  for (; i < k.length && left > 0; i++) {
    const base = k[i][0] * E;
    let header: Uint8Array | undefined = flash.read(base, Audit.SLOT);
    const end = k[i][0] === r.pos ? r.slot : r.S;
    let s = 1;
    // Straight to the entry before `from` where it lies when no slot before it was torn.
    const s1 = from - k[i][1];
    if (first < 0 && s1 > 0 && s1 < end) {
      const b = flash.read(base + s1 * Audit.SLOT, Audit.SLOT);
      if (b[Audit.COMMIT_AT] === Audit.COMMIT && u32(b, 0) === from - 1) s = s1;
    }
    if (first < 0) skip = 0;
    for (; s < end && left > 0; s++) {
      const b = flash.read(base + s * Audit.SLOT, Audit.SLOT);
      const q = u32(b, 0);
      if (b[Audit.COMMIT_AT] !== Audit.COMMIT) skip++;
      else if (first < 0 && q < from) {
        // Before the page: its MAC anchors the page's first entry.
        anchor = b.subarray(Audit.MAC_AT, Audit.MAC_AT + Audit.MAC);
        header = undefined;
        skip = 0;
      } else {
        if (first < 0) {
          first = q;
          if (header) anchor = header.subarray(Audit.ANCHOR_AT, Audit.ANCHOR_AT + Audit.MAC);
        }
        if (header) slots.push(base64Encode(header));
        header = undefined;
        if (skip) slots.push(skip);
        skip = 0;
        slots.push(base64Encode(b));
        last = q;
        left--;
      }
    }
  }
  return { from: first < 0 ? null : first, anchor: first < 0 || !anchor ? null : base64Encode(anchor), slots: slots, next: left === 0 && last + 1 < r.seq ? last + 1 : null };
}

/**
 * The parameters of `GET /api/log`, `{"from": <seq>, "count": <n>}` (each optional), from its
 * protected request: the admin channel authenticates that and not the query string
 * (docs/formats/channel.md), so no admin route reads a query. [from, count], or why refused.
 */
function logRequest(body: Uint8Array): number[] | string {
  const v = [0, Read.PAGE];
  if (body.length === 0) return v;
  if (body.length > Read.BODY) return message('the request is longer than {"from": <seq>, "count": <n>} can be');
  let o: { [name: string]: unknown } | undefined;
  try {
    o = JSON.parse(bytesAscii(body));
  } catch (_e) {
    o = undefined;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return message('the body must be {"from": <seq>, "count": <n>}, each optional');
  for (const name in o) {
    const n = name === 'from' ? 0 : name === 'count' ? 1 : -1;
    const x = o[name];
    if (n < 0) return message('unknown field "') + name + message('": the fields are from and count');
    if (typeof x !== 'number' || x !== Math.floor(x) || (n === 0 ? !(x >= 0 && x <= 4294967295) : !(x >= 1 && x <= Read.PAGE))) return name + (n === 0 ? message(' must be a sequence number, 0 to 4294967295') : message(' must be a number of entries, 1 to 16'));
    v[n] = x;
  }
  return v;
}

/** The answer of `GET /api/log` or `GET /api/security`. */
function answer(r: Ring, request: HttpRequest): HttpResponse {
  const o = oldestSeq(r);
  const oldest = r.seq > o ? o : null;
  const newest = r.seq > o ? r.seq - 1 : null;
  if (request.path === '/api/security') {
    const now = r.clock.now();
    const view = function (k: number): unknown {
      // The counter at k of the ring's counts (none until an event was counted).
      const c = r.counts;
      if (!c || !c[k]) return { lastHour: 0, sinceBoot: 0, last: null };
      // Buckets older than the window count nothing.
      const e = Math.floor(now / Window.BUCKET_MS);
      let h = 0;
      for (let x = 0; x < Window.BUCKETS; x++) if (e - c[k + 1] + x < Window.BUCKETS) h += c[k + 4 + ((c[k + 1] - x + Window.BUCKETS * 2) % Window.BUCKETS)];
      return { lastHour: h, sinceBoot: c[k], last: { uptime: c[k + 2], wallTime: c[k + 3] || null, detail: r.details![k ? 1 : 0] } };
    };
    return json(200, { loginFailed: view(0), updateRefused: view(Window.COUNTER), entries: r.seq - o, oldest: oldest, newest: newest, boot: r.boot, uptime: Math.floor(now / 1000) });
  }
  const v = logRequest(request.body);
  if (typeof v === 'string') return problem(400, 'bad-log-request', v);
  const page = logPage(r, v[0], v[1]);
  return json(200, { from: page.from, anchor: page.anchor, slots: page.slots, next: page.next, oldest: oldest, newest: newest, key: base64Encode(r.key) });
}

/** The reader, with the log's forget (forget.ts, run at a factory wipe): one object, whose code read-code.ts supplies. */
export const auditReader = { answer: answer, page: logPage, forget: forgetLog };

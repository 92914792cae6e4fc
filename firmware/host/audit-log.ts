import { createHmac } from 'node:crypto';
import { Audit, erased, headerOf } from '../../modules/audit/format';

/**
 * The host's verifier of a unit's security log (modules/audit, docs/formats/audit.md): it parses
 * the raw slots a device answers `GET /api/log` with (or a dump of the log partition), checks the
 * chain — every entry's MAC over the entry before it or over its sector's anchor, sequence numbers
 * in order and without gaps, sectors in order — and names each break: an entry edited, entries
 * deleted, entries reordered, sectors missing from the middle (truncated middle). Entries torn by a
 * power cut are noted, not counted as breaks. `hoshi log` (cli.ts) fetches a unit's log page by page
 * through the admin channel and runs this; it keeps the last verified entry per unit to check, at
 * the next run, that the chain still continues from it. Host code: the MACs are recomputed with
 * node:crypto, independently of the device's provider.
 */

export interface AuditEntry {
  seq: number;
  /** The boot it was written in (its number modulo 65,536). */
  boot: number;
  /** Seconds since that boot. */
  uptime: number;
  /** Seconds since the Unix epoch, or null where the board had no wall clock. */
  wallTime: number | null;
  kind: string;
  detail: string;
  /** The entry's MAC, hex. */
  mac: string;
  /** True when its MAC authenticates over the MAC before it (the previous entry's or an anchor). */
  verified: boolean;
}

export type AuditBreakKind = 'edited' | 'deleted' | 'reordered' | 'truncated-middle' | 'unreadable' | 'rewritten';

/** One break of the chain: what it is, the entries it concerns, in words. */
export interface AuditBreak {
  kind: AuditBreakKind;
  message: string;
  seq?: number;
  from?: number;
  to?: number;
}

export interface AuditReport {
  /** No break: every entry authenticates and the sequence runs without a gap. */
  ok: boolean;
  entries: AuditEntry[];
  breaks: AuditBreak[];
  /** What is not a break: torn entries skipped, sectors a power cut left half-written. */
  notes: string[];
  /** The MAC the chain starts from (hex), and the first and last sequence numbers verified. */
  anchor: string | null;
  first: number | null;
  last: number | null;
  /** The last entry's MAC (hex): what `hoshi log` keeps for the next run. */
  lastMac: string | null;
}

/** What the verifier reads: the raw slots in order (64-byte headers and entries; numbers: slots without an entry). */
export interface LogStream {
  /** The chain key (modules/keys `audit-log`, as the device hands it to its administrator). */
  key: Uint8Array;
  /** The MAC of the entry before the first one (the anchor), and that first entry's sequence number. */
  anchor: Uint8Array | null;
  from: number | null;
  slots: (Uint8Array | number)[];
  /** MACs the device stated for given entries (each later page's anchor: the MAC of the entry before it). */
  claims?: { seq: number; mac: Uint8Array }[];
  /** Found while the stream was read (a dump's unreadable sectors). */
  notes?: string[];
  breaks?: AuditBreak[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function macOf(key: Uint8Array, previous: Uint8Array, slot: Uint8Array): Uint8Array {
  const h = createHmac('sha256', key).update(previous).update(slot.subarray(0, Audit.MAC_AT)).digest();
  return new Uint8Array(h.subarray(0, Audit.MAC));
}

const isHeader = (b: Uint8Array): boolean => b[0] === 0x48 && b[1] === 0x53 && b[2] === 0x4c && b[3] === 0x47;

/** An entry slot's fields (no check of its MAC). */
export function parseEntry(b: Uint8Array): Omit<AuditEntry, 'verified'> {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let text = '';
  for (let i = Audit.TEXT_AT; i < Audit.TEXT_AT + Audit.TEXT && b[i] !== 0; i++) text += String.fromCharCode(b[i]!);
  const space = text.indexOf(' ');
  const wall = v.getUint32(Audit.WALL_AT, true);
  return {
    seq: v.getUint32(0, true),
    boot: v.getUint16(Audit.BOOT_AT, true),
    uptime: v.getUint32(Audit.UPTIME_AT, true),
    wallTime: wall === 0 ? null : wall,
    kind: space < 0 ? text : text.slice(0, space),
    detail: space < 0 ? '' : text.slice(space + 1),
    mac: hex(b.subarray(Audit.MAC_AT, Audit.MAC_AT + Audit.MAC)),
  };
}

interface Header {
  sector: number;
  first: number;
  anchor: Uint8Array;
}

interface Seen {
  entry: AuditEntry;
  slot: Uint8Array;
  header: Header | undefined;
  /** First of the stream. */
  first: boolean;
}

/** A range "a" or "a–b". */
const range = (a: number, b: number): string => (a === b ? String(a) : a + '–' + b);

/** Verifies a stream of slots: the chain, the order, the gaps; never throws on what the slots hold. */
export function verifyLog(stream: LogStream): AuditReport {
  const breaks: AuditBreak[] = [...(stream.breaks ?? [])];
  const notes: string[] = [...(stream.notes ?? [])];
  const seen: Seen[] = [];
  /** Entries a sector gap accounts for (truncated middle), not reported again as deleted. */
  const covered: [number, number][] = [];
  let header: Header | undefined;
  let torn = 0;
  let highest = -1;
  let reordered: AuditBreak | undefined;
  for (const item of stream.slots) {
    if (typeof item === 'number') {
      if (Number.isInteger(item) && item > 0 && item < 1e6) torn += item;
      else breaks.push({ kind: 'unreadable', message: 'a count of skipped slots that is not one: ' + String(item) });
      continue;
    }
    if (!(item instanceof Uint8Array) || item.length !== Audit.SLOT) {
      breaks.push({ kind: 'unreadable', message: 'a slot that is not 64 bytes' });
      continue;
    }
    if (isHeader(item)) {
      const h = headerOf(item);
      if (!h) {
        breaks.push({ kind: 'unreadable', message: 'a sector header that fails its check (version, numbers or CRC-32): a sector overwritten or corrupt' });
        continue;
      }
      const next: Header = { sector: h[0]!, first: h[1]!, anchor: item.slice(Audit.ANCHOR_AT, Audit.ANCHOR_AT + Audit.MAC) };
      if (header && next.sector > header.sector + 1) {
        const last = seen.length ? seen[seen.length - 1]!.entry.seq : header.first - 1;
        const from = last + 1;
        const to = next.first - 1;
        covered.push([from, to]);
        breaks.push({
          kind: 'truncated-middle',
          from,
          to,
          message: 'sector' + (next.sector - header.sector > 2 ? 's ' : ' ') + range(header.sector + 1, next.sector - 1) + ' of the ring ' + (next.sector - header.sector > 2 ? 'are' : 'is') + ' missing from the middle of the log' + (to >= from ? ': entries ' + range(from, to) : ''),
        });
      } else if (header && next.sector <= header.sector) {
        breaks.push({ kind: 'reordered', message: 'sector ' + next.sector + ' comes after sector ' + header.sector });
      }
      header = next;
      continue;
    }
    if (item[Audit.COMMIT_AT] !== Audit.COMMIT) {
      torn++;
      continue;
    }
    const entry: AuditEntry = { ...parseEntry(item), verified: false };
    if (torn) notes.push(torn + ' slot' + (torn > 1 ? 's' : '') + ' without a complete entry before entry ' + entry.seq + ' (a write cut by a power loss): skipped');
    torn = 0;
    if (entry.seq <= highest) {
      // One break per run of entries out of place.
      if (reordered && reordered.to === entry.seq - 1) {
        reordered.to = entry.seq;
        reordered.message = 'entries ' + range(reordered.seq!, entry.seq) + ' come after entry ' + highest;
      } else {
        const twice = seen.some((s) => s.entry.seq === entry.seq);
        reordered = { kind: 'reordered', seq: entry.seq, to: entry.seq, message: 'entry ' + entry.seq + (twice ? ' appears again' : ' comes') + ' after entry ' + highest };
        breaks.push(reordered);
      }
    } else reordered = undefined;
    highest = Math.max(highest, entry.seq);
    seen.push({ entry, slot: item, header, first: seen.length === 0 });
  }
  if (torn) notes.push(torn + ' slot' + (torn > 1 ? 's' : '') + ' without a complete entry at the end (a write cut by a power loss): skipped');

  // The chain, by sequence number: each entry over the MAC of the entry before it, or over the anchor
  // that stands for it (the stream's, its sector's, a page's).
  // (An entry that appears twice: either copy may be the one the next entry chains from.)
  const bySeq = new Map<number, Seen[]>();
  for (const s of seen) bySeq.set(s.entry.seq, [...(bySeq.get(s.entry.seq) ?? []), s]);
  const macAt = (s: Seen): Uint8Array => s.slot.subarray(Audit.MAC_AT, Audit.MAC_AT + Audit.MAC);
  const claimed = new Map<number, Uint8Array>();
  for (const c of stream.claims ?? []) claimed.set(c.seq, c.mac);
  for (const s of seen) {
    const q = s.entry.seq;
    const before = bySeq.get(q - 1);
    const anchor = s.first && stream.anchor && (stream.from === null || stream.from === q) ? stream.anchor : s.header && s.header.first === q ? s.header.anchor : claimed.get(q - 1);
    const previous = before ? before.map(macAt) : anchor ? [anchor] : [];
    if (previous.length) {
      const mine = macAt(s);
      s.entry.verified = previous.some((m) => same(macOf(stream.key, m, s.slot), mine));
      if (!s.entry.verified) breaks.push({ kind: 'edited', seq: q, message: 'entry ' + q + ' does not authenticate: its bytes, or the MAC it chains from, were changed' });
    }
    if (before && s.header && s.header.first === q && !before.some((b) => same(s.header!.anchor, macAt(b)))) {
      breaks.push({ kind: 'edited', seq: q, message: 'the anchor of the sector that starts at entry ' + q + ' is not the MAC of entry ' + (q - 1) });
    }
  }
  for (const [q, mac] of claimed) {
    const s = bySeq.get(q);
    if (s && !s.some((x) => same(mac, macAt(x)))) breaks.push({ kind: 'edited', seq: q, message: 'the device gave another MAC for entry ' + q + ' than the entry holds' });
  }
  // Gaps: entries missing between the first and the last (those of missing sectors said above).
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  if (stream.from !== null && seqs.length && seqs[0]! > stream.from) seqs.unshift(stream.from - 1);
  for (let i = 1; i < seqs.length; i++) {
    let from = seqs[i - 1]! + 1;
    const to = seqs[i]! - 1;
    for (const [a, b] of covered) if (a <= from && b >= from) from = b + 1;
    if (from <= to) breaks.push({ kind: 'deleted', from, to, message: 'entr' + (from === to ? 'y ' : 'ies ') + range(from, to) + (from === to ? ' is' : ' are') + ' missing' });
  }
  const entries = seen.map((s) => s.entry);
  const last = seen.length ? seen.reduce((a, b) => (b.entry.seq > a.entry.seq ? b : a)) : undefined;
  return {
    ok: breaks.length === 0,
    entries,
    breaks,
    notes,
    anchor: stream.anchor ? hex(stream.anchor) : null,
    first: entries.length ? Math.min(...entries.map((e) => e.seq)) : null,
    last: last ? last.entry.seq : null,
    lastMac: last ? last.entry.mac : null,
  };
}

/**
 * The stream of a dump of the log partition (`region`, sectors of `eraseSize` bytes), read as the
 * device reads its ring: the kept sectors (valid headers within the ring's size of the newest
 * sector number) oldest first, each header and its entries; slots without a complete entry as
 * counts; erased slots at a sector's end are its end. A sector that holds no valid header but is not
 * erased is a break, unless it is the one after the newest (an erase or header write cut by a power
 * loss, which the device starts again).
 */
export function regionStream(region: Uint8Array, key: Uint8Array, eraseSize = 4096): LogStream {
  const E = eraseSize;
  const N = Math.floor(region.length / E);
  const S = Math.floor(E / Audit.SLOT);
  const headers: { pos: number; sector: number; first: number }[] = [];
  const garbage: number[] = [];
  for (let i = 0; i < N; i++) {
    const h = headerOf(region.subarray(i * E, i * E + Audit.HEADER));
    if (h) headers.push({ pos: i, sector: h[0]!, first: h[1]! });
    else if (!erased(region.subarray(i * E, (i + 1) * E))) garbage.push(i);
  }
  const newest = headers.reduce((a, h) => (h.sector > a.sector ? h : a), { pos: -1, sector: 0, first: 0 });
  const kept = headers.filter((h) => h.sector <= newest.sector && h.sector + N > newest.sector).sort((a, b) => a.sector - b.sector);
  const notes: string[] = [];
  const breaks: AuditBreak[] = [];
  for (const h of headers) if (!kept.includes(h)) breaks.push({ kind: 'unreadable', message: 'sector at ring position ' + h.pos + ' is numbered ' + h.sector + ', outside the ring of the newest (' + newest.sector + ')' });
  for (const p of garbage) {
    if (newest.pos >= 0 && p === (newest.pos + 1) % N) notes.push('the sector after the newest (ring position ' + p + ') holds no valid header: an erase or a header write cut by a power loss, started again by the device');
    else breaks.push({ kind: 'unreadable', message: 'sector at ring position ' + p + ' holds no valid header and is not erased: corrupt or overwritten' });
  }
  const slots: (Uint8Array | number)[] = [];
  for (const h of kept) {
    const base = h.pos * E;
    slots.push(region.slice(base, base + Audit.SLOT));
    let end = S;
    while (end > 1 && erased(region.subarray(base + (end - 1) * Audit.SLOT, base + end * Audit.SLOT))) end--;
    let skip = 0;
    for (let s = 1; s < end; s++) {
      const b = region.slice(base + s * Audit.SLOT, base + (s + 1) * Audit.SLOT);
      if (b[Audit.COMMIT_AT] !== Audit.COMMIT) {
        skip++;
        continue;
      }
      if (skip) slots.push(skip);
      skip = 0;
      slots.push(b);
    }
    if (skip) slots.push(skip);
  }
  const oldest = kept[0];
  return {
    key,
    anchor: oldest ? region.slice(oldest.pos * E + Audit.ANCHOR_AT, oldest.pos * E + Audit.ANCHOR_AT + Audit.MAC) : null,
    from: oldest ? oldest.first : null,
    slots,
    notes,
    breaks,
  };
}

/** Verifies a dump of the log partition. */
export function verifyRegion(region: Uint8Array, key: Uint8Array, eraseSize = 4096): AuditReport {
  return verifyLog(regionStream(region, key, eraseSize));
}

/** The entry a host verified last for a unit: its sequence number and MAC (hex). */
export interface Pin {
  seq: number;
  mac: string;
}

/**
 * Whether the log still continues from the entry a host verified last (`pin`): the same MAC when
 * that entry is still kept, or the anchor of the oldest entry when it is the one just before. When
 * the kept part starts later, the entries in between were lost to the ring (or a wipe): said, not a
 * break. A log that ends before it, or holds another MAC for it, was rewritten: a break.
 */
export function checkPin(report: AuditReport, pin: Pin): { break?: AuditBreak; note?: string } {
  const at = report.entries.find((e) => e.seq === pin.seq);
  if (at) return at.mac === pin.mac ? { note: 'continues from entry ' + pin.seq + ', verified at the last check' } : { break: { kind: 'rewritten', seq: pin.seq, message: 'entry ' + pin.seq + ' is not the one verified at the last check: the log was rewritten' } };
  if (report.first !== null && pin.seq === report.first - 1) {
    return report.anchor === pin.mac
      ? { note: 'continues from entry ' + pin.seq + ', verified at the last check (the oldest kept entry is anchored to it)' }
      : { break: { kind: 'rewritten', seq: pin.seq, message: 'the oldest entry is not anchored to entry ' + pin.seq + ', verified at the last check: the log was rewritten' } };
  }
  if (report.first !== null && pin.seq < report.first - 1) {
    const wipe = report.entries.find((e) => e.seq === report.first)?.kind === 'wipe';
    return { note: 'entries ' + range(pin.seq + 1, report.first - 1) + ' (after entry ' + pin.seq + ', verified at the last check) are no longer kept: ' + (wipe ? 'a factory wipe erased them' : 'lost to the ring') };
  }
  return { break: { kind: 'rewritten', seq: pin.seq, message: 'the log ' + (report.last === null ? 'is empty' : 'ends at entry ' + report.last) + ', before entry ' + pin.seq + ' verified at the last check: entries were removed or the log started again' } };
}

/** What `GET /api/log` answers (JSON), as the client receives it. */
interface LogAnswer {
  status: number;
  body: { [name: string]: unknown };
}

/** A whole log as fetched page by page, ready for verifyLog. */
export interface FetchedLog extends LogStream {
  oldest: number | null;
  newest: number | null;
  pages: number;
}

const b64 = (s: unknown, bytes: number): Uint8Array | undefined => {
  if (typeof s !== 'string') return undefined;
  const b = new Uint8Array(Buffer.from(s, 'base64'));
  return b.length === bytes && Buffer.from(b).toString('base64') === s ? b : undefined;
};

/**
 * Fetches every entry from the oldest, page by page (`get(path, body)` answers `GET path` with
 * its protected request `body` through the admin channel: Session.call). Throws if an answer is not the format's (a refusal, a slot that is
 * not 64 bytes, a key that changes, pages that do not advance).
 */
export async function fetchLog(get: (path: string, body: { from: number; count: number }) => Promise<LogAnswer>, count = 16, maxPages = 10000): Promise<FetchedLog> {
  const out: FetchedLog = { key: new Uint8Array(0), anchor: null, from: null, slots: [], claims: [], oldest: null, newest: null, pages: 0 };
  let from = 0;
  for (;;) {
    const a = await get('/api/log', { from, count });
    if (a.status !== 200) throw new Error('GET /api/log: the device answered ' + a.status + (typeof a.body.error === 'string' ? ' ' + a.body.error : '') + (typeof a.body.reason === 'string' ? ' (' + a.body.reason + ')' : ''));
    const body = a.body;
    const key = b64(body.key, 32);
    const slots = body.slots;
    if (!key || !Array.isArray(slots) || !(body.from === null || Number.isInteger(body.from)) || !(body.next === null || Number.isInteger(body.next))) throw new Error('GET /api/log: not the log\'s answer (key, slots, from, next)');
    if (out.pages > 0 && !same(key, out.key)) throw new Error('GET /api/log: the chain key changed between pages');
    out.key = key;
    const anchor = body.anchor === null ? null : b64(body.anchor, Audit.MAC);
    if (anchor === undefined) throw new Error('GET /api/log: the anchor is not 16 bytes of base64');
    for (const s of slots) {
      if (typeof s === 'number') out.slots.push(s);
      else {
        const b = b64(s, Audit.SLOT);
        if (!b) throw new Error('GET /api/log: a slot is not 64 bytes of base64');
        out.slots.push(b);
      }
    }
    if (out.pages === 0) {
      out.anchor = anchor;
      out.from = body.from as number | null;
    } else if (anchor && body.from !== null) out.claims!.push({ seq: (body.from as number) - 1, mac: anchor });
    out.oldest = typeof body.oldest === 'number' ? body.oldest : null;
    out.newest = typeof body.newest === 'number' ? body.newest : null;
    out.pages++;
    const next = body.next as number | null;
    if (next === null) return out;
    if (next <= from || out.pages >= maxPages) throw new Error('GET /api/log: the pages do not advance (next ' + next + ' after ' + from + ')');
    from = next;
  }
}

/** One entry as a line: sequence number, boot, uptime, wall time (UTC), kind and detail, and a mark when it does not verify. */
export function formatEntry(e: AuditEntry): string {
  const wall = e.wallTime === null ? '-'.padEnd(19) : new Date(e.wallTime * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return [String(e.seq).padStart(8), ('boot ' + e.boot).padEnd(10), (e.uptime + ' s').padStart(10), wall, e.kind + (e.detail ? ' ' + e.detail : ''), e.verified ? '' : ' [not verified]'].join('  ').trimEnd();
}

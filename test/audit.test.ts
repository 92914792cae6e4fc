import test, { type ExecutionContext } from 'ava';
import { memoryBacking, openSimFlash, PowerCutError, type CutOptions, type FlashBacking, type Geometry, type SimFlash } from '../boards/host/flash';
import type { HttpResponse, ModuleContext, Route } from '../firmware/device/core/module';
import type { SecurityLog } from '../firmware/device/core/services';
import type { Flash } from '../hal/flash';
import { Audit } from '../modules/audit/format';
import { audit } from '../modules/audit';
import { oldestSeq, openLog, type AuditLog } from '../modules/audit/log';
import { logPage } from '../modules/audit/read';
import { jsCrypto } from '../modules/crypto/provider-js';
import { regionStream, verifyLog, verifyRegion, type AuditReport } from '../firmware/host/audit-log';

/**
 * modules/audit on the host's simulated flash: the chain and what breaks it, the ring's wrap, power
 * cuts at every write of an append, of a wrap and of a forget, hostile queries and hostile stored
 * bytes, the counters of `GET /api/security`; and the host's verifier (firmware/host/audit-log.ts)
 * reading the same flash as the device pages it.
 */

const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const E = 4096;
const KALUMA: Geometry = { eraseSize: E, writeSize: 256, erasedValue: 0xff };
const ESP32: Geometry = { eraseSize: E, writeSize: 4, erasedValue: 0xff };
const GEOMETRIES: [string, Geometry][] = [
  ['Kaluma geometry (256-byte pages)', KALUMA],
  ['ESP32 geometry (4-byte writes)', ESP32],
];
const CUTS: (CutOptions | undefined)[] = [undefined, { tearWords: 1 }, { tearWords: 7 }, { scramble: 1 }, { scramble: 2 }];
/** Entries per 4 KB sector (63: slot 0 is the header). */
const PER_SECTOR = E / 64 - 1;

interface Clock {
  t: number;
  wall: number | undefined;
  now(): number;
  wallTime(): number | undefined;
}

function newClock(): Clock {
  const c: Clock = {
    t: 5000,
    wall: 1_764_560_000_000,
    now: () => c.t,
    wallTime: () => c.wall,
  };
  return c;
}

function clone(backing: FlashBacking): FlashBacking {
  const copy = memoryBacking(backing.size);
  copy.store(0, backing.read(0, backing.size));
  return copy;
}

/** Runs `fn` with the console silenced; returns what it printed. */
function quietly<T>(fn: () => T): { value: T; lines: string[] } {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { value: fn(), lines };
  } finally {
    console.log = log;
  }
}

/** The log's text of event `i` of a run: kinds and details as the modules write them. */
function text(i: number): [string, string] {
  const kinds: [string, string][] = [
    ['login-failed', '192.168.1.' + (i % 250) + ' ' + (i % 9)],
    ['login', '192.168.1.' + (i % 250)],
    ['update-refused', 'package-signature'],
    ['boot', '0.1.' + (i % 10) + ' A'],
    ['lockout', '10.0.0.' + (i % 200) + ' 300s'],
  ];
  return kinds[i % kinds.length]!;
}

function write(log: AuditLog, clock: Clock, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    clock.t += 1500;
    const [k, d] = text(i);
    log.event(k, d);
  }
}

/** The device's own paging of the whole log (what `GET /api/log` answers), as the verifier's stream. */
function paged(log: AuditLog, count = 16) {
  let from = 0;
  const slots: (Uint8Array | number)[] = [];
  const claims: { seq: number; mac: Uint8Array }[] = [];
  let anchor: Uint8Array | null = null;
  let first: number | null = null;
  for (let pages = 0; ; pages++) {
    const p = logPage(log.ring, from, count);
    const a = p.anchor === null ? null : new Uint8Array(Buffer.from(p.anchor, 'base64'));
    if (pages === 0) {
      anchor = a;
      first = p.from;
    } else if (a && p.from !== null) claims.push({ seq: p.from - 1, mac: a });
    for (const s of p.slots) slots.push(typeof s === 'number' ? s : new Uint8Array(Buffer.from(s, 'base64')));
    if (p.next === null || pages > 1000) break;
    from = p.next;
  }
  return { key: KEY, anchor, from: first, slots, claims };
}

function region(backing: FlashBacking): Uint8Array {
  return backing.read(0, backing.size);
}

/** Both readings of a flash agree: the device's pages and the dump, entry for entry and in verdict. */
function agree(t: ExecutionContext, backing: FlashBacking, log: AuditLog): AuditReport {
  const dump = verifyRegion(region(backing), KEY);
  const pages = verifyLog(paged(log));
  t.deepEqual(pages.entries, dump.entries, 'the pages hold the entries the flash holds');
  t.is(pages.ok, dump.ok);
  const span = [oldestSeq(log.ring), log.ring.seq];
  if (dump.entries.length) {
    t.is(dump.first, span[0], 'the oldest entry kept');
    t.is(dump.last, span[1]! - 1, 'the newest entry');
  } else t.is(span[0], span[1]);
  return dump;
}

/** Opens a log on `backing`, silenced. */
function open(backing: FlashBacking, geometry: Geometry, clock: Clock): { flash: SimFlash; log: AuditLog; lines: string[] } {
  const flash = openSimFlash(backing, geometry);
  const { value, lines } = quietly(() => openLog(flash, jsCrypto, KEY, clock));
  return { flash, log: value, lines };
}

for (const [label, geometry] of GEOMETRIES) {
  test(`entries verify on the host as the device wrote them, from the flash and from the device's pages: ${label}`, (t) => {
    const clock = newClock();
    const backing = memoryBacking(8 * E);
    const { log } = open(backing, geometry, clock);
    write(log, clock, 0, 200);
    const report = agree(t, backing, log);
    t.true(report.ok, JSON.stringify(report.breaks));
    t.is(report.entries.length, 200);
    t.deepEqual(report.entries.map((e) => [e.kind, e.detail]), Array.from({ length: 200 }, (_, i) => text(i)));
    t.true(report.entries.every((e) => e.verified));
    t.deepEqual([report.entries[0]!.seq, report.entries[199]!.seq], [1, 200]);
    t.is(report.entries[0]!.wallTime, Math.floor(1_764_560_000_000 / 1000));
    t.is(report.entries[0]!.uptime, 6, 'seconds since boot');
    t.is(report.entries[0]!.boot, 1);
    t.is(report.anchor, '00'.repeat(16), 'a new log is anchored to zeroes');
    // A reboot: the next boot's number, the chain continues.
    const again = open(backing, geometry, clock);
    t.is(again.log.ring.boot, 2);
    clock.wall = undefined;
    again.log.event('boot', '0.1.0 A');
    const after = agree(t, backing, again.log);
    t.true(after.ok);
    t.like(after.entries[200], { seq: 201, boot: 2, kind: 'boot', detail: '0.1.0 A', wallTime: null, verified: true });
  });
}

test('a text is printable ASCII of at most 33 bytes: others become "?", a longer one ends with "~"', (t) => {
  const clock = newClock();
  const backing = memoryBacking(4 * E);
  const { log } = open(backing, ESP32, clock);
  log.event('login-failed', '2001:db8::1 caf\u00e9\n');
  log.event('update-refused', 'manifest-malformed');
  log.event('update-refused', 'manifest-malformed, and more');
  log.event('wipe');
  const r = verifyRegion(region(backing), KEY);
  t.true(r.ok);
  t.deepEqual(r.entries.map((e) => [e.kind, e.detail]), [
    ['login-failed', '2001:db8::1 caf??'],
    ['update-refused', 'manifest-malformed'],
    ['update-refused', 'manifest-malforme~'],
    ['wipe', ''],
  ]);
});

test('a torn entry (its commit byte never programmed) is said at open and skipped; the next entry takes its sequence number and chains from the entry before it', (t) => {
  const clock = newClock();
  const backing = memoryBacking(4 * E);
  const first = open(backing, KALUMA, clock);
  write(first.log, clock, 0, 5);
  // The sixth entry's commit byte is cut: the power goes at its second program.
  first.flash.cutAt(first.flash.operations + 2);
  const cut = quietly(() => first.log.event('login-failed', '10.0.0.1 1'));
  t.regex(cut.lines[0]!, /^\[audit\] login-failed not written: power cut at flash operation/);
  const again = open(backing, KALUMA, clock);
  t.deepEqual(again.lines, ['[audit] 1 slots of the newest sector hold no complete entry (writes cut by a power loss): skipped']);
  again.log.event('boot', '0.1.0 A');
  const r = agree(t, backing, again.log);
  t.true(r.ok);
  t.deepEqual(r.entries.slice(-2).map((e) => [e.seq, e.kind, e.verified]), [[5, 'lockout', true], [6, 'boot', true]]);
  t.deepEqual(r.notes, ['1 slot without a complete entry before entry 6 (a write cut by a power loss): skipped']);
});

/** A region of 8 sectors with 200 entries (4 sectors in use), and the offset of entry `seq`'s slot. */
function populated(): { backing: FlashBacking; slotOf(seq: number): number } {
  const clock = newClock();
  const backing = memoryBacking(8 * E);
  const { log } = open(backing, KALUMA, clock);
  write(log, clock, 0, 200);
  return {
    backing,
    // Entry q (1-based) is in sector floor((q-1)/63) at slot (q-1)%63 + 1.
    slotOf: (seq) => Math.floor((seq - 1) / PER_SECTOR) * E + (((seq - 1) % PER_SECTOR) + 1) * 64,
  };
}

/** The kinds of break the verifier names for `dump`, and the same through the device's pages. */
function breaksOf(t: ExecutionContext, dump: Uint8Array): string[] {
  const report = verifyRegion(dump, KEY);
  const backing = memoryBacking(dump.length);
  backing.store(0, dump);
  const { log } = open(backing, KALUMA, newClock());
  const pages = verifyLog(paged(log));
  t.deepEqual(pages.breaks.map((b) => b.kind).sort(), report.breaks.map((b) => b.kind).sort(), 'the device\'s pages show the same breaks');
  t.false(report.ok);
  return report.breaks.map((b) => b.kind + (b.seq !== undefined ? ' ' + b.seq : '') + (b.from !== undefined ? ' ' + b.from + '-' + b.to : ''));
}

test('the chain detects an edited entry: its text, its sequence number, its MAC', (t) => {
  const { backing, slotOf } = populated();
  const edit = (seq: number, at: number, value: number): Uint8Array => {
    const d = region(backing);
    d[slotOf(seq) + at] = value;
    return d;
  };
  t.deepEqual(breaksOf(t, edit(50, Audit.TEXT_AT + 3, 0x41)), ['edited 50'], 'one byte of its text');
  t.deepEqual(breaksOf(t, edit(50, Audit.UPTIME_AT, 0x00)), ['edited 50'], 'its time');
  // Its MAC: it no longer authenticates, nor does the next entry, which chains from it.
  t.deepEqual(breaks(edit(50, Audit.MAC_AT, 0x00)), ['edited 50', 'edited 51']);
  // Its sequence number: entry 50 is missing, entry 51 comes twice.
  const renumbered = edit(50, 0, 51);
  t.deepEqual(breaks(renumbered).sort(), ['deleted 50-50', 'reordered 51'].sort());
  // A sector's anchor.
  const d = region(backing);
  d[E + Audit.ANCHOR_AT] ^= 1;
  for (const [i, v] of crcOf(d.subarray(E, E + Audit.HEADER)).entries()) d[E + Audit.CRC_AT + i] = v;
  t.deepEqual(breaksOf(t, d), ['edited 64']);
});

function breaks(dump: Uint8Array): string[] {
  return verifyRegion(dump, KEY).breaks.map((b) => b.kind + (b.seq !== undefined ? ' ' + b.seq : '') + (b.from !== undefined ? ' ' + b.from + '-' + b.to : ''));
}

/** The CRC-32 of a header's first 32 bytes, as its four stored bytes. */
function crcOf(h: Uint8Array): Uint8Array {
  let c = -1;
  for (let i = 0; i < Audit.CRC_AT; i++) {
    c ^= h[i]!;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  c = (c ^ -1) >>> 0;
  return new Uint8Array([c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24]);
}

test('the chain detects deleted entries: one, several, the first of a sector', (t) => {
  const { backing, slotOf } = populated();
  // Deleting entries a..b: the sector rewritten without them, the later slots moved up (what an
  // attacker without the key can do).
  const without = (a: number, b: number): Uint8Array => {
    const d = region(backing);
    const start = slotOf(a);
    const sectorEnd = Math.floor(start / E) * E + E;
    const n = (b - a + 1) * 64;
    d.copyWithin(start, start + n, sectorEnd);
    d.fill(0xff, sectorEnd - n, sectorEnd);
    return d;
  };
  t.deepEqual(breaksOf(t, without(50, 50)), ['deleted 50-50']);
  t.deepEqual(breaksOf(t, without(70, 74)), ['deleted 70-74']);
  t.deepEqual(breaksOf(t, without(64, 64)), ['deleted 64-64'], 'the first of a sector: its successor no longer matches the anchor');
  // Erased: the slot left empty, the others in place.
  const d = region(backing);
  d.fill(0xff, slotOf(100), slotOf(100) + 64);
  t.deepEqual(breaksOf(t, d), ['deleted 100-100']);
});

test('the chain detects reordered entries and reordered sectors', (t) => {
  const { backing, slotOf } = populated();
  const d = region(backing);
  const a = d.slice(slotOf(50), slotOf(50) + 64);
  d.copyWithin(slotOf(50), slotOf(51), slotOf(51) + 64);
  d.set(a, slotOf(51));
  t.deepEqual(breaksOf(t, d), ['reordered 50']);
  // Two whole sectors' numbers swapped (CRC made good): the entries come out of order.
  const s = region(backing);
  const h1 = s.slice(E, E + 64);
  const h2 = s.slice(2 * E, 2 * E + 64);
  h1.set(h2.subarray(Audit.SECTOR_AT, Audit.SECTOR_AT + 4), Audit.SECTOR_AT);
  h2.set(s.subarray(E + Audit.SECTOR_AT, E + Audit.SECTOR_AT + 4), Audit.SECTOR_AT);
  h1.set(crcOf(h1), Audit.CRC_AT);
  h2.set(crcOf(h2), Audit.CRC_AT);
  s.set(h1, E);
  s.set(h2, 2 * E);
  const kinds = breaks(s);
  t.deepEqual(kinds, ['reordered 64'], 'one break for the run of entries out of place');
  // The device pages by sequence number: entries out of order read as missing there.
  const b = memoryBacking(s.length);
  b.store(0, s);
  t.false(verifyLog(paged(open(b, KALUMA, newClock()).log)).ok);
});

test('the chain detects a truncated middle: a sector erased, or overwritten with garbage', (t) => {
  const { backing } = populated();
  const d = region(backing);
  d.fill(0xff, E, 2 * E);
  t.deepEqual(breaksOf(t, d), ['truncated-middle 64-126']);
  const g = region(backing);
  for (let i = 2 * E; i < 3 * E; i++) g[i] = (i * 13) & 255;
  t.deepEqual(breaks(g).sort(), ['truncated-middle 127-189', 'unreadable'].sort());
  // A header that fails its check (its CRC, a reserved byte): the sector is not part of the log.
  for (const at of [Audit.CRC_AT, 5]) {
    const c = region(backing);
    c[2 * E + at] ^= 0x10;
    t.deepEqual(breaks(c).sort(), ['truncated-middle 127-189', 'unreadable'].sort());
    const b = memoryBacking(c.length);
    b.store(0, c);
    const { log, lines } = open(b, KALUMA, newClock());
    t.deepEqual(lines, ['[audit] sector 2 of the log is unreadable: erased when the ring reaches it']);
    t.deepEqual(verifyLog(paged(log)).breaks.map((x) => x.kind), ['truncated-middle']);
  }
  // The newest sectors gone: a truncated end, which only a host that verified them can tell (hoshi log).
  const end = region(backing);
  end.fill(0xff, 3 * E, 4 * E);
  t.true(verifyRegion(end, KEY).ok);
  // The oldest gone: the chain verifies from the next sector's anchor.
  const start = region(backing);
  start.fill(0xff, 0, E);
  const r = verifyRegion(start, KEY);
  t.true(r.ok);
  t.is(r.first, 64);
});

for (const [label, geometry] of GEOMETRIES) {
  test(`the ring wraps: many events, the oldest sector erased each time, the chain verifies from the oldest kept: ${label}`, (t) => {
    const clock = newClock();
    const backing = memoryBacking(4 * E);
    const { flash, log } = open(backing, geometry, clock);
    const programs = flash.programs;
    write(log, clock, 0, 2000);
    const report = agree(t, backing, log);
    t.true(report.ok, JSON.stringify(report.breaks));
    t.is(report.last, 2000);
    t.true(report.entries.length >= 3 * PER_SECTOR && report.entries.length <= 4 * PER_SECTOR, String(report.entries.length));
    t.true(report.entries.every((e) => e.verified));
    t.not(report.anchor, '00'.repeat(16), 'the oldest kept entry is anchored to the MAC of the one before it');
    // Write cost: two programs per entry, an erase and a header per sector.
    const sectors = Math.ceil(2000 / PER_SECTOR);
    t.is(flash.programs - programs, 2 * 2000 + sectors);
    t.is(flash.erases, sectors);
    // A reboot reads the same, and goes on.
    const again = open(backing, geometry, clock);
    write(again.log, clock, 2000, 100);
    const more = agree(t, backing, again.log);
    t.true(more.ok);
    t.is(more.last, 2100);
  });
}

interface CutScenario {
  name: string;
  /** Events written before, in the power-on that is cut (none: the log is opened on what `base` holds). */
  before: number;
  /** The base flash: events written and the power-on ended. */
  base: number;
  action: (log: AuditLog) => void;
  /** The action's entries ([kind, detail]) that may or may not be there after the cut. */
  adds: [string, string][];
}

const SCENARIOS: CutScenario[] = [
  { name: 'an append in the middle of a sector', base: 10, before: 0, action: (log) => log.event('login-failed', '10.0.0.1 3'), adds: [['login-failed', '10.0.0.1 3']] },
  { name: 'an append that fills a sector', base: PER_SECTOR - 1, before: 0, action: (log) => log.event('login-failed', '10.0.0.1 3'), adds: [['login-failed', '10.0.0.1 3']] },
  // The ring is full: the next append erases the oldest sector and starts the next one.
  { name: 'an append that wraps the ring (erase, header, entry, commit byte)', base: 4 * PER_SECTOR - 1, before: 1, action: (log) => log.event('update-refused', 'package-signature'), adds: [['update-refused', 'package-signature']] },
  // A full newest sector at open: the next one is started at once.
  { name: 'the open of a log whose newest sector is full', base: 4 * PER_SECTOR, before: -1, action: () => undefined, adds: [] },
];

for (const [label, geometry] of GEOMETRIES) {
  test(`power cut at every write of an append and of a wrap: the log opens, the chain verifies, the entry is there or not, the next one follows: ${label}`, (t) => {
    let checked = 0;
    for (const sc of SCENARIOS) {
      const clock = newClock();
      const base = memoryBacking(4 * E);
      const first = open(base, geometry, clock);
      write(first.log, clock, 0, sc.base);
      const before = verifyRegion(region(base), KEY);
      const atOpen = sc.before < 0;
      // The operations the action takes, on a copy.
      const dry = clone(base);
      const f = openSimFlash(dry, geometry);
      let ops = 0;
      quietly(() => {
        const l = openLog(f, jsCrypto, KEY, clock);
        write(l, clock, sc.base, Math.max(0, sc.before));
        const done = atOpen ? 0 : f.operations;
        sc.action(l);
        ops = f.operations - done;
      });
      t.true(f.operations > 0, sc.name);
      for (let k = 1; k <= ops; k++) {
        for (const cut of CUTS) {
          const b = clone(base);
          const flash = openSimFlash(b, geometry);
          const printed = quietly(() => {
            if (atOpen) flash.cutAt(k, cut);
            let log: AuditLog | undefined;
            try {
              log = openLog(flash, jsCrypto, KEY, clock);
            } catch (error) {
              if (!(error instanceof PowerCutError)) throw error;
            }
            if (!log || atOpen) return;
            write(log, clock, sc.base, sc.before);
            flash.cutAt(flash.operations + k, cut);
            sc.action(log);
          });
          const where = sc.name + ', operation ' + k + ', ' + JSON.stringify(cut ?? 'dropped') + ': ' + printed.lines.join(' | ');
          t.true(flash.dead || atOpen, where);
          // Power on again.
          const again = open(b, geometry, clock);
          const report = agree(t, b, again.log);
          t.true(report.ok, where + ' ' + JSON.stringify(report.breaks));
          const expected = before.entries.length + Math.max(0, sc.before);
          const kept = report.entries.filter((e) => e.seq > before.last!);
          t.true(kept.length === Math.max(0, sc.before) || kept.length === Math.max(0, sc.before) + sc.adds.length, where);
          if (kept.length > Math.max(0, sc.before)) t.deepEqual([kept[kept.length - 1]!.kind, kept[kept.length - 1]!.detail], sc.adds[0], where);
          t.true(report.last! >= before.last! && report.entries.length <= expected + sc.adds.length, where);
          // The next entry follows the last complete one.
          again.log.event('boot', '0.2.0 B');
          const next = agree(t, b, again.log);
          t.true(next.ok, where);
          t.is(next.last, report.last! + 1, where);
          t.like(next.entries[next.entries.length - 1], { kind: 'boot', detail: '0.2.0 B', verified: true });
          checked++;
        }
      }
    }
    t.log(checked + ' cut points checked');
  });
}

for (const [label, geometry] of GEOMETRIES) {
  test(`forget (a factory wipe): every sector erased but a new one whose wipe entry is anchored to the last entry; a power cut at every write, then resumed, ends the same: ${label}`, (t) => {
    const clock = newClock();
    const base = memoryBacking(4 * E);
    const first = open(base, geometry, clock);
    write(first.log, clock, 0, 150);
    const before = verifyRegion(region(base), KEY);
    const check = (b: FlashBacking, log: AuditLog, where: string): void => {
      const report = agree(t, b, log);
      t.true(report.ok, where + JSON.stringify(report.breaks));
      t.is(report.entries.length, 1, where);
      t.like(report.entries[0], { seq: 151, kind: 'wipe', verified: true });
      // What was erased: from the oldest entry kept when the wipe began (a cut one may have erased the oldest sector).
      t.regex(report.entries[0]!.detail, /^(1|64)-150$/);
      t.is(report.anchor, before.lastMac, where + ': the chain goes on from the last entry before the wipe');
      const stream = regionStream(region(b), KEY);
      t.is(stream.slots.filter((s) => s instanceof Uint8Array).length, 2, where + ': the header and the wipe entry, nothing else');
      // Every other sector is erased.
      const dump = region(b);
      let programmed = 0;
      for (let s = 0; s < 4; s++) if (dump.subarray(s * E, (s + 1) * E).some((x) => x !== 0xff)) programmed++;
      t.is(programmed, 1, where);
    };
    // Uninterrupted, and idempotent.
    const whole = clone(base);
    const w = open(whole, geometry, clock);
    w.log.forget();
    check(whole, w.log, 'whole');
    w.log.forget();
    check(whole, w.log, 'called again');
    const dry = clone(base);
    const f = openSimFlash(dry, geometry);
    quietly(() => openLog(f, jsCrypto, KEY, clock).forget());
    let checked = 0;
    for (let k = 1; k <= f.operations; k++) {
      for (const cut of CUTS) {
        const b = clone(base);
        const flash = openSimFlash(b, geometry);
        const log = quietly(() => openLog(flash, jsCrypto, KEY, clock)).value;
        flash.cutAt(flash.operations + k, cut);
        t.throws(() => log.forget(), { instanceOf: PowerCutError });
        const again = open(b, geometry, clock);
        // Before it is resumed, a sector the cut left half-erased may read as damaged: nothing throws.
        verifyRegion(region(b), KEY);
        verifyLog(paged(again.log));
        again.log.forget();
        check(b, again.log, 'operation ' + k + ' ' + JSON.stringify(cut ?? 'dropped') + ': ');
        checked++;
      }
    }
    t.log(checked + ' cut points checked');
  });
}

test('a wipe resumed after the next boot wrote its boot entry: a new wipe sector, the earlier one erased too', (t) => {
  const clock = newClock();
  const b = memoryBacking(4 * E);
  const first = open(b, KALUMA, clock);
  write(first.log, clock, 0, 20);
  const flash = openSimFlash(b, KALUMA);
  const log = quietly(() => openLog(flash, jsCrypto, KEY, clock)).value;
  // Cut after the wipe entry, before the last erase.
  const dry = clone(b);
  const f = openSimFlash(dry, KALUMA);
  quietly(() => openLog(f, jsCrypto, KEY, clock).forget());
  flash.cutAt(flash.operations + f.operations - 1);
  t.throws(() => log.forget(), { instanceOf: PowerCutError });
  const again = open(b, KALUMA, clock);
  again.log.event('boot', '0.1.0 A');
  again.log.forget();
  const r = agree(t, b, again.log);
  t.true(r.ok);
  t.deepEqual(r.entries.map((e) => [e.seq, e.kind, e.detail]), [[23, 'wipe', '21-22']]);
});

// ---- The module: routes, counters, a unit without keys ----

interface ModuleRig {
  routes: Route[];
  log: SecurityLog | undefined;
  wipes: (() => void)[];
  lines: string[];
  clock: Clock;
  /** GET `path` with `body` (text, or JSON of an object) as its opened protected request. */
  get(path: string, body?: string | object): HttpResponse & { json: any };
}

function moduleRig(flash: Flash | undefined, keys = true, clock = newClock()): ModuleRig {
  const r: ModuleRig = { routes: [], log: undefined, wipes: [], lines: [], clock, get: undefined as never };
  const context = {
    board: { name: 'host', crypto: jsCrypto, clock, partitions: { log: flash } },
    keys: keys ? { key: (p: string) => (p === 'audit-log' ? KEY : new Uint8Array(32)), cipher: () => undefined } : undefined,
    route: (route: Route) => r.routes.push(route),
    securityLog: (l: SecurityLog) => (r.log = l),
    onWipe: (task: () => void) => r.wipes.push(task),
    event: () => undefined,
    status: {},
  } as unknown as ModuleContext;
  r.lines = quietly(() => audit().start(context)).lines;
  r.get = (path, body = '') => {
    const route = r.routes.find((x) => x.path === path)!;
    let out: HttpResponse | undefined;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    route.handler({ method: 'GET', path, query: '', headers: {}, body: new TextEncoder().encode(text), remote: '' }, (a) => (out = a));
    return { ...out!, json: JSON.parse(String(out!.body)) };
  };
  return r;
}

test('a unit without keys, or a board without a log partition, keeps no log and says so once', (t) => {
  const none = moduleRig(openSimFlash(memoryBacking(4 * E)), false);
  t.deepEqual(none.lines, ['[audit] no keys on this unit (not provisioned): the security log is not kept']);
  t.is(none.log, undefined);
  t.deepEqual(none.routes, []);
  const board = moduleRig(undefined);
  t.deepEqual(board.lines, ['[audit] this board has no log partition of two sectors: the security log is not kept']);
  t.is(board.log, undefined);
});

test('the routes are admin routes; the log is the context\'s security log and a wipe task', (t) => {
  const backing = memoryBacking(4 * E);
  const m = moduleRig(openSimFlash(backing));
  t.deepEqual(m.routes.map((r) => [r.method, r.path, r.access]), [['GET', '/api/log', 'admin'], ['GET', '/api/security', 'admin']]);
  t.is(m.wipes.length, 1);
  for (let i = 0; i < 40; i++) m.log!.event('login', '10.0.0.' + i);
  const page = m.get('/api/log', { from: 0, count: 16 });
  t.is(page.status, 200);
  t.like(page.json, { from: 1, anchor: Buffer.alloc(16).toString('base64'), next: 17, oldest: 1, newest: 40, key: Buffer.from(KEY).toString('base64') });
  t.is(page.json.slots.length, 17, 'the header and 16 entries');
  t.true(Buffer.byteLength(String(page.body)) < 2048, 'an answer under 2 KB');
  const last = m.get('/api/log', { from: 33 });
  t.like(last.json, { from: 33, next: null });
  t.is(last.json.slots.length, 8);
  t.like(m.get('/api/log', { from: 41 }).json, { from: null, anchor: null, slots: [], next: null });
  m.wipes[0]!();
  t.like(m.get('/api/log').json, { from: 41, oldest: 41, newest: 41 });
});

test('hostile requests of GET /api/log are refused with bad-log-request and a specific reason, and never throw', (t) => {
  const m = moduleRig(openSimFlash(memoryBacking(4 * E)));
  for (let i = 0; i < 20; i++) m.log!.event('boot', String(i));
  const refused: [string, RegExp][] = [
    ['{"from":4294967296}', /from must be a sequence number, 0 to 4294967295/],
    ['{"from":99999999999}', /from must be a sequence number/],
    ['{"from":-1}', /from must be a sequence number/],
    ['{"from":1e30}', /from must be a sequence number/],
    ['{"from":"16"}', /from must be a sequence number/],
    ['{"from":null}', /from must be a sequence number/],
    ['{"from":[1]}', /from must be a sequence number/],
    ['{"from":1.5}', /from must be a sequence number/],
    ['{"from":true}', /from must be a sequence number/],
    ['{"count":0}', /count must be a number of entries, 1 to 16/],
    ['{"count":17}', /count must be a number of entries, 1 to 16/],
    ['{"count":99999}', /count must be a number of entries/],
    ['{"count":-16}', /count must be a number of entries/],
    ['{"count":{}}', /count must be a number of entries/],
    ['{"foo":1}', /unknown field "foo": the fields are from and count/],
    ['{"From":1}', /unknown field "From"/],
    ['{"from":1,"count":2,"x":3}', /unknown field "x"/],
    ['{"__proto__":1}', /unknown field "__proto__"/],
    ['[1,2]', /the body must be \{"from": <seq>, "count": <n>\}, each optional/],
    ['null', /the body must be/],
    ['7', /the body must be/],
    ['"from"', /the body must be/],
    ['from=1&count=2', /the body must be/],
    ['{"from":1', /the body must be/],
    ['\u0000\u00ff{}', /the body must be/],
    [' '.repeat(65), /the request is longer than/],
    ['{"from":' + '0'.repeat(60) + '}', /the request is longer than/],
  ];
  for (const [body, reason] of refused) {
    const a = m.get('/api/log', body);
    t.is(a.status, 400, body);
    t.is(a.json.error, 'bad-log-request', body);
    t.regex(a.json.reason, reason, body);
  }
  const accepted: [string, number | null, number][] = [
    ['', 1, 17],
    ['{}', 1, 17],
    ['{"from":0}', 1, 17],
    ['{"count":16,"from":0}', 1, 17],
    ['{"from":4294967295}', null, 0],
    ['{"from":7,"count":1}', 7, 1],
    [' { "count" : 3 } ', 1, 4],
    ['{"from":19,"count":16}', 19, 2],
    ['{"from":1,"from":2}', 2, 16],
  ];
  for (const [body, from, slots] of accepted) {
    const a = m.get('/api/log', body);
    t.is(a.status, 200, body);
    t.is(a.json.from, from, body);
    t.is(a.json.slots.length, slots, body);
  }
});

test('GET /api/security: failed logins and refused updates in the last hour and since boot, the last one, the entries kept', (t) => {
  const m = moduleRig(openSimFlash(memoryBacking(4 * E)));
  const empty = m.get('/api/security').json;
  t.deepEqual(empty.loginFailed, { lastHour: 0, sinceBoot: 0, last: null });
  t.like(empty, { entries: 0, oldest: null, newest: null, boot: 1 });
  for (let i = 0; i < 5; i++) {
    m.clock.t += 60_000;
    m.log!.event('login-failed', '10.0.0.9 ' + i);
  }
  m.log!.event('update-refused', 'package-counter');
  m.log!.event('login', '10.0.0.9');
  const s = m.get('/api/security').json;
  t.deepEqual(s.loginFailed, { lastHour: 5, sinceBoot: 5, last: { uptime: Math.floor(m.clock.t / 1000), wallTime: Math.floor(1_764_560_000_000 / 1000), detail: '10.0.0.9 4' } });
  t.like(s.updateRefused, { lastHour: 1, sinceBoot: 1, last: { detail: 'package-counter' } });
  t.like(s, { entries: 7, oldest: 1, newest: 7 });
  // An hour and ten minutes later the window is empty; the totals stay.
  m.clock.t += 70 * 60_000;
  const later = m.get('/api/security').json;
  t.like(later.loginFailed, { lastHour: 0, sinceBoot: 5 });
  t.like(later.updateRefused, { lastHour: 0, sinceBoot: 1 });
  m.log!.event('login-failed', '10.0.0.10 1');
  t.like(m.get('/api/security').json.loginFailed, { lastHour: 1, sinceBoot: 6 });
});

/** mulberry32: reproducible garbage. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('hostile stored bytes (garbage sectors, bad headers, entries with bad MACs, random damage) never make the device or the verifier throw, and are reported', (t) => {
  const clock = newClock();
  const base = memoryBacking(4 * E);
  const first = open(base, KALUMA, clock);
  write(first.log, clock, 0, 230);
  const rnd = random(7);
  const int = (n: number): number => Math.floor(rnd() * n);
  let reported = 0;
  for (let i = 0; i < 300; i++) {
    const d = region(base);
    const kind = i % 6;
    let touchedEntry = false;
    if (kind === 0) for (let j = 0; j < 1 + int(8); j++) d[int(d.length)] = int(256);
    else if (kind === 1) for (let j = int(4) * E, end = j + E; j < end; j++) d[j] = int(256);
    else if (kind === 2) d[int(4) * E + int(32)] ^= 1 << int(8);
    else if (kind === 3) {
      // An entry's byte (not its commit byte) in a sector in use: a bad MAC.
      const s = int(4);
      const slot = 1 + int(PER_SECTOR);
      const at = s * E + slot * 64 + int(63);
      touchedEntry = d[s * E + slot * 64 + 63] === Audit.COMMIT && verifyRegion(region(base), KEY).entries.length > 0;
      d[at] ^= 1 + int(255);
    } else if (kind === 4) d.copyWithin(int(4) * E, int(4) * E, 0 + E);
    else d.fill(int(2) ? 0 : 0xff, int(d.length), int(d.length));
    const b = memoryBacking(d.length);
    b.store(0, d);
    const { log } = open(b, i % 2 ? KALUMA : ESP32, clock);
    for (const from of [0, int(300), 4294967295]) {
      const p = logPage(log.ring, from, 1 + int(16));
      JSON.stringify(p);
      t.true(p.slots.filter((s) => typeof s === 'string').length <= 16 + 4);
    }
    const report = verifyRegion(region(b), KEY);
    if (touchedEntry) t.false(report.ok, 'an entry with a bad MAC is reported (damage ' + i + ')');
    if (!report.ok) reported++;
    verifyLog(paged(log));
    quietly(() => log.event('boot', 'after damage'));
  }
  t.log(reported + ' of 300 damaged regions reported broken');
  t.true(reported > 100);
});

for (const target of ['kaluma', 'espruino'] as const) {
  test(`the smart plug with the log, built for ${target}: inside the runtime profile; booted provisioned in the engine check, it answers and its log holds boot's own entry, verified`, async (t) => {
    const { auditImage, engineRun } = await import('../bench/audit');
    const { checkProfile, formatViolations } = await import('../firmware/host/profile');
    const built = await auditImage(target, true);
    const profile = checkProfile(built.code, target, built.map);
    t.deepEqual(profile.violations, [], formatViolations(profile));
    const { report, log } = await engineRun(target, built.code);
    t.true(report.booted, report.error);
    t.is(report.replies[0]!.status, 200);
    t.deepEqual(report.missing, [], 'the runtime fake lacks members the module used');
    t.true(log.ok, JSON.stringify(log.breaks));
    // Boot's own entry, then what modules/interfaces records (what is open; what the board could not close).
    t.deepEqual(log.entries.map((e) => [e.seq, e.kind, e.detail, e.verified]), [
      [1, 'boot', '0.1.0', true],
      [2, 'interfaces', 'tcp/80 setup-ap', true],
      [3, 'not-closed', target === 'kaluma' ? 'usb' : 'usb bluetooth mdns', true],
    ]);
  });
}

import { asciiBytes } from '../../firmware/device/core/bytes';
import { failure } from '../../firmware/device/core/errors';
import type { StoreChange } from '../../firmware/device/core/services';
import { Format, buildHeader, buildRecord, checkKey, commitRecord, erasedFrom, recordSize, sealNonce, sealValue, valueFootprint } from './format';
import type { Entry, StoreState } from './state';

/**
 * Writing: appends, new sectors, compaction, and the capacity rule that decides what is accepted
 * (docs/formats/store.md, "Writing" and "Capacity").
 */

/** One change of a commit, checked, with its footprint (a delete: its DELETE record's). */
interface Pending {
  key: string;
  /** The key's ASCII bytes, made once for the record and a sealed value's associated data. */
  kb: Uint8Array;
  name: string;
  value: Uint8Array | undefined;
  sealed: boolean;
  /** Footprint of the record this change appends. */
  size: number;
  /** Footprint of the key once the change applies (0 when deleted). */
  after: number;
}

/** Programs `bytes` at `offset` of sector `s`, padded with 0xff to whole write units. */
function program(st: StoreState, s: number, offset: number, bytes: Uint8Array): void {
  const flash = st.flash;
  const w = flash.writeSize;
  const from = offset - (offset % w);
  const to = Math.ceil((offset + bytes.length) / w) * w;
  let data = bytes;
  if (from !== offset || to !== offset + bytes.length) {
    data = new Uint8Array(to - from);
    data.fill(0xff);
    data.set(bytes, offset - from);
  }
  st.stats.programs++;
  flash.write(s * st.E + from, data);
}

/** Erases the sector at ring position `s` unless it already reads erased. */
function prepare(st: StoreState, s: number): void {
  if (erasedFrom(st.flash.read(s * st.E, st.E), 0)) return;
  st.stats.erases++;
  st.flash.erase(s * st.E, st.E);
}

/** Starts a new sector after `head`: a generation start (new generation) or its next sector. */
function allocate(st: StoreState, kind: number, gen: number): number {
  if (st.needsRepair) {
    // Unreadable headers were found: the sequence moves on, and they are erased only once a sector
    // with the new number is in use (commitChanges).
    st.maxSeq += Format.SEQUENCE_JUMP;
    st.needsRepair = false;
  }
  if (st.maxSeq >= 0xfffffff0) throw new Error('store: sector sequence numbers exhausted');
  const s = (st.head + 1) % st.N;
  const t = (s + 1) % st.N;
  if (st.kinds[s] === Format.KIND_UNREADABLE && t !== st.sectors[0]) {
    // The sector to reuse holds an unreadable header, perhaps the one that calls for the jump: the
    // jumped number goes on the flash before it is erased, in a header of no generation in the
    // sector after it (docs/formats/store.md, "Why a nonce never repeats"). Never into the
    // generation in use: a compaction as large as the free sectors ends just before its first.
    prepare(st, t);
    program(st, t, 0, buildHeader(Format.KIND_NEXT, ++st.maxSeq, 0));
    st.kinds[t] = Format.KIND_NEXT;
  }
  prepare(st, s);
  const seq = ++st.maxSeq;
  program(st, s, 0, buildHeader(kind, seq, kind === Format.KIND_START ? seq : gen));
  st.kinds[s] = kind;
  st.seqs[s] = seq;
  st.gens[s] = kind === Format.KIND_START ? seq : gen;
  st.stats.appended += Format.SECTOR_HEADER;
  st.head = s;
  st.tail = Format.SECTOR_HEADER;
  return seq;
}

/** Room for a record of `size` bytes: the current sector, or a new sector of the generation (added to `into`). */
function place(st: StoreState, size: number, gen: number, into: number[]): number {
  let at = st.tail;
  if (at + size > st.E) {
    allocate(st, Format.KIND_NEXT, gen);
    into.push(st.head);
    at = st.tail;
  }
  st.tail = at + size;
  st.stats.appended += size;
  return at;
}

/** A record that counts on its own: its body, then its commit word in a second operation. */
function programStandalone(st: StoreState, at: number, record: Uint8Array): void {
  program(st, st.head, at, record.subarray(0, record.length - 4));
  program(st, st.head, at + record.length - 4, record.subarray(record.length - 4));
}

/** Next-fit packing of record footprints into sectors: sectors used, and the offset in the last one. */
interface Packing {
  sectors: number;
  tail: number;
}

function pack(p: Packing, n: number, E: number): void {
  if (n <= 0) return;
  if (p.tail + n > E) {
    p.sectors++;
    p.tail = Format.SECTOR_HEADER;
  }
  p.tail += n;
}

/**
 * The order compaction writes a snapshot in: the reserved keys in declaration order, then the
 * other live keys in packing order, then the keys `added` by a change. Records never span sectors;
 * next-fit in a fixed order never needs more sectors when a record shrinks or goes
 * (docs/formats/store.md, "Capacity").
 */
function packingOrder(st: StoreState, added: string[]): string[] {
  const order: string[] = [];
  for (let i = 0; i < st.reserve.length; i++) order.push('#' + st.reserve[i].key);
  for (let i = 0; i < st.names.length; i++) if (st.reserved[st.names[i]] === undefined) order.push(st.names[i]);
  for (let i = 0; i < added.length; i++) if (st.reserved[added[i]] === undefined) order.push(added[i]);
  return order;
}

/**
 * Sectors a snapshot of the live records takes once `changed` applies, packed in packingOrder and
 * closed by its COMMIT record; with `reserved`, each reserved key counts at its reserved footprint
 * when that is larger than its actual one.
 */
export function snapshotPacking(st: StoreState, changed: { [name: string]: number } | undefined, added: string[], reserved: boolean): Packing {
  const E = st.E;
  const p: Packing = { sectors: 1, tail: Format.SECTOR_HEADER };
  const order = packingOrder(st, added);
  for (let i = 0; i < order.length; i++) {
    // The key's footprint once `changed` applies (`changed` maps names to footprints, 0 = deleted).
    let n = changed ? changed[order[i]] : undefined;
    if (n === undefined) {
      const e = st.index[order[i]];
      n = e ? e.n : 0;
    }
    const room = reserved ? st.reserved[order[i]] : undefined;
    pack(p, room !== undefined && room > n ? room : n, E);
  }
  pack(p, Format.COMMIT_RECORD, E);
  return p;
}

/**
 * Writes a new generation: every live record once `changes` apply (none of the versions they
 * supersede), in packing order, then the COMMIT record that makes it the store. Until that COMMIT
 * is complete the current generation is the one open() uses; the new one lies in sectors it does
 * not use. Only changes without sealed values are folded in (a fresh sealed value is written only
 * into the generation in use: docs/formats/store.md, "Why a nonce never repeats").
 */
function compact(st: StoreState, changes: Pending[]): void {
  const gen = allocate(st, Format.KIND_START, 0);
  const into = [st.head];
  const byName: { [name: string]: Pending } = {};
  const added: string[] = [];
  for (let i = 0; i < changes.length; i++) {
    byName[changes[i].name] = changes[i];
    if (!st.index[changes[i].name] && changes[i].value) added.push(changes[i].name);
  }
  const order = packingOrder(st, added);
  const index: { [name: string]: Entry } = {};
  const names: string[] = [];
  let live = 0;
  for (let i = 0; i < order.length; i++) {
    const name = order[i];
    const c = byName[name];
    const e = st.index[name];
    let bytes: Uint8Array;
    if (c) {
      if (!c.value) continue;
      bytes = buildRecord(Format.TYPE_SET, 0, c.kb, c.value);
    } else if (e) {
      bytes = st.flash.read(e.s * st.E + e.o, e.n);
    } else {
      continue;
    }
    const at = place(st, bytes.length, gen, into);
    program(st, st.head, at, bytes);
    index[name] = { s: st.head, o: at, n: bytes.length, sealed: c ? false : e.sealed };
    names.push(name);
    live += bytes.length;
  }
  programStandalone(st, place(st, Format.COMMIT_RECORD, gen, into), commitRecord(names.length));
  st.index = index;
  st.names = names;
  st.live = live;
  st.sectors = into;
  st.stats.compactions++;
}

/** Appends the changes to the generation in use: stand-alone, or members and a COMMIT record. */
function append(st: StoreState, list: Pending[]): void {
  const txn = list.length > 1;
  const gen = st.seqs[st.sectors[0]];
  const placed: Entry[] = [];
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    const at = place(st, c.size, gen, st.sectors);
    // The record, built once its position (hence a sealed value's nonce) is known.
    const flags = txn ? (i === 0 ? Format.FLAG_TXN | Format.FLAG_BEGIN : Format.FLAG_TXN) : 0;
    let record: Uint8Array;
    if (!c.value) record = buildRecord(Format.TYPE_DELETE, flags, c.kb, new Uint8Array(0));
    else if (!c.sealed) record = buildRecord(Format.TYPE_SET, flags, c.kb, c.value);
    else {
      const nonce = sealNonce(st.seqs[st.head], at);
      if (st.onNonce) st.onNonce(nonce);
      record = buildRecord(Format.TYPE_SET, flags | 1, c.kb, sealValue(st.seal!, c.kb, c.value, nonce));
    }
    if (txn) program(st, st.head, at, record);
    else programStandalone(st, at, record);
    placed.push({ s: st.head, o: at, n: record.length, sealed: c.sealed });
  }
  if (txn) programStandalone(st, place(st, Format.COMMIT_RECORD, gen, st.sectors), commitRecord(list.length));
  for (let i = 0; i < list.length; i++) {
    const name = list[i].name;
    const old = st.index[name];
    if (list[i].value) {
      if (old) {
        st.live += placed[i].n - old.n;
        old.s = placed[i].s;
        old.o = placed[i].o;
        old.n = placed[i].n;
        old.sealed = placed[i].sealed;
      } else {
        st.index[name] = placed[i];
        st.names.push(name);
        st.live += placed[i].n;
      }
    } else if (old) {
      st.live -= old.n;
      delete st.index[name];
      st.names.splice(st.names.indexOf(name), 1);
    }
  }
}

/** Checks `changes` (programming errors throw) and returns those that change something. */
function pending(st: StoreState, changes: StoreChange[]): Pending[] {
  const list: Pending[] = [];
  const seen: { [name: string]: boolean } = {};
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    checkKey(c.key);
    const name = '#' + c.key;
    if (seen[name]) throw new Error('store: key "' + c.key + '" appears twice in one commit');
    seen[name] = true;
    if (c.value === undefined) {
      if (st.index[name]) list.push({ key: c.key, kb: asciiBytes(c.key), name: name, value: undefined, sealed: false, size: recordSize(c.key.length, 0), after: 0 });
      continue;
    }
    if (!(c.value instanceof Uint8Array) || c.value.length > Format.MAX_VALUE) throw new RangeError('store: value must be a Uint8Array of at most ' + Format.MAX_VALUE + ' bytes');
    if (c.sealed && !st.seal) throw new Error('store: opened without a seal key, cannot seal "' + c.key + '"');
    const size = valueFootprint(c.key, c.value.length, c.sealed === true);
    list.push({ key: c.key, kb: asciiBytes(c.key), name: name, value: c.value, sealed: c.sealed === true, size: size, after: size });
  }
  return list;
}

/**
 * Applies `changes` all-or-nothing, or throws `store-full` before writing anything when the
 * capacity rule refuses them. A change that makes no key larger — a delete, an overwrite no larger
 * than the value it replaces, a reserved key within its reserve — is never refused while the
 * stored state keeps the rule (docs/formats/store.md, "Capacity"). With `purge` (and no changes),
 * compacts whatever the generation holds, then erases every other sector (docs/formats/store.md,
 * "Purge").
 */
export function commitChanges(st: StoreState, changes: StoreChange[], purge?: boolean): void {
  if (st.broken) throw failure('store-broken', st.broken);
  const list = pending(st, changes);
  const n = list.length;
  if (n === 0 && !purge) return;
  const index = st.index;
  const reserved = st.reserved;
  const E = st.E;
  let grows = false;
  let sealed = false;
  // Whether the records fit in the generation in use: next-fit from its tail, one new sector each
  // time the current one is full, at most up to the budget.
  const fit: Packing = { sectors: st.sectors.length, tail: st.tail };
  for (let i = 0; i < n; i++) {
    const c = list[i];
    const e = index[c.name];
    const before = e ? e.n : 0;
    const room = reserved[c.name] !== undefined && reserved[c.name] > before ? reserved[c.name] : before;
    if (c.after > room) grows = true;
    if (c.sealed) sealed = true;
    pack(fit, c.size, E);
  }
  if (n > 1) pack(fit, Format.COMMIT_RECORD, E);
  let changed: { [name: string]: number } | undefined;
  const added: string[] = [];
  if (grows || fit.sectors > st.G || st.sectors.length === 0) {
    changed = {};
    for (let i = 0; i < n; i++) {
      changed[list[i].name] = list[i].after;
      if (!index[list[i].name]) added.push(list[i].name);
    }
  }
  if (grows) {
    const need = snapshotPacking(st, changed, added, true).sectors;
    if (need > st.G - 1) throw failure('store-full', need + ' sectors needed, ' + (st.G - 1) + ' allowed');
  }
  const appendable = !purge && st.sectors.length > 0 && fit.sectors <= st.G;
  if (!appendable) {
    // Compaction: the new generation holds the snapshot and, for sealed changes, the change after it.
    let need: number;
    if (sealed) {
      const p = snapshotPacking(st, undefined, [], false);
      for (let i = 0; i < n; i++) pack(p, list[i].size, E);
      if (n > 1) pack(p, Format.COMMIT_RECORD, E);
      need = p.sectors;
    } else {
      need = snapshotPacking(st, changed, added, false).sectors;
    }
    if (need > st.G) throw failure('store-full', 'compaction needs ' + need + ' sectors, ' + st.G + ' allowed');
  }
  const repairing = st.needsRepair;
  try {
    if (appendable) {
      append(st, list);
    } else if (!sealed) {
      compact(st, list);
    } else {
      compact(st, []);
      append(st, list);
    }
    // Once the generation in use holds the newest number (its records, or its snapshot, complete):
    // with purge every other sector is erased; after a sequence jump, the unreadable sectors.
    if (purge || (repairing && !st.needsRepair)) {
      for (let s = 0; s < st.N; s++) {
        if (purge ? st.sectors.indexOf(s) < 0 : st.kinds[s] === Format.KIND_UNREADABLE) {
          prepare(st, s);
          st.kinds[s] = 0;
        }
      }
    }
  } catch (error) {
    st.broken = (error as Error).message;
    throw error;
  }
  st.report.keys = st.names.length;
}

/**
 * The writer as one value: what a Kaluma image reads from its assets for a commit or the store's open
 * and lets go of afterwards (write-code.ts, firmware/host/ondemand.ts; asset 14).
 */
export const storeWrite = { commit: commitChanges, packing: snapshotPacking };

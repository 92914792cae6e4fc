import { failure } from '../../firmware/device/core/errors';
import type { StoreChange } from '../../firmware/device/core/services';
import {
  buildHeader, buildRecord, checkKey, COMMIT_RECORD, commitRecord, erasedFrom, FLAG_BEGIN, FLAG_TXN, KIND_NEXT, KIND_START,
  KIND_UNREADABLE, MAX_VALUE, recordSize, sealNonce, sealValue, SECTOR_HEADER, SEQUENCE_JUMP, TYPE_DELETE, TYPE_SET, valueFootprint,
} from './format';
import type { Entry, StoreState } from './state';

/**
 * Writing: appends, new sectors, compaction, and the capacity rule that decides what is accepted
 * (docs/formats/store.md, "Writing" and "Capacity").
 */

/** One change of a commit, checked, with its footprint (a delete: its DELETE record's). */
interface Pending {
  key: string;
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
  const w = st.flash.writeSize;
  const from = offset - (offset % w);
  const to = Math.ceil((offset + bytes.length) / w) * w;
  let data = bytes;
  if (from !== offset || to !== offset + bytes.length) {
    data = new Uint8Array(to - from);
    data.fill(0xff);
    data.set(bytes, offset - from);
  }
  st.stats.programs++;
  st.flash.write(s * st.E + from, data);
}

/** Erases the sector at ring position `s` unless it already reads erased. */
function prepare(st: StoreState, s: number): void {
  if (erasedFrom(st.flash.read(s * st.E, st.E), 0)) return;
  st.stats.erases++;
  st.flash.erase(s * st.E, st.E);
}

/** Erases sectors whose header could not be read and moves the sequence on (docs/formats/store.md). */
function repair(st: StoreState): void {
  for (let s = 0; s < st.N; s++) {
    if (st.kinds[s] !== KIND_UNREADABLE) continue;
    prepare(st, s);
    st.kinds[s] = 0;
  }
  st.maxSeq += SEQUENCE_JUMP;
  st.needsRepair = false;
}

/** Starts a new sector after `head`: a generation start (new generation) or its next sector. */
function allocate(st: StoreState, kind: number, gen: number): number {
  if (st.needsRepair) repair(st);
  if (st.maxSeq >= 0xfffffff0) throw new Error('store: sector sequence numbers exhausted');
  const s = (st.head + 1) % st.N;
  prepare(st, s);
  const seq = ++st.maxSeq;
  program(st, s, 0, buildHeader(kind, seq, kind === KIND_START ? seq : gen));
  st.kinds[s] = kind;
  st.seqs[s] = seq;
  st.gens[s] = kind === KIND_START ? seq : gen;
  st.stats.appended += SECTOR_HEADER;
  st.head = s;
  st.tail = SECTOR_HEADER;
  return seq;
}

/** Room for a record of `size` bytes: the current sector, or a new sector of the generation (added to `into`). */
function place(st: StoreState, size: number, gen: number, into: number[]): number {
  if (st.tail + size > st.E) {
    allocate(st, KIND_NEXT, gen);
    into.push(st.head);
  }
  const at = st.tail;
  st.tail += size;
  st.stats.appended += size;
  return at;
}

/** A record that counts on its own: its body, then its commit word in a second operation. */
function programStandalone(st: StoreState, at: number, record: Uint8Array): void {
  program(st, st.head, at, record.subarray(0, record.length - 4));
  program(st, st.head, at + record.length - 4, record.subarray(record.length - 4));
}

/** The record for one change, built once its position (hence a sealed value's nonce) is known. */
function recordFor(st: StoreState, c: Pending, flags: number, at: number): Uint8Array {
  if (!c.value) return buildRecord(TYPE_DELETE, flags, c.key, new Uint8Array(0));
  if (!c.sealed) return buildRecord(TYPE_SET, flags, c.key, c.value);
  const nonce = sealNonce(st.seqs[st.head], at);
  if (st.onNonce) st.onNonce(nonce);
  return buildRecord(TYPE_SET, flags | 1, c.key, sealValue(st.seal!, c.key, c.value, nonce));
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
    p.tail = SECTOR_HEADER;
  }
  p.tail += n;
}

/** Footprint of `name` once `changed` applies (`changed` maps names to footprints, 0 = deleted). */
function footprint(st: StoreState, changed: { [name: string]: number } | undefined, name: string): number {
  if (changed && changed[name] !== undefined) return changed[name];
  const e = st.index[name];
  return e ? e.n : 0;
}

/**
 * Sectors a snapshot of the live records takes once `changed` applies — in the order compaction
 * writes it: the reserved keys in declaration order (each counted at its reserved footprint when
 * `reserved`, or at its actual one), then the other keys in packing order, then keys `added` by
 * the change, then the COMMIT record. Records never span sectors; next-fit in a fixed order never
 * needs more sectors when a record shrinks or goes (docs/formats/store.md, "Capacity").
 */
function snapshotPacking(st: StoreState, changed: { [name: string]: number } | undefined, added: string[], reserved: boolean): Packing {
  const E = st.E;
  const p: Packing = { sectors: 1, tail: SECTOR_HEADER };
  for (let i = 0; i < st.reserve.length; i++) {
    const name = '#' + st.reserve[i].key;
    const n = footprint(st, changed, name);
    pack(p, reserved && st.reserved[name] > n ? st.reserved[name] : n, E);
  }
  for (let i = 0; i < st.names.length; i++) if (st.reserved[st.names[i]] === undefined) pack(p, footprint(st, changed, st.names[i]), E);
  for (let i = 0; i < added.length; i++) if (st.reserved[added[i]] === undefined) pack(p, footprint(st, changed, added[i]), E);
  pack(p, COMMIT_RECORD, E);
  return p;
}

export function snapshotSectors(st: StoreState, changed: { [name: string]: number } | undefined, added: string[], reserved: boolean): number {
  return snapshotPacking(st, changed, added, reserved).sectors;
}

/** Whether records of `sizes` fit after `from` bytes of the last sector with `spare` new sectors allowed. */
function fits(E: number, sizes: number[], from: number, spare: number): boolean {
  const p: Packing = { sectors: 0, tail: from };
  for (let i = 0; i < sizes.length; i++) pack(p, sizes[i], E);
  return p.sectors <= spare;
}

/**
 * Writes a new generation: every live record once `changes` apply (none of the versions they
 * supersede), in packing order, then the COMMIT record that makes it the store. Until that COMMIT
 * is complete the current generation is the one open() uses; the new one lies in sectors it does
 * not use. Only changes without sealed values are folded in (a fresh sealed value is written only
 * into the generation in use: docs/formats/store.md, "Why a nonce never repeats").
 */
function compact(st: StoreState, changes: Pending[]): void {
  const gen = allocate(st, KIND_START, 0);
  const into = [st.head];
  const byName: { [name: string]: Pending } = {};
  const added: string[] = [];
  for (let i = 0; i < changes.length; i++) {
    byName[changes[i].name] = changes[i];
    if (!st.index[changes[i].name] && changes[i].value) added.push(changes[i].name);
  }
  const order: string[] = [];
  for (let i = 0; i < st.reserve.length; i++) order.push('#' + st.reserve[i].key);
  for (let i = 0; i < st.names.length; i++) if (st.reserved[st.names[i]] === undefined) order.push(st.names[i]);
  for (let i = 0; i < added.length; i++) if (st.reserved[added[i]] === undefined) order.push(added[i]);
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
      bytes = buildRecord(TYPE_SET, 0, c.key, c.value);
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
  programStandalone(st, place(st, COMMIT_RECORD, gen, into), commitRecord(names.length));
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
    const at = place(st, list[i].size, gen, st.sectors);
    const record = recordFor(st, list[i], txn ? (i === 0 ? FLAG_TXN | FLAG_BEGIN : FLAG_TXN) : 0, at);
    if (txn) program(st, st.head, at, record);
    else programStandalone(st, at, record);
    placed.push({ s: st.head, o: at, n: record.length, sealed: list[i].sealed });
  }
  if (txn) programStandalone(st, place(st, COMMIT_RECORD, gen, st.sectors), commitRecord(list.length));
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
      if (st.index[name]) list.push({ key: c.key, name: name, value: undefined, sealed: false, size: recordSize(c.key.length, 0), after: 0 });
      continue;
    }
    if (!(c.value instanceof Uint8Array) || c.value.length > MAX_VALUE) throw new RangeError('store: value must be a Uint8Array of at most ' + MAX_VALUE + ' bytes');
    if (c.sealed && !st.seal) throw new Error('store: opened without a seal key, cannot seal "' + c.key + '"');
    const size = valueFootprint(c.key, c.value.length, c.sealed === true);
    list.push({ key: c.key, name: name, value: c.value, sealed: c.sealed === true, size: size, after: size });
  }
  return list;
}

/**
 * Applies `changes` all-or-nothing, or throws `store-full` before writing anything when the
 * capacity rule refuses them. A change that makes no key larger — a delete, an overwrite no larger
 * than the value it replaces, a reserved key within its reserve — is never refused while the
 * stored state keeps the rule (docs/formats/store.md, "Capacity").
 */
export function commitChanges(st: StoreState, changes: StoreChange[]): void {
  if (st.broken) throw failure('store-broken', st.broken);
  const list = pending(st, changes);
  if (list.length === 0) return;
  const changed: { [name: string]: number } = {};
  const added: string[] = [];
  let grows = false;
  let sealed = false;
  const sizes: number[] = [];
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    const before = st.index[c.name] ? st.index[c.name].n : 0;
    changed[c.name] = c.after;
    if (!st.index[c.name]) added.push(c.name);
    const room = st.reserved[c.name] !== undefined && st.reserved[c.name] > before ? st.reserved[c.name] : before;
    if (c.after > room) grows = true;
    if (c.sealed) sealed = true;
    sizes.push(c.size);
  }
  if (list.length > 1) sizes.push(COMMIT_RECORD);
  if (grows) {
    const need = snapshotSectors(st, changed, added, true);
    if (need > st.G - 1) throw failure('store-full', 'the stored keys, the reserves and this change would need ' + need + ' sectors, ' + (st.G - 1) + ' allowed');
  }
  const appendable = st.sectors.length > 0 && fits(st.E, sizes, st.tail, st.G - st.sectors.length);
  if (!appendable) {
    // Compaction: the new generation holds the snapshot and, for sealed changes, the change after it.
    let need: number;
    if (sealed) {
      const p = snapshotPacking(st, undefined, [], false);
      for (let i = 0; i < sizes.length; i++) pack(p, sizes[i], st.E);
      need = p.sectors;
    } else {
      need = snapshotSectors(st, changed, added, false);
    }
    if (need > st.G) throw failure('store-full', 'a new generation with this change would need ' + need + ' sectors, ' + st.G + ' allowed');
  }
  try {
    if (appendable) {
      append(st, list);
    } else if (!sealed) {
      compact(st, list);
    } else {
      compact(st, []);
      append(st, list);
    }
  } catch (error) {
    st.broken = (error as Error).message;
    throw error;
  }
  st.report.keys = st.names.length;
}

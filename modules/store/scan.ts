import { u32 } from '../../firmware/device/core/bytes';
import { Format, crcOk, erasedFrom, parseHeader, parseRecord, type Parsed } from './format';
import type { Entry, StoreState } from './state';
import { message } from '../../firmware/device/core/messages';

/**
 * Opening: what open() does with whatever the region holds (docs/formats/store.md, "Opening").
 * Never throws on stored bytes: it finds the newest complete generation, applies every committed
 * record in order and reports what it skipped.
 */

/** The live records of one generation, as its records say. */
interface Scan {
  complete: boolean;
  index: { [name: string]: Entry };
  names: string[];
  live: number;
  sectors: number[];
  tail: number;
  skipped: string[];
}

interface Held {
  p: Parsed;
  s: number;
  o: number;
}

/**
 * Applies one committed record to `scan`: a SET replaces the key's entry in place (the key keeps
 * its position in the packing order), a new key goes last, a DELETE removes it.
 */
let apply: ((scan: Scan, p: Parsed, s: number, o: number) => void) | undefined = function (scan: Scan, p: Parsed, s: number, o: number): void {
  const name = '#' + p.key;
  const old = scan.index[name];
  if (p.type === Format.TYPE_SET) {
    const sealed = (p.flags & Format.FLAG_SEALED) !== 0;
    if (old) {
      scan.live += p.size - old.n;
      old.s = s;
      old.o = o;
      old.n = p.size;
      old.sealed = sealed;
    } else {
      scan.index[name] = { s: s, o: o, n: p.size, sealed: sealed };
      scan.names.push(name);
      scan.live += p.size;
    }
  } else if (old) {
    scan.live -= old.n;
    delete scan.index[name];
    scan.names.splice(scan.names.indexOf(name), 1);
  }
};

let drop: ((scan: Scan, held: Held[], why: string) => void) | undefined = function (scan: Scan, held: Held[], why: string): void {
  if (held.length) scan.skipped.push(why + ': ' + held.length + message(' uncommitted transaction record(s) dropped'));
  held.splice(0, held.length);
};

/** Reads the generation that starts at ring position `start`, sector by sector. */
let scanGeneration: ((st: StoreState, start: number) => Scan) | undefined = function (st: StoreState, start: number): Scan {
  const E = st.E;
  const scan: Scan = { complete: false, index: {}, names: [], live: 0, sectors: [], tail: E, skipped: [] };
  const gen = st.seqs[start];
  const held: Held[] = [];
  let inSnapshot = true;
  let prevSeq = 0;
  for (let i = 0, s = start; i < st.N; i++, s = (s + 1) % st.N) {
    if (i > 0 && (st.kinds[s] !== Format.KIND_NEXT || st.gens[s] !== gen || st.seqs[s] <= prevSeq)) break;
    prevSeq = st.seqs[s];
    scan.sectors.push(s);
    const b = st.flash.read(s * E, E);
    let at = Format.SECTOR_HEADER;
    let tail = E;
    while (at < E) {
      if (b[at] === 0xff && erasedFrom(b, at)) {
        tail = at;
        break;
      }
      const p = parseRecord(b, at);
      if (!p) {
        scan.skipped.push('sector ' + s + ' offset ' + at + message(': unreadable to the sector end'));
        drop!(scan, held, 'sector ' + s);
        break;
      }
      if (p.type === Format.TYPE_COMMIT) {
        const count = p.committed && crcOk(b, at, p.size) ? u32(b, at + Format.RECORD_HEADER) : -1;
        if (count === held.length) {
          for (let j = 0; j < held.length; j++) apply!(scan, held[j].p, held[j].s, held[j].o);
          held.splice(0, held.length);
          inSnapshot = false;
        } else {
          drop!(scan, held, 'sector ' + s + ' offset ' + at + message(count < 0 ? ': torn commit record' : ': commit record count differs'));
        }
      } else if (inSnapshot || (p.flags & Format.FLAG_TXN) !== 0) {
        if (!inSnapshot && (p.flags & Format.FLAG_BEGIN) !== 0) drop!(scan, held, 'sector ' + s + ' offset ' + at + message(': a new transaction begins'));
        held.push({ p: p, s: s, o: at });
      } else {
        drop!(scan, held, 'sector ' + s + ' offset ' + at);
        if (!p.committed) scan.skipped.push('sector ' + s + ' offset ' + at + message(': torn record of "') + p.key + '"');
        else if (p.type === Format.TYPE_DELETE && !crcOk(b, at, p.size)) scan.skipped.push('sector ' + s + ' offset ' + at + message(': corrupt delete record'));
        else apply!(scan, p, s, at);
      }
      at += p.size;
    }
    scan.tail = tail;
  }
  drop!(scan, held, message('end of the generation'));
  scan.complete = !inSnapshot;
  return scan;
};

/**
 * Finds the newest generation whose snapshot committed and makes it the state's: index, packing
 * order, live bytes, sectors, head and tail. Everything skipped goes to `st.report.skipped`.
 */
export let recover: ((st: StoreState) => void) | undefined = function (st: StoreState): void {
  const skipped = st.report.skipped;
  const kinds = st.kinds;
  const seqs = st.seqs;
  const N = st.N;
  // Every sector header, and how many could not be read. (Loops keep the state's fields in locals:
  // with Kaluma's JerryScript configuration, LCACHE and the property hash map off, each property
  // read walks the object's property list.)
  const flash = st.flash;
  const E = st.E;
  const gens = st.gens;
  let maxSeq = st.maxSeq;
  let unreadable = 0;
  for (let s = 0; s < N; s++) {
    const h = parseHeader(flash.read(s * E, Format.SECTOR_HEADER));
    const kind = h.valid ? h.kind : h.erased ? 0 : Format.KIND_UNREADABLE;
    kinds[s] = kind;
    seqs[s] = h.seq;
    gens[s] = h.gen;
    if (h.valid && h.seq > maxSeq) maxSeq = h.seq;
    if (kind === Format.KIND_UNREADABLE) unreadable++;
  }
  st.maxSeq = maxSeq;
  const starts: number[] = [];
  for (let s = 0; s < N; s++) if (kinds[s] === Format.KIND_START) starts.push(s);
  starts.sort((a, b) => seqs[b] - seqs[a]);
  let scan: Scan | undefined;
  for (let i = 0; i < starts.length && !scan; i++) {
    const r = scanGeneration!(st, starts[i]);
    if (r.complete) scan = r;
    else skipped.push('generation ' + seqs[starts[i]] + ' (sector ' + starts[i] + message('): compaction interrupted, older generation used'));
  }
  if (unreadable) skipped.push(unreadable + message(' unreadable sector header(s): erased before reuse'));
  if (!scan && (starts.length || maxSeq)) skipped.push(message('no complete generation: store empty'));
  st.needsRepair = unreadable > 0;
  if (!scan) {
    // With no generation, the first write starts one after the newest sector seen (wear).
    st.head = N - 1;
    for (let s = 0; s < N; s++) if ((kinds[s] === Format.KIND_START || kinds[s] === Format.KIND_NEXT) && seqs[s] === maxSeq) st.head = s;
    st.tail = E;
    return;
  }
  for (let i = 0; i < scan.skipped.length; i++) skipped.push(scan.skipped[i]);
  st.index = scan.index;
  st.names = scan.names;
  st.live = scan.live;
  st.sectors = scan.sectors;
  st.head = scan.sectors[scan.sectors.length - 1];
  st.tail = scan.tail;
  st.report.generation = st.seqs[scan.sectors[0]];
  st.report.sectors = scan.sectors.length;
  st.report.keys = scan.names.length;
};

/**
 * Lets the recovery code go: a device opens its store once per boot, and on Kaluma the code of
 * these functions (about 3 KB of heap) is freed once nothing holds them. `openStore` calls this
 * when asked (`once`); a later open then throws.
 */
export function releaseRecovery(): void {
  recover = undefined;
  scanGeneration = undefined;
  apply = undefined;
  drop = undefined;
}

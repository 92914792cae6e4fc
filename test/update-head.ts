import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Update package heads for the parser's tests (docs/formats/update.md §1, §2), built by a small
 * CBOR encoder of their own: deterministic (RFC 8949 §4.2.1) by default, and able to break one
 * rule on purpose at the N-th head it writes (a longer head than needed, an indefinite length), to
 * keep map entries in the order given, and to hold raw bytes anywhere.
 */

/** A CBOR item to encode. */
export type Item =
  | ['u', number | bigint]
  /** Negative integer -1 - arg. */
  | ['n', number | bigint]
  | ['b', Uint8Array]
  | ['t', string]
  | ['a', Item[]]
  | ['m', [Item, Item][]]
  | ['tag', number, Item]
  /** A byte string holding the encoding of the item (`bstr .cbor`). */
  | ['cbor', Item]
  /** A byte string's head only, with this length (the payload's, whose bytes follow the head). */
  | ['bhead', number | bigint]
  | ['raw', Uint8Array];

export interface EncodeOptions {
  /** Write the head with this index (pre-order, from 0) one size longer than needed. */
  widen?: number;
  /** Write the head with this index with an indefinite length (ai 31). */
  indefinite?: number;
  /** Keep map entries in the order given (default: bytewise order of the keys' encodings). */
  keepOrder?: boolean;
}

interface Ctx {
  o: EncodeOptions;
  n: number;
  /** Heads written, and whether the one asked for could be changed. */
  done: boolean;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function head(major: number, arg: number | bigint, ctx: Ctx, out: number[]): void {
  const v = BigInt(arg);
  let size = v < 24n ? 0 : v < 256n ? 1 : v < 65536n ? 2 : v < 4294967296n ? 4 : 8;
  if (ctx.n === ctx.o.widen && size < 8) {
    size = size === 0 ? 1 : size * 2;
    ctx.done = true;
  }
  ctx.n++;
  if (size === 0) {
    out.push((major << 5) | Number(v));
    return;
  }
  out.push((major << 5) | (size === 1 ? 24 : size === 2 ? 25 : size === 4 ? 26 : 27));
  for (let i = size - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 255n));
}

function encodeInto(item: Item, ctx: Ctx, out: number[]): void {
  const indefinite = ctx.n === ctx.o.indefinite;
  if (indefinite) ctx.done = true;
  switch (item[0]) {
    case 'u':
    case 'n':
      if (indefinite) {
        ctx.n++;
        out.push(item[0] === 'u' ? 0x1f : 0x3f);
        return;
      }
      return head(item[0] === 'u' ? 0 : 1, item[1], ctx, out);
    case 'b':
    case 't': {
      const bytes = item[0] === 'b' ? item[1] : new Uint8Array(Buffer.from(item[1], 'utf8'));
      const major = item[0] === 'b' ? 2 : 3;
      if (indefinite) {
        ctx.n++;
        out.push((major << 5) | 31);
        head(major, bytes.length, ctx, out);
        out.push(...bytes, 0xff);
        return;
      }
      head(major, bytes.length, ctx, out);
      out.push(...bytes);
      return;
    }
    case 'cbor': {
      const inner: number[] = [];
      const at = ctx.n++;
      encodeInto(item[1], ctx, inner);
      // The byte string's head is written after its content, but counted first (pre-order).
      const outer: number[] = [];
      const n = ctx.n;
      ctx.n = at;
      if (ctx.o.indefinite === at) {
        outer.push(0x5f);
        ctx.n++;
        head(2, inner.length, ctx, outer);
        outer.push(...inner, 0xff);
      } else head(2, inner.length, ctx, outer);
      ctx.n = n;
      out.push(...outer, ...inner);
      return;
    }
    case 'bhead':
      if (indefinite) {
        ctx.n++;
        out.push(0x5f);
        return;
      }
      return head(2, item[1], ctx, out);
    case 'a':
      if (indefinite) {
        ctx.n++;
        out.push(0x9f);
      } else head(4, item[1].length, ctx, out);
      for (const x of item[1]) encodeInto(x, ctx, out);
      if (indefinite) out.push(0xff);
      return;
    case 'm': {
      if (indefinite) {
        ctx.n++;
        out.push(0xbf);
      } else head(5, item[1].length, ctx, out);
      let entries = item[1];
      if (!ctx.o.keepOrder) {
        // Sort by the keys' deterministic encodings (encoded apart, so the head count is unchanged).
        const keyed = entries.map((e) => ({ e, k: encode(e[0]) }));
        keyed.sort((x, y) => compare(x.k, y.k));
        entries = keyed.map((x) => x.e);
      }
      for (const [k, v] of entries) {
        encodeInto(k, ctx, out);
        encodeInto(v, ctx, out);
      }
      if (indefinite) out.push(0xff);
      return;
    }
    case 'tag':
      if (indefinite) {
        ctx.n++;
        out.push(0xdf);
        encodeInto(item[2], ctx, out);
        return;
      }
      head(6, item[1], ctx, out);
      return encodeInto(item[2], ctx, out);
    case 'raw':
      out.push(...item[1]);
      return;
  }
}

/** The encoding of `items` one after the other (a CBOR sequence). `changed`: whether the head asked for by widen/indefinite existed and was changed. */
export function encodeSeq(items: Item[], o: EncodeOptions = {}): { bytes: Uint8Array; heads: number; changed: boolean } {
  const ctx: Ctx = { o, n: 0, done: false };
  const out: number[] = [];
  for (const i of items) encodeInto(i, ctx, out);
  return { bytes: new Uint8Array(out), heads: ctx.n, changed: ctx.done };
}

export function encode(item: Item, o: EncodeOptions = {}): Uint8Array {
  return encodeSeq([item], o).bytes;
}

export const u = (v: number | bigint): Item => ['u', v];
export const t = (s: string): Item => ['t', s];
export const b = (v: Uint8Array | number[]): Item => ['b', v instanceof Uint8Array ? v : new Uint8Array(v)];

/** A deterministic pseudo-random generator (mulberry32): the seed is printed by the tests that use it. */
export function prng(seed: number): { int(n: number): number; bytes(n: number): Uint8Array; pick<T>(a: readonly T[]): T; text(min: number, max: number): string } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    int,
    bytes: (n) => new Uint8Array(Array.from({ length: n }, () => int(256))),
    pick: (a) => a[int(a.length)]!,
    text: (min, max) => {
      const n = min + int(max - min + 1);
      let out = '';
      for (let i = 0; i < n; i++) out += String.fromCharCode(0x20 + int(95));
      return out;
    },
  };
}

/** A signing key of the tests' own (never a real one). */
export interface TestKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  kid: Uint8Array;
}

export function testKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  return { privateKey, publicKey: raw, kid: new Uint8Array(createHash('sha256').update(raw).digest().subarray(0, 8)) };
}

/** A node KeyObject for a raw 32-byte Ed25519 public key. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

/** Manifest entries by key (values as items). */
export type Fields = Map<number, Item>;

/** A valid image manifest's entries. */
export function imageFields(kid: Uint8Array, over: { [key: number]: Item } = {}): Fields {
  const f: Fields = new Map<number, Item>([
    [0, u(1)],
    [1, u(1)],
    [2, t('Hoshi Works')],
    [3, t('HS-PLUG-01')],
    [4, t('kaluma')],
    [5, t('kaluma-pico-w')],
    [6, t('0.2.0')],
    [7, u(3)],
    [8, u(70000)],
    [9, b(createHash('sha256').update('payload').digest())],
    [10, b(kid)],
    [11, u(60000)],
  ]);
  for (const k of Object.keys(over)) f.set(Number(k), over[Number(k)]!);
  return f;
}

/** A valid key-rotation manifest's entries (adds a key). */
export function keyFields(kid: Uint8Array, over: { [key: number]: Item } = {}): Fields {
  const f: Fields = new Map<number, Item>([
    [0, u(1)],
    [1, u(2)],
    [2, t('Hoshi Works')],
    [3, t('HS-PLUG-01')],
    [4, t('kaluma')],
    [5, t('kaluma-pico-w')],
    [7, u(3)],
    [10, b(kid)],
    [13, b(new Uint8Array(32).fill(7))],
  ]);
  for (const k of Object.keys(over)) f.set(Number(k), over[Number(k)]!);
  return f;
}

export interface PackageParts {
  /** Manifest entries (ignored if `manifest` is given). */
  fields?: Fields;
  /** The manifest item itself (default: the map of `fields`). */
  manifest?: Item;
  alg?: Item;
  /** The protected header's kid (default: the key's). */
  kid?: Item;
  /** The protected header map (default: {1: alg, 4: kid}). */
  protectedMap?: Item;
  /** The protected header as a whole (default: bstr .cbor protectedMap). */
  protectedItem?: Item;
  unprotected?: Item;
  /** The payload element (default: bstr .cbor manifest). */
  payloadItem?: Item;
  /** Default: the key's Ed25519 signature over the Sig_structure. */
  signature?: Item;
  /** The COSE_Sign1 as a whole (default: tag 18 of the array). */
  sign1?: Item;
  /** The payload byte string's length (default: the manifest's size, 0 for key rotation). */
  payloadLength?: number | bigint;
  /** Payload bytes after its head (default: none). */
  payload?: Uint8Array;
}

/** The items of a package head: the COSE_Sign1 and the payload's head (and raw payload bytes, if any). */
export function packageItems(key: TestKey, p: PackageParts = {}): Item[] {
  const fields = p.fields ?? imageFields(key.kid);
  const manifest: Item = p.manifest ?? ['m', [...fields.entries()].map(([k, v]) => [u(k), v] as [Item, Item])];
  const protectedItem: Item = p.protectedItem ?? ['cbor', p.protectedMap ?? ['m', [[u(1), p.alg ?? ['n', 7]], [u(4), p.kid ?? b(key.kid)]]]];
  const payloadItem: Item = p.payloadItem ?? ['cbor', manifest];
  // The Sig_structure of RFC 9052 §4.4, over what is sent.
  const tbs = encode(['a', [t('Signature1'), protectedItem, b([]), payloadItem]]);
  const signature: Item = p.signature ?? b(new Uint8Array(sign(null, tbs, key.privateKey)));
  const sign1: Item = p.sign1 ?? ['tag', 18, ['a', [protectedItem, p.unprotected ?? ['m', []], payloadItem, signature]]];
  const size = fields.get(8);
  const kind = fields.get(1);
  const length = p.payloadLength ?? (kind && kind[0] === 'u' && kind[1] === 1 && size && size[0] === 'u' ? size[1] : 0);
  const items: Item[] = [sign1, ['bhead', length]];
  if (p.payload) items.push(['raw', p.payload]);
  return items;
}

/** The bytes of a package head (see packageItems). */
export function packageHead(key: TestKey, p: PackageParts = {}, o: EncodeOptions = {}): Uint8Array {
  return encodeSeq(packageItems(key, p), o).bytes;
}

/** The Sig_structure the parser must return for a package built from these parts. */
export function expectedToBeSigned(key: TestKey, p: PackageParts = {}): Uint8Array {
  const fields = p.fields ?? imageFields(key.kid);
  const manifest: Item = p.manifest ?? ['m', [...fields.entries()].map(([k, v]) => [u(k), v] as [Item, Item])];
  const protectedItem: Item = p.protectedItem ?? ['cbor', p.protectedMap ?? ['m', [[u(1), p.alg ?? ['n', 7]], [u(4), p.kid ?? b(key.kid)]]]];
  return encode(['a', [t('Signature1'), protectedItem, b([]), p.payloadItem ?? ['cbor', manifest]]]);
}

export const hex = (v: Uint8Array): string => Buffer.from(v).toString('hex');

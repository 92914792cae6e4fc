/**
 * Generates modules/crypto/ed25519-core.js from ed25519-core.template.js: the unrolled field
 * arithmetic of GF(2^255 − 19) and the constants (d, 2d, √−1, the table of odd multiples of B),
 * computed here with BigInt so no constant is typed by hand. `npx tsx firmware/host/gen/ed25519-core.ts`
 * writes the file; test/crypto-ed25519.test.ts fails when the committed file differs. The same
 * script, in a variant per runtime, is the update verifier asset (firmware/host/verifier-asset.ts).
 *
 * Field elements are 13 signed limbs of radix 2^20 held in doubles. A product's columns are written
 * out in full (schoolbook, 2^260 ≡ 608 mod p folds the upper half), and each column is carried by
 * rounding: adding and subtracting M = 1.5·2^72 rounds c to a multiple of 2^20 exactly, as every
 * column stays below 2^53. JerryScript boxes these doubles, but 13 limbs need 169 products where
 * never-boxed 12-bit limbs need 484: measured 147 K against 239 K x86 instructions per multiply
 * (docs/performance.md). Columns 3 … 12 are stored as soon as they are carried, through two rolling
 * locals, so a function has 34 locals instead of 56 (Espruino finds a local by walking its function's
 * list of them; JerryScript's parser searches a function's literals linearly). Point doubling calls
 * the field functions (the template): inlined with all ~130 intermediates in locals it ran 10 % faster
 * on JerryScript, but took 50 M more x86 instructions to parse (87 M against 34 M for the whole
 * verifier), which a verifier loaded for each update check pays every time, and 30 % longer on
 * Espruino. Constants are locals built from exact expressions, since Espruino parses some long
 * numeric literals wrongly and JerryScript's parser slows with repeated literals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = 13;
/** Window widths of the joint wNAF: 2^(WB-2) odd multiples of B in the table, 2^(WA-2) of A per call. */
const WB = 7;
const WA = 5;
export type Variant = 'kaluma' | 'espruino';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

interface FieldOptions {
  sq?: boolean;
  la: 'a' | 'a+b' | 'a-b';
  x2?: boolean;
  sub?: boolean;
}

const names = (p: string): string[] => range(N).map((i) => p + i);

/**
 * The 2N − 1 columns of the schoolbook product A·B (B null: A², with d_i = 2·a_i for the cross
 * terms; x2: 2·A², with d_j for both factors of a cross term).
 */
function columns(A: string[], B: string[] | null, x2?: boolean): string[] {
  const cols: string[] = [];
  for (let k = 0; k < 2 * N - 1; k++) {
    const t: string[] = [];
    for (let i = 0; i < N; i++) {
      const j = k - i;
      if (j < 0 || j >= N) continue;
      if (B) t.push(A[i] + '*' + B[j]);
      else if (j > i) t.push('d' + i + '*' + (x2 ? 'd' + j : A[j]));
      else if (j === i) t.push(x2 ? 'd' + i + '*' + A[i] : A[i] + '*' + A[i]);
    }
    cols.push(t.join('+'));
  }
  return cols;
}

/**
 * o = f(a, …): a product or square as one function over arrays (sub: minus g). The most used names
 * are declared first (Espruino finds them sooner).
 */
function genF(name: string, o: FieldOptions): string {
  const args = ['o', 'a'];
  const L: string[] = [];
  if (o.la !== 'a') args.push('b');
  if (!o.sq) args.push('c');
  if (o.sub) args.push('g');
  L.push('function ' + name + '(' + args.join(',') + ') {');
  L.push('var M=1.5*1048576*1048576*1048576*4096,K=1/1048576,F=608,u,p;');
  L.push('var ' + range(N).map((i) => 'a' + i + '=a[' + i + ']' + (o.la === 'a' ? '' : o.la === 'a+b' ? '+b[' + i + ']' : '-b[' + i + ']')).join(',') + ';');
  if (!o.sq) L.push('var ' + range(N).map((i) => 'b' + i + '=c[' + i + ']').join(',') + ';');
  if (o.sq) L.push('var ' + range(o.x2 ? N : N - 1).map((i) => 'd' + i + '=a' + i + '+a' + i).join(',') + ';');
  const cols = columns(names('a'), o.sq ? null : names('b'), o.x2);
  const s: string[] = [];
  // Every input is in locals before the first store, so o may be a, c or g.
  for (let k = 0; k < N; k++) {
    let e = '(' + cols[k] + ')';
    if (k + N < 2 * N - 1) e += '+(' + cols[k + N] + ')*F';
    if (k > 0) e += '+' + (k > 3 ? 'p' : 'q' + (k - 1)) + '*K';
    if (o.sub) e += '-g[' + k + ']';
    s.push(k < 3 ? 'c' + k + '=' + e + ';q' + k + '=c' + k + '+M-M;' : 'u=' + e + ';p=u+M-M;o[' + k + ']=u-p;');
  }
  // 2^260 = 608 (mod p): column 12's carry (p) folds into column 0, whose carry goes to column 1
  s.push('c0=c0-q0+p*608/1048576;q0=c0+M-M;', 'c1=c1-q1+q0*K;q1=c1+M-M;');
  L.push('var c0,q0,c1,q1,c2,q2;', s.join('\n'), 'o[0]=c0-q0;o[1]=c1-q1;o[2]=c2-q2+q1*K;', '}');
  return L.join('\n');
}

// Constants, exact (BigInt at build time only).
const p = (1n << 255n) - 19n;
const mod = (a: bigint): bigint => { a %= p; return a < 0n ? a + p : a; };
function pw(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % p;
    b = (b * b) % p;
    e >>= 1n;
  }
  return r;
}
const inv = (a: bigint): bigint => pw(a, p - 2n);
const d = mod(-121665n * inv(121666n));
const I = pw(2n, (p - 1n) / 4n);
/** Balanced limbs in [−2^19, 2^19]. */
function limbs(x: bigint): number[] {
  x = mod(x);
  const r: number[] = [];
  for (let i = 0; i < N; i++) {
    r.push(Number(x & 0xfffffn));
    x >>= 20n;
  }
  for (let i = 0; i < N - 1; i++) if (r[i]! > 524288) { r[i] = r[i]! - 1048576; r[i + 1] = r[i + 1]! + 1; }
  return r;
}
/** A constant field element: a plain array (JerryScript reads those fastest) or an Int32Array (Espruino: fewer variables). */
const lit = (x: bigint, v: Variant): string => (v === 'espruino' ? 'new Int32Array([' + limbs(x).join(',') + '])' : '[' + limbs(x).join(',') + ']');
/** RFC 8032 §5.1.3 x-recovery, for the base point. */
function recoverX(y: bigint, sign: number): bigint {
  const u = mod(y * y - 1n), v = mod(d * y * y + 1n);
  let x = mod(u * pw(v, 3n) * pw(u * pw(v, 7n), (p - 5n) / 8n));
  if (mod(v * x * x) !== u) x = mod(x * I);
  if (Number(x & 1n) !== sign) x = mod(-x);
  return x;
}
/** Affine twisted Edwards addition (RFC 8032 §5.1.4, a = −1). */
function addA(P: bigint[], Q: bigint[]): bigint[] {
  const [x1, y1] = P as [bigint, bigint], [x2, y2] = Q as [bigint, bigint];
  const t = mod(d * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + x2 * y1) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}

/**
 * The core as a script: it declares `steps` (the template's API) in the scope it is
 * placed in and nothing else. `kaluma`: field elements as plain arrays, the table of multiples of B
 * as arrays, SHA-512 in steps from sha512Begin/sha512Step when no one-shot SHA-512 is passed.
 * `espruino`: field elements and the table in Int32Arrays, and a one-shot SHA-512 (the native one)
 * must be passed: the streaming code is left out.
 */
export function ed25519CoreScript(v: Variant): string {
  const field = [
    '// o = a*c', genF('fmul', { la: 'a' }),
    '// o = (a+b)*c', genF('fmulS', { la: 'a+b' }),
    '// o = (a-b)*c', genF('fmulD', { la: 'a-b' }),
    '// o = a^2', genF('fsqr', { la: 'a', sq: true }),
    '// o = 2a^2 - g', genF('fsq2s', { la: 'a', sq: true, x2: true, sub: true }),
    '// o = (a+b)^2 - g', genF('fsqSs', { la: 'a+b', sq: true, sub: true }),
  ].join('\n');
  const By = mod(4n * inv(5n));
  const Bp = [recoverX(By, 0), By];
  const B2 = addA(Bp, Bp);
  const h = inv(2n);
  // odd multiples 1B, 3B, … as ((y+x)/2, (y−x)/2, d·x·y)
  const tab: bigint[][] = [];
  let P = Bp;
  for (let i = 0; i < 1 << (WB - 2); i++) {
    tab.push([mod((P[1]! + P[0]!) * h), mod((P[1]! - P[0]!) * h), mod(d * P[0]! * P[1]!)]);
    P = addA(P, B2);
  }
  const consts = [
    'var WB = ' + WB + ', WA = ' + WA + ';',
    'var D = ' + lit(d, v) + ';            // d = -121665/121666',
    'var D2 = ' + lit(2n * d, v) + ';           // 2d',
    'var SQRTM1 = ' + lit(I, v) + ';       // sqrt(-1) = 2^((p-1)/4)',
    '// odd multiples (2i+1)B, i < 2^(WB-2), affine, cached and halved: [(y+x)/2, (y-x)/2, null, d*x*y] (Z2 = 1/2 => D = Z1)',
  ];
  let bq: string;
  if (v === 'espruino') {
    // One Int32Array of 3 x 13 limbs per point, filled a point at a time (a literal of all 1,248
    // numbers would be an array of as many variables while it is built); bq(i) views point i.
    consts.push('var BT = new Int32Array(' + tab.length * 3 * N + ');');
    tab.forEach((t, i) => consts.push('BT.set([' + t.map((x) => limbs(x).join(',')).join(',') + '], ' + i * 3 * N + ');'));
    bq = 'function bq(i) { var o = ' + 3 * N + ' * i; return [BT.subarray(o, o + ' + N + '), BT.subarray(o + ' + N + ', o + ' + 2 * N + '), null, BT.subarray(o + ' + 2 * N + ', o + ' + 3 * N + ')]; }';
  } else {
    consts.push('var BTQ = [' + tab.map((t) => '(function(){return [' + lit(t[0]!, v) + ',' + lit(t[1]!, v) + ',null,' + lit(t[2]!, v) + '];})()').join(',\n') + '];');
    bq = 'function bq(i) { return BTQ[i]; }';
  }
  const fe = v === 'espruino' ? 'function fe() { return new Int32Array(13); }' : 'function fe() { return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; }';
  let text = readFileSync(join(HERE, 'ed25519-core.template.js'), 'utf8');
  text = text.replace('//@FE', () => fe).replace('//@FIELD', () => field).replace('//@CONST', () => consts.join('\n')).replace('//@BQ', () => bq);
  // The streaming SHA-512 branches: kept (markers dropped) for kaluma, removed for espruino.
  text = v === 'espruino' ? text.replace(/^ *\/\/@STREAM\{\n[\s\S]*?^ *\/\/@STREAM\}\n/gm, '') : text.replace(/^ *\/\/@STREAM[{}]\n/gm, '');
  // Without the streaming branches a missing SHA-512 would leave phase 2 repeating: refuse it at once.
  text = text.replace('  //@NEEDSHA\n', v === 'espruino' ? "  if (typeof sha512 !== 'function') throw new TypeError('ed25519: a SHA-512 function is required');\n" : '');
  return text;
}

/** modules/crypto/ed25519-core.js: the kaluma script as an ES module over modules/crypto/sha512.js. */
export function ed25519CoreSource(): string {
  return "import { sha512Begin, sha512Step } from './sha512.js';\n" + ed25519CoreScript('kaluma') +
    'export var ed25519StepsCore = steps;\n';
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const ED25519_CORE_FILE = join(HERE, '../../../modules/crypto/ed25519-core.js');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ED25519_CORE_FILE, ed25519CoreSource());
  console.log('wrote ' + ED25519_CORE_FILE);
}

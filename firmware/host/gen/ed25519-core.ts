/**
 * Generates modules/crypto/ed25519-core.js from ed25519-core.template.js: the unrolled field
 * arithmetic of GF(2^255 − 19) and the constants (d, 2d, √−1, the table of odd multiples of B),
 * computed here with BigInt so no constant is typed by hand. `npx tsx firmware/host/gen/ed25519-core.ts`
 * writes the file; test/crypto-ed25519.test.ts fails when the committed file differs.
 *
 * Field elements are 13 signed limbs of radix 2^20 held in doubles. A product's columns are written
 * out in full (schoolbook, 2^260 ≡ 608 mod p folds the upper half), and each column is carried by
 * rounding: adding and subtracting M = 1.5·2^72 rounds c to a multiple of 2^20 exactly, as every
 * column stays below 2^53. JerryScript boxes these doubles, but 13 limbs need 169 products where
 * never-boxed 12-bit limbs need 484: measured 147 K against 239 K x86 instructions per multiply
 * (docs/performance.md). Point doubling (RFC 8032 §5.1.4, dbl-2008-hwcd) is one function with all
 * intermediates in locals. Constants are locals built from exact expressions, since Espruino
 * parses some long numeric literals wrongly and JerryScript's parser slows with repeated literals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = 13;
/** Window widths of the joint wNAF: 2^(WB-2) odd multiples of B in the table, 2^(WA-2) of A per call. */
const WB = 7;
const WA = 5;
const CDECL = 'var M=1.5*1048576*1048576*1048576*4096,K=1/1048576,K6=608/1048576,F=608;';

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

/** o = f(a, …): a product or square as one function over arrays. */
function genF(name: string, o: FieldOptions): string {
  const args = ['o', 'a'];
  const L: string[] = [];
  if (o.la !== 'a') args.push('b');
  if (!o.sq) args.push('c');
  if (o.sub) args.push('g');
  L.push('function ' + name + '(' + args.join(',') + ') {');
  L.push(CDECL);
  L.push('var ' + range(N).map((i) => 'a' + i + '=a[' + i + ']' + (o.la === 'a' ? '' : o.la === 'a+b' ? '+b[' + i + ']' : '-b[' + i + ']')).join(',') + ';');
  if (!o.sq) L.push('var ' + range(N).map((i) => 'b' + i + '=c[' + i + ']').join(',') + ';');
  if (o.sq) L.push('var ' + range(o.x2 ? N : N - 1).map((i) => 'd' + i + '=a' + i + '+a' + i).join(',') + ';');
  const cols = columns(names('a'), o.sq ? null : names('b'), o.x2);
  const s: string[] = [];
  for (let k = 0; k < N; k++) {
    let e = '(' + cols[k] + ')';
    if (k + N < 2 * N - 1) e += '+(' + cols[k + N] + ')*F';
    if (k > 0) e += '+q' + (k - 1) + '*K';
    if (o.sub) e += '-g[' + k + ']';
    s.push('c' + k + '=' + e + ';q' + k + '=c' + k + '+M-M;');
  }
  s.push('c0=c0-q0+q12*K6;q0=c0+M-M;');
  s.push('c1=c1-q1+q0*K;q1=c1+M-M;');
  L.push('var ' + range(N).map((i) => 'c' + i + ',q' + i).join(',') + ';');
  L.push(s.join('\n'));
  L.push(range(N).map((i) => 'o[' + i + ']=c' + i + '-q' + i + (i === 2 ? '+q1*K' : '') + ';').join(''));
  L.push('}');
  return L.join('\n');
}

/** Product of local vectors A·B (B null: A², x2: 2A²), minus local vector `sub`; leaves c_i − q_i. */
function core(A: string[], B: string[] | null, x2?: boolean, sub?: string[]): string {
  const L: string[] = [];
  if (!B) L.push(range(x2 ? N : N - 1).map((i) => 'd' + i + '=' + A[i] + '+' + A[i] + ';').join(''));
  const cols = columns(A, B, x2);
  for (let k = 0; k < N; k++) {
    let e = '(' + cols[k] + ')';
    if (k + N < 2 * N - 1) e += '+(' + cols[k + N] + ')*F';
    if (k > 0) e += '+q' + (k - 1) + '*K';
    if (sub) e += '-' + sub[k];
    L.push('c' + k + '=' + e + ';q' + k + '=c' + k + '+M-M;');
  }
  L.push('c0=c0-q0+q12*K6;q0=c0+M-M;');
  L.push('c1=c1-q1+q0*K;q1=c1+M-M;');
  return L.join('\n');
}

function emit(dst: string | string[]): string {
  return range(N).map((i) => (typeof dst === 'string' ? dst + '[' + i + ']' : dst[i]) + '=c' + i + '-q' + i + (i === 2 ? '+q1*K' : '') + ';').join('');
}

function genDbl(): string {
  const x = names('x'), y = names('y'), z = names('z'), a = names('a'), b = names('b'), g = names('g'), h = names('h');
  const f = names('f'), e = names('e'), sm = names('s');
  const L = ['// P = 2P (RFC 8032 5.1.4 doubling, dbl-2008-hwcd a=-1), all intermediates in locals:',
    '//   A = X^2, B = Y^2, G = B - A, H = A + B, F = 2Z^2 - G, E = (X+Y)^2 - H ; X3 = E*F, Y3 = G*H, Z3 = F*G, T3 = E*H',
    'function pdbl(P, needT) {', CDECL, 'var X = P[0], Y = P[1], Z = P[2];'];
  L.push('var ' + ([] as string[]).concat(x, y, z, a, b, g, h, f, e, sm, names('c'), names('q'), names('d')).join(',') + ';');
  L.push(range(N).map((i) => x[i] + '=X[' + i + '];' + y[i] + '=Y[' + i + '];' + z[i] + '=Z[' + i + '];').join(''));
  L.push(core(x, null)); L.push(emit(a));
  L.push(core(y, null)); L.push(emit(b));
  L.push(range(N).map((i) => g[i] + '=' + b[i] + '-' + a[i] + ';' + h[i] + '=' + a[i] + '+' + b[i] + ';').join(''));
  L.push(core(z, null, true, g)); L.push(emit(f));
  L.push(range(N).map((i) => sm[i] + '=' + x[i] + '+' + y[i] + ';').join(''));
  L.push(core(sm, null, false, h)); L.push(emit(e));
  L.push(core(e, f)); L.push(emit('X'));
  L.push(core(g, h)); L.push(emit('Y'));
  L.push(core(f, g)); L.push(emit('Z'));
  L.push('if (needT) {'); L.push(core(e, h)); L.push(emit('P[3]')); L.push('}');
  L.push('}');
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
const lit = (x: bigint): string => '[' + limbs(x).join(',') + ']';
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

export function ed25519CoreSource(): string {
  const field = [
    '// o = a*c', genF('fmul', { la: 'a' }),
    '// o = (a+b)*c', genF('fmulS', { la: 'a+b' }),
    '// o = (a-b)*c', genF('fmulD', { la: 'a-b' }),
    '// o = a^2', genF('fsqr', { la: 'a', sq: true }),
    genDbl(),
  ].join('\n');
  const By = mod(4n * inv(5n));
  const Bp = [recoverX(By, 0), By];
  const B2 = addA(Bp, Bp);
  const h = inv(2n);
  const tab: string[] = [];
  let P = Bp;
  for (let i = 0; i < 1 << (WB - 2); i++) {
    // odd multiples 1B, 3B, … as ((y+x)/2, (y−x)/2, d·x·y)
    tab.push('(function(){return [' + lit(mod((P[1]! + P[0]!) * h)) + ',' + lit(mod((P[1]! - P[0]!) * h)) + ',null,' + lit(mod(d * P[0]! * P[1]!)) + '];})()');
    P = addA(P, B2);
  }
  const consts = [
    'var WB = ' + WB + ', WA = ' + WA + ';',
    'var D = ' + lit(d) + ';            // d = -121665/121666',
    'var D2 = ' + lit(2n * d) + ';           // 2d',
    'var SQRTM1 = ' + lit(I) + ';       // sqrt(-1) = 2^((p-1)/4)',
    '// odd multiples (2i+1)B, i < 2^(WB-2), affine, cached and halved: [(y+x)/2, (y-x)/2, null, d*x*y] (Z2 = 1/2 => D = Z1)',
    'var BTQ = [' + tab.join(',\n') + '];',
  ].join('\n');
  const template = readFileSync(join(HERE, 'ed25519-core.template.js'), 'utf8');
  return template.replace('//@FIELD', () => field).replace('//@CONST', () => consts);
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const ED25519_CORE_FILE = join(HERE, '../../../modules/crypto/ed25519-core.js');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ED25519_CORE_FILE, ed25519CoreSource());
  console.log('wrote ' + ED25519_CORE_FILE);
}

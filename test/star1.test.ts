import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import envSensor from '../examples/env-sensor/image';
import smartPlug from '../examples/smart-plug/image';
import { CONFORM_CHECKS, CRITERIA, REPOSITORY_ROOT, definesSymbol, testTitles, traceProblems, type ConformCheckId, type Criterion } from '../firmware/host/star1';
import { renderStar1Doc, STAR1_DOC } from '../firmware/host/star1-doc';

/**
 * The ★1 mapping (firmware/host/star1.ts CRITERIA) against the repository: sixteen criteria in
 * order, every file, symbol, test title and document it names still there, the `hoshi conform`
 * checks named both ways, docs/star1.md as the mapping renders it, and no claim the scheme forbids.
 */

/** Criteria met by the manufacturer's documents: tests that show them may be named later. */
const DOCUMENT_ONLY = ['S1.1-05', 'S1.1-09', 'S1.1-16'];

const read = (path: string): string => readFileSync(join(REPOSITORY_ROOT, path), 'utf8');

test('sixteen criteria, S1.1-01 to S1.1-16 in order, each with its titles, claim, mechanism, code and tests', (t) => {
  t.deepEqual(
    CRITERIA.map((c) => c.id),
    Array.from({ length: 16 }, (_, i) => 'S1.1-' + String(i + 1).padStart(2, '0')),
  );
  for (const c of CRITERIA) {
    for (const field of ['title', 'claim', 'how'] as const) {
      t.true(c[field].ja.trim().length > 0, c.id + ' ' + field + '.ja');
      t.true(c[field].en.trim().length > 0, c.id + ' ' + field + '.en');
      t.true(/[\u3040-\u30ff\u4e00-\u9fff]/.test(c[field].ja), c.id + ' ' + field + '.ja is Japanese');
    }
    t.true(c.code.length > 0, c.id + ': no code named');
    if (!DOCUMENT_ONLY.includes(c.id)) t.true(c.tests.length > 0, c.id + ': no test named');
    t.true(c.modules.length > 0, c.id + ': no module named');
    t.true(c.en303645.length > 0 && c.en303645.every((p) => /^\d+\.\d+-\d+$/.test(p)), c.id + ': EN 303 645 provisions ' + c.en303645.join(', '));
  }
});

test('the documents the manufacturer writes: the disclosure policy (S1.1-05), the update policy (S1.1-09), the user information (S1.1-16)', (t) => {
  const named = CRITERIA.filter((c) => c.vendorDocuments && c.vendorDocuments.length).map((c) => [c.id, c.vendorDocuments]);
  t.deepEqual(named, [
    ['S1.1-05', ['vulnerability-disclosure']],
    ['S1.1-09', ['update-policy']],
    ['S1.1-16', ['user-information']],
  ]);
});

test('every code file exists and defines the symbol named', (t) => {
  for (const c of CRITERIA) {
    for (const e of c.code) {
      t.true(existsSync(join(REPOSITORY_ROOT, e.file)), c.id + ': ' + e.file + ' does not exist');
      if (e.symbol !== undefined && existsSync(join(REPOSITORY_ROOT, e.file))) t.true(definesSymbol(read(e.file), e.symbol), c.id + ': ' + e.file + ' defines no ' + e.symbol);
    }
  }
});

test('every test named exists with exactly that title', (t) => {
  for (const c of CRITERIA) {
    for (const e of c.tests) {
      t.true(existsSync(join(REPOSITORY_ROOT, e.file)), c.id + ': ' + e.file + ' does not exist');
      if (existsSync(join(REPOSITORY_ROOT, e.file))) t.true(testTitles(read(e.file)).includes(e.title), c.id + ': ' + e.file + ' has no test titled ' + JSON.stringify(e.title));
    }
  }
});

test('every document and module named exists', (t) => {
  for (const c of CRITERIA) {
    for (const path of [...c.docs, ...c.modules]) t.true(existsSync(join(REPOSITORY_ROOT, path)), c.id + ': ' + path + ' does not exist');
  }
});

test('the whole mapping traces: traceProblems finds nothing', (t) => {
  t.deepEqual(traceProblems(CRITERIA), []);
});

test('every configuration field named is one of the examples\' configuration', (t) => {
  const has = (config: unknown, path: string): boolean => {
    let v: unknown = config;
    for (const part of path.split('.')) {
      if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, part)) return false;
      v = (v as { [k: string]: unknown })[part];
    }
    return true;
  };
  for (const c of CRITERIA) {
    for (const field of c.config) {
      t.true(has(smartPlug.config, field), c.id + ': config.' + field + ' is not in examples/smart-plug');
      t.true(has(envSensor.config, field), c.id + ': config.' + field + ' is not in examples/env-sensor');
    }
  }
});

test('the conform checks: each one named exists, and the criteria each observes name it, and no other', (t) => {
  const checks = Object.keys(CONFORM_CHECKS) as ConformCheckId[];
  for (const c of CRITERIA) {
    for (const k of c.conform) t.true(checks.includes(k), c.id + ': no check ' + k);
    t.is(new Set(c.conform).size, c.conform.length, c.id + ': a check named twice');
  }
  for (const k of checks) {
    for (const id of CONFORM_CHECKS[k]) {
      const c = CRITERIA.find((x) => x.id === id);
      t.truthy(c, k + ' observes ' + id + ', which is not a criterion');
      if (c) t.true(c.conform.includes(k), id + ' does not name the check ' + k + ' that observes it');
    }
  }
  for (const c of CRITERIA) {
    for (const k of c.conform) t.true((CONFORM_CHECKS[k] as readonly string[]).includes(c.id), c.id + ' names ' + k + ', which does not observe it');
  }
  // The criteria no check observes: judged on the manufacturer's documents, or on the design.
  t.deepEqual(
    CRITERIA.filter((c) => c.conform.length === 0).map((c) => c.id),
    ['S1.1-05', 'S1.1-07', 'S1.1-09', 'S1.1-11', 'S1.1-16'],
  );
});

test('docs/star1.md is what the mapping renders', (t) => {
  t.true(existsSync(join(REPOSITORY_ROOT, STAR1_DOC)), 'docs/star1.md is missing: run npx tsx firmware/host/star1-doc.ts');
  t.is(read(STAR1_DOC), renderStar1Doc(), 'docs/star1.md is out of date: run npx tsx firmware/host/star1-doc.ts');
});

test('the rendered page names every criterion, its Japanese title and each test', (t) => {
  const page = renderStar1Doc();
  for (const c of CRITERIA) {
    t.true(page.includes('## ' + c.id + ' '), c.id);
    t.true(page.includes(c.title.ja), c.id + ' ja');
    for (const e of c.tests) t.true(page.includes('› ' + e.title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|')), c.id + ' ' + e.title);
  }
});

/** Claims the scheme forbids a product to make (★1 is a self-declaration, not a guarantee). */
const FORBIDDEN = [/is certified/i, /certified by/i, /no vulnerabilities/i, /completely secure/i, /認証取得済み/, /脆弱性はありません/, /脆弱性がない/, /完全に安全/];

function forbiddenClaims(text: string): string[] {
  return FORBIDDEN.filter((re) => re.test(text)).map((re) => re.source);
}

/** Every string of a value, however deep. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

test('no text of the mapping or the page makes a forbidden claim', (t) => {
  t.deepEqual(forbiddenClaims('This unit is certified and completely secure; 脆弱性はありません'), ['is certified', 'completely secure', '脆弱性はありません'], 'the check finds them');
  for (const c of CRITERIA) for (const s of strings(c)) t.deepEqual(forbiddenClaims(s), [], c.id + ': ' + s);
  t.deepEqual(forbiddenClaims(renderStar1Doc()), []);
  t.deepEqual(forbiddenClaims(read(STAR1_DOC)), []);
});

test('testTitles: single, double and back quotes, escaped quotes, modifiers and chosen tests; nothing else', (t) => {
  const source = [
    "import test from 'ava';",
    "test('plain title', (t) => {});",
    'test("double \\"quoted\\" title", (t) => {});',
    "test('the host builder\\'s filter', (t) => {});",
    'test(`back ${quoted} title with \\` inside`, async (t) => {});',
    "test.serial('serial title', (t) => {});",
    "  test.skip(\n    'indented, on its own line',\n    (t) => {},\n  );",
    "(JERRY ? test : test.skip)('chosen title', async (t) => {});",
    "t.true(/abc/.test('not a title'));",
    "test.before(() => {});",
    "test.after.always('not a title either');",
    "const contest = (x) => x; contest('nor this');",
  ].join('\n');
  t.deepEqual(testTitles(source), [
    'plain title',
    'double "quoted" title',
    "the host builder's filter",
    'back ${quoted} title with ` inside',
    'serial title',
    'indented, on its own line',
    'chosen title',
  ]);
});

test('definesSymbol: declarations, object members and export lists; not mere uses', (t) => {
  const source = [
    'export function alpha(): void {}',
    'export const enum Beta { X = 1 }',
    'let gamma = function () {};',
    'export interface Delta { x: number }',
    'export type Epsilon = string;',
    'class Zeta {}',
    'const table = {',
    '  eta: function () {},',
    "  'theta-key': 1,",
    '};',
    'export { iota, kappa as lambda };',
    'alpha(); omicron(1); call(pi: 2);',
  ].join('\n');
  for (const name of ['alpha', 'Beta', 'gamma', 'Delta', 'Epsilon', 'Zeta', 'eta', 'theta-key', 'iota', 'kappa', 'lambda']) t.true(definesSymbol(source, name), name);
  for (const name of ['alph', 'omicron', 'pi', 'table2', 'x2']) t.false(definesSymbol(source, name), name);
});

test('the check can fail: a missing file, a missing symbol, a missing test title, a missing document and an unknown check are each reported', (t) => {
  const base = CRITERIA.find((c) => c.id === 'S1.1-04')!;
  const broken: Criterion = {
    ...base,
    modules: [...base.modules, 'modules/no-such-module'],
    code: [...base.code, { file: 'modules/accounts/no-such-file.ts' }, { file: 'modules/accounts/lockout.ts', symbol: 'noSuchSymbol' }],
    tests: [...base.tests, { file: 'test/accounts.test.ts', title: 'a test nobody wrote' }, { file: 'test/no-such.test.ts', title: 'anything' }],
    docs: [...base.docs, 'docs/no-such-doc.md'],
    conform: [...base.conform, 'no-such-check' as ConformCheckId],
  };
  t.deepEqual(traceProblems([base]), [], 'the criterion as it is traces');
  t.deepEqual(traceProblems([broken]), [
    'S1.1-04 module modules/no-such-module: no such file or folder',
    'S1.1-04 code modules/accounts/no-such-file.ts: no such file',
    'S1.1-04 code modules/accounts/lockout.ts: defines no noSuchSymbol',
    'S1.1-04 test test/accounts.test.ts: no test titled "a test nobody wrote"',
    'S1.1-04 test test/no-such.test.ts: no such file',
    'S1.1-04 doc docs/no-such-doc.md: no such file',
    'S1.1-04 conform no-such-check: no such check of hoshi conform',
  ]);
  const outside: Criterion = { ...base, code: [{ file: '../outside.ts' }, { file: '/etc/passwd' }], tests: [], docs: [], modules: ['modules/accounts'], conform: [] };
  t.deepEqual(traceProblems([outside]), ['S1.1-04 code ../outside.ts: not a plain repository path', 'S1.1-04 code /etc/passwd: not a plain repository path']);
});

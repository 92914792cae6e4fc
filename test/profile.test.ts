import test from 'ava';
import { checkProfile, espruinoRegexpProblem, formatViolations } from '../firmware/host/profile';
import type { DeviceTarget } from '../firmware/host/profiles';
import { bundleFixture } from './helpers';

const TARGETS: DeviceTarget[] = ['kaluma', 'espruino'];

/** Bundles a fixture, checks it, and returns the violations with their source locations. */
async function check(file: string, target: DeviceTarget) {
  const { code, map } = await bundleFixture('profile/' + file, target);
  return checkProfile(code, target, map);
}

function at(report: ReturnType<typeof checkProfile>, rule: string) {
  return report.violations.filter((v) => v.rule === rule);
}

test('Map is rejected on Espruino with its source location, accepted on Kaluma', async (t) => {
  const espruino = await check('uses-map.ts', 'espruino');
  const found = espruino.violations.filter((v) => v.rule === 'unknown-global' && v.message.includes("'Map'"));
  t.is(found.length, 1, formatViolations(espruino));
  t.deepEqual(found[0]!.source && { file: found[0]!.source.file, line: found[0]!.source.line }, { file: 'test/fixtures/profile/uses-map.ts', line: 2 });
  t.regex(formatViolations(espruino), /^test\/fixtures\/profile\/uses-map\.ts:2:\d+: espruino: 'Map' does not exist on Espruino 2v29/m);
  t.deepEqual((await check('uses-map.ts', 'kaluma')).violations, []);
});

test('destructuring is rejected on Espruino with its source location, accepted on Kaluma', async (t) => {
  const report = await check('uses-destructuring.ts', 'espruino');
  const found = at(report, 'destructuring');
  t.is(found.length, 1, formatViolations(report));
  t.is(found[0]!.source!.file, 'test/fixtures/profile/uses-destructuring.ts');
  t.is(found[0]!.source!.line, 3);
  t.deepEqual((await check('uses-destructuring.ts', 'kaluma')).violations, []);
});

for (const target of TARGETS) {
  test(`optional chaining is rejected on ${target} with its source location`, async (t) => {
    const report = await check('uses-optional-chaining.ts', target);
    const found = at(report, 'optional-chaining');
    t.is(found.length, 1, formatViolations(report));
    t.is(found[0]!.source!.file, 'test/fixtures/profile/uses-optional-chaining.ts');
    t.is(found[0]!.source!.line, 3);
  });

  test(`a node: module is rejected on ${target} with its source location`, async (t) => {
    const report = await check('uses-node-module.ts', target);
    const found = at(report, 'require');
    t.is(found.length, 1, formatViolations(report));
    t.regex(found[0]!.message, /'node:fs' is a host-only Node module/);
    t.is(found[0]!.source!.file, 'test/fixtures/profile/uses-node-module.ts');
    t.is(found[0]!.source!.line, 2);
  });

  test(`a clean snippet passes on ${target}`, async (t) => {
    t.deepEqual((await check('clean.ts', target)).violations, []);
  });
}

/** Small bundles written directly, for rules the fixtures above do not reach. */
const cases: { code: string; target: DeviceTarget; rule: string }[] = [
  { code: 'function f(...a){return a}f();', target: 'espruino', rule: 'rest-parameter' },
  { code: 'function f(a=1){return a}f();', target: 'espruino', rule: 'default-parameter' },
  { code: 'var a=[1];var b=[...a];', target: 'espruino', rule: 'spread' },
  { code: 'var k="x";var o={[k]:1};', target: 'espruino', rule: 'computed-key' },
  { code: 'var a=2**3;', target: 'espruino', rule: 'exponent-operator' },
  { code: 'async function f(){await 1}f();', target: 'espruino', rule: 'async-function' },
  { code: 'function*g(){yield 1}g();', target: 'espruino', rule: 'generator' },
  { code: 'a:for(;;){break a}', target: 'espruino', rule: 'label' },
  { code: 'for(var x of [1]){}', target: 'espruino', rule: 'for-of' },
  { code: 'var fs=[];for(let i=0;i<2;i++){fs.push(function(){return i})}', target: 'espruino', rule: 'loop-closure-over-let' },
  { code: 'var of=1;', target: 'espruino', rule: 'identifier-of' },
  { code: 'var n=10n;', target: 'espruino', rule: 'bigint-literal' },
  { code: 'var a=[1,2];a.length=0;', target: 'espruino', rule: 'length-assignment' },
  { code: 'var o=Object.freeze({});', target: 'espruino', rule: 'missing-member' },
  { code: 'var a=Array.from([1]);', target: 'espruino', rule: 'missing-member' },
  { code: 'var a=[1].at(0);', target: 'kaluma', rule: 'missing-method' },
  { code: "'use strict';var h=Object.hasOwn({},'a');", target: 'kaluma', rule: 'missing-member' },
  { code: "'use strict';var a;a??=1;", target: 'kaluma', rule: 'logical-assignment' },
  { code: "'use strict';class A{#x=1}", target: 'kaluma', rule: 'private-class-member' },
  { code: "'use strict';var b=Buffer.from('a');", target: 'kaluma', rule: 'unknown-global' },
  { code: "'use strict';var s=require('storage');", target: 'kaluma', rule: 'require' },
  { code: "'use strict';var m=require(name);", target: 'kaluma', rule: 'require' },
  { code: "'use strict';with({}){}", target: 'kaluma', rule: 'parse-error' },
  { code: "'use strict';var r=/(?<y>\\d+)/;", target: 'kaluma', rule: 'regexp-named-group-or-lookbehind' },
  { code: "var r=require('Storage');var f=require('crypto');", target: 'kaluma', rule: 'require' },
  { code: 'var r=/^\\d{4}-\\d{2}$/;', target: 'espruino', rule: 'regexp-espruino' },
  { code: 'var r=/(?:ab)c/;', target: 'espruino', rule: 'regexp-espruino' },
  { code: 'var r=/(ab)+/;', target: 'espruino', rule: 'regexp-espruino' },
  { code: 'var r=/\\bword/;', target: 'espruino', rule: 'regexp-espruino' },
  { code: 'var r=/(a)\\1/;', target: 'espruino', rule: 'regexp-espruino' },
  { code: 'var r=/a(?=b)/;', target: 'espruino', rule: 'regexp-espruino' },
];

test('regular expressions Espruino 2v29 matches are accepted', (t) => {
  for (const pattern of ['^\\d\\d\\d\\d-\\d\\d$', '^[0-9]+$', '[{}]', '\\{4\\}', '^[\\x21-\\x7e]+$', 'chunked', '^\\s*\\w+$', '[\\b]']) {
    t.false(espruinoRegexpProblem(pattern), pattern);
  }
});

for (const c of cases) {
  test(`${c.target} refuses ${c.rule}: ${c.code}`, (t) => {
    const report = checkProfile(c.code, c.target);
    t.true(report.violations.some((v) => v.rule === c.rule), formatViolations(report) || 'no violation');
    for (const v of report.violations) t.true(v.line >= 1, 'every violation has a location');
  });
}

test('the runtimes\' own globals and modules pass on their target', (t) => {
  t.deepEqual(checkProfile("'use strict';var f=require('flash');var u=board.uid;var t=millis();var e=new TextEncoder();", 'kaluma').violations, []);
  t.deepEqual(checkProfile("var f=require('Flash');var s=getSerial();var t=getTime();E.reboot();", 'espruino').violations, []);
  t.true(checkProfile("var s=getSerial();", 'kaluma').violations.some((v) => v.rule === 'unknown-global'));
  t.true(checkProfile("'use strict';var e=new TextEncoder();", 'espruino').violations.some((v) => v.rule === 'unknown-global'));
});

test('code made from text (eval, Function) is refused in images on both runtimes, and allowed to the fixed loader alone', (t) => {
  for (const target of ['kaluma', 'espruino'] as const) {
    for (const code of ["var x=eval('1');", "var x=(0,eval)('1');", "var e=eval;", "var f=new Function('return 1');", "var f=Function('return 1');"]) {
      const report = checkProfile(code, target);
      t.deepEqual(report.violations.map((v) => v.rule), ['code-evaluation'], target + ': ' + code);
      t.regex(report.violations[0]!.message, /only the fixed loader evaluates text/);
      t.deepEqual(checkProfile(code, target, undefined, { allow: ['code-evaluation'] }).violations, [], 'the loader: ' + code);
    }
    t.deepEqual(checkProfile('var o={eval:1};var v=o.eval;function g(Function){return new Function()}', target).violations, [], 'a property or a local of that name is not the global');
  }
});

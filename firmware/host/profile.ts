import { parse, type Node } from 'acorn';
import * as walk from 'acorn-walk';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { NOWHERE_GLOBALS, PROFILES, SYNTAX_MESSAGES, type DeviceTarget, type SyntaxRule } from './profiles';

/**
 * Profile check: parses a built device bundle and rejects every construct or global its target
 * lacks, naming it and, through the source map, the source line it came from.
 * What it cannot catch is written in docs/architecture.md ("What the checks cannot catch").
 */

export interface Violation {
  rule: SyntaxRule | 'parse-error' | 'unknown-global' | 'missing-member' | 'missing-method' | 'require';
  message: string;
  /** Position in the bundle (1-based line, 0-based column). */
  line: number;
  column: number;
  /** Position in the original source, when a source map was given and covers it. */
  source?: { file: string; line: number; column: number };
}

export interface ProfileReport {
  target: DeviceTarget;
  violations: Violation[];
}

/** "file:line:col: message" for each violation, one per line. */
export function formatViolations(report: ProfileReport): string {
  return report.violations
    .map((v) => {
      const where = v.source ? v.source.file + ':' + v.source.line + ':' + (v.source.column + 1) : 'bundle:' + v.line + ':' + (v.column + 1);
      return where + ': ' + report.target + ': ' + v.message;
    })
    .join('\n');
}

type AnyNode = Node & { [key: string]: any };

function declaredNames(ast: Node): Set<string> {
  const names = new Set<string>();
  const pattern = (p: AnyNode | null): void => {
    if (!p) return;
    switch (p.type) {
      case 'Identifier': names.add(p.name); break;
      case 'ObjectPattern': for (const prop of p.properties) pattern(prop.type === 'RestElement' ? prop : prop.value); break;
      case 'ArrayPattern': for (const e of p.elements) pattern(e); break;
      case 'RestElement': pattern(p.argument); break;
      case 'AssignmentPattern': pattern(p.left); break;
    }
  };
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type === 'VariableDeclarator') pattern(node.id);
    else if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') {
      if (node.id) pattern(node.id);
      for (const p of node.params) pattern(p);
    } else if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') {
      if (node.id) pattern(node.id);
    } else if (node.type === 'CatchClause') pattern(node.param);
    else if (node.type === 'ImportSpecifier' || node.type === 'ImportDefaultSpecifier' || node.type === 'ImportNamespaceSpecifier') pattern(node.local);
  });
  return names;
}

/** True if `body` holds a function that mentions one of `names` (captures a loop variable). */
function capturesAny(body: Node, names: string[]): boolean {
  let found = false;
  walk.full(body, (n) => {
    const node = n as AnyNode;
    if (found || (node.type !== 'FunctionExpression' && node.type !== 'ArrowFunctionExpression' && node.type !== 'FunctionDeclaration')) return;
    walk.full(node.body, (m) => {
      if ((m as AnyNode).type === 'Identifier' && names.indexOf((m as AnyNode).name) >= 0) found = true;
    });
  });
  return found;
}

/**
 * True if a regular expression uses what Espruino 2v29's matcher (src/jswrap_regexp.c) lacks:
 * {n,m} quantifiers, (?…) groups, \b, back-references, or a quantifier after a group. Seen on
 * Espruino 2v29 built for Linux: such patterns match nothing, or throw for back-references.
 */
export function espruinoRegexpProblem(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      if (!inClass && (n === 'b' || n === 'B' || (n >= '1' && n <= '9'))) return true;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '{' && /^\{\d/.test(pattern.slice(i))) return true;
    else if (c === '(' && pattern[i + 1] === '?') return true;
    else if (c === ')' && /[*+?{]/.test(pattern[i + 1] ?? '')) return true;
  }
  return false;
}

function bindingNames(declaration: AnyNode): string[] {
  const out: string[] = [];
  for (const d of declaration.declarations) if (d.id.type === 'Identifier') out.push(d.id.name);
  return out;
}

/**
 * Checks `code` (a built bundle) against `target`'s profile. `map` is the bundle's source map
 * (JSON text); `mapRoot` makes source paths relative for messages.
 */
/**
 * `options.allow` lifts some of the target's syntax rules: the fixed loader's bundle
 * (firmware/host/loader-build.ts) is the one bundle allowed 'code-evaluation'; within an image,
 * firmware/device/core/code.ts alone may (it loads the image's on-demand code from its assets).
 */
export function checkProfile(code: string, target: DeviceTarget, map?: string, options: { allow?: SyntaxRule[] } = {}): ProfileReport {
  const profile = PROFILES[target];
  const violations: Violation[] = [];
  const trace = map ? new TraceMap(map) : undefined;
  const add = (rule: Violation['rule'], message: string, node: { loc?: any; start: number }): void => {
    const line = node.loc ? node.loc.start.line : 0;
    const column = node.loc ? node.loc.start.column : 0;
    const v: Violation = { rule, message, line, column };
    if (trace) {
      const o = originalPositionFor(trace, { line, column });
      if (o.source) v.source = { file: o.source, line: o.line!, column: o.column! };
    }
    // The one place an image turns text into code: core/code.ts, which evaluates the code assets of
    // its own verified slot (firmware/host/ondemand.ts). Only with a source map to say so.
    if (rule === 'code-evaluation' && v.source && /(^|\/)firmware\/device\/core\/code\.ts$/.test(v.source.file)) return;
    violations.push(v);
  };
  const forbidden = new Set(profile.forbiddenSyntax.filter((rule) => !(options.allow ?? []).includes(rule)));
  const syntax = (rule: SyntaxRule, node: AnyNode, detail = ''): void => {
    if (!forbidden.has(rule)) return;
    // Both runtimes can: refused because only the fixed loader may.
    if (rule === 'code-evaluation') add(rule, SYNTAX_MESSAGES[rule] + ' is refused in a ' + profile.runtime + ' image: only the fixed loader evaluates text', node);
    else add(rule, SYNTAX_MESSAGES[rule] + ' is not supported by ' + profile.runtime + detail, node);
  };

  let ast: Node;
  try {
    ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowHashBang: false });
  } catch (error) {
    const e = error as SyntaxError & { loc?: { line: number; column: number }; pos?: number };
    add('parse-error', 'does not parse as a script: ' + e.message, { loc: e.loc ? { start: e.loc } : undefined, start: e.pos ?? 0 });
    return { target, violations };
  }

  const declared = declaredNames(ast);
  const allowed = new Set(profile.globals);
  const missingMembers = new Set(profile.missingMembers);
  const missingMethods = new Set(profile.missingMethods);

  const reference = (node: AnyNode): void => {
    const name = node.name as string;
    if (declared.has(name) || allowed.has(name)) return;
    const why = NOWHERE_GLOBALS.indexOf(name) >= 0 || name === 'Map' || name === 'Set' || name === 'Symbol' ? '' : ' (unknown global)';
    add('unknown-global', "'" + name + "' does not exist on " + profile.runtime + why, node);
  };

  walk.full(ast, (n) => {
    const node = n as AnyNode;
    switch (node.type) {
      case 'ChainExpression': syntax('optional-chaining', node); break;
      case 'PrivateIdentifier': syntax('private-class-member', node); break;
      case 'StaticBlock': syntax('class-static-block', node); break;
      case 'PropertyDefinition':
        syntax('class-field', node);
        if (node.computed) syntax('computed-key', node);
        if (node.key.type === 'PrivateIdentifier') syntax('private-class-member', node);
        break;
      case 'ImportExpression': syntax('dynamic-import', node); break;
      case 'MetaProperty':
        if (node.meta.name === 'import') syntax('import-meta', node);
        else syntax('new-target', node);
        break;
      case 'ImportDeclaration': case 'ExportNamedDeclaration': case 'ExportDefaultDeclaration': case 'ExportAllDeclaration':
        syntax('module-syntax', node); break;
      case 'WithStatement': syntax('with-statement', node); break;
      case 'AssignmentExpression':
        if (node.operator === '&&=' || node.operator === '||=' || node.operator === '??=') syntax('logical-assignment', node);
        if (node.operator === '**=') syntax('exponent-operator', node);
        if (node.left.type === 'Identifier') reference(node.left);
        if (node.operator === '=' && node.left.type === 'MemberExpression' && !node.left.computed && node.left.property.type === 'Identifier' && node.left.property.name === 'length') syntax('length-assignment', node);
        break;
      case 'BinaryExpression': if (node.operator === '**') syntax('exponent-operator', node); break;
      case 'ObjectPattern': case 'ArrayPattern': syntax('destructuring', node); break;
      case 'SpreadElement': syntax('spread', node); break;
      case 'RestElement': syntax('rest-parameter', node); break;
      case 'AssignmentPattern': syntax('default-parameter', node); break;
      case 'Property': if (node.computed) syntax('computed-key', node); break;
      case 'MethodDefinition':
        if (node.computed) syntax('computed-key', node);
        if (node.key.type === 'PrivateIdentifier') syntax('private-class-member', node);
        break;
      case 'FunctionDeclaration': case 'FunctionExpression': case 'ArrowFunctionExpression':
        if (node.async) syntax('async-function', node);
        if (node.generator) syntax('generator', node);
        break;
      case 'AwaitExpression': syntax('async-function', node); break;
      case 'YieldExpression': syntax('generator', node); break;
      case 'LabeledStatement': syntax('label', node); break;
      case 'ForOfStatement': syntax('for-of', node); break;
      case 'TaggedTemplateExpression': syntax('tagged-template', node); break;
      case 'CatchClause': if (!node.param) syntax('optional-catch-binding', node); break;
      case 'ForStatement': case 'ForInStatement': {
        const init = node.type === 'ForStatement' ? node.init : node.left;
        if (init && init.type === 'VariableDeclaration' && init.kind !== 'var' && capturesAny(node.body, bindingNames(init))) {
          syntax('loop-closure-over-let', node);
        }
        break;
      }
      case 'Identifier':
        if (node.name === 'of') syntax('identifier-of', node);
        break;
      case 'Literal':
        if (node.bigint !== undefined) syntax('bigint-literal', node);
        if (typeof node.raw === 'string' && /^[0-9.]/.test(node.raw) && node.raw.indexOf('_') >= 0) syntax('numeric-separator', node);
        if (node.regex && /\(\?<[^=!]|\(\?<[=!]/.test(node.regex.pattern)) syntax('regexp-named-group-or-lookbehind', node);
        if (node.regex && espruinoRegexpProblem(node.regex.pattern)) syntax('regexp-espruino', node);
        break;
      case 'MemberExpression':
        if (node.property.type === 'PrivateIdentifier') syntax('private-class-member', node);
        if (!node.computed && node.property.type === 'Identifier') {
          if (node.object.type === 'Identifier' && !declared.has(node.object.name) && missingMembers.has(node.object.name + '.' + node.property.name)) {
            add('missing-member', node.object.name + '.' + node.property.name + ' does not exist on ' + profile.runtime, node);
          } else if (missingMethods.has(node.property.name)) {
            add('missing-method', "method '." + node.property.name + "()' does not exist on " + profile.runtime + "'s built-ins", node);
          }
        }
        break;
      case 'NewExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'Function' && !declared.has('Function')) syntax('code-evaluation', node);
        break;
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'Function' && !declared.has('Function')) syntax('code-evaluation', node);
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && !declared.has('require')) {
          const arg = node.arguments[0];
          if (node.arguments.length !== 1 || arg.type !== 'Literal' || typeof arg.value !== 'string') {
            add('require', 'require() takes one string literal naming a built-in module on ' + profile.runtime, node);
          } else if (/^node:/.test(arg.value)) {
            add('require', "'" + arg.value + "' is a host-only Node module: device code cannot use it", node);
          } else if (profile.builtinModules.indexOf(arg.value) < 0) {
            add('require', "'" + arg.value + "' is not a built-in module of " + profile.runtime + ' (bundle it, or use the board)', node);
          }
        }
        break;
    }
  });
  // Free identifiers in expression position: acorn-walk's simple walk visits only those as Identifier.
  walk.simple(ast, {
    Identifier: (n) => {
      reference(n as AnyNode);
      // eval, called or not (`(0, eval)(text)`, `var e = eval`): a global never declared in the bundle.
      if ((n as AnyNode).name === 'eval' && !declared.has('eval')) syntax('code-evaluation', n as AnyNode);
    },
  });

  violations.sort((a, b) => a.line - b.line || a.column - b.column);
  return { target, violations };
}

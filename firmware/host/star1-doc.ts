import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONFORM_CHECKS, CRITERIA, REPOSITORY_ROOT, type ConformCheckId, type Criterion } from './star1';

/**
 * docs/star1.md, for reviewers: the ★1 mapping of firmware/host/star1.ts (CRITERIA) as a summary
 * table and one section per criterion. Generated, never edited by hand; test/star1.test.ts holds
 * the file equal to what this renders.
 *
 *   npx tsx firmware/host/star1-doc.ts      # writes docs/star1.md
 */

/** Where the document lives, relative to the repository. */
export const STAR1_DOC = 'docs/star1.md';

const JUDGED_BY: { [k in Criterion['judgedBy']]: string } = {
  doc: 'document review',
  device: 'a test of the unit',
  'doc/device': 'document review or a test of the unit',
  'doc+scan': 'document review and a vulnerability scan report',
};

const VENDOR_DOCUMENTS: { [k in NonNullable<Criterion['vendorDocuments']>[number]]: string } = {
  'vulnerability-disclosure': 'the vulnerability disclosure policy (vulnerability-disclosure)',
  'update-policy': 'the policy for prioritising security updates (update-policy)',
  'user-information': 'the user information on security (user-information)',
};

/** Text for Markdown: no HTML tags, no table cell breaks. */
function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
}

/** Inline code, with a fence longer than any run of back quotes inside. */
function code(s: string): string {
  const runs = s.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return fence + pad + s + pad + fence;
}

/** A link from docs/star1.md to a repository path. */
function link(path: string): string {
  const href = path.startsWith('docs/') ? path.slice('docs/'.length) : '../' + path;
  return '[' + text(path) + '](' + href + ')';
}

/** The section anchor GitHub gives "S1.1-01 …": the id alone is not one, so the summary links by heading. */
function anchor(c: Criterion): string {
  return (
    '#' +
    heading(c)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s-]/gu, '')
      .trim()
      .replace(/\s/g, '-')
  );
}

function heading(c: Criterion): string {
  return c.id + ' ' + c.title.en;
}

/** The criteria each check observes besides `c`. */
function alsoObserved(check: ConformCheckId, c: Criterion): string {
  const others = (CONFORM_CHECKS[check] as readonly string[]).filter((id) => id !== c.id);
  return others.length ? ' (also observes ' + others.join(', ') + ')' : '';
}

function section(c: Criterion): string[] {
  const out: string[] = [];
  out.push('## ' + text(heading(c)), '');
  out.push('> ' + text(c.title.ja), '');
  out.push('Judged by ' + JUDGED_BY[c.judgedBy] + '. ETSI EN 303 645: ' + c.en303645.join(', ') + '.', '');
  out.push('**Conformity claim.** ' + text(c.claim.en), '');
  out.push('**How the kit meets it.** ' + text(c.how.en), '');
  out.push('**Configuration.** ' + (c.config.length ? c.config.map((f) => code('config.' + f)).join(', ') : 'None of the image\'s configuration fields') + '.', '');
  out.push('**Modules.** ' + c.modules.map(link).join(', ') + '.', '');
  out.push('**Code.**', '');
  for (const e of c.code) out.push('- ' + link(e.file) + (e.symbol ? ' ' + code(e.symbol) : ''));
  out.push('');
  out.push('**Tests.**' + (c.tests.length ? '' : ' None yet.'), '');
  if (c.tests.length) {
    for (const e of c.tests) out.push('- ' + link(e.file) + ' › ' + text(e.title));
    out.push('');
  }
  out.push('**Documents.** ' + (c.docs.length ? c.docs.map(link).join(', ') : 'None in the repository') + '.', '');
  out.push(
    '**Checked on a unit by `hoshi conform`.** ' +
      (c.conform.length ? c.conform.map((k) => code(k) + alsoObserved(k, c)).join(', ') + '.' : 'No check: this criterion is judged on documents.'),
    '',
  );
  if (c.vendorDocuments && c.vendorDocuments.length) {
    const list = c.vendorDocuments.map((d) => VENDOR_DOCUMENTS[d]).join(', ');
    out.push('**Documents the manufacturer writes.** ' + list.charAt(0).toUpperCase() + list.slice(1) + '.', '');
  }
  return out;
}

/** docs/star1.md as CRITERIA gives it. */
export function renderStar1Doc(): string {
  const out: string[] = [];
  out.push('<!-- Generated from firmware/host/star1.ts by firmware/host/star1-doc.ts: do not edit. Regenerate with `npx tsx firmware/host/star1-doc.ts`. -->', '');
  out.push('# JC-STAR ★1: how an image built with Hoshi helps meet the sixteen criteria', '');
  out.push(
    'JC-STAR (セキュリティ要件適合評価及びラベリング制度) is the security labelling scheme for IoT products run by',
    'IPA (Information-technology Promotion Agency, Japan). Its level ★1 is the baseline for every IoT product: sixteen',
    'criteria (適合基準), S1.1-01 to S1.1-16, against the threats of remote attackers on the internet or the LAN',
    '(weak authentication, unpatched vulnerabilities, unused interfaces, eavesdropping, data left on discarded',
    'units, security state lost on power or network failure). ★1 is a self-declaration (自己適合宣言): the',
    'manufacturer assesses its own product (適合性評価), files the checklist (チェックリスト) with IPA, and keeps the',
    'evidence (証跡) that IPA may ask for. The criteria harmonise with ETSI EN 303 645.',
    '',
  );
  out.push(
    'Hoshi helps a product meet ★1; it holds no label itself. A product built with it still needs its',
    'manufacturer\'s own assessment, the documents only the manufacturer can write (marked below), and a',
    'vulnerability scan of the finished product. This page maps each criterion to the conformity claim an',
    'image built with the kit can make, how the kit meets it, the image configuration it depends on, the',
    'code and the tests that show it, the documents of this repository that describe it, and the checks of',
    '`hoshi conform` that observe it on a running unit. The Japanese wording of each criterion is IPA\'s,',
    'shortened where it is long; IPA\'s current criteria table is authoritative.',
    '',
  );
  out.push(
    'The mapping is `CRITERIA` in [firmware/host/star1.ts](../firmware/host/star1.ts). This page is generated',
    'from it: after a change, run `npx tsx firmware/host/star1-doc.ts`, which writes docs/star1.md.',
    '[test/star1.test.ts](../test/star1.test.ts) fails when this page differs from the mapping, or when a file,',
    'a symbol or a test named here no longer exists. A test is named file › title; a title with `${…}` in it',
    'is written as its source writes it, and names the tests a loop declares, one per value.',
    '',
  );
  out.push('## Summary', '');
  out.push('| id | criterion | modules | `hoshi conform` checks |', '|---|---|---|---|');
  for (const c of CRITERIA) {
    out.push(
      '| ' +
        c.id +
        ' | [' +
        text(c.title.en) +
        '](' +
        anchor(c) +
        ') | ' +
        c.modules.map((m) => code(m)).join(', ') +
        ' | ' +
        (c.conform.length ? c.conform.map((k) => code(k)).join(', ') : 'none (documents)') +
        ' |',
    );
  }
  out.push('');
  for (const c of CRITERIA) out.push(...section(c));
  return out.join('\n').replace(/\n+$/, '') + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = join(REPOSITORY_ROOT, STAR1_DOC);
  writeFileSync(file, renderStar1Doc());
  console.log('star1-doc: wrote ' + STAR1_DOC);
}

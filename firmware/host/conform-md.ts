import type { ConformReport, Verdict } from './star1';

/**
 * A `hoshi conform` report (firmware/host/conform.ts) as Markdown: who and what was probed, a
 * table of the checks with their verdicts and reasons, then each check's evidence, one line per
 * exchange. The report is redacted before it gets here (no password, key or token in it); this
 * only lays it out, cutting long values so that a page stays readable.
 */

const VERDICT: { [v in Verdict]: string } = {
  pass: 'pass',
  fail: '**fail**',
  'not-applicable': 'not applicable',
  'needs-human': 'needs a person',
};

/** Characters of one evidence line kept. */
const LINE_CUT = 600;

/** Text for a table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** One evidence item as an inline code span (cut to LINE_CUT characters). */
function evidenceLine(item: unknown): string {
  let text = typeof item === 'string' ? item : JSON.stringify(item);
  if (text.length > LINE_CUT) text = text.slice(0, LINE_CUT) + '… (' + text.length + ' characters)';
  // A code span holds any text but its own delimiter: a run of backticks longer than any inside.
  const ticks = '`'.repeat(Math.max(1, ...(text.match(/`+/g) ?? []).map((r) => r.length + 1)));
  return '- ' + ticks + (text.startsWith('`') ? ' ' : '') + text + (text.endsWith('`') ? ' ' : '') + ticks;
}

export function renderConformMarkdown(report: ConformReport): string {
  const seconds = (Date.parse(report.finished) - Date.parse(report.started)) / 1000;
  const d = report.device;
  const out: string[] = [];
  out.push('# ' + report.tool + ': ' + report.target, '');
  out.push(
    'A self-test of a unit from the network, made to help its maker prepare for JC-STAR ★1. It is not an evaluation by a lab, and it covers only what the network shows: the criteria judged on documents are not here (docs/conformance.md).',
    '',
  );
  out.push('| | |', '|---|---|');
  out.push('| unit | ' + cell(d ? String(d.model) + ', firmware ' + String(d.firmwareVersion) + ', hardware revision ' + String(d.hardwareRevision) + (d.serial ? ', serial ' + String(d.serial) : '') : 'no device information') + ' |');
  out.push('| kit | ' + cell('hoshi ' + report.kitVersion) + ' |');
  out.push('| run | ' + cell(report.started + ' to ' + report.finished + ' (' + seconds.toFixed(1) + ' s), ' + report.requests + ' HTTP requests') + ' |');
  out.push('');
  out.push('| check | criteria | verdict | reason |', '|---|---|---|---|');
  for (const c of report.checks) out.push('| ' + c.id + ' | ' + c.criteria.join(', ') + ' | ' + VERDICT[c.verdict] + ' | ' + cell(c.reason) + ' |');
  out.push('');
  out.push('Verdicts in the manner of ETSI TS 103 701: pass, fail, not applicable, needs a person (the network alone cannot settle it, or the check was not run).', '');
  out.push('## Evidence', '');
  for (const c of report.checks) {
    out.push('### ' + c.id + ': ' + c.title, '');
    out.push(VERDICT[c.verdict] + ': ' + c.reason, '');
    if (c.evidence.length === 0) out.push('(none)');
    for (const item of c.evidence) out.push(evidenceLine(item));
    out.push('');
  }
  return out.join('\n');
}

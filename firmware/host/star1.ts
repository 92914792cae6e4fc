/**
 * The ★1 criteria (JC-STAR, S1.1-01 … S1.1-16) mapped to what meets them in the kit: the modules and
 * the image's configuration, the code, the tests that prove it, the documents, and the check of
 * `hoshi conform` that observes it on a live unit. One mapping feeds the checklist draft
 * (`hoshi evidence`), docs/star1.md and the traceability test (test/star1.test.ts), which fails when
 * a file, a symbol or a test named here no longer exists.
 */

/** A verdict in the manner of ETSI TS 103 701. */
export type Verdict = 'pass' | 'fail' | 'not-applicable' | 'needs-human';

/** Text in both languages of the checklist (Japanese in the terms of the IPA documents). */
export interface Text {
  ja: string;
  en: string;
}

/** The checks of `hoshi conform` (firmware/host/conform.ts), each observing one or more criteria. */
export const CONFORM_CHECKS = {
  info: ['S1.1-10', 'S1.1-06'],
  'auth-required': ['S1.1-01'],
  'default-password': ['S1.1-02'],
  'password-change': ['S1.1-03'],
  'brute-force': ['S1.1-04'],
  update: ['S1.1-06', 'S1.1-08', 'S1.1-14'],
  channel: ['S1.1-12'],
  interfaces: ['S1.1-13'],
  wipe: ['S1.1-15'],
} as const;
export type ConformCheckId = keyof typeof CONFORM_CHECKS;

export interface Criterion {
  /** 'S1.1-01' … 'S1.1-16'. */
  id: string;
  /** The criterion, short (ja: the wording of the IPA criteria table, ../shared/seeds/003). */
  title: Text;
  /** How ★1 judges it: document review, a test of the unit, or both. */
  judgedBy: 'doc' | 'device' | 'doc/device' | 'doc+scan';
  /** The ETSI EN 303 645 provisions it harmonises with. */
  en303645: string[];
  /** The conformity claim the checklist makes for an image built with the kit. */
  claim: Text;
  /** How the kit meets it: the mechanism in a sentence or two. */
  how: Text;
  /** The modules that meet it ('modules/accounts', 'firmware/device/core/bootctl.ts' …). */
  modules: string[];
  /** The image configuration fields it depends on (keys of examples/<x>/image.ts's config). */
  config: string[];
  /** Code that meets it: a file of the repository and, where one is meant, a symbol defined there. */
  code: { file: string; symbol?: string }[];
  /** Tests that prove it: a test file and the exact title of a test in it. */
  tests: { file: string; title: string }[];
  /** Documents of the repository that describe it (paths). */
  docs: string[];
  /** The `hoshi conform` checks that observe it on a unit (none for criteria judged on documents only). */
  conform: ConformCheckId[];
  /** Documents the vendor must write or fill (`hoshi evidence` drafts them), if any. */
  vendorDocuments?: ('vulnerability-disclosure' | 'update-policy' | 'user-information')[];
}

/** One check's result in a `hoshi conform` report. */
export interface ConformCheck {
  id: ConformCheckId;
  criteria: string[];
  title: string;
  verdict: Verdict;
  /** Why this verdict, in a sentence. */
  reason: string;
  /** What the probe saw: requests and answers (status, headers, bodies cut to a bound), timings. */
  evidence: unknown[];
}

/** What `hoshi conform` saves (JSON; and rendered as Markdown). */
export interface ConformReport {
  tool: 'hoshi conform';
  kitVersion: string;
  target: string;
  started: string;
  finished: string;
  /** Requests the probe made, in all (bounded). */
  requests: number;
  /** The unit's public information as the probe first read it. */
  device: Record<string, unknown> | null;
  checks: ConformCheck[];
}

/** The sixteen criteria. */
export const CRITERIA: Criterion[] = [];

/**
 * What a model achieves, in a few sentences a reader wants first: how well it ranks against
 * its baseline, what the top 10% holds, and how well its numbers match what happened (all on
 * held-out rows). The report page opens with these lines; the tables follow. Each kind says
 * its own (its descriptor's report.summary, models/<kind>/text.ts); fairness is said here.
 */
import type { FairnessReport } from '../metrics/fairness.js';
import { findKind } from '../models/kinds.js';
import type { Manifest } from '../models/registry.js';
import { fixed } from '../models/report-text.js';

/**
 * The summary of a model version, one sentence a line; empty for a kind without one.
 */
export function summaryLines(m: Manifest): string[] {
  const lines = findKind(m.kind)?.report.summary?.(m) ?? [];
  const fairness = ((m.metrics as { fairness?: FairnessReport[] }).fairness ?? []).map(
    (f) => `Fairness by ${f.attribute} (test split): four-fifths rule ${f.fourFifthsRule} (lowest selection-rate ratio ${fixed(f.disparateImpact, 3)}).`,
  );
  return [...lines, ...fairness];
}

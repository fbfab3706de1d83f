/** `audience measure`'s result for people: a printed table and an HTML page (one section per audience). */
import type { AudienceMeasure, MeasureReport, OutcomeMeasure } from '../audiences/measure.js';
import type { LiftEstimate } from '../metrics/lift.js';
import { esc, htmlTable, page, type Section } from '../render/html.js';
import { table } from '../render/table.js';

const fix = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const signed = (v: number, digits = 4) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : '-');
const pct = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%` : '-');
const pval = (v: number) => (!Number.isFinite(v) ? '-' : v < 1e-4 ? '<0.0001' : v.toFixed(4));
const count = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');

/**
 * What CUPED did to the lift's variance, in words: "removed 12.3% of the lift's variance", or
 * where the covariate barely relates to the outcome and the estimated theta adds a little
 * noise, "did not reduce the lift's variance (it grew 0.04%...)" rather than "removed -0.0%".
 */
export function cupedEffect(reduction: number): string {
  if (reduction >= 0.0005) return `removed ${(100 * reduction).toFixed(1)}% of the lift's variance`;
  if (reduction >= 0) return "removed under 0.05% of the lift's variance: the covariate hardly relates to the outcome";
  return `did not reduce the lift's variance (it grew ${(-100 * reduction).toFixed(2)}%: the covariate hardly relates to the outcome, and its estimated theta adds noise)`;
}

/** One row of the lift table: sizes, means, lift with its interval, relative lift, p, incremental, minimum detectable lift. */
function liftRow(e: LiftEstimate): Record<string, string> {
  return {
    'n members': count(e.nMembers),
    'n holdout': count(e.nHoldout),
    'member mean': fix(e.memberMean),
    'holdout mean': fix(e.holdoutMean),
    lift: signed(e.lift),
    '95% interval': `${signed(e.liftLow)} .. ${signed(e.liftHigh)}`,
    relative: pct(e.relativeLift),
    p: pval(e.pValue),
    incremental: Number.isFinite(e.incremental) ? `${e.incremental >= 0 ? '+' : ''}${count(e.incremental)}` : '-',
    'min detectable': fix(e.minDetectableLift),
  };
}

/** Rows of an audience's outcomes, CUPED beside each outcome it adjusted. */
function outcomeRows(a: AudienceMeasure, withName: boolean): Array<Record<string, string>> {
  return a.outcomes.flatMap((o: OutcomeMeasure) => [
    { ...(withName && { audience: a.name }), outcome: o.outcome, ...liftRow(o) },
    ...(o.cuped ? [{ ...(withName && { audience: a.name }), outcome: `${o.outcome} (CUPED)`, ...liftRow(o.cuped) }] : []),
  ]);
}

/** Lines about who was measured: unmatched ids, empty outcome cells, what CUPED removed. */
function notes(r: MeasureReport, a: AudienceMeasure): string[] {
  const lines: string[] = [];
  const un = a.unmatched.members + a.unmatched.holdout;
  if (un) lines.push(`${a.name}: ${count(a.unmatched.members)} members and ${count(a.unmatched.holdout)} holdout ids are not in the outcomes (${r.missing === 'zero' ? 'counted as 0' : 'left out; --missing zero counts them as 0'})`);
  for (const o of a.outcomes) {
    const m = o.missing.members + o.missing.holdout;
    if (m) lines.push(`${a.name} / ${o.outcome}: ${count(m)} ids have no value (${r.missing === 'zero' ? 'counted as 0' : 'left out'})`);
    if (o.cuped) lines.push(`${a.name} / ${o.outcome}: CUPED on ${r.pre} (theta ${fix(o.cuped.theta)}) ${cupedEffect(o.cuped.varianceReduction)}`);
  }
  return lines;
}

/** The printed result: one table of every audience and outcome, the audiences that could not be measured, and notes. */
export function measureText(r: MeasureReport): string {
  const measured = r.audiences.filter((a) => !a.notMeasurable);
  const parts = [table(measured.flatMap((a) => outcomeRows(a, true)))];
  const not = r.audiences.filter((a) => a.notMeasurable);
  if (not.length) parts.push(`Not measurable:\n${not.map((a) => `  ${a.name}: ${a.notMeasurable}`).join('\n')}`);
  const lines = measured.flatMap((a) => notes(r, a));
  if (lines.length) parts.push(lines.join('\n'));
  parts.push('lift = member mean - holdout mean; interval and p (two-sided) from a normal approximation with unpooled variances; incremental = lift x members; min detectable = the lift a next run of these sizes finds at 80% power (5% two-sided).');
  if (r.segments) parts.push(`Per segment of ${r.segments.columns.join(', ')} (from the scores in ${r.segments.scores}): in the JSON output and the report page.`);
  return parts.join('\n\n');
}

/** The HTML page: a section per audience with its lift table, per-segment table and notes. */
export function measurePage(r: MeasureReport, outcomesSource: string): string {
  const sections: Section[] = r.audiences.map((a) => {
    if (a.notMeasurable) return { title: a.name, intro: `Not measurable: ${esc(a.notMeasurable)}` };
    const blocks = [htmlTable(outcomeRows(a, false))];
    for (const o of a.outcomes) {
      if (o.bySegment?.length) blocks.push(htmlTable(o.bySegment.map((s) => ({ column: s.column, segment: s.segment, ...liftRow(s) })), `${o.outcome} by segment`));
    }
    const n = notes(r, a);
    if (n.length) blocks.push(`<p class="note">${n.map(esc).join('<br>')}</p>`);
    return { title: a.name, intro: `${count(a.members)} members, ${count(a.holdout)} in the holdout`, blocks };
  });
  sections.push({
    title: 'How these are computed',
    intro: esc(
      'lift = member mean - holdout mean over the ids found in the outcomes; its 95% interval is lift +- 1.96 sqrt(s2_m/n_m + s2_h/n_h) (sample variances), the p-value two-sided from the normal distribution; incremental = lift x members; the minimum detectable lift is (1.96 + 0.84) x that standard error, the smallest true lift a next run of the same sizes finds with 80% power. CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013) measures Y - theta (X - mean X), theta = cov(X, Y) / var(X) over members and holdout together.',
    ),
  });
  return page('Audience measurement', `Outcomes from ${esc(outcomesSource)}, ids by ${esc(r.id)}`, sections);
}

/**
 * Text pieces every kind's report uses (models/<kind>/text.ts): numbers as text, fairness
 * tables, and the one-line lift and calibration sentences of a report's summary.
 */
import type { CalibrationBin, DecileRow } from '../metrics/classification.js';
import { SMALL_GROUP, smallGroupsText, type FairnessReport } from '../metrics/fairness.js';
import { table } from '../render/table.js';

/** A number to `digits` decimals, or "-" where there is none (a metric stored as null: NaN in JSON). */
export function fixed(v: unknown, digits = 4): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** A share as a percentage to `digits` decimals, or "-" where there is none. */
export function percent(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '-';
}

/** A difference with its sign (+0.012), or "-" where there is none. */
export function signed(v: number, digits = 3): string {
  return Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : '-';
}

/** Fairness tables by sensitive column (see metrics/fairness.ts); `positives` names what TPR counts. */
export function formatFairness(reports: FairnessReport[] | undefined, positives: string): string[] {
  return (reports ?? []).flatMap((f) => [
    '',
    `Fairness by ${f.attribute} (test rows, selected at score >= ${f.threshold.toPrecision(4)}; TPR/FPR of ${positives}): four-fifths rule ${f.fourFifthsRule} (lowest ratio ${fixed(f.disparateImpact, 3)})`,
    table(
      f.groups.map((g) => ({
        group: g.group,
        count: g.count,
        'mean score': fixed(g.meanScore, 4),
        'observed rate': fixed(g.positiveRate, 4),
        selected: fixed(g.selectionRate, 4),
        TPR: fixed(g.tpr, 3),
        FPR: fixed(g.fpr, 3),
        'disparate impact': `${fixed(g.disparateImpact, 3)}${g.flagged ? ' < 0.8' : ''}${g.count < SMALL_GROUP ? ' (small sample)' : ''}`,
      })),
    ),
    ...[smallGroupsText(f.groups)].filter(Boolean),
  ]);
}

/** Lift of the top 10% of scores (the first of ten bins), and what the top 20% capture. */
export function liftText(lift: DecileRow[]): string {
  if (lift.length !== 10) return `Lift of the top ${percent(1 / lift.length, 0)}: ${fixed(lift[0]?.lift ?? NaN, 1)}x the average rate.`;
  const [first, second] = lift;
  return `Lift at 10%: the top 10% of scores convert at ${fixed(first.lift, 1)}x the average rate (${percent(first.rate, 1)}); the top 20% hold ${percent(second.cumulativeGain, 0)} of all conversions.`;
}

/**
 * Calibration in one line: the mean gap between predicted and observed rates, weighted by
 * rows (the expected calibration error, Naeini et al. 2015), and the widest bin.
 */
export function calibrationText(bins: CalibrationBin[]): string {
  const used = bins.filter((b) => b.rows > 0);
  const rows = used.reduce((s, b) => s + b.rows, 0);
  if (!rows) return 'Calibration: no test rows to measure it on.';
  const gap = (b: CalibrationBin) => Math.abs(b.meanPredicted - b.observedRate);
  const ece = used.reduce((s, b) => s + (b.rows * gap(b)) / rows, 0);
  const widest = used.reduce((w, b) => (gap(b) > gap(w) ? b : w));
  return `Calibration: predicted probabilities are ${fixed(ece, 3)} from the observed rates on average (${used.length} bins, weighted by rows); the widest gap is predicted ${fixed(widest.meanPredicted, 2)} vs observed ${fixed(widest.observedRate, 2)} (${widest.rows} rows).`;
}

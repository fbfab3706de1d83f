/**
 * What a model achieves, in a few sentences a reader wants first: how well it ranks against
 * its baseline, what the top 10% holds, and how well its numbers match what happened (all on
 * held-out rows). The report page opens with these lines; the tables follow.
 */
import type { CalibrationBin, DecileRow } from '../metrics/classification.js';
import type { FairnessReport } from '../metrics/fairness.js';
import type { AnomalyReport } from '../models/anomaly/train.js';
import type { CltvReport, ValueMetrics } from '../models/cltv/train.js';
import type { LookalikeReport } from '../models/lookalike/train.js';
import type { PropensityReport } from '../models/propensity/train.js';
import type { Manifest } from '../models/registry.js';

const pct = (v: number, digits = 0) => `${(100 * v).toFixed(digits)}%`;
const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const signed = (v: number, digits = 3) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;

/**
 * The summary of a model version, one sentence a line; empty for a kind without one.
 */
export function summaryLines(m: Manifest): string[] {
  const metrics = m.metrics as unknown;
  const lines =
    m.kind === 'propensity'
      ? propensitySummary(metrics as PropensityReport)
      : m.kind === 'cltv'
        ? cltvSummary(metrics as CltvReport)
        : m.kind === 'kmeans'
          ? kmeansSummary(metrics as Record<string, unknown>)
          : m.kind === 'lookalike'
            ? lookalikeSummary(metrics as LookalikeReport)
            : m.kind === 'anomaly'
              ? anomalySummary(metrics as AnomalyReport)
              : [];
  const fairness = ((metrics as { fairness?: FairnessReport[] }).fairness ?? []).map(
    (f) => `Fairness by ${f.attribute} (test split): four-fifths rule ${f.fourFifthsRule} (lowest selection-rate ratio ${num(f.disparateImpact)}).`,
  );
  return [...lines, ...fairness];
}

function propensitySummary(r: PropensityReport): string[] {
  const { mlp, baseline } = r.test;
  return [
    `Ranks converters with ROC-AUC ${num(mlp.rocAuc)} on the held-out test split, against ${num(baseline.rocAuc)} for the logistic baseline (${signed(mlp.rocAuc - baseline.rocAuc)}).`,
    liftText(mlp.lift),
    calibrationText(mlp.calibration),
  ];
}

/** Lift of the top 10% of scores (the first of ten bins), and what the top 20% capture. */
export function liftText(lift: DecileRow[]): string {
  if (lift.length !== 10) return `Lift of the top ${pct(1 / lift.length)}: ${num(lift[0]?.lift ?? NaN, 1)}x the average rate.`;
  const [first, second] = lift;
  return `Lift at 10%: the top 10% of scores convert at ${num(first.lift, 1)}x the average rate (${pct(first.rate, 1)}); the top 20% hold ${pct(second.cumulativeGain)} of all conversions.`;
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
  return `Calibration: predicted probabilities are ${num(ece)} from the observed rates on average (${used.length} bins, weighted by rows); the widest gap is predicted ${num(widest.meanPredicted, 2)} vs observed ${num(widest.observedRate, 2)} (${widest.rows} rows).`;
}

function cltvSummary(r: CltvReport): string[] {
  const m = r.test.model;
  const other = (name: string, b: ValueMetrics | string) => (typeof b === 'string' ? `${name}: not measured` : `${num(b.normalizedGini)} for ${name}`);
  const total = m.deciles.reduce((s, d) => s + d.actual * d.rows, 0);
  const rows = m.deciles.reduce((s, d) => s + d.rows, 0) || 1;
  const top = m.deciles[0];
  return [
    `Ranks customers by value with normalized Gini ${num(m.normalizedGini)} on the held-out test split, against ${other('the last window', r.test.lastWindow)} and ${other('BG/NBD + Gamma-Gamma', r.test.bgNbd)}.`,
    top && total > 0 ? `The top 10% of predictions hold ${pct((top.actual * top.rows) / total)} of the actual value.` : 'No actual value in the test split to rank.',
    `Calibration: mean predicted ${num(m.deciles.reduce((s, d) => s + d.predicted * d.rows, 0) / rows, 2)} per customer vs actual ${num(total / rows, 2)}; in the top decile ${num(top?.predicted ?? NaN, 2)} vs ${num(top?.actual ?? NaN, 2)}.`,
  ];
}

function kmeansSummary(metrics: Record<string, unknown>): string[] {
  const sizes = (metrics.sizes as number[] | undefined) ?? [];
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const shares = sizes.map((n) => n / total);
  return [
    `${sizes.length} segments, from ${pct(Math.min(...shares))} to ${pct(Math.max(...shares))} of visitors; sampled silhouette ${num(metrics.silhouette as number)} (1: well apart, 0: touching).`,
  ];
}

function lookalikeSummary(r: LookalikeReport): string[] {
  const at = r.recallAt.findIndex((s) => Math.abs(s - 0.1) < 1e-9);
  const ours = r.evaluation.find((e) => e.chosen) ?? r.evaluation[0];
  if (!ours || at < 0) return [];
  const baselines = r.evaluation.filter((e) => !e.own);
  const best = baselines.reduce<(typeof baselines)[number] | undefined>((b, e) => (!b || e.recall[at] > b.recall[at] ? e : b), undefined);
  return [
    `Finds ${pct(ours.recall[at])} of held-out seeds in the top 10% of the population (AUC ${num(ours.auc)})${best ? `, against ${pct(best.recall[at])} for the best baseline (${best.method.replace(/^baseline: /, '')})` : ''}.`,
  ];
}

function anomalySummary(r: AnomalyReport): string[] {
  const kept = r.candidates.filter((c) => c.kept).length;
  return [`${r.outliers} visitors (${pct(r.outlierShare, 2)}) score over ${r.threshold} spreads from their segment; ${kept} niche segment(s) kept of ${r.candidates.length} candidates.`];
}

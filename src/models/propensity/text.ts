/** The propensity kind's text report (after training, in `models show`) and its report page's summary. */
import { table } from '../../render/table.js';
import { fmtCount } from '../../util/progress.js';
import { calibrationText, fixed, formatFairness, liftText, signed } from '../report-text.js';
import type { PropensityReport } from './evaluate.js';

/** The propensity evaluation report, as `train propensity` and `models show` print it. */
export function formatPropensityReport(r: PropensityReport): string {
  const m = r.test.mlp;
  const b = r.test.baseline;
  const f = (v: number, d = 4) => v.toFixed(d);
  const rows = [
    { metric: 'ROC-AUC', MLP: f(m.rocAuc), 'logistic baseline': f(b.rocAuc) },
    { metric: 'PR-AUC (avg precision)', MLP: f(m.prAuc), 'logistic baseline': f(b.prAuc) },
    { metric: 'log loss', MLP: f(m.logLoss), 'logistic baseline': f(b.logLoss) },
    { metric: 'Brier (calibrated)', MLP: f(m.brier), 'logistic baseline': f(b.brier) },
    { metric: 'Brier (uncalibrated)', MLP: f(m.brierUncalibrated), 'logistic baseline': f(b.brierUncalibrated) },
    { metric: 'F1 at threshold', MLP: f(m.atThreshold.f1), 'logistic baseline': f(b.atThreshold.f1) },
    { metric: 'precision / recall', MLP: `${f(m.atThreshold.precision, 3)} / ${f(m.atThreshold.recall, 3)}`, 'logistic baseline': `${f(b.atThreshold.precision, 3)} / ${f(b.atThreshold.recall, 3)}` },
  ];
  const c = m.atThreshold;
  const out = [
    `Data: ${fmtCount(r.checks.rows)} labeled rows, ${r.checks.positives} positive (${((100 * r.checks.positives) / r.checks.rows).toFixed(1)}%)` +
      (r.checks.unlabeled ? `, ${r.checks.unlabeled} without a usable label left out` : ''),
    `Split (stratified): train ${r.split.train}, validation ${r.split.valid}, test ${r.split.test}; all metrics below are on the test split.`,
    '',
    table(rows),
    '',
    `Threshold ${c.threshold.toFixed(4)} (${r.threshold.rule}): flags ${(100 * c.rate).toFixed(1)}% of visitors; confusion on test: TP ${c.tp}  FP ${c.fp}  FN ${c.fn}  TN ${c.tn}`,
    `Lift by decile: ${m.lift.map((d) => `${d.decile}:${d.lift.toFixed(1)}x`).join(' ')}; top 20% capture ${(100 * (m.lift[1]?.cumulativeGain ?? 0)).toFixed(0)}% of conversions`,
    `Calibration (predicted -> observed): ${m.calibration.map((cb) => `${cb.meanPredicted.toFixed(2)}->${cb.observedRate.toFixed(2)} (${cb.rows})`).join('  ')}`,
    `Feature influence (test AUC lost when shuffled): ${r.importance.slice(0, 8).map((i) => `${i.feature} ${i.aucDrop.toFixed(3)}`).join(', ')}`,
    `Single-feature AUC (leakage check): ${r.checks.singleFeatureAuc.slice(0, 5).map((s) => `${s.feature} ${s.auc.toFixed(3)}`).join(', ')}`,
    `Training: ${r.history.length} epochs (best ${r.bestEpoch} restored), ${fmtCount(r.training.samplesPerSecond)} samples/s, ${r.training.seconds.toFixed(1)}s` +
      (r.training.refit ? `; then refitted on training + validation (${fmtCount(r.training.refit.rows)} rows, ${r.training.refit.epochs} epochs): the model saved and tested` : ''),
    ...formatFairness(r.fairness, 'positives'),
  ];
  return out.join('\n');
}

/** What a propensity model achieves, for the report page's summary. */
export function propensitySummary(r: PropensityReport): string[] {
  const { mlp, baseline } = r.test;
  return [
    `Ranks converters with ROC-AUC ${fixed(mlp.rocAuc, 3)} on the held-out test split, against ${fixed(baseline.rocAuc, 3)} for the logistic baseline (${signed(mlp.rocAuc - baseline.rocAuc)}).`,
    liftText(mlp.lift),
    calibrationText(mlp.calibration),
  ];
}

/** The CLTV kind's text report (after training, in `models show`) and its report page's summary. */
import { table } from '../../render/table.js';
import { fmtCount } from '../../util/progress.js';
import { fixed, formatFairness, percent } from '../report-text.js';
import type { ValueMetrics } from '../../metrics/value.js';
import type { CltvReport } from './evaluate.js';

/** The CLTV report, as `train cltv` and `models show` print it: test metrics beside the two baselines, and the decile chart. */
export function formatCltvReport(r: CltvReport): string {
  const methods: Array<[string, ValueMetrics | string]> = [
    ['ZILN (this model)', r.test.model],
    [`last window${r.horizonDays ? ` (${r.horizonDays} days)` : ''}`, r.test.lastWindow],
    ['BG/NBD + Gamma-Gamma', r.test.bgNbd],
  ];
  const rows = methods.map(([method, m]) =>
    typeof m === 'string'
      ? { method, MAE: '-', RMSE: '-', 'normalized Gini': '-', Spearman: '-', note: m }
      : { method, MAE: fixed(m.mae, 2), RMSE: fixed(m.rmse, 2), 'normalized Gini': fixed(m.normalizedGini, 4), Spearman: fixed(m.spearman, 4), note: '' },
  );
  const deciles = r.test.model.deciles.map((d) => ({ decile: d.decile, customers: d.rows, 'mean predicted': fixed(d.predicted, 2), 'mean actual': fixed(d.actual, 2) }));
  return [
    `Split (stratified on buying): train ${r.split.train}, validation ${r.split.valid}, test ${r.split.test}; buyers in test ${r.split.buyers.test}. Horizon: ${r.horizonDays ?? 'unknown'} days. Metrics on the test split.`,
    '',
    table(rows),
    '',
    'Deciles of predicted value (1 = highest), ZILN:',
    table(deciles),
    ...(r.bgNbd ? ['', `BG/NBD r=${r.bgNbd.params.r.toPrecision(3)} alpha=${r.bgNbd.params.alpha.toPrecision(3)} a=${r.bgNbd.params.a.toPrecision(3)} b=${r.bgNbd.params.b.toPrecision(3)}; Gamma-Gamma p=${r.bgNbd.spend.p.toPrecision(3)} q=${r.bgNbd.spend.q.toPrecision(3)} gamma=${r.bgNbd.spend.gamma.toPrecision(3)} (fitted on ${r.bgNbd.customers} training customers)`] : []),
    ...(r.singleFeatureAuc?.length ? [`Single-feature AUC for who buys (leakage check): ${r.singleFeatureAuc.slice(0, 5).map((f) => `${f.feature} ${f.auc.toFixed(3)}`).join(', ')}`] : []),
    `Training: ${r.history.length} epochs (best ${r.bestEpoch} restored), ${fmtCount(r.training.samplesPerSecond)} samples/s, ${r.training.seconds.toFixed(1)}s`,
    ...formatFairness(r.fairness, 'the top 10% by actual value'),
  ].join('\n');
}

/** What a CLTV model achieves, for the report page's summary. */
export function cltvSummary(r: CltvReport): string[] {
  const m = r.test.model;
  const other = (name: string, b: ValueMetrics | string) => (typeof b === 'string' ? `${name}: not measured` : `${fixed(b.normalizedGini, 3)} for ${name}`);
  const total = m.deciles.reduce((s, d) => s + d.actual * d.rows, 0);
  const rows = m.deciles.reduce((s, d) => s + d.rows, 0) || 1;
  const top = m.deciles[0];
  return [
    `Ranks customers by value with normalized Gini ${fixed(m.normalizedGini, 3)} on the held-out test split, against ${other('the last window', r.test.lastWindow)} and ${other('BG/NBD + Gamma-Gamma', r.test.bgNbd)}.`,
    top && total > 0 ? `The top 10% of predictions hold ${percent((top.actual * top.rows) / total, 0)} of the actual value.` : 'No actual value in the test split to rank.',
    `Calibration: mean predicted ${fixed(m.deciles.reduce((s, d) => s + d.predicted * d.rows, 0) / rows, 2)} per customer vs actual ${fixed(total / rows, 2)}; in the top decile ${fixed(top?.predicted ?? NaN, 2)} vs ${fixed(top?.actual ?? NaN, 2)}.`,
  ];
}

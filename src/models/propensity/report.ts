/** The propensity kind's sections of the model report page: curves and deciles against the logistic baseline, data checks. */
import type { CurvePoint, DecileRow } from '../../metrics/classification.js';
import { barChart, binnedChart, confusionChart, horizontalBars, lineChart, renderSvg, type Series } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import { histogramRows, historyChart, NO_CURVES } from '../report-html.js';
import { fixed, percent } from '../report-text.js';
import type { PropensityReport } from './evaluate.js';
import type { Evaluation } from './test-metrics.js';

/** The sections of a propensity model's report page, from its stored report. */
export async function propensitySections(r: PropensityReport): Promise<Section[]> {
  const m = r.test.mlp;
  const b = r.test.baseline;
  const both = (f: (e: Evaluation) => Array<[number, number]>): Series[] => [
    { name: 'MLP (this model)', points: f(m) },
    { name: 'logistic baseline', points: f(b) },
  ];
  const charts: string[] = [];
  if (m.curves) {
    charts.push(await renderSvg(lineChart(both((e) => e.curves?.roc ?? []), { title: `ROC (AUC ${fixed(m.rocAuc, 3)} vs ${fixed(b.rocAuc, 3)})`, x: 'false positive rate', y: 'true positive rate', diagonal: 'chance' })));
    charts.push(await renderSvg(lineChart(both((e) => e.curves?.pr ?? []), { title: `Precision-recall (AP ${fixed(m.prAuc, 3)} vs ${fixed(b.prAuc, 3)})`, x: 'recall', y: 'precision' })));
  }
  const deciles = (e: Evaluation, name: string, f: (d: DecileRow) => number) => e.lift.map((d) => ({ category: String(d.decile), series: name, value: f(d) }));
  charts.push(
    await renderSvg(barChart([...deciles(m, 'MLP (this model)', (d) => d.lift), ...deciles(b, 'logistic baseline', (d) => d.lift)], { title: 'Lift by decile of score (1 = highest)', x: 'decile', y: 'lift', rule: { y: 1, label: 'no lift' } })),
  );
  const gains = (e: Evaluation): CurvePoint[] => [[0, 0], ...e.lift.map((d) => [d.decile / e.lift.length, d.cumulativeGain] as CurvePoint)];
  charts.push(await renderSvg(lineChart(both(gains), { title: 'Cumulative gains', x: 'share of visitors, highest scores first', y: 'share of conversions captured', diagonal: 'random', dots: true })));
  const reliability = (e: Evaluation): CurvePoint[] => e.calibration.map((c) => [c.meanPredicted, c.observedRate]);
  charts.push(await renderSvg(lineChart(both(reliability), { title: 'Calibration (reliability)', x: 'mean predicted probability', y: 'observed conversion rate', diagonal: 'perfect', dots: true })));
  if (m.curves) charts.push(await renderSvg(binnedChart(histogramRows(m.curves.histogram, 'converted', 'did not'), { title: 'Scores by class (test split)', x: 'calibrated score', y: 'visitors' })));
  const c = m.atThreshold;
  charts.push(await renderSvg(confusionChart(c, `Confusion on test at threshold ${fixed(c.threshold, 4)} (${r.threshold.rule})`)));
  charts.push(await renderSvg(horizontalBars(r.importance.slice(0, 15).map((i) => ({ label: i.feature, value: i.aucDrop })), { title: 'Feature influence: test AUC lost when shuffled', x: 'AUC lost' })));
  if (r.history?.length) charts.push(await renderSvg(historyChart(r.history, r.bestEpoch, r.training.refit && `; the saved model: refitted on training + validation for ${r.bestEpoch} epochs`)));
  const table = [
    { metric: 'ROC-AUC', MLP: fixed(m.rocAuc), baseline: fixed(b.rocAuc) },
    { metric: 'PR-AUC (average precision)', MLP: fixed(m.prAuc), baseline: fixed(b.prAuc) },
    { metric: 'log loss', MLP: fixed(m.logLoss), baseline: fixed(b.logLoss) },
    { metric: 'Brier', MLP: fixed(m.brier), baseline: fixed(b.brier) },
    { metric: 'F1 at threshold', MLP: fixed(m.atThreshold.f1), baseline: fixed(b.atThreshold.f1) },
    { metric: 'share flagged', MLP: percent(m.atThreshold.rate), baseline: percent(b.atThreshold.rate) },
  ];
  return [
    {
      title: 'How well it ranks and predicts (held-out test split)',
      intro: esc(`Stratified split: train ${r.split.train}, validation ${r.split.valid} (early stopping, calibration, threshold), test ${r.split.test} (${r.split.positives.test} positives): every number here is on the test rows. The logistic-regression baseline was trained on the same split.`) + (m.curves ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(table, 'Test metrics')],
    },
    {
      title: 'Data checks',
      blocks: [
        htmlTable(
          [
            { check: 'labeled rows', value: r.checks.rows },
            { check: 'positives', value: `${r.checks.positives} (${percent(r.checks.positives / r.checks.rows)})` },
            { check: 'rows without a usable label, left out', value: r.checks.unlabeled },
          ],
          'Rows',
        ),
        htmlTable(r.checks.singleFeatureAuc.slice(0, 10).map((s) => ({ feature: s.feature, 'AUC alone': fixed(s.auc, 3), note: s.auc >= 0.99 ? 'possible leakage' : '' })), 'Single-feature AUC (leakage check)'),
      ],
    },
  ];
}

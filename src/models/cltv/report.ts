/** The CLTV kind's sections of the model report page: who buys, value by decile and captured, beside the baselines. */
import type { CurvePoint } from '../../metrics/classification.js';
import { barChart, binnedChart, lineChart, renderSvg } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import { histogramRows, historyChart, NO_CURVES } from '../report-html.js';
import { fixed } from '../report-text.js';
import type { ValueMetrics } from '../../metrics/value.js';
import type { CltvReport } from './evaluate.js';

/** The sections of a CLTV model's report page, from its stored report. */
export async function cltvSections(r: CltvReport): Promise<Section[]> {
  const methods: Array<[string, ValueMetrics | string]> = [
    ['ZILN (this model)', r.test.model],
    ['last window', r.test.lastWindow],
    ['BG/NBD + Gamma-Gamma', r.test.bgNbd],
  ];
  const scored = methods.filter((x): x is [string, ValueMetrics] => typeof x[1] !== 'string');
  const charts: string[] = [];
  // Who buys at all in the horizon, ranked by each method's predicted value.
  const withCurves = scored.filter(([, m]) => m.buyers);
  if (withCurves.length) {
    charts.push(
      await renderSvg(
        lineChart(
          withCurves.map(([name, m]) => ({ name: `${name}: AUC ${fixed(m.buyers!.rocAuc, 3)}`, points: m.buyers!.roc })),
          { title: 'Who buys: ROC', x: 'false positive rate', y: 'true positive rate', diagonal: 'chance' },
        ),
      ),
    );
    charts.push(await renderSvg(lineChart(withCurves.map(([name, m]) => ({ name, points: m.buyers!.pr })), { title: 'Who buys: precision-recall', x: 'recall', y: 'precision' })));
    charts.push(await renderSvg(binnedChart(histogramRows(r.test.model.buyers!.histogram, 'bought in the horizon', 'did not'), { title: 'Predicted value by outcome (test split)', x: 'predicted value', y: 'customers (symmetric log scale)', symlog: true })));
  }
  const d = r.test.model.deciles;
  charts.push(
    await renderSvg(
      barChart(
        d.flatMap((x) => [
          { category: String(x.decile), series: 'mean predicted', value: x.predicted },
          { category: String(x.decile), series: 'mean actual', value: x.actual },
        ]),
        { title: 'Value by decile of prediction (1 = highest)', x: 'decile', y: 'value per customer' },
      ),
    ),
  );
  const gains = (m: ValueMetrics): CurvePoint[] => {
    const total = m.deciles.reduce((s, x) => s + x.actual * x.rows, 0) || 1;
    let acc = 0;
    return [[0, 0], ...m.deciles.map((x) => [x.decile / m.deciles.length, (acc += x.actual * x.rows) / total] as CurvePoint)];
  };
  charts.push(await renderSvg(lineChart(scored.map(([name, m]) => ({ name, points: gains(m) })), { title: 'Cumulative value captured', x: 'share of customers, highest predictions first', y: 'share of actual value', diagonal: 'random', dots: true })));
  if (r.history?.length) charts.push(await renderSvg(historyChart(r.history, r.bestEpoch)));
  const rows = methods.map(([method, m]) =>
    typeof m === 'string'
      ? { method, MAE: '-', RMSE: '-', 'normalized Gini': '-', Spearman: '-', note: m }
      : { method, MAE: fixed(m.mae, 2), RMSE: fixed(m.rmse, 2), 'normalized Gini': fixed(m.normalizedGini), Spearman: fixed(m.spearman), note: '' },
  );
  return [
    {
      title: 'How well it predicts value (held-out test split)',
      intro: esc(`Test split: ${r.split.test} customers, ${r.split.buyers.test} with value above 0; horizon ${r.horizonDays ?? 'unknown'} days. Baselines: the last window's spend, and BG/NBD with Gamma-Gamma. The value by decile is the calibration check (mean predicted against mean actual).`) + (r.test.model.buyers ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(rows, 'Test metrics')],
    },
  ];
}

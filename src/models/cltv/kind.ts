/** The CLTV kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { rateThreshold } from '../../metrics/classification.js';
import { checkLabeled, labeledExcluded } from '../columns.js';
import { textReport, type KindDescriptor } from '../kind.js';
import type { CltvReport } from './evaluate.js';
import type { TrainCltvOptions } from './options.js';
import { CLTV_OUTPUTS } from './outputs.js';
import { CLTV_PARAMS } from './params.js';
import { cltvSummary, formatCltvReport } from './text.js';

/** The CLTV kind's descriptor. */
export const CLTV_KIND: KindDescriptor<TrainCltvOptions, CltvReport, typeof CLTV_PARAMS> = {
  kind: 'cltv',
  summary: "customer lifetime value: money over a horizon, e.g. future_value from 'audience events --horizon 90d'",
  help: `A zero-inflated lognormal MLP (Wang, Liu and Miao 2019): the probability of buying at all
and the lognormal spend of those who do. Split 65/15/20 stratified on buying; MAE, RMSE,
normalized Gini, Spearman and deciles on the test split beside the last window's spend
(trailing amount_<w>d scaled to the horizon) and BG/NBD + Gamma-Gamma fitted on the
training customers (from recency_days, tenure_days, active_days, amount_repeat_mean).
Scoring adds <name>_value (expected value over the horizon), <name>_p_active,
<name>_percentile and <name>_bucket.`,
  params: CLTV_PARAMS,
  checkData: checkLabeled,
  excluded: labeledExcluded,
  estimator: async () => (await import('./train.js')).CLTV,
  load: async (m, w) => (await import('./model.js')).CltvModel.fromStore(m, w),
  outputs: () => CLTV_OUTPUTS,
  graph: async () => (await import('../onnx/model-graphs.js')).CLTV_GRAPH,
  // Selected: the top 10% by predicted value; positives: the top 10% by actual value.
  fairness: {
    output: 'value',
    label: 'number',
    threshold: (_m, scores) => rateThreshold(scores, 0.1),
    positives(labels) {
      const top = rateThreshold(labels.filter(Number.isFinite), 0.1);
      return labels.map((v) => (Number.isFinite(v) ? (v >= top && v > 0 ? 1 : 0) : NaN));
    },
  },
  outputsHelp: `<name>_value (expected over the horizon), _p_active, _percentile, _bucket`,
  report: { ...textReport(formatCltvReport), summary: (m) => cltvSummary(m.metrics as unknown as CltvReport), sections: async (m) => (await import('./report.js')).cltvSections(m.metrics as unknown as CltvReport), positives: 'the top 10% by actual value' },
};

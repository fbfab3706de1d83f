/** The anomaly kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { textReport, type KindDescriptor } from '../kind.js';
import type { AnomalyReport } from './evaluate.js';
import type { TrainAnomalyOptions } from './options.js';
import { ANOMALY_OUTPUTS } from './outputs.js';
import { ANOMALY_PARAMS } from './params.js';
import { anomalySummary, formatAnomalyReport } from './text.js';

/** The anomaly kind's descriptor. */
export const ANOMALY_KIND: KindDescriptor<TrainAnomalyOptions, AnomalyReport, typeof ANOMALY_PARAMS> = {
  kind: 'anomaly',
  summary: 'outlier scores and niche segments',
  help: `score = distance to the nearest of --k K-Means centroids / that cluster's spread (median
distance of its members); outliers have score > --threshold. Outliers are clustered again
into at most --niches groups; a group denser than the median segment and over 2 spreads
from every segment is a niche, profiled like a segment. Scoring adds <name>_score,
<name>_cluster, <name>_niche (null unless an outlier near a niche), _percentile.`,
  params: ANOMALY_PARAMS,
  estimator: async () => (await import('./train.js')).ANOMALY,
  load: async (m, w) => (await import('./model.js')).AnomalyModel.fromStore(m, w),
  outputs: () => ANOMALY_OUTPUTS,
  graph: async () => (await import('../onnx/model-graphs.js')).ANOMALY_GRAPH,
  outputsHelp: `<name>_score (distance in spreads), _cluster, _niche (null unless in a
    niche segment), _percentile`,
  report: { ...textReport(formatAnomalyReport), profileLabel: 'Niche', summary: (m) => anomalySummary(m.metrics as unknown as AnomalyReport), sections: async (m) => (await import('./report.js')).anomalySections(m.metrics as unknown as AnomalyReport) },
};

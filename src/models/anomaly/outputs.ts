/** The anomaly kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of an anomaly model (models/model.ts KindOutputs). */
export const ANOMALY_OUTPUTS: KindOutputs = {
  columns: [{ output: 'score', type: 'FLOAT' }, { output: 'cluster', type: 'INTEGER' }, { output: 'niche', type: 'INTEGER' }],
  ranked: [{ source: 'score', percentile: 'percentile' }],
};

/** The propensity kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of a propensity model (models/model.ts KindOutputs). */
export const PROPENSITY_OUTPUTS: KindOutputs = {
  columns: [{ output: 'probability', type: 'FLOAT' }, { output: 'score', type: 'INTEGER' }, { output: 'top_features', type: 'VARCHAR', option: 'topFeatures' }],
  ranked: [{ source: 'probability', percentile: 'percentile', bucket: 'bucket' }],
};

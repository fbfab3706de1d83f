/** The cltv kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of a cltv model (models/model.ts KindOutputs). */
export const CLTV_OUTPUTS: KindOutputs = {
  columns: [{ output: 'value', type: 'FLOAT' }, { output: 'p_active', type: 'FLOAT' }],
  ranked: [{ source: 'value', percentile: 'percentile', bucket: 'bucket' }],
};

/** The btyd kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of a bgnbd model (models/model.ts KindOutputs). */
export const BGNBD_OUTPUTS: KindOutputs = {
  columns: [{ output: 'purchases', type: 'FLOAT' }, { output: 'value', type: 'FLOAT' }],
  ranked: [{ source: 'value', percentile: 'percentile', bucket: 'bucket' }],
};

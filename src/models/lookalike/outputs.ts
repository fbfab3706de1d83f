/** The lookalike kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of a lookalike model (models/model.ts KindOutputs). */
export const LOOKALIKE_OUTPUTS: KindOutputs = {
  columns: [{ output: 'similarity', type: 'FLOAT' }, { output: 'is_seed', type: 'INTEGER' }],
  ranked: [{ source: 'similarity', percentile: 'percentile', rank: 'rank', excludeIf: 'is_seed' }],
};

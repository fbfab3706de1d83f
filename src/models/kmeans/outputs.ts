/** The kmeans kind's score columns as data (models/model.ts KindOutputs): what a plan names from a manifest alone and what a loaded model writes. */
import type { KindOutputs } from '../model.js';

/** The score columns of a kmeans model (models/model.ts KindOutputs). */
export const KMEANS_OUTPUTS: KindOutputs = {
  columns: [{ output: 'segment', type: 'INTEGER' }, { output: 'distance', type: 'FLOAT' }],
  ranked: [],
};

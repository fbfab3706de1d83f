/**
 * The lookalike's baselines, scored the same way as its own methods in the built-in
 * evaluation: k-nearest-neighbour cosine on the standardized features, and a logistic
 * seed-vs-population model.
 */
import { gatherRows } from '../../util/matrix.js';
import { fitClassifier, logits } from './fit.js';
import type { Population } from './population.js';
import { SeedIndex } from './similarity.js';

/** Each row's mean cosine to its `k` nearest of the seeds `indexRows`, on the standardized features. */
export async function rawKnnScores(pop: Population, indexRows: Int32Array, k: number): Promise<Float32Array> {
  const index = new SeedIndex(gatherRows(pop.x, pop.d, indexRows), pop.d, k);
  try {
    return await index.similarity(pop.x, 'knn');
  } finally {
    index.dispose();
  }
}

/** Each row's logit under a logistic seed-vs-population model fitted on the seeds `trainSeeds` (flagged in `pop.isSeed`). */
export async function logisticScores(pop: Population, trainSeeds: Int32Array, negativesPerSeed: number, seed: number): Promise<Float32Array> {
  const lr = await fitClassifier(pop, trainSeeds, [], { negativesPerSeed, seed });
  try {
    return await logits(lr.mlp, pop.x, pop.d);
  } finally {
    lr.mlp.dispose();
  }
}

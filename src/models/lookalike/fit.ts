/**
 * The lookalike estimator's fit step: the seed-vs-population classifier (seeds against sampled
 * non-seeds) whose last hidden layer is the visitor embedding, learned from every seed; the
 * seeds' embeddings indexed, the population's centre, the blend's scales. The classifier and
 * the helpers here serve the evaluation's held-out fit too.
 */
import { gatherRows } from '../../util/matrix.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { fitMlp, type Labeled } from '../nn/fit.js';
import type { Mlp, MlpConfig } from '../nn/mlp.js';
import { blendStats, type BlendStats } from './model.js';
import { settings, type TrainLookalikeOptions } from './options.js';
import type { PreparedLookalike } from './prepare.js';
import { SeedIndex } from './similarity.js';

/** Seeds kept in a k-nearest index: beyond this, a uniform sample (the matMul per visitor grows with it). */
export const MAX_INDEX_SEEDS = 10_000;

/** At most MAX_INDEX_SEEDS of the rows, sampled uniformly (sorted, for memory order). */
export function indexSample(rows: Int32Array, rng: Rng): Int32Array {
  if (rows.length <= MAX_INDEX_SEEDS) return rows;
  return rng.shuffle(Int32Array.from(rows)).subarray(0, MAX_INDEX_SEEDS).sort();
}

/** Each column's mean over the rows of x (rows x d). */
export function columnMeans(x: Float32Array, d: number): Float32Array {
  const m = new Float32Array(d);
  const n = x.length / d;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j] / n;
  return m;
}

/** The network's embedding of every row of x (rows x d): rows x its last hidden width. */
export async function embedRows(mlp: Mlp, x: Float32Array, d: number): Promise<Float32Array> {
  return mlp.inSpans(x, d, mlp.embeddingWidth, (b) => mlp.embed(b));
}

/** The network's logit for every row of x (rows x d). */
export async function logits(mlp: Mlp, x: Float32Array, d: number): Promise<Float32Array> {
  return mlp.inSpans(x, d, 1, (b) => mlp.logits(b));
}

/** Trains the seed-vs-population classifier on the given seed rows and sampled non-seeds. */
export async function fitClassifier(
  pop: { x: Float32Array; isSeed: Uint8Array; d: number; rows: number },
  seedRows: Int32Array,
  hidden: number[],
  opts: { negativesPerSeed: number; seed: number; progress?: Progress },
) {
  const rng = new Rng(opts.seed ^ 0x100c);
  const nonSeed: number[] = [];
  for (let r = 0; r < pop.rows; r++) if (!pop.isSeed[r]) nonSeed.push(r);
  rng.shuffle(nonSeed);
  const negatives = nonSeed.slice(0, Math.min(nonSeed.length, Math.max(10_000, opts.negativesPerSeed * seedRows.length)));
  const rows = rng.shuffle(Int32Array.from([...seedRows, ...negatives]));
  const nValid = Math.max(1, Math.round(rows.length * 0.1));
  const labeled: Labeled = { x: pop.x, y: pop.isSeed, d: pop.d };
  const config: MlpConfig = { inputs: pop.d, hidden, dropout: hidden.length ? 0.1 : 0, l2: 1e-3, learningRate: 1e-3, seed: opts.seed };
  const batchSize = Math.min(4096, Math.max(256, Math.round(rows.length / 50)));
  return fitMlp(labeled, rows.subarray(nValid).slice().sort(), rows.subarray(0, nValid).slice().sort(), config, { batchSize, maxEpochs: 100, patience: 8, classWeight: 'balanced', progress: opts.progress });
}

/** A fitted, unsaved lookalike: the classifier learned from every seed, the seeds' embeddings (indexed) and the population's centre. */
export interface FittedLookalike {
  mlp: Mlp;
  seedEmbeddings: Float32Array;
  center: Float32Array;
  indexed: number;
  epochs: number;
  /** The blend's scales over the whole population (computed when the method may be the blend). */
  blend?: BlendStats;
  dispose(): void;
}

/**
 * The saved model learns from every seed: the classifier, the embeddings of (at most
 * MAX_INDEX_SEEDS of) the seeds and the population's mean embedding; the blend's scales when
 * the method may be the blend.
 */
export async function fitLookalike(p: PreparedLookalike, opts: TrainLookalikeOptions): Promise<FittedLookalike> {
  const { seed, mode, k, hidden, negativesPerSeed, method } = settings(opts);
  const { pop } = p;
  const training = (opts.progress ?? (() => silentProgress))('train', 'samples');
  const final = await fitClassifier(pop, p.seedRows, hidden, { negativesPerSeed, seed, progress: training });
  const e = final.mlp.embeddingWidth;
  const finalEmb = await embedRows(final.mlp, pop.x, pop.d);
  const indexRows = indexSample(p.seedRows, new Rng(seed ^ 0x1d3));
  const seedEmbeddings = gatherRows(finalEmb, e, indexRows);
  const center = columnMeans(finalEmb, e);
  // The blend's scales come from the final model's scores over the whole population.
  let stats: BlendStats | undefined;
  if (method === 'auto' || method === 'blend') {
    const finalIndex = new SeedIndex(seedEmbeddings, e, k, center);
    stats = blendStats(await finalIndex.similarity(finalEmb, mode), await logits(final.mlp, pop.x, pop.d));
    finalIndex.dispose();
  }
  training.done(`${final.history.length} epochs`);
  return { mlp: final.mlp, seedEmbeddings, center, indexed: indexRows.length, epochs: final.history.length, ...(stats && { blend: stats }), dispose: () => final.mlp.dispose() };
}

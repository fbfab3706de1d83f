/**
 * The lookalike estimator's evaluate step, the built-in evaluation: 20% of the seeds are held
 * out, the rest expand, and recall of the held-out seeds at 1/5/10/20% of the population and
 * the AUC of the ranking are reported for each of its own methods beside two baselines
 * (baselines.ts); the saved model's scoring method is chosen here. The report type.
 */
import { classHistogram, rocAuc, type CurvePoint, type HistogramBin } from '../../metrics/classification.js';
import { gatherRows } from '../../util/matrix.js';
import { silentProgress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { logisticScores, rawKnnScores } from './baselines.js';
import { columnMeans, embedRows, fitClassifier, indexSample, logits, type FittedLookalike } from './fit.js';
import { blend, blendStats, type LookalikeMethod } from './model.js';
import { settings, type TrainLookalikeOptions } from './options.js';
import type { PreparedLookalike } from './prepare.js';
import { SeedIndex } from './similarity.js';

/** The shares of the non-seed population at which recall of the held-out seeds is reported. */
export const RECALL_AT = [0.01, 0.05, 0.1, 0.2];

/** One scoring method measured on the held-out seeds. */
export interface MethodEvaluation {
  method: string;
  auc: number;
  /** Share of held-out seeds found in the top 1/5/10/20% of the non-seed population. */
  recall: number[];
  /** For plots: (share of the population taken, share of held-out seeds found), 50 points. */
  curve?: CurvePoint[];
  /** For plots: the score's histogram for held-out seeds (positives) and the other candidates. */
  histogram?: HistogramBin[];
  /** The model's own scoring method (embedding, classifier or blend) this row measures, if one. */
  own?: LookalikeMethod;
  /** The method the saved model scores with (the best own method by held-out recall@10%). */
  chosen?: boolean;
}

/** What training a lookalike reports (and stores as the manifest's metrics). */
export interface LookalikeReport {
  seeds: { given: number; found: number; missing: number; missingExamples: string[]; train: number; heldOut: number; indexed: number };
  population: number;
  evaluation: MethodEvaluation[];
  recallAt: number[];
  /** What the saved model scores with. */
  method?: LookalikeMethod;
  embedding: { dims: number; epochs: number };
}

/** Recall at 10% of the population: the measure the scoring method is chosen by. */
const CHOOSE_AT = 0.1;

/**
 * The scoring method for the saved model: the one asked for, or (auto) the own method with
 * the highest held-out recall at 10% (ties: embedding, then classifier); marks it chosen.
 */
function chooseMethod(evaluation: MethodEvaluation[], asked: LookalikeMethod | 'auto' | undefined): LookalikeMethod {
  const at = RECALL_AT.indexOf(CHOOSE_AT);
  const own = evaluation.filter((m) => m.own);
  const best = asked && asked !== 'auto' ? own.find((m) => m.own === asked)! : own.reduce((a, b) => (b.recall[at] > a.recall[at] + 1e-12 ? b : a));
  best.chosen = true;
  best.method += ' (this model)';
  return best.own!;
}

/** Recall of the positives within the top shares of candidates, and the AUC, by score. */
export function expansionQuality(scores: Float32Array, candidates: Int32Array, positive: Uint8Array, shares: number[]) {
  const s = Float32Array.from(candidates, (r) => scores[r]);
  const y = Uint8Array.from(candidates, (r) => positive[r]);
  const order = Array.from(candidates.keys()).sort((a, b) => s[b] - s[a]);
  const total = y.reduce((a, b) => a + b, 0);
  // Held-out seeds found within the top i candidates, for every i.
  const found = new Int32Array(order.length + 1);
  for (let i = 0; i < order.length; i++) found[i + 1] = found[i] + y[order[i]];
  const recallAt = (share: number) => (total ? found[Math.round(share * candidates.length)] / total : NaN);
  const curve = Array.from({ length: 51 }, (_, i) => [i / 50, recallAt(i / 50)] as CurvePoint);
  return { auc: rocAuc(s, y), recall: shares.map(recallAt), curve, histogram: classHistogram(s, y) };
}

/**
 * The built-in evaluation: a classifier learned from the seeds not held out; recall of the
 * held-out seeds at 1/5/10/20% of the population by the embedding's similarity, the
 * classifier's logit (positive-unlabeled learning) and their blend, beside k-nearest cosine
 * on the standardized features and a logistic seed-vs-population model (baselines.ts); the saved model's
 * method is chosen here (the best own method by held-out recall@10%, unless one was asked for).
 */
export async function evaluateLookalike(p: PreparedLookalike, f: FittedLookalike, opts: TrainLookalikeOptions): Promise<LookalikeReport> {
  const { seed, mode, k, hidden, negativesPerSeed } = settings(opts);
  const { pop, held, trainSeeds } = p;
  const heldFlag = new Uint8Array(pop.rows);
  for (const r of held) heldFlag[r] = 1;
  const trainFlag = new Uint8Array(pop.rows);
  for (const r of trainSeeds) trainFlag[r] = 1;
  const candidates = new Int32Array(pop.rows - trainSeeds.length);
  for (let r = 0, i = 0; r < pop.rows; r++) if (!trainFlag[r]) candidates[i++] = r;
  // The classifier must not see held-out seeds as positives: train on a copy of the flags.
  const evalPop = { ...pop, isSeed: trainFlag };
  const quality = (scores: Float32Array) => expansionQuality(scores, candidates, heldFlag, RECALL_AT);

  const evaluating = (opts.progress ?? (() => silentProgress))('evaluate', 'methods');
  const evaluation: MethodEvaluation[] = [];
  const net = await fitClassifier(evalPop, trainSeeds, hidden, { negativesPerSeed, seed });
  const e = net.mlp.embeddingWidth;
  const allEmb = await embedRows(net.mlp, pop.x, pop.d);
  const indexRows = indexSample(trainSeeds, new Rng(seed ^ 0x1d2));
  const embIndex = new SeedIndex(gatherRows(allEmb, e, indexRows), e, k, columnMeans(allEmb, e));
  const ours = await embIndex.similarity(allEmb, mode);
  embIndex.dispose();
  const classifier = await logits(net.mlp, pop.x, pop.d);
  net.mlp.dispose();
  const blended = blend(ours, classifier, blendStats(ours, classifier));
  evaluation.push({ method: `embedding ${mode === 'knn' ? `k=${k} nearest seeds` : 'centroid'}`, own: 'embedding', ...quality(ours) });
  evaluation.push({ method: 'seed-vs-population MLP (the embedding\'s network)', own: 'classifier', ...quality(classifier) });
  evaluation.push({ method: 'blend: embedding + MLP, standardized, averaged', own: 'blend', ...quality(blended) });
  evaluating.update(1, 3);
  const method = chooseMethod(evaluation, opts.method);

  evaluation.push({ method: `baseline: k=${k} nearest seeds, cosine on standardized features`, ...quality(await rawKnnScores(pop, indexRows, k)) });
  evaluating.update(2, 3);

  evaluation.push({ method: 'baseline: logistic seed-vs-population', ...quality(await logisticScores(evalPop, trainSeeds, negativesPerSeed, seed)) });
  evaluating.update(3, 3);
  evaluating.done(`scores by ${method}`);
  return {
    seeds: { given: pop.given, found: pop.seedIds.length, missing: pop.missing.length, missingExamples: pop.missing.slice(0, 10), train: trainSeeds.length, heldOut: held.length, indexed: f.indexed },
    population: pop.rows,
    evaluation,
    recallAt: RECALL_AT,
    method,
    embedding: { dims: hidden[hidden.length - 1], epochs: f.epochs },
  };
}

/**
 * Lookalike training: a seed-vs-population classifier (seeds against sampled non-seeds)
 * whose last hidden layer is the visitor embedding; everyone is scored by similarity to the
 * seeds in that space. Evaluation is built in: 20% of the seeds are held out, the rest
 * expand, and recall of the held-out seeds at 1/5/10/20% of the population and the AUC of the
 * ranking are reported beside two baselines computed the same way: k-nearest-neighbour
 * cosine on the standardized features, and a logistic seed-vs-population model.
 * The saved model is then trained on all seeds.
 */
import { initBackend } from '../../compute/backend.js';
import { transformedBatches } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import { parseBool } from '../../io/number-text.js';
import type { ColumnRequest } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import { canonicalId, ID_MATCH_MIN_SHARE } from '../../io/ids.js';
import { classHistogram, rocAuc, type CurvePoint, type HistogramBin } from '../../metrics/classification.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type Progress, type StageProgress } from '../../util/progress.js';
import { concatRows, gatherRows } from '../../util/matrix.js';
import { Rng } from '../../util/rng.js';
import { fitMlp, type Labeled } from '../nn/fit.js';
import type { Mlp, MlpConfig } from '../nn/mlp.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { blend, blendStats, LookalikeModel, type BlendStats, type LookalikeMethod } from './model.js';
import type { SeedSource } from './seeds.js';
import { SeedIndex } from './similarity.js';
import { withDefaults, type KindOptions } from '../params.js';
import { LOOKALIKE_PARAMS } from './params.js';
import { train, type Estimator } from '../estimator.js';

/** Seeds kept in a k-nearest index: beyond this, a uniform sample (the matMul per visitor grows with it). */
export const MAX_INDEX_SEEDS = 10_000;

/** At most MAX_INDEX_SEEDS of the rows, sampled uniformly (sorted, for memory order). */
function indexSample(rows: Int32Array, rng: Rng): Int32Array {
  if (rows.length <= MAX_INDEX_SEEDS) return rows;
  return rng.shuffle(Int32Array.from(rows)).subarray(0, MAX_INDEX_SEEDS).sort();
}
export const RECALL_AT = [0.01, 0.05, 0.1, 0.2];

/**
 * The lookalike trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: `mode`, `k` nearest seeds, `hidden`, `negativesPerSeed`, `method`, ...;
 * defaults from the schemas), the version's name, the seed audience and the held-out share.
 */
export type TrainLookalikeOptions = KindOptions<typeof LOOKALIKE_PARAMS> & {
  name: string;
  seeds: SeedSource;
  /** Share of the seeds held out for the built-in evaluation (default 0.2). */
  holdout?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

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

function columnMeans(x: Float32Array, d: number): Float32Array {
  const m = new Float32Array(d);
  const n = x.length / d;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j] / n;
  return m;
}

function idString(ids: BigInt64Array | (string | null)[], i: number): string {
  return canonicalId(ids[i]) ?? '';
}

/** Whether a filter column's cell (text, or a number when the column is also a feature) equals the filter value. */
function matches(cell: string | number | null, value: string): boolean {
  if (cell === null || (typeof cell === 'number' && Number.isNaN(cell))) return false;
  const v = String(cell);
  const a = Number(v);
  const b = Number(value);
  if (v.trim() !== '' && value.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return a === b;
  const pa = parseBool(v);
  const pb = parseBool(value);
  if (!Number.isNaN(pa) && !Number.isNaN(pb)) return pa === pb;
  return v === value;
}

/** All feature rows in memory, with a seed flag per row. */
async function loadPopulation(data: Dataset, transform: FittedTransform, seeds: SeedSource, progress: Progress) {
  const d = transform.outputs.length;
  const extra: ColumnRequest[] = 'column' in seeds ? [{ name: seeds.column, as: 'text' }] : [];
  const wanted = 'ids' in seeds ? new Set(seeds.ids) : undefined;
  const found = new Set<string>();
  const parts: Float32Array[] = [];
  const flags: Uint8Array[] = [];
  const seedIds: string[] = [];
  let rows = 0;
  for await (const { batch, block } of transformedBatches(data, transform, extra)) {
    const flag = new Uint8Array(block.rows);
    const filter = 'column' in seeds ? (batch.columns.get(seeds.column) as ArrayLike<string | number | null>) : undefined;
    for (let i = 0; i < block.rows; i++) {
      const id = idString(block.ids, i);
      const isSeed = wanted ? wanted.has(id) : matches(filter![i], (seeds as { value: string }).value);
      if (isSeed) {
        flag[i] = 1;
        if (!found.has(id)) seedIds.push(id);
        found.add(id);
      }
    }
    parts.push(block.data);
    flags.push(flag);
    rows += block.rows;
    progress.update(rows, data.rowCount);
  }
  const { x, y: isSeed } = concatRows(parts, flags, d);
  const missing = wanted ? [...wanted].filter((id) => !found.has(id)) : [];
  return { x, isSeed, d, rows, seedIds, missing, given: wanted ? wanted.size : found.size };
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

/** The network's embedding of every row of x (rows x d): rows x its last hidden width. */
async function embedRows(mlp: Mlp, x: Float32Array, d: number): Promise<Float32Array> {
  return mlp.inSpans(x, d, mlp.embeddingWidth, (b) => mlp.embed(b));
}

/** The network's logit for every row of x (rows x d). */
async function logits(mlp: Mlp, x: Float32Array, d: number): Promise<Float32Array> {
  return mlp.inSpans(x, d, 1, (b) => mlp.logits(b));
}

/** Trains the seed-vs-population classifier on the given seed rows and sampled non-seeds. */
async function fitClassifier(
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

type Population = Awaited<ReturnType<typeof loadPopulation>>;

/** The population in memory with its seeds found and checked, and the held-out seeds drawn. */
export interface PreparedLookalike {
  data: Dataset;
  transform: FittedTransform;
  pop: Population;
  /** How the seeds were given, in words (the file, or "column = value"). */
  source: string;
  /** Every seed row, and the split of them for the built-in evaluation. */
  seedRows: Int32Array;
  held: Int32Array;
  trainSeeds: Int32Array;
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

/** Resolved options: the defaults filled in. */
function settings(opts: TrainLookalikeOptions) {
  const o = withDefaults(LOOKALIKE_PARAMS, opts);
  if (o.hidden.length === 0) throw new UserError('a lookalike embedding needs at least one hidden layer (--hidden 64,32)');
  return { ...o, holdout: opts.holdout ?? 0.2 };
}

/**
 * Reads the population, finds the seeds and holds out `holdout` of them for the evaluation.
 * @throws UserError when too few seeds are found, or under half of a seed list matches.
 */
async function prepareLookalike(data: Dataset, transform: FittedTransform, opts: TrainLookalikeOptions): Promise<PreparedLookalike> {
  const { seed, holdout } = settings(opts);
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const pop = await loadPopulation(data, transform, opts.seeds, loading);
  const found = pop.seedIds.length;
  loading.done(`${found} of ${pop.given} seeds found among ${pop.rows} visitors`);
  const { minSeeds } = settings(opts);
  const source = 'file' in opts.seeds ? `${opts.seeds.file}` : `${opts.seeds.column} = ${opts.seeds.value}`;
  if ('ids' in opts.seeds && found < ID_MATCH_MIN_SHARE * pop.given) {
    throw new UserError(
      `seed audience (${source}): only ${found} of ${pop.given} seeds are in the population (under ${ID_MATCH_MIN_SHARE * 100}%), e.g. ${pop.missing.slice(0, 5).join(', ')} are missing. ` +
        `Check that the seed file's ids are the same ids as the population's id column${transform.id.column ? ` ("${transform.id.column}")` : ''}.`,
    );
  }
  if (found < minSeeds) {
    throw new UserError(
      `seed audience (${source}): ${found} of ${pop.given} seeds are in the population; at least ${minSeeds} are needed for a lookalike worth trusting` +
        (pop.missing.length ? ` (${pop.missing.length} ids not found, e.g. ${pop.missing.slice(0, 5).join(', ')})` : '') +
        '. Add seeds, or lower --min-seeds.',
    );
  }
  if (found === pop.rows) throw new UserError(`seed audience (${source}): every visitor is a seed; there is no one to expand to`);
  const seedRows: number[] = [];
  for (let r = 0; r < pop.rows; r++) if (pop.isSeed[r]) seedRows.push(r);
  new Rng(seed ^ 0x5eed5).shuffle(seedRows);
  const nHeld = Math.max(1, Math.round(seedRows.length * holdout));
  return {
    data,
    transform,
    pop,
    source,
    seedRows: Int32Array.from(seedRows).sort(),
    held: Int32Array.from(seedRows.slice(0, nHeld)).sort(),
    trainSeeds: Int32Array.from(seedRows.slice(nHeld)).sort(),
  };
}

/**
 * The saved model learns from every seed: the classifier, the embeddings of (at most
 * MAX_INDEX_SEEDS of) the seeds and the population's mean embedding; the blend's scales when
 * the method may be the blend.
 */
async function fitLookalike(p: PreparedLookalike, opts: TrainLookalikeOptions): Promise<FittedLookalike> {
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

/**
 * The built-in evaluation: a classifier learned from the seeds not held out; recall of the
 * held-out seeds at 1/5/10/20% of the population by the embedding's similarity, the
 * classifier's logit (positive-unlabeled learning) and their blend, beside k-nearest cosine
 * on the standardized features and a logistic seed-vs-population model; the saved model's
 * method is chosen here (the best own method by held-out recall@10%, unless one was asked for).
 */
async function evaluateLookalike(p: PreparedLookalike, f: FittedLookalike, opts: TrainLookalikeOptions): Promise<LookalikeReport> {
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

  const rawIndex = new SeedIndex(gatherRows(pop.x, pop.d, indexRows), pop.d, k);
  const raw = await rawIndex.similarity(pop.x, 'knn');
  rawIndex.dispose();
  evaluation.push({ method: `baseline: k=${k} nearest seeds, cosine on standardized features`, ...quality(raw) });
  evaluating.update(2, 3);

  const lr = await fitClassifier(evalPop, trainSeeds, [], { negativesPerSeed, seed });
  const lrScores = await logits(lr.mlp, pop.x, pop.d);
  lr.mlp.dispose();
  evaluation.push({ method: 'baseline: logistic seed-vs-population', ...quality(lrScores) });
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

/** Writes the fitted lookalike, scoring by the report's method, as the next version of `opts.name`. */
async function saveLookalike(store: ModelStore, p: PreparedLookalike, f: FittedLookalike, report: LookalikeReport, opts: TrainLookalikeOptions): Promise<LookalikeModel> {
  const backend = await initBackend();
  const { seed, mode, k, hidden, negativesPerSeed, holdout, method } = settings(opts);
  return LookalikeModel.save(
    store,
    {
      ...trainedOn('lookalike', opts.name, backend, p.transform, p.data.tables, p.pop.rows),
      params: { seeds: p.source, mode, k, hidden, negativesPerSeed, holdout, method, seed },
      metrics: report as unknown as Record<string, unknown>,
    },
    f.mlp,
    f.seedEmbeddings,
    f.center,
    { mode, k, mlp: f.mlp.config, seedIds: p.pop.seedIds, method: report.method, ...(report.method === 'blend' && f.blend && { blend: f.blend }) },
  );
}

/** The lookalike's estimator steps (see models/estimator.ts). */
export const LOOKALIKE: Estimator<TrainLookalikeOptions, PreparedLookalike, FittedLookalike, LookalikeReport, LookalikeModel> = {
  prepare: prepareLookalike,
  fit: fitLookalike,
  evaluate: evaluateLookalike,
  save: saveLookalike,
};

/**
 * Trains a lookalike model: LOOKALIKE's steps composed (see the module comment).
 * @returns the saved model (the caller disposes it) and its report.
 * @throws UserError when too few seeds are found, or under half of a seed list matches.
 */
export async function trainLookalike(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainLookalikeOptions) {
  return train(LOOKALIKE, data, transform, store, opts);
}

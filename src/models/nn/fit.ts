/**
 * Training loop for the MLP: shuffled mini-batches gathered from rows held in (JS) memory,
 * tensors only for the batch in flight, class weights for rare positives, early stopping on
 * the validation loss with the best epoch's weights restored.
 */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { adamFor, Mlp, type MlpConfig, type MlpOptimizer } from './mlp.js';

export interface Labeled {
  /** Row-major rows x d. */
  x: Float32Array;
  y: Uint8Array;
  d: number;
}

/** The network options of the MLP kinds (propensity, cltv), each with its kind's default. */
export interface NetworkOptions {
  name: string;
  label: string;
  hidden?: number[];
  dropout?: number;
  l2?: number;
  learningRate?: number;
  /** Rows per step; default min(4096, max(256, train rows / 50)). */
  batchSize?: number;
  maxEpochs?: number;
  patience?: number;
}

export interface FitOptions {
  batchSize: number;
  maxEpochs: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  /** 'balanced': weight each class by n / (2 n_class); 'none': all 1; 'auto': balanced below 5% positives. */
  classWeight: ClassWeight;
  /** Decay of an exponential moving average of the weights (see EpochOptions.ema); 0 or absent: none. */
  ema?: number;
  /** See EpochOptions.keepLast. */
  keepLast?: boolean;
  progress?: Progress;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
}

export interface FitResult {
  mlp: Mlp;
  history: EpochRecord[];
  bestEpoch: number;
  classWeights: [number, number];
  seconds: number;
  samplesPerSecond: number;
}

export type ClassWeight = 'balanced' | 'none' | 'auto';

/** Below this share of positives, 'auto' weights the classes (measured on UCI: at 15.5% weighting cost AUC). */
export const AUTO_BALANCE_BELOW = 0.05;

/** Class weights [negative, positive]: n / (2 n_class) when balanced (or auto below AUTO_BALANCE_BELOW positives), else [1, 1]. */
export function classWeightsFor(y: Uint8Array, rows: Int32Array, mode: ClassWeight): [number, number] {
  let pos = 0;
  for (const r of rows) pos += y[r];
  const neg = rows.length - pos;
  if (mode === 'none' || (mode === 'auto' && pos / Math.max(1, rows.length) >= AUTO_BALANCE_BELOW)) return [1, 1];
  return [rows.length / (2 * Math.max(1, neg)), rows.length / (2 * Math.max(1, pos))];
}

/** Copies rows into a batch: x [b, d], y [b, 1], sample weights [b, 1]. */
function gather(data: Labeled, rows: ArrayLike<number>, weights: [number, number]) {
  const { d } = data;
  const b = rows.length;
  const x = new Float32Array(b * d);
  const y = new Float32Array(b);
  const w = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const r = rows[i];
    x.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.y[r];
    w[i] = weights[data.y[r]];
  }
  return { x: tf.tensor2d(x, [b, d]), y: tf.tensor2d(y, [b, 1]), w: tf.tensor2d(w, [b, 1]) };
}

/**
 * The network's raw outputs for the given rows of `data.x` (rows x d), in batches of
 * mlp.rowsPerPass(): rows x outputs, row-major (one logit a row for a classifier).
 */
export async function predictLogits(mlp: Mlp, data: Pick<Labeled, 'x' | 'd'>, rows: Int32Array): Promise<Float32Array> {
  const k = mlp.config.outputs ?? 1;
  const batch = mlp.rowsPerPass();
  const out = new Float32Array(rows.length * k);
  for (let s = 0; s < rows.length; s += batch) {
    const x = gatherRows(data, rows.subarray(s, Math.min(rows.length, s + batch)));
    const z = mlp.logits(x);
    out.set(await readData(z), s * k);
    z.dispose();
    x.dispose();
  }
  return out;
}

/** The given rows of `data.x` (rows x d) as a tensor [rows.length, d]; the caller disposes it. */
export function gatherRows(data: Pick<Labeled, 'x' | 'd'>, rows: ArrayLike<number>): tf.Tensor2D {
  const { d } = data;
  const x = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) x.set(data.x.subarray(rows[i] * d, (rows[i] + 1) * d), i * d);
  return tf.tensor2d(x, [rows.length, d]);
}

/** Weighted mean binary cross-entropy of logits (the training objective, without L2). */
export function weightedLoss(logits: Float32Array, data: Labeled, rows: Int32Array, weights: [number, number]): number {
  let s = 0;
  for (let i = 0; i < rows.length; i++) {
    const z = logits[i];
    const y = data.y[rows[i]];
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    s += weights[y] * (softplus - y * z);
  }
  return s / Math.max(1, rows.length);
}

/** How an MLP is trained: batches, passes, early stopping, seed and progress. */
export interface EpochOptions {
  batchSize: number;
  maxEpochs: number;
  patience: number;
  /** Seeds the batch order. */
  seed: number;
  /**
   * Decay of an exponential moving average of the weights, updated after every step (Polyak
   * averaging; the decay ramps up as min(ema, (1 + n) / (10 + n)) over the first steps, as
   * TensorFlow's ExponentialMovingAverage does with num_updates). Validation, early stopping
   * and the weights kept use the average. 0 or absent: none.
   */
  ema?: number;
  /** Run exactly maxEpochs passes and keep the last one's (averaged) weights: no early stopping (a refit for an epoch count already chosen). */
  keepLast?: boolean;
  progress?: Progress;
}

/** What training gave: the best epoch's weights restored in `mlp`, the loss history, timing. */
export interface EpochsResult {
  history: EpochRecord[];
  bestEpoch: number;
  seconds: number;
  samplesPerSecond: number;
}

/**
 * The training loop every MLP kind shares: shuffled batches of the `train` rows, one
 * optimizer step each (`step(rows, optimizer)` returns the batch loss, a scalar it owns no
 * more), the `validLoss()` after each pass, early stopping after `patience` passes without
 * a better one, the best pass's weights restored. The optimizer (Adam, Kingma and Ba 2015)
 * belongs to this run: created here and disposed after, never kept by the model.
 */
export async function trainEpochs(
  mlp: Mlp,
  train: Int32Array,
  opts: EpochOptions,
  step: (rows: Int32Array, optimizer: MlpOptimizer, n: number) => tf.Scalar,
  validLoss: () => Promise<number>,
): Promise<EpochsResult> {
  const rng = new Rng(opts.seed);
  const progress = opts.progress ?? silentProgress;
  const history: EpochRecord[] = [];
  let best = { loss: Infinity, epoch: 0, values: await mlp.snapshot() };
  let n = 0;
  let trained = 0;
  const started = performance.now();
  const order = Int32Array.from(train);
  const optimizer = adamFor(mlp.config);
  let average = opts.ema ? mlp.params.map((p) => tf.clone(p)) : undefined;
  try {
    for (let epoch = 1; epoch <= opts.maxEpochs; epoch++) {
      rng.shuffle(order);
      let lossSum: tf.Scalar = tf.scalar(0);
      let batches = 0;
      for (let s = 0; s < order.length; s += opts.batchSize) {
        const rows = order.subarray(s, Math.min(order.length, s + opts.batchSize));
        const loss = step(rows, optimizer, n++);
        if (average) {
          const decay = Math.min(opts.ema!, (1 + n) / (10 + n));
          const old = average;
          average = tf.tidy(() => mlp.params.map((p, i) => tf.add(tf.mul(old[i], decay), tf.mul(p, 1 - decay))));
          tf.dispose(old);
        }
        const next = tf.add(lossSum, loss) as tf.Scalar;
        tf.dispose([lossSum, loss]);
        lossSum = next;
        batches++;
        trained += rows.length;
        // Samples seen of at most max-epochs passes; early stopping cannot end the run before the
        // best epoch so far plus the patience, so that is the soonest it ends (the ETA is a range).
        const soonest = opts.keepLast ? undefined : Math.min(opts.maxEpochs, best.epoch + opts.patience) * order.length;
        progress.update(trained, opts.maxEpochs * order.length, soonest);
      }
      const trainLoss = (await readData(lossSum))[0] / Math.max(1, batches);
      lossSum.dispose();
      // With an average, the pass is judged (and kept) by the averaged weights; training goes on from its own.
      const live = average ? await mlp.snapshot() : undefined;
      if (average) average.forEach((t, i) => mlp.params[i].assign(t));
      const valid = await validLoss();
      history.push({ epoch, trainLoss, validLoss: valid });
      const improved = opts.keepLast ? epoch === opts.maxEpochs : valid < best.loss - 1e-6;
      if (improved) best = { loss: valid, epoch, values: await mlp.snapshot() };
      if (live) mlp.restore(live);
      if (!opts.keepLast && !improved && epoch - best.epoch >= opts.patience) break;
    }
  } finally {
    optimizer.dispose();
    if (average) tf.dispose(average);
  }
  mlp.restore(best.values);
  const seconds = (performance.now() - started) / 1000;
  return { history, bestEpoch: best.epoch, seconds, samplesPerSecond: trained / Math.max(seconds, 1e-9) };
}

/**
 * Trains an MLP classifier with Adam (Kingma and Ba 2015) on the `train` rows of `data`
 * (rows x d, row-major), with class weights, L2 and dropout, early stopping on the `valid`
 * rows' loss (patience epochs) and the best epoch's weights restored.
 */
export async function fitMlp(data: Labeled, train: Int32Array, valid: Int32Array, config: MlpConfig, opts: FitOptions): Promise<FitResult> {
  const mlp = Mlp.init(config);
  const weights = classWeightsFor(data.y, train, opts.classWeight);
  const run = await trainEpochs(
    mlp,
    train,
    { ...opts, seed: config.seed ^ 0xba7c4 },
    (rows, optimizer, n) => {
      const g = gather(data, rows, weights);
      const loss = mlp.trainStep(g.x as tf.Tensor2D, g.y as tf.Tensor2D, g.w as tf.Tensor2D, n, optimizer);
      tf.dispose([g.x, g.y, g.w]);
      return loss;
    },
    async () => weightedLoss(await predictLogits(mlp, data, valid), data, valid, weights),
  );
  return { mlp, ...run, classWeights: weights };
}

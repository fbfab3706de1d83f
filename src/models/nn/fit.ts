/**
 * Training loop for the MLP: shuffled mini-batches gathered from rows held in (JS) memory,
 * tensors only for the batch in flight, class weights for rare positives, early stopping on
 * the validation loss with the best epoch's weights restored.
 */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { gatherRows as gatherValues } from '../../util/matrix.js';
import { Rng } from '../../util/rng.js';
import { UserError } from '../../util/errors.js';
import { optionName, type NamedOptions } from '../params.js';
import { nativeStepSupports, type StepLoss } from '../onnx/train-graphs.js';
import { adamFor, Mlp, type MlpConfig, type MlpOptimizer } from './mlp.js';
import { classTargets, NativeStepper } from './native.js';
import { BETTER_BY, expectedStop } from './stopping.js';

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

export interface FitOptions extends NamedOptions {
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
  /** See EpochOptions.minDelta. */
  minDelta?: number;
  /** Where the steps run (see Trainer); default 'auto'. */
  trainer?: Trainer;
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
  const b = rows.length;
  const y = Float32Array.from(rows, (r) => data.y[r]);
  const w = Float32Array.from(rows, (r) => weights[data.y[r]]);
  return { x: gatherRows(data, rows), y: tf.tensor2d(y, [b, 1]), w: tf.tensor2d(w, [b, 1]) };
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
  return tf.tensor2d(gatherValues(data.x, data.d, rows), [rows.length, data.d]);
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
  /**
   * The relative drop of the best validation loss a pass must make to count as progress
   * (scikit-learn's tol, relative): `patience` counts passes without one. The best pass's
   * weights are kept whatever the drop. 0 or absent: any drop counts.
   */
  minDelta?: number;
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
 * What a training loop steps: the weights (on tfjs, or host arrays for the native step), one
 * optimizer step on a batch, the batch losses of a pass, and the moving average of the
 * weights (EpochOptions.ema) when it keeps one.
 */
export interface Stepper {
  /** One optimizer step on these rows (`n`: the step's index, from 0); records the batch loss. */
  step(rows: Int32Array, n: number): Promise<void> | void;
  /** The mean batch loss since the last call. */
  passLoss(): Promise<number>;
  /** Folds the current weights into the average: average = decay average + (1 - decay) weights. */
  average(decay: number): void;
  /** Puts the averaged weights in place of the live ones. */
  useAverage(): void;
  /** A copy of the weights in place, in the network's parameter order. */
  snapshot(): Promise<Float32Array[]>;
  /** Puts these weights in place (those of the network too). */
  restore(values: Float32Array[]): void;
  dispose(): void;
}

/**
 * The tfjs stepper of `mlp`: `step(rows, optimizer, n)` runs one step and returns the batch
 * loss (a scalar it owns no more); the optimizer (Adam, adamFor) belongs to this stepper.
 * With `ema`, the average starts at the initial weights.
 */
export function tfjsStepper(mlp: Mlp, ema: boolean, step: (rows: Int32Array, optimizer: MlpOptimizer, n: number) => tf.Scalar): Stepper {
  const optimizer = adamFor(mlp.config);
  let average = ema ? mlp.params.map((p) => tf.clone(p)) : undefined;
  let lossSum: tf.Scalar = tf.scalar(0);
  let batches = 0;
  return {
    step(rows, n) {
      const loss = step(rows, optimizer, n);
      const next = tf.add(lossSum, loss) as tf.Scalar;
      tf.dispose([lossSum, loss]);
      lossSum = next;
      batches++;
    },
    async passLoss() {
      const mean = (await readData(lossSum))[0] / Math.max(1, batches);
      lossSum.dispose();
      lossSum = tf.scalar(0);
      batches = 0;
      return mean;
    },
    average(decay) {
      const old = average!;
      average = tf.tidy(() => mlp.params.map((p, i) => tf.add(tf.mul(old[i], decay), tf.mul(p, 1 - decay))));
      tf.dispose(old);
    },
    useAverage: () => average!.forEach((t, i) => mlp.params[i].assign(t)),
    snapshot: () => mlp.snapshot(),
    restore: (values) => mlp.restore(values),
    dispose() {
      optimizer.dispose();
      lossSum.dispose();
      if (average) tf.dispose(average);
    },
  };
}

/**
 * The training loop every MLP kind shares: shuffled batches of the `train` rows, one
 * optimizer step each by the `stepper` (which this loop disposes), the `validLoss()` after
 * each pass, early stopping after `patience` passes without a better one, the best pass's
 * weights restored (in the stepper and its network).
 */
export async function trainEpochs(train: Int32Array, opts: EpochOptions, stepper: Stepper, validLoss: () => Promise<number>): Promise<EpochsResult> {
  const rng = new Rng(opts.seed);
  const progress = opts.progress ?? silentProgress;
  const history: EpochRecord[] = [];
  let best = { loss: Infinity, epoch: 0, values: await stepper.snapshot() };
  // The last pass that made progress (see minDelta): patience counts from it.
  let progressed = 0;
  // The best validation loss after each pass, and the pass early stopping is expected to end after (the ETA).
  const bests: number[] = [];
  let expected: number | undefined;
  let n = 0;
  let trained = 0;
  const started = performance.now();
  const order = Int32Array.from(train);
  try {
    for (let epoch = 1; epoch <= opts.maxEpochs; epoch++) {
      rng.shuffle(order);
      for (let s = 0; s < order.length; s += opts.batchSize) {
        const rows = order.subarray(s, Math.min(order.length, s + opts.batchSize));
        await stepper.step(rows, n++);
        if (opts.ema) stepper.average(Math.min(opts.ema, (1 + n) / (10 + n)));
        trained += rows.length;
        // Samples seen of at most max-epochs passes; early stopping cannot end the run before the
        // last pass that made progress plus the patience, so that is the soonest it ends (the ETA is
        // a range), and it is expected to end after the `expected` pass (nn/stopping.ts).
        const soonest = opts.keepLast ? undefined : Math.min(opts.maxEpochs, progressed + opts.patience) * order.length;
        progress.update(trained, opts.maxEpochs * order.length, soonest, expected && expected * order.length);
      }
      const trainLoss = await stepper.passLoss();
      // With an average, the pass is judged (and kept) by the averaged weights; training goes on from its own.
      const live = opts.ema ? await stepper.snapshot() : undefined;
      if (opts.ema) stepper.useAverage();
      const valid = await validLoss();
      history.push({ epoch, trainLoss, validLoss: valid });
      const improved = opts.keepLast ? epoch === opts.maxEpochs : valid < best.loss - BETTER_BY;
      if (improved && valid < best.loss * (1 - (opts.minDelta ?? 0))) progressed = epoch;
      if (improved) best = { loss: valid, epoch, values: await stepper.snapshot() };
      if (live) stepper.restore(live);
      bests.push(best.loss);
      expected = opts.keepLast ? undefined : expectedStop(bests, progressed, opts.patience, opts.minDelta ?? 0, opts.maxEpochs);
      if (!opts.keepLast && epoch - progressed >= opts.patience) break;
    }
    stepper.restore(best.values);
  } finally {
    stepper.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return { history, bestEpoch: best.epoch, seconds, samplesPerSecond: trained / Math.max(seconds, 1e-9) };
}

/**
 * Where an MLP classifier trains: 'onnx', the native step on onnxruntime (nn/native.ts, every
 * core); 'tfjs', the backend's kernels (webgpu on a GPU host); 'auto', tfjs on webgpu, else
 * the native step when the network has one (a plain network: no ensemble, no embedding).
 */
export type Trainer = 'auto' | 'onnx' | 'tfjs';

/**
 * Whether `trainer` runs this network on the native step for `loss`.
 * @throws UserError for 'onnx' on a network the native step does not cover, naming the options as `names` does.
 */
export function trainsNatively(trainer: Trainer, config: MlpConfig, loss: StepLoss = 'bce', names: NamedOptions = {}): boolean {
  if (trainer === 'tfjs') return false;
  if (trainer === 'onnx') {
    const name = (key: string) => optionName(names, key);
    if (!nativeStepSupports(config, loss)) throw new UserError(`${name('trainer')} onnx trains plain networks: with ${name('ensemble')} or ${name('embedding')}, use ${name('trainer')} tfjs (or auto)`);
    return true;
  }
  return nativeStepSupports(config, loss) && tf.getBackend() !== 'webgpu';
}

/**
 * Trains an MLP classifier with Adam (Kingma and Ba 2015) on the `train` rows of `data`
 * (rows x d, row-major), with class weights, L2 and dropout, early stopping on the `valid`
 * rows' loss (patience epochs) and the best epoch's weights restored; on the native step or
 * tfjs as `opts.trainer` says (trainsNatively).
 * @throws UserError for --trainer onnx on a network it does not cover.
 */
export async function fitMlp(data: Labeled, train: Int32Array, valid: Int32Array, config: MlpConfig, opts: FitOptions): Promise<FitResult> {
  const weights = classWeightsFor(data.y, train, opts.classWeight);
  const native = trainsNatively(opts.trainer ?? 'auto', config, 'bce', opts);
  const mlp = Mlp.init(config);
  const ema = Boolean(opts.ema);
  const loopOpts = { ...opts, seed: config.seed ^ 0xba7c4 };
  if (native) {
    const stepper = await NativeStepper.create(mlp, data, classTargets(data.y, weights), ema);
    const run = await trainEpochs(train, loopOpts, stepper, async () => weightedLoss(await stepper.logits(valid), data, valid, weights));
    return { mlp, ...run, classWeights: weights };
  }
  const stepper = tfjsStepper(mlp, ema, (rows, optimizer, n) => {
    const g = gather(data, rows, weights);
    const loss = mlp.trainStep(g.x as tf.Tensor2D, g.y as tf.Tensor2D, g.w as tf.Tensor2D, n, optimizer);
    tf.dispose([g.x, g.y, g.w]);
    return loss;
  });
  const run = await trainEpochs(train, loopOpts, stepper, async () => weightedLoss(await predictLogits(mlp, data, valid), data, valid, weights));
  return { mlp, ...run, classWeights: weights };
}

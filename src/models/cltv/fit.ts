/** The CLTV estimator's fit step: the zero-inflated lognormal MLP (ziln.ts) with early stopping on the validation loss. */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { gatherRows, predictLogits, tfjsStepper, trainEpochs, trainsNatively, type EpochRecord, type Trainer } from '../nn/fit.js';
import { Mlp, type MlpConfig } from '../nn/mlp.js';
import { NativeStepper } from '../nn/native.js';
import { withDefaults, type NamedOptions } from '../params.js';
import type { CltvState } from './model.js';
import type { TrainCltvOptions } from './options.js';
import { CLTV_PARAMS } from './params.js';
import type { PreparedCltv, Valued } from './prepare.js';
import { zilnLoss } from './ziln.js';

/** The mean ZILN loss of the given rows (forward pass only). */
async function meanLoss(out: Float32Array, data: Valued, rows: Int32Array): Promise<number> {
  const loss = tf.tidy(() => zilnLoss(tf.tensor2d(out, [rows.length, 3]), tf.tensor2d(Float32Array.from(rows, (r) => data.y[r]), [rows.length, 1])));
  const v = (await readData(loss))[0];
  loss.dispose();
  return v;
}

/**
 * Fits the ZILN network with Adam on shuffled batches of the `train` rows, early stopping on
 * the `valid` rows' loss (patience epochs), best epoch restored. The output biases start at
 * the training rows' buying log-odds and mean log spend, so the first epochs learn features,
 * not the scale of money.
 */
async function fitZiln(data: Valued, train: Int32Array, valid: Int32Array, config: MlpConfig, opts: { batchSize: number; maxEpochs: number; patience: number; trainer: Trainer; progress: Progress } & NamedOptions) {
  const mlp = Mlp.init({ ...config, outputs: 3 });
  let buyers = 0;
  let logSum = 0;
  for (const r of train) {
    if (data.y[r] > 0) {
      buyers++;
      logSum += Math.log(data.y[r]);
    }
  }
  const share = Math.min(0.999, Math.max(0.001, buyers / Math.max(1, train.length)));
  const init = await mlp.snapshot();
  init[init.length - 1] = Float32Array.from([Math.log(share / (1 - share)), buyers ? logSum / buyers : 0, 0.5]);
  mlp.restore(init);
  const loopOpts = { ...opts, seed: config.seed ^ 0xc17 };
  if (trainsNatively(opts.trainer, mlp.config, 'ziln', opts)) {
    const stepper = await NativeStepper.create(mlp, data, (rows) => ({ y: Float32Array.from(rows, (r) => data.y[r]), w: new Float32Array(rows.length).fill(1 / rows.length) }), false, 'ziln');
    return { mlp, ...(await trainEpochs(train, loopOpts, stepper, async () => meanLoss(await stepper.logits(valid), data, valid))) };
  }
  const stepper = tfjsStepper(mlp, false, (rows, optimizer, n) => {
    const x = gatherRows(data, rows);
    const y = tf.tensor2d(Float32Array.from(rows, (r) => data.y[r]), [rows.length, 1]);
    const loss = mlp.lossStep(x, (out) => zilnLoss(out, y), n, optimizer);
    tf.dispose([x, y]);
    return loss;
  });
  return { mlp, ...(await trainEpochs(train, loopOpts, stepper, async () => meanLoss(await predictLogits(mlp, data, valid), data, valid))) };
}

/** A fitted, unsaved CLTV model and how it was fitted. */
export interface FittedCltv {
  mlp: Mlp;
  state: CltvState;
  params: Record<string, unknown>;
  history: EpochRecord[];
  bestEpoch: number;
  training: { seconds: number; samplesPerSecond: number };
  dispose(): void;
}

/** Fits the zero-inflated lognormal MLP (Wang, Liu and Miao 2019) with early stopping on the validation loss. */
export async function fitCltv(p: PreparedCltv, opts: TrainCltvOptions): Promise<FittedCltv> {
  const o = withDefaults(CLTV_PARAMS, opts);
  const seed = o.seed;
  const batchSize = o.batchSize ?? Math.min(4096, Math.max(256, Math.round(p.split.train.length / 50)));
  const config: MlpConfig = { inputs: p.valued.d, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, seed, outputs: 3 };
  const loop = { batchSize, maxEpochs: o.maxEpochs, patience: o.patience, trainer: o.trainer };
  const training = (opts.progress ?? (() => silentProgress))('ziln', 'samples');
  const fit = await fitZiln(p.valued, p.split.train, p.split.valid, config, { ...loop, progress: training, names: opts.names });
  training.done(`best epoch ${fit.bestEpoch} of ${fit.history.length}`);
  const maxValue = p.valued.y.reduce((m, v) => Math.max(m, v), 0);
  return {
    mlp: fit.mlp,
    state: { mlp: config, horizonDays: p.horizonDays, maxValue },
    params: { label: opts.label, hidden: config.hidden, dropout: config.dropout, l2: config.l2, learningRate: config.learningRate, ...loop, horizonDays: p.horizonDays, seed, ...(opts.sensitive?.length && { sensitive: opts.sensitive }) },
    history: fit.history,
    bestEpoch: fit.bestEpoch,
    training: { seconds: fit.seconds, samplesPerSecond: fit.samplesPerSecond },
    dispose: () => fit.mlp.dispose(),
  };
}

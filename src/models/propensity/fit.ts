/**
 * The propensity estimator's fit step: the MLP on the training rows with early stopping on the
 * validation rows, its calibration and decision threshold on validation, and the refit on
 * training + validation; the loop and network settings its logistic baseline shares.
 */
import { silentProgress, type Progress } from '../../util/progress.js';
import { maxF1Threshold, rateThreshold } from '../../metrics/classification.js';
import { fitMlp, predictLogits, type EpochRecord } from '../nn/fit.js';
import type { Mlp, MlpConfig } from '../nn/mlp.js';
import { fitPle } from '../nn/ple.js';
import { calibrate, fitCalibration, type Calibration } from './calibration.js';
import type { PropensityState } from './model.js';
import { resolve, type Resolved, type TrainPropensityOptions } from './options.js';
import { AUTO_BINS, MIN_DELTA, REFIT_ROWS } from './params.js';
import { DEFAULT_TEST, DEFAULT_VALID, type PreparedPropensity } from './prepare.js';

/** How the network was trained: seconds (a refit's included), speed, class weights, and the refit's rows, epochs and seconds. */
export interface TrainingSummary {
  seconds: number;
  samplesPerSecond: number;
  classWeights: [number, number];
  refit?: { rows: number; epochs: number; seconds: number };
}

/** A fitted, unsaved propensity model: the network, its calibration and threshold (from validation), and how it was fitted. */
export interface FittedPropensity {
  mlp: Mlp;
  state: PropensityState;
  /** The resolved params (defaults filled in), as saved. */
  params: Record<string, unknown>;
  history: EpochRecord[];
  bestEpoch: number;
  training: TrainingSummary;
  dispose(): void;
}

/** Batch size: the option, else about 50 batches per epoch within 256..4096 rows. */
function batchSizeFor(opts: Resolved, trainRows: number): number {
  return opts.batchSize ?? Math.min(4096, Math.max(256, Math.round(trainRows / 50)));
}

/** The fitting loop's options; the logistic baseline keeps the default stopping limits (a capped baseline would flatter the MLP). */
export function loopOptions(o: Resolved, prepared: PreparedPropensity, baseline = false) {
  const schemaDefaults = resolve({ name: o.name, label: o.label });
  return {
    batchSize: batchSizeFor(o, prepared.split.train.length),
    maxEpochs: baseline ? schemaDefaults.maxEpochs : o.maxEpochs,
    patience: baseline ? schemaDefaults.patience : o.patience,
    classWeight: o.classWeight,
    // The baseline stays plain logistic regression: no weight averaging.
    ema: baseline ? 0 : o.ema,
    trainer: o.trainer,
    minDelta: o.minDelta === 'auto' ? (prepared.split.train.length >= MIN_DELTA.rows ? MIN_DELTA.value : 0) : o.minDelta,
  };
}

/** The network settings both the MLP and its logistic baseline share. Defaults measured on the UCI data over 5 splits (bench/quality): L2 1e-3 beat 1e-4. */
export function sharedConfig(o: Resolved, d: number): Omit<MlpConfig, 'hidden' | 'dropout'> {
  return { inputs: d, l2: o.l2, learningRate: o.learningRate, seed: o.seed };
}

/** Platt (or isotonic) calibration and the decision threshold, both fitted on the validation rows. */
export async function calibrateOnValidation(mlp: Mlp, p: PreparedPropensity, o: Resolved): Promise<{ calibration: Calibration; threshold: number }> {
  const validLogits = await predictLogits(mlp, p.labeled, p.split.valid);
  const validY = Uint8Array.from(p.split.valid, (r) => p.labeled.y[r]);
  const calibration = fitCalibration(o.calibration, validLogits, validY);
  const validProbs = Float32Array.from(validLogits, (z) => calibrate(calibration, z));
  const rule = o.threshold;
  return { calibration, threshold: rule === 'f1' ? maxF1Threshold(validProbs, validY) : rateThreshold(validProbs, rule) };
}

/**
 * Fits the MLP on the training rows with early stopping on the validation rows (fitMlp), its
 * numeric inputs piecewise-linear encoded by default (nn/ple.ts), then calibration (Platt
 * 1999, or isotonic) and the decision threshold on the validation rows.
 */
export async function fitPropensity(p: PreparedPropensity, opts: TrainPropensityOptions): Promise<FittedPropensity> {
  const o = resolve(opts);
  const progress = opts.progress ?? (() => silentProgress);
  const base = sharedConfig(o, p.labeled.d);
  const numeric = o.numeric;
  const bins = o.bins === 'auto' ? (p.split.train.length < AUTO_BINS.rows ? AUTO_BINS.few : AUTO_BINS.many) : o.bins;
  const encoding =
    numeric === 'ple'
      ? fitPle(p.labeled.x, p.labeled.d, p.split.train, p.groups.filter((g) => g.kind === 'numeric').map((g) => g.start), bins, o.binning)
      : undefined;
  const loop = loopOptions(o, p);
  const training = progress('mlp', 'samples');
  // Dropout 0.2 beat 0 on the UCI data over 5 splits (bench/quality).
  const config: MlpConfig = { ...base, hidden: o.hidden, dropout: o.dropout, encoding, ...(o.ensemble > 1 && { ensemble: o.ensemble }), ...(encoding && o.embedding > 0 && { embedding: o.embedding }) };
  const net = await fitMlp(p.labeled, p.split.train, p.split.valid, config, { ...loop, progress: training, names: opts.names });
  training.done(`best epoch ${net.bestEpoch} of ${net.history.length}`);
  const { calibration, threshold } = await calibrateOnValidation(net.mlp, p, o);
  const refit = refits(o, p, net.bestEpoch) ? await refitOnTrainAndValid(p, config, loop, net.bestEpoch, progress('refit', 'samples')) : undefined;
  if (refit) net.mlp.dispose();
  const mlp = refit?.mlp ?? net.mlp;
  const params = {
    label: opts.label,
    ...(o.positive !== undefined && { positive: o.positive }),
    hidden: mlp.config.hidden,
    dropout: mlp.config.dropout,
    l2: base.l2,
    learningRate: base.learningRate,
    batchSize: loop.batchSize,
    maxEpochs: loop.maxEpochs,
    patience: loop.patience,
    classWeight: loop.classWeight,
    calibration: o.calibration,
    validFraction: opts.validFraction ?? DEFAULT_VALID,
    testFraction: opts.testFraction ?? DEFAULT_TEST,
    numeric,
    ...(encoding && { bins, binning: o.binning, embedding: o.embedding }),
    ema: loop.ema,
    trainer: loop.trainer,
    minDelta: loop.minDelta,
    refit: refit !== undefined,
    ensemble: o.ensemble,
    seed: base.seed,
    ...(opts.sensitive?.length && { sensitive: opts.sensitive }),
  };
  return {
    mlp,
    state: { calibration, threshold, mlp: mlp.config },
    params,
    history: net.history,
    bestEpoch: net.bestEpoch,
    training: {
      seconds: net.seconds + (refit?.seconds ?? 0),
      samplesPerSecond: net.samplesPerSecond,
      classWeights: net.classWeights,
      ...(refit && { refit: { rows: refit.rows, epochs: net.bestEpoch, seconds: refit.seconds } }),
    },
    dispose: () => mlp.dispose(),
  };
}

/** Whether the network is trained again on the training and validation rows (`--refit`). */
function refits(o: Resolved, p: PreparedPropensity, bestEpoch: number): boolean {
  if (bestEpoch === 0) return false; // no pass improved on the initial weights: nothing to repeat
  return o.refit === 'yes' || (o.refit === 'auto' && p.split.train.length + p.split.valid.length < REFIT_ROWS);
}

/**
 * The network trained again from its initialization on the training and validation rows
 * together, for the epochs early stopping chose (`epochs`), the last pass's averaged weights
 * kept: the rows early stopping needed held out are learned from too. Calibration and the
 * threshold stay those fitted on validation for the first network (the refit has seen those
 * rows); the test rows stay held out, so every reported metric is the refit network's.
 */
export async function refitOnTrainAndValid(p: PreparedPropensity, config: MlpConfig, loop: ReturnType<typeof loopOptions>, epochs: number, progress: Progress) {
  const rows = new Int32Array(p.split.train.length + p.split.valid.length);
  rows.set(p.split.train);
  rows.set(p.split.valid, p.split.train.length);
  const net = await fitMlp(p.labeled, rows, new Int32Array(0), config, { ...loop, maxEpochs: epochs, keepLast: true, progress });
  progress.done(`${epochs} epochs on ${rows.length} rows`);
  return { mlp: net.mlp, rows: rows.length, seconds: net.seconds };
}

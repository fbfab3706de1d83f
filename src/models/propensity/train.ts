/**
 * The propensity model's estimator steps (models/estimator.ts): prepare (labeled rows in
 * memory, data checks, a seeded stratified train / validation / test split), fit (the MLP,
 * then calibration and the decision threshold on validation), evaluate (every metric on the
 * untouched test split beside a logistic-regression baseline fitted on the same split), save.
 */
import { initBackend } from '../../compute/backend.js';
import { transformedBatches } from '../../features/blocks.js';
import { booleanValues, featureGroups, labelRequest, type FeatureGroup, type FittedTransform } from '../../features/transform.js';
import { textColumn } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import {
  brier,
  calibrationTable,
  classHistogram,
  confusionAt,
  prCurve,
  rocCurve,
  liftTable,
  logLoss,
  maxF1Threshold,
  prAuc,
  rateThreshold,
  rocAuc,
  type CalibrationBin,
  type Confusion,
  type CurvePoint,
  type DecileRow,
  type HistogramBin,
} from '../../metrics/classification.js';
import { fairnessByGroup, type FairnessReport } from '../../metrics/fairness.js';
import { groupValues, groupRequest } from '../../features/groups.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type Progress, type StageProgress } from '../../util/progress.js';
import { concatRows } from '../../util/matrix.js';
import { Rng } from '../../util/rng.js';
import { requireLabel } from '../columns.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { calibrate, fitCalibration, type Calibration } from './calibration.js';
import { checkTrainingData, stratifiedSplit, type DataChecks } from './checks.js';
import { fitMlp, predictLogits, type EpochRecord, type Labeled } from '../nn/fit.js';
import { withDefaults, type KindOptions } from '../params.js';
import { AUTO_BINS, MIN_DELTA, PROPENSITY_PARAMS, REFIT_ROWS } from './params.js';
import type { Mlp, MlpConfig } from '../nn/mlp.js';
import { fitPle } from '../nn/ple.js';
import { PropensityModel, type PropensityState } from './model.js';
import { train, type Estimator } from '../estimator.js';

/**
 * The propensity trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: `hidden`, `learningRate`, `numeric`, `ensemble`, ...; defaults from the
 * schemas, see withDefaults), the version's name and label, and the split's fractions.
 */
export type TrainPropensityOptions = KindOptions<typeof PROPENSITY_PARAMS> & {
  name: string;
  label: string;
  /** Shares of the labeled rows held out for validation and test (default 0.15, 0.2). */
  validFraction?: number;
  testFraction?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

/** The options with every default in place. */
const resolve = (opts: TrainPropensityOptions) => withDefaults(PROPENSITY_PARAMS, opts);
type Resolved = ReturnType<typeof resolve>;

export interface Evaluation {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  brier: number;
  /** Brier score of the uncalibrated probabilities, for comparison. */
  brierUncalibrated: number;
  atThreshold: Confusion;
  lift: DecileRow[];
  calibration: CalibrationBin[];
  /** For plots: ROC (fpr, tpr) and precision-recall (recall, precision) curves, score histogram by class. */
  curves: { roc: CurvePoint[]; pr: CurvePoint[]; histogram: HistogramBin[] };
}

export interface PropensityReport {
  checks: DataChecks;
  split: { train: number; valid: number; test: number; positives: { train: number; valid: number; test: number } };
  threshold: { rule: string; value: number };
  test: { mlp: Evaluation; baseline: Evaluation };
  history: EpochRecord[];
  bestEpoch: number;
  baselineBestEpoch: number;
  importance: Array<{ feature: string; aucDrop: number }>;
  /** With a refit (see refitOnTrainAndValid): its rows, epochs and seconds, which `seconds` includes. */
  training: { seconds: number; samplesPerSecond: number; classWeights: [number, number]; refit?: { rows: number; epochs: number; seconds: number } };
  /** Per sensitive column, how the calibrated score treats its groups on the test rows at the threshold. */
  fairness?: FairnessReport[];
}

/** Up to 10 distinct values of a column, as text, for messages. */
async function labelValues(data: Dataset, label: string): Promise<string[]> {
  const seen = new Set<string>();
  for await (const batch of data.read([{ name: label, as: 'text' }])) {
    for (const v of textColumn(batch, label)) if (v !== null && seen.size < 10) seen.add(v.trim());
    if (seen.size >= 10) break;
  }
  return [...seen];
}

/**
 * Reads features and label into memory; rows whose label is not 0/1, true/false or yes/no
 * (or, with `positive`, rows whose label is null) are left out. `groupColumns` are read
 * alongside as text (one array per column, by kept row).
 */
export async function loadLabeled(
  data: Dataset,
  transform: FittedTransform,
  label: string,
  progress: Progress,
  groupColumns: string[] = [],
  positive?: string,
): Promise<Labeled & { unlabeled: number; groups: Array<Array<string | null>> }> {
  const column = requireLabel(data, label);
  if (transform.features.some((f) => f.name === label)) throw new UserError(`label "${label}" is also a feature: remove it from the feature spec`);
  const request = labelRequest(column, positive);
  const xs: Float32Array[] = [];
  const ys: Uint8Array[] = [];
  const groups: Array<Array<string | null>> = groupColumns.map(() => []);
  let rows = 0;
  let unlabeled = 0;
  const d = transform.outputs.length;
  const extra = [request, ...groupColumns.filter((c) => c !== label).flatMap((c) => groupRequest(data, transform, c))];
  for await (const { batch, block } of transformedBatches(data, transform, extra)) {
    const y = booleanValues(batch, label, positive);
    const values = groupColumns.map((c) => groupValues(batch, c));
    let keep = 0;
    const x = new Float32Array(block.rows * d);
    const yy = new Uint8Array(block.rows);
    for (let i = 0; i < block.rows; i++) {
      if (Number.isNaN(y[i])) {
        unlabeled++;
        continue;
      }
      x.set(block.data.subarray(i * d, (i + 1) * d), keep * d);
      yy[keep++] = y[i];
      values.forEach((v, c) => groups[c].push(v[i]));
    }
    xs.push(x.subarray(0, keep * d));
    ys.push(yy.subarray(0, keep));
    rows += keep;
    progress.update(rows + unlabeled, data.rowCount);
  }
  return { ...concatRows(xs, ys, d), d, unlabeled, groups };
}

function evaluate(logits: Float32Array, y: Uint8Array, calibrated: Float32Array, threshold: number): Evaluation {
  const raw = Float32Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
  return {
    rocAuc: rocAuc(calibrated, y),
    prAuc: prAuc(calibrated, y),
    logLoss: logLoss(calibrated, y),
    brier: brier(calibrated, y),
    brierUncalibrated: brier(raw, y),
    atThreshold: confusionAt(calibrated, y, threshold),
    lift: liftTable(calibrated, y),
    calibration: calibrationTable(calibrated, y),
    curves: { roc: rocCurve(calibrated, y), pr: prCurve(calibrated, y), histogram: classHistogram(calibrated, y) },
  };
}

/** AUC lost when one feature's columns are shuffled across rows (mean of `repeats`). */
async function permutationImportance(mlp: Mlp, data: Labeled, rows: Int32Array, groups: FeatureGroup[], seed: number, repeats = 2) {
  const { d } = data;
  const n = rows.length;
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.y[r];
  });
  const auc = async (m: Float32Array) => rocAuc(await mlp.inSpans(m, d, 1, (b) => mlp.logits(b)), y);
  const base = await auc(x);
  const rng = new Rng(seed ^ 0x1e9);
  const out: Array<{ feature: string; aucDrop: number }> = [];
  for (const g of groups) {
    let drop = 0;
    for (let r = 0; r < repeats; r++) {
      const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      const shuffled = Float32Array.from(x);
      for (let i = 0; i < n; i++) for (let j = g.start; j < g.start + g.width; j++) shuffled[i * d + j] = x[perm[i] * d + j];
      drop += base - (await auc(shuffled));
    }
    out.push({ feature: g.name, aucDrop: drop / repeats });
  }
  return out.sort((a, b) => b.aucDrop - a.aucDrop);
}

/** The labeled rows and their split, read once through the feature transform. */
export interface PreparedPropensity {
  data: Dataset;
  transform: FittedTransform;
  labeled: Labeled & { unlabeled: number; groups: Array<Array<string | null>> };
  groups: FeatureGroup[];
  checks: DataChecks;
  /** Row indices (into labeled) of the stratified 65/15/20 split. */
  split: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

/** A fitted, unsaved propensity model: the network, its calibration and threshold (from validation), and how it was fitted. */
export interface FittedPropensity {
  mlp: Mlp;
  state: PropensityState;
  /** The resolved params (defaults filled in), as saved. */
  params: Record<string, unknown>;
  history: EpochRecord[];
  bestEpoch: number;
  training: PropensityReport['training'];
  dispose(): void;
}

const DEFAULT_VALID = 0.15;
const DEFAULT_TEST = 0.2;

/** Batch size: the option, else about 50 batches per epoch within 256..4096 rows. */
function batchSizeFor(opts: Resolved, trainRows: number): number {
  return opts.batchSize ?? Math.min(4096, Math.max(256, Math.round(trainRows / 50)));
}

/** The fitting loop's options; the logistic baseline keeps the default stopping limits (a capped baseline would flatter the MLP). */
function loopOptions(o: Resolved, prepared: PreparedPropensity, baseline = false) {
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
function sharedConfig(o: Resolved, d: number): Omit<MlpConfig, 'hidden' | 'dropout'> {
  return { inputs: d, l2: o.l2, learningRate: o.learningRate, seed: o.seed };
}

/** Platt (or isotonic) calibration and the decision threshold, both fitted on the validation rows. */
async function calibrateOnValidation(mlp: Mlp, p: PreparedPropensity, o: Resolved): Promise<{ calibration: Calibration; threshold: number }> {
  const validLogits = await predictLogits(mlp, p.labeled, p.split.valid);
  const validY = Uint8Array.from(p.split.valid, (r) => p.labeled.y[r]);
  const calibration = fitCalibration(o.calibration, validLogits, validY);
  const validProbs = Float32Array.from(validLogits, (z) => calibrate(calibration, z));
  const rule = o.threshold;
  return { calibration, threshold: rule === 'f1' ? maxF1Threshold(validProbs, validY) : rateThreshold(validProbs, rule) };
}

/** A network's calibrated test-row probabilities and every test metric. */
async function onTest(mlp: Mlp, calibration: Calibration, threshold: number, p: PreparedPropensity) {
  const testLogits = await predictLogits(mlp, p.labeled, p.split.test);
  const testY = Uint8Array.from(p.split.test, (r) => p.labeled.y[r]);
  const testProbs = Float32Array.from(testLogits, (z) => calibrate(calibration, z));
  return { testY, testProbs, evaluation: evaluate(testLogits, testY, testProbs, threshold) };
}

/**
 * Reads the labeled rows (rows without a 0/1 label left out and counted), runs the data
 * checks and draws the seeded stratified train / validation / test split.
 * @throws UserError for a missing label column, a label that is also a feature, or data the checks refuse.
 */
async function preparePropensity(data: Dataset, transform: FittedTransform, opts: TrainPropensityOptions): Promise<PreparedPropensity> {
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const o = resolve(opts);
  const labeled = await loadLabeled(data, transform, opts.label, loading, opts.sensitive ?? [], o.positive);
  loading.done(`${labeled.y.length} labeled rows`);
  if (labeled.y.length === 0 && o.positive === undefined) {
    throw new UserError(
      `label "${opts.label}": none of its ${labeled.unlabeled} values is 0/1, true/false or yes/no. If it holds other values (such as ">50K" and "<=50K"), ` +
        'give --positive VALUE, the value that counts as a conversion; every other value counts as none.',
    );
  }
  const groups = featureGroups(transform);
  if (o.positive !== undefined && labeled.y.length > 0 && !labeled.y.includes(1)) {
    throw new UserError(`--positive ${o.positive}: no row of label "${opts.label}" holds it (values found: ${(await labelValues(data, opts.label)).map((v) => `"${v}"`).join(', ')})`);
  }
  const checks = checkTrainingData(labeled.x, labeled.y, labeled.d, groups, opts.label, labeled.unlabeled, o);
  const split = stratifiedSplit(labeled.y, opts.validFraction ?? DEFAULT_VALID, opts.testFraction ?? DEFAULT_TEST, o.seed);
  return { data, transform, labeled, groups, checks, split };
}

/**
 * Fits the MLP on the training rows with early stopping on the validation rows (fitMlp), its
 * numeric inputs piecewise-linear encoded by default (nn/ple.ts), then calibration (Platt
 * 1999, or isotonic) and the decision threshold on the validation rows.
 */
async function fitPropensity(p: PreparedPropensity, opts: TrainPropensityOptions): Promise<FittedPropensity> {
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
  const net = await fitMlp(p.labeled, p.split.train, p.split.valid, config, { ...loop, progress: training });
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
async function refitOnTrainAndValid(p: PreparedPropensity, config: MlpConfig, loop: ReturnType<typeof loopOptions>, epochs: number, progress: Progress) {
  const rows = new Int32Array(p.split.train.length + p.split.valid.length);
  rows.set(p.split.train);
  rows.set(p.split.valid, p.split.train.length);
  const net = await fitMlp(p.labeled, rows, new Int32Array(0), config, { ...loop, maxEpochs: epochs, keepLast: true, progress });
  progress.done(`${epochs} epochs on ${rows.length} rows`);
  return { mlp: net.mlp, rows: rows.length, seconds: net.seconds };
}

/**
 * Every metric on the untouched test rows, beside a logistic-regression baseline fitted,
 * calibrated and thresholded on the same split; permutation importance (Breiman, "Random
 * Forests", 2001) per feature; fairness by group of each sensitive column.
 */
async function evaluatePropensity(p: PreparedPropensity, f: FittedPropensity, opts: TrainPropensityOptions): Promise<PropensityReport> {
  const o = resolve(opts);
  const progress = opts.progress ?? (() => silentProgress);
  const baselineProgress = progress('baseline', 'samples');
  const lr = await fitMlp(p.labeled, p.split.train, p.split.valid, { ...sharedConfig(o, p.labeled.d), hidden: [], dropout: 0 }, { ...loopOptions(o, p, true), progress: baselineProgress });
  baselineProgress.done(`logistic regression, best epoch ${lr.bestEpoch}`);
  let baseline: Evaluation;
  let tested = lr.mlp;
  try {
    const lrFit = await calibrateOnValidation(lr.mlp, p, o);
    // Refitted as the MLP was, so that the comparison stays even.
    if (f.training.refit && lr.bestEpoch > 0) {
      tested = (await refitOnTrainAndValid(p, lr.mlp.config, loopOptions(o, p, true), lr.bestEpoch, progress('baseline refit', 'samples'))).mlp;
      lr.mlp.dispose();
    }
    baseline = (await onTest(tested, lrFit.calibration, lrFit.threshold, p)).evaluation;
  } finally {
    tested.dispose();
  }
  const mlp = await onTest(f.mlp, f.state.calibration, f.state.threshold, p);
  const importanceRows = p.split.test.subarray(0, Math.min(p.split.test.length, 20_000));
  const importance = await permutationImportance(f.mlp, p.labeled, importanceRows, p.groups, o.seed);
  const count = (rows: Int32Array) => rows.reduce((a, r) => a + p.labeled.y[r], 0);
  const { train, valid, test } = p.split;
  return {
    checks: p.checks,
    split: { train: train.length, valid: valid.length, test: test.length, positives: { train: count(train), valid: count(valid), test: count(test) } },
    threshold: { rule: o.threshold === 'f1' ? 'max F1 on validation' : `flag the top ${(100 * o.threshold).toFixed(1)}% on validation`, value: f.state.threshold },
    test: { mlp: mlp.evaluation, baseline },
    history: f.history,
    bestEpoch: f.bestEpoch,
    baselineBestEpoch: lr.bestEpoch,
    importance,
    training: f.training,
    ...(opts.sensitive?.length && {
      fairness: opts.sensitive.map((col, c) => fairnessByGroup(col, Array.from(test, (r) => p.labeled.groups[c][r]), mlp.testProbs, f.state.threshold, mlp.testY)),
    }),
  };
}

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function savePropensity(store: ModelStore, p: PreparedPropensity, f: FittedPropensity, report: PropensityReport, opts: TrainPropensityOptions): Promise<PropensityModel> {
  const backend = await initBackend();
  const manifest = { ...trainedOn('propensity', opts.name, backend, p.transform, p.data.tables, p.labeled.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return PropensityModel.save(store, manifest, f.mlp, f.state);
}

/** The propensity model's estimator steps (see models/estimator.ts). */
export const PROPENSITY: Estimator<TrainPropensityOptions, PreparedPropensity, FittedPropensity, PropensityReport, PropensityModel> = {
  prepare: preparePropensity,
  fit: fitPropensity,
  evaluate: evaluatePropensity,
  save: savePropensity,
};

/**
 * Trains a propensity model: PROPENSITY's steps composed (a stratified 65/15/20 split, the MLP,
 * calibration and threshold on validation, every metric on the test rows beside a logistic
 * baseline, then saved).
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function trainPropensity(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainPropensityOptions) {
  return train(PROPENSITY, data, transform, store, opts);
}

/**
 * Training a propensity model end to end: labeled rows in memory, data checks, a seeded
 * stratified train / validation / test split, the MLP and a logistic-regression baseline on
 * the same split, calibration and the decision threshold fitted on validation, and every
 * reported metric measured on the untouched test split.
 */
import { initBackend, tf } from '../../compute/backend.js';
import { transformedBatches } from '../../features/blocks.js';
import { booleanValues, featureGroups, type FeatureGroup, type FittedTransform } from '../../features/transform.js';
import type { ColumnInfo, ColumnRequest } from '../../io/columns.js';
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
import { trainedOn, type ModelStore } from '../registry.js';
import { calibrate, fitCalibration, type CalibrationMethod } from './calibration.js';
import { checkTrainingData, stratifiedSplit, type CheckOptions, type DataChecks } from './checks.js';
import { fitMlp, predictLogits, type ClassWeight, type EpochRecord, type Labeled, type NetworkOptions } from '../nn/fit.js';
import type { Mlp, MlpConfig } from '../nn/mlp.js';
import { fitPle } from '../nn/ple.js';
import { PropensityModel } from './model.js';

export interface TrainPropensityOptions extends CheckOptions, NetworkOptions {
  classWeight?: ClassWeight;
  calibration?: CalibrationMethod;
  /** 'f1' (default): the threshold with the best validation F1; or a share of rows to flag, e.g. 0.1. */
  threshold?: 'f1' | number;
  validFraction?: number;
  testFraction?: number;
  seed?: number;
  /** Columns whose groups the report compares (fairness on the test rows); not model inputs unless the spec makes them so. */
  sensitive?: string[];
  /** Numeric inputs as standardized values ('standard') or piecewise-linear bins ('ple', see nn/ple.ts). */
  numeric?: 'standard' | 'ple';
  /** Bins per numeric input with 'ple' (quantiles of the training rows). Default 16. */
  bins?: number;
  /** TabM-mini ensemble members (see nn/mlp.ts MlpConfig.ensemble). Default 1. */
  ensemble?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
}

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
  training: { seconds: number; samplesPerSecond: number; classWeights: [number, number] };
  /** Per sensitive column, how the calibrated score treats its groups on the test rows at the threshold. */
  fairness?: FairnessReport[];
}

/** The label column, or a clear error naming the file and the columns there are. */
export function requireLabel(data: Dataset, label: string): ColumnInfo {
  const column = data.columns.find((c) => c.name === label);
  if (!column) throw new UserError(`${data.tables[0].path}: no label column "${label}" (columns: ${data.columns.map((c) => c.name).join(', ')})`);
  return column;
}

/**
 * Reads features and label into memory; rows whose label is not 0/1, true/false or yes/no
 * are left out. `groupColumns` are read alongside as text (one array per column, by kept row).
 */
export async function loadLabeled(
  data: Dataset,
  transform: FittedTransform,
  label: string,
  progress: Progress,
  groupColumns: string[] = [],
): Promise<Labeled & { unlabeled: number; groups: Array<Array<string | null>> }> {
  const column = requireLabel(data, label);
  if (transform.features.some((f) => f.name === label)) throw new UserError(`label "${label}" is also a feature: remove it from the feature spec`);
  const request: ColumnRequest = { name: label, as: column.kind === 'text' ? 'text' : 'number' };
  const xs: Float32Array[] = [];
  const ys: Uint8Array[] = [];
  const groups: Array<Array<string | null>> = groupColumns.map(() => []);
  let rows = 0;
  let unlabeled = 0;
  const d = transform.outputs.length;
  const extra = [request, ...groupColumns.filter((c) => c !== label).flatMap((c) => groupRequest(data, transform, c))];
  for await (const { batch, block } of transformedBatches(data, transform, extra)) {
    const y = booleanValues(batch, label);
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
  const auc = async (m: Float32Array) => {
    const t = tf.tensor2d(m, [n, d]);
    const z = mlp.logits(t);
    const v = rocAuc((await z.data()) as Float32Array, y);
    t.dispose();
    z.dispose();
    return v;
  };
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

/**
 * Trains a propensity model: a stratified 65/15/20 split, the MLP (fitMlp), calibration and
 * threshold on the validation rows, every metric on the test rows beside a logistic
 * baseline, and permutation importance (Breiman, "Random Forests", 2001) per feature.
 * @returns the saved model and its report.
 */
export async function trainPropensity(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainPropensityOptions) {
  const backend = await initBackend();
  const progress = opts.progress ?? (() => silentProgress);
  const seed = opts.seed ?? 0;
  const loading = progress('load');
  const labeled = await loadLabeled(data, transform, opts.label, loading, opts.sensitive ?? []);
  loading.done(`${labeled.y.length} labeled rows`);
  const groups = featureGroups(transform);
  const checks = checkTrainingData(labeled.x, labeled.y, labeled.d, groups, opts.label, labeled.unlabeled, opts);
  const split = stratifiedSplit(labeled.y, opts.validFraction ?? 0.15, opts.testFraction ?? 0.2, seed);
  const batchSize = opts.batchSize ?? Math.min(4096, Math.max(256, Math.round(split.train.length / 50)));
  // Defaults measured on the UCI data over 5 splits (bench/quality): dropout 0.2 and L2 1e-3 beat 0 / 1e-4.
  const base: Omit<MlpConfig, 'hidden' | 'dropout'> = { inputs: labeled.d, l2: opts.l2 ?? 1e-3, learningRate: opts.learningRate ?? 1e-3, seed };
  // The MLP's numeric inputs, piecewise-linear encoded with bins from the training rows (the baseline stays plain logistic regression).
  const numeric = opts.numeric ?? 'ple';
  const encoding =
    numeric === 'ple'
      ? fitPle(labeled.x, labeled.d, split.train, groups.filter((g) => g.kind === 'numeric').map((g) => g.start), opts.bins ?? 16)
      : undefined;
  const fitOptions = { batchSize, maxEpochs: opts.maxEpochs ?? 200, patience: opts.patience ?? 10, classWeight: opts.classWeight ?? ('auto' as ClassWeight) };

  const training = progress('mlp', 'samples');
  const net = await fitMlp(labeled, split.train, split.valid, { ...base, hidden: opts.hidden ?? [128, 64], dropout: opts.dropout ?? 0.2, encoding, ...((opts.ensemble ?? 1) > 1 && { ensemble: opts.ensemble }) }, { ...fitOptions, progress: training });
  training.done(`best epoch ${net.bestEpoch} of ${net.history.length}`);
  const baselineProgress = progress('baseline', 'samples');
  // The baseline keeps the default stopping limits whatever the MLP's (--max-epochs, --patience): a capped baseline would flatter the MLP.
  const lr = await fitMlp(labeled, split.train, split.valid, { ...base, hidden: [], dropout: 0 }, { ...fitOptions, maxEpochs: 200, patience: 10, progress: baselineProgress });
  baselineProgress.done(`logistic regression, best epoch ${lr.bestEpoch}`);

  const method = opts.calibration ?? 'platt';
  const fitted = async (mlp: Mlp) => {
    const validLogits = await predictLogits(mlp, labeled, split.valid);
    const calibration = fitCalibration(method, validLogits, Uint8Array.from(split.valid, (r) => labeled.y[r]));
    const validProbs = Float32Array.from(validLogits, (z) => calibrate(calibration, z));
    const validY = Uint8Array.from(split.valid, (r) => labeled.y[r]);
    const rule = opts.threshold ?? 'f1';
    const threshold = rule === 'f1' ? maxF1Threshold(validProbs, validY) : rateThreshold(validProbs, rule);
    const testLogits = await predictLogits(mlp, labeled, split.test);
    const testY = Uint8Array.from(split.test, (r) => labeled.y[r]);
    const testProbs = Float32Array.from(testLogits, (z) => calibrate(calibration, z));
    return { calibration, threshold, testProbs, evaluation: evaluate(testLogits, testY, testProbs, threshold) };
  };
  const mlpFit = await fitted(net.mlp);
  const lrFit = await fitted(lr.mlp);
  lr.mlp.dispose();

  const importanceRows = split.test.subarray(0, Math.min(split.test.length, 20_000));
  const importance = await permutationImportance(net.mlp, labeled, importanceRows, groups, seed);
  const count = (rows: Int32Array) => rows.reduce((a, r) => a + labeled.y[r], 0);
  const report: PropensityReport = {
    checks,
    split: {
      train: split.train.length,
      valid: split.valid.length,
      test: split.test.length,
      positives: { train: count(split.train), valid: count(split.valid), test: count(split.test) },
    },
    threshold: { rule: opts.threshold === undefined || opts.threshold === 'f1' ? 'max F1 on validation' : `flag the top ${(100 * opts.threshold).toFixed(1)}% on validation`, value: mlpFit.threshold },
    test: { mlp: mlpFit.evaluation, baseline: lrFit.evaluation },
    history: net.history,
    bestEpoch: net.bestEpoch,
    baselineBestEpoch: lr.bestEpoch,
    importance,
    training: { seconds: net.seconds, samplesPerSecond: net.samplesPerSecond, classWeights: net.classWeights },
  };
  if (opts.sensitive?.length) {
    const testY = Uint8Array.from(split.test, (r) => labeled.y[r]);
    report.fairness = opts.sensitive.map((col, c) => fairnessByGroup(col, Array.from(split.test, (r) => labeled.groups[c][r]), mlpFit.testProbs, mlpFit.threshold, testY));
  }
  const model = await PropensityModel.save(
    store,
    {
      ...trainedOn('propensity', opts.name, backend, transform, data.tables, labeled.y.length),
      params: {
        label: opts.label,
        hidden: net.mlp.config.hidden,
        dropout: net.mlp.config.dropout,
        l2: base.l2,
        learningRate: base.learningRate,
        batchSize,
        maxEpochs: fitOptions.maxEpochs,
        patience: fitOptions.patience,
        classWeight: fitOptions.classWeight,
        calibration: method,
        validFraction: opts.validFraction ?? 0.15,
        testFraction: opts.testFraction ?? 0.2,
        numeric,
        ...(encoding && { bins: opts.bins ?? 16 }),
        ensemble: opts.ensemble ?? 1,
        seed,
        ...(opts.sensitive?.length && { sensitive: opts.sensitive }),
      },
      metrics: report as unknown as Record<string, unknown>,
    },
    net.mlp,
    { calibration: mlpFit.calibration, threshold: mlpFit.threshold, mlp: net.mlp.config },
  );
  return { model, report };
}

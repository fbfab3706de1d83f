/**
 * Training a CLTV model end to end: features and a money label (e.g. `future_value` from
 * `audience events --horizon`) in memory, a seeded 65/15/20 split stratified on buying at all,
 * the zero-inflated lognormal MLP (ziln.ts) with early stopping on the validation loss, and a
 * test-split report beside two baselines trained on the same rows: the value in the last
 * window of the horizon's length (scaled from the nearest trailing window `amount_<w>d`), and
 * BG/NBD with Gamma-Gamma spend (Fader, Hardie and Lee 2005; models/btyd), fitted on the
 * training customers' recency, frequency, tenure and mean spend (the columns `audience events`
 * writes). Each needs those columns; without them it is reported as not available.
 */
import { initBackend, tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { transformedBatches } from '../../features/blocks.js';
import { numberColumn } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import { featureGroups, MAX_MAGNITUDE, type FittedTransform } from '../../features/transform.js';
import { classHistogram, prCurve, rateThreshold, rocAuc, rocCurve, type CurvePoint, type HistogramBin } from '../../metrics/classification.js';
import { fairnessByGroup, type FairnessReport } from '../../metrics/fairness.js';
import { groupRequest, groupValues } from '../../features/groups.js';
import { mae, normalizedGini, rmse, spearman, valueDeciles } from '../../metrics/regression.js';
import { UserError } from '../../util/errors.js';
import { concatRows } from '../../util/matrix.js';
import { silentProgress, type Progress, type StageProgress } from '../../util/progress.js';
import type { BgNbdParams } from '../btyd/bgnbd.js';
import { btydValue, customerSummary, fitBtyd, RFM_COLUMNS } from '../btyd/customers.js';
import type { GammaGammaParams } from '../btyd/gamma-gamma.js';
import { gatherRows, predictLogits, tfjsStepper, trainEpochs, trainsNatively, type EpochRecord, type Trainer } from '../nn/fit.js';
import { NativeStepper } from '../nn/native.js';
import { withDefaults, type KindOptions } from '../params.js';
import { CLTV_PARAMS } from './params.js';
import { Mlp, type MlpConfig } from '../nn/mlp.js';
import { leakageCheck, stratifiedSplit } from '../propensity/checks.js';
import { requireLabel } from '../columns.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { CltvModel, type CltvState } from './model.js';
import { train, type Estimator } from '../estimator.js';
import { zilnLoss, zilnPredict } from './ziln.js';

/**
 * The CLTV trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: the network's, `horizonDays` (default: the label's own), `sensitive`, `seed`;
 * defaults from the schemas), the version's name and the label.
 */
export type TrainCltvOptions = KindOptions<typeof CLTV_PARAMS> & {
  name: string;
  label: string;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

const WINDOWS = [7, 30, 90, 365];

/** Features (rows x d), the label, and the baselines' raw columns, row by row. */
interface Valued {
  x: Float32Array;
  y: Float32Array;
  d: number;
  extra: Map<string, Float64Array>;
}

export interface ValueMetrics {
  mae: number;
  rmse: number;
  normalizedGini: number;
  spearman: number;
  deciles: ReturnType<typeof valueDeciles>;
  /**
   * The prediction as a ranking of who buys at all in the horizon (actual value > 0): its
   * ROC-AUC, and for plots the ROC (fpr, tpr) and precision-recall (recall, precision) curves
   * and the predicted value's histogram for buyers and the rest.
   */
  buyers?: { rocAuc: number; roc: CurvePoint[]; pr: CurvePoint[]; histogram: HistogramBin[] };
}

export interface CltvReport {
  split: { train: number; valid: number; test: number; buyers: { train: number; test: number } };
  horizonDays: number | null;
  test: { model: ValueMetrics; lastWindow: ValueMetrics | string; bgNbd: ValueMetrics | string };
  bgNbd?: { params: BgNbdParams; spend: GammaGammaParams; customers: number };
  history: EpochRecord[];
  bestEpoch: number;
  training: { seconds: number; samplesPerSecond: number };
  /** The leakage check: the features that alone best rank who buys in the horizon (AUC as max(AUC, 1 - AUC)); absent in older versions. */
  singleFeatureAuc?: Array<{ feature: string; auc: number }>;
  /**
   * Per sensitive column on the test rows: selection = the top 10% by predicted value;
   * positives (for TPR, FPR) = the top 10% by actual value.
   */
  fairness?: FairnessReport[];
}

/** Reads features, the label and the baselines' columns; rows without a label are left out, a negative one refused. */
async function loadValued(
  data: Dataset,
  transform: FittedTransform,
  label: string,
  progress: Progress,
  groupColumns: string[] = [],
): Promise<Valued & { unlabeled: number; groups: Array<Array<string | null>> }> {
  requireLabel(data, label);
  if (transform.features.some((f) => f.name === label)) throw new UserError(`label "${label}" is also a feature: remove it from the feature spec`);
  const names = data.columns.map((c) => c.name);
  const extraNames = [...RFM_COLUMNS, ...WINDOWS.map((w) => `amount_${w}d`)].filter((c) => names.includes(c));
  const xs: Float32Array[] = [];
  const ys: Float32Array[] = [];
  const extras = new Map<string, number[]>(extraNames.map((n) => [n, []]));
  const d = transform.outputs.length;
  let rows = 0;
  let unlabeled = 0;
  const requests = [label, ...extraNames.filter((n) => n !== label)].map((name) => ({ name, as: 'number' as const }));
  const groups: Array<Array<string | null>> = groupColumns.map(() => []);
  const groupReads = groupColumns.filter((c) => c !== label && !extraNames.includes(c)).flatMap((c) => groupRequest(data, transform, c));
  for await (const { batch, block } of transformedBatches(data, transform, [...requests, ...groupReads])) {
    const y = numberColumn(batch, label);
    const values = groupColumns.map((c) => groupValues(batch, c));
    const x = new Float32Array(block.rows * d);
    const yy = new Float32Array(block.rows);
    let keep = 0;
    for (let i = 0; i < block.rows; i++) {
      if (Number.isNaN(y[i])) {
        unlabeled++;
        continue;
      }
      if (!(y[i] >= 0 && y[i] <= MAX_MAGNITUDE)) {
        throw new UserError(`${batch.source}: column "${label}", data row ${batch.offset + i + 1} holds ${y[i]}, expected a value of 0 or more (money spent), at most ${MAX_MAGNITUDE}`);
      }
      x.set(block.data.subarray(i * d, (i + 1) * d), keep * d);
      yy[keep++] = y[i];
      for (const n of extraNames) extras.get(n)!.push(numberColumn(batch, n)[i]);
      values.forEach((v, c) => groups[c].push(v[i]));
    }
    xs.push(x.subarray(0, keep * d));
    ys.push(yy.subarray(0, keep));
    rows += keep;
    progress.update(rows + unlabeled, data.rowCount);
  }
  const { x } = concatRows(xs, ys.map((part) => new Uint8Array(part.length)), d);
  const y = new Float32Array(rows);
  let at = 0;
  for (const part of ys) {
    y.set(part, at);
    at += part.length;
  }
  return { x, y, d, extra: new Map([...extras].map(([n, v]) => [n, Float64Array.from(v)])), unlabeled, groups };
}

/**
 * The days a label covers: the label's own (written by `audience events --horizon`), or
 * `given`; null when neither says.
 * @throws UserError when `given` contradicts the label's own.
 */
export function horizonFor(data: Dataset, label: string | undefined, given: number | undefined): number | null {
  const own = data.columns.find((c) => c.name === label)?.horizonDays;
  if (own !== undefined && given !== undefined && own !== given) {
    throw new UserError(`--horizon-days ${given}: label "${label}" of ${data.tables[0].path} covers ${own} days (audience events --horizon); leave --horizon-days out or give ${own}`);
  }
  return given ?? own ?? null;
}

/** Metrics of predicted against actual values. */
export function valueMetrics(pred: ArrayLike<number>, actual: ArrayLike<number>): ValueMetrics {
  const bought = Uint8Array.from(actual as ArrayLike<number>, (a) => (a > 0 ? 1 : 0));
  return {
    mae: mae(pred, actual),
    rmse: rmse(pred, actual),
    normalizedGini: normalizedGini(pred, actual),
    spearman: spearman(pred, actual),
    deciles: valueDeciles(pred, actual),
    buyers: { rocAuc: rocAuc(pred, bought), roc: rocCurve(pred, bought), pr: prCurve(pred, bought), histogram: classHistogram(pred, bought) },
  };
}

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
async function fitZiln(data: Valued, train: Int32Array, valid: Int32Array, config: MlpConfig, opts: { batchSize: number; maxEpochs: number; patience: number; trainer: Trainer; progress: Progress }) {
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
  if (trainsNatively(opts.trainer, mlp.config, 'ziln')) {
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

/** The last-window baseline: the spend of the trailing window nearest the horizon, scaled to its length. */
function lastWindow(data: Valued, rows: Int32Array, horizonDays: number | null): Float64Array | string {
  if (horizonDays === null) return 'not available: the horizon is unknown (--horizon-days)';
  const windows = WINDOWS.filter((w) => data.extra.has(`amount_${w}d`));
  if (!windows.length) return 'not available: no amount_<w>d column (audience events --amount)';
  const w = windows.reduce((a, b) => (Math.abs(b - horizonDays) < Math.abs(a - horizonDays) ? b : a));
  const col = data.extra.get(`amount_${w}d`)!;
  return Float64Array.from(rows, (r) => (Number.isNaN(col[r]) ? 0 : col[r]) * (horizonDays / w));
}

/** BG/NBD + Gamma-Gamma fitted on (a sample of) the training customers; expected spend over the horizon for `rows`. */
function bgNbdBaseline(data: Valued, train: Int32Array, rows: Int32Array, horizonDays: number | null, seed: number) {
  if (horizonDays === null) return 'not available: the horizon is unknown (--horizon-days)';
  const missing = RFM_COLUMNS.filter((c) => !data.extra.has(c));
  if (missing.length) return `not available: no ${missing.join(', ')} column (the columns audience events writes)`;
  const [active, tenure, recency, amountMean] = RFM_COLUMNS.map((c) => data.extra.get(c)!);
  const summary = (r: number) => customerSummary(active[r], tenure[r], recency[r], amountMean[r]);
  const fitted = fitBtyd(Array.from(train, summary), seed);
  return { pred: Float64Array.from(rows, (r) => btydValue(fitted, summary(r), horizonDays).value), ...fitted };
}

/** The valued rows (features, label, the baselines' columns) and their split. */
export interface PreparedCltv {
  data: Dataset;
  transform: FittedTransform;
  valued: Valued & { unlabeled: number; groups: Array<Array<string | null>> };
  /** 1 where the label is above 0 (bought in the horizon), by valued row. */
  bought: Uint8Array;
  /** The features that alone best rank who buys (the leakage check). */
  singleFeatureAuc: Array<{ feature: string; auc: number }>;
  horizonDays: number | null;
  split: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

/** A fitted, unsaved CLTV model and how it was fitted. */
export interface FittedCltv {
  mlp: Mlp;
  state: CltvState;
  params: Record<string, unknown>;
  history: EpochRecord[];
  bestEpoch: number;
  training: CltvReport['training'];
  dispose(): void;
}

/**
 * Reads the valued rows and draws the seeded 65/15/20 split stratified on buying at all.
 * @throws UserError for a missing or negative label, or too few buyers to fit.
 */
async function prepareCltv(data: Dataset, transform: FittedTransform, opts: TrainCltvOptions): Promise<PreparedCltv> {
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const valued = await loadValued(data, transform, opts.label, loading, opts.sensitive ?? []);
  loading.done(`${valued.y.length} labeled rows`);
  if (valued.y.length === 0) throw new UserError(`${data.tables[0].path}: column "${opts.label}" has no value in any of its ${valued.unlabeled} rows`);
  const bought = Uint8Array.from(valued.y, (v) => (v > 0 ? 1 : 0));
  const buyers = bought.reduce((a, b) => a + b, 0);
  if (buyers < 20) throw new UserError(`label "${opts.label}": ${buyers} rows with a value above 0; the model needs at least 20 buyers to learn spend`);
  // A feature that alone tells who buys in the horizon is the label leaking (a copy of a later window, a refund flag...).
  const o = withDefaults(CLTV_PARAMS, opts);
  const singleFeatureAuc = leakageCheck(valued.x, valued.d, featureGroups(transform), bought, `who buys in "${opts.label}"`, o.allowLeakage);
  return { data, transform, valued, bought, singleFeatureAuc, horizonDays: horizonFor(data, opts.label, opts.horizonDays), split: stratifiedSplit(bought, 0.15, 0.2, o.seed) };
}

/** Fits the zero-inflated lognormal MLP (Wang, Liu and Miao 2019) with early stopping on the validation loss. */
async function fitCltv(p: PreparedCltv, opts: TrainCltvOptions): Promise<FittedCltv> {
  const o = withDefaults(CLTV_PARAMS, opts);
  const seed = o.seed;
  const batchSize = o.batchSize ?? Math.min(4096, Math.max(256, Math.round(p.split.train.length / 50)));
  const config: MlpConfig = { inputs: p.valued.d, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, seed, outputs: 3 };
  const loop = { batchSize, maxEpochs: o.maxEpochs, patience: o.patience, trainer: o.trainer };
  const training = (opts.progress ?? (() => silentProgress))('ziln', 'samples');
  const fit = await fitZiln(p.valued, p.split.train, p.split.valid, config, { ...loop, progress: training });
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

/**
 * Value metrics on the test rows beside the last window and BG/NBD + Gamma-Gamma fitted on
 * the training customers; fairness by group of each sensitive column.
 */
async function evaluateCltv(p: PreparedCltv, f: FittedCltv, opts: TrainCltvOptions): Promise<CltvReport> {
  const { valued, split, bought, horizonDays } = p;
  const actual = Float64Array.from(split.test, (r) => valued.y[r]);
  const { value } = zilnPredict(await predictLogits(f.mlp, valued, split.test), split.test.length, f.state.maxValue);
  const window = lastWindow(valued, split.test, horizonDays);
  const btyd = bgNbdBaseline(valued, split.train, split.test, horizonDays, withDefaults(CLTV_PARAMS, opts).seed);
  const report: CltvReport = {
    split: {
      train: split.train.length,
      valid: split.valid.length,
      test: split.test.length,
      buyers: { train: split.train.reduce((a, r) => a + bought[r], 0), test: split.test.reduce((a, r) => a + bought[r], 0) },
    },
    horizonDays,
    test: {
      model: valueMetrics(value, actual),
      lastWindow: typeof window === 'string' ? window : valueMetrics(window, actual),
      bgNbd: typeof btyd === 'string' ? btyd : valueMetrics(btyd.pred, actual),
    },
    ...(typeof btyd !== 'string' && { bgNbd: { params: btyd.params, spend: btyd.spend, customers: btyd.customers } }),
    history: f.history,
    bestEpoch: f.bestEpoch,
    training: f.training,
    singleFeatureAuc: p.singleFeatureAuc,
  };
  if (opts.sensitive?.length) {
    const top = (v: ArrayLike<number>) => rateThreshold(v, 0.1);
    const highValue = Float64Array.from(actual, (a) => (a >= top(actual) && a > 0 ? 1 : 0));
    report.fairness = opts.sensitive.map((col, c) => fairnessByGroup(col, Array.from(split.test, (r) => valued.groups[c][r]), value, top(value), highValue));
  }
  return report;
}

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function saveCltv(store: ModelStore, p: PreparedCltv, f: FittedCltv, report: CltvReport, opts: TrainCltvOptions): Promise<CltvModel> {
  const backend = await initBackend();
  const manifest = { ...trainedOn('cltv', opts.name, backend, p.transform, p.data.tables, p.valued.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return CltvModel.save(store, manifest, f.mlp, f.state);
}

/** The CLTV model's estimator steps (see models/estimator.ts). */
export const CLTV: Estimator<TrainCltvOptions, PreparedCltv, FittedCltv, CltvReport, CltvModel> = { prepare: prepareCltv, fit: fitCltv, evaluate: evaluateCltv, save: saveCltv };

/**
 * Trains a CLTV model: CLTV's steps composed (see the module comment) on `data`'s label (money over a horizon).
 * @returns the saved model (the caller disposes it) and its report.
 * @throws UserError for a missing or negative label, or too few buyers to fit.
 */
export async function trainCltv(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainCltvOptions) {
  return train(CLTV, data, transform, store, opts);
}

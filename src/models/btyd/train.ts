/**
 * Fitting the BG/NBD + Gamma-Gamma model kind on the columns `audience events` writes
 * (customers.ts), and, when the file has the label of the following window (`future_value`),
 * how well its expected value over the horizon ranks and matches what customers then spent:
 * the model never reads the label, so every row is out of sample for that check.
 */
import { initBackend } from '../../compute/backend.js';
import { fitTransform } from '../../features/fit.js';
import { inferSpec } from '../../features/infer.js';
import type { FeatureSpec } from '../../features/spec.js';
import { numberColumn } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import type { FittedTransform } from '../../features/transform.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type StageProgress } from '../../util/progress.js';
import { valueMetrics, type ValueMetrics } from '../../metrics/value.js';
import { horizonFor } from '../columns.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { btydValue, customerSummary, fitBtyd, RFM_COLUMNS, type Btyd } from './customers.js';
import { BgNbdModel, type BgNbdState } from './model.js';
import { train, type Estimator } from '../estimator.js';
import { optionName, withDefaults, type KindOptions } from '../params.js';
import { BGNBD_PARAMS } from './params.js';

/** Customers below which the fit is refused: four parameters need more than a handful. */
export const MIN_CUSTOMERS = 100;

/**
 * BG/NBD's options: the kind's params as its params.ts declares them (KindOptions:
 * `horizonDays` (default the label's own), `label` to check against (default future_value
 * when the file has it), `id`, `seed`) and the version's name.
 */
export type TrainBgNbdOptions = KindOptions<typeof BGNBD_PARAMS> & {
  name: string;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

export interface BgNbdReport extends Btyd {
  horizonDays: number;
  /** Against the label, on every row (the fit never reads it). */
  check?: { label: string; metrics: ValueMetrics };
}

/** The columns checked, the horizon known, and every customer's summary (null where a column is missing) with the label when there is one. */
export interface PreparedBgNbd {
  data: Dataset;
  transform: FittedTransform;
  label: string | undefined;
  horizonDays: number;
  summaries: Array<ReturnType<typeof customerSummary>>;
  actual: number[];
}

/** The fitted parameters (BG/NBD and Gamma-Gamma) and the horizon; nothing to release. */
export type FittedBgNbd = BgNbdState & { dispose(): void };

/** The label to check against: the one given, else future_value when the file has it. */
function labelOf(data: Dataset, opts: TrainBgNbdOptions): string | undefined {
  const names = data.columns.map((c) => c.name);
  return opts.label ?? (names.includes('future_value') ? 'future_value' : undefined);
}

/**
 * The feature spec BG/NBD reads: the RFM columns `audience events --amount` writes, with the
 * id column given or inferred (customer_id from audience events).
 * @throws UserError naming the columns when the input lacks one, the label when it is absent,
 *   or when the horizon is unknown.
 */
export async function bgnbdSpec(data: Dataset, opts: TrainBgNbdOptions): Promise<FeatureSpec> {
  const names = data.columns.map((c) => c.name);
  const missing = RFM_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) throw new UserError(`${data.tables[0].path}: no ${missing.join(', ')} column; BG/NBD reads ${RFM_COLUMNS.join(', ')}, the columns 'audience events --amount' writes`);
  const label = labelOf(data, opts);
  if (label && !names.includes(label)) throw new UserError(`${data.tables[0].path}: no label column "${label}" (columns: ${names.join(', ')})`);
  if (!horizonFor(data, label, opts.horizonDays, opts.names)) {
    throw new UserError(`the horizon to predict over is unknown: give ${optionName(opts, 'horizon-days')} N (features from audience events --horizon carry it)`);
  }
  const id = opts.id ?? (await inferSpec(data)).spec.id;
  return { ...(id && { id }), numeric: RFM_COLUMNS.map((name) => ({ name })), categorical: [], boolean: [] };
}

/** Reads every customer's summary. @throws UserError for too few customers or no repeat buyer with spend. */
async function prepareBgNbd(data: Dataset, transform: FittedTransform, opts: TrainBgNbdOptions): Promise<PreparedBgNbd> {
  const label = labelOf(data, opts);
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const summaries: PreparedBgNbd['summaries'] = [];
  const actual: number[] = [];
  for await (const b of data.read([...RFM_COLUMNS, ...(label ? [label] : [])].map((name) => ({ name, as: 'number' as const })))) {
    const [active, tenure, recency, mean] = RFM_COLUMNS.map((c) => numberColumn(b, c));
    for (let i = 0; i < b.rows; i++) summaries.push(customerSummary(active[i], tenure[i], recency[i], mean[i]));
    if (label) actual.push(...numberColumn(b, label));
    loading.update(summaries.length, data.rowCount);
  }
  loading.done(`${summaries.length} customers`);
  const usable = summaries.filter((c) => c !== null).length;
  if (usable < MIN_CUSTOMERS) throw new UserError(`${data.tables[0].path}: ${usable} customers with active_days, tenure_days and recency_days; BG/NBD needs at least ${MIN_CUSTOMERS} to estimate its four parameters`);
  if (!summaries.some((c) => c !== null && c.x >= 1 && c.mean > 0)) throw new UserError(`${data.tables[0].path}: no customer bought on two days with a positive amount_repeat_mean; Gamma-Gamma has no spend to fit`);
  return { data, transform, label, horizonDays: horizonFor(data, label, opts.horizonDays, opts.names)!, summaries, actual };
}

/** The BG/NBD + Gamma-Gamma estimates (customers.ts fitBtyd). */
async function fitBgNbd(p: PreparedBgNbd, opts: TrainBgNbdOptions): Promise<FittedBgNbd> {
  return { ...fitBtyd(p.summaries, withDefaults(BGNBD_PARAMS, opts).seed), horizonDays: p.horizonDays, dispose: () => {} };
}

/** The fit, and against the label when there is one: every row is out of sample (the fit never reads it). */
async function evaluateBgNbd(p: PreparedBgNbd, f: FittedBgNbd): Promise<BgNbdReport> {
  const { dispose: _, ...fitted } = f;
  let check: BgNbdReport['check'];
  if (p.label) {
    const rows = p.actual.flatMap((v, i) => (Number.isFinite(v) ? [i] : []));
    const pred = rows.map((i) => btydValue(f, p.summaries[i], p.horizonDays).value);
    check = { label: p.label, metrics: valueMetrics(pred, rows.map((i) => p.actual[i])) };
  }
  return { ...fitted, ...(check && { check }) };
}

/** Writes the estimates and report as the next version of `opts.name`. */
async function saveBgNbd(store: ModelStore, p: PreparedBgNbd, f: FittedBgNbd, report: BgNbdReport, opts: TrainBgNbdOptions): Promise<BgNbdModel> {
  const backend = await initBackend();
  const { dispose: _, ...state } = f;
  return BgNbdModel.save(
    store,
    {
      ...trainedOn('bgnbd', opts.name, backend, p.transform, p.data.tables, p.summaries.length),
      params: { horizonDays: p.horizonDays, seed: withDefaults(BGNBD_PARAMS, opts).seed, ...(p.label && { label: p.label }) },
      metrics: report as unknown as Record<string, unknown>,
    },
    state,
  );
}

/** BG/NBD's estimator steps (see models/estimator.ts); the transform comes from bgnbdSpec. */
export const BGNBD: Estimator<TrainBgNbdOptions, PreparedBgNbd, FittedBgNbd, BgNbdReport, BgNbdModel> = {
  prepare: prepareBgNbd,
  fit: fitBgNbd,
  evaluate: evaluateBgNbd,
  save: saveBgNbd,
};

/**
 * Fits the model (see the module comment): bgnbdSpec's transform, then BGNBD's steps composed.
 * @returns the saved model and its report.
 * @throws UserError naming the columns `audience events` writes when the input lacks one, or
 *   when the horizon is unknown.
 */
export async function trainBgNbd(data: Dataset, store: ModelStore, opts: TrainBgNbdOptions) {
  const spec = await bgnbdSpec(data, opts);
  const fitting = (opts.progress ?? (() => silentProgress))('features');
  const transform = await fitTransform(data, spec, fitting);
  fitting.done(`${RFM_COLUMNS.length} columns`);
  return train(BGNBD, data, transform, store, opts);
}

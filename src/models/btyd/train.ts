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
import { UserError } from '../../util/errors.js';
import { silentProgress, type StageProgress } from '../../util/progress.js';
import { horizonFor, valueMetrics, type ValueMetrics } from '../cltv/train.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { btydValue, customerSummary, fitBtyd, RFM_COLUMNS, type Btyd } from './customers.js';
import { BgNbdModel } from './model.js';

/** Customers below which the fit is refused: four parameters need more than a handful. */
export const MIN_CUSTOMERS = 100;

export interface TrainBgNbdOptions {
  name: string;
  /** Days of the horizon to predict over; default the label's own (from `audience events`). */
  horizonDays?: number;
  /** The label to check against (default future_value when the file has it). */
  label?: string;
  id?: string;
  seed?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
}

export interface BgNbdReport extends Btyd {
  horizonDays: number;
  /** Against the label, on every row (the fit never reads it). */
  check?: { label: string; metrics: ValueMetrics };
}

/**
 * Fits the model (see the module comment).
 * @throws UserError naming the columns `audience events` writes when the input lacks one, or
 *   when the horizon is unknown.
 */
export async function trainBgNbd(data: Dataset, store: ModelStore, opts: TrainBgNbdOptions) {
  const backend = await initBackend();
  const progress = opts.progress ?? (() => silentProgress);
  const names = data.columns.map((c) => c.name);
  const missing = RFM_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) throw new UserError(`${data.tables[0].path}: no ${missing.join(', ')} column; BG/NBD reads ${RFM_COLUMNS.join(', ')}, the columns 'audience events --amount' writes`);
  const label = opts.label ?? (names.includes('future_value') ? 'future_value' : undefined);
  if (label && !names.includes(label)) throw new UserError(`${data.tables[0].path}: no label column "${label}" (columns: ${names.join(', ')})`);
  const horizonDays = horizonFor(data, label, opts.horizonDays);
  if (!horizonDays) throw new UserError('the horizon to predict over is unknown: give --horizon-days N (features from audience events --horizon carry it)');
  // The id column: the one given, else the one inference finds (customer_id from audience events).
  const id = opts.id ?? (await inferSpec(data)).spec.id;
  const spec: FeatureSpec = { ...(id && { id }), numeric: RFM_COLUMNS.map((name) => ({ name })), categorical: [], boolean: [] };
  const fitting = progress('features');
  const transform = await fitTransform(data, spec, fitting);
  fitting.done(`${RFM_COLUMNS.length} columns`);
  const loading = progress('load');
  const summaries: Array<ReturnType<typeof customerSummary>> = [];
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
  if (!summaries.some((c) => c !== null && c.x >= 1 && c.mean > 0)) throw new UserError(`${data.tables[0].path}: no customer bought on two days with a positive amount_mean; Gamma-Gamma has no spend to fit`);
  const fitted = fitBtyd(summaries, opts.seed ?? 0);
  let check: BgNbdReport['check'];
  if (label) {
    const rows = actual.flatMap((v, i) => (Number.isFinite(v) ? [i] : []));
    const pred = rows.map((i) => btydValue(fitted, summaries[i], horizonDays).value);
    check = { label, metrics: valueMetrics(pred, rows.map((i) => actual[i])) };
  }
  const report: BgNbdReport = { ...fitted, horizonDays, ...(check && { check }) };
  const model = BgNbdModel.save(
    store,
    {
      ...trainedOn('bgnbd', opts.name, backend, transform, data.tables, summaries.length),
      params: { horizonDays, seed: opts.seed ?? 0, ...(label && { label }) },
      metrics: report as unknown as Record<string, unknown>,
    },
    { ...fitted, horizonDays },
  );
  return { model, report };
}

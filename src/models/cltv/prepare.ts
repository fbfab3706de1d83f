/**
 * The CLTV estimator's prepare step: features, a money label (e.g. `future_value` from
 * `audience events --horizon`) and the baselines' columns in memory, the leakage check, and a
 * seeded 65/15/20 split stratified on buying at all.
 */
import { transformedBatches } from '../../features/blocks.js';
import { groupRequest, groupValues } from '../../features/groups.js';
import { featureGroups, MAX_MAGNITUDE, type FittedTransform } from '../../features/transform.js';
import { numberColumn } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import { UserError } from '../../util/errors.js';
import { concatRows } from '../../util/matrix.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { RFM_COLUMNS } from '../btyd/customers.js';
import { horizonFor, requireLabel } from '../columns.js';
import { withDefaults } from '../params.js';
import { leakageCheck, stratifiedSplit } from '../propensity/checks.js';
import { warn } from '../../util/warn.js';
import type { TrainCltvOptions } from './options.js';
import { CLTV_PARAMS } from './params.js';

/** The trailing windows whose spend (`amount_<w>d`) the last-window baseline reads. */
export const WINDOWS = [7, 30, 90, 365];

/** Features (rows x d), the label, and the baselines' raw columns, row by row. */
export interface Valued {
  x: Float32Array;
  y: Float32Array;
  d: number;
  extra: Map<string, Float64Array>;
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

/**
 * Reads the valued rows and draws the seeded 65/15/20 split stratified on buying at all.
 * @throws UserError for a missing or negative label, or too few buyers to fit.
 */
export async function prepareCltv(data: Dataset, transform: FittedTransform, opts: TrainCltvOptions): Promise<PreparedCltv> {
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const valued = await loadValued(data, transform, opts.label, loading, opts.sensitive ?? []);
  loading.done(`${valued.y.length} labeled rows`);
  if (valued.y.length === 0) throw new UserError(`${data.tables[0].path}: column "${opts.label}" has no value in any of its ${valued.unlabeled} rows`);
  const bought = Uint8Array.from(valued.y, (v) => (v > 0 ? 1 : 0));
  const buyers = bought.reduce((a, b) => a + b, 0);
  if (buyers < 20) throw new UserError(`label "${opts.label}": ${buyers} rows with a value above 0; the model needs at least 20 buyers to learn spend`);
  if (buyers === valued.y.length) {
    warn(`label "${opts.label}": every one of its ${buyers} rows is above 0, so the model's chance of buying at all learns nothing; a future window's spend (audience events --horizon) has customers who spend nothing`);
  }
  // A feature that alone tells who buys in the horizon is the label leaking (a copy of a later window, a refund flag...).
  const o = withDefaults(CLTV_PARAMS, opts);
  const singleFeatureAuc = leakageCheck(valued.x, valued.d, featureGroups(transform), bought, `who buys in "${opts.label}"`, o.allowLeakage, opts.names);
  return { data, transform, valued, bought, singleFeatureAuc, horizonDays: horizonFor(data, opts.label, opts.horizonDays, opts.names), split: stratifiedSplit(bought, 0.15, 0.2, o.seed) };
}

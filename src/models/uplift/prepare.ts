/**
 * The uplift estimator's prepare step: a randomized campaign's rows in memory, each row's arm
 * from the treatment column (one treated value, or every value but the control's), each arm
 * split stratified on the outcome.
 */
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { parseBool } from '../../io/number-text.js';
import { UserError } from '../../util/errors.js';
import { silentProgress } from '../../util/progress.js';
import { type Labeled } from '../nn/fit.js';
import { FLAG_NAMES, optionName } from '../params.js';
import { requireColumnFor, requireLabel } from '../columns.js';
import { loadLabeled } from '../labeled.js';
import { stratifiedSplit } from '../propensity/checks.js';
import { checkUpliftParams } from './params.js';
import { resolve, VALID, TEST, MAX_ARMS, type TrainUpliftOptions } from './options.js';

/** Campaign rows: features, outcome and arm (1 treated, 0 control; with several arms 1.. each arm). */
export interface CampaignRows extends Labeled {
  t: Uint8Array;
}

/** What prepare gives fit and evaluate: the data and transform, the campaign's rows, the rows skipped and why, the split, and the arms' values with several. */
export interface PreparedUplift {
  data: Dataset;
  transform: FittedTransform;
  rows: CampaignRows;
  /** Rows left out: no 0/1 outcome, or an arm that is neither treated nor control. */
  skipped: { outcome: number; treatment: number };
  /** With several treatment arms (--control): their values; arm k of `rows.t` is arms[k - 1]. */
  arms?: string[];
  split: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

/** Whether a treatment cell holds `value`: the same trimmed text, or the same number. */
function isValue(v: string, value: string): boolean {
  const n = Number(value);
  return v.trim() === value.trim() || (value.trim() !== '' && Number.isFinite(n) && Number(v) === n);
}

/** 0/1 per value of the treatment column: `treated` names the treated value, else 1/0, true/false, yes/no; NaN for anything else. */
function armOf(v: string | null, treated: string | undefined): number {
  if (v === null) return NaN;
  if (treated === undefined) return parseBool(v);
  return isValue(v, treated) ? 1 : 0;
}

/**
 * The arm of each treatment cell with a control value (--control): 0 for the control, k for
 * the k-th other value (trimmed, in numeric-aware order), NaN for null.
 * @throws UserError when no other value is there, or more than MAX_ARMS.
 */
function armsOf(cells: (string | null)[], control: string, column: string): { arm: number[]; values: string[] } {
  const values = [...new Set(cells.filter((v): v is string => v !== null && !isValue(v, control)).map((v) => v.trim()))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (!values.length) throw new UserError(`column "${column}": every row with an arm holds the control value "${control}"; a campaign needs a treated arm beside it`);
  if (values.length > MAX_ARMS) throw new UserError(`column "${column}": ${values.length} values beside the control "${control}" (e.g. ${values.slice(0, 5).map((v) => JSON.stringify(v)).join(', ')}); at most ${MAX_ARMS} treatment arms`);
  const index = new Map(values.map((v, k) => [v, k + 1]));
  return { arm: cells.map((v) => (v === null ? NaN : isValue(v, control) ? 0 : index.get(v.trim())!)), values };
}

/**
 * Reads the campaign rows through the transform, leaves out rows without a 0/1 outcome or a
 * known arm (counted), refuses arms too small to learn from, and splits each arm.
 * @throws UserError for a missing column, a treatment column that is a feature, or an arm with under `minArm` rows or 20 conversions.
 */
export async function prepareUplift(data: Dataset, transform: FittedTransform, opts: TrainUpliftOptions): Promise<PreparedUplift> {
  const o = resolve(opts);
  requireLabel(data, opts.label);
  requireColumnFor(data, opts.treatment, 'treatment');
  if (transform.features.some((f) => f.name === opts.treatment)) throw new UserError(`treatment "${opts.treatment}" is also a feature: remove it from the feature spec`);
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const option = (key: string) => optionName(opts, key);
  // Training from params checked this before reading any data (optionsOf); again for a trainer called with options.
  checkUpliftParams({ treated: o.treated, control: o.control }, opts.names ?? FLAG_NAMES);
  const labeled = await loadLabeled(data, transform, opts.label, loading, [opts.treatment]);
  const several = o.control === undefined ? undefined : armsOf(labeled.groups[0], o.control, opts.treatment);
  const arms = several?.arm ?? labeled.groups[0].map((v) => armOf(v, o.treated));
  // One value beside the control is the one-arm campaign: that value is the treated.
  const armNames = several && several.values.length > 1 ? several.values : undefined;
  const keep = Int32Array.from(arms.flatMap((a, i) => (Number.isNaN(a) ? [] : [i])));
  const d = labeled.d;
  const x = new Float32Array(keep.length * d);
  keep.forEach((r, i) => x.set(labeled.x.subarray(r * d, (r + 1) * d), i * d));
  const rows: CampaignRows = { x, d, y: Uint8Array.from(keep, (r) => labeled.y[r]), t: Uint8Array.from(keep, (r) => arms[r]) };
  loading.done(`${keep.length} campaign rows`);
  const armList = [...Array.from({ length: armNames?.length ?? 1 }, (_, k) => k + 1), 0];
  for (const arm of armList) {
    const name = armNames ? (arm ? `arm "${armNames[arm - 1]}"` : `control ("${o.control}")`) : arm ? `treated${o.treated !== undefined ? ` ("${o.treated}")` : ''}` : 'control';
    let n = 0;
    let pos = 0;
    rows.t.forEach((t, i) => {
      if (t !== arm) return;
      n++;
      pos += rows.y[i];
    });
    if (n < o.minArm || pos < 20) {
      throw new UserError(`column "${opts.treatment}": the ${name} arm has ${n} rows with an outcome and ${pos} conversions; uplift needs at least ${o.minArm} rows and 20 conversions in each arm (${option('min-arm')})${o.treated === undefined && o.control === undefined ? `; name the treated value with ${option('treated')} VALUE if the column is not 0/1` : ''}`);
    }
  }
  const parts = armList.map((arm) => {
    const idx = Int32Array.from(Array.from(rows.t).flatMap((t, i) => (t === arm ? [i] : [])));
    const s = stratifiedSplit(Uint8Array.from(idx, (r) => rows.y[r]), VALID, TEST, o.seed + arm);
    return { train: s.train.map((i) => idx[i]), valid: s.valid.map((i) => idx[i]), test: s.test.map((i) => idx[i]) };
  });
  const join = (key: 'train' | 'valid' | 'test') => Int32Array.from(parts.flatMap((q) => [...q[key]])).sort();
  const split = { train: join('train'), valid: join('valid'), test: join('test') };
  return { data, transform, rows, skipped: { outcome: labeled.unlabeled, treatment: arms.length - keep.length }, split, ...(armNames && { arms: armNames }) };
}

/** The rows of `rows` in arm `arm` (0 the control). */
export const inArm = (rows: Int32Array, t: Uint8Array, arm: number) => rows.filter((r) => t[r] === arm);

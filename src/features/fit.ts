/** Learns the feature transform in one streaming pass: imputation values, scaling, vocabularies. */
import { createHash } from 'node:crypto';
import type { ColumnBatch, ColumnInfo, ColumnRequest } from '../io/columns.js';
import { numberColumn, textColumn } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { categoryOf } from '../io/levels.js';
import { UserError } from '../util/errors.js';
import { silentProgress, type Progress } from '../util/progress.js';
import { DEFAULT_TOP, type BooleanFeature, type CategoricalFeature, type FeatureSpec, type NumericFeature } from './spec.js';
import {
  booleanValues,
  idReading,
  modelValue,
  OTHER,
  outputNames,
  type FittedFeature,
  type FittedTransform,
} from './transform.js';

/** Distinct values tracked per categorical column; rarer values beyond this count as "(other)". */
const MAX_DISTINCT = 100_000;

class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  /** Mean and population std after adding `k` more copies of `v`. */
  withCopies(v: number, k: number): { mean: number; std: number } {
    const n = this.n + k;
    if (n === 0) return { mean: 0, std: 0 };
    const mean = (this.n * this.mean + k * v) / n;
    const m2 = this.m2 + (this.n * k * (v - this.mean) ** 2) / n;
    return { mean, std: Math.sqrt(m2 / n) };
  }
}

/** How each feature column is read: categorical as text, boolean as stored. */
export function readsFor(spec: FeatureSpec, columns: ColumnInfo[], file: string): Record<string, ColumnRequest['as']> {
  const reads: Record<string, ColumnRequest['as']> = {};
  const find = (name: string): ColumnInfo => {
    const col = columns.find((c) => c.name === name);
    if (!col) throw new UserError(`${file}: no column "${name}" (columns: ${columns.map((c) => c.name).join(', ')})`);
    return col;
  };
  if (spec.id !== undefined) find(spec.id);
  for (const f of spec.numeric) {
    find(f.name);
    reads[f.name] = 'number';
  }
  for (const f of spec.categorical) {
    find(f.name);
    reads[f.name] = 'text';
  }
  for (const f of spec.boolean) {
    const kind = find(f.name).kind;
    reads[f.name] = kind === 'text' ? 'text' : 'number';
  }
  return reads;
}

/** What one pass learns of a numeric column: moments of the raw and model (after log) values, range, invalid count. */
interface NumericStats {
  f: NumericFeature;
  log: boolean;
  raw: Moments;
  model: Moments;
  min: number;
  max: number;
  invalid: number;
}

/** What one pass learns of a categorical column: counts of up to MAX_DISTINCT levels, and the rows beyond. */
interface CategoricalStats {
  f: CategoricalFeature;
  counts: Map<string, number>;
  overflow: number;
}

/** What one pass learns of a boolean column: true values among the valid, and the invalid. */
interface BooleanStats {
  f: BooleanFeature;
  ones: number;
  valid: number;
  invalid: number;
}

/** The column requests for `reads`: a numeric column's invalid-text and decimal-mark options go with it. */
function columnRequests(spec: FeatureSpec, reads: Record<string, ColumnRequest['as']>): ColumnRequest[] {
  return Object.entries(reads).map(([name, as]) => {
    const f = spec.numeric.find((n) => n.name === name);
    return { name, as, ...(f?.invalidText === 'missing' && { textNotNumber: 'missing' as const }), ...(f?.decimal && { decimalMark: f.decimal }) };
  });
}

/** Adds a batch's values of numeric column `s.f` (a value invalid after the log option counts as invalid). */
function addNumeric(s: NumericStats, batch: ColumnBatch): void {
  const col = numberColumn(batch, s.f.name);
  for (let i = 0; i < batch.rows; i++) {
    const x = modelValue(col[i], s.log);
    if (Number.isNaN(x)) {
      s.invalid++;
      continue;
    }
    const v = col[i];
    s.raw.add(v);
    s.model.add(x);
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
  }
}

/** Counts a batch's levels of categorical column `s.f`; a new level past MAX_DISTINCT counts as overflow. */
function addCategorical(s: CategoricalStats, batch: ColumnBatch): void {
  const col = textColumn(batch, s.f.name);
  for (let i = 0; i < batch.rows; i++) {
    const key = categoryOf(col[i]);
    const n = s.counts.get(key);
    if (n !== undefined) s.counts.set(key, n + 1);
    else if (s.counts.size < MAX_DISTINCT) s.counts.set(key, 1);
    else s.overflow++;
  }
}

/** Counts a batch's true, valid and invalid values of boolean column `s.f`. */
function addBoolean(s: BooleanStats, batch: ColumnBatch): void {
  const vals = booleanValues(batch, s.f.name);
  for (let i = 0; i < batch.rows; i++) {
    if (Number.isNaN(vals[i])) s.invalid++;
    else {
      s.valid++;
      s.ones += vals[i];
    }
  }
}

/**
 * A numeric feature from its stats over `rows`: the imputation value, and the mean and std
 * (population) of the model values with the invalid rows imputed.
 * @throws UserError when the column has no valid value, or the imputation value is invalid for a log feature.
 */
function fittedNumeric(s: NumericStats, rows: number): FittedFeature {
  if (s.raw.n === 0) throw new UserError(`column "${s.f.name}" has no valid numeric value in ${rows} rows`);
  const impute = s.f.impute ?? 'mean';
  const fill = impute === 'mean' ? s.raw.mean : impute === 'zero' ? 0 : impute;
  const fillModel = modelValue(fill, s.log);
  if (Number.isNaN(fillModel)) throw new UserError(`column "${s.f.name}": impute value ${fill} is invalid for a log feature`);
  const scaled = s.model.withCopies(fillModel, s.invalid);
  return {
    kind: 'numeric',
    name: s.f.name,
    log: s.log,
    fill,
    mean: scaled.mean,
    std: scaled.std,
    rawMean: s.raw.mean,
    rawStd: Math.sqrt(s.raw.m2 / s.raw.n),
    min: s.min,
    max: s.max,
    invalid: s.invalid,
    ...(s.f.invalidText === 'missing' && { invalidText: 'missing' as const }),
    ...(s.f.decimal && { decimal: s.f.decimal }),
  };
}

/** A categorical feature: its most frequent levels (ties by level), their shares of `rows`, and "(other)" for the rest. */
function fittedCategorical(s: CategoricalStats, rows: number): FittedFeature {
  const sorted = [...s.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = sorted.slice(0, s.f.top ?? DEFAULT_TOP).filter(([level]) => level !== OTHER);
  const keptRows = top.reduce((a, [, n]) => a + n, 0);
  const other = keptRows < rows;
  return {
    kind: 'categorical',
    name: s.f.name,
    levels: top.map(([level]) => level),
    shares: [...top.map(([, n]) => n / rows), ...(other ? [(rows - keptRows) / rows] : [])],
    other,
  };
}

/** A boolean feature: its rate of true values and the majority value as fill. @throws UserError when it has no valid value. */
function fittedBoolean(s: BooleanStats, rows: number): FittedFeature {
  if (s.valid === 0) throw new UserError(`column "${s.f.name}" has no true/false value in ${rows} rows`);
  const rate = s.ones / s.valid;
  return { kind: 'boolean', name: s.f.name, fill: rate >= 0.5 ? 1 : 0, rate, invalid: s.invalid };
}

/**
 * Learns the feature transform in one streaming pass over the data: per numeric column the
 * imputation value, mean and standard deviation (Welford's algorithm) after the log option;
 * per categorical the most frequent levels; per boolean the majority value.
 * @throws UserError for a missing column, no rows, or a column without one valid value.
 */
export async function fitTransform(data: Dataset, spec: FeatureSpec, progress: Progress = silentProgress): Promise<FittedTransform> {
  const reads = readsFor(spec, data.columns, data.tables[0].path);
  const numeric: NumericStats[] = spec.numeric.map((f) => ({ f, log: f.log ?? false, raw: new Moments(), model: new Moments(), min: Infinity, max: -Infinity, invalid: 0 }));
  const categorical: CategoricalStats[] = spec.categorical.map((f) => ({ f, counts: new Map<string, number>(), overflow: 0 }));
  const boolean: BooleanStats[] = spec.boolean.map((f) => ({ f, ones: 0, valid: 0, invalid: 0 }));
  let rows = 0;
  for await (const batch of data.read(columnRequests(spec, reads))) {
    for (const s of numeric) addNumeric(s, batch);
    for (const s of categorical) addCategorical(s, batch);
    for (const s of boolean) addBoolean(s, batch);
    rows += batch.rows;
    progress.update(rows, data.rowCount);
  }
  if (rows === 0) throw new UserError(`${data.tables.map((t) => t.path).join(', ')}: no rows to learn from`);

  const features: FittedFeature[] = [
    ...numeric.map((s) => fittedNumeric(s, rows)),
    ...categorical.map((s) => fittedCategorical(s, rows)),
    ...boolean.map((s) => fittedBoolean(s, rows)),
  ];
  const id: FittedTransform['id'] =
    spec.id === undefined ? { column: null, as: 'row' } : { column: spec.id, as: idReading(data.columns.find((c) => c.name === spec.id)) };
  const fingerprint = createHash('sha256').update(JSON.stringify({ rows, features })).digest('hex');
  return { id, features, reads, outputs: outputNames(features), onInvalid: spec.onInvalid ?? 'impute', rows, fingerprint };
}

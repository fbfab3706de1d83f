/** Learns the feature transform in one streaming pass: imputation values, scaling, vocabularies. */
import { createHash } from 'node:crypto';
import type { ColumnInfo, ColumnRequest } from '../io/columns.js';
import { numberColumn, textColumn } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { UserError } from '../util/errors.js';
import { silentProgress, type Progress } from '../util/progress.js';
import { DEFAULT_TOP, type FeatureSpec } from './spec.js';
import {
  booleanValues,
  categoryOf,
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

/**
 * Learns the feature transform in one streaming pass over the data: per numeric column the
 * imputation value, mean and standard deviation (Welford's algorithm) after the log option;
 * per categorical the most frequent levels; per boolean the majority value.
 * @throws UserError for a missing column, no rows, or a column without one valid value.
 */
export async function fitTransform(data: Dataset, spec: FeatureSpec, progress: Progress = silentProgress): Promise<FittedTransform> {
  const reads = readsFor(spec, data.columns, data.tables[0].path);
  const request: ColumnRequest[] = Object.entries(reads).map(([name, as]) => {
    const f = spec.numeric.find((n) => n.name === name);
    return { name, as, ...(f?.invalidText === 'missing' && { textNotNumber: 'missing' as const }), ...(f?.decimal && { decimalMark: f.decimal }) };
  });

  const numeric = spec.numeric.map((f) => ({
    f,
    log: f.log ?? false,
    raw: new Moments(),
    model: new Moments(),
    min: Infinity,
    max: -Infinity,
    invalid: 0,
  }));
  const categorical = spec.categorical.map((f) => ({ f, counts: new Map<string, number>(), overflow: 0 }));
  const boolean = spec.boolean.map((f) => ({ f, ones: 0, valid: 0, invalid: 0 }));
  let rows = 0;

  for await (const batch of data.read(request)) {
    for (const s of numeric) {
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
    for (const s of categorical) {
      const col = textColumn(batch, s.f.name);
      for (let i = 0; i < batch.rows; i++) {
        const key = categoryOf(col[i]);
        const n = s.counts.get(key);
        if (n !== undefined) s.counts.set(key, n + 1);
        else if (s.counts.size < MAX_DISTINCT) s.counts.set(key, 1);
        else s.overflow++;
      }
    }
    for (const s of boolean) {
      const vals = booleanValues(batch, s.f.name);
      for (let i = 0; i < batch.rows; i++) {
        if (Number.isNaN(vals[i])) s.invalid++;
        else {
          s.valid++;
          s.ones += vals[i];
        }
      }
    }
    rows += batch.rows;
    progress.update(rows, data.rowCount);
  }
  if (rows === 0) throw new UserError(`${data.tables.map((t) => t.path).join(', ')}: no rows to learn from`);

  const features: FittedFeature[] = [];
  for (const s of numeric) {
    if (s.raw.n === 0) throw new UserError(`column "${s.f.name}" has no valid numeric value in ${rows} rows`);
    const impute = s.f.impute ?? 'mean';
    const fill = impute === 'mean' ? s.raw.mean : impute === 'zero' ? 0 : impute;
    const fillModel = modelValue(fill, s.log);
    if (Number.isNaN(fillModel)) throw new UserError(`column "${s.f.name}": impute value ${fill} is invalid for a log feature`);
    const scaled = s.model.withCopies(fillModel, s.invalid);
    features.push({
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
    });
  }
  for (const s of spec.categorical.map((f, i) => ({ f, st: categorical[i] }))) {
    const sorted = [...s.st.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = sorted.slice(0, s.f.top ?? DEFAULT_TOP).filter(([level]) => level !== OTHER);
    const keptRows = top.reduce((a, [, n]) => a + n, 0);
    const other = keptRows < rows;
    features.push({
      kind: 'categorical',
      name: s.f.name,
      levels: top.map(([level]) => level),
      shares: [...top.map(([, n]) => n / rows), ...(other ? [(rows - keptRows) / rows] : [])],
      other,
    });
  }
  for (const s of boolean) {
    if (s.valid === 0) throw new UserError(`column "${s.f.name}" has no true/false value in ${rows} rows`);
    const rate = s.ones / s.valid;
    features.push({ kind: 'boolean', name: s.f.name, fill: rate >= 0.5 ? 1 : 0, rate, invalid: s.invalid });
  }

  const id: FittedTransform['id'] =
    spec.id === undefined ? { column: null, as: 'row' } : { column: spec.id, as: idReading(data.columns.find((c) => c.name === spec.id)) };
  const fingerprint = createHash('sha256').update(JSON.stringify({ rows, features })).digest('hex');
  return { id, features, reads, outputs: outputNames(features), onInvalid: spec.onInvalid ?? 'impute', rows, fingerprint };
}

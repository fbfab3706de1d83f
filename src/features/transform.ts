/**
 * The fitted feature transform and its application: a column batch becomes a FeatureBlock
 * (row-major Float32Array) with exactly the statistics learned at training time.
 */
import { createHash } from 'node:crypto';
import type { ColumnBatch, ColumnInfo, ColumnRequest, LevelCoding } from '../io/columns.js';
import { fitsInt64, numberColumn, textColumn } from '../io/columns.js';
import { levelCodes, levelIndex } from '../io/levels.js';
import { parseBool } from '../io/number-text.js';
import { UserError } from '../util/errors.js';

export interface FittedNumeric {
  kind: 'numeric';
  name: string;
  log: boolean;
  /** Imputed value, in the column's own units. */
  fill: number;
  /** Mean and standard deviation of the (log-transformed, imputed) values: the scaling. */
  mean: number;
  std: number;
  /** Statistics of the raw valid values, for profiles and reports. */
  rawMean: number;
  rawStd: number;
  min: number;
  max: number;
  invalid: number;
  /** Text that is not a number reads as missing (imputed and counted) instead of stopping the read. */
  invalidText?: 'missing';
  /** The decimal mark the spec named for numbers written as text (else each file's values decide). */
  decimal?: '.' | ',';
}

export interface FittedCategorical {
  kind: 'categorical';
  name: string;
  /** Kept values, most frequent first; each is one one-hot output. */
  levels: string[];
  /** Share of rows at each level, then of "(other)" if present. */
  shares: number[];
  /** Whether an "(other)" output exists (values beyond the kept ones were seen). */
  other: boolean;
}

export interface FittedBoolean {
  kind: 'boolean';
  name: string;
  /** Imputed value (the majority value). */
  fill: number;
  /** Share of true among valid values. */
  rate: number;
  invalid: number;
}

export type FittedFeature = FittedNumeric | FittedCategorical | FittedBoolean;

export interface FittedTransform {
  /** Id column, its reading, or row numbers when the data has none. */
  id: { column: string; as: 'bigint' | 'text' } | { column: null; as: 'row' };
  features: FittedFeature[];
  /** How each feature column is read from files (boolean columns may be text or numbers). */
  reads: Record<string, ColumnRequest['as']>;
  /** Output column names, in FeatureBlock column order. */
  outputs: string[];
  onInvalid: 'impute' | 'error';
  rows: number;
  /** sha256 of the fitted statistics: identifies the data the model saw. */
  fingerprint: string;
}

export type Ids = BigInt64Array | (string | null)[];

export interface FeatureBlock {
  ids: Ids;
  rows: number;
  cols: number;
  /** Row-major rows x cols. */
  data: Float32Array;
  names: string[];
  /** Values imputed in this block (null, NaN, Inf, negative under log, unknown boolean). */
  imputed: number;
}

export const OTHER = '(other)';

/** The FeatureBlock column names of fitted features: one per numeric or boolean, one per kept level (and "(other)") of a categorical. */
export function outputNames(features: FittedFeature[]): string[] {
  const out: string[] = [];
  for (const f of features) {
    if (f.kind === 'categorical') {
      for (const level of f.levels) out.push(`${f.name}=${level}`);
      if (f.other) out.push(`${f.name}=${OTHER}`);
    } else out.push(f.name);
  }
  return out;
}

/** The columns to read for this transform, with the id first if there is one. */
export function columnRequest(t: FittedTransform, extra: ColumnRequest[] = []): ColumnRequest[] {
  const req: ColumnRequest[] = [];
  if (t.id.column !== null) req.push({ name: t.id.column, as: t.id.as as 'bigint' | 'text' });
  for (const f of t.features) {
    const numeric = f.kind === 'numeric' ? f : undefined;
    req.push({ name: f.name, as: t.reads[f.name], ...(numeric?.invalidText === 'missing' && { textNotNumber: 'missing' as const }), ...(numeric?.decimal && { decimalMark: numeric.decimal }) });
  }
  for (const e of extra) if (!req.some((r) => r.name === e.name)) req.push(e);
  return req;
}

/**
 * How an id column is carried: as BigInt64 when its stored type always fits, else as exact text
 * (UBIGINT, HUGEINT, UUID, floats, strings, and every CSV column: its text is the id).
 */
export function idReading(column: ColumnInfo | undefined): 'bigint' | 'text' {
  return column && !column.inferred && fitsInt64(column.type) ? 'bigint' : 'text';
}

/**
 * Largest magnitude a numeric feature value may have: beyond it (1e30 or 1e308 written as a
 * sentinel or by a broken export) a value is invalid, imputed and counted, in training and
 * scoring alike. No count, duration or amount of a visitor comes near it.
 */
export const MAX_MAGNITUDE = 1e15;

/**
 * How far past the training range a scored value may lie, in widths of that range: a value
 * below min - RANGE_BOUND * (max - min) or above max + RANGE_BOUND * (max - min) is invalid
 * (imputed and counted, or refused with onInvalid "error"), never scored as a normal value.
 */
export const RANGE_BOUND = 100;

/** The interval of valid scored values of a fitted numeric feature (see RANGE_BOUND). */
export function validRange(f: Pick<FittedNumeric, 'min' | 'max'>): [number, number] {
  const span = f.max - f.min || Math.max(Math.abs(f.max), 1);
  return [f.min - RANGE_BOUND * span, f.max + RANGE_BOUND * span];
}

/** Numeric value as modelled: NaN when invalid (null, NaN, Inf, beyond MAX_MAGNITUDE, negative under log). */
export function modelValue(v: number, log: boolean): number {
  if (!Number.isFinite(v) || Math.abs(v) > MAX_MAGNITUDE) return NaN;
  if (log) return v < 0 ? NaN : Math.log1p(v);
  return v;
}

/**
 * A boolean column as 1, 0 or NaN (unrecognized: 0/1, true/false, yes/no are), whether stored
 * as numbers or text; with `positive`, 1 where the cell equals it and 0 for any other value.
 */
export function booleanValues(batch: ColumnBatch, name: string, positive?: string): Float64Array {
  if (positive !== undefined) return positiveValues(batch, name, positive);
  const col = batch.columns.get(name);
  if (col instanceof Float64Array) {
    const out = new Float64Array(col.length);
    for (let i = 0; i < col.length; i++) out[i] = col[i] === 0 || col[i] === 1 ? col[i] : NaN;
    return out;
  }
  const text = textColumn(batch, name);
  const out = new Float64Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = parseBool(text[i]);
  return out;
}

/**
 * How a label column is read for booleanValues: as text when it holds text, or when
 * `positive` names the value that counts (a yes/no column sniffed as boolean is then matched
 * by its text, "YES", not read as 1/0 first); otherwise as numbers.
 */
export function labelRequest(column: ColumnInfo, positive?: string): ColumnRequest {
  return { name: column.name, as: column.kind === 'text' || (positive !== undefined && column.kind === 'boolean') ? 'text' : 'number' };
}

/**
 * A 0/1 outcome from a label of any values: 1 where the cell equals `positive` (text compared
 * trimmed; numbers compared as numbers, so "1" matches 1.0), 0 for any other value, NaN for null.
 */
function positiveValues(batch: ColumnBatch, name: string, positive: string): Float64Array {
  const col = batch.columns.get(name);
  const target = positive.trim();
  if (col instanceof Float64Array) {
    const n = Number(target);
    return Float64Array.from(col, (v) => (Number.isNaN(v) ? NaN : v === n ? 1 : 0));
  }
  const text = textColumn(batch, name);
  return Float64Array.from(text, (v) => (v === null ? NaN : v.trim() === target ? 1 : 0));
}

/** The index an unseen categorical value takes: "(other)"'s, or past the levels (a row of zeros). */
export function unseenIndex(f: FittedCategorical): number {
  return f.levels.length + (f.other ? 0 : 1);
}

const codings = new WeakMap<FittedCategorical, LevelCoding>();

/**
 * How a scoring read codes a categorical feature's cells (io/levels.ts): its levels' keys and
 * indices, unseenIndex for the rest, under a batch key of its own (the feature's name and a
 * digest of its levels: two models' codings of one column differ).
 */
export function levelCoding(f: FittedCategorical): LevelCoding {
  let coding = codings.get(f);
  if (!coding) {
    const index = levelIndex(f.levels);
    const digest = createHash('sha256').update(JSON.stringify([f.levels, f.other])).digest('hex').slice(0, 16);
    coding = { key: `\u0000levels\u0000${f.name}\u0000${digest}`, keys: [...index.keys()], codes: [...index.values()], unseen: unseenIndex(f) };
    codings.set(f, coding);
  }
  return coding;
}

/** The columns a scoring read asks for: columnRequest's, each categorical feature as its level codes (levelCoding). */
export function scoringRequest(t: FittedTransform): ColumnRequest[] {
  const byName = new Map(t.features.map((f) => [f.name, f]));
  return columnRequest(t).map((r) => {
    const f = byName.get(r.name);
    return f?.kind === 'categorical' ? { name: r.name, as: 'level' as const, levels: levelCoding(f) } : r;
  });
}

function invalidError(batch: ColumnBatch, column: string, row: number, value: unknown, expected: string): UserError {
  return new UserError(
    `${batch.source}: column "${column}", data row ${batch.offset + row + 1} holds ${String(value)}, expected ${expected} (onInvalid is "error"; set it to "impute" to fill such values)`,
  );
}

/** A categorical feature's level codes in a batch: as the read coded them (scoringRequest), else from its text. */
export function levelColumn(batch: ColumnBatch, f: FittedCategorical): Float64Array {
  const coding = levelCoding(f);
  const coded = batch.columns.get(coding.key);
  return coded instanceof Float64Array ? coded : levelCodes(textColumn(batch, f.name), coding);
}

/**
 * Applies the fitted transform to a column batch: standardized numerics (training mean and
 * standard deviation), one-hot categoricals, 0/1 booleans; invalid values are imputed and
 * counted, or refused with onInvalid "error".
 * @returns a FeatureBlock of batch.rows x t.outputs.length values (row-major, float32).
 * @throws UserError naming the file, column and data row of an invalid value under onInvalid "error".
 */
export function transform(t: FittedTransform, batch: ColumnBatch): FeatureBlock {
  const rows = batch.rows;
  const cols = t.outputs.length;
  const data = new Float32Array(rows * cols);
  const strict = t.onInvalid === 'error';
  let imputed = 0;
  let c = 0;
  for (const f of t.features) {
    if (f.kind === 'numeric') {
      const raw = numberColumn(batch, f.name);
      const scale = f.std > 0 ? 1 / f.std : 1;
      const fillZ = (modelValue(f.fill, f.log) - f.mean) * scale;
      const [lo, hi] = validRange(f);
      for (let i = 0; i < rows; i++) {
        const x = raw[i] < lo || raw[i] > hi ? NaN : modelValue(raw[i], f.log);
        if (Number.isNaN(x)) {
          if (strict) {
            const far = Number.isFinite(raw[i]) && Math.abs(raw[i]) <= MAX_MAGNITUDE && (raw[i] < lo || raw[i] > hi);
            const expected = far ? `a number from ${lo} to ${hi} (the training range widened ${RANGE_BOUND} times its width)` : f.log ? 'a finite number >= 0 (log feature)' : 'a finite number';
            throw invalidError(batch, f.name, i, raw[i], expected);
          }
          imputed++;
          data[i * cols + c] = fillZ;
        } else data[i * cols + c] = (x - f.mean) * scale;
      }
      c += 1;
    } else if (f.kind === 'boolean') {
      const vals = booleanValues(batch, f.name);
      for (let i = 0; i < rows; i++) {
        let v = vals[i];
        if (Number.isNaN(v)) {
          if (strict) throw invalidError(batch, f.name, i, batch.columns.get(f.name)![i], 'true/false, yes/no or 1/0');
          imputed++;
          v = f.fill;
        }
        data[i * cols + c] = v;
      }
      c += 1;
    } else {
      const width = f.levels.length + (f.other ? 1 : 0);
      // Unseen values go to "(other)" if the fit had one; otherwise the row is all zeros (a code past the width).
      const codes = levelColumn(batch, f);
      for (let i = 0; i < rows; i++) if (codes[i] < width) data[i * cols + c + codes[i]] = 1;
      c += width;
    }
  }
  return { ids: idsOf(t, batch), rows, cols, data, names: t.outputs, imputed };
}

/** The ids of a batch's rows as the transform carries them: the id column, or row numbers across the inputs. */
export function idsOf(t: FittedTransform, batch: ColumnBatch): Ids {
  if (t.id.column === null) {
    const ids = new BigInt64Array(batch.rows);
    for (let i = 0; i < batch.rows; i++) ids[i] = BigInt(batch.first + i);
    return ids;
  }
  const col = batch.columns.get(t.id.column);
  if (col instanceof BigInt64Array) return col;
  if (Array.isArray(col)) return col;
  throw new Error(`id column ${t.id.column} was not read`);
}

export interface FeatureGroup {
  name: string;
  kind: FittedFeature['kind'];
  /** First block column of the feature and how many it spans (one-hot levels for categoricals). */
  start: number;
  width: number;
}

/** The block columns of each original feature, in block order. */
export function featureGroups(t: FittedTransform): FeatureGroup[] {
  let start = 0;
  return t.features.map((f) => {
    const width = f.kind === 'categorical' ? f.levels.length + (f.other ? 1 : 0) : 1;
    const g = { name: f.name, kind: f.kind, start, width };
    start += width;
    return g;
  });
}

/**
 * The feature spec: which columns feed a model and how. Written by hand as JSON or inferred
 * (`--features auto`), validated here with messages that say which entry is wrong.
 */
import fs from 'node:fs';
import { UserError, errorMessage } from '../util/errors.js';

export type Impute = 'mean' | 'zero' | number;

export interface NumericFeature {
  name: string;
  /** Value for null/NaN/Inf (default: the column's mean). */
  impute?: Impute;
  /** Model log1p(x) instead of x: for counts and durations with long tails. */
  log?: boolean;
  /**
   * Text in the column that is not a number ("unknown", "-"): "error" (default) stops at the
   * first, naming the row; "missing" reads it as a missing value, imputed and counted.
   */
  invalidText?: 'error' | 'missing';
}

export interface CategoricalFeature {
  name: string;
  /** Keep the most frequent `top` values; the rest become "(other)". Default 20. */
  top?: number;
}

export interface BooleanFeature {
  name: string;
}

export interface FeatureSpec {
  /** Visitor id column; without one, ids are row numbers across the input files. */
  id?: string;
  numeric: NumericFeature[];
  categorical: CategoricalFeature[];
  boolean: BooleanFeature[];
  /** What to do with null, NaN, Inf or a negative value under log: impute (default) or stop with an error. */
  onInvalid?: 'impute' | 'error';
}

export const DEFAULT_TOP = 20;

/** Every feature column of a spec, numeric then categorical then boolean. */
export function featureNames(spec: FeatureSpec): string[] {
  return [...spec.numeric, ...spec.categorical, ...spec.boolean].map((f) => f.name);
}

/** Reads and validates a feature spec file (JSON). @throws UserError naming the file and the entry that is wrong. */
export function loadSpec(file: string): FeatureSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: cannot read feature spec: ${errorMessage(err)}`);
  }
  return parseSpec(raw, file);
}

/** Validates a spec from JSON; entries may be plain column names or objects. */
export function parseSpec(raw: unknown, where = 'feature spec'): FeatureSpec {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('expected a JSON object with "numeric", "categorical" and/or "boolean" lists');
  const obj = raw as Record<string, unknown>;
  const known = new Set(['id', 'numeric', 'categorical', 'boolean', 'onInvalid', 'exclude', '$comment']);
  for (const key of Object.keys(obj)) if (!known.has(key)) fail(`unknown key "${key}" (known: ${[...known].join(', ')})`);

  const list = (key: string): Array<Record<string, unknown>> => {
    const v = obj[key] ?? [];
    if (!Array.isArray(v)) return fail(`"${key}" must be a list`);
    return v.map((e, i) => {
      if (typeof e === 'string' && e) return { name: e };
      if (e && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string' && (e as { name: string }).name) {
        return e as Record<string, unknown>;
      }
      return fail(`"${key}"[${i}] must be a column name or an object with a "name"`);
    });
  };

  const numeric = list('numeric').map((e, i): NumericFeature => {
    const at = `"numeric"[${i}] (${e.name})`;
    const impute = e.impute;
    if (impute !== undefined && impute !== 'mean' && impute !== 'zero' && !(typeof impute === 'number' && Number.isFinite(impute))) {
      fail(`${at}: impute must be "mean", "zero" or a finite number`);
    }
    if (e.log !== undefined && typeof e.log !== 'boolean') fail(`${at}: log must be true or false`);
    if (e.invalidText !== undefined && e.invalidText !== 'error' && e.invalidText !== 'missing') fail(`${at}: invalidText must be "error" or "missing"`);
    for (const k of Object.keys(e)) if (!['name', 'impute', 'log', 'invalidText'].includes(k)) fail(`${at}: unknown key "${k}" (name, impute, log, invalidText)`);
    return {
      name: e.name as string,
      ...(impute !== undefined && { impute: impute as Impute }),
      ...(e.log !== undefined && { log: e.log as boolean }),
      ...(e.invalidText !== undefined && { invalidText: e.invalidText as 'error' | 'missing' }),
    };
  });
  const categorical = list('categorical').map((e, i): CategoricalFeature => {
    if (e.top !== undefined && !(Number.isInteger(e.top) && (e.top as number) >= 1 && (e.top as number) <= 1000)) {
      fail(`"categorical"[${i}] (${e.name}): top must be an integer from 1 to 1000`);
    }
    return { name: e.name as string, ...(e.top !== undefined && { top: e.top as number }) };
  });
  const boolean = list('boolean').map((e): BooleanFeature => ({ name: e.name as string }));

  const id = obj.id;
  if (id !== undefined && (typeof id !== 'string' || !id)) fail('"id" must be a column name');
  const onInvalid = obj.onInvalid;
  if (onInvalid !== undefined && onInvalid !== 'impute' && onInvalid !== 'error') fail('"onInvalid" must be "impute" or "error"');

  const spec: FeatureSpec = {
    ...(id !== undefined && { id: id as string }),
    numeric,
    categorical,
    boolean,
    ...(onInvalid !== undefined && { onInvalid: onInvalid as 'impute' | 'error' }),
  };
  const names = featureNames(spec);
  if (names.length === 0) fail('no features: list at least one numeric, categorical or boolean column');
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) fail(`column "${n}" is listed twice`);
    if (n === spec.id) fail(`column "${n}" is the id column and cannot also be a feature`);
    seen.add(n);
  }
  return spec;
}

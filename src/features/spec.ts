/**
 * The feature spec: which columns feed a model and how. Written by hand as JSON or inferred
 * (`--features auto`), validated here with messages that say which entry is wrong.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { UserError } from '../util/errors.js';
import { readUserJson } from '../util/files.js';
import { schemaProblem } from '../util/schema.js';

const Column = Type.String({ minLength: 1, expected: 'a column name' });

/** A list entry: a plain column name, or an object with its name and options. */
const Entry = <T extends TSchema>(options: T) => Type.Union([Column, options], { expected: 'a column name or an object with a "name"' });

const ImputeSchema = Type.Union([Type.Literal('mean'), Type.Literal('zero'), Type.Number()], { expected: '"mean", "zero" or a finite number' });

/** A numeric feature and its options (see FeatureSpecSchema). */
export const NumericFeatureSchema = Type.Object(
  {
    name: Column,
    /** Value for null/NaN/Inf (default: the column's mean). */
    impute: Type.Optional(ImputeSchema),
    /** Model log1p(x) instead of x: for counts and durations with long tails. */
    log: Type.Optional(Type.Boolean({ expected: 'true or false' })),
    /**
     * Text in the column that is not a number ("unknown", "-"): "error" (default) stops at the
     * first, naming the row; "missing" reads it as a missing value, imputed and counted.
     */
    invalidText: Type.Optional(Type.Union([Type.Literal('error'), Type.Literal('missing')], { expected: '"error" or "missing"' })),
    /**
     * The decimal mark of numbers written as text ("." or ","), for a column whose values leave
     * it open ("1.234" in a ";" file); by default the column's values decide.
     */
    decimal: Type.Optional(Type.Union([Type.Literal('.'), Type.Literal(',')], { expected: '"." or ","' })),
  },
  { additionalProperties: false },
);

/** A categorical feature: the most frequent `top` values are kept (default 20), the rest become "(other)". */
export const CategoricalFeatureSchema = Type.Object(
  { name: Column, top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, expected: 'an integer from 1 to 1000' })) },
  { additionalProperties: false },
);

/** A boolean feature (0/1, true/false, yes/no). */
export const BooleanFeatureSchema = Type.Object({ name: Column }, { additionalProperties: false });

/**
 * A feature spec file or request body: which columns feed a model and how. `id` is the
 * visitor id column (without one, ids are row numbers across the input files); the lists'
 * entries are column names or objects with options; `onInvalid` says what to do with null,
 * NaN, Inf or a negative value under log: impute (default) or stop with an error.
 */
export const FeatureSpecSchema = Type.Object(
  {
    id: Type.Optional(Column),
    numeric: Type.Optional(Type.Array(Entry(NumericFeatureSchema), { expected: 'a list' })),
    categorical: Type.Optional(Type.Array(Entry(CategoricalFeatureSchema), { expected: 'a list' })),
    boolean: Type.Optional(Type.Array(Entry(BooleanFeatureSchema), { expected: 'a list' })),
    onInvalid: Type.Optional(Type.Union([Type.Literal('impute'), Type.Literal('error')], { expected: '"impute" or "error"' })),
    exclude: Type.Optional(Type.Array(Column, { expected: 'a list of column names' })),
    $comment: Type.Optional(Type.String()),
  },
  { additionalProperties: false, expected: 'a JSON object with "numeric", "categorical" and/or "boolean" lists' },
);

export type NumericFeature = Static<typeof NumericFeatureSchema>;
export type CategoricalFeature = Static<typeof CategoricalFeatureSchema>;
export type BooleanFeature = Static<typeof BooleanFeatureSchema>;
export type Impute = Static<typeof ImputeSchema>;

/** A validated spec: every list present, every entry an object. */
export interface FeatureSpec {
  id?: string;
  numeric: NumericFeature[];
  categorical: CategoricalFeature[];
  boolean: BooleanFeature[];
  onInvalid?: 'impute' | 'error';
}

export const DEFAULT_TOP = 20;

/** Every feature column of a spec, numeric then categorical then boolean. */
export function featureNames(spec: FeatureSpec): string[] {
  return [...spec.numeric, ...spec.categorical, ...spec.boolean].map((f) => f.name);
}

/**
 * Reads and validates a feature spec file (JSON). `option` names where the user gave it
 * (`--features`, `params.features`) in the messages about the file itself.
 * @throws UserError naming the option and the file when it is missing or not JSON, and the entry that is wrong.
 */
export function loadSpec(file: string, option?: string): FeatureSpec {
  return parseSpec(readUserJson(file, option ? `${option} ${file}` : file, 'feature spec'), file);
}

/** Where in a spec a path points, in the words of its messages: `"numeric"[0] (visits): impute`. */
function place(raw: Record<string, unknown>, path: string[]): string {
  const [list, index, ...rest] = path;
  if (index === undefined) return `"${list}"`;
  const entry = (raw[list] as unknown[])[Number(index)];
  const name = entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string' ? ` (${(entry as { name: string }).name})` : '';
  return `"${list}"[${index}]${name}${rest.length ? `: ${rest.join('.')}` : ''}`;
}

/**
 * Validates a spec from JSON (a file's or a request body's) against FeatureSpecSchema, then
 * what a schema cannot say: at least one feature, no column twice, the id not a feature.
 * @throws UserError naming `where` and the entry that is wrong.
 */
export function parseSpec(raw: unknown, where = 'feature spec'): FeatureSpec {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  const bad = schemaProblem(FeatureSpecSchema, raw);
  if (bad) {
    if (bad.path.length === 0) fail(bad.problem.startsWith('unknown key') ? bad.problem : `expected a JSON object with "numeric", "categorical" and/or "boolean" lists`);
    const at = place(raw as Record<string, unknown>, bad.path);
    fail(bad.problem.startsWith('unknown key') ? `${at}: ${bad.problem}` : `${at} ${bad.problem}`);
  }
  const obj = raw as Static<typeof FeatureSpecSchema>;
  const entries = <T extends { name: string }>(list: Array<string | T> | undefined): T[] => (list ?? []).map((e) => (typeof e === 'string' ? ({ name: e } as T) : e));
  const spec: FeatureSpec = {
    ...(obj.id !== undefined && { id: obj.id }),
    numeric: entries(obj.numeric),
    categorical: entries(obj.categorical),
    boolean: entries(obj.boolean),
    ...(obj.onInvalid !== undefined && { onInvalid: obj.onInvalid }),
  };
  for (const [i, f] of spec.numeric.entries()) if (typeof f.impute === 'number' && !Number.isFinite(f.impute)) fail(`"numeric"[${i}] (${f.name}): impute must be "mean", "zero" or a finite number`);
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

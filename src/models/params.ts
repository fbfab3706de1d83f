/**
 * The parameters of each model kind, declared once, as TypeBox schemas: type, range, allowed
 * values, default and description of every option (the counterpart of scikit-learn's
 * parameter constraints). From them come the flags of `audience train KIND` and its help
 * text (cli/commands/train.ts), the checks of a service train job's `params` before it is
 * queued (server/submit.ts) with the same messages, and each kind's trainer options: their
 * type (KindOptions: the option camelCased, typed by its schema or its parser), the values
 * from params (optionsOf) and the defaults a trainer fills in (withDefaults). A new
 * parameter is one entry here, then its use in the trainer.
 *
 * Values arrive as the CLI gives them (text, true for a bare flag, lists for repeated flags)
 * or as JSON (numbers, text, booleans, lists): numbers are read from numbers or decimal text
 * (never "0x10" or "Infinity"), ranges and enums are checked here, with messages naming the
 * option as `--name` (the service shows `params.name`).
 */
import { Type, type Static, type TBoolean, type TInteger, type TNumber, type TSchema, type TString, type TUnsafe } from 'typebox';
import { parseSeedFilter } from './lookalike/seeds.js';
import { checkName } from './registry.js';
import { UserError } from '../util/errors.js';
import { parseHorizon } from '../features/events.js';
import { list, num } from '../util/options.js';

/** Option values by name (the flags without dashes), as the CLI or a job's params give them. */
export type ParamValues = Record<string, unknown>;

/** Schema annotations this module reads: the flag's placeholder in help, lists, and a value parser. */
interface Annotations {
  /** Placeholder in help: `--k N|LO..HI`. */
  'x-arg'?: string;
  /** Several values: repeated flags or a comma-separated list. */
  'x-list'?: boolean;
  /** Turns the checked value (or the default) into the trainer's option, checking its format. @throws UserError naming the flag. */
  'x-parse'?: (v: unknown) => unknown;
  /** Training cannot run without it. */
  'x-required'?: boolean;
}

/** A schema that declares a default: the trainer's option is then always present. */
type Defaulted<S> = S & { default: unknown };

function int(description: string, min: number, max: number): TInteger;
function int(description: string, min: number, max: number, def: number): Defaulted<TInteger>;
function int(description: string, min: number, max: number, def?: number) {
  return Type.Integer({ description, minimum: min, maximum: max, ...(def !== undefined && { default: def }), 'x-arg': 'N' });
}
function real(description: string, range: { min?: number; max?: number; above?: number }, def: number): Defaulted<TNumber> {
  return Type.Number({
    description,
    ...(range.min !== undefined && { minimum: range.min }),
    ...(range.max !== undefined && { maximum: range.max }),
    ...(range.above !== undefined && { exclusiveMinimum: range.above }),
    default: def,
    'x-arg': 'X',
  }) as Defaulted<TNumber>;
}
function text(description: string, arg: string): TString;
function text(description: string, arg: string, required: 'required'): TString & { 'x-required': true };
function text(description: string, arg: string, def: string): Defaulted<TString>;
function text(description: string, arg: string, def?: string) {
  return Type.String({ description, minLength: 1, ...(def === 'required' ? { 'x-required': true } : def !== undefined && { default: def }), 'x-arg': arg });
}
const choice = <const T extends string>(values: readonly T[], description: string, def: T) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description, default: def, 'x-arg': values.join('|') }) as Defaulted<TUnsafe<T>>;
const flag = (description: string) => Type.Boolean({ description, default: false }) as Defaulted<TBoolean>;
/** A text option whose value the trainer takes parsed (layer sizes, a k range, a threshold...). */
function parsed<T>(schema: Record<string, unknown>, parse: (v: unknown) => T): TUnsafe<T> {
  return Type.Unsafe<T>({ ...schema, 'x-parse': parse });
}
const names = (description: string, parse: (v: unknown) => string[] = list) =>
  parsed<string[]>({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description, 'x-arg': 'COL', 'x-list': true }, parse);

/** `--k 8` or a sweep `--k 4..12` (at most 50 values). @throws UserError for anything else. */
function parseK(text: string): number | number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo < 2 || hi < lo || hi - lo > 50) throw new UserError(`--k ${text}: a range must be lo..hi with 2 <= lo <= hi and at most 50 values`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  const k = Number(text);
  if (!Number.isInteger(k) || k < 2 || k > 10_000) throw new UserError(`--k ${text}: expected an integer from 2 to 10000 or a range such as 4..12`);
  return k;
}

/** `--hidden 128,64` as layer sizes; "none" or empty for none (a linear model). @throws UserError for other text. */
function hiddenLayers(v: unknown): number[] {
  const textValue = String(v).trim();
  if (textValue === '' || textValue === 'none') return [];
  const sizes = textValue.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) throw new UserError(`--hidden ${textValue}: expected layer sizes such as 128,64 (or none)`);
  return sizes;
}

/** `--horizon-days 90` (or 90d, 13w): whole days, 1 to 3650. @throws UserError for other text. */
function horizonDays(v: unknown): number {
  try {
    return parseHorizon(String(v));
  } catch {
    throw new UserError(`--horizon-days ${String(v)}: expected whole days such as 90 (or 90d, 13w), from 1 to 3650`);
  }
}

/**
 * `--sensitive sex --sensitive race` (or `sex,race`): columns whose groups the report
 * compares (fairness), at most 8, each once.
 * @throws UserError for an empty name or more than 8.
 */
export function sensitiveColumns(v: unknown): string[] {
  const cols = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  if (cols.some((n) => n === '') || cols.length > 8) throw new UserError(`--sensitive ${cols.join(',')}: expected up to 8 column names, e.g. --sensitive sex --sensitive race`);
  return [...new Set(cols)];
}

/** `--threshold f1` or a share of visitors to flag strictly between 0 and 1. @throws UserError for anything else. */
function threshold(v: unknown): 'f1' | number {
  if (String(v) === 'f1') return 'f1';
  const share = num(String(v), '--threshold', { min: 0 })!;
  if (!(share > 0 && share < 1)) throw new UserError('--threshold: f1, or the share of visitors to flag, between 0 and 1');
  return share;
}

/** Options every kind takes: which columns become inputs. */
export const FEATURE_PARAMS = {
  features: text('a feature spec file (audience features --out), or auto: inferred from the data', 'FILE|auto', 'auto'),
  id: text('the id column (default: inferred; none gives row numbers)', 'COL'),
  exclude: names('columns to leave out of the inferred features (repeatable, or a,b)'),
} satisfies Record<string, TSchema>;

const seed = int('random seed (splits, initialization, sampling)', -2_147_483_648, 2_147_483_647, 0);

/** The MLP options propensity and cltv share, with each kind's defaults for layers and regularization. */
function network(hidden: string, linear: string, dropout: number, l2: number) {
  return {
    hidden: parsed({ type: 'string', description: `hidden layer sizes, e.g. 128,64 ('none': ${linear})`, default: hidden, 'x-arg': 'SIZES' }, hiddenLayers) as Defaulted<TUnsafe<number[]>>,
    dropout: real('dropout rate between hidden layers', { min: 0, max: 0.9 }, dropout),
    l2: real('L2 penalty on the weights', { min: 0, max: 1 }, l2),
    'learning-rate': real('Adam learning rate (Kingma and Ba 2015)', { above: 0, max: 1 }, 1e-3),
    'batch-size': int('rows per training step (default min(4096, max(256, train rows / 50)))', 1, 1_000_000),
    'max-epochs': int('passes at most; early stopping on the validation loss ends sooner', 1, 100_000, 200),
    patience: int('epochs without a better validation loss before stopping (the best epoch is restored)', 1, 10_000, 10),
  };
}
const sensitive = names('fairness by the groups of COL on the test rows (repeatable); COL is not a model input unless a --features spec has it', sensitiveColumns);
const trainer = choice(['auto', 'onnx', 'tfjs'], "where the network trains: onnx, onnxruntime's native kernels on every core; tfjs, the backend's (webgpu on a GPU host); auto: tfjs on webgpu or for a network the native step does not cover (--ensemble, --embedding), else onnx", 'auto');
const horizon = parsed({ type: 'string', minLength: 1, description: "days the label covers, e.g. 90 (or 90d, 13w); default: the label's own (audience events)", 'x-arg': 'DAYS' }, horizonDays);

/**
 * `--bins auto`: fewer bins on small training sets, where 32 overfit (UCI Shoppers, 8,000
 * training rows: -0.002 ROC-AUC against 16, 2 splits) and more on larger ones, where they
 * resolve more (UCI Adult, 21,000 rows: +0.0017; the synthetic table, 19,500 rows: +0.0005;
 * 5 splits), bench/quality.
 */
export const AUTO_BINS = { rows: 15_000, few: 16, many: 32 };

/** `--bins 16` (2 to 256) or auto. @throws UserError for anything else. */
function binCount(v: unknown): number | 'auto' {
  if (String(v) === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 256) throw new UserError(`--bins ${String(v)}: expected auto or an integer from 2 to 256`);
  return n;
}

/**
 * `--min-delta auto`: from this many training rows, an epoch counts as progress for early
 * stopping only when it lowers the best validation loss by MIN_DELTA.value (relative): on
 * the generated 1M visitors the weight average's loss kept creeping down by 1e-5 for 20
 * epochs (measured: 46 epochs, best 36; with 1e-4, see README). Below, any drop counts.
 */
export const MIN_DELTA = { rows: 200_000, value: 1e-4 };

/** `--min-delta 0.0001` (0 to 0.1) or auto. @throws UserError for anything else. */
function minDelta(v: unknown): number | 'auto' {
  if (String(v) === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 0.1) throw new UserError(`--min-delta ${String(v)}: expected auto or a number from 0 to 0.1`);
  return n;
}

/** Training + validation rows under which a propensity model is refitted on both by default (`--refit auto`). */
export const REFIT_ROWS = 500_000;

/** Each kind's options (besides --input, --name, --store and FEATURE_PARAMS). */
export const KIND_PARAMS = {
  kmeans: {
    k: parsed({ anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'clusters, or a range LO..HI to sweep: inertia and silhouette per k, the highest silhouette chosen', default: 8, 'x-arg': 'N|LO..HI' }, (v) => parseK(String(v))) as Defaulted<TUnsafe<number | number[]>>,
    'n-init': int('k-means++ restarts (Arthur and Vassilvitskii 2007), the lowest inertia kept', 1, 100, 3),
    'max-iter': int('Lloyd iterations at most', 1, 100_000, 100),
    tol: real('stop when the squared centroid shift is <= tol x the mean feature variance', { min: 0, max: 1 }, 1e-4),
    mode: choice(['auto', 'lloyd', 'minibatch'], 'auto: Lloyd while the rows fit in backend memory (AUDIENCE_RESIDENT_MB), else mini-batch (Sculley 2010)', 'auto'),
    'batch-size': int('mini-batch rows', 16, 10_000_000, 4096),
    epochs: int('mini-batch passes', 1, 10_000, 3),
    'shard-rows': int('rows per shard when the iterations run on workers (REDIS_URL)', 1, 1_000_000_000, 500_000),
    seed,
  },
  propensity: {
    label: text('the outcome column: 0/1, true/false or yes/no (rows with another value are left out and counted), or any values with --positive', 'COL', 'required'),
    positive: text('the label value that counts as a conversion, for a label such as ">50K" / "<=50K" or "purchased" / "browsed": every other value counts as none, null as unlabeled', 'VALUE'),
    ...network('128,64', 'logistic regression', 0.2, 1e-3),
    numeric: choice(['ple', 'standard'], 'numeric inputs as piecewise-linear bins of their training quantiles (Gorishniy et al. 2022), or standardized values', 'ple'),
    bins: parsed(
      { anyOf: [{ type: 'integer' }, { type: 'string' }], description: `bins per numeric input with --numeric ple; auto: ${AUTO_BINS.few} under ${AUTO_BINS.rows.toLocaleString('en-US')} training rows, else ${AUTO_BINS.many}`, default: 'auto', 'x-arg': 'N|auto' },
      (v) => binCount(v),
    ) as Defaulted<TUnsafe<number | 'auto'>>,
    binning: choice(['fill', 'quantile'], "where the bins' edges go: training quantiles, with each value held by more than a bin's share of rows (a 0, a 999 sentinel) as an edge of its own and the other bins over the remaining values (fill), or plain quantiles", 'fill'),
    embedding: int("with --numeric ple: each numeric input's bins through its own linear layer to N values and a ReLU before the first layer (PLE-LR, Gorishniy et al. 2022); 0: the bins go to the first layer as they are", 0, 64, 0),
    ema: real('decay of an exponential moving average of the weights (Polyak averaging), used for early stopping and the saved model; 0: none', { min: 0, max: 0.9999 }, 0.99),
    refit: choice(['auto', 'yes', 'no'], `after early stopping, train the saved network again on the training and validation rows together for the epochs chosen (the test rows stay held out); auto: when there are under ${REFIT_ROWS.toLocaleString('en-US')} of them`, 'auto'),
    'min-delta': parsed(
      { anyOf: [{ type: 'number' }, { type: 'string' }], description: `early stopping: the relative drop of the best validation loss an epoch must make to count as progress (--patience counts epochs without); auto: ${MIN_DELTA.value} from ${MIN_DELTA.rows.toLocaleString('en-US')} training rows, else 0 (any drop)`, default: 'auto', 'x-arg': 'X|auto' },
      (v) => minDelta(v),
    ) as Defaulted<TUnsafe<number | 'auto'>>,
    trainer,
    ensemble: int('TabM-mini ensemble members (Gorishniy et al. 2025): shared hidden layers, per-member input adapters and heads, probabilities averaged; k members cost about k x the training and scoring time', 1, 32, 1),
    'class-weight': choice(['auto', 'balanced', 'none'], 'balanced weighs classes by n / (2 n_class); auto does so when positives are under 5%', 'auto'),
    calibration: choice(['platt', 'isotonic', 'none'], 'probability calibration on the validation split (Platt 1999; isotonic: PAV)', 'platt'),
    threshold: parsed({ type: 'string', minLength: 1, description: 'the decision threshold: f1 (best validation F1) or a share of visitors to flag, e.g. 0.1', default: 'f1', 'x-arg': 'f1|SHARE' }, threshold) as Defaulted<TUnsafe<'f1' | number>>,
    'min-class': int('refuse with fewer positives or negatives than this', 1, 1_000_000_000, 1000),
    'allow-small': flag('train below --min-class'),
    'allow-leakage': flag('train even if one feature alone reaches AUC >= 0.99'),
    sensitive,
    seed,
  },
  lookalike: {
    'seed-ids': text('seed visitor ids: a Parquet/CSV/Arrow file (the column named like the id column, else the first)', 'FILE'),
    'seed-filter': parsed({ type: 'string', minLength: 1, description: 'or: seeds are the visitors whose column C equals V, "C = V"', 'x-arg': '"C = V"' }, (v) => parseSeedFilter(String(v))),
    mode: choice(['knn', 'centroid'], 'mean cosine to the --k nearest seeds, or to their centroid', 'knn'),
    k: int('nearest seeds averaged (knn mode)', 1, 10_000, 50),
    'min-seeds': int('refuse with fewer seeds found in the data', 1, 1_000_000_000, 100),
    hidden: parsed({ type: 'string', description: 'the seed-vs-population classifier; its last layer is the embedding', default: '64,32', 'x-arg': 'SIZES' }, hiddenLayers) as Defaulted<TUnsafe<number[]>>,
    'negatives-per-seed': real('sampled non-seeds per seed', { min: 1, max: 1000 }, 10),
    method: choice(['auto', 'embedding', 'classifier', 'blend'], "the expansion score: auto picks the best recall@10% of held-out seeds among the embedding's similarity, the seed-vs-population MLP's logit and their blend", 'auto'),
    seed,
  },
  anomaly: {
    k: int('segments the outlier score is measured against', 2, 10_000, 8),
    threshold: real('outlier: farther than this many spreads (median member distances) from its segment', { above: 0, max: 1000 }, 3),
    niches: int('clusters of outliers examined as niche segments', 2, 1000, 5),
    seed,
  },
  cltv: {
    label: text('the future value column (money spent over the horizon; 0 for none)', 'COL', 'required'),
    ...network('64,32', 'a linear model', 0, 1e-4),
    trainer,
    'horizon-days': horizon,
    'allow-leakage': flag('train even if one feature alone ranks who buys in the horizon with AUC >= 0.99'),
    sensitive,
    seed,
  },
  uplift: {
    label: text('the outcome column: 0/1, true/false or yes/no (rows with another value are left out and counted)', 'COL', 'required'),
    treatment: text('the arm of each row in the randomized campaign: 1 treated, 0 control (or true/false, yes/no), or any values with --treated', 'COL', 'required'),
    treated: text('the --treatment value that means treated; every other value is control, null is left out', 'VALUE'),
    learner: choice(['auto', 't', 'x', 'dr'], 'the meta-learner on the MLP: T (two outcome models), X (Kunzel et al. 2019), DR (Kennedy 2020); auto: the best Qini coefficient on the validation rows', 'auto'),
    ...network('64,32', 'logistic regressions', 0.1, 1e-4),
    ema: real('decay of an exponential moving average of the weights (Polyak averaging); 0: none', { min: 0, max: 0.9999 }, 0.99),
    trainer: choice(['auto', 'onnx', 'tfjs'], "where the outcome classifiers train (the X and DR regressions train on tfjs): onnx, onnxruntime's native kernels; tfjs, the backend's; auto: tfjs on webgpu, else onnx", 'auto'),
    'min-arm': int('refuse with fewer rows in the treated or the control arm', 1, 1_000_000_000, 1000),
    seed,
  },
  bgnbd: {
    label: text('optional: the future value column, to report how the model matched it', 'COL'),
    'horizon-days': horizon,
    seed,
  },
} satisfies Record<string, Record<string, TSchema>>;

/** The model kinds that can be trained. */
export const MODEL_KINDS = Object.keys(KIND_PARAMS) as Array<keyof typeof KIND_PARAMS>;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Every kind's options together (the train command's flags: one flag per name). */
export function allParams(): Record<string, TSchema> {
  return Object.assign({}, FEATURE_PARAMS, ...Object.values(KIND_PARAMS)) as Record<string, TSchema>;
}

/** A kind's options with the feature options. @throws UserError for an unknown kind. */
export function paramsOf(kind: string): Record<string, TSchema> {
  const own = (KIND_PARAMS as Record<string, Record<string, TSchema>>)[kind];
  if (!own) throw new UserError(`unknown model kind "${kind}"; available: ${MODEL_KINDS.join(', ')}`);
  return { ...FEATURE_PARAMS, ...own };
}

/** The placeholder and description of an option, for help text. */
export function describeParam(schema: TSchema): { arg?: string; text: string } {
  const s = schema as TSchema & Annotations & { description?: string; default?: unknown };
  const range = rangeText(schema);
  const extra = [s.default !== undefined && `default ${String(s.default)}`, range].filter(Boolean).join('; ');
  return { arg: s['x-arg'], text: `${s.description ?? ''}${extra ? ` (${extra})` : ''}` };
}

function rangeText(schema: TSchema): string {
  const s = schema as { type?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number };
  if (s.type !== 'integer' && s.type !== 'number') return '';
  const lo = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined && Math.abs(s.minimum) < 1e9 ? `>= ${s.minimum}` : '';
  const hi = s.maximum !== undefined && s.maximum < 1e9 ? `<= ${s.maximum}` : '';
  return [lo, hi].filter(Boolean).join(' and ');
}

/**
 * Checks option values against a kind's schema: known names, booleans for flags, numbers in
 * range (from numbers or decimal text), allowed values. Custom formats (k ranges, layer
 * sizes, thresholds, horizons, seed filters) are checked by the kind's options function.
 * @returns the values with numbers as numbers and lists as arrays; absent options absent.
 * @throws UserError naming the option (`--name`) and what was expected.
 */
export function checkParams(kind: string, values: ParamValues): ParamValues {
  const schemas = paramsOf(kind);
  const out: ParamValues = {};
  for (const [key, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const schema = schemas[key] as TSchema & Annotations & { type?: string; enum?: string[]; anyOf?: TSchema[] };
    if (!schema) throw new UserError(`--${key}: not an option of "audience train ${kind}" (its options: ${Object.keys(schemas).map((k) => `--${k}`).join(', ')})`);
    out[key] = checkOptionValue(key, v, schema);
  }
  return out;
}

/**
 * One option's value checked against its schema, as checkParams checks each: a list of
 * column names (x-list), a boolean, a number in range (from a number or decimal text), one of
 * the allowed values, non-empty text. Also what `audience score` checks its flags with.
 * @returns the value with numbers as numbers and lists as arrays.
 * @throws UserError naming the option (`--key`) and what was expected.
 */
export function checkOptionValue(key: string, v: unknown, schema: TSchema & Annotations & { type?: string; enum?: string[]; anyOf?: TSchema[] }): unknown {
  const flagName = `--${key}`;
  if (schema['x-list']) {
    const items = Array.isArray(v) ? v : [v];
    if (items.some((x) => typeof x !== 'string')) throw new UserError(`${flagName}: expected column names (text, or a list of text)`);
    const names = list(items);
    if (names.length === 0) throw new UserError(`${flagName}: expected column names, got an empty value`);
    return names;
  }
  if (schema.type === 'boolean') {
    if (typeof v !== 'boolean') throw new UserError(`${flagName}: expected true or false`);
    return v;
  }
  if (typeof v === 'boolean') throw new UserError(`${flagName}: expected a ${schema.type === 'string' ? 'string' : 'number or string'}, got a boolean`);
  if (typeof v !== 'string' && typeof v !== 'number') throw new UserError(`${flagName}: expected a ${schema.type === 'string' ? 'string' : 'number or string'}`);
  if (schema.type === 'integer' || schema.type === 'number') {
    const s = schema as { minimum?: number; maximum?: number; exclusiveMinimum?: number };
    return num(v, flagName, { int: schema.type === 'integer', min: s.minimum, max: s.maximum, above: s.exclusiveMinimum });
  }
  if (schema.enum && !schema.enum.includes(String(v))) throw new UserError(`${flagName} ${String(v)}: expected ${orList(schema.enum)}`);
  if (schema.type === 'string' && String(v).trim() === '') throw new UserError(`${flagName}: expected a value, got an empty one`);
  return v;
}

function orList(values: string[]): string {
  return values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : values[0];
}

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type ParamsOf<K extends ModelKind> = typeof FEATURE_PARAMS & (typeof KIND_PARAMS)[K];
type StaticOf<S> = S extends TSchema ? Static<S> : never;

/**
 * A kind's trainer options as its schemas declare them: each option camelCased
 * (`--learning-rate` is `learningRate`), typed by its schema (a parsed format by its parser:
 * `hidden` is number[]), all optional. Trainers take these plus their own inputs.
 */
export type KindOptions<K extends ModelKind> = { [P in keyof ParamsOf<K> & string as CamelCase<P>]?: StaticOf<ParamsOf<K>[P]> };

/** KindOptions with the schemas' defaults in place: an option with a default, or required, is always present. */
export type ResolvedOptions<K extends ModelKind> = KindOptions<K> & {
  [P in keyof ParamsOf<K> & string as ParamsOf<K>[P] extends { default: unknown } | { 'x-required': true } ? CamelCase<P> : never]-?: StaticOf<ParamsOf<K>[P]>;
};

/** A flag's option name: `learning-rate` is `learningRate`. */
export const camel = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const parse = (schema: TSchema, v: unknown) => ((schema as Annotations)['x-parse'] ? (schema as Annotations)['x-parse']!(v) : v);

/**
 * Trainer options with the schemas' defaults (parsed) wherever `opts` leaves one undefined:
 * what every training step reads, so a default is declared once, in the schema.
 */
export function withDefaults<K extends ModelKind, O extends KindOptions<K>>(kind: K, opts: O): O & ResolvedOptions<K> {
  const out: Record<string, unknown> = { ...opts };
  for (const [key, schema] of Object.entries(paramsOf(kind))) {
    const value = (schema as { default?: unknown }).default;
    if (out[camel(key)] === undefined && value !== undefined) out[camel(key)] = parse(schema, value);
  }
  return out as O & ResolvedOptions<K>;
}

/** Checks between options a schema cannot express, per kind. */
const KIND_CHECKS: Partial<Record<ModelKind, (p: ParamValues) => void>> = {
  lookalike: (p) => {
    if ((p['seed-ids'] === undefined) === (p['seed-filter'] === undefined)) {
      throw new UserError('audience train lookalike: give the seed audience as --seed-ids FILE or --seed-filter "column = value" (one of them)');
    }
  },
  propensity: (p) => {
    // Options of the bins mean nothing without them.
    const binOptions = ['bins', 'binning', 'embedding'].filter((k) => p[k] !== undefined && !(k === 'embedding' && Number(p[k]) === 0));
    if (p.numeric === 'standard' && binOptions.length) throw new UserError(`audience train propensity: --${binOptions[0]} applies to --numeric ple, not --numeric standard`);
  },
};

/**
 * A kind's trainer options from checked params (checkParams), before any data is read:
 * camelCased, formats parsed (layer sizes, k ranges, thresholds, horizons, seed filters),
 * defaults in place, required options present, the kind's cross-checks passed.
 * @throws UserError naming the option (`--name`) and what was expected.
 */
export function optionsOf<K extends ModelKind>(kind: K, name: string, p: ParamValues): ResolvedOptions<K> & { name: string } {
  const out: Record<string, unknown> = { name: checkName(name) };
  for (const [key, schema] of Object.entries(paramsOf(kind))) {
    const value = p[key] ?? (schema as { default?: unknown }).default;
    if (value === undefined) {
      if ((schema as Annotations)['x-required']) throw new UserError(`audience train ${kind}: --${key} is required`);
      continue;
    }
    out[camel(key)] = parse(schema, value);
  }
  KIND_CHECKS[kind]?.(p);
  return out as ResolvedOptions<K> & { name: string };
}

/**
 * Checks a kind's params completely without reading data (schema, then the kind's own
 * formats), as training will: the service calls it when a train job is submitted.
 * @returns the checked params (numbers as numbers, lists as arrays).
 * @throws UserError naming the option (`--name`), its value and what was expected.
 */
export function checkTrainParams(kind: string, name: string, values: ParamValues): ParamValues {
  const checked = checkParams(kind, values);
  optionsOf(kind as ModelKind, name, checked);
  return checked;
}

/**
 * The parameters of each model kind, declared once, as TypeBox schemas: type, range, allowed
 * values, default and description of every option (the counterpart of scikit-learn's
 * parameter constraints). From them come the flags of `audience train KIND` and its help
 * text (cli/commands/train.ts), the checks of a service train job's `params` before it is
 * queued (server/submit.ts) with the same messages, and each kind's trainer options
 * (the `*Options` functions below). A new parameter is one entry here plus its use.
 *
 * Values arrive as the CLI gives them (text, true for a bare flag, lists for repeated flags)
 * or as JSON (numbers, text, booleans, lists): numbers are read from numbers or decimal text
 * (never "0x10" or "Infinity"), ranges and enums are checked here, with messages naming the
 * option as `--name` (the service shows `params.name`).
 */
import { Type, type TSchema } from 'typebox';
import type { KMeansMode } from './kmeans/fit.js';
import { parseK } from './kmeans/train.js';
import type { LookalikeMethod } from './lookalike/model.js';
import { parseSeedFilter } from './lookalike/seeds.js';
import type { ClassWeight } from './nn/fit.js';
import type { CalibrationMethod } from './propensity/calibration.js';
import { checkName } from './registry.js';
import { UserError } from '../util/errors.js';
import { parseHorizon } from '../features/events.js';
import { list, num } from '../util/options.js';

/** Option values by name (the flags without dashes), as the CLI or a job's params give them. */
export type ParamValues = Record<string, unknown>;

/** Schema annotations this module reads: the flag's placeholder in help, and a value parser. */
interface Annotations {
  /** Placeholder in help: `--k N|LO..HI`. */
  'x-arg'?: string;
  /** Several values: repeated flags or a comma-separated list. */
  'x-list'?: boolean;
}

const int = (description: string, min: number, max: number, def?: number) =>
  Type.Integer({ description, minimum: min, maximum: max, ...(def !== undefined && { default: def }), 'x-arg': 'N' });
const real = (description: string, range: { min?: number; max?: number; above?: number }, def?: number) =>
  Type.Number({
    description,
    ...(range.min !== undefined && { minimum: range.min }),
    ...(range.max !== undefined && { maximum: range.max }),
    ...(range.above !== undefined && { exclusiveMinimum: range.above }),
    ...(def !== undefined && { default: def }),
    'x-arg': 'X',
  });
const text = (description: string, arg: string, def?: string) => Type.String({ description, minLength: 1, ...(def !== undefined && { default: def }), 'x-arg': arg });
const choice = (values: string[], description: string, def: string) => Type.Unsafe<string>({ type: 'string', enum: values, description, default: def, 'x-arg': values.join('|') });
const flag = (description: string) => Type.Boolean({ description, default: false });
const names = (description: string) => Type.Union([Type.String(), Type.Array(Type.String())], { description, 'x-arg': 'COL', 'x-list': true });

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
    hidden: text(`hidden layer sizes, e.g. 128,64 ('none': ${linear})`, 'SIZES', hidden),
    dropout: real('dropout rate between hidden layers', { min: 0, max: 0.9 }, dropout),
    l2: real('L2 penalty on the weights', { min: 0, max: 1 }, l2),
    'learning-rate': real('Adam learning rate (Kingma and Ba 2015)', { above: 0, max: 1 }, 1e-3),
    'batch-size': int('rows per training step (default min(4096, max(256, train rows / 50)))', 1, 1_000_000),
    'max-epochs': int('passes at most; early stopping on the validation loss ends sooner', 1, 100_000, 200),
    patience: int('epochs without a better validation loss before stopping (the best epoch is restored)', 1, 10_000, 10),
  };
}
const sensitive = names('fairness by the groups of COL on the test rows (repeatable); COL is not a model input unless a --features spec has it');
const horizon = text("days the label covers, e.g. 90 (or 90d, 13w); default: the label's own (audience events)", 'DAYS');

/** Each kind's options (besides --input, --name, --store and FEATURE_PARAMS). */
export const KIND_PARAMS = {
  kmeans: {
    k: Type.Union([Type.Integer(), Type.String()], { description: 'clusters, or a range LO..HI to sweep: inertia and silhouette per k, the highest silhouette chosen', default: 8, 'x-arg': 'N|LO..HI' }),
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
    label: text('the 0/1 outcome column (numbers, booleans, yes/no text); rows without one are left out', 'COL'),
    ...network('128,64', 'logistic regression', 0.2, 1e-3),
    numeric: choice(['ple', 'standard'], 'numeric inputs as piecewise-linear bins of their training quantiles (Gorishniy et al. 2022), or standardized values', 'ple'),
    bins: int('bins per numeric input with --numeric ple', 2, 256, 16),
    ensemble: int('TabM-mini ensemble members (Gorishniy et al. 2025): shared hidden layers, per-member input adapters and heads, probabilities averaged; k members cost about k x the training and scoring time', 1, 32, 1),
    'class-weight': choice(['auto', 'balanced', 'none'], 'balanced weighs classes by n / (2 n_class); auto does so when positives are under 5%', 'auto'),
    calibration: choice(['platt', 'isotonic', 'none'], 'probability calibration on the validation split (Platt 1999; isotonic: PAV)', 'platt'),
    threshold: text('the decision threshold: f1 (best validation F1) or a share of visitors to flag, e.g. 0.1', 'f1|SHARE', 'f1'),
    'min-class': int('refuse with fewer positives or negatives than this', 1, 1_000_000_000, 1000),
    'allow-small': flag('train below --min-class'),
    'allow-leakage': flag('train even if one feature alone reaches AUC >= 0.99'),
    sensitive,
    seed,
  },
  lookalike: {
    'seed-ids': text('seed visitor ids: a Parquet/CSV/Arrow file (the column named like the id column, else the first)', 'FILE'),
    'seed-filter': text('or: seeds are the visitors whose column C equals V, "C = V"', '"C = V"'),
    mode: choice(['knn', 'centroid'], 'mean cosine to the --k nearest seeds, or to their centroid', 'knn'),
    k: int('nearest seeds averaged (knn mode)', 1, 10_000, 50),
    'min-seeds': int('refuse with fewer seeds found in the data', 1, 1_000_000_000, 100),
    hidden: text('the seed-vs-population classifier; its last layer is the embedding', 'SIZES', '64,32'),
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
    label: text('the future value column (money spent over the horizon; 0 for none)', 'COL'),
    ...network('64,32', 'a linear model', 0, 1e-4),
    'horizon-days': horizon,
    sensitive,
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
    out[key] = checkValue(key, v, schema);
  }
  return out;
}

function checkValue(key: string, v: unknown, schema: TSchema & Annotations & { type?: string; enum?: string[]; anyOf?: TSchema[] }): unknown {
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

/** The default a kind's option declares. */
function def<T>(kind: string, key: string): T {
  return (paramsOf(kind)[key] as { default?: T }).default as T;
}

/** `--hidden 128,64` as layer sizes; "none" or empty for none (a linear model). */
export function hiddenLayers(v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const textValue = String(v).trim();
  if (textValue === '' || textValue === 'none') return [];
  const sizes = textValue.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) throw new UserError(`--hidden ${textValue}: expected layer sizes such as 128,64 (or none)`);
  return sizes;
}

/** `--horizon-days 90` (or 90d, 13w): whole days, 1 to 3650. */
function horizonDays(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseHorizon(String(v));
  } catch {
    throw new UserError(`--horizon-days ${String(v)}: expected whole days such as 90 (or 90d, 13w), from 1 to 3650`);
  }
}

/**
 * `--sensitive sex --sensitive race` (or `sex,race`): columns whose groups the report
 * compares (fairness), at most 8; undefined when not given.
 * @throws UserError for an empty name or more than 8.
 */
export function sensitiveColumns(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const cols = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  if (cols.some((n) => n === '') || cols.length > 8) throw new UserError(`--sensitive ${cols.join(',')}: expected up to 8 column names, e.g. --sensitive sex --sensitive race`);
  return [...new Set(cols)];
}

/** A required text option. */
function required(p: ParamValues, key: string, kind: string): string {
  if (typeof p[key] !== 'string' || p[key] === '') throw new UserError(`audience train ${kind}: --${key} is required`);
  return p[key] as string;
}

/** The network options of the MLP kinds (propensity, cltv), checked. */
function networkOptions(kind: string, p: ParamValues) {
  return {
    hidden: hiddenLayers(p.hidden ?? def(kind, 'hidden')),
    dropout: (p.dropout as number | undefined) ?? def<number>(kind, 'dropout'),
    l2: (p.l2 as number | undefined) ?? def<number>(kind, 'l2'),
    learningRate: (p['learning-rate'] as number | undefined) ?? def<number>(kind, 'learning-rate'),
    batchSize: p['batch-size'] as number | undefined,
    maxEpochs: (p['max-epochs'] as number | undefined) ?? def<number>(kind, 'max-epochs'),
    patience: (p.patience as number | undefined) ?? def<number>(kind, 'patience'),
  };
}

/** The kmeans trainer's options from checked params (name included), before any data is read. */
export function kmeansOptions(name: string, p: ParamValues) {
  return {
    name: checkName(name),
    k: parseK(String(p.k ?? def('kmeans', 'k'))),
    nInit: p['n-init'] as number | undefined,
    maxIter: p['max-iter'] as number | undefined,
    tol: p.tol as number | undefined,
    seed: p.seed as number | undefined,
    batchSize: p['batch-size'] as number | undefined,
    epochs: p.epochs as number | undefined,
    mode: (p.mode ?? 'auto') as KMeansMode,
    shardRows: p['shard-rows'] as number | undefined,
  };
}

/** The propensity trainer's options from checked params. */
export function propensityOptions(name: string, p: ParamValues) {
  const thresholdText = String(p.threshold ?? 'f1');
  const threshold = thresholdText === 'f1' ? 'f1' : num(thresholdText, '--threshold', { min: 0 });
  if (typeof threshold === 'number' && !(threshold > 0 && threshold < 1)) throw new UserError('--threshold: f1, or the share of visitors to flag, between 0 and 1');
  return {
    name: checkName(name),
    label: required(p, 'label', 'propensity'),
    ...networkOptions('propensity', p),
    numeric: (p.numeric ?? 'ple') as 'ple' | 'standard',
    bins: p.bins as number | undefined,
    ensemble: p.ensemble as number | undefined,
    classWeight: (p['class-weight'] ?? 'auto') as ClassWeight,
    calibration: (p.calibration ?? 'platt') as CalibrationMethod,
    threshold: threshold as 'f1' | number,
    minClass: p['min-class'] as number | undefined,
    allowSmall: Boolean(p['allow-small']),
    allowLeakage: Boolean(p['allow-leakage']),
    seed: p.seed as number | undefined,
    sensitive: sensitiveColumns(p.sensitive),
  };
}

/** The lookalike trainer's options from checked params (the seeds are read later). */
export function lookalikeOptions(name: string, p: ParamValues) {
  if ((p['seed-ids'] === undefined) === (p['seed-filter'] === undefined)) {
    throw new UserError('audience train lookalike: give the seed audience as --seed-ids FILE or --seed-filter "column = value" (one of them)');
  }
  if (typeof p['seed-filter'] === 'string') parseSeedFilter(p['seed-filter']);
  return {
    name: checkName(name),
    mode: (p.mode ?? 'knn') as 'knn' | 'centroid',
    k: p.k as number | undefined,
    minSeeds: p['min-seeds'] as number | undefined,
    hidden: hiddenLayers(p.hidden),
    negativesPerSeed: p['negatives-per-seed'] as number | undefined,
    method: (p.method ?? 'auto') as LookalikeMethod | 'auto',
    seed: p.seed as number | undefined,
  };
}

/** The anomaly trainer's options from checked params. */
export function anomalyOptions(name: string, p: ParamValues) {
  return { name: checkName(name), k: (p.k as number | undefined) ?? 8, threshold: p.threshold as number | undefined, niches: p.niches as number | undefined, seed: p.seed as number | undefined };
}

/** The cltv trainer's options from checked params. */
export function cltvOptions(name: string, p: ParamValues) {
  return {
    name: checkName(name),
    label: required(p, 'label', 'cltv'),
    ...networkOptions('cltv', p),
    horizonDays: horizonDays(p['horizon-days']),
    seed: p.seed as number | undefined,
    sensitive: sensitiveColumns(p.sensitive),
  };
}

/** The bgnbd trainer's options from checked params. */
export function bgnbdOptions(name: string, p: ParamValues) {
  return { name: checkName(name), label: p.label as string | undefined, id: p.id as string | undefined, horizonDays: horizonDays(p['horizon-days']), seed: p.seed as number | undefined };
}

/** Each kind's options function. */
const OPTIONS: Record<ModelKind, (name: string, p: ParamValues) => unknown> = {
  kmeans: kmeansOptions,
  propensity: propensityOptions,
  lookalike: lookalikeOptions,
  anomaly: anomalyOptions,
  cltv: cltvOptions,
  bgnbd: bgnbdOptions,
};

/**
 * Checks a kind's params completely without reading data (schema, then the kind's own
 * formats), as training will: the service calls it when a train job is submitted.
 * @returns the checked params (numbers as numbers, lists as arrays).
 * @throws UserError naming the option (`--name`), its value and what was expected.
 */
export function checkTrainParams(kind: string, name: string, values: ParamValues): ParamValues {
  const checked = checkParams(kind, values);
  OPTIONS[kind as ModelKind](name, checked);
  return checked;
}

/**
 * The parameters of each model kind, declared once: the flags `audience train` takes, their
 * checks and ranges (before any data is read), and the service's train-job params, which are
 * the same options without the dashes.
 */
import type { KMeansMode } from './kmeans/fit.js';
import { parseK } from './kmeans/train.js';
import { parseSeedFilter } from './lookalike/seeds.js';
import type { ClassWeight } from './nn/fit.js';
import type { CalibrationMethod } from './propensity/calibration.js';
import { checkName } from './registry.js';
import { UserError } from '../util/errors.js';
import { parseHorizon } from '../features/events.js';
import { num, str, type OptionValues as Values } from '../util/options.js';

/** The options of every kind (parseArgs form); the common ones (input, features, id, exclude, store) are the CLI's. */
export const TRAIN_OPTIONS = {
  name: { type: 'string' },
  k: { type: 'string' },
  'n-init': { type: 'string' },
  'max-iter': { type: 'string' },
  tol: { type: 'string' },
  mode: { type: 'string' },
  'batch-size': { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  label: { type: 'string' },
  hidden: { type: 'string' },
  dropout: { type: 'string' },
  l2: { type: 'string' },
  'learning-rate': { type: 'string' },
  'max-epochs': { type: 'string' },
  patience: { type: 'string' },
  'class-weight': { type: 'string' },
  calibration: { type: 'string' },
  threshold: { type: 'string' },
  'min-class': { type: 'string' },
  'allow-small': { type: 'boolean' },
  'allow-leakage': { type: 'boolean' },
  'seed-ids': { type: 'string' },
  'seed-filter': { type: 'string' },
  'min-seeds': { type: 'string' },
  'negatives-per-seed': { type: 'string' },
  niches: { type: 'string' },
  'horizon-days': { type: 'string' },
  'shard-rows': { type: 'string' },
  sensitive: { type: 'string', multiple: true },
} as const;

/**
 * `--sensitive sex --sensitive race` (or `sex,race`): columns whose groups the report
 * compares (fairness), at most 8; undefined when not given.
 * @throws UserError for an empty name or more than 8.
 */
export function sensitiveColumns(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const names = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  if (names.some((n) => n === '') || names.length > 8) throw new UserError(`--sensitive ${names.join(',')}: expected up to 8 column names, e.g. --sensitive sex --sensitive race`);
  return [...new Set(names)];
}

/** The kmeans options from flag values, checked before any data is read. */
export function kmeansParams(values: Values) {
  const name = checkName(str(values.name, '--name', 'train kmeans'));
  const k = parseK(str(values.k ?? '8', '--k', 'train kmeans'));
  const mode = (values.mode ?? 'auto') as KMeansMode;
  if (!['auto', 'lloyd', 'minibatch'].includes(mode)) throw new UserError(`--mode ${mode}: expected auto, lloyd or minibatch`);
  return {
    k,
    name,
    nInit: num(values['n-init'], '--n-init', { int: true, min: 1, max: 100 }),
    maxIter: num(values['max-iter'], '--max-iter', { int: true, min: 1, max: 100_000 }),
    tol: num(values.tol, '--tol', { min: 0, max: 1 }),
    seed: num(values.seed, '--seed', { int: true }),
    batchSize: num(values['batch-size'], '--batch-size', { int: true, min: 16, max: 10_000_000 }),
    epochs: num(values.epochs, '--epochs', { int: true, min: 1, max: 10_000 }),
    mode,
    shardRows: num(values['shard-rows'], '--shard-rows', { int: true, min: 1 }),
  };
}

/** `--hidden 128,64` as layer sizes; "none" or empty for none (logistic regression). */
export function hiddenLayers(v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  if (text === '' || text === 'none') return [];
  const sizes = text.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) throw new UserError(`--hidden ${text}: expected layer sizes such as 128,64 (or none)`);
  return sizes;
}

/** The network options the MLP kinds share (propensity, cltv): layers, regularization, Adam, early stopping. */
function networkParams(values: Values) {
  return {
    hidden: hiddenLayers(values.hidden),
    dropout: num(values.dropout, '--dropout', { min: 0, max: 0.9 }),
    l2: num(values.l2, '--l2', { min: 0, max: 1 }),
    learningRate: num(values['learning-rate'], '--learning-rate', { above: 0, max: 1 }),
    batchSize: num(values['batch-size'], '--batch-size', { int: true, min: 1, max: 1_000_000 }),
    maxEpochs: num(values['max-epochs'], '--max-epochs', { int: true, min: 1, max: 100_000 }),
    patience: num(values.patience, '--patience', { int: true, min: 1, max: 10_000 }),
  };
}

/** The propensity options from flag values, checked before any data is read. */
export function propensityParams(values: Values) {
  const name = checkName(str(values.name, '--name', 'train propensity'));
  const label = str(values.label, '--label', 'train propensity');
  const calibration = (values.calibration ?? 'platt') as CalibrationMethod;
  if (!['platt', 'isotonic', 'none'].includes(calibration)) throw new UserError(`--calibration ${calibration}: expected platt, isotonic or none`);
  const classWeight = (values['class-weight'] ?? 'auto') as ClassWeight;
  if (!['auto', 'balanced', 'none'].includes(classWeight)) throw new UserError(`--class-weight ${classWeight}: expected auto, balanced or none`);
  const thresholdText = String(values.threshold ?? 'f1');
  const threshold = thresholdText === 'f1' ? 'f1' : num(thresholdText, '--threshold', { min: 0 });
  if (typeof threshold === 'number' && !(threshold > 0 && threshold < 1)) throw new UserError('--threshold: f1, or the share of visitors to flag, between 0 and 1');
  return {
    name,
    label,
    ...networkParams(values),
    classWeight,
    calibration,
    threshold: threshold as 'f1' | number,
    minClass: num(values['min-class'], '--min-class', { int: true, min: 1 }),
    allowSmall: Boolean(values['allow-small']),
    allowLeakage: Boolean(values['allow-leakage']),
    seed: num(values.seed, '--seed', { int: true }),
    sensitive: sensitiveColumns(values.sensitive),
  };
}

/** The lookalike options from flag values (the seeds are read later), checked before any data is read. */
export function lookalikeParams(values: Values) {
  const name = checkName(str(values.name, '--name', 'train lookalike'));
  const mode = (values.mode ?? 'knn') as 'knn' | 'centroid';
  if (!['knn', 'centroid'].includes(mode)) throw new UserError(`--mode ${mode}: expected knn or centroid`);
  if (Boolean(values['seed-ids']) === Boolean(values['seed-filter'])) {
    throw new UserError('audience train lookalike: give the seed audience as --seed-ids FILE or --seed-filter "column = value" (one of them)');
  }
  if (typeof values['seed-filter'] === 'string') parseSeedFilter(values['seed-filter']);
  return {
    name,
    mode,
    k: num(values.k, '--k', { int: true, min: 1, max: 10_000 }),
    minSeeds: num(values['min-seeds'], '--min-seeds', { int: true, min: 1 }),
    hidden: hiddenLayers(values.hidden),
    negativesPerSeed: num(values['negatives-per-seed'], '--negatives-per-seed', { min: 1, max: 1000 }),
    seed: num(values.seed, '--seed', { int: true }),
  };
}

/** The anomaly options from flag values, checked before any data is read. */
export function anomalyParams(values: Values) {
  const name = checkName(str(values.name, '--name', 'train anomaly'));
  const k = parseK(str(values.k ?? '8', '--k', 'train anomaly'));
  if (Array.isArray(k)) throw new UserError('audience train anomaly: --k takes one number');
  return {
    name,
    k,
    threshold: num(values.threshold, '--threshold', { above: 0, max: 1000 }),
    niches: num(values.niches, '--niches', { int: true, min: 2, max: 1000 }),
    seed: num(values.seed, '--seed', { int: true }),
  };
}

/** `--horizon-days 90` (or 90d, 13w): whole days, 1 to 3650. */
function horizonDays(v: unknown): number {
  try {
    return parseHorizon(String(v));
  } catch {
    throw new UserError(`--horizon-days ${String(v)}: expected whole days such as 90 (or 90d, 13w), from 1 to 3650`);
  }
}

/** The cltv options from flag values, checked before any data is read. */
export function cltvParams(values: Values) {
  return {
    name: checkName(str(values.name, '--name', 'train cltv')),
    label: str(values.label, '--label', 'train cltv'),
    ...networkParams(values),
    horizonDays: values['horizon-days'] === undefined ? undefined : horizonDays(values['horizon-days']),
    seed: num(values.seed, '--seed', { int: true }),
    sensitive: sensitiveColumns(values.sensitive),
  };
}

/** The bgnbd options from flag values, checked before any data is read. */
export function bgnbdParams(values: Values) {
  return {
    name: checkName(str(values.name, '--name', 'train bgnbd')),
    label: values.label === undefined ? undefined : str(values.label, '--label', 'train bgnbd'),
    id: values.id === undefined ? undefined : str(values.id, '--id', 'train bgnbd'),
    horizonDays: values['horizon-days'] === undefined ? undefined : horizonDays(values['horizon-days']),
    seed: num(values.seed, '--seed', { int: true }),
  };
}

/** Each kind's parameter parser. */
const PARAMS: Record<string, (values: Values) => unknown> = {
  kmeans: kmeansParams,
  propensity: propensityParams,
  lookalike: lookalikeParams,
  anomaly: anomalyParams,
  cltv: cltvParams,
  bgnbd: bgnbdParams,
};

/**
 * Checks a model kind's options (flag values without dashes) as training will, without
 * reading any data: the service calls it when a train job is submitted.
 * @throws UserError naming the option, its value and the allowed range.
 */
export function checkTrainParams(kind: string, values: Values): void {
  const check = PARAMS[kind];
  if (!check) throw new UserError(`unknown model kind "${kind}"; available: ${MODEL_KINDS.join(', ')}`);
  check(values);
}

/** Feature options every kind takes (the spec file, the id column, columns to leave out). */
export const FEATURE_OPTIONS = {
  features: { type: 'string' },
  id: { type: 'string' },
  exclude: { type: 'string', multiple: true },
} as const;

/** The options a train job's params may set, and whether each is a flag (true/false) or a value. */
export const JOB_PARAMS: Record<string, 'boolean' | 'value'> = Object.fromEntries(
  Object.entries({ ...FEATURE_OPTIONS, ...TRAIN_OPTIONS })
    .filter(([k]) => k !== 'name')
    .map(([k, o]) => [k, o.type === 'boolean' ? 'boolean' : 'value']),
);

/** The model kinds that can be trained. */
export const MODEL_KINDS = Object.keys(PARAMS);

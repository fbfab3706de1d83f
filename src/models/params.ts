/**
 * Model parameters as TypeBox schemas: type, range, allowed values, default and description
 * of every option (the counterpart of scikit-learn's parameter constraints). Each kind
 * declares its own in its folder (`models/<kind>/params.ts`, its descriptor's `params`) with
 * the builders here; the options every kind takes (FEATURE_PARAMS) and those several share
 * (seed, the network's, sensitive, trainer, horizon) are here. From them come the flags of
 * `audience train KIND` and its help text (cli/commands/train.ts), the checks of a service
 * train job's `params` before it is queued (server/submit.ts) with the same messages, and each
 * kind's trainer options: their type (KindOptions: the option camelCased, typed by its schema
 * or its parser), the values from params (optionsOf) and the defaults a trainer fills in
 * (withDefaults). A new parameter is one entry in its kind's params, then its use in the trainer.
 *
 * Values arrive as the CLI gives them (text, true for a bare flag, lists for repeated flags)
 * or as JSON (numbers, text, booleans, lists): numbers are read from numbers or decimal text
 * (never "0x10" or "Infinity"), ranges and enums are checked here, with messages naming the
 * option as the caller names it (a ParamNamer, as scikit-learn's `caller_name`): `--name` on
 * the command line (FLAG_NAMES), `params.name` in the service's API (server/param-names.ts), at
 * submission and in what training refuses later (the namer travels in the trainer options: NamedOptions).
 */
import { Type, type Static, type TBoolean, type TInteger, type TNumber, type TSchema, type TString, type TUnsafe } from 'typebox';
import { checkName } from './registry.js';
import { UserError } from '../util/errors.js';
import { parseHorizon } from '../features/visitor.js';
import { list, num } from '../util/options.js';
import { orList } from '../util/words.js';

/** Option values by name (the flags without dashes), as the CLI or a job's params give them. */
export type ParamValues = Record<string, unknown>;

/** How messages name an option and where a kind's options are given, for the caller that gave them. */
export interface ParamNamer {
  /** An option as its caller writes it: `--k` on the command line. */
  option(key: string): string;
  /** Where a kind's options are given: `audience train kmeans` on the command line. */
  where(kind: string): string;
}

/** The command line's names: `--k` of `audience train kmeans`. */
export const FLAG_NAMES: ParamNamer = { option: (key) => `--${key}`, where: (kind) => `audience train ${kind}` };

/**
 * What a kind's trainer options carry beside its params: the namer of the caller that gave
 * them (training/train.ts sets it from its request), so that what training finds wrong after
 * the params were checked (a --positive value no label holds, too few seeds) names the option
 * as that caller does: `params.positive` for a service train job. FLAG_NAMES when absent.
 */
// A type, not an interface: option records stay assignable to Record<string, unknown>.
export type NamedOptions = { names?: ParamNamer };

/** Option `key` as the caller of a training names it (`--key` when it gave no namer). */
export function optionName(opts: NamedOptions, key: string): string {
  return (opts.names ?? FLAG_NAMES).option(key);
}

/** Schema annotations this module reads: the flag's placeholder in help, lists, and a value parser. */
interface Annotations {
  /** Placeholder in help: `--k N|LO..HI`. */
  'x-arg'?: string;
  /** Several values: repeated flags or a comma-separated list. */
  'x-list'?: boolean;
  /** Turns the checked value (or the default) into the trainer's option, checking its format. @throws UserError naming the option as `name`. */
  'x-parse'?: (v: unknown, name: string) => unknown;
  /** Training cannot run without it. */
  'x-required'?: boolean;
}

/** A schema that declares a default: the trainer's option is then always present. */
export type Defaulted<S> = S & { default: unknown };

export function int(description: string, min: number, max: number): TInteger;
export function int(description: string, min: number, max: number, def: number): Defaulted<TInteger>;
export function int(description: string, min: number, max: number, def?: number) {
  return Type.Integer({ description, minimum: min, maximum: max, ...(def !== undefined && { default: def }), 'x-arg': 'N' });
}
export function real(description: string, range: { min?: number; max?: number; above?: number }, def: number): Defaulted<TNumber> {
  return Type.Number({
    description,
    ...(range.min !== undefined && { minimum: range.min }),
    ...(range.max !== undefined && { maximum: range.max }),
    ...(range.above !== undefined && { exclusiveMinimum: range.above }),
    default: def,
    'x-arg': 'X',
  }) as Defaulted<TNumber>;
}
export function text(description: string, arg: string): TString;
export function text(description: string, arg: string, required: 'required'): TString & { 'x-required': true };
export function text(description: string, arg: string, def: string): Defaulted<TString>;
export function text(description: string, arg: string, def?: string) {
  return Type.String({ description, minLength: 1, ...(def === 'required' ? { 'x-required': true } : def !== undefined && { default: def }), 'x-arg': arg });
}
export const choice = <const T extends string>(values: readonly T[], description: string, def: T) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description, default: def, 'x-arg': values.join('|') }) as Defaulted<TUnsafe<T>>;
export const flag = (description: string) => Type.Boolean({ description, default: false }) as Defaulted<TBoolean>;
/** A text option whose value the trainer takes parsed (layer sizes, a k range, a threshold...); `parse` names the option as its second argument in messages. */
export function parsed<T>(schema: Record<string, unknown>, parse: (v: unknown, name: string) => T): TUnsafe<T> {
  return Type.Unsafe<T>({ ...schema, 'x-parse': parse });
}
export const names = (description: string, parse: (v: unknown, name: string) => string[] = (v) => list(v)) =>
  parsed<string[]>({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description, 'x-arg': 'COL', 'x-list': true }, parse);

/** `--hidden 128,64` as layer sizes; "none" or empty for none (a linear model). @throws UserError naming the option as `name` for other text. */
export function hiddenLayers(v: unknown, name = '--hidden'): number[] {
  const textValue = String(v).trim();
  if (textValue === '' || textValue === 'none') return [];
  const sizes = textValue.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) throw new UserError(`${name} ${textValue}: expected layer sizes such as 128,64 (or none)`);
  return sizes;
}

/** `--horizon-days 90` (or 90d, 13w): whole days, 1 to 3650. @throws UserError naming the option as `name` for other text. */
function horizonDays(v: unknown, name: string): number {
  try {
    return parseHorizon(String(v));
  } catch {
    throw new UserError(`${name} ${String(v)}: expected whole days such as 90 (or 90d, 13w), from 1 to 3650`);
  }
}

/**
 * `--sensitive sex --sensitive race` (or `sex,race`): columns whose groups the report
 * compares (fairness), at most 8, each once.
 * @throws UserError naming the option as `name`, for an empty name or more than 8.
 */
export function sensitiveColumns(v: unknown, name = '--sensitive'): string[] {
  const cols = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  if (cols.some((n) => n === '') || cols.length > 8) throw new UserError(`${name} ${cols.join(',')}: expected up to 8 column names, e.g. ${name} sex ${name} race`);
  return [...new Set(cols)];
}

/** Options every kind takes: which columns become inputs. */
export const FEATURE_PARAMS = {
  features: text('a feature spec file (audience features --out), or auto: inferred from the data', 'FILE|auto', 'auto'),
  id: text('the id column (default: inferred; none gives row numbers)', 'COL'),
  exclude: names('columns to leave out of the inferred features (repeatable, or a,b)'),
} satisfies Record<string, TSchema>;

export const seed = int('random seed (splits, initialization, sampling)', -2_147_483_648, 2_147_483_647, 0);

/** The MLP options propensity and cltv share, with each kind's defaults for layers and regularization. */
export function network(hidden: string, linear: string, dropout: number, l2: number) {
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
export const sensitive = names('fairness by the groups of COL on the test rows (repeatable); COL is not a model input unless a --features spec has it', sensitiveColumns);
export const trainer = choice(['auto', 'onnx', 'tfjs'], "where the network trains: onnx, onnxruntime's native kernels on every core; tfjs, the backend's (webgpu on a GPU host); auto: tfjs on webgpu or for a network the native step does not cover (--ensemble, --embedding), else onnx", 'auto');
export const horizon = parsed({ type: 'string', minLength: 1, description: "days the label covers, e.g. 90 (or 90d, 13w); default: the label's own (audience events)", 'x-arg': 'DAYS' }, horizonDays);


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
 * What the parameter functions need of a kind (models/kind.ts KindDescriptor has it): its
 * name for messages, its own schemas, and its checks between options.
 */
export interface ParamsOwner<S extends Record<string, TSchema> = Record<string, TSchema>> {
  kind: string;
  params: S;
  checkParams?(p: ParamValues, names: ParamNamer): void;
}

/** A kind's options with the feature options: every flag `audience train KIND` takes besides --input, --name and --store. */
export function paramsOf(owner: ParamsOwner): Record<string, TSchema> {
  return { ...FEATURE_PARAMS, ...owner.params };
}

/**
 * Checks option values against a kind's schema: known names, booleans for flags, numbers in
 * range (from numbers or decimal text), allowed values. Custom formats (k ranges, layer
 * sizes, thresholds, horizons, seed filters) are checked by optionsOf.
 * @returns the values with numbers as numbers and lists as arrays; absent options absent.
 * @throws UserError naming the option (as `names` does: `--name` by default) and what was expected.
 */
export function checkParams(owner: ParamsOwner, values: ParamValues, names: ParamNamer = FLAG_NAMES): ParamValues {
  const schemas = paramsOf(owner);
  const out: ParamValues = {};
  for (const [key, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const schema = schemas[key] as TSchema & Annotations & { type?: string; enum?: string[]; anyOf?: TSchema[] };
    if (!schema) throw new UserError(`${names.option(key)}: not an option of ${names.where(owner.kind)} (its options: ${Object.keys(schemas).map(names.option).join(', ')})`);
    out[key] = checkOptionValue(key, v, schema, names.option(key));
  }
  return out;
}

/**
 * One option's value checked against its schema, as checkParams checks each: a list of
 * column names (x-list), a boolean, a number in range (from a number or decimal text), one of
 * the allowed values, non-empty text. Also what `audience score` checks its flags with.
 * @returns the value with numbers as numbers and lists as arrays.
 * @throws UserError naming the option (`flagName`: `--key` by default) and what was expected.
 */
export function checkOptionValue(key: string, v: unknown, schema: TSchema & Annotations & { type?: string; enum?: string[]; anyOf?: TSchema[] }, flagName = `--${key}`): unknown {
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

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type ParamsOf<S> = typeof FEATURE_PARAMS & S;
type StaticOf<S> = S extends TSchema ? Static<S> : never;

/**
 * A kind's trainer options as its schemas `S` declare them (with the feature options): each
 * option camelCased (`--learning-rate` is `learningRate`), typed by its schema (a parsed
 * format by its parser: `hidden` is number[]), all optional. Trainers take these plus their
 * own inputs, and the caller's namer for their messages (NamedOptions).
 */
export type KindOptions<S> = { [P in keyof ParamsOf<S> & string as CamelCase<P>]?: StaticOf<ParamsOf<S>[P]> } & NamedOptions;

/** KindOptions with the schemas' defaults in place: an option with a default, or required, is always present. */
export type ResolvedOptions<S> = KindOptions<S> & {
  [P in keyof ParamsOf<S> & string as ParamsOf<S>[P] extends { default: unknown } | { 'x-required': true } ? CamelCase<P> : never]-?: StaticOf<ParamsOf<S>[P]>;
};

/** A flag's option name: `learning-rate` is `learningRate`. */
export const camel = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const parse = (schema: TSchema, v: unknown, name: string) => ((schema as Annotations)['x-parse'] ? (schema as Annotations)['x-parse']!(v, name) : v);

/**
 * Trainer options with the defaults (parsed) of the kind's schemas `params` wherever `opts`
 * leaves one undefined: what every training step reads, so a default is declared once, in
 * the schema.
 */
export function withDefaults<S extends Record<string, TSchema>, O extends KindOptions<S>>(params: S, opts: O): O & ResolvedOptions<S> {
  const out: Record<string, unknown> = { ...opts };
  for (const [key, schema] of Object.entries({ ...FEATURE_PARAMS, ...params })) {
    const value = (schema as { default?: unknown }).default;
    if (out[camel(key)] === undefined && value !== undefined) out[camel(key)] = parse(schema, value, FLAG_NAMES.option(key));
  }
  return out as O & ResolvedOptions<S>;
}

/**
 * A kind's trainer options from checked params (checkParams), before any data is read:
 * camelCased, formats parsed (layer sizes, k ranges, thresholds, horizons, seed filters),
 * defaults in place, required options present, the kind's cross-checks passed.
 * @throws UserError naming the option (as `names` does: `--name` by default) and what was expected.
 */
export function optionsOf<S extends Record<string, TSchema>>(owner: ParamsOwner<S>, name: string, p: ParamValues, names: ParamNamer = FLAG_NAMES): ResolvedOptions<S> & { name: string } {
  const out: Record<string, unknown> = { name: checkName(name) };
  for (const [key, schema] of Object.entries(paramsOf(owner))) {
    const value = p[key] ?? (schema as { default?: unknown }).default;
    if (value === undefined) {
      if ((schema as Annotations)['x-required']) throw new UserError(`${names.where(owner.kind)}: ${names.option(key)} is required`);
      continue;
    }
    out[camel(key)] = parse(schema, value, names.option(key));
  }
  owner.checkParams?.(p, names);
  return out as ResolvedOptions<S> & { name: string };
}

/**
 * Checks a kind's params completely without reading data (schema, then the kind's own
 * formats), as training will: the service calls it when a train job is submitted.
 * @returns the checked params (numbers as numbers, lists as arrays).
 * @throws UserError naming the option (as `names` does), its value and what was expected.
 */
export function checkTrainParams(owner: ParamsOwner, name: string, values: ParamValues, names: ParamNamer = FLAG_NAMES): ParamValues {
  const checked = checkParams(owner, values, names);
  optionsOf(owner, name, checked, names);
  return checked;
}

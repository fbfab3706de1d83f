/**
 * Each kind's parameters are declared once (models/<kind>/params.ts, its descriptor's params): the train command's flags and
 * help lines come from the schemas, and the trainers' options take the schemas' defaults.
 */
import { describe, expect, it } from 'vitest';
import { train } from '../src/cli/commands/train.js';
import { kindNames, kindOf } from '../src/models/kinds.js';
import { checkParams, FEATURE_PARAMS, optionsOf, withDefaults, type ParamNamer } from '../src/models/params.js';

describe('parameters declared once', () => {
  it('every option of every kind is a flag of `audience train`, in its help with its default and range', () => {
    for (const kind of kindNames()) {
      for (const [key, schema] of Object.entries({ ...FEATURE_PARAMS, ...kindOf(kind).params })) {
        expect(train.options[key], `--${key}`).toBeDefined();
        expect(train.usage).toContain(`--${key}`);
        const s = schema as { default?: unknown; type?: string; maximum?: number };
        if (s.default !== undefined) expect(train.usage.replace(/\s+/g, " ")).toContain(`default ${String(s.default)}`);
        if (s.type === 'boolean') expect(train.options[key].type).toBe('boolean');
      }
    }
    expect(train.options.sensitive).toMatchObject({ type: 'string', multiple: true });
  });

  it('checks types, ranges and allowed values with messages naming the flag', () => {
    expect(checkParams(kindOf('kmeans'), { 'n-init': '5', tol: 0.001 })).toEqual({ 'n-init': 5, tol: 0.001 });
    expect(() => checkParams(kindOf('kmeans'), { 'n-init': '0' })).toThrow('--n-init 0: expected an integer >= 1 and <= 100');
    expect(() => checkParams(kindOf('kmeans'), { 'n-init': '0x10' })).toThrow('--n-init 0x10: expected an integer');
    expect(() => checkParams(kindOf('kmeans'), { mode: 'fast' })).toThrow('--mode fast: expected auto, lloyd or minibatch');
    expect(() => checkParams(kindOf('propensity'), { 'allow-small': 'yes' })).toThrow('--allow-small: expected true or false');
    expect(() => checkParams(kindOf('kmeans'), { dropout: '0.1' })).toThrow('--dropout: not an option of audience train kmeans');
    expect(checkParams(kindOf('cltv'), { sensitive: ['sex', 'race,age'] })).toEqual({ sensitive: ['sex', 'race', 'age'] });
    expect(() => checkParams(kindOf('propensity'), { sensitive: '' })).toThrow('--sensitive: expected column names, got an empty value');
  });

  it("the trainers' options come from the schemas: every option camelCased, parsed, with its default", () => {
    const p = optionsOf(kindOf('propensity'), 'p', { label: 'y' });
    expect(p).toMatchObject({ name: 'p', label: 'y', hidden: [128, 64], dropout: 0.2, l2: 1e-3, learningRate: 1e-3, maxEpochs: 200, patience: 10, calibration: 'platt', threshold: 'f1', numeric: 'ple', bins: 'auto', ensemble: 1, minClass: 1000, allowSmall: false });
    expect(optionsOf(kindOf('cltv'), 'c', { label: 'v' })).toMatchObject({ hidden: [64, 32], dropout: 0, l2: 1e-4 });
    expect(optionsOf(kindOf('kmeans'), 'k', {})).toMatchObject({ k: 8, mode: 'auto', nInit: 3 });
    expect(optionsOf(kindOf('kmeans'), 'k', { k: '3..5' }).k).toEqual([3, 4, 5]);
    expect(optionsOf(kindOf('lookalike'), 'l', { 'seed-filter': 'converted = 1' }).seedFilter).toEqual({ column: 'converted', value: '1' });
    expect(optionsOf(kindOf('propensity'), 'p', { label: 'y', threshold: '0.1', sensitive: ['sex', 'sex,race'] })).toMatchObject({ threshold: 0.1, sensitive: ['sex', 'race'] });
    // A parameter declared in a schema is an option of its trainer with no other edit: every one, for every kind.
    for (const kind of kindNames()) {
      const given = { label: 'y', 'seed-filter': 'a = 1', treatment: 't' };
      const opts = optionsOf(kindOf(kind), 'n', Object.fromEntries(Object.entries(given).filter(([k]) => k in kindOf(kind).params)));
      for (const [key, schema] of Object.entries({ ...FEATURE_PARAMS, ...kindOf(kind).params })) {
        const name = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
        if ((schema as { default?: unknown }).default !== undefined) expect(opts, `${kind} --${key}`).toHaveProperty(name);
      }
      // Trainers called directly get the same defaults.
      expect(withDefaults(kindOf(kind).params, {})).toMatchObject(Object.fromEntries(Object.entries(opts).filter(([k]) => !['name', 'label', 'seedFilter', 'treatment'].includes(k))));
    }
  });

  it('refuses what a schema cannot say, with the flag named: required options, formats, and options that go together', () => {
    expect(() => optionsOf(kindOf('propensity'), 'p', {})).toThrow('audience train propensity: --label is required');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', hidden: '128,x' })).toThrow('--hidden 128,x: expected layer sizes');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', threshold: '2' })).toThrow('--threshold: f1, or the share of visitors to flag, between 0 and 1');
    expect(() => optionsOf(kindOf('lookalike'), 'l', {})).toThrow('give the seed audience as --seed-ids FILE or --seed-filter');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', numeric: 'standard', embedding: 8 })).toThrow('--embedding applies to --numeric ple, not --numeric standard');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', numeric: 'standard', bins: 'auto' })).toThrow('--bins applies to --numeric ple');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', bins: 'many' })).toThrow('--bins many: expected auto or an integer from 2 to 256');
    expect(optionsOf(kindOf('propensity'), 'p', { label: 'y', numeric: 'standard', embedding: 0 }).numeric).toBe('standard');
    expect(() => optionsOf(kindOf('cltv'), 'c', { label: 'v', 'horizon-days': 'soon' })).toThrow('--horizon-days soon: expected whole days');
    expect(() => optionsOf(kindOf('kmeans'), 'bad name!', {})).toThrow();
  });

  it("names options as the caller does (the API's params.x), in the schema's checks, the formats' and the kinds' own", () => {
    const api: ParamNamer = { option: (key) => `params.${key}`, where: (kind) => `a ${kind} train job` };
    expect(() => checkParams(kindOf('kmeans'), { dropout: '0.1' }, api)).toThrow(/^params\.dropout: not an option of a kmeans train job \(its options: params\.features, params\.id,/);
    expect(() => checkParams(kindOf('kmeans'), { 'n-init': '0' }, api)).toThrow('params.n-init 0: expected an integer >= 1 and <= 100');
    expect(() => optionsOf(kindOf('propensity'), 'p', {}, api)).toThrow('a propensity train job: params.label is required');
    expect(() => optionsOf(kindOf('kmeans'), 'k', { k: '2..90' }, api)).toThrow('params.k 2..90: a range must be');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', hidden: '8,x' }, api)).toThrow('params.hidden 8,x: expected layer sizes');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', threshold: '2' }, api)).toThrow('params.threshold: f1, or the share');
    expect(() => optionsOf(kindOf('propensity'), 'p', { label: 'y', numeric: 'standard', bins: 'auto' }, api)).toThrow('a propensity train job: params.bins applies to params.numeric ple, not params.numeric standard');
    expect(() => optionsOf(kindOf('lookalike'), 'l', {}, api)).toThrow('a lookalike train job: give the seed audience as params.seed-ids FILE or params.seed-filter');
    expect(() => optionsOf(kindOf('lookalike'), 'l', { 'seed-filter': 'x' }, api)).toThrow('params.seed-filter "x": expected column = value');
    expect(() => optionsOf(kindOf('cltv'), 'c', { label: 'v', sensitive: Array(9).fill('a') }, api)).toThrow('params.sensitive a,a,a,a,a,a,a,a,a: expected up to 8 column names');
  });
});

/**
 * Each kind's parameters are declared once (models/params.ts): the train command's flags and
 * help lines come from the schemas, and the trainers' options take the schemas' defaults.
 */
import { describe, expect, it } from 'vitest';
import { train } from '../src/cli/commands/train.js';
import { checkParams, cltvOptions, FEATURE_PARAMS, KIND_PARAMS, kmeansOptions, MODEL_KINDS, propensityOptions } from '../src/models/params.js';

describe('parameters declared once', () => {
  it('every option of every kind is a flag of `audience train`, in its help with its default and range', () => {
    for (const kind of MODEL_KINDS) {
      for (const [key, schema] of Object.entries({ ...FEATURE_PARAMS, ...KIND_PARAMS[kind] })) {
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
    expect(checkParams('kmeans', { 'n-init': '5', tol: 0.001 })).toEqual({ 'n-init': 5, tol: 0.001 });
    expect(() => checkParams('kmeans', { 'n-init': '0' })).toThrow('--n-init 0: expected an integer >= 1 and <= 100');
    expect(() => checkParams('kmeans', { 'n-init': '0x10' })).toThrow('--n-init 0x10: expected an integer');
    expect(() => checkParams('kmeans', { mode: 'fast' })).toThrow('--mode fast: expected auto, lloyd or minibatch');
    expect(() => checkParams('propensity', { 'allow-small': 'yes' })).toThrow('--allow-small: expected true or false');
    expect(() => checkParams('kmeans', { dropout: '0.1' })).toThrow('--dropout: not an option of "audience train kmeans"');
    expect(checkParams('cltv', { sensitive: ['sex', 'race,age'] })).toEqual({ sensitive: ['sex', 'race', 'age'] });
    expect(() => checkParams('propensity', { sensitive: '' })).toThrow('--sensitive: expected column names, got an empty value');
  });

  it("the trainers' options take the schemas' defaults", () => {
    const p = propensityOptions('p', { label: 'y' });
    expect(p).toMatchObject({ hidden: [128, 64], dropout: 0.2, l2: 1e-3, learningRate: 1e-3, maxEpochs: 200, patience: 10, calibration: 'platt', threshold: 'f1' });
    expect(cltvOptions('c', { label: 'v' })).toMatchObject({ hidden: [64, 32], dropout: 0, l2: 1e-4 });
    expect(kmeansOptions('k', {})).toMatchObject({ k: 8, mode: 'auto' });
    expect(kmeansOptions('k', { k: '3..5' }).k).toEqual([3, 4, 5]);
  });
});

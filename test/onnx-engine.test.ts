/**
 * The ONNX scoring graphs (models/onnx) against the tfjs path they replace, the reference: on a
 * batch with missing values, Inf, values past the training range, negative values under log,
 * unseen and float-written categories and unrecognized booleans, every output equals tfjs's to
 * 1e-5 relative (integers exactly) and the imputed count is the same; for K-Means and for
 * propensity networks of every shape the product trains (plain, piecewise-linear bins, their
 * embedding, a TabM-mini ensemble, no hidden layer) under each calibration; for CLTV networks
 * and for outlier models with both kinds of niche.
 */
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/compute/backend.js';
import type { ColumnBatch } from '../src/io/columns.js';
import { outputNames, transform, type FittedTransform } from '../src/features/transform.js';
import { KMeansModel } from '../src/models/kmeans/model.js';
import { AnomalyModel } from '../src/models/anomaly/model.js';
import { CltvModel } from '../src/models/cltv/model.js';
import { Mlp, type MlpConfig } from '../src/models/nn/mlp.js';
import type { Calibration } from '../src/models/propensity/calibration.js';
import { PropensityModel } from '../src/models/propensity/model.js';
import type { Manifest, Weight } from '../src/models/registry.js';
import { kindOf } from '../src/models/kinds.js';
import type { ScoringModel } from '../src/models/model.js';
import { OnnxScorer, type OnnxProvider } from '../src/models/onnx/session.js';
import { scoringEngine } from '../src/models/load.js';
import fs from 'node:fs';
import { Rng } from '../src/util/rng.js';

const features: FittedTransform['features'] = [
  { kind: 'numeric', name: 'visits', log: true, fill: 3, mean: 1.2, std: 0.8, rawMean: 4, rawStd: 5, min: 0, max: 200, invalid: 0 },
  { kind: 'numeric', name: 'spend', log: false, fill: 50, mean: 50, std: 20, rawMean: 50, rawStd: 20, min: -10, max: 400, invalid: 0 },
  { kind: 'numeric', name: 'flat', log: false, fill: 2, mean: 2, std: 0, rawMean: 2, rawStd: 0, min: 2, max: 2, invalid: 0 },
  { kind: 'boolean', name: 'member', fill: 1, rate: 0.6, invalid: 0 },
  { kind: 'categorical', name: 'device', levels: ['mobile', 'desktop', '3'], shares: [0.5, 0.3, 0.1, 0.1], other: true },
  { kind: 'categorical', name: 'region', levels: ['north', 'south'], shares: [0.6, 0.4], other: false },
];
const fitted: FittedTransform = {
  id: { column: 'id', as: 'text' },
  features,
  reads: { visits: 'number', spend: 'number', flat: 'number', member: 'text', device: 'text', region: 'text' },
  outputs: outputNames(features),
  onInvalid: 'impute',
  rows: 1000,
  fingerprint: 'test',
};

/** 500 rows with every kind of value the transform must impute or map. */
function batch(): ColumnBatch {
  const rng = new Rng(7);
  const n = 500;
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)];
  const odd = [NaN, Infinity, -Infinity, 1e20, -5, 1e6, 1e15 + 1];
  const num = (scale: number) => Float64Array.from({ length: n }, (_, i) => (i % 11 === 0 ? odd[i % odd.length] : rng.next() * scale));
  return {
    source: 'test',
    offset: 0,
    first: 0,
    rows: n,
    columns: new Map<string, never>([
      ['id', Array.from({ length: n }, (_, i) => `v${i}`) as never],
      ['visits', num(100) as never],
      ['spend', num(300) as never],
      ['flat', num(3) as never],
      ['member', Array.from({ length: n }, () => pick(['yes', 'no', 'true', '0', 'oui', null])) as never],
      ['device', Array.from({ length: n }, () => pick(['mobile', 'desktop', '3.0', '3', 'tv', null])) as never],
      ['region', Array.from({ length: n }, () => pick(['north', 'south', 'east', null])) as never],
    ]),
  };
}

function manifest(kind: string, state: Record<string, unknown> = {}): Manifest {
  return { kind, name: 'm', version: 1, createdAt: '', backend: { name: 'wasm', device: 'cpu' }, features: fitted, params: {}, state, metrics: {}, data: { inputs: [], rows: 0, fingerprint: '' } };
}

/** Every output of the tfjs model and of its graph on the batch, compared; the imputed counts too. */
async function compare(model: ScoringModel, weights: Map<string, Weight>, provider: OnnxProvider = 'cpu'): Promise<void> {
  const b = batch();
  const block = transform(fitted, b);
  const expected = await model.score(block);
  const scorer = await OnnxScorer.create(model.manifest, weights, await kindOf(model.manifest.kind).graph!(), model.outputs.map((o) => o.name), 1, provider);
  const got = await scorer.run(b);
  // A few rows take the JavaScript transform and the model's part of the graph (SMALL_BATCH_ROWS): the same values.
  const few = { ...b, rows: 7, columns: new Map([...b.columns].map(([k, v]) => [k, v.slice(0, 7)])) } as ColumnBatch;
  const small = await scorer.run(few);
  await scorer.dispose();
  expect(got.imputed).toBe(block.imputed);
  expect(block.imputed).toBeGreaterThan(100);
  expect(small.imputed).toBe(transform(fitted, few).imputed);
  for (const [name, values] of Object.entries(expected)) {
    const head = Array.from(values as ArrayLike<number>).slice(0, 7);
    const o7 = Array.from(small.outputs[name] as ArrayLike<number>);
    for (let i = 0; i < 7; i++) expect(Number.isNaN(head[i]) ? Number.isNaN(o7[i]) : Math.abs(o7[i] - head[i]) <= 1e-5 * Math.max(1, Math.abs(head[i])), `${name}[${i}] of 7 rows`).toBe(true);
  }
  for (const [name, values] of Object.entries(expected)) {
    const a = Array.from(values as ArrayLike<number>);
    const o = Array.from(got.outputs[name] as ArrayLike<number>);
    expect(o.length).toBe(a.length);
    if (values instanceof Int32Array) expect(o).toEqual(a);
    else if (values instanceof Float64Array) expect(o.map((v) => (Number.isNaN(v) ? -1 : v))).toEqual(a.map((v) => (Number.isNaN(v) ? -1 : v)));
    else for (let i = 0; i < a.length; i++) expect(Math.abs(o[i] - a[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a[i])));
  }
}

const base: MlpConfig = { inputs: fitted.outputs.length, hidden: [16, 8], dropout: 0, l2: 0, learningRate: 0.01, seed: 3 };
const encoding = { columns: [0, 1], edges: [[-1.5, -0.2, 0.4, 2], [-2, 0, 1, 3, 6]] };
const calibrations: Calibration[] = [
  { method: 'none' },
  { method: 'platt', a: 1.3, b: -0.4 },
  { method: 'isotonic', x: [0.05, 0.2, 0.2, 0.5, 0.9], y: [0.01, 0.1, 0.15, 0.4, 0.97] },
];

describe('ONNX scoring graphs equal the tfjs path', () => {
  it('top features (a gradient) move only propensity to tfjs; the run\'s other models stay on onnx', () => {
    expect(scoringEngine(manifest('propensity'), { topFeatures: true })).toBe('tfjs');
    expect(scoringEngine(manifest('propensity'), {})).toBe('onnx');
    for (const kind of ['kmeans', 'anomaly', 'cltv']) expect(scoringEngine(manifest(kind), { topFeatures: true })).toBe('onnx');
    expect(scoringEngine(manifest('kmeans'), { engine: 'tfjs' })).toBe('tfjs');
  });

  it('K-Means: segments and distances', async () => {
    await initBackend();
    const rng = new Rng(11);
    const d = fitted.outputs.length;
    const centroids = Float32Array.from({ length: 6 * d }, () => rng.next() * 2 - 1);
    const model = new KMeansModel(manifest('kmeans'), centroids);
    await compare(model, new Map([['centroids', { name: 'centroids', shape: [6, d], data: centroids }]]));
    model.dispose();
  });

  it('anomaly: outlier scores, clusters and niches (small-segment and nearest-niche)', async () => {
    await initBackend();
    const rng = new Rng(5);
    const d = fitted.outputs.length;
    const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
    const w = { centroids: rand(5 * d, 1), spreads: Float32Array.from({ length: 5 }, () => 0.2 + rng.next()), niches: rand(3 * d, 3), nicheSpreads: Float32Array.from({ length: 3 }, () => 1 + rng.next() * 2) };
    const state = { threshold: 1.5, nicheOfCluster: [-1, 0, -1, -1, -1] };
    const model = new AnomalyModel(manifest('anomaly', state), w, state);
    const weights = new Map(Object.entries({ centroids: w.centroids, spreads: w.spreads, niches: w.niches, niche_spreads: w.nicheSpreads }).map(([name, data]) => [name, { name, shape: [data.length], data }]));
    const niche = (await model.score(transform(fitted, batch())))['m_niche'] as Float64Array;
    expect(new Set(Array.from(niche).filter((n) => !Number.isNaN(n))).size).toBeGreaterThan(1); // both kinds of niche occur
    await compare(model, weights);
    model.dispose();
  });

  it.each([
    ['plain', { ...{ inputs: fitted.outputs.length, hidden: [16, 8], dropout: 0, l2: 0, learningRate: 0.01, seed: 4 }, outputs: 3 }],
    ['with bins', { inputs: fitted.outputs.length, hidden: [16], dropout: 0, l2: 0, learningRate: 0.01, seed: 5, outputs: 3, encoding: { columns: [0, 1], edges: [[-1.5, -0.2, 0.4, 2], [-2, 0, 1, 3, 6]] } }],
  ] as Array<[string, MlpConfig]>)('cltv (%s): expected value capped, probability of buying', async (_shape, config) => {
    await initBackend();
    const mlp = Mlp.init(config);
    const weights = new Map((await mlp.toWeights()).map((w) => [w.name, w]));
    const state = { mlp: config, horizonDays: 90, maxValue: 1.2 };
    const model = new CltvModel(manifest('cltv', state), mlp, state);
    await compare(model, weights);
    model.dispose();
  });

  const shapes: Array<[string, MlpConfig]> = [
    ['a plain MLP', base],
    ['no hidden layer (logistic regression)', { ...base, hidden: [] }],
    ['piecewise-linear bins', { ...base, encoding }],
    ['bins through a per-column embedding', { ...base, encoding, embedding: 4 }],
    ['a TabM-mini ensemble of 4 with bins', { ...base, encoding, ensemble: 4 }],
  ];
  for (const [shape, config] of shapes) {
    it.each(calibrations.map((c) => [c.method, c] as const))(`propensity, ${shape}, calibration %s`, async (_m, calibration) => {
      await initBackend();
      const mlp = Mlp.init(config);
      const weights = new Map((await mlp.toWeights()).map((w) => [w.name, w]));
      const state = { calibration, threshold: 0.5, mlp: config };
      const model = new PropensityModel(manifest('propensity', state), mlp, state);
      await compare(model, weights);
      model.dispose();
    });
  }
});

/** A Vulkan driver for Dawn (Mesa lavapipe on CI, a GPU's elsewhere), as vitest.config.ts looks for one. */
const hasVulkan = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => /lvp|nvidia/.test(f)));

describe.skipIf(!hasVulkan && process.env.AUDIENCE_TEST_WEBGPU !== '1')("the same graphs on onnxruntime's WebGPU provider (lavapipe on CI; a GPU host's driver elsewhere)", () => {
  it('K-Means and propensity (bins, isotonic) equal the tfjs path', async () => {
    await initBackend();
    const rng = new Rng(12);
    const d = fitted.outputs.length;
    const centroids = Float32Array.from({ length: 6 * d }, () => rng.next() * 2 - 1);
    const kmeans = new KMeansModel(manifest('kmeans'), centroids);
    await compare(kmeans, new Map([['centroids', { name: 'centroids', shape: [6, d], data: centroids }]]), 'webgpu');
    kmeans.dispose();
    const config: MlpConfig = { ...base, encoding };
    const mlp = Mlp.init(config);
    const weights = new Map((await mlp.toWeights()).map((w) => [w.name, w]));
    const state = { mlp: config, calibration: calibrations[2], threshold: 0.5 };
    const propensity = new PropensityModel(manifest('propensity', state), mlp, state);
    await compare(propensity, weights, 'webgpu');
    propensity.dispose();
  });
});

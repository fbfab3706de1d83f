import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { transformedBatches } from '../src/features/blocks.js';
import { parseSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile, type OutputData } from '../src/io/writer.js';
import { brier } from '../src/metrics/classification.js';
import { loadScoringModel } from '../src/models/load.js';
import { calibrate, fitIsotonic, fitPlatt } from '../src/models/propensity/calibration.js';
import { fitMlp, predictLogits, weightedLoss } from '../src/models/nn/fit.js';
import { Mlp } from '../src/models/nn/mlp.js';
import { encodedWidth, fitPle } from '../src/models/nn/ple.js';
import { maxTensorBytes } from '../src/compute/memory.js';
import { WebGPUAdam } from '../src/models/nn/adam-webgpu.js';
import type { PropensityModel } from '../src/models/propensity/model.js';
import { trainPropensity } from '../src/models/propensity/train.js';
import { ModelStore } from '../src/models/registry.js';
import { Rng } from '../src/util/rng.js';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-prop-'));
});

/** n rows of features a, b, c (standard normal) and a label from `label(a, b, c, rng)`. */
async function dataset(name: string, n: number, label: (a: number, b: number, c: number, rng: Rng) => number, seed = 1) {
  const rng = new Rng(seed);
  const cols = { a: new Float64Array(n), b: new Float64Array(n), c: new Float64Array(n), y: new Int32Array(n) };
  for (let i = 0; i < n; i++) {
    cols.a[i] = rng.normal();
    cols.b[i] = rng.normal();
    cols.c[i] = rng.normal();
    cols.y[i] = label(cols.a[i], cols.b[i], cols.c[i], rng);
  }
  const file = path.join(dir, `${name}.parquet`);
  await writeFile(file, [{ name: 'a', type: 'DOUBLE' }, { name: 'b', type: 'DOUBLE' }, { name: 'c', type: 'DOUBLE' }, { name: 'y', type: 'INTEGER' }], (async function* () {
    yield { rows: n, columns: cols as unknown as Record<string, OutputData> };
  })());
  const data = await openDataset([file]);
  const transform = await fitTransform(data, parseSpec({ numeric: ['a', 'b', 'c'] }));
  return { data, transform };
}

const quick = { hidden: [16, 8], maxEpochs: 40, patience: 5, batchSize: 256, learningRate: 5e-3 };

describe('wasm matMul kernel fix', () => {
  it('transposed operands give the same product as explicit transposes', async () => {
    const a = tf.randomNormal([37, 19], 0, 1, 'float32', 1);
    const b = tf.randomNormal([37, 23], 0, 1, 'float32', 2);
    const viaFlag = tf.matMul(a, b, true, false);
    const explicit = tf.matMul(tf.transpose(a), b);
    const c = tf.randomNormal([23, 19], 0, 1, 'float32', 3);
    const viaFlagB = tf.matMul(a, c, false, true);
    const explicitB = tf.matMul(a, tf.transpose(c));
    const [x, y, z, w] = await Promise.all([viaFlag.data(), explicit.data(), viaFlagB.data(), explicitB.data()]);
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i], 4);
    for (let i = 0; i < z.length; i++) expect(z[i]).toBeCloseTo(w[i], 4);
    tf.dispose([a, b, c, viaFlag, explicit, viaFlagB, explicitB]);
  });
});

describe('propensity training', () => {
  it('reaches AUC > 0.99 on separable data, beside its baseline, and saves/loads to identical scores', async () => {
    // Separable by a + b > 0; neither feature alone is (single-feature AUC about 0.85: no leakage alarm).
    // The refit (a second training, no other kernels) is checked on the CPU backends, and half the rows
    // are trained on webgpu: lavapipe trains 5x slower.
    const gpu = tf.getBackend() === 'webgpu';
    const { data, transform } = await dataset('sep', gpu ? 3000 : 6000, (a, b) => (a + b > 0 ? 1 : 0));
    const store = new ModelStore(path.join(dir, 'store'));
    const before = tf.memory().numTensors;
    const { model, report } = await trainPropensity(data, transform, store, { name: 'sep', label: 'y', ...quick, seed: 3, ...(gpu && { refit: 'no' as const }) });
    expect(report.test.mlp.rocAuc).toBeGreaterThan(0.99);
    expect(report.test.baseline.rocAuc).toBeGreaterThan(0.95); // linear boundary, but only 40 short epochs
    // Under REFIT_ROWS the saved network is trained again on train + validation (test held out) for the epochs chosen.
    if (!gpu) expect(report.training.refit).toEqual({ rows: report.split.train + report.split.valid, epochs: report.bestEpoch, seconds: expect.any(Number) });
    expect(model.manifest.params.refit).toBe(!gpu);
    expect(report.checks.singleFeatureAuc[0].auc).toBeLessThan(0.9);
    expect(report.importance.map((i) => i.feature).slice(0, 2).sort()).toEqual(['a', 'b']);
    expect(report.importance[2]).toMatchObject({ feature: 'c' });
    expect(Math.abs(report.importance[2].aucDrop)).toBeLessThan(0.01);

    const loaded = (await loadScoringModel(store, 'sep', { topFeatures: true })) as PropensityModel;
    for await (const { block } of transformedBatches(data, loaded.transform)) {
      const x = await model.predict(block);
      const y = await loaded.predict(block);
      expect(y.probability).toEqual(x.probability);
      expect(y.attribution).toEqual(x.attribution);
      const out = await loaded.score(block);
      // Visitors with a + b well above 0 are pushed up by a and b, never by c alone.
      const top = out.sep_top_features as (string | null)[];
      expect(top.filter((t) => t?.startsWith('c')).length).toBeLessThan(block.rows * 0.2);
    }
    // Without topFeatures the attribution (a backward pass) is neither computed nor written.
    const plain = await loadScoringModel(store, 'sep');
    expect(plain.outputs.map((o) => o.name)).toEqual(['sep_probability', 'sep_score']);
    plain.dispose();
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ['a TabM-mini ensemble', { ensemble: 3 }],
    ['a per-column embedding of the bins (PLE-LR)', { embedding: 4 }],
  ])('%s over piecewise-linear inputs learns a non-monotone effect and saves/loads to identical scores', async (what, extra) => {
    // y depends on |a| (non-monotone): a standardized linear input cannot say it, bins can.
    const { data, transform } = await dataset(`ens${what.length}`, 6000, (a, b) => (Math.abs(a) + 0.3 * b > 0.9 ? 1 : 0));
    const store = new ModelStore(path.join(dir, `store-ens${what.length}`));
    const before = tf.memory().numTensors;
    // What is tested is the encoding, not the refit: without it, half the time.
    const { model, report } = await trainPropensity(data, transform, store, { name: 'ens', label: 'y', ...quick, seed: 2, numeric: 'ple', bins: 8, refit: 'no', ...extra });
    expect(model.manifest.params).toMatchObject({ numeric: 'ple', bins: 8, ...extra });
    expect(report.test.mlp.rocAuc).toBeGreaterThan(0.97);
    expect(report.test.baseline.rocAuc).toBeLessThan(0.75); // the linear baseline cannot
    const loaded = (await loadScoringModel(store, 'ens', { topFeatures: true })) as PropensityModel;
    for await (const { block } of transformedBatches(data, loaded.transform)) {
      const x = await model.predict(block);
      const y = await loaded.predict(block);
      expect(y.probability).toEqual(x.probability);
      expect(y.attribution).toEqual(x.attribution);
    }
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds nothing in noise, and does not call noise leakage', async () => {
    const { data, transform } = await dataset('noise', 5000, (_a, _b, _c, rng) => (rng.next() < 0.3 ? 1 : 0));
    const { model, report } = await trainPropensity(data, transform, new ModelStore(path.join(dir, 'store2')), { name: 'noise', label: 'y', ...quick, refit: 'no' });
    expect(report.training.refit).toBeUndefined();
    expect(model.manifest.params.refit).toBe(false);
    expect(Math.abs(report.test.mlp.rocAuc - 0.5)).toBeLessThan(0.06);
    expect(report.checks.singleFeatureAuc[0].auc).toBeLessThan(0.6);
    model.dispose();
  });

  it('refuses a constant label, too few positives, and a leaking feature, each with its reason', async () => {
    const store = new ModelStore(path.join(dir, 'store3'));
    const constant = await dataset('const', 3000, () => 0);
    await expect(trainPropensity(constant.data, constant.transform, store, { name: 'x', label: 'y' })).rejects.toThrow(/label "y" is constant \(no positive among 3000/);
    const rare = await dataset('rare', 3000, (a) => (a > 2.5 ? 1 : 0));
    await expect(trainPropensity(rare.data, rare.transform, store, { name: 'x', label: 'y' })).rejects.toThrow(/has \d+ positive and \d+ negative rows; at least 1000 of each/);
    const leak = await dataset('leak', 3000, (a) => (a > 0 ? 1 : 0));
    await expect(trainPropensity(leak.data, leak.transform, store, { name: 'x', label: 'y' })).rejects.toThrow(/feature "a" alone predicts "y" with AUC 1\.0000/);
    const missing = await dataset('miss', 100, () => 0);
    await expect(trainPropensity(missing.data, missing.transform, store, { name: 'x', label: 'converted' })).rejects.toThrow(/no label column "converted"/);
  });

  it.skipIf(process.env.AUDIENCE_BACKEND === 'webgpu')('is deterministic given a seed on the CPU backends', async () => {
    const { data, transform } = await dataset('det', 3000, (a, b, _c, rng) => (a - b + rng.normal() > 0 ? 1 : 0));
    const store = new ModelStore(path.join(dir, 'store4'));
    const opts = { name: 'det', label: 'y', ...quick, maxEpochs: 5, seed: 11 };
    const one = await trainPropensity(data, transform, store, opts);
    const two = await trainPropensity(data, transform, store, opts);
    expect(two.report.test.mlp.rocAuc).toBe(one.report.test.mlp.rocAuc);
    expect(await two.model.mlp.snapshot()).toEqual(await one.model.mlp.snapshot());
    one.model.dispose();
    two.model.dispose();
  });
});

/** A tiny, noisy training set (200 rows x 10) for a large network, and 1,000 validation rows: validation loss turns up early. */
function overfitting() {
  const rng = new Rng(5);
  const n = 1200;
  const d = 10;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const y = Uint8Array.from({ length: n }, (_, i) => (x[i * d] + 2 * rng.normal() > 0 ? 1 : 0));
  return { data: { x, y, d }, d, train: Int32Array.from({ length: 200 }, (_, i) => i), valid: Int32Array.from({ length: 1000 }, (_, i) => 200 + i) };
}

describe('early stopping', () => {
  it('restores the weights of the best validation epoch', async () => {
    const { data, d, train, valid } = overfitting();
    const fit = await fitMlp(data, train, valid, { inputs: d, hidden: [64, 64], dropout: 0, l2: 0, learningRate: 1e-2, seed: 1 }, { batchSize: 32, maxEpochs: 60, patience: 5, classWeight: 'none' });
    expect(fit.history.length).toBeLessThan(60);
    expect(fit.history.length - fit.bestEpoch).toBe(5);
    const best = fit.history[fit.bestEpoch - 1].validLoss;
    expect(Math.min(...fit.history.map((h) => h.validLoss))).toBeCloseTo(best, 10);
    expect(weightedLoss(await predictLogits(fit.mlp, data, valid), data, valid, [1, 1])).toBeCloseTo(best, 5);
    fit.mlp.dispose();
  });

  it('reports progress of at most max-epochs passes, and the soonest early stopping can end: never later than the real end', async () => {
    const { data, d, train, valid } = overfitting();
    const updates: Array<{ done: number; total?: number; soonest?: number; expected?: number }> = [];
    const progress = { update: (done: number, total?: number, soonest?: number, expected?: number) => updates.push({ done, total, soonest, expected }), done() {} };
    const fit = await fitMlp(data, train, valid, { inputs: d, hidden: [64, 64], dropout: 0, l2: 0, learningRate: 1e-2, seed: 1 }, { batchSize: 32, maxEpochs: 60, patience: 5, classWeight: 'none', progress });
    const end = fit.history.length * train.length;
    expect(fit.history.length).toBeLessThan(60);
    expect(updates.every((u) => u.total === 60 * train.length)).toBe(true);
    // The soonest end is a lower bound all along (never before the pass under way ends), and exact once the best epoch is final.
    expect(updates.every((u) => u.soonest! <= end && u.soonest! >= Math.ceil(u.done / train.length) * train.length)).toBe(true);
    // The expected end (nn/stopping.ts) from the second pass on, within the soonest end and the most.
    expect(updates.filter((u) => u.done <= train.length).every((u) => u.expected === undefined)).toBe(true);
    expect(updates.filter((u) => u.done > 2 * train.length).every((u) => u.expected! >= u.soonest! && u.expected! <= 60 * train.length)).toBe(true);
    const last = updates[updates.length - 1];
    expect({ done: last.done, total: last.total, soonest: last.soonest }).toEqual({ done: end, total: 60 * train.length, soonest: (fit.bestEpoch + 5) * train.length });
    fit.mlp.dispose();
  });

  it('keepLast (a refit) runs every pass and keeps the last weights, even when validation turns worse', async () => {
    const { data, d, train, valid } = overfitting();
    const fit = await fitMlp(data, train, valid, { inputs: d, hidden: [64, 64], dropout: 0, l2: 0, learningRate: 1e-2, seed: 1 }, { batchSize: 32, maxEpochs: 30, patience: 5, classWeight: 'none', ema: 0.9, keepLast: true });
    expect(fit.history.length).toBe(30);
    expect(fit.bestEpoch).toBe(30);
    const last = fit.history[29].validLoss;
    expect(Math.min(...fit.history.map((h) => h.validLoss))).toBeLessThan(last - 0.05); // it overfits, and is kept anyway
    expect(weightedLoss(await predictLogits(fit.mlp, data, valid), data, valid, [1, 1])).toBeCloseTo(last, 5);
    fit.mlp.dispose();
  });

  it('a wide piecewise-linear network runs in spans within the device tensor limit, equal to small passes', async () => {
    // 40 inputs x 32 bins: 65,536 rows of encoded input are 346 MB, past lavapipe's 128 MiB binding limit.
    const d = 40;
    const rng = new Rng(6);
    const probe = Float32Array.from({ length: 5000 * d }, () => rng.normal());
    const encoding = fitPle(probe, d, Int32Array.from({ length: 5000 }, (_, i) => i), Array.from({ length: d }, (_, j) => j), 32, 'quantile');
    const m = Mlp.init({ inputs: d, hidden: [64, 32], dropout: 0, l2: 0, learningRate: 1e-3, seed: 1, encoding });
    const widest = encodedWidth(d, encoding);
    expect(m.rowsPerPass() * 4 * widest).toBeLessThanOrEqual(Math.max(maxTensorBytes(), 256 * 4 * widest));
    const rows = m.rowsPerPass() + 300;
    const x = Float32Array.from({ length: rows * d }, () => rng.normal());
    const spans = await m.inSpans(x, d, 1, (b) => m.logits(b));
    for (let s = 0; s < rows; s += 4096) {
      const n = Math.min(4096, rows - s);
      const z = m.logits(tf.tensor2d(x.subarray(s * d, (s + n) * d), [n, d]));
      const small = await z.data();
      tf.dispose([z]);
      for (let i = 0; i < n; i += 7) expect(spans[s + i]).toBeCloseTo(small[i], 4);
    }
    m.dispose();
  });

  it('an MLP with no hidden layer is logistic regression (one weight per input)', () => {
    const m = Mlp.init({ inputs: 4, hidden: [], dropout: 0, l2: 0, learningRate: 1e-3, seed: 1 });
    expect(m.params.map((p) => p.shape)).toEqual([[4, 1], [1]]);
    m.dispose();
  });
});

describe('calibration', () => {
  it('Platt and isotonic both lower the Brier score of miscalibrated probabilities', () => {
    const rng = new Rng(9);
    const n = 20_000;
    const logits = new Float32Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal() * 2;
      labels[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      logits[i] = 3 * z + 1; // overconfident and shifted
    }
    const raw = Float32Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
    const platt = fitPlatt(logits, labels);
    expect(platt).toMatchObject({ method: 'platt' });
    const p = platt as { a: number; b: number };
    expect(p.a).toBeCloseTo(1 / 3, 1);
    expect(p.b).toBeCloseTo(-1 / 3, 1);
    const iso = fitIsotonic(raw, labels);
    const b0 = brier(raw, labels);
    expect(brier(Float32Array.from(logits, (z) => calibrate(platt, z)), labels)).toBeLessThan(b0 * 0.9);
    expect(brier(Float32Array.from(logits, (z) => calibrate(iso, z)), labels)).toBeLessThan(b0 * 0.9);
    // Isotonic output is monotone in the input.
    const probe = [-5, -1, 0, 0.5, 3].map((z) => calibrate(iso, z));
    for (let i = 1; i < probe.length; i++) expect(probe[i]).toBeGreaterThanOrEqual(probe[i - 1]);
  });
});

// The fused optimizer runs only on webgpu (the second test project, on lavapipe in CI).
describe.runIf(process.env.AUDIENCE_BACKEND === 'webgpu')('webgpu Adam', () => {
  it('takes the same steps as tf.train.adam', async () => {
    const rng = new Rng(9);
    const shapes = [[33, 17], [17], [1000, 3]];
    const init = shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()));
    const ours = shapes.map((s, i) => tf.variable(tf.tensor(init[i], s)));
    const theirs = shapes.map((s, i) => tf.variable(tf.tensor(init[i], s)));
    const before = tf.memory().numTensors;
    const fused = new WebGPUAdam(0.01);
    const reference = tf.train.adam(0.01);
    for (let step = 0; step < 5; step++) {
      const grads = shapes.map((s) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal() * (step + 1)), s));
      fused.apply(ours, grads);
      reference.applyGradients(theirs.map((v, i) => ({ name: v.name, tensor: grads[i] })));
      tf.dispose(grads);
    }
    for (let i = 0; i < shapes.length; i++) {
      const [a, b] = [await ours[i].data(), await theirs[i].data()];
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[j])));
      // They moved: five steps of lr 0.01 each change every weight by up to 0.05.
      expect(Math.abs(a[0] - init[i][0])).toBeGreaterThan(1e-3);
    }
    fused.dispose();
    // Only tf.train.adam's own state (two moments per variable, two beta powers) is left.
    expect(tf.memory().numTensors - before).toBe(2 * shapes.length + 2);
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });
});

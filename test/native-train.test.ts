/**
 * The native training step (nn/native.ts, onnx/train-graphs.ts) against tfjs: its gradients
 * equal tfjs's autodiff of the same loss (weighted cross-entropy with L2, with and without the
 * piecewise-linear bins; the propensity and lookalike networks' shapes; the CLTV network's
 * zero-inflated lognormal), one HostAdam step
 * equals tf.train.adam's, a seeded run repeats exactly, dropout draws a new mask each step,
 * and a fit reaches the same held-out quality as the tfjs trainer on the same rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { rocAuc } from '../src/metrics/classification.js';
import { zilnLoss } from '../src/models/cltv/ziln.js';
import { HostAdam } from '../src/models/nn/adam.js';
import { fitMlp, predictLogits, trainsNatively, type Labeled } from '../src/models/nn/fit.js';
import { Mlp, type MlpConfig } from '../src/models/nn/mlp.js';
import { classTargets, NativeStepper } from '../src/models/nn/native.js';
import { fitPle } from '../src/models/nn/ple.js';
import { UserError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { labeledRows } from '../bench/data.js';

/** tfjs's autodiff gradient of the step's loss, sum(w / B (softplus(z) - y z)) + l2 / 2 sum |W|^2, at the network's weights. */
async function tfjsGradients(mlp: Mlp, data: Labeled, rows: Int32Array, weights: [number, number]): Promise<{ loss: number; grads: Float32Array[] }> {
  const { value, grads } = tf.tidy(() => {
    const b = rows.length;
    const x = tf.tensor2d(Float32Array.from({ length: b * data.d }, (_, i) => data.x[rows[Math.floor(i / data.d)] * data.d + (i % data.d)]), [b, data.d]);
    const y = tf.tensor2d(Float32Array.from(rows, (r) => data.y[r]), [b, 1]);
    const w = tf.tensor2d(Float32Array.from(rows, (r) => weights[data.y[r]] / b), [b, 1]);
    return tf.variableGrads(() => {
      const z = mlp.logits(x);
      let loss = tf.sum(tf.mul(w, tf.sub(tf.softplus(z), tf.mul(y, z)))) as tf.Scalar;
      for (let l = 0; l < mlp.layers; l++) loss = tf.add(loss, tf.mul(tf.sum(tf.square(mlp.params[2 * l])), mlp.config.l2 / 2)) as tf.Scalar;
      return loss;
    }, mlp.params);
  });
  const out = { loss: (await value.data())[0], grads: await Promise.all(mlp.params.map(async (p) => (await grads[p.name].data()) as Float32Array)) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** max |a - b| over max |b| (at least 1e-3, for gradients that are all near 0). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

describe('native MLP step', () => {
  it('gradients equal tfjs autodiff (1e-5 relative) over shapes, L2, class weights and PLE bins', async () => {
    await initBackend();
    const shape = fc.record({
      d: fc.integer({ min: 1, max: 6 }),
      hidden: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }),
      batch: fc.integer({ min: 1, max: 40 }),
      l2: fc.constantFrom(0, 1e-3, 0.05),
      weights: fc.constantFrom<[number, number]>([1, 1], [0.6, 3.2]),
      bins: fc.constantFrom(0, 4),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(shape, async ({ d, hidden, batch, l2, weights, bins, seed }) => {
        const data = labeledRows(200, d, seed);
        const all = Int32Array.from({ length: 200 }, (_, i) => i);
        const encoding = bins ? fitPle(data.x, d, all, [0], bins) : undefined;
        const mlp = Mlp.init({ inputs: d, hidden, dropout: 0, l2, learningRate: 1e-3, seed, ...(encoding && { encoding }) });
        const rows = all.subarray(seed % 100, (seed % 100) + batch);
        const stepper = await NativeStepper.create(mlp, data, classTargets(data.y, weights), false);
        try {
          const native = await stepper.gradients(rows);
          const ref = await tfjsGradients(mlp, data, rows, weights);
          expect(Math.abs(native.loss - ref.loss) / Math.max(1e-3, Math.abs(ref.loss))).toBeLessThan(1e-5);
          ref.grads.forEach((g, i) => expect(relativeError(native.grads[i], g), `parameter ${i}`).toBeLessThan(1e-5));
        } finally {
          stepper.dispose();
          mlp.dispose();
        }
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it('gradients of the propensity (PLE, 128-64) and lookalike (64-32) networks equal tfjs autodiff', async () => {
    await initBackend();
    const data = labeledRows(2000, 12, 3);
    const all = Int32Array.from({ length: 2000 }, (_, i) => i);
    const encoding = fitPle(data.x, 12, all, [0, 1, 2, 3, 4, 5], 32, 'fill');
    const configs: MlpConfig[] = [
      { inputs: 12, hidden: [128, 64], dropout: 0, l2: 1e-3, learningRate: 1e-3, seed: 5, encoding },
      { inputs: 12, hidden: [64, 32], dropout: 0, l2: 0, learningRate: 1e-3, seed: 6 },
    ];
    for (const config of configs) {
      const mlp = Mlp.init(config);
      const stepper = await NativeStepper.create(mlp, data, classTargets(data.y, [0.55, 5.5]), false);
      const rows = all.subarray(100, 612);
      const native = await stepper.gradients(rows);
      const ref = await tfjsGradients(mlp, data, rows, [0.55, 5.5]);
      ref.grads.forEach((g, i) => expect(relativeError(native.grads[i], g), `parameter ${i}`).toBeLessThan(1e-5));
      stepper.dispose();
      mlp.dispose();
    }
  });

  it('the CLTV network’s zero-inflated lognormal gradients equal tfjs autodiff of zilnLoss (fast-check over shapes and spend)', async () => {
    await initBackend();
    const shape = fc.record({
      hidden: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }),
      batch: fc.integer({ min: 1, max: 40 }),
      l2: fc.constantFrom(0, 1e-3),
      buyers: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(shape, async ({ hidden, batch, l2, buyers, seed }) => {
        const d = 4;
        const { x } = labeledRows(100, d, seed);
        const rng = new Rng(seed);
        const y = Float32Array.from({ length: 100 }, () => (rng.next() < buyers ? Math.exp(3 + rng.normal()) : 0));
        const mlp = Mlp.init({ inputs: d, hidden, dropout: 0, l2, learningRate: 1e-3, seed, outputs: 3 });
        const rows = Int32Array.from({ length: batch }, (_, i) => (seed + i) % 100);
        const stepper = await NativeStepper.create(mlp, { x, d }, (r) => ({ y: Float32Array.from(r, (i) => y[i]), w: new Float32Array(r.length).fill(1 / r.length) }), false, 'ziln');
        try {
          const native = await stepper.gradients(rows);
          const { value, grads } = tf.tidy(() => {
            const xb = tf.tensor2d(Float32Array.from({ length: batch * d }, (_, i) => x[rows[Math.floor(i / d)] * d + (i % d)]), [batch, d]);
            const yb = tf.tensor2d(Float32Array.from(rows, (r) => y[r]), [batch, 1]);
            return tf.variableGrads(() => {
              let loss = zilnLoss(mlp.logits(xb), yb);
              for (let l = 0; l < mlp.layers; l++) loss = tf.add(loss, tf.mul(tf.sum(tf.square(mlp.params[2 * l])), l2 / 2)) as tf.Scalar;
              return loss;
            }, mlp.params);
          });
          expect(Math.abs(native.loss - (await value.data())[0]) / Math.max(1e-3, Math.abs((await value.data())[0]))).toBeLessThan(1e-5);
          for (const [i, p] of mlp.params.entries()) expect(relativeError(native.grads[i], await grads[p.name].data()), `parameter ${i}`).toBeLessThan(1e-5);
          tf.dispose([value, ...Object.values(grads)]);
        } finally {
          stepper.dispose();
          mlp.dispose();
        }
      }),
      { numRuns: 20, seed: 5 },
    );
  });

  it('a HostAdam step equals tf.train.adam', async () => {
    await initBackend();
    const rng = new Rng(11);
    const sizes = [7, 3];
    const start = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
    const host = start.map((p) => Float32Array.from(p));
    const vars = start.map((p) => tf.variable(tf.tensor1d(p)));
    const adam = new HostAdam(sizes, 0.01);
    const tfAdam = tf.train.adam(0.01);
    for (let step = 0; step < 4; step++) {
      const grads = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal() * (step + 1)));
      adam.apply(host, grads);
      const named = vars.map((v, i) => ({ name: v.name, tensor: tf.tensor1d(grads[i]) }));
      tfAdam.applyGradients(named);
      tf.dispose(named.map((n) => n.tensor));
    }
    for (let i = 0; i < sizes.length; i++) expect(relativeError(host[i], await vars[i].data())).toBeLessThan(1e-6);
    tfAdam.dispose();
    tf.dispose(vars);
  });

  it('dropout draws a new mask each step, and a seeded run repeats exactly', async () => {
    await initBackend();
    const data = labeledRows(3000, 5, 4);
    const all = Int32Array.from({ length: 3000 }, (_, i) => i);
    const config: MlpConfig = { inputs: 5, hidden: [16, 8], dropout: 0.3, l2: 1e-4, learningRate: 3e-3, seed: 9 };
    const mlp = Mlp.init(config);
    const stepper = await NativeStepper.create(mlp, data, classTargets(data.y, [1, 1]), false);
    const rows = all.subarray(0, 64);
    const [a, b] = [await stepper.gradients(rows), await stepper.gradients(rows)];
    expect(relativeError(a.grads[0], b.grads[0])).toBeGreaterThan(1e-3);
    stepper.dispose();
    mlp.dispose();
    const fit = () => fitMlp(data, all.subarray(500), all.subarray(0, 500), config, { batchSize: 128, maxEpochs: 3, patience: 5, classWeight: 'auto', ema: 0.9, trainer: 'onnx' });
    const [first, second] = [await fit(), await fit()];
    expect(await second.mlp.snapshot()).toEqual(await first.mlp.snapshot());
    expect(second.history).toEqual(first.history);
    first.mlp.dispose();
    second.mlp.dispose();
  });

  it('reaches the tfjs trainer’s held-out ROC-AUC on the same rows', async () => {
    await initBackend();
    const data = labeledRows(24_000, 8, 5);
    const all = Int32Array.from({ length: 24_000 }, (_, i) => i);
    const [test, valid, train] = [all.subarray(0, 4000), all.subarray(4000, 7000), all.subarray(7000)];
    const config: MlpConfig = { inputs: 8, hidden: [32, 16], dropout: 0.1, l2: 1e-4, learningRate: 2e-3, seed: 3, encoding: fitPle(data.x, 8, train, [0, 1, 2], 8) };
    const testY = Uint8Array.from(test, (r) => data.y[r]);
    const auc: Record<string, number> = {};
    for (const trainer of ['onnx', 'tfjs'] as const) {
      const fit = await fitMlp(data, train, valid, config, { batchSize: 256, maxEpochs: 6, patience: 3, classWeight: 'none', ema: 0.99, trainer });
      auc[trainer] = rocAuc(await predictLogits(fit.mlp, data, test), testY);
      fit.mlp.dispose();
    }
    expect(auc.tfjs).toBeGreaterThan(0.68);
    expect(Math.abs(auc.onnx - auc.tfjs)).toBeLessThan(0.01);
  });

  it('minDelta: patience counts from the last pass that lowered the best loss by that share; the best pass is kept whatever its drop', async () => {
    await initBackend();
    const data = labeledRows(6000, 6, 8);
    const all = Int32Array.from({ length: 6000 }, (_, i) => i);
    const config: MlpConfig = { inputs: 6, hidden: [8], dropout: 0, l2: 0, learningRate: 3e-3, seed: 2 };
    // Only the first pass (from an infinite best) can halve the best loss: the run ends `patience` passes after it.
    const fit = await fitMlp(data, all.subarray(1000), all.subarray(0, 1000), config, { batchSize: 256, maxEpochs: 50, patience: 3, classWeight: 'none', minDelta: 0.5, trainer: 'onnx' });
    expect(fit.history.length).toBe(4);
    const losses = fit.history.map((h) => h.validLoss);
    expect(fit.bestEpoch).toBe(losses.indexOf(Math.min(...losses)) + 1);
    expect(fit.bestEpoch).toBeGreaterThan(1);
    fit.mlp.dispose();
  });

  it('--trainer onnx refuses an ensemble or an embedding; auto leaves them to tfjs', () => {
    const config: MlpConfig = { inputs: 3, hidden: [4], dropout: 0, l2: 0, learningRate: 1e-3, seed: 1, ensemble: 4 };
    expect(() => trainsNatively('onnx', config)).toThrow(UserError);
    expect(trainsNatively('auto', config)).toBe(false);
    expect(trainsNatively('tfjs', { ...config, ensemble: 1 })).toBe(false);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { memorySource } from '../src/features/blocks.js';
import { adjustedRandIndex, nearest } from '../src/metrics/clustering.js';
import { augment, loadKMeansData, type LloydEngine } from '../src/models/kmeans/data.js';
import { fitKMeans, kmeansPlusPlus } from '../src/models/kmeans/fit.js';
import { centroidOperand } from '../src/models/kmeans/kernels.js';
import { assignLabels, clusterSums, fusedStepAvailable } from '../src/models/kmeans/webgpu.js';
import { Rng } from '../src/util/rng.js';
import { blobs, toBlocks } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

/** Plain Lloyd in float64 JS: the reference the tensor version must match. */
function referenceLloyd(x: Float32Array, n: number, d: number, init: Float32Array, k: number, iters: number) {
  let c = Float64Array.from(init);
  let inertia = 0;
  for (let it = 0; it < iters; it++) {
    const sums = new Float64Array(k * d);
    const counts = new Float64Array(k);
    inertia = 0;
    for (let i = 0; i < n; i++) {
      const [a, dist] = nearest(x, i, c, k, d);
      inertia += dist;
      counts[a]++;
      for (let j = 0; j < d; j++) sums[a * d + j] += x[i * d + j];
    }
    c = c.map((v, idx) => (counts[Math.floor(idx / d)] > 0 ? sums[idx] / counts[Math.floor(idx / d)] : v));
  }
  return { centroids: c, inertia };
}

describe('batched K-Means', () => {
  it('recovers planted clusters (ARI >= 0.95)', async () => {
    const d = 8;
    const { data, labels } = blobs(20_000, 6, d, 42, 1.0, 4);
    const kd = await loadKMeansData(memorySource(toBlocks(data, d, 5000)), { k: 6, sampleSize: 10_000, seed: 1 });
    const fit = await fitKMeans(kd, { k: 6, seed: 1 });
    kd.dispose();
    const predicted = new Int32Array(20_000);
    for (let i = 0; i < predicted.length; i++) predicted[i] = nearest(data, i, fit.centroids, 6, d)[0];
    expect(adjustedRandIndex(labels, predicted)).toBeGreaterThanOrEqual(0.95);
    expect(fit.sizes.reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(fit.silhouette).toBeGreaterThan(0.3);
    expect(fit.converged).toBe(true);
  });

  it("gives scikit-learn's KMeans doctest result: centers (10, 2) and (1, 2), inertia 16", async () => {
    // sklearn.cluster.KMeans docstring: X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]],
    // KMeans(n_clusters=2, random_state=0).fit(X): cluster_centers_ [[10, 2], [1, 2]], inertia_ 16.0.
    const x = Float32Array.from([1, 2, 1, 4, 1, 0, 10, 2, 10, 4, 10, 0]);
    const kd = await loadKMeansData(memorySource(toBlocks(x, 2, 6)), { k: 2, sampleSize: 6, seed: 0 });
    const fit = await fitKMeans(kd, { k: 2, seed: 0, nInit: 3 });
    kd.dispose();
    const centers = [Array.from(fit.centroids.subarray(0, 2)), Array.from(fit.centroids.subarray(2, 4))].sort((a, b) => b[0] - a[0]);
    expect(centers).toEqual([
      [10, 2],
      [1, 2],
    ]);
    expect(fit.inertia).toBeCloseTo(16, 4);
    expect(fit.sizes.sort()).toEqual([3, 3]);
  });

  it('matches a reference Lloyd run from the same seeds within 1% inertia', async () => {
    const d = 5;
    const n = 3000;
    const { data } = blobs(n, 4, d, 7, 2.5, 3); // overlapping: Lloyd has real work to do
    const init = kmeansPlusPlus(data, n, d, 4, new Rng(3));
    const kd = await loadKMeansData(memorySource(toBlocks(data, d, 1000)), { k: 4, sampleSize: n, seed: 1 });
    const fit = await fitKMeans(kd, { k: 4, init, maxIter: 30, tol: 0 });
    kd.dispose();
    const ref = referenceLloyd(data, n, d, init, 4, 31);
    expect(Math.abs(fit.inertia - ref.inertia) / ref.inertia).toBeLessThan(0.01);
    for (let i = 0; i < ref.centroids.length; i++) expect(fit.centroids[i]).toBeCloseTo(ref.centroids[i], 2);
  });

  it('gives the same result in one batch, many batches, and streamed from the source', async () => {
    const d = 6;
    const { data } = blobs(12_000, 5, d, 3, 1.5, 3);
    const init = kmeansPlusPlus(data, 12_000, d, 5, new Rng(9));
    const run = async (blockRows: number, batchRows: number, budgetBytes?: number) => {
      const kd = await loadKMeansData(memorySource(toBlocks(data, d, blockRows)), { k: 5, sampleSize: 5000, seed: 1, batchRows, budgetBytes });
      const fit = await fitKMeans(kd, { k: 5, init, mode: 'lloyd', maxIter: 50 });
      const resident = kd.resident;
      kd.dispose();
      return { fit, resident };
    };
    const one = await run(12_000, 1 << 20);
    const many = await run(1000, 700);
    const streamed = await run(1000, 700, 0);
    expect(one.resident).toBe(true);
    expect(streamed.resident).toBe(false);
    for (const other of [many, streamed]) {
      expect(other.fit.sizes).toEqual(one.fit.sizes);
      expect(Math.abs(other.fit.inertia - one.fit.inertia) / one.fit.inertia).toBeLessThan(1e-4);
      for (let i = 0; i < one.fit.centroids.length; i++) expect(other.fit.centroids[i]).toBeCloseTo(one.fit.centroids[i], 3);
    }
  });

  it('gives the same result with the rows partitioned over worker threads (one backend each), and on the native engine (onnxruntime)', async () => {
    const d = 6;
    const { data } = blobs(12_000, 5, d, 3, 1.5, 3);
    const init = kmeansPlusPlus(data, 12_000, d, 5, new Rng(9));
    const run = async (workers: number, engine: LloydEngine) => {
      const before = tf.memory().numTensors;
      const kd = await loadKMeansData(memorySource(toBlocks(data, d, 1000)), { k: 5, sampleSize: 5000, seed: 1, batchRows: 700, workers, engine });
      const fit = await fitKMeans(kd, { k: 5, init, mode: 'lloyd', maxIter: 50 });
      const partitioned = Boolean(kd.sumsOf);
      kd.dispose();
      expect(tf.memory().numTensors).toBe(before);
      return { fit, partitioned };
    };
    const local = await run(0, 'tfjs');
    const parts = await run(2, 'tfjs');
    const native = await run(0, 'onnx');
    expect(local.partitioned).toBe(false);
    expect(parts.partitioned).toBe(true);
    expect(parts.fit.sizes).toEqual(local.fit.sizes);
    expect(Math.abs(parts.fit.inertia - local.fit.inertia) / local.fit.inertia).toBeLessThan(1e-4);
    // The same clusters from the same initial centroids: every row in the same one (sizes equal), inertia within 1e-5.
    expect(native.fit.iterations).toBe(local.fit.iterations);
    expect(native.fit.sizes).toEqual(local.fit.sizes);
    expect(Math.abs(native.fit.inertia - local.fit.inertia) / local.fit.inertia).toBeLessThan(1e-5);
    for (let i = 0; i < local.fit.centroids.length; i++) expect(native.fit.centroids[i]).toBeCloseTo(local.fit.centroids[i], 4);
  });

  it('mini-batch mode recovers planted clusters', async () => {
    const d = 8;
    const { data, labels } = blobs(30_000, 5, d, 11, 1.0, 4);
    const kd = await loadKMeansData(memorySource(toBlocks(data, d, 8192)), { k: 5, sampleSize: 10_000, seed: 2, budgetBytes: 0 });
    const fit = await fitKMeans(kd, { k: 5, seed: 2, mode: 'auto', batchSize: 1024 });
    kd.dispose();
    expect(fit.mode).toBe('minibatch');
    const predicted = new Int32Array(labels.length);
    for (let i = 0; i < predicted.length; i++) predicted[i] = nearest(data, i, fit.centroids, 5, d)[0];
    expect(adjustedRandIndex(labels, predicted)).toBeGreaterThanOrEqual(0.95);
  });

  it('repairs an empty cluster and keeps the lowest-inertia restart', async () => {
    const d = 2;
    const { data } = blobs(2000, 3, d, 5, 0.5, 5);
    // Two identical starting centroids: one of them gets no points in the first step.
    const init = new Float32Array([data[0], data[1], data[0], data[1], data[2], data[3]]);
    const kd = await loadKMeansData(memorySource(toBlocks(data, d, 2000)), { k: 3, sampleSize: 2000, seed: 1 });
    const fit = await fitKMeans(kd, { k: 3, init });
    expect(fit.sizes.every((s) => s > 0)).toBe(true);
    const multi = await fitKMeans(kd, { k: 3, nInit: 4, seed: 5 });
    kd.dispose();
    expect(multi.inits).toHaveLength(4);
    expect(multi.inertia).toBe(Math.min(...multi.inits.map((i) => i.inertia)));
  });

  it('leaves no tensor behind after training', async () => {
    const d = 4;
    const { data } = blobs(5000, 3, d, 8);
    const before = tf.memory().numTensors;
    const kd = await loadKMeansData(memorySource(toBlocks(data, d, 1000)), { k: 3, sampleSize: 2000, seed: 1 });
    await fitKMeans(kd, { k: 3, nInit: 2 });
    await fitKMeans(kd, { k: 3, mode: 'minibatch', batchSize: 256, epochs: 2 });
    kd.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses k larger than the data', async () => {
    const kd = await loadKMeansData(memorySource(toBlocks(new Float32Array([1, 2, 3, 4]), 2, 2)), { k: 3, sampleSize: 10, seed: 1 });
    await expect(fitKMeans(kd, { k: 3 })).rejects.toThrow(/at least 3 rows/);
    kd.dispose();
  });

  // The fused WGSL kernels run only on webgpu (the second test project, on lavapipe in CI).
  it.runIf(process.env.AUDIENCE_BACKEND === 'webgpu')('fused webgpu step: the same labels and sums as the generic ops', async () => {
    for (const [n, d, k] of [[50_003, 32, 16], [7_777, 7, 3], [300, 60, 50]]) {
      expect(fusedStepAvailable(d, k)).toBe(true);
      const { data } = blobs(n, k, d, 17);
      const before = tf.memory().numTensors;
      const [x] = toBlocks(data, d, n).map((block) => augment(block));
      const op = centroidOperand(kmeansPlusPlus(data, n, d, k, new Rng(3)), k, d);
      const [labels, sums, refLabels, refSums] = tf.tidy(() => {
        const ref = tf.argMin(tf.matMul(x, op), 1);
        const l = assignLabels(x, op);
        return [l, clusterSums(x, l, k), ref, tf.scatterND(ref.reshape([n, 1]), x, [k, d + 1])];
      });
      expect(Array.from(await labels.data())).toEqual(Array.from(await refLabels.data()));
      const [got, want] = [await sums.data(), await refSums.data()];
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i])));
      tf.dispose([x, op, labels, sums, refLabels, refSums]);
      expect(tf.memory().numTensors).toBe(before);
    }
    // AUDIENCE_WEBGPU_FUSED=0 hands the step back to tfjs's generic ops.
    process.env.AUDIENCE_WEBGPU_FUSED = '0';
    try {
      expect(fusedStepAvailable(32, 16)).toBe(false);
    } finally {
      delete process.env.AUDIENCE_WEBGPU_FUSED;
    }
  });
});

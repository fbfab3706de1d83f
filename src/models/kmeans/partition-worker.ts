/** A K-Means data partition on its own backend: holds its rows as [X | 1] tensors, answers assignment steps. */
import { initBackend, tf } from '../../compute/backend.js';
import { serveRequests } from '../../compute/workers.js';
import type { FeatureBlock } from '../../features/transform.js';
import { augment, type KMeansData } from './data.js';
import { assignAndSum } from './kernels.js';

await initBackend();
const batches: Array<{ xa: tf.Tensor2D; rows: number }> = [];
let cols = 0;

const partition = (): KMeansData => ({
  rows: batches.reduce((a, b) => a + b.rows, 0),
  cols,
  resident: true,
  sqNormSum: 0, // the caller computes inertia from the total
  meanVariance: 0,
  sample: new Float32Array(0),
  sampleRows: 0,
  async forEachBatch(fn) {
    for (const b of batches) await fn(b.xa, b.rows);
  },
  dispose() {},
});

serveRequests({
  async load(p: { data: Float32Array; rows: number; cols: number }) {
    cols = p.cols;
    const block: FeatureBlock = { ids: new BigInt64Array(0), rows: p.rows, cols: p.cols, data: p.data, names: [], imputed: 0 };
    batches.push({ xa: augment(block), rows: p.rows });
    return { result: null };
  },
  async step(p: { centroids: Float32Array; k: number }) {
    const { sums, counts } = await assignAndSum(partition(), p.centroids, p.k);
    return { result: { sums, counts }, transfer: [sums.buffer as ArrayBuffer, counts.buffer as ArrayBuffer] };
  },
  async dispose() {
    for (const b of batches) b.xa.dispose();
    batches.length = 0;
    return { result: null };
  },
});

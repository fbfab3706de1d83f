/**
 * Similarity of visitors to a seed audience on the tensor backend: cosine to the seeds'
 * centroid, or the mean cosine to the k nearest seeds. Rows are processed in batches sized
 * so the batch x seeds similarity matrix stays within the device's element budget (8M floats
 * on wasm): N x S is never built whole.
 */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { elementBudget } from '../../compute/memory.js';
import { onWebGPU } from '../../compute/webgpu.js';

export type SimilarityMode = 'knn' | 'centroid';

/** L2-normalized rows (zero rows stay zero). */
export function normalizeRows(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] * inv;
  }
  return out;
}

/** Rows minus a center vector (the population mean): cosine then measures direction from the center. */
export function centerRows(x: Float32Array, d: number, center: Float32Array | undefined): Float32Array {
  if (!center) return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - center[i % d];
  return out;
}

/**
 * Cosine similarity of visitors to a seed audience in an embedding: the mean of the k most
 * similar seeds, or the similarity to the seeds' centroid; batched matMuls.
 */
export class SeedIndex {
  /** d x S (normalized seeds, transposed once: the matMul then needs no transposed operand). */
  private readonly seedsT: tf.Tensor2D;
  /** d x 1 normalized centroid of the normalized seeds. */
  private readonly centroid: tf.Tensor2D;
  readonly size: number;

  /**
   * `center`, when given, is subtracted from seeds and visitors before the cosine: ReLU
   * embeddings are all non-negative, and without centering every pair looks alike.
   */
  constructor(
    seeds: Float32Array,
    readonly d: number,
    readonly k: number,
    private readonly center?: Float32Array,
  ) {
    this.size = seeds.length / d;
    const norm = normalizeRows(centerRows(seeds, d, center), d);
    const c = new Float32Array(d);
    for (let i = 0; i < this.size; i++) for (let j = 0; j < d; j++) c[j] += norm[i * d + j] / this.size;
    const cn = normalizeRows(c, d);
    this.seedsT = tf.tidy(() => tf.transpose(tf.tensor2d(norm, [this.size, d])));
    this.centroid = tf.tensor2d(cn, [d, 1]);
  }

  /**
   * Rows per batch so that rows x seeds stays within the device's element budget. On webgpu
   * tfjs's topk sorts rows padded to the next power of two: the padded width is what counts.
   */
  batchRows(): number {
    const width = onWebGPU() ? 2 ** Math.ceil(Math.log2(Math.max(1, this.size))) : Math.max(1, this.size);
    return Math.max(256, Math.min(65_536, Math.floor(elementBudget() / width)));
  }

  /** Similarity of each row of x (rows x d, not necessarily normalized) to the seeds. */
  async similarity(x: Float32Array, mode: SimilarityMode): Promise<Float32Array> {
    const rows = x.length / this.d;
    const out = new Float32Array(rows);
    const step = mode === 'centroid' ? 1 << 20 : this.batchRows();
    const k = Math.min(this.k, this.size);
    for (let s = 0; s < rows; s += step) {
      const n = Math.min(step, rows - s);
      const batch = normalizeRows(centerRows(x.subarray(s * this.d, (s + n) * this.d), this.d, this.center), this.d);
      const sim = tf.tidy(() => {
        const b = tf.tensor2d(batch, [n, this.d]);
        if (mode === 'centroid') return tf.reshape(tf.matMul(b, this.centroid), [n]);
        const all = tf.matMul(b, this.seedsT); // n x S, one batch at a time
        return tf.mean(tf.topk(all, k).values, 1);
      });
      out.set(await readData(sim), s);
      sim.dispose();
    }
    return out;
  }

  dispose(): void {
    this.seedsT.dispose();
    this.centroid.dispose();
  }
}

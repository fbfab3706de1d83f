/**
 * The K-Means tensor kernels. Distances use ||x||^2 - 2 x.c + ||c||^2 as one plain matMul
 * of Xa = [X | 1] by [-2 C^T ; ||c||^2] (no transposed operand: wasm runs those ~10x slower).
 * Cluster sums and counts come from one scatterND of Xa by the assignments: O(N*D), where
 * a one-hot matMul would cost O(N*D*K). On webgpu, fused WGSL kernels do the step (webgpu.ts).
 */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import type { KMeansData } from './data.js';
import { assignLabels, clusterSums, fusedStepAvailable } from './webgpu.js';

/** The (D+1) x K right operand [-2 C^T ; ||c||^2] for centroids C (K x D, row-major). */
export function centroidOperand(centroids: Float32Array, k: number, d: number): tf.Tensor2D {
  return tf.tensor2d(centroidOperandValues(centroids, k, d), [d + 1, k]);
}

/** The values of centroidOperand, row-major: D rows of -2 C^T, then the K squared norms (float32). */
export function centroidOperandValues(centroids: Float32Array, k: number, d: number): Float32Array {
  const op = new Float32Array((d + 1) * k);
  for (let c = 0; c < k; c++) {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = centroids[c * d + j];
      op[j * k + c] = -2 * v;
      sq += v * v;
    }
    op[d * k + c] = sq;
  }
  return op;
}

export interface StepResult {
  /** Per-cluster sums of the rows assigned to it (K x D, row-major). */
  sums: Float64Array;
  counts: Float64Array;
  /** Sum of squared distances to the assigned centroid (the E-step's inertia). */
  inertia: number;
}

/** One pass: assign every row to its nearest centroid, accumulate sums and counts on the backend. */
export async function assignAndSum(data: KMeansData, centroids: Float32Array, k: number): Promise<StepResult> {
  const d = data.cols;
  if (data.sumsOf) {
    // Rows held by workers: each sums its own on its own backend; the totals are added there.
    const { sums, counts } = await data.sumsOf(centroids, k);
    return { sums, counts, inertia: inertiaFromSums(data.sqNormSum, centroids, sums, counts, d) };
  }
  const op = centroidOperand(centroids, k, d);
  const fused = fusedStepAvailable(d, k);
  let acc: tf.Tensor2D | null = null;
  try {
    await data.forEachBatch((xa, rows) => {
      const next = tf.tidy(() => {
        let s: tf.Tensor2D;
        if (fused) s = clusterSums(xa, assignLabels(xa, op), k);
        else s = tf.scatterND(tf.argMin(tf.matMul(xa, op), 1).reshape([rows, 1]), xa, [k, d + 1]) as tf.Tensor2D;
        return acc ? (tf.add(acc, s) as tf.Tensor2D) : s;
      });
      acc?.dispose();
      acc = next;
    });
  } finally {
    op.dispose();
  }
  const result = acc as tf.Tensor2D | null;
  const raw = result ? await readData(result) : new Float32Array(k * (d + 1));
  result?.dispose();
  const { sums, counts } = splitSums(raw, k, d);
  return { sums, counts, inertia: inertiaFromSums(data.sqNormSum, centroids, sums, counts, d) };
}

/** Per-cluster sums of [x | 1] rows (K x (D + 1), row-major) as the sums of x (K x D) and the counts (K). */
export function splitSums(raw: ArrayLike<number>, k: number, d: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) sums[c * d + j] = raw[c * (d + 1) + j];
    counts[c] = raw[c * (d + 1) + d];
  }
  return { sums, counts };
}

/** sum_i ||x_i - c_a(i)||^2 = sum ||x||^2 + sum_k (n_k ||c_k||^2 - 2 c_k . S_k). */
export function inertiaFromSums(sqNormSum: number, centroids: Float32Array, sums: Float64Array, counts: Float64Array, d: number): number {
  let total = sqNormSum;
  for (let c = 0; c < counts.length; c++) {
    let dot = 0;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = centroids[c * d + j];
      dot += v * sums[c * d + j];
      sq += v * v;
    }
    total += counts[c] * sq - 2 * dot;
  }
  return Math.max(0, total);
}

/** Nearest centroid and the Euclidean distance to it, for each row of a batch. */
export function nearestCentroid(xa: tf.Tensor2D, op: tf.Tensor2D): { segment: tf.Tensor1D; distance: tf.Tensor1D } {
  return tf.tidy(() => {
    const partial = tf.matMul(xa, op); // ||c||^2 - 2 x.c
    const segment = tf.argMin(partial, 1) as tf.Tensor1D;
    const sqNorm = tf.sub(tf.sum(tf.square(xa), 1), 1); // the ones column adds 1
    const distance = tf.sqrt(tf.relu(tf.add(tf.min(partial, 1), sqNorm))) as tf.Tensor1D;
    return { segment, distance };
  });
}

/**
 * K-Means training data on the backend. Each batch is held as Xa = [X | 1] (rows x (D+1)):
 * the ones column lets one matMul add ||c||^2 to the distances, and lets one scatterND
 * produce per-cluster sums and counts together.
 *
 * Resident when it fits the memory budget (uploaded once, reused by every iteration);
 * otherwise streamed from the source on each pass, so N is bounded by disk, not memory.
 */
import { tf } from '../../compute/backend.js';
import { disposeAll, elementBudget, maxTensorBytes, residentBudgetBytes } from '../../compute/memory.js';
import { prefetch } from '../../util/prefetch.js';
import { computeWorkers, startWorker, type WorkerHandle } from '../../compute/workers.js';
import type { BlockSource } from '../../features/blocks.js';
import type { FeatureBlock } from '../../features/transform.js';
import { Rng } from '../../util/rng.js';
import { NATIVE_CHUNK_ROWS, NativeLloyd } from './native.js';
import { silentProgress, type Progress } from '../../util/progress.js';

export interface KMeansData {
  rows: number;
  cols: number;
  resident: boolean;
  /** Sum over rows of ||x||^2, for inertia from cluster sums. */
  sqNormSum: number;
  /** Mean per-feature variance (scales the convergence tolerance, as scikit-learn does). */
  meanVariance: number;
  /** Uniform random sample of rows in random order (row-major), for seeding, repair and silhouette. */
  sample: Float32Array;
  sampleRows: number;
  /**
   * Per-cluster sums and counts (K x D and K) under `centroids`, when the rows are held
   * elsewhere: worker threads here (each its own backend) or worker hosts (execution/kmeans-queue.ts).
   */
  sumsOf?(centroids: Float32Array, k: number): Promise<{ sums: Float64Array; counts: Float64Array }>;
  /** Where the rows are held, for the log: 'backend', 'N threads', 'N shards on the workers'. */
  where?: string;
  /** Calls fn for each batch of Xa; tensors are owned by the data (do not dispose them). */
  forEachBatch(fn: (xa: tf.Tensor2D, rows: number) => Promise<void> | void): Promise<void>;
  dispose(): void;
}

/** Rows per tensor batch, for the device: the rows x K distances within the element budget, [X | 1] within one buffer. */
export function batchRowsFor(k: number, d = 32): number {
  const byDistances = Math.floor(elementBudget() / Math.max(1, k));
  const byBuffer = Math.floor(maxTensorBytes() / ((d + 1) * 4));
  return Math.max(4096, Math.min(1 << 22, byDistances, byBuffer));
}

/** Rows [start, start + rows) of a block as [x | 1] (rows x (d + 1)), the operand of the one-matMul distance step. */
export function augment(block: FeatureBlock, start = 0, rows = block.rows): tf.Tensor2D {
  return tf.tensor2d(augmentValues(block, start, rows), [rows, block.cols + 1]);
}

/** The values of augment(): rows x (d + 1), row-major. */
export function augmentValues(block: FeatureBlock, start: number, rows: number): Float32Array {
  const d = block.cols;
  const out = new Float32Array(rows * (d + 1));
  for (let i = 0; i < rows; i++) {
    out.set(block.data.subarray((start + i) * d, (start + i + 1) * d), i * (d + 1));
    out[i * (d + 1) + d] = 1;
  }
  return out;
}

/**
 * Where resident rows' Lloyd steps run: 'onnx', host memory and onnxruntime's native kernels
 * on every core (native.ts); 'tfjs', the backend (webgpu's fused kernels, or wasm threads each
 * holding a partition). Default: onnx on the CPU backends (wasm, cpu), else tfjs.
 */
export type LloydEngine = 'onnx' | 'tfjs';

function defaultEngine(): LloydEngine {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu' ? 'onnx' : 'tfjs';
}

export interface LoadOptions {
  k: number;
  sampleSize: number;
  seed: number;
  /** Rows per tensor batch (default from k: see batchRowsFor). */
  batchRows?: number;
  /** Bytes of Xa allowed on the backend; beyond, stream. */
  budgetBytes?: number;
  /** Compute workers holding partitions of resident rows with the tfjs engine (default: computeWorkers(rows)). */
  workers?: number;
  /** See LloydEngine (default: onnx on the CPU backends). */
  engine?: LloydEngine;
  progress?: Progress;
}

/** One pass over the source: statistics, a reservoir sample, and resident batches if they fit. */
export async function loadKMeansData(source: BlockSource, opts: LoadOptions): Promise<KMeansData> {
  const budget = opts.budgetBytes ?? residentBudgetBytes();
  const batchRows = opts.batchRows ?? batchRowsFor(opts.k, source.cols);
  const progress = opts.progress ?? silentProgress;
  const d = source.cols;
  const rng = sampleRng(opts.seed);
  const sample = new Float32Array(opts.sampleSize * d);
  let resident: tf.Tensor2D[] | null = source.rows !== undefined && source.rows * (d + 1) * 4 > budget ? null : [];
  const residentRows: number[] = [];
  // Native: resident rows held on the host in chunks, the steps run by onnxruntime.
  let host: Float32Array[] | null = resident && (opts.engine ?? defaultEngine()) === 'onnx' ? [] : null;
  // Partitioned: resident rows live in worker threads, batches dealt round-robin.
  const nWorkers = resident && !host ? (opts.workers ?? computeWorkers(source.rows)) : 0;
  let partitions: WorkerHandle[] | undefined =
    nWorkers > 1 ? Array.from({ length: nWorkers }, () => startWorker(new URL('./partition-worker.ts', import.meta.url), tf.getBackend())) : undefined;
  const loads: Array<Promise<unknown>> = [];
  let dealt = 0;
  let rows = 0;
  let sqNormSum = 0;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);

  for await (const block of source.blocks()) {
    for (let i = 0; i < block.rows; i++) {
      const row = block.data.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < d; j++) {
        const v = row[j];
        sum[j] += v;
        sumSq[j] += v * v;
        sqNormSum += v * v;
      }
      // Reservoir sampling (algorithm R): every row equally likely to be kept.
      const seen = rows + i;
      const slot = seen < opts.sampleSize ? seen : rng.int(seen + 1);
      if (slot < opts.sampleSize) sample.set(row, slot * d);
    }
    if (host) {
      for (let start = 0; start < block.rows; start += NATIVE_CHUNK_ROWS) host.push(augmentValues(block, start, Math.min(NATIVE_CHUNK_ROWS, block.rows - start)));
    } else if (resident) {
      for (let start = 0; start < block.rows; start += batchRows) {
        const n = Math.min(batchRows, block.rows - start);
        if (partitions) {
          const data = block.data.slice(start * d, (start + n) * d);
          loads.push(partitions[dealt++ % partitions.length].call('load', { data, rows: n, cols: d }, [data.buffer]));
        } else {
          resident.push(augment(block, start, n));
          residentRows.push(n);
        }
      }
      if ((rows + block.rows) * (d + 1) * 4 > budget) {
        disposeAll(resident);
        resident = null;
        host = null;
        if (partitions) await Promise.all(partitions.map((p) => p.terminate()));
        partitions = undefined;
      }
    }
    rows += block.rows;
    progress.update(rows, source.rows);
  }
  await Promise.all(loads);
  const sampleRows = Math.min(rows, opts.sampleSize);
  shuffleRows(sample, sampleRows, d, rng);
  const meanVariance = meanVarianceOf(sum, sumSq, rows);

  const batches = partitions || host ? null : resident;
  const parts = partitions;
  const chunks = host;
  const native = chunks ? new NativeLloyd(chunks, d) : undefined;
  return {
    rows,
    cols: d,
    resident: resident !== null,
    sumsOf: native ? (centroids, k) => native.sums(centroids, k) : parts && (async (centroids, k) => addParts(await Promise.all(parts.map((p) => p.call<SumsAndCounts>('step', { centroids, k }))), k, d)),
    where: native ? 'host (onnxruntime)' : parts ? `${parts.length} threads` : undefined,
    sqNormSum,
    meanVariance,
    sample: sample.subarray(0, sampleRows * d),
    sampleRows,
    async forEachBatch(fn) {
      if (batches) {
        for (let b = 0; b < batches.length; b++) await fn(batches[b], residentRows[b]);
        return;
      }
      for (const chunk of chunks ?? []) {
        const xa = tf.tensor2d(chunk, [chunk.length / (d + 1), d + 1]);
        try {
          await fn(xa, xa.shape[0]);
        } finally {
          xa.dispose();
        }
      }
      if (chunks) return;
      for await (const block of prefetch(source.blocks())) {
        for (let start = 0; start < block.rows; start += batchRows) {
          const n = Math.min(batchRows, block.rows - start);
          const xa = augment(block, start, n);
          try {
            await fn(xa, n);
          } finally {
            xa.dispose();
          }
        }
      }
    },
    dispose() {
      if (batches) disposeAll(batches);
      native?.dispose();
      // Terminating a worker frees its backend's memory with it.
      for (const p of parts ?? []) void p.terminate();
    },
  };
}

/** The mean per-feature variance of `rows` rows from their per-feature sums and sums of squares. */
export function meanVarianceOf(sum: Float64Array, sumSq: Float64Array, rows: number): number {
  let v = 0;
  for (let j = 0; j < sum.length; j++) v += Math.max(0, sumSq[j] / rows - (sum[j] / rows) ** 2) / sum.length;
  return v;
}

/** Per-cluster sums (K x D) and counts (K) of some of the rows. */
export interface SumsAndCounts {
  sums: ArrayLike<number>;
  counts: ArrayLike<number>;
}

/** The totals of parts' sums and counts, added in the parts' order (Float64). */
export function addParts(parts: SumsAndCounts[], k: number, d: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (const part of parts) {
    for (let i = 0; i < sums.length; i++) sums[i] += part.sums[i];
    for (let c = 0; c < k; c++) counts[c] += part.counts[c];
  }
  return { sums, counts };
}

/** The generator loadKMeansData samples with, for `seed`: the same draws wherever they are replayed. */
export function sampleRng(seed: number): Rng {
  return new Rng(seed ^ 0x5eed);
}

/**
 * Algorithm R (Vitter 1985) replayed without the data: the row index each sample slot holds
 * after `rows` rows, drawing from `rng` exactly as loadKMeansData does row by row (so a
 * loader that sees its rows elsewhere, e.g. in shards on other hosts, keeps the same sample).
 * @returns the row of each slot (min(rows, size) slots); `rng` is left where the loader's is.
 */
export function reservoirRows(rows: number, size: number, rng: Rng): Float64Array {
  const owner = new Float64Array(Math.min(rows, size));
  for (let seen = 0; seen < rows; seen++) {
    const slot = seen < size ? seen : rng.int(seen + 1);
    if (slot < size) owner[slot] = seen;
  }
  return owner;
}

/** In-place Fisher-Yates shuffle of the first n rows of x (n x d, row-major). */
export function shuffleRows(x: Float32Array, n: number, d: number, rng: Rng): void {
  const tmp = new Float32Array(d);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    tmp.set(x.subarray(i * d, (i + 1) * d));
    x.copyWithin(i * d, j * d, (j + 1) * d);
    x.set(tmp, j * d);
  }
}

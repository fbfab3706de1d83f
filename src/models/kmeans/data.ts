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

/** Per-feature sums and sums of squares (D each) and the sum of squared row norms, added a row at a time. */
export class RowStats {
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  sqNormSum = 0;

  constructor(d: number) {
    this.sum = new Float64Array(d);
    this.sumSq = new Float64Array(d);
  }

  /** Adds one row (D values). */
  add(row: Float32Array): void {
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      this.sum[j] += v;
      this.sumSq[j] += v * v;
      this.sqNormSum += v * v;
    }
  }
}

/** A reservoir sample of `size` rows (algorithm R: every row equally likely to be kept), drawn by `rng`. */
class Reservoir {
  readonly rows: Float32Array;
  seen = 0;

  constructor(
    private readonly size: number,
    private readonly d: number,
    private readonly rng: Rng,
  ) {
    this.rows = new Float32Array(size * d);
  }

  offer(row: Float32Array): void {
    const slot = this.seen < this.size ? this.seen : this.rng.int(this.seen + 1);
    if (slot < this.size) this.rows.set(row, slot * this.d);
    this.seen++;
  }
}

/**
 * Where the rows are held while they fit the budget: on the host in chunks for the native
 * Lloyd step (onnxruntime), as [X | 1] tensors on this backend, or dealt round-robin to
 * partition workers (each its own backend). `add` drops them all once the rows pass the
 * budget: the data then streams from the source on each pass.
 */
class HeldRows {
  batches: tf.Tensor2D[] | null = [];
  readonly batchRowCounts: number[] = [];
  chunks: Float32Array[] | null = null;
  partitions: WorkerHandle[] | undefined;
  private readonly loads: Array<Promise<unknown>> = [];
  private dealt = 0;

  constructor(
    private readonly d: number,
    private readonly batchRows: number,
    private readonly budget: number,
    engine: LloydEngine,
    workers: number | undefined,
    rows: number | undefined,
  ) {
    if (rows !== undefined && rows * (d + 1) * 4 > budget) this.batches = null;
    else if (engine === 'onnx') this.chunks = [];
    else {
      const n = workers ?? computeWorkers(rows);
      if (n > 1) this.partitions = Array.from({ length: n }, () => startWorker(new URL('./partition-worker.ts', import.meta.url), tf.getBackend()));
    }
  }

  /** Holds a block's rows; `rowsSoFar` counts the rows before it. */
  async add(block: FeatureBlock, rowsSoFar: number): Promise<void> {
    if (this.chunks) {
      // Host chunks are not on the backend: the budget was checked against the rows before the pass.
      for (let start = 0; start < block.rows; start += NATIVE_CHUNK_ROWS) this.chunks.push(augmentValues(block, start, Math.min(NATIVE_CHUNK_ROWS, block.rows - start)));
    } else if (this.batches) {
      for (let start = 0; start < block.rows; start += this.batchRows) this.hold(block, start, Math.min(this.batchRows, block.rows - start));
      if ((rowsSoFar + block.rows) * (this.d + 1) * 4 > this.budget) await this.drop();
    }
  }

  private hold(block: FeatureBlock, start: number, n: number): void {
    if (this.partitions) {
      const data = block.data.slice(start * this.d, (start + n) * this.d);
      this.loads.push(this.partitions[this.dealt++ % this.partitions.length].call('load', { data, rows: n, cols: this.d }, [data.buffer]));
    } else {
      this.batches!.push(augment(block, start, n));
      this.batchRowCounts.push(n);
    }
  }

  private async drop(): Promise<void> {
    disposeAll(this.batches ?? []);
    this.batches = null;
    this.chunks = null;
    if (this.partitions) await Promise.all(this.partitions.map((p) => p.terminate()));
    this.partitions = undefined;
  }

  /** Waits for the partitions' loads. */
  async loaded(): Promise<void> {
    await Promise.all(this.loads);
  }
}

/** One pass over the source: statistics, a reservoir sample, and resident batches if they fit. */
export async function loadKMeansData(source: BlockSource, opts: LoadOptions): Promise<KMeansData> {
  const batchRows = opts.batchRows ?? batchRowsFor(opts.k, source.cols);
  const progress = opts.progress ?? silentProgress;
  const d = source.cols;
  const rng = sampleRng(opts.seed);
  const stats = new RowStats(d);
  const reservoir = new Reservoir(opts.sampleSize, d, rng);
  const held = new HeldRows(d, batchRows, opts.budgetBytes ?? residentBudgetBytes(), opts.engine ?? defaultEngine(), opts.workers, source.rows);
  let rows = 0;
  for await (const block of source.blocks()) {
    for (let i = 0; i < block.rows; i++) {
      const row = block.data.subarray(i * d, (i + 1) * d);
      stats.add(row);
      reservoir.offer(row);
    }
    await held.add(block, rows);
    rows += block.rows;
    progress.update(rows, source.rows);
  }
  await held.loaded();
  const sampleRows = Math.min(rows, opts.sampleSize);
  shuffleRows(reservoir.rows, sampleRows, d, rng);
  const base = { rows, cols: d, sqNormSum: stats.sqNormSum, meanVariance: meanVarianceOf(stats.sum, stats.sumSq, rows), sample: reservoir.rows.subarray(0, sampleRows * d), sampleRows };
  return heldData(base, held, source, batchRows);
}

/** The data of a pass (its statistics and sample in `base`) over rows held as `held` holds them, or streamed from `source`. */
function heldData(base: Omit<KMeansData, 'resident' | 'forEachBatch' | 'dispose'>, held: HeldRows, source: BlockSource, batchRows: number): KMeansData {
  const d = base.cols;
  const parts = held.partitions;
  const chunks = held.chunks;
  const batches = parts || chunks ? null : held.batches;
  const native = chunks ? new NativeLloyd(chunks, d) : undefined;
  return {
    ...base,
    resident: held.batches !== null,
    sumsOf: native ? (centroids, k) => native.sums(centroids, k) : parts && (async (centroids, k) => addParts(await Promise.all(parts.map((p) => p.call<SumsAndCounts>('step', { centroids, k }))), k, d)),
    where: native ? 'host (onnxruntime)' : parts ? `${parts.length} threads` : undefined,
    async forEachBatch(fn) {
      if (batches) for (let b = 0; b < batches.length; b++) await fn(batches[b], held.batchRowCounts[b]);
      else if (chunks) for (const chunk of chunks) await withTensor(tf.tensor2d(chunk, [chunk.length / (d + 1), d + 1]), fn);
      else for await (const block of prefetch(source.blocks())) for (let start = 0; start < block.rows; start += batchRows) await withTensor(augment(block, start, Math.min(batchRows, block.rows - start)), fn);
    },
    dispose() {
      if (batches) disposeAll(batches);
      native?.dispose();
      // Terminating a worker frees its backend's memory with it.
      for (const p of parts ?? []) void p.terminate();
    },
  };
}

/** Calls fn with a batch made for it, then disposes the batch. */
async function withTensor(xa: tf.Tensor2D, fn: (xa: tf.Tensor2D, rows: number) => Promise<void> | void): Promise<void> {
  try {
    await fn(xa, xa.shape[0]);
  } finally {
    xa.dispose();
  }
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

/**
 * K-Means over rows held in shards elsewhere (the `audience worker` hosts): the algorithm's
 * part of execution/kmeans-queue.ts, which moves the jobs and files. The coordinator replays
 * the single-host reservoir draws (data.ts reservoirRows) to know which rows of which shard
 * the sample keeps (pickSample), adds the shards' statistics in shard order (addShardStats)
 * and places the kept rows at their slots before the single-host shuffle (placeSample); a
 * host sums its shard's rows as it reads them (addRows) and runs each Lloyd step on them,
 * kept resident on its backend (shardBatches, stepSums). The sample is then the one
 * loadKMeansData draws on one host from the same seed, and the sums differ from one host's
 * only in float32 summation order.
 */
import type { tf } from '../../compute/backend.js';
import type { FeatureBlock } from '../../features/transform.js';
import { augment, batchRowsFor, RowStats, shuffleRows, type KMeansData, type SumsAndCounts } from './data.js';
import { assignAndSum } from './kernels.js';
import type { Rng } from '../../util/rng.js';

/** A shard's place in the whole data: its first row's index over all rows, and its rows [start, end) in its table. */
export interface ShardSpan {
  first: number;
  start: number;
  end: number;
}

/** The rows of one shard the sample keeps: offsets from its first row (ascending) and the sample slot of each. */
export interface SamplePick {
  rows: number[];
  slots: number[];
}

/** A shard's statistics: rows read, per-column sums and sums of squares (D each), the sum of squared row norms. */
export interface ShardStats {
  rows: number;
  sum: number[];
  sumSq: number[];
  sqNormSum: number;
}

/** The sample rows of each shard and their slots, from the reservoir's `owner` (the row index each slot holds). */
export function pickSample(shards: ShardSpan[], owner: Float64Array): SamplePick[] {
  const picks = shards.map(() => ({ rows: [] as number[], slots: [] as number[] }));
  const bySlot = Array.from(owner.keys()).sort((a, b) => owner[a] - owner[b]);
  let s = 0;
  for (const slot of bySlot) {
    while (owner[slot] >= shards[s].first + shards[s].end - shards[s].start) s++;
    picks[s].rows.push(owner[slot] - shards[s].first);
    picks[s].slots.push(slot);
  }
  return picks;
}

/**
 * The shards' statistics added in shard order.
 * @throws Error naming the shard when one read other than its planned rows.
 */
export function addShardStats(stats: ShardStats[], shards: ShardSpan[], d: number): { sum: Float64Array; sumSq: Float64Array; sqNormSum: number } {
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  let sqNormSum = 0;
  for (const [i, s] of stats.entries()) {
    if (s.rows !== shards[i].end - shards[i].start) throw new Error(`K-Means shard ${i} read ${s.rows} rows; the plan has ${shards[i].end - shards[i].start}`);
    for (let j = 0; j < d; j++) {
      sum[j] += s.sum[j];
      sumSq[j] += s.sumSq[j];
    }
    sqNormSum += s.sqNormSum;
  }
  return { sum, sumSq, sqNormSum };
}

/** The sample (sampleRows x D float32): each shard's kept rows (`kept[i]`, in pick order) at their slots, shuffled by `rng` as loadKMeansData shuffles it. */
export function placeSample(kept: Float32Array[], picks: SamplePick[], sampleRows: number, d: number, rng: Rng): Float32Array {
  const sample = new Float32Array(sampleRows * d);
  for (const [i, pick] of picks.entries()) pick.slots.forEach((slot, at) => sample.set(kept[i].subarray(at * d, (at + 1) * d), slot * d));
  shuffleRows(sample, sampleRows, d, rng);
  return sample;
}

/** A host's running sums over its shard's rows, and the rows the sample keeps (in pick order). */
export class ShardAccumulator {
  private readonly stats: RowStats;
  rows = 0;
  readonly kept: Float32Array;
  private next = 0;

  constructor(
    private readonly d: number,
    private readonly pick: number[],
  ) {
    this.stats = new RowStats(d);
    this.kept = new Float32Array(pick.length * d);
  }

  /** Adds a transformed block of the shard's next rows. */
  addRows(block: FeatureBlock): void {
    const d = this.d;
    for (let i = 0; i < block.rows; i++) {
      const row = block.data.subarray(i * d, (i + 1) * d);
      this.stats.add(row);
      if (this.pick[this.next] === this.rows + i) this.kept.set(row, this.next++ * d);
    }
    this.rows += block.rows;
  }

  /** The statistics the coordinator adds (addShardStats). */
  result(): ShardStats {
    return { rows: this.rows, sum: Array.from(this.stats.sum), sumSq: Array.from(this.stats.sumSq), sqNormSum: this.stats.sqNormSum };
  }
}

/** A shard's rows (rows x cols float32, row-major) as [X | 1] batches on the backend, sized for `k` centroids; the caller disposes them. */
export function shardBatches(x: Float32Array, rows: number, cols: number, k: number): { batches: tf.Tensor2D[]; rows: number[] } {
  const block = { ids: new BigInt64Array(0), rows, cols, data: x, names: [], imputed: 0 };
  const step = batchRowsFor(k, cols);
  const out = { batches: [] as tf.Tensor2D[], rows: [] as number[] };
  for (let start = 0; start < rows; start += step) {
    const n = Math.min(step, rows - start);
    out.batches.push(augment(block, start, n));
    out.rows.push(n);
  }
  return out;
}

/** One Lloyd step on a shard's resident batches: per-cluster sums (K x D) and counts. */
export async function stepSums(shard: { batches: tf.Tensor2D[]; rows: number[] }, rows: number, cols: number, centroids: Float32Array, k: number): Promise<SumsAndCounts> {
  const local: KMeansData = {
    rows,
    cols,
    resident: true,
    sqNormSum: 0,
    meanVariance: 0,
    sample: new Float32Array(0),
    sampleRows: 0,
    async forEachBatch(fn) {
      for (let b = 0; b < shard.batches.length; b++) await fn(shard.batches[b], shard.rows[b]);
    },
    dispose() {},
  };
  const { sums, counts } = await assignAndSum(local, centroids, k);
  return { sums: Array.from(sums), counts: Array.from(counts) };
}

/**
 * Percentiles within the scored population: the scored values (4 bytes a row) are sorted
 * once, and each written part is rewritten with the percentile and bucket columns added,
 * under a temporary name renamed over the original.
 */
import { addColumns } from '../io/rewrite.js';
import type { OutputColumn, OutputData, WrittenFile } from '../io/writer.js';
import type { RankedOutput } from '../models/model.js';

/** What the post-pass needs per ranked output: sorted eligible values, and ranks by row. */
export interface Ranking {
  sorted: Float32Array;
  /** 1 = highest value, ties broken by row order; 0 = excluded. Only when a rank column is asked for. */
  rankOf?: Int32Array;
  excluded?: Uint8Array;
}

/**
 * The sorted eligible values (float32) of one ranked output and, with `withRank`, each row's
 * rank: 1 for the highest value, ties broken by row order, 0 for excluded rows.
 */
export function buildRanking(values: Float32Array, excluded: Uint8Array | undefined, withRank: boolean): Ranking {
  const eligible: number[] = [];
  for (let i = 0; i < values.length; i++) if (!excluded?.[i]) eligible.push(i);
  const sorted = Float32Array.from(eligible, (i) => values[i]).sort();
  if (!withRank) return { sorted, excluded };
  const order = Int32Array.from(eligible).sort((a, b) => values[b] - values[a] || a - b);
  const rankOf = new Int32Array(values.length);
  order.forEach((row, i) => (rankOf[row] = i + 1));
  return { sorted, rankOf, excluded };
}

function lowerBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mid-rank percentile (0-100) of v among the sorted values: ties share one percentile. */
export function percentileOf(sorted: Float32Array, value: number): number {
  const v = Math.fround(value); // compare at the stored (float32) precision
  const below = lowerBound(sorted, v);
  const equal = upperBound(sorted, v) - below;
  return (100 * (below + equal / 2)) / sorted.length;
}

/** The bucket of a percentile: high from 80, medium from 50, else low. */
export function bucketOf(percentile: number): string {
  return percentile >= 80 ? 'high' : percentile >= 50 ? 'medium' : 'low';
}

/** The columns the finalize adds for ranked outputs: percentile (FLOAT), bucket (VARCHAR) and rank (INTEGER) where asked for. */
export function rankedColumns(ranked: RankedOutput[]): OutputColumn[] {
  return ranked.flatMap((r) => [
    { name: r.percentile, type: 'FLOAT' as const },
    ...(r.bucket ? [{ name: r.bucket, type: 'VARCHAR' as const }] : []),
    ...(r.rank ? [{ name: r.rank, type: 'INTEGER' as const }] : []),
  ]);
}

/** Rewrites each part with the percentile (and bucket, rank) columns appended. */
export async function addPercentiles(
  dir: string,
  files: WrittenFile[],
  columns: OutputColumn[],
  ranked: RankedOutput[],
  rankings: Map<string, Ranking>,
): Promise<OutputColumn[]> {
  return addColumns(dir, files, columns, rankedColumns(ranked), (batch, row) => {
    const out: Record<string, OutputData> = {};
    for (const r of ranked) {
      const values = batch.columns.get(r.source) as Float64Array;
      const { sorted, rankOf, excluded } = rankings.get(r.source)!;
      const pct = Float32Array.from(values, (v, i) => (excluded?.[row + i] ? NaN : percentileOf(sorted, v)));
      out[r.percentile] = pct;
      if (r.bucket) out[r.bucket] = Array.from(pct, (p) => (Number.isNaN(p) ? null : bucketOf(p)));
      if (r.rank) out[r.rank] = Float64Array.from({ length: batch.rows }, (_, i) => rankOf![row + i] || NaN);
    }
    return out;
  }, columns.filter((c) => ranked.some((r) => r.source === c.name)));
}

/**
 * Training a segmentation end to end: load the data once, fit one k or sweep a range
 * (choosing by silhouette), profile the segments on a final pass, save the version.
 */
import { initBackend } from '../../compute/backend.js';
import { blockSource, transformedBatches } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type StageProgress } from '../../util/progress.js';
import { GroupProfiler, type GroupProfile } from '../profile.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { loadKMeansData, type KMeansData, type LoadOptions } from './data.js';
import { fitKMeans, type KMeansFit, type KMeansOptions } from './fit.js';
import { KMeansModel, Segmenter } from './model.js';
import { segmentMap, type SegmentMap } from './map.js';

export interface SweepRow {
  k: number;
  inertia: number;
  silhouette: number;
}

export interface TrainKMeansOptions extends Omit<KMeansOptions, 'k' | 'progress'> {
  /** One k, or candidates to sweep. */
  k: number | number[];
  name: string;
  sampleSize?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
  /**
   * Where the rows are held for the iterations: by default resident on this host's backend
   * or threads, or streamed (loadKMeansData); the CLI passes the workers' loader with REDIS_URL.
   */
  loadData?: (o: Pick<LoadOptions, 'k' | 'sampleSize' | 'seed' | 'progress'>) => Promise<KMeansData>;
  /** Rows per shard when loadData spreads them over workers. */
  shardRows?: number;
}

export interface TrainKMeansResult {
  model: KMeansModel;
  fit: KMeansFit;
  sweep: SweepRow[] | undefined;
  profiles: GroupProfile[];
}

/** Visitors on the report's 2-D map. */
const MAP_POINTS = 1000;

/** The sweep's rule: highest sampled silhouette; ties go to the smaller k. */
export const K_RULE = 'highest sampled silhouette (ties: smaller k)';

/** `--k 8` or a sweep `--k 4..12` (at most 50 values). @throws UserError for anything else. */
export function parseK(text: string): number | number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo < 2 || hi < lo || hi - lo > 50) throw new UserError(`--k ${text}: a range must be lo..hi with 2 <= lo <= hi and at most 50 values`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  const k = Number(text);
  if (!Number.isInteger(k) || k < 2 || k > 10_000) throw new UserError(`--k ${text}: expected an integer from 2 to 10000 or a range such as 4..12`);
  return k;
}

/**
 * Trains and saves K-Means segments: one k, or a sweep where the chosen k follows K_RULE;
 * profiles each segment against the population in the data's own units.
 */
export async function trainKMeans(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainKMeansOptions): Promise<TrainKMeansResult> {
  const backend = await initBackend();
  const progress = opts.progress ?? (() => silentProgress);
  const ks = Array.isArray(opts.k) ? opts.k : [opts.k];
  const source = blockSource(data, transform);
  const loading = progress('load');
  const load = { k: Math.max(...ks), sampleSize: opts.sampleSize ?? 100_000, seed: opts.seed ?? 0, progress: loading };
  const kd = opts.loadData ? await opts.loadData(load) : await loadKMeansData(source, load);
  loading.done(kd.where ?? (kd.resident ? 'resident on the backend' : 'streaming from disk each pass'));
  let fit: KMeansFit | undefined;
  let sweep: SweepRow[] | undefined;
  let map: SegmentMap | undefined;
  try {
    for (const k of ks) {
      // Lloyd counts iterations (at most max-iter: it stops when converged); mini-batch counts passes.
      const p = progress(`k=${k}`, opts.mode === 'minibatch' || (opts.mode !== 'lloyd' && !kd.resident) ? 'epochs' : 'iterations');
      const f = await fitKMeans(kd, { ...opts, k, progress: p });
      p.done(`inertia ${f.inertia.toPrecision(6)}, silhouette ${f.silhouette.toFixed(3)}`);
      if (ks.length > 1) (sweep ??= []).push({ k, inertia: f.inertia, silhouette: f.silhouette });
      if (!fit || f.silhouette > fit.silhouette + 1e-9) fit = f;
    }
    // The report's 2-D map: a uniform sample of 1,000 visitors (the sample is in random order).
    map = segmentMap(kd.sample, Math.min(MAP_POINTS, kd.sampleRows), kd.cols, fit!.centroids, fit!.k, opts.seed ?? 0);
  } finally {
    kd.dispose();
  }
  const chosen = fit!;

  // Profile on a final pass, assigning with the chosen centroids.
  const draft = new Segmenter(chosen.centroids, chosen.d);
  const profiler = new GroupProfiler(transform, chosen.k);
  const profiling = progress('profile');
  let done = 0;
  try {
    for await (const { batch, block } of transformedBatches(data, transform)) {
      const { segment } = await draft.predict(block);
      profiler.add(batch, segment);
      done += batch.rows;
      profiling.update(done, data.rowCount);
    }
  } finally {
    draft.dispose();
  }
  profiling.done();
  const profiles = profiler.result();

  const model = KMeansModel.save(
    store,
    {
      ...trainedOn('kmeans', opts.name, backend, transform, data.tables, chosen.rows),
      params: {
        k: chosen.k,
        kCandidates: ks,
        kRule: ks.length > 1 ? K_RULE : undefined,
        nInit: opts.nInit ?? 3,
        maxIter: opts.maxIter ?? 100,
        tol: opts.tol ?? 1e-4,
        mode: chosen.mode,
        seed: opts.seed ?? 0,
      },
      metrics: {
        inertia: chosen.inertia,
        silhouette: chosen.silhouette,
        sizes: chosen.sizes,
        iterations: chosen.iterations,
        converged: chosen.converged,
        inits: chosen.inits,
        sweep,
        profiles: profiles.map((p) => ({ ...p, entries: p.entries.slice(0, 12) })),
        map,
      },
    },
    chosen.centroids,
  );
  return { model, fit: chosen, sweep, profiles };
}

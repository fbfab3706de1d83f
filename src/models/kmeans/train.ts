/**
 * Training a segmentation end to end: load the data once, fit one k or sweep a range
 * (choosing by silhouette), profile the segments on a final pass, save the version.
 */
import { initBackend } from '../../compute/backend.js';
import { blockSource, transformedBatches } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { silentProgress, type StageProgress } from '../../util/progress.js';
import { GroupProfiler, type GroupProfile } from '../profile.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { loadKMeansData, type KMeansData, type LoadOptions } from './data.js';
import { fitKMeans, type KMeansFit } from './fit.js';
import { withDefaults, type KindOptions } from '../params.js';
import { K_RULE, KMEANS_PARAMS } from './params.js';
import { KMeansModel, Segmenter } from './model.js';
import { segmentMap, type SegmentMap } from './map.js';
import { train, type Estimator } from '../estimator.js';

export interface SweepRow {
  k: number;
  inertia: number;
  silhouette: number;
}

/**
 * The K-Means trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: `k` one k or candidates to sweep, `nInit`, `maxIter`, `tol`, `mode`, ...;
 * defaults from the schemas), the version's name, and how the rows are held.
 */
export type TrainKMeansOptions = KindOptions<typeof KMEANS_PARAMS> & {
  name: string;
  /** Rows sampled for k-means++ seeding and the silhouette (default 100,000). */
  sampleSize?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
  /**
   * Where the rows are held for the iterations: by default resident on this host's backend
   * or threads, or streamed (loadKMeansData); the CLI passes the workers' loader with REDIS_URL.
   */
  loadData?: RowsLoader;
};

/** Where the rows of a fit are held when not on this host: `audience worker` hosts (execution/kmeans-queue.ts). */
export type RowsLoader = (data: Dataset, transform: FittedTransform, o: Pick<LoadOptions, 'k' | 'sampleSize' | 'seed' | 'progress'>) => Promise<KMeansData>;

/** The options with every default in place. */
const resolve = (opts: TrainKMeansOptions) => withDefaults(KMEANS_PARAMS, opts);

/** Visitors on the report's 2-D map. */
const MAP_POINTS = 1000;


/** The K-Means steps need no rows read up front: the fit loads them (resident, streamed or on the workers). */
export interface PreparedKMeans {
  data: Dataset;
  transform: FittedTransform;
  /** The k, or the candidates of a sweep. */
  ks: number[];
}

/** The chosen fit (its centroids are the model), the sweep's rows when several k were tried, and the report's 2-D map. */
export interface FittedKMeans {
  fit: KMeansFit;
  sweep: SweepRow[] | undefined;
  map: SegmentMap;
  dispose(): void;
}

/** The chosen fit and sweep, and each segment profiled against the population in the data's units. */
export interface KMeansReport {
  fit: KMeansFit;
  sweep: SweepRow[] | undefined;
  profiles: GroupProfile[];
}

async function prepareKMeans(data: Dataset, transform: FittedTransform, opts: TrainKMeansOptions): Promise<PreparedKMeans> {
  const { k } = resolve(opts);
  return { data, transform, ks: Array.isArray(k) ? k : [k] };
}

/**
 * Loads the rows once (opts.loadData, else loadKMeansData), fits each k (fitKMeans:
 * k-means++ seeding, Lloyd or mini-batch) and keeps the one K_RULE chooses; the rows are
 * released before returning.
 */
async function fitKMeansStep(p: PreparedKMeans, opts: TrainKMeansOptions): Promise<FittedKMeans> {
  const o = resolve(opts);
  const progress = opts.progress ?? (() => silentProgress);
  const loading = progress('load');
  const load = { k: Math.max(...p.ks), sampleSize: opts.sampleSize ?? 100_000, seed: o.seed, progress: loading };
  const kd = opts.loadData ? await opts.loadData(p.data, p.transform, load) : await loadKMeansData(blockSource(p.data, p.transform), load);
  loading.done(kd.where ?? (kd.resident ? 'resident on the backend' : 'streaming from disk each pass'));
  let fit: KMeansFit | undefined;
  let sweep: SweepRow[] | undefined;
  try {
    for (const k of p.ks) {
      // Lloyd counts iterations (at most max-iter: it stops when converged); mini-batch counts passes.
      const line = progress(`k=${k}`, o.mode === 'minibatch' || (o.mode !== 'lloyd' && !kd.resident) ? 'epochs' : 'iterations');
      const f = await fitKMeans(kd, { ...o, k, progress: line });
      const restarts = f.inits.length > 1 ? `${f.inits.length} restarts, the best ${f.iterations} ${f.mode === 'lloyd' ? 'iterations' : 'mini-batch steps'}: ` : '';
      line.done(`${restarts}inertia ${f.inertia.toPrecision(6)}, silhouette ${f.silhouette.toFixed(3)}`);
      if (p.ks.length > 1) (sweep ??= []).push({ k, inertia: f.inertia, silhouette: f.silhouette });
      if (!fit || f.silhouette > fit.silhouette + 1e-9) fit = f;
    }
    // The report's 2-D map: a uniform sample of 1,000 visitors (the sample is in random order).
    const map = segmentMap(kd.sample, Math.min(MAP_POINTS, kd.sampleRows), kd.cols, fit!.centroids, fit!.k, o.seed);
    return { fit: fit!, sweep, map, dispose: () => {} };
  } finally {
    kd.dispose();
  }
}

/** Profiles each segment on a final pass over the data, assigning with the chosen centroids. */
async function evaluateKMeans(p: PreparedKMeans, f: FittedKMeans, opts: TrainKMeansOptions): Promise<KMeansReport> {
  const draft = new Segmenter(f.fit.centroids, f.fit.d);
  const profiler = new GroupProfiler(p.transform, f.fit.k);
  const profiling = (opts.progress ?? (() => silentProgress))('profile');
  let done = 0;
  try {
    for await (const { batch, block } of transformedBatches(p.data, p.transform)) {
      const { segment } = await draft.predict(block);
      profiler.add(batch, segment);
      done += batch.rows;
      profiling.update(done, p.data.rowCount);
    }
  } finally {
    draft.dispose();
  }
  profiling.done();
  return { fit: f.fit, sweep: f.sweep, profiles: profiler.result() };
}

/** Writes the chosen centroids, params and metrics (profiles cut to 12 entries each) as the next version of `opts.name`. */
async function saveKMeans(store: ModelStore, p: PreparedKMeans, f: FittedKMeans, report: KMeansReport, opts: TrainKMeansOptions): Promise<KMeansModel> {
  const backend = await initBackend();
  const chosen = f.fit;
  const o = resolve(opts);
  return KMeansModel.save(
    store,
    {
      ...trainedOn('kmeans', opts.name, backend, p.transform, p.data.tables, chosen.rows),
      params: { k: chosen.k, kCandidates: p.ks, kRule: p.ks.length > 1 ? K_RULE : undefined, nInit: o.nInit, maxIter: o.maxIter, tol: o.tol, mode: chosen.mode, seed: o.seed },
      metrics: {
        inertia: chosen.inertia,
        silhouette: chosen.silhouette,
        sizes: chosen.sizes,
        iterations: chosen.iterations,
        converged: chosen.converged,
        inits: chosen.inits,
        sweep: f.sweep,
        profiles: report.profiles.map((pr) => ({ ...pr, entries: pr.entries.slice(0, 12) })),
        map: f.map,
      },
    },
    chosen.centroids,
  );
}

/** K-Means segmentation's estimator steps (see models/estimator.ts). */
export const KMEANS: Estimator<TrainKMeansOptions, PreparedKMeans, FittedKMeans, KMeansReport, KMeansModel> = {
  prepare: prepareKMeans,
  fit: fitKMeansStep,
  evaluate: evaluateKMeans,
  save: saveKMeans,
};

/**
 * Trains and saves K-Means segments: KMEANS's steps composed. One k, or a sweep where the
 * chosen k follows K_RULE; each segment profiled against the population in the data's units.
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function trainKMeans(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainKMeansOptions) {
  return train(KMEANS, data, transform, store, opts);
}

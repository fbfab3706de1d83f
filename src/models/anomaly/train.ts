/**
 * Training outlier scores and finding niche segments: K-Means on everyone, each cluster's
 * spread, then two kinds of candidate niche: small main clusters (under 5% of visitors;
 * K-Means gives a far, dense group its own centroid), and groups found by clustering the
 * outliers (score above the threshold) again. A candidate is kept when it is dense (tighter
 * than the median cluster) and far (its centre over two spreads from the nearest main segment,
 * one with at least 5% of visitors). Kept niches are profiled like segments.
 */
import { initBackend } from '../../compute/backend.js';
import { blockSource, memorySource, transformedBatches } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { nearest, sqDist } from '../../metrics/clustering.js';
import { silentProgress, type StageProgress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { loadKMeansData } from '../kmeans/data.js';
import { fitKMeans } from '../kmeans/fit.js';
import { Segmenter } from '../kmeans/model.js';
import { GroupProfiler, type GroupProfile } from '../profile.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { AnomalyModel, type AnomalyState, type AnomalyWeights } from './model.js';
import { train, type Estimator } from '../estimator.js';
import { withDefaults, type KindOptions } from '../params.js';
import { ANOMALY_PARAMS } from './params.js';

/**
 * The outlier model's options: the kind's params as its params.ts declares them
 * (KindOptions: `k`, `threshold` in spreads, `niches` looked for among the outliers, `seed`;
 * defaults from the schemas) and the version's name.
 */
export type TrainAnomalyOptions = KindOptions<typeof ANOMALY_PARAMS> & {
  name: string;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

export interface NicheReport {
  niche: number;
  source: 'small segment' | 'outliers';
  size: number;
  /** Median distance of its members to its centre. */
  spread: number;
  nearestSegment: number;
  /** Distance from the niche's centre to the nearest main centroid, in that cluster's spreads. */
  distanceInSpreads: number;
  kept: boolean;
}

export interface AnomalyReport {
  k: number;
  threshold: number;
  outliers: number;
  outlierShare: number;
  spreads: number[];
  candidates: NicheReport[];
  profiles: GroupProfile[];
  /** Visitors by outlier score (distance in spreads): 30 bins up to twice the threshold, the last open-ended (to: null in JSON). */
  histogram?: Array<{ from: number; to: number; count: number }>;
}

const OUTLIER_SAMPLE = 50_000;

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[s.length >> 1];
}
const SMALL_SEGMENT = 0.05;

/** The data and its transform: the fit reads the rows itself (K-Means first, then passes). */
export interface PreparedAnomaly {
  data: Dataset;
  transform: FittedTransform;
}

/** A fitted, unsaved outlier model: its weights and state as saved, and what the report counts. */
export interface FittedAnomaly {
  weights: AnomalyWeights;
  state: AnomalyState;
  k: number;
  rows: number;
  outliers: number;
  candidates: NicheReport[];
  histogram: NonNullable<AnomalyReport['histogram']>;
  dispose(): void;
}

/**
 * Fits the outlier model: K-Means with `k` clusters (see fitKMeans), each cluster's spread
 * (the median member distance), outliers over `threshold` spreads, and niche segments found
 * by clustering the outliers again.
 */
async function fitAnomaly(p: PreparedAnomaly, opts: TrainAnomalyOptions): Promise<FittedAnomaly> {
  const { data, transform } = p;
  const progress = opts.progress ?? (() => silentProgress);
  const { k, threshold, seed, niches } = withDefaults(ANOMALY_PARAMS, opts);
  const d = transform.outputs.length;
  const source = blockSource(data, transform);

  const fitting = progress('kmeans', 'iterations');
  const kd = await loadKMeansData(source, { k, sampleSize: 100_000, seed });
  const fit = await fitKMeans(kd, { k, seed, progress: fitting });
  kd.dispose();
  fitting.done(`k=${k}, inertia ${fit.inertia.toPrecision(5)}`);

  // Spreads: the median distance of each cluster's members (robust: a few far points do not inflate it).
  const main = new Segmenter(fit.centroids, d);
  const dists: number[][] = Array.from({ length: k }, () => []);
  for await (const block of source.blocks()) {
    const { segment, distance } = await main.predict(block);
    for (let i = 0; i < block.rows; i++) dists[segment[i]].push(distance[i]);
  }
  const n = dists.map((x) => x.length);
  const spreads = Float32Array.from(dists, (x) => median(x) || 1);
  dists.length = 0;

  // Outliers, sampled (reservoir) for the niche search.
  const rng = new Rng(seed ^ 0x0d1d);
  const sample = new Float32Array(OUTLIER_SAMPLE * d);
  let outliers = 0;
  let rows = 0;
  // The score's distribution, for the report: 30 bins up to twice the threshold, the last open-ended.
  const histogram = Array.from({ length: 30 }, (_, b) => ({ from: (b * 2 * threshold) / 30, to: b === 29 ? Infinity : ((b + 1) * 2 * threshold) / 30, count: 0 }));
  for await (const block of source.blocks()) {
    const { segment, distance } = await main.predict(block);
    for (let i = 0; i < block.rows; i++) {
      const score = distance[i] / spreads[segment[i]];
      histogram[Math.min(29, Math.floor((score * 30) / (2 * threshold)))].count++;
      if (score <= threshold) continue;
      const slot = outliers < OUTLIER_SAMPLE ? outliers : rng.int(outliers + 1);
      if (slot < OUTLIER_SAMPLE) sample.set(block.data.subarray(i * d, (i + 1) * d), slot * d);
      outliers++;
    }
    rows += block.rows;
  }
  main.dispose();

  const candidates: NicheReport[] = [];
  const medianSpread = [...spreads].sort((a, b) => a - b)[Math.floor(k / 2)];
  // Distance to the nearest main segment (at least 5% of visitors), in that segment's spreads.
  const isMain = (c: number) => n[c] / Math.max(1, rows) >= SMALL_SEGMENT;
  const nearestOther = (centre: Float32Array, at: number, skip: number): [number, number] => {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      if (c === skip || !isMain(c)) continue;
      const dist = Math.sqrt(sqDist(centre, at, fit.centroids, c, d));
      if (dist < bestD) [best, bestD] = [c, dist];
    }
    return [best, bestD / spreads[best]];
  };
  const nicheOfCluster = new Array<number>(k).fill(-1);
  const nicheRows: Float32Array[] = [];
  const nicheSpreadList: number[] = [];
  for (let c = 0; c < k; c++) {
    if (isMain(c)) continue;
    const [seg, far] = nearestOther(fit.centroids, c, c);
    const keep = spreads[c] < medianSpread && far > 2;
    candidates.push({ niche: -1, source: 'small segment', size: n[c], spread: spreads[c], nearestSegment: seg, distanceInSpreads: far, kept: keep });
    if (keep) {
      candidates[candidates.length - 1].niche = nicheOfCluster[c] = nicheRows.length;
      nicheRows.push(fit.centroids.slice(c * d, (c + 1) * d));
      nicheSpreadList.push(spreads[c]);
    }
  }
  const m = Math.min(niches, Math.floor(Math.min(outliers, OUTLIER_SAMPLE) / 20));
  if (m >= 2) {
    const count = Math.min(outliers, OUTLIER_SAMPLE);
    const x = sample.subarray(0, count * d);
    const okd = await loadKMeansData(memorySource([{ ids: new BigInt64Array(0), rows: count, cols: d, data: x, names: [], imputed: 0 }]), { k: m, sampleSize: count, seed });
    const nfit = await fitKMeans(okd, { k: m, seed, nInit: 3 });
    okd.dispose();
    const members: number[][] = Array.from({ length: m }, () => []);
    for (let i = 0; i < count; i++) {
      const [c, dist2] = nearest(x, i, nfit.centroids, m, d);
      members[c].push(Math.sqrt(dist2));
    }
    const nn = members.map((x) => x.length);
    for (let c = 0; c < m; c++) {
      const spread = median(members[c]);
      const [seg, far] = nearestOther(nfit.centroids, c, -1);
      const keep = nn[c] >= 10 && spread < medianSpread && far > 2;
      candidates.push({ niche: -1, source: 'outliers', size: Math.round((nn[c] * outliers) / count), spread, nearestSegment: seg, distanceInSpreads: far, kept: keep });
      if (keep) {
        candidates[candidates.length - 1].niche = nicheRows.length;
        nicheRows.push(nfit.centroids.slice(c * d, (c + 1) * d));
        nicheSpreadList.push(spread);
      }
    }
  }
  const nicheCentroids = new Float32Array(nicheRows.length * d);
  nicheRows.forEach((r, j) => nicheCentroids.set(r, j * d));
  return {
    weights: { centroids: fit.centroids, spreads, niches: nicheCentroids, nicheSpreads: Float32Array.from(nicheSpreadList) },
    state: { threshold, nicheOfCluster },
    k,
    rows,
    outliers,
    candidates,
    histogram,
    dispose: () => {},
  };
}

/** The prepared source, the params as saved and the fields of the manifest every step shares. */
async function manifestBase(p: PreparedAnomaly, f: FittedAnomaly, opts: TrainAnomalyOptions) {
  const backend = await initBackend();
  const { niches, seed } = withDefaults(ANOMALY_PARAMS, opts);
  return { ...trainedOn('anomaly', opts.name, backend, p.transform, p.data.tables, f.rows), params: { k: f.k, threshold: f.state.threshold, niches, seed } };
}

/** The outlier share and score distribution, the niche candidates, and the kept niches profiled like segments. */
async function evaluateAnomaly(p: PreparedAnomaly, f: FittedAnomaly, opts: TrainAnomalyOptions): Promise<AnomalyReport> {
  const kept = f.weights.nicheSpreads.length;
  let profiles: GroupProfile[] = [];
  if (kept) {
    // A model holding the niches (not saved: versions are immutable) assigns the rows to them.
    const draft = new AnomalyModel({ ...(await manifestBase(p, f, opts)), version: 0, createdAt: '', metrics: {} }, f.weights, f.state);
    const profiler = new GroupProfiler(p.transform, kept);
    const profiling = (opts.progress ?? (() => silentProgress))('profile');
    try {
      for await (const { batch, block } of transformedBatches(p.data, p.transform)) {
        profiler.add(batch, (await draft.predict(block)).niche);
        profiling.update(batch.first + batch.rows, p.data.rowCount);
      }
    } finally {
      draft.dispose();
    }
    profiling.done();
    profiles = profiler.result().map((pr) => ({ ...pr, entries: pr.entries.slice(0, 12) }));
  }
  const { threshold } = f.state;
  return { k: f.k, threshold, outliers: f.outliers, outlierShare: f.outliers / Math.max(1, f.rows), spreads: Array.from(f.weights.spreads), candidates: f.candidates, profiles, histogram: f.histogram };
}

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function saveAnomaly(store: ModelStore, p: PreparedAnomaly, f: FittedAnomaly, report: AnomalyReport, opts: TrainAnomalyOptions): Promise<AnomalyModel> {
  return AnomalyModel.save(store, { ...(await manifestBase(p, f, opts)), metrics: report as unknown as Record<string, unknown> }, f.weights, f.state);
}

/** The outlier model's estimator steps (see models/estimator.ts); nothing is read up front. */
export const ANOMALY: Estimator<TrainAnomalyOptions, PreparedAnomaly, FittedAnomaly, AnomalyReport, AnomalyModel> = {
  prepare: async (data, transform) => ({ data, transform }),
  fit: fitAnomaly,
  evaluate: evaluateAnomaly,
  save: saveAnomaly,
};

/**
 * Trains an anomaly model: ANOMALY's steps composed (see fitAnomaly and the module comment).
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function trainAnomaly(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainAnomalyOptions) {
  return train(ANOMALY, data, transform, store, opts);
}

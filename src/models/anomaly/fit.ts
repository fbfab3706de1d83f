/**
 * The outlier model's fit step: K-Means on everyone, each cluster's spread (the median member
 * distance: a few far points do not inflate it), every visitor's score (distance in spreads)
 * with a sample of the outliers, then the niche search (niches.ts).
 */
import { initBackend } from '../../compute/backend.js';
import { blockSource, type BlockSource } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { silentProgress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { loadKMeansData } from '../kmeans/data.js';
import { fitKMeans } from '../kmeans/fit.js';
import { Segmenter } from '../kmeans/model.js';
import { withDefaults } from '../params.js';
import { trainedOn } from '../registry.js';
import type { AnomalyState, AnomalyWeights } from './model.js';
import { findNiches, median, type NicheReport } from './niches.js';
import type { TrainAnomalyOptions } from './options.js';
import { ANOMALY_PARAMS } from './params.js';

/** Outliers kept (a reservoir sample) for the niche search. */
const OUTLIER_SAMPLE = 50_000;

/** Visitors by outlier score (distance in spreads): 30 bins up to twice the threshold, the last open-ended (to: null in JSON). */
export type ScoreHistogram = Array<{ from: number; to: number; count: number }>;

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
  histogram: ScoreHistogram;
  dispose(): void;
}

/** Each cluster's member count and spread (the median member distance; 1 for an empty cluster). */
async function clusterSpreads(source: BlockSource, main: Segmenter, k: number): Promise<{ sizes: number[]; spreads: Float32Array }> {
  const dists: number[][] = Array.from({ length: k }, () => []);
  for await (const block of source.blocks()) {
    const { segment, distance } = await main.predict(block);
    for (let i = 0; i < block.rows; i++) dists[segment[i]].push(distance[i]);
  }
  return { sizes: dists.map((x) => x.length), spreads: Float32Array.from(dists, (x) => median(x) || 1) };
}

/** Every row's score: the score histogram, the rows and outliers (score over `threshold`) counted, a reservoir sample of outliers (OUTLIER_SAMPLE x d). */
async function scanOutliers(source: BlockSource, main: Segmenter, spreads: Float32Array, threshold: number, seed: number) {
  const d = source.cols;
  const rng = new Rng(seed ^ 0x0d1d);
  const sample = new Float32Array(OUTLIER_SAMPLE * d);
  let outliers = 0;
  let rows = 0;
  const histogram: ScoreHistogram = Array.from({ length: 30 }, (_, b) => ({ from: (b * 2 * threshold) / 30, to: b === 29 ? Infinity : ((b + 1) * 2 * threshold) / 30, count: 0 }));
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
  return { rows, outliers, sample, histogram };
}

/**
 * Fits the outlier model: K-Means with `k` clusters (see fitKMeans), each cluster's spread,
 * outliers over `threshold` spreads, and niche segments (findNiches).
 */
export async function fitAnomaly(p: PreparedAnomaly, opts: TrainAnomalyOptions): Promise<FittedAnomaly> {
  const progress = opts.progress ?? (() => silentProgress);
  const { k, threshold, seed, niches } = withDefaults(ANOMALY_PARAMS, opts);
  const d = p.transform.outputs.length;
  const source = blockSource(p.data, p.transform);
  const fitting = progress('kmeans', 'iterations');
  const kd = await loadKMeansData(source, { k, sampleSize: 100_000, seed });
  const fit = await fitKMeans(kd, { k, seed, progress: fitting });
  kd.dispose();
  fitting.done(`k=${k}, inertia ${fit.inertia.toPrecision(5)}`);
  const main = new Segmenter(fit.centroids, d);
  let scan: Awaited<ReturnType<typeof scanOutliers>>;
  let clusters: Awaited<ReturnType<typeof clusterSpreads>>;
  try {
    clusters = await clusterSpreads(source, main, k);
    scan = await scanOutliers(source, main, clusters.spreads, threshold, seed);
  } finally {
    main.dispose();
  }
  const { rows, outliers, sample, histogram } = scan;
  const found = await findNiches({ centroids: fit.centroids, k, d, ...clusters, rows }, sample, Math.min(outliers, OUTLIER_SAMPLE), outliers, niches, seed);
  return {
    weights: { centroids: fit.centroids, spreads: clusters.spreads, niches: found.centroids, nicheSpreads: found.spreads },
    state: { threshold, nicheOfCluster: found.nicheOfCluster },
    k,
    rows,
    outliers,
    candidates: found.candidates,
    histogram,
    dispose: () => {},
  };
}

/** The fields of a fitted model's manifest its evaluation (a draft model) and its save share: what ran where, on which data, with which params. */
export async function fittedManifest(p: PreparedAnomaly, f: FittedAnomaly, opts: TrainAnomalyOptions) {
  const backend = await initBackend();
  const { niches, seed } = withDefaults(ANOMALY_PARAMS, opts);
  return { ...trainedOn('anomaly', opts.name, backend, p.transform, p.data.tables, f.rows), params: { k: f.k, threshold: f.state.threshold, niches, seed } };
}

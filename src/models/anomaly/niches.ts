/**
 * The niche search: two kinds of candidate niche, small main clusters (under 5% of visitors;
 * K-Means gives a far, dense group its own centroid), and groups found by clustering a sample
 * of the outliers again. A candidate is kept when it is dense (tighter than the median
 * cluster) and far (its centre over two spreads from the nearest main segment, one with at
 * least 5% of visitors).
 */
import { memorySource } from '../../features/blocks.js';
import { nearest, sqDist } from '../../metrics/clustering.js';
import { loadKMeansData } from '../kmeans/data.js';
import { fitKMeans } from '../kmeans/fit.js';

/** One candidate niche, kept or not, as the report lists it. */
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

/** A main cluster holds at least this share of visitors; smaller ones are niche candidates. */
const SMALL_SEGMENT = 0.05;

/** The median of `xs` (0 for none). */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[s.length >> 1];
}

/** The main clustering the search starts from: k centroids (k x d), each cluster's size and spread, the rows seen. */
export interface MainClusters {
  centroids: Float32Array;
  k: number;
  d: number;
  sizes: number[];
  spreads: Float32Array;
  rows: number;
}

/** The niches kept (their centroids, niches x d, and spreads), which main cluster is one (-1: none), and every candidate. */
export interface Niches {
  centroids: Float32Array;
  spreads: Float32Array;
  nicheOfCluster: number[];
  candidates: NicheReport[];
}

/**
 * Candidate niches among the small main clusters, then among `count` sampled outliers
 * (`sample`, count x d, of `outliers` in all) clustered again into at most `niches` groups
 * (fewer when there are under 20 sampled outliers per group).
 */
export async function findNiches(main: MainClusters, sample: Float32Array, count: number, outliers: number, niches: number, seed: number): Promise<Niches> {
  const { k, d, spreads } = main;
  const medianSpread = [...spreads].sort((a, b) => a - b)[Math.floor(k / 2)];
  const isMain = (c: number) => main.sizes[c] / Math.max(1, main.rows) >= SMALL_SEGMENT;
  // Distance to the nearest main segment, in that segment's spreads.
  const nearestMain = (centre: Float32Array, at: number, skip: number): [number, number] => {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      if (c === skip || !isMain(c)) continue;
      const dist = Math.sqrt(sqDist(centre, at, main.centroids, c, d));
      if (dist < bestD) [best, bestD] = [c, dist];
    }
    return [best, bestD / spreads[best]];
  };
  const out: { rows: Float32Array[]; spreads: number[]; nicheOfCluster: number[]; candidates: NicheReport[] } = { rows: [], spreads: [], nicheOfCluster: new Array<number>(k).fill(-1), candidates: [] };
  const consider = (candidate: Omit<NicheReport, 'niche' | 'kept'>, centre: Float32Array, at: number, dense: boolean): number => {
    const keep = dense && candidate.spread < medianSpread && candidate.distanceInSpreads > 2;
    const niche = keep ? out.rows.length : -1;
    out.candidates.push({ niche, ...candidate, kept: keep });
    if (keep) {
      out.rows.push(centre.slice(at * d, (at + 1) * d));
      out.spreads.push(candidate.spread);
    }
    return niche;
  };
  for (let c = 0; c < k; c++) {
    if (isMain(c)) continue;
    const [seg, far] = nearestMain(main.centroids, c, c);
    out.nicheOfCluster[c] = consider({ source: 'small segment', size: main.sizes[c], spread: spreads[c], nearestSegment: seg, distanceInSpreads: far }, main.centroids, c, true);
  }
  const groups = await outlierGroups(sample.subarray(0, count * d), count, d, Math.min(niches, Math.floor(count / 20)), seed);
  for (const [c, g] of groups.entries()) {
    const [seg, far] = nearestMain(g.centroids, c, -1);
    consider({ source: 'outliers', size: Math.round((g.members * outliers) / count), spread: g.spread, nearestSegment: seg, distanceInSpreads: far }, g.centroids, c, g.members >= 10);
  }
  const centroids = new Float32Array(out.rows.length * d);
  out.rows.forEach((r, j) => centroids.set(r, j * d));
  return { centroids, spreads: Float32Array.from(out.spreads), nicheOfCluster: out.nicheOfCluster, candidates: out.candidates };
}

/** The sampled outliers (count x d) clustered into `m` groups (none under 2): each group's members, spread, and the centroids (m x d). */
async function outlierGroups(x: Float32Array, count: number, d: number, m: number, seed: number): Promise<Array<{ members: number; spread: number; centroids: Float32Array }>> {
  if (m < 2) return [];
  const kd = await loadKMeansData(memorySource([{ ids: new BigInt64Array(0), rows: count, cols: d, data: x, names: [], imputed: 0 }]), { k: m, sampleSize: count, seed });
  const fit = await fitKMeans(kd, { k: m, seed, nInit: 3 });
  kd.dispose();
  const members: number[][] = Array.from({ length: m }, () => []);
  for (let i = 0; i < count; i++) {
    const [c, dist2] = nearest(x, i, fit.centroids, m, d);
    members[c].push(Math.sqrt(dist2));
  }
  return members.map((dists) => ({ members: dists.length, spread: median(dists), centroids: fit.centroids }));
}

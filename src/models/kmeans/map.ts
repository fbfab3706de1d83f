/**
 * A 2-D map of visitors for the model report: a sample projected on its first two principal
 * components (Pearson 1901; Hotelling 1933), each point with its segment, and the centroids
 * projected the same way. Components come from the sample's covariance by power iteration
 * with deflation (Golub and Van Loan, "Matrix Computations", 4th ed., 8.2).
 */
import { nearest } from '../../metrics/clustering.js';
import { Rng } from '../../util/rng.js';

export interface SegmentMap {
  /** Per point: the two coordinates (3 significant decimals) and its segment. */
  points: Array<[number, number, number]>;
  /** Per segment: its centroid's coordinates. */
  centroids: Array<[number, number]>;
  /** Share of the sample's variance each axis explains. */
  explained: [number, number];
}

/**
 * Projects the first `n` rows of `x` (rows x d, row-major; standardized features) and the
 * centroids (k x d) on the top two principal components of those rows.
 */
export function segmentMap(x: Float32Array, n: number, d: number, centroids: Float32Array, k: number, seed = 0): SegmentMap {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const va = x[i * d + a] - mean[a];
      for (let b = a; b < d; b++) cov[a * d + b] += (va * (x[i * d + b] - mean[b])) / Math.max(1, n - 1);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
  let trace = 0;
  for (let a = 0; a < d; a++) trace += cov[a * d + a];
  const rng = new Rng(seed);
  const axes: Float64Array[] = [];
  const values: number[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, () => rng.normal());
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += cov[a * d + b] * v[b];
      const norm = Math.hypot(...w) || 1;
      for (let a = 0; a < d; a++) w[a] /= norm;
      const shift = w.reduce((s, wa, a) => s + (wa - v[a]) ** 2, 0);
      v = w;
      lambda = norm;
      if (shift < 1e-12) break;
    }
    axes.push(v);
    values.push(lambda);
    // Deflate: remove the found component from the covariance.
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
  }
  const project = (src: Float32Array, i: number): [number, number] => {
    let p0 = 0;
    let p1 = 0;
    for (let j = 0; j < d; j++) {
      const c = src[i * d + j] - mean[j];
      p0 += c * axes[0][j];
      p1 += c * axes[1][j];
    }
    return [round(p0), round(p1)];
  };
  const points: SegmentMap['points'] = [];
  for (let i = 0; i < n; i++) points.push([...project(x, i), nearest(x, i, centroids, k, d)[0]]);
  return {
    points,
    centroids: Array.from({ length: k }, (_, c) => project(centroids, c)),
    explained: [trace > 0 ? values[0] / trace : 0, trace > 0 ? values[1] / trace : 0],
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Batched K-Means: greedy k-means++ seeding on a sample, then full Lloyd passes (sums
 * accumulated batch by batch) or mini-batch updates (Sculley 2010) for data too large to
 * keep resident; several restarts keep the lowest inertia; empty clusters are re-seeded
 * at the sample point farthest from its centroid.
 */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { nearest, silhouette, sqDist } from '../../metrics/clustering.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import type { KMeansData } from './data.js';
import { assignAndSum, centroidOperand } from './kernels.js';

export type KMeansMode = 'auto' | 'lloyd' | 'minibatch';

export interface KMeansOptions {
  k: number;
  /** Restarts from different seeds; the lowest final inertia wins. Default 3. */
  nInit?: number;
  maxIter?: number;
  /** Stop when the squared centroid shift is <= tol x mean feature variance. Default 1e-4. */
  tol?: number;
  seed?: number;
  /** auto: Lloyd when the data is resident, mini-batch when it streams from disk. */
  mode?: KMeansMode;
  /** Rows per mini-batch (mini-batch mode). Default 4096. */
  batchSize?: number;
  /** Passes over the data in mini-batch mode. Default 3. */
  epochs?: number;
  /** Starting centroids (k x D, row-major) instead of k-means++; with it nInit is 1. */
  init?: Float32Array;
  /** Sample points for the silhouette estimate. Default 2000. */
  silhouetteSample?: number;
  progress?: Progress;
}

export interface KMeansFit {
  k: number;
  d: number;
  centroids: Float32Array;
  inertia: number;
  sizes: number[];
  silhouette: number;
  iterations: number;
  converged: boolean;
  mode: 'lloyd' | 'minibatch';
  inits: Array<{ seed: number; inertia: number; iterations: number; converged: boolean }>;
  rows: number;
}

/**
 * K-Means on rows x d data: k-means++ seeding (Arthur and Vassilvitskii, "k-means++: The
 * Advantages of Careful Seeding", SODA 2007), then Lloyd iterations (Lloyd 1982) accumulated
 * batch by batch, or mini-batch updates (Sculley, "Web-Scale K-Means Clustering", WWW 2010)
 * when the data streams; `nInit` restarts keep the lowest inertia; empty clusters are
 * repaired with the sampled points farthest from their centroid. Distances are ||x||^2 - 2 x.c + ||c||^2 as one matMul.
 * @returns centroids (k x d, row-major), inertia, a sampled silhouette (Rousseeuw 1987),
 *   cluster sizes, iterations and whether it converged.
 * @throws UserError when k < 2 or there are fewer rows than k.
 */
export async function fitKMeans(data: KMeansData, opts: KMeansOptions): Promise<KMeansFit> {
  const { k } = opts;
  const d = data.cols;
  if (!Number.isInteger(k) || k < 2) throw new UserError(`k must be an integer >= 2 (got ${k})`);
  if (data.rows < k) throw new UserError(`k=${k} clusters need at least ${k} rows; the data has ${data.rows}`);
  const nInit = opts.init ? 1 : (opts.nInit ?? 3);
  if (opts.init && opts.init.length !== k * d) throw new UserError(`init has ${opts.init.length} values; expected k x D = ${k * d}`);
  const seed = opts.seed ?? 0;
  const mode = opts.mode === 'lloyd' || opts.mode === 'minibatch' ? opts.mode : data.resident ? 'lloyd' : 'minibatch';
  const progress = opts.progress ?? silentProgress;

  let best: KMeansFit | undefined;
  const inits: KMeansFit['inits'] = [];
  // Progress counts every restart's iterations (or epochs) against nInit x the cap; a restart that converges early ends sooner.
  const cap = mode === 'lloyd' ? (opts.maxIter ?? 100) : (opts.epochs ?? 3);
  let spent = 0;
  const overall: Progress = { update: (n) => progress.update(spent + n, nInit * cap), done() {} };
  for (let init = 0; init < nInit; init++) {
    const rng = new Rng(seed + 7919 * init);
    let centroids = opts.init ? Float32Array.from(opts.init) : kmeansPlusPlus(data.sample, data.sampleRows, d, k, rng);
    const run: { centroids: Float32Array; iterations: number; converged: boolean; epochs?: number } =
      mode === 'lloyd' ? await lloyd(data, centroids, k, opts, overall) : await miniBatch(data, centroids, k, opts, rng, overall);
    spent += run.epochs ?? run.iterations;
    centroids = run.centroids;
    // A final E-step under the final centroids gives the exact inertia and sizes reported.
    const step = await assignAndSum(data, centroids, k);
    inits.push({ seed: seed + 7919 * init, inertia: step.inertia, iterations: run.iterations, converged: run.converged });
    if (!best || step.inertia < best.inertia) {
      best = {
        k,
        d,
        centroids,
        inertia: step.inertia,
        sizes: Array.from(step.counts),
        silhouette: NaN,
        iterations: run.iterations,
        converged: run.converged,
        mode,
        inits,
        rows: data.rows,
      };
    }
  }
  progress.update(spent, spent);
  const fit = best!;
  fit.silhouette = sampledSilhouette(data, fit.centroids, k, opts.silhouetteSample ?? 2000);
  return fit;
}

async function lloyd(data: KMeansData, start: Float32Array, k: number, opts: KMeansOptions, progress: Progress) {
  const d = data.cols;
  const maxIter = opts.maxIter ?? 100;
  const threshold = (opts.tol ?? 1e-4) * data.meanVariance;
  let centroids = start;
  for (let it = 1; it <= maxIter; it++) {
    const step = await assignAndSum(data, centroids, k);
    const next = updateCentroids(step.sums, step.counts, centroids, k, d, data);
    const shift = shiftOf(centroids, next);
    centroids = next;
    progress.update(it, maxIter);
    if (shift <= threshold) return { centroids, iterations: it, converged: true };
  }
  return { centroids, iterations: maxIter, converged: false };
}

/** Mini-batch K-Means: per-centroid learning rate 1/(points seen), random rows from each batch. */
async function miniBatch(data: KMeansData, start: Float32Array, k: number, opts: KMeansOptions, rng: Rng, progress: Progress) {
  const d = data.cols;
  const batchSize = opts.batchSize ?? 4096;
  const epochs = opts.epochs ?? 3;
  const centroids = Float32Array.from(start);
  const seen = new Float64Array(k);
  let steps = 0;
  let ewa = NaN;
  let bestEwa = Infinity;
  let sinceBest = 0;
  const patience = 20;
  for (let epoch = 0; epoch < epochs; epoch++) {
    let stop = false;
    await data.forEachBatch(async (xa, rows) => {
      if (stop) return;
      const order = rng.shuffle(Int32Array.from({ length: rows }, (_, i) => i));
      for (let at = 0; at < rows && !stop; at += batchSize) {
        const idx = order.subarray(at, Math.min(rows, at + batchSize));
        const op = centroidOperand(centroids, k, d);
        const sumsT = tf.tidy(() => {
          const xb = tf.gather(xa, tf.tensor1d(idx, 'int32'));
          const nearestIdx = tf.argMin(tf.matMul(xb, op), 1).reshape([idx.length, 1]);
          return tf.scatterND(nearestIdx, xb, [k, d + 1]);
        });
        op.dispose();
        const raw = await readData(sumsT);
        sumsT.dispose();
        // Batch inertia under the pre-update centroids, smoothed, for early stopping.
        let batchSq = 0;
        for (let c = 0; c < k; c++) {
          const n = raw[c * (d + 1) + d];
          if (n === 0) continue;
          seen[c] += n;
          const lr = n / seen[c];
          for (let j = 0; j < d; j++) {
            const mean = raw[c * (d + 1) + j] / n;
            const diff = mean - centroids[c * d + j];
            batchSq += n * diff * diff;
            centroids[c * d + j] += lr * diff;
          }
        }
        const score = batchSq / idx.length;
        ewa = Number.isNaN(ewa) ? score : 0.9 * ewa + 0.1 * score;
        if (ewa < bestEwa * (1 - 1e-4)) {
          bestEwa = ewa;
          sinceBest = 0;
        } else if (++sinceBest >= patience && epoch > 0) stop = true;
        steps++;
      }
    });
    repairEmpty(seen, centroids, k, d, data);
    progress.update(epoch + 1, epochs);
    if (stop) return { centroids, iterations: steps, epochs: epoch + 1, converged: true };
  }
  return { centroids, iterations: steps, epochs, converged: false };
}

function updateCentroids(sums: Float64Array, counts: Float64Array, previous: Float32Array, k: number, d: number, data: KMeansData): Float32Array {
  const next = new Float32Array(k * d);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) next[c * d + j] = counts[c] > 0 ? sums[c * d + j] / counts[c] : previous[c * d + j];
  }
  repairEmpty(counts, next, k, d, data);
  return next;
}

/** Moves each empty centroid onto the sample point farthest from its nearest centroid. */
function repairEmpty(counts: ArrayLike<number>, centroids: Float32Array, k: number, d: number, data: KMeansData): void {
  const empty = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length === 0) return;
  const far = new Float64Array(data.sampleRows);
  for (let i = 0; i < data.sampleRows; i++) far[i] = nearest(data.sample, i, centroids, k, d)[1];
  for (const c of empty) {
    let arg = 0;
    for (let i = 1; i < far.length; i++) if (far[i] > far[arg]) arg = i;
    centroids.set(data.sample.subarray(arg * d, (arg + 1) * d), c * d);
    far[arg] = -1;
  }
}

function shiftOf(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** Greedy k-means++ (as scikit-learn): 2 + ln k candidates per step, keep the one that lowers the potential most. */
export function kmeansPlusPlus(sample: Float32Array, n: number, d: number, k: number, rng: Rng): Float32Array {
  const centroids = new Float32Array(k * d);
  const first = rng.int(n);
  centroids.set(sample.subarray(first * d, (first + 1) * d), 0);
  const closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) potential += closest[i] = sqDist(sample, i, centroids, 0, d);
  const trials = 2 + Math.floor(Math.log(k));
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    if (!(potential > 0)) {
      throw new UserError(`k=${k} is more than the number of distinct rows in the data sample (${c}); choose a smaller k`);
    }
    let bestPot = Infinity;
    let bestIdx = -1;
    for (let t = 0; t < trials; t++) {
      const cand = rng.weighted(closest, potential);
      let pot = 0;
      for (let i = 0; i < n; i++) {
        const dist = Math.min(closest[i], sqDist(sample, i, sample, cand, d));
        candidateDist[i] = dist;
        pot += dist;
      }
      if (pot < bestPot) {
        bestPot = pot;
        bestIdx = cand;
        bestDist.set(candidateDist);
      }
    }
    centroids.set(sample.subarray(bestIdx * d, (bestIdx + 1) * d), c * d);
    closest.set(bestDist);
    potential = bestPot;
  }
  return centroids;
}

function sampledSilhouette(data: KMeansData, centroids: Float32Array, k: number, size: number): number {
  const n = Math.min(size, data.sampleRows);
  const d = data.cols;
  // The sample is shuffled when loaded, so its first n rows are a uniform sample too.
  const x = data.sample.subarray(0, n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = nearest(x, i, centroids, k, d)[0];
  return silhouette(x, labels, n, d);
}

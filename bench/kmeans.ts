/**
 * K-Means benchmark: one Lloyd iteration (assign + sums) at N x 32, K=16, data resident, on
 * each engine (`--engines=onnx,tfjs`: onnxruntime on the host, or the tfjs backend), vs
 * scikit-learn's Lloyd iteration on the same data and initial centroids. Then the foundation
 * check (`--fit-rows=1000000`, 0 leaves it out): a full fit with the product's defaults on the
 * default engine (fitKMeans: 3 k-means++ restarts seeded on a 100,000-row sample, Lloyd, tol
 * 1e-4) beside scikit-learn's KMeans (n_init=3, its other defaults) on the same rows; both
 * inertias evaluated the same way in float64 by the peer, and their ratio.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { memorySource } from '../src/features/blocks.js';
import { loadKMeansData, type LloydEngine } from '../src/models/kmeans/data.js';
import { fitKMeans, kmeansPlusPlus } from '../src/models/kmeans/fit.js';
import { assignAndSum } from '../src/models/kmeans/kernels.js';
import { Rng } from '../src/util/rng.js';
import { findPython, median, option, report, runPeer, timeIt } from './common.js';
import { blobs, blocksOf } from './data.js';

const D = 32;
const K = 16;

/**
 * A full fit with the product's defaults beside scikit-learn's KMeans on the same N x D rows
 * (the foundation check): `centres` blobs, or one (a Gaussian: no clusters, many local optima).
 */
async function fullFit(n: number, centres: number, py: string | null, tmp: string): Promise<Record<string, string | number>> {
  const x = blobs(n, D, centres, 3);
  const started = performance.now();
  const kd = await loadKMeansData(memorySource(blocksOf(x, D, 1 << 20)), { k: K, sampleSize: 100_000, seed: 0, budgetBytes: 8 * 2 ** 30 });
  const fit = await fitKMeans(kd, { k: K, nInit: 3, seed: 0 }).finally(() => kd.dispose());
  const row: Record<string, string | number> = {
    data: centres > 1 ? `${centres} blobs` : 'Gaussian',
    N: n,
    D,
    K,
    'n-init': 3,
    engine: kd.where ?? 'backend',
    'ours fit s': ((performance.now() - started) / 1000).toFixed(1),
    'ours iterations (best restart)': fit.iterations,
    'ours inertia (own)': fit.inertia.toPrecision(8),
  };
  if (!py) return { ...row, 'sklearn inertia': 'n/a' };
  fs.writeFileSync(path.join(tmp, 'fx.f32'), x);
  fs.writeFileSync(path.join(tmp, 'ours.f32'), fit.centroids);
  const peer = runPeer(py, 'kmeans_fit.py', { data: path.join(tmp, 'fx.f32'), ours: path.join(tmp, 'ours.f32'), d: D, k: K, n_init: 3 });
  const ours = peer.ours_inertia as number;
  const theirs = peer.sklearn_inertia as number;
  return {
    ...row,
    'ours inertia (f64)': ours.toPrecision(8),
    'sklearn fit s': (peer.fit_seconds as number).toFixed(1),
    'sklearn iterations': peer.n_iter as number,
    'sklearn inertia (f64)': theirs.toPrecision(8),
    'ours / sklearn inertia': (ours / theirs).toFixed(5),
  };
}

export async function run(args: string[]): Promise<void> {
  await initBackend();
  const sizes = (option(args, 'sizes') ?? '1000000,10000000').split(',').map(Number);
  const py = findPython(['sklearn', 'numpy', 'threadpoolctl']);
  const rows: Array<Record<string, string | number>> = [];
  const notes: string[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-'));
  for (const n of sizes) {
    const x = blobs(n, D, K, 1);
    const init = kmeansPlusPlus(x.subarray(0, 20_000 * D), 20_000, D, K, new Rng(2));
    const engines = (option(args, 'engines') ?? 'onnx,tfjs').split(',') as LloydEngine[];
    const reps = n >= 5_000_000 ? 3 : 7;
    const row: Record<string, string | number> = { N: n, D, K, backend: tf.getBackend() };
    let ours = Infinity;
    for (const engine of engines) {
      let kd;
      try {
        kd = await loadKMeansData(memorySource(blocksOf(x, D, 1 << 20)), { k: K, sampleSize: 1000, seed: 1, budgetBytes: 8 * 2 ** 30, engine });
      } catch (err) {
        notes.push(`N=${n} ${engine}: could not load on ${tf.getBackend()}: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      const ms = median(await timeIt(() => assignAndSum(kd, init, K), reps));
      const step = await assignAndSum(kd, init, K);
      kd.dispose();
      row[`${engine} ms/iter`] = ms.toFixed(1);
      row[`${engine} where`] = kd.where ?? 'backend';
      row['inertia (1st step)'] = step.inertia.toPrecision(6);
      // The first engine listed (the default: onnx) is the one compared.
      if (engine === engines[0]) ours = ms;
      process.stdout.write(`${n} ${engine}: ${ms.toFixed(1)} ms/iter\n`);
    }
    row['rows/s'] = Math.round(n / (ours / 1000));
    if (py) {
      fs.writeFileSync(path.join(tmp, 'x.f32'), x);
      fs.writeFileSync(path.join(tmp, 'c.f32'), init);
      const big = n >= 5_000_000;
      const peer = runPeer(py, 'kmeans_sklearn.py', { data: path.join(tmp, 'x.f32'), init: path.join(tmp, 'c.f32'), d: D, k: K, max_iters: big ? [2, 5, 8] : [2, 6, 11, 21], reps: big ? 1 : 3 });
      const f32 = (peer.float32 as { ms_per_iter: number }).ms_per_iter;
      const f64 = (peer.float64 as { ms_per_iter: number }).ms_per_iter;
      row['sklearn f32 ms/iter'] = f32.toFixed(1);
      row['sklearn f64 ms/iter'] = f64.toFixed(1);
      row['sklearn threads'] = peer.threads as number;
      row['ours / sklearn f32'] = (ours / f32).toFixed(2);
      row['ours / sklearn f64'] = (ours / f64).toFixed(2);
      fs.rmSync(path.join(tmp, 'x.f32'));
    } else row['sklearn f32 ms/iter'] = 'n/a';
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  if (!py) notes.push('scikit-learn not importable: apt-get install python3-sklearn for the peer column');
  notes.push('ms/iter: median; one Lloyd iteration = assign every row to its nearest centroid + per-cluster sums and counts.');
  notes.push('onnx: the rows on the host in 32,768-row [X | 1] chunks, one onnxruntime run (MatMul, ArgMin, ScatterND add; MLAS) per chunk, a one-thread run per core side by side, the product default on the CPU backends; tfjs: the backend, on wasm the rows partitioned over threads each with its own wasm backend (one per core). ours / sklearn compares the first engine listed (--engines).');
  notes.push('sklearn (Debian python3-sklearn, all cores): slope of fit time over iterations run, max_iter 2..21, tol=0, same data and initial centroids; f32 = same precision as ours, f64 = numpy default.');
  await report('kmeans', rows, notes);
  const fitRows = Number(option(args, 'fit-rows') ?? 1_000_000);
  if (fitRows > 0) {
    const fitPy = findPython(['sklearn', 'numpy']);
    const fits = [await fullFit(fitRows, K, fitPy, tmp), await fullFit(fitRows, 1, fitPy, tmp)];
    await report('kmeans-fit', fits, [
      `foundation check: blobs (${K} centres ~ N(0, 0.25 I), unit noise) and one Gaussian N(0, I) at N x ${D}, load average ${os.loadavg()[0].toFixed(2)} at the end; ours: fitKMeans with the product's defaults (k-means++ on a 100,000-row reservoir sample, 3 restarts, max-iter 100, tol 1e-4, seed 0) on the default engine, time from the rows in memory (load + fit + silhouette); sklearn ${fitPy ? '' : '(not importable: apt-get install python3-sklearn) '}KMeans(n_clusters=${K}, n_init=3, random_state=0) with its other defaults (k-means++ on every row, max_iter 300, tol 1e-4) on float64 rows; both inertias evaluated by the peer in float64 (sum of squared distances to the nearest centroid).`,
    ]);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

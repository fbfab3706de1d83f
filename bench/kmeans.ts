/**
 * K-Means benchmark: one Lloyd iteration (assign + sums) at N x 32, K=16, data resident, on
 * each engine (`--engines=onnx,tfjs`: onnxruntime on the host, or the tfjs backend), vs
 * scikit-learn's Lloyd iteration on the same data and initial centroids.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { memorySource } from '../src/features/blocks.js';
import { loadKMeansData, type LloydEngine } from '../src/models/kmeans/data.js';
import { kmeansPlusPlus } from '../src/models/kmeans/fit.js';
import { assignAndSum } from '../src/models/kmeans/kernels.js';
import { Rng } from '../src/util/rng.js';
import { findPython, median, option, report, runPeer, timeIt } from './common.js';
import { blobs, blocksOf } from './data.js';

const D = 32;
const K = 16;

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
  fs.rmSync(tmp, { recursive: true, force: true });
  await report('kmeans', rows, notes);
}

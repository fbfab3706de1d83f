/**
 * Lookalike benchmark: similarity of N visitors to 10k seeds (embedding width 32), in
 * k-nearest mode (k=50) and centroid mode: rows/s and peak memory, beside FAISS exact
 * inner-product search (IndexFlatIP) on the same data in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { SeedIndex } from '../src/models/lookalike/similarity.js';
import { Rng } from '../src/util/rng.js';
import { findPython, option, report, runPeer } from './common.js';

export async function run(args: string[]): Promise<void> {
  await initBackend();
  const n = Number(option(args, 'rows') ?? 1_000_000);
  const s = Number(option(args, 'seeds') ?? 10_000);
  const d = 32;
  const k = 50;
  const rng = new Rng(1);
  const seeds = Float32Array.from({ length: s * d }, () => rng.normal());
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const index = new SeedIndex(seeds, d, k);
  const timed = async (mode: 'knn' | 'centroid') => {
    const t = performance.now();
    const out = await index.similarity(x, mode);
    return { rowsPerS: n / ((performance.now() - t) / 1000), first: Array.from(out.subarray(0, 5)) };
  };
  const centroid = await timed('centroid');
  const knn = await timed('knn');
  index.dispose();
  const ours = process.resourceUsage().maxRSS / 1024;
  const rows: Array<Record<string, string | number>> = [
    { mode: `k=${k} nearest seeds`, engine: `audience-engine (${tf.getBackend()})`, 'rows/s': Math.round(knn.rowsPerS), 'peak RSS MB': Math.round(ours) },
    { mode: 'centroid', engine: `audience-engine (${tf.getBackend()})`, 'rows/s': Math.round(centroid.rowsPerS), 'peak RSS MB': Math.round(ours) },
  ];
  const notes = [`${n} visitors x ${s} seeds, d=${d}, cosine (rows L2-normalized); batches keep rows x seeds near 8M floats (${index.batchRows()} rows), never N x S.`];
  const py = findPython(['faiss', 'numpy']);
  if (py) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-'));
    fs.writeFileSync(path.join(tmp, 'x.f32'), x);
    fs.writeFileSync(path.join(tmp, 's.f32'), seeds);
    const peer = runPeer(py, 'faiss_search.py', { x: path.join(tmp, 'x.f32'), seeds: path.join(tmp, 's.f32'), d, k });
    fs.rmSync(tmp, { recursive: true, force: true });
    const f = peer as { knn_rows_per_s: number; centroid_rows_per_s: number; peak_rss_mb: number; threads: number; knn_first: number[]; faiss: string };
    rows.push(
      { mode: `k=${k} nearest seeds`, engine: `FAISS ${f.faiss} IndexFlatIP (${f.threads} threads)`, 'rows/s': Math.round(f.knn_rows_per_s), 'peak RSS MB': Math.round(f.peak_rss_mb) },
      { mode: 'centroid', engine: 'numpy matmul', 'rows/s': Math.round(f.centroid_rows_per_s), 'peak RSS MB': Math.round(f.peak_rss_mb) },
    );
    rows[0]['ours / peer'] = (knn.rowsPerS / f.knn_rows_per_s).toFixed(2);
    rows[1]['ours / peer'] = (centroid.rowsPerS / f.centroid_rows_per_s).toFixed(2);
    const agree = knn.first.every((v, i) => Math.abs(v - f.knn_first[i]) < 1e-4);
    notes.push(`First five k-nearest similarities ${agree ? 'agree' : 'DIFFER'} with FAISS (|diff| < 1e-4).`);
  } else notes.push('FAISS not importable: apt-get install python3-faiss for the peer rows');
  await report('lookalike', rows, notes);
}

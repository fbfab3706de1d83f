/**
 * Propensity benchmark: training samples/s and scoring rows/s of a 32 -> 128 -> 64 -> 1 MLP,
 * batch 4096, on 1M synthetic rows, vs scikit-learn's MLPClassifier (same architecture,
 * batch and data) in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { fitMlp, predictLogits } from '../src/models/nn/fit.js';
import { findPython, median, option, report, runPeer, timeIt } from './common.js';
import { labeledRows } from './data.js';

const D = 32;

export async function run(args: string[]): Promise<void> {
  await initBackend();
  const n = Number(option(args, 'rows') ?? 1_000_000);
  const epochs = 2;
  const data = labeledRows(n, D, 1);
  const { x, y } = data;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const valid = all.subarray(0, 10_000);
  const fit = await fitMlp(data, all, valid, { inputs: D, hidden: [128, 64], dropout: 0, l2: 1e-4, learningRate: 1e-3, seed: 1 }, { batchSize: 4096, maxEpochs: epochs, patience: 99, classWeight: 'none' });
  const scoreMs = median(await timeIt(() => predictLogits(fit.mlp, data, all), 3));
  fit.mlp.dispose();
  const row: Record<string, string | number> = {
    rows: n,
    net: '32-128-64-1',
    batch: 4096,
    backend: tf.getBackend(),
    'train samples/s': Math.round(fit.samplesPerSecond),
    'score rows/s': Math.round(n / (scoreMs / 1000)),
  };
  const notes = [`ours: ${epochs} epochs through the product's training loop (shuffled batches gathered from memory, per-epoch validation on 10k rows); scoring: logits in 65,536-row batches, median of 3.`];
  const py = findPython(['sklearn', 'numpy']);
  if (py) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-'));
    fs.writeFileSync(path.join(tmp, 'x.f32'), x);
    fs.writeFileSync(path.join(tmp, 'y.u8'), y);
    const peer = runPeer(py, 'mlp_sklearn.py', { x: path.join(tmp, 'x.f32'), y: path.join(tmp, 'y.u8'), d: D, hidden: [128, 64], batch: 4096, epochs });
    fs.rmSync(tmp, { recursive: true, force: true });
    row['sklearn train samples/s'] = Math.round(peer.train_samples_per_s as number);
    row['sklearn predict rows/s'] = Math.round(peer.predict_rows_per_s as number);
    row['train: ours / sklearn'] = (fit.samplesPerSecond / (peer.train_samples_per_s as number)).toFixed(2);
    row['score: ours / sklearn'] = (n / (scoreMs / 1000) / (peer.predict_rows_per_s as number)).toFixed(2);
    notes.push(`sklearn ${peer.sklearn} MLPClassifier(adam, same layers, batch 4096, alpha 1e-4), ${peer.epochs} epochs, all cores; predict_proba over all rows, median of 3.`);
  } else notes.push('scikit-learn not importable: apt-get install python3-sklearn for the peer columns');
  await report('propensity', [row], notes);
}

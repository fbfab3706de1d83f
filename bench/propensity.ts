/**
 * Propensity benchmark, two tables (bench/results/propensity.json, propensity-time-to-quality.json).
 * - Throughput: training samples/s and scoring rows/s of a 32 -> 128 -> 64 -> 1 MLP on 1M
 *   synthetic rows at each batch (`--batches=256,4096`: the ends of the product's default,
 *   min(4096, max(256, train rows / 50))), on each trainer (`--trainers=onnx,tfjs`), vs
 *   scikit-learn's MLPClassifier (same layers, batch and data) in the same run.
 * - Time to quality (`--quality-rows=1000000`, 0 leaves it out): `audience generate
 *   --visitors N --seed 3`, `audience features`, then `audience train propensity` with every
 *   default as a user runs it (wall time, test ROC-AUC from the saved report); beside it
 *   XGBoost with its defaults fitted on the same training + validation rows (the product's
 *   split and model inputs) and scored on the same test rows. The ETA honesty: the MLP
 *   stage's progress lines (a line every 5 s in a log) as they arrive; at 10%, 25% and 50% of
 *   the stage's real time, the total the last line shown implies (time so far + its ETA)
 *   over the real total.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { initBackend, tf } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { loadSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { fitMlp, predictLogits, type Trainer } from '../src/models/nn/fit.js';
import { optionsOf } from '../src/models/params.js';
import { PROPENSITY_KIND } from '../src/models/propensity/kind.js';
import { PROPENSITY } from '../src/models/propensity/train.js';
import { BENCH_DIR, findPython, median, option, report, runPeer, timeIt } from './common.js';
import { labeledRows } from './data.js';

const D = 32;
const ROOT = path.resolve(BENCH_DIR, '..');

/** Training samples/s per batch and trainer, scoring rows/s, and the peer's. */
async function throughput(args: string[], py: string | null, tmp: string) {
  const n = Number(option(args, 'rows') ?? 1_000_000);
  const batches = (option(args, 'batches') ?? '256,4096').split(',').map(Number);
  const trainers = (option(args, 'trainers') ?? 'onnx,tfjs').split(',') as Trainer[];
  const epochs = 2;
  const data = labeledRows(n, D, 1);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const valid = all.subarray(0, 10_000);
  const rows: Array<Record<string, string | number>> = [];
  if (py) {
    fs.writeFileSync(path.join(tmp, 'x.f32'), data.x);
    fs.writeFileSync(path.join(tmp, 'y.u8'), data.y);
  }
  for (const batch of batches) {
    const row: Record<string, string | number> = { rows: n, net: '32-128-64-1', batch, backend: tf.getBackend() };
    for (const trainer of trainers) {
      const fit = await fitMlp(data, all, valid, { inputs: D, hidden: [128, 64], dropout: 0, l2: 1e-4, learningRate: 1e-3, seed: 1 }, { batchSize: batch, maxEpochs: epochs, patience: 99, classWeight: 'none', trainer });
      row[`${trainer} train samples/s`] = Math.round(fit.samplesPerSecond);
      if (trainer === trainers[0] && batch === batches[0]) row['score rows/s'] = Math.round(n / (median(await timeIt(() => predictLogits(fit.mlp, data, all), 3)) / 1000));
      fit.mlp.dispose();
      process.stdout.write(`batch ${batch} ${trainer}: ${Math.round(fit.samplesPerSecond)} samples/s\n`);
    }
    if (py) {
      const peer = runPeer(py, 'mlp_sklearn.py', { x: path.join(tmp, 'x.f32'), y: path.join(tmp, 'y.u8'), d: D, hidden: [128, 64], batch, epochs });
      const sk = peer.train_samples_per_s as number;
      row['sklearn train samples/s'] = Math.round(sk);
      for (const trainer of trainers) row[`${trainer} / sklearn`] = ((row[`${trainer} train samples/s`] as number) / sk).toFixed(2);
      if (row['score rows/s']) row['score: ours / sklearn'] = ((row['score rows/s'] as number) / (peer.predict_rows_per_s as number)).toFixed(2);
    }
    rows.push(row);
  }
  return rows;
}

/** Runs the CLI in `cwd`; returns its stdout and wall seconds. @throws Error with its stderr when it fails. */
function audience(args: string[], cwd: string): { stdout: string; seconds: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/audience.js'), ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`audience ${args.join(' ')} failed: ${r.stderr}`);
  return { stdout: r.stdout, seconds: (performance.now() - started) / 1000 };
}

/** Runs the CLI in `cwd` with each stderr line as it arrives (`at`: seconds from the start); returns them and the wall seconds. @throws Error when it fails. */
async function audienceLines(args: string[], cwd: string): Promise<{ seconds: number; lines: Array<{ at: number; text: string }> }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/audience.js'), ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: Array<{ at: number; text: string }> = [];
  readline.createInterface({ input: child.stderr }).on('line', (text) => lines.push({ at: (performance.now() - started) / 1000, text }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`audience ${args.join(' ')} failed: ${lines.map((l) => l.text).join('\n')}`);
  return { seconds: (performance.now() - started) / 1000, lines };
}

/** Seconds from progress.ts's short form (fmtSecs): "12.3s", "4m05s". */
function parseSecs(text: string): number {
  const m = /^(?:(\d+)m)?([\d.]+)s$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
}

/**
 * The ETA of `stage`'s progress lines against its real time: for each fraction f of the stage's
 * real time, the total implied by the last line shown by then (time so far + its ETA, the
 * expected one when there is one), over the real total ("95.1s (0.68x)").
 */
function etaHonesty(lines: Array<{ at: number; text: string }>, stage: string, fractions: number[]): Record<string, string> {
  const summary = lines.find((l) => l.text.startsWith(`${stage} `) && / in (\S+)/.test(l.text) && !/ eta /.test(l.text));
  if (!summary) throw new Error(`no summary line for ${stage}`);
  const total = parseSecs(/ in (\S+)/.exec(summary.text)![1]);
  const start = summary.at - total;
  const out: Record<string, string> = {};
  for (const f of fractions) {
    const shown = lines.filter((l) => l.text.startsWith(`${stage} `) && / eta /.test(l.text) && l.at <= start + f * total).pop();
    const key = `${stage} ETA at ${Math.round(f * 100)}%: total (x real)`;
    if (!shown) {
      out[key] = 'no line yet';
      continue;
    }
    const implied = shown.at - start + parseSecs(/ eta ~?(\S+)/.exec(shown.text)![1]);
    out[key] = `${implied.toFixed(1)}s (${(implied / total).toFixed(2)}x)`;
  }
  out[`${stage} real, s`] = total.toFixed(1);
  return out;
}

/** The 1M-row training with every default (docs/benchmarks.md, Quality), timed, beside XGBoost on the same rows. */
async function timeToQuality(n: number, py: string | null, tmp: string): Promise<Record<string, string | number>> {
  audience(['generate', '--visitors', String(n), '--seed', '3', '--out', 'visitors.parquet'], tmp);
  audience(['features', '--input', 'visitors.parquet', '--exclude', 'converted,true_segment', '--out', 'features.json'], tmp);
  const train = await audienceLines(['train', 'propensity', '--input', 'visitors.parquet', '--features', 'features.json', '--label', 'converted', '--name', 'purchase', '--store', 'models'], tmp);
  const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'models/purchase/1/manifest.json'), 'utf8'));
  const metrics = manifest.metrics as { test: { mlp: { rocAuc: number } }; history: unknown[]; bestEpoch: number; training: { seconds: number; samplesPerSecond: number } };
  const row: Record<string, string | number> = {
    rows: n,
    'audience train propensity, s': train.seconds.toFixed(1),
    'of which the MLP, s': metrics.training.seconds.toFixed(1),
    epochs: `${metrics.history.length} (best ${metrics.bestEpoch})`,
    'MLP samples/s': Math.round(metrics.training.samplesPerSecond),
    'test ROC-AUC': metrics.test.mlp.rocAuc.toFixed(4),
    ...etaHonesty(train.lines, 'mlp', [0.1, 0.25, 0.5]),
  };
  if (py) {
    // The same split and model inputs as the CLI's run: its prepare step again, in this process.
    const data = await openDataset([path.join(tmp, 'visitors.parquet')]);
    const transform = await fitTransform(data, loadSpec(path.join(tmp, 'features.json')));
    const prepared = await PROPENSITY.prepare(data, transform, optionsOf(PROPENSITY_KIND, 'purchase', { label: 'converted' }));
    const { labeled, split } = prepared;
    fs.writeFileSync(path.join(tmp, 'qx.f32'), labeled.x);
    fs.writeFileSync(path.join(tmp, 'qy.u8'), labeled.y);
    const fitRows = new Int32Array(split.train.length + split.valid.length);
    fitRows.set(split.train);
    fitRows.set(split.valid, split.train.length);
    fs.writeFileSync(path.join(tmp, 'qfit.i32'), fitRows);
    fs.writeFileSync(path.join(tmp, 'qtest.i32'), split.test);
    const peer = runPeer(py, 'xgb_fit.py', { x: path.join(tmp, 'qx.f32'), y: path.join(tmp, 'qy.u8'), d: labeled.d, fit: path.join(tmp, 'qfit.i32'), test: path.join(tmp, 'qtest.i32') });
    row['XGBoost fit, s'] = (peer.fit_seconds as number).toFixed(1);
    row['XGBoost test ROC-AUC'] = (peer.roc_auc as number).toFixed(4);
  }
  return row;
}

export async function run(args: string[]): Promise<void> {
  await initBackend();
  const py = findPython(['sklearn', 'numpy']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-'));
  const notes = [
    `throughput: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} at the start; 2 epochs through the product's training loop (shuffled batches gathered from memory, per-epoch validation on 10k rows); onnx: the native step on onnxruntime (every core), tfjs: the ${tf.getBackend()} backend; scoring: logits in 65,536-row batches on tfjs, median of 3.`,
  ];
  try {
    const rows = await throughput(args, py, tmp);
    if (py) notes.push('sklearn (Debian python3-sklearn) MLPClassifier(adam, same layers and batch, alpha 1e-4), 2 epochs, all cores; predict_proba over all rows, median of 3.');
    else notes.push('scikit-learn not importable: apt-get install python3-sklearn for the peer columns');
    await report('propensity', rows, notes);
    const quality = Number(option(args, 'quality-rows') ?? 1_000_000);
    if (quality > 0) {
      const xgb = findPython(['xgboost', 'sklearn']);
      const row = await timeToQuality(quality, xgb, tmp);
      await report('propensity-time-to-quality', [row], [
        `wall time of 'audience train propensity' (every default, trainer auto) on 'audience generate --visitors ${quality} --seed 3' with the inferred features (load, fit, baseline, evaluation, importance, save), load average ${os.loadavg()[0].toFixed(2)} at its end; XGBoost ${xgb ? '' : '(not importable: apt-get install python3-xgboost) '}defaults (n_jobs = all cores) fitted on the same training + validation rows and model inputs, ROC-AUC on the same test rows.`,
      ]);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Scoring benchmark, three questions measured in the same run:
 * 0. The engines side by side: per model kind, rows/s of the tfjs path (the JavaScript
 *    transform, then the model on tfjs-wasm, one thread) and of the ONNX graph on
 *    onnxruntime-node (transform included) with one intra-op thread (per core) and with
 *    every core, on the same batches already read; and one visitor scored by the three graphs (K-Means, propensity, anomaly)
 *    in process (median latency over 2,000 calls).
 * 1. What `--top-features` costs: a propensity MLP's forward pass (logits) against the forward
 *    pass plus gradient x input (what `_top_features` needs), same model, same rows.
 * 2. Whether shard worker threads help on this machine: `audience score` (K-Means +
 *    propensity) on the same file in process (AUDIENCE_WORKERS=0) and on 2 worker threads.
 */
import { kindOf } from '../src/models/kinds.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { fitMlp } from '../src/models/nn/fit.js';
import { gradientTimesInput } from '../src/models/propensity/model.js';
import { BENCH_DIR, median, option, report, timeIt } from './common.js';
import { openDataset } from '../src/io/dataset.js';
import type { ColumnBatch } from '../src/io/columns.js';
import { columnRequest, scoringRequest, transform } from '../src/features/transform.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore } from '../src/models/registry.js';
import { OnnxScorer } from '../src/models/onnx/session.js';
import { labeledRows } from './data.js';

const BIN = path.join(BENCH_DIR, '..', 'bin', 'audience.js');

/** Runs the CLI in `dir`; returns wall seconds. @throws Error when it fails. */
function cli(dir: string, env: Record<string, string>, ...args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), ...env } });
  if (r.status !== 0) throw new Error(`audience ${args.join(' ')} failed: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

async function topFeaturesCost(rows: number): Promise<Record<string, string | number>> {
  await initBackend();
  const d = 32;
  const data = labeledRows(rows, d, 1);
  const all = Int32Array.from({ length: rows }, (_, i) => i);
  const fit = await fitMlp(data, all, all.subarray(0, 1000), { inputs: d, hidden: [128, 64], dropout: 0, l2: 1e-4, learningRate: 1e-3, seed: 1 }, { batchSize: 4096, maxEpochs: 1, patience: 9, classWeight: 'none' });
  const batch = 65_536;
  const pass = async (withGradient: boolean) => {
    for (let s = 0; s < rows; s += batch) {
      const m = Math.min(batch, rows - s);
      const x = tf.tensor2d(data.x.subarray(s * d, (s + m) * d), [m, d]);
      const z = fit.mlp.logits(x);
      await z.data();
      z.dispose();
      if (withGradient) {
        const a = gradientTimesInput(fit.mlp, x);
        await a.data();
        a.dispose();
      }
      x.dispose();
    }
  };
  const forward = median(await timeIt(() => pass(false), 3));
  const withGradient = median(await timeIt(() => pass(true), 3));
  fit.mlp.dispose();
  return { measure: `propensity ${rows} rows, 32-128-64-1`, 'without ms': Math.round(forward), 'with ms': Math.round(withGradient), 'with / without': (withGradient / forward).toFixed(2) };
}

function workersGain(rows: number): Record<string, string | number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-scoring-'));
  try {
    cli(dir, {}, 'generate', '--visitors', String(rows), '--out', 'v.parquet', '--quiet');
    cli(dir, {}, 'train', 'kmeans', '--input', 'v.parquet', '--k', '4', '--n-init', '1', '--name', 'seg', '--exclude', 'email,converted,true_segment', '--quiet');
    cli(dir, {}, 'train', 'propensity', '--input', 'v.parquet', '--label', 'converted', '--exclude', 'email,true_segment', '--name', 'p', '--max-epochs', '3', '--quiet');
    const run = (workers: string) => cli(dir, { AUDIENCE_WORKERS: workers }, 'score', '--input', 'v.parquet', '--model', 'seg', '--model', 'p', '--output', `out${workers}`, '--overwrite', '--quiet');
    const inProcess = median([run('0'), run('0')]);
    const threads = median([run('2'), run('2')]);
    return { measure: `audience score ${rows} rows, K-Means + MLP (wall s, process start included)`, 'without ms': Math.round(inProcess * 1000), 'with ms': Math.round(threads * 1000), 'with / without': (threads / inProcess).toFixed(2) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Trains a K-Means, a propensity and an anomaly model on `rows` generated visitors in `dir`; returns the file. */
function trainedModels(dir: string, rows: number): string {
  cli(dir, {}, 'generate', '--visitors', String(rows), '--out', 'v.parquet', '--quiet');
  cli(dir, {}, 'train', 'kmeans', '--input', 'v.parquet', '--k', '8', '--n-init', '1', '--name', 'seg', '--exclude', 'email,converted,true_segment', '--quiet');
  cli(dir, {}, 'train', 'propensity', '--input', 'v.parquet', '--label', 'converted', '--exclude', 'email,true_segment', '--name', 'p', '--max-epochs', '3', '--quiet');
  cli(dir, {}, 'train', 'anomaly', '--input', 'v.parquet', '--name', 'out', '--exclude', 'email,converted,true_segment', '--quiet');
  return path.join(dir, 'v.parquet');
}

/** Per kind: tfjs (transform + model, wasm) against the ONNX graph on 1 and on every core; one visitor's latency. */
async function engines(rows: number): Promise<Array<Record<string, string | number>>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bench-engines-'));
  try {
    const file = trainedModels(dir, rows);
    await initBackend();
    const store = new ModelStore(path.join(dir, 'models'));
    const out: Array<Record<string, string | number>> = [];
    const singles: Array<(b: ColumnBatch) => Promise<unknown>> = [];
    let one: ColumnBatch | undefined;
    for (const ref of ['seg', 'p', 'out']) {
      const model = await loadScoringModel(store, ref, { engine: 'tfjs' });
      const { manifest, weights } = store.load(ref);
      const names = model.outputs.map((o) => o.name);
      const graph = await kindOf(manifest.kind).graph!();
      const [single, all] = [await OnnxScorer.create(manifest, weights, graph, names, 1), await OnnxScorer.create(manifest, weights, graph, names, os.availableParallelism())];
      const batches: ColumnBatch[] = [];
      // As a score job reads them (categoricals as level codes); one visitor as a request gives it (text).
      for await (const b of (await openDataset([file])).read(scoringRequest(model.transform))) batches.push(b);
      if (!one) for await (const b of (await openDataset([file])).read(columnRequest(model.transform), { limit: 1 })) one ??= sliceBatch(b);
      const pass = (f: (b: ColumnBatch) => Promise<unknown>) => async () => {
        for (const b of batches) await f(b);
      };
      const tfjs = median(await timeIt(pass((b) => model.score(transform(model.transform, b))), 3));
      const ort1 = median(await timeIt(pass((b) => single.run(b)), 3));
      const ortAll = median(await timeIt(pass((b) => all.run(b)), 3));
      const perSec = (ms: number) => Math.round((rows / ms) * 1000);
      out.push({ measure: `${manifest.kind} ${rows} rows: rows/s`, tfjs: perSec(tfjs), 'onnx 1 thread': perSec(ort1), [`onnx ${os.availableParallelism()} threads`]: perSec(ortAll), 'onnx / tfjs per core': (tfjs / ort1).toFixed(2) });
      singles.push((b) => single.run(b));
      model.dispose();
    }
    const calls = await timeIt(async () => {
      for (const f of singles) await f(one!);
    }, 2000, 50);
    out.push({ measure: 'one visitor, the three graphs in process: median us', tfjs: '-', 'onnx 1 thread': Math.round(median(calls) * 1000), [`onnx ${os.availableParallelism()} threads`]: '-', 'onnx / tfjs per core': '-' });
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The first row of a batch as a batch. */
function sliceBatch(b: ColumnBatch): ColumnBatch {
  return { ...b, rows: 1, columns: new Map([...b.columns].map(([k, v]) => [k, v.slice(0, 1)])) };
}

export async function run(args: string[]): Promise<void> {
  const rows = Number(option(args, 'rows') ?? 262_144);
  const scoreRows = Number(option(args, 'score-rows') ?? 1_200_000);
  const engineRows = Number(option(args, 'engine-rows') ?? 500_000);
  // A size of 0 leaves that part out.
  const parts = [...(engineRows ? await engines(engineRows) : []), ...(rows ? [await topFeaturesCost(rows)] : []), ...(scoreRows ? [workersGain(scoreRows)] : [])];
  await report('scoring', parts, [
    'engine rows: the same batches already read (65,536 rows); tfjs = the JavaScript transform + the model on tfjs (wasm, one thread); onnx = the whole graph on onnxruntime-node (CPU provider); median of 3.',
    'row 1: without = logits only, with = logits + gradient x input (--top-features); median of 3.',
    `row 2: without = in process (AUDIENCE_WORKERS=0), with = 2 shard worker threads (AUDIENCE_WORKERS=2), on ${os.cpus().length} cores; median of 2 runs each.`,
  ]);
}

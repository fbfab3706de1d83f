/**
 * GPU suite: the issue's three measurements on whatever backend this process selects
 * (webgpu on a GPU host), each beside PyTorch doing the same work on the same data in the
 * same run (CUDA when PyTorch sees the GPU):
 *   1. one K-Means Lloyd step at N x 32, K = 16, data resident on the device, also against
 *      the memory-bandwidth bound (the feature matrix read once at --hbm-tbps);
 *   2. MLP (32-128-64-1) training samples/s through the product's training loop;
 *   3. scoring rows/s (host rows in, logits back to the host), on tfjs and as the model's ONNX
 *      graph on onnxruntime's WebGPU and CPU providers.
 * On a GPU host without internet: bench/gpu-host/pack.sh here, bench/gpu-host/run.sh there (docs/benchmarks.md, "GPU benchmarks").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/compute/backend.js';
import { fusedKernels } from '../src/compute/webgpu.js';
import { memorySource } from '../src/features/blocks.js';
import { loadKMeansData } from '../src/models/kmeans/data.js';
import { kmeansPlusPlus } from '../src/models/kmeans/fit.js';
import { assignAndSum } from '../src/models/kmeans/kernels.js';
import { fitMlp, predictLogits, type Labeled } from '../src/models/nn/fit.js';
import { Rng } from '../src/util/rng.js';
import ort from 'onnxruntime-node';
import type { Mlp, MlpConfig } from '../src/models/nn/mlp.js';
import { PROPENSITY_GRAPH, scoringGraph } from '../src/models/onnx/model-graphs.js';
import type { OnnxProvider } from '../src/models/onnx/session.js';
import type { Manifest } from '../src/models/registry.js';
import { findPython, median, option, report, runPeer, timeIt } from './common.js';
import { blobs, blocksOf, labeledRows } from './data.js';

const D = 32;
const K = 16;
const HIDDEN = [128, 64];
const L2 = 1e-4;
/** The peer's scoring batch; ours is Mlp.rowsPerPass(), the same 65,536 rows at these widths. */
const SCORE_BATCH = 65_536;

/** Peak memory bandwidth (TB/s) of the GPUs we know by name, for the K-Means bound. */
const KNOWN_TBPS: Array<[RegExp, number]> = [
  [/H200/i, 4.8],
  [/H100.*NVL/i, 3.9],
  [/H100.*PCIe/i, 2.0],
  [/H100/i, 3.35],
  [/A100.*80/i, 2.0],
  [/A100/i, 1.55],
];

type Row = Record<string, string | number>;

const suiteStart = performance.now();
/** One line on stderr as each phase starts, with the seconds since the suite began (a run that is stopped shows where). */
function phase(what: string): void {
  process.stderr.write(`[${((performance.now() - suiteStart) / 1000).toFixed(1)} s] ${what}\n`);
}

function ratioRow(work: string, unit: string, ours: number, peer: number | undefined, goal: string, met?: (ratio: number) => boolean): Row {
  const fmt = (v: number) => (unit === 'ms' ? v.toFixed(2) : Math.round(v).toLocaleString('en-US'));
  const ratio = peer === undefined ? undefined : ours / peer;
  return {
    work,
    unit,
    ours: fmt(ours),
    peer: peer === undefined ? 'n/a' : fmt(peer),
    'ours / peer': ratio === undefined ? 'n/a' : ratio.toFixed(2),
    goal,
    met: ratio === undefined || !met ? '' : met(ratio) ? 'yes' : 'no',
  };
}

/** Runs fn with tfjs's generic ops in place of our WGSL kernels (AUDIENCE_WEBGPU_FUSED=0). */
/**
 * Rows/s of the MLP's scoring graph (models/onnx: the model's part, fed the block transposed)
 * on onnxruntime's `provider`, batches of SCORE_BATCH rows prepared before timing; median of 3.
 */
async function ortRowsPerSecond(mlp: Mlp, config: MlpConfig, data: Labeled, rows: number, provider: OnnxProvider): Promise<number> {
  const features = { id: { column: null, as: 'row' }, features: [], reads: {}, outputs: Array.from({ length: D }, (_, j) => `x${j}`), onInvalid: 'impute', rows, fingerprint: '' } as unknown as Manifest['features'];
  const manifest = { kind: 'propensity', name: 'bench', version: 1, createdAt: '', backend: { name: '', device: '' }, features, params: {}, state: { mlp: config, calibration: { method: 'none' } }, metrics: {}, data: { inputs: [], rows, fingerprint: '' } } as Manifest;
  const weights = new Map((await mlp.toWeights()).map((w) => [w.name, w]));
  const session = await ort.InferenceSession.create(scoringGraph(manifest, weights, PROPENSITY_GRAPH, false, true), { executionProviders: provider === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'], intraOpNumThreads: os.availableParallelism() });
  const feeds: Array<Record<string, ort.Tensor>> = [];
  for (let at = 0; at < rows; at += SCORE_BATCH) {
    const n = Math.min(SCORE_BATCH, rows - at);
    const xT = new Float32Array(n * D);
    for (let r = 0; r < n; r++) for (let j = 0; j < D; j++) xT[j * n + r] = data.x[(at + r) * D + j];
    feeds.push({ xT: new ort.Tensor('float32', xT, [D, n]) });
  }
  const ms = median(await timeIt(async () => {
    for (const f of feeds) await session.run(f);
  }, 3));
  await session.release();
  return rows / (ms / 1000);
}

async function withoutFusedKernels<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.AUDIENCE_WEBGPU_FUSED;
  process.env.AUDIENCE_WEBGPU_FUSED = '0';
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.AUDIENCE_WEBGPU_FUSED;
    else process.env.AUDIENCE_WEBGPU_FUSED = saved;
  }
}

export async function run(args: string[]): Promise<void> {
  const info = await initBackend();
  const fused = fusedKernels();
  const n = Number(option(args, 'rows') ?? 10_000_000);
  const mlpRows = Number(option(args, 'mlp-rows') ?? 1_000_000);
  const batches = (option(args, 'batches') ?? '4096,32768').split(',').map(Number);
  const epochs = Number(option(args, 'epochs') ?? 2);
  const reps = Number(option(args, 'reps') ?? 10);
  const py = findPython(['torch', 'numpy']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-gpu-bench-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  let mismatch: string | undefined;
  try {
    // --- 1. K-Means step -------------------------------------------------------------
    process.stdout.write(`K-Means: generating ${n.toLocaleString('en-US')} x ${D} rows...\n`);
    const x = blobs(n, D, K, 1);
    phase('K-Means: k-means++ seeds and the data loaded on the device');
    const init = kmeansPlusPlus(x.subarray(0, 20_000 * D), 20_000, D, K, new Rng(2));
    const kd = await loadKMeansData(memorySource(blocksOf(x, D, 1 << 20)), { k: K, sampleSize: 1000, seed: 1 });
    if (!kd.resident) notes.push(`K-Means data was not resident on ${tf.getBackend()} (over AUDIENCE_RESIDENT_MB): the step streams from host memory`);
    phase(`K-Means: ${reps} timed steps`);
    const ourMs = median(await timeIt(() => assignAndSum(kd, init, K), reps, 2));
    const ourStep = await assignAndSum(kd, init, K);
    // Our WGSL kernels against the tfjs ops they replace, on the same resident data.
    // The generic ops take ~0.9 s per million rows on an H200 (13.7 s at 10M): 3 timed steps
    // after 1 warm-up say what they need to, where --reps of them would eat the host's time.
    phase('K-Means: the same step with tfjs generic ops');
    const genericMs = fused ? median(await withoutFusedKernels(() => timeIt(() => assignAndSum(kd, init, K), Math.min(reps, 3), 1))) : undefined;
    kd.dispose();

    let peerKm: { ms_per_iter: number; counts: number[] } | undefined;
    let peerInfo: { device: string; torch: string; threads: number } | undefined;
    if (py) {
      fs.writeFileSync(path.join(tmp, 'x.f32'), x);
      fs.writeFileSync(path.join(tmp, 'c.f32'), init);
      phase('K-Means: PyTorch');
      const r = runPeer(py, 'gpu_torch.py', { kmeans: { data: path.join(tmp, 'x.f32'), init: path.join(tmp, 'c.f32'), d: D, k: K, reps } });
      fs.rmSync(path.join(tmp, 'x.f32'));
      peerKm = r.kmeans as typeof peerKm;
      peerInfo = r as unknown as typeof peerInfo;
    }

    // --- 2./3. MLP training and scoring ---------------------------------------------
    const data: Labeled = labeledRows(mlpRows, D, 1);
    if (py) {
      fs.writeFileSync(path.join(tmp, 'mx.f32'), data.x);
      fs.writeFileSync(path.join(tmp, 'my.u8'), data.y);
    }
    const all = Int32Array.from({ length: mlpRows }, (_, i) => i);
    const valid = all.subarray(0, Math.min(10_000, mlpRows));
    const config = { inputs: D, hidden: HIDDEN, dropout: 0, l2: L2, learningRate: 1e-3, seed: 1 };
    const mlpResults: Array<{ batch: number; ours: number; peer?: number; generic?: number }> = [];
    let scoreOurs = 0;
    let scorePeer: number | undefined;
    const ortScoring: Partial<Record<OnnxProvider, number>> = {};
    for (const batch of batches) {
      phase(`MLP: batch ${batch}`);
      // A short fit first: shader compilation and buffer pools are not what we measure (PyTorch warms up too).
      (await fitMlp(data, all.subarray(0, Math.min(mlpRows, batch * 8)), valid, config, { batchSize: batch, maxEpochs: 1, patience: 99, classWeight: 'none' })).mlp.dispose();
      const fit = await fitMlp(data, all, valid, config, { batchSize: batch, maxEpochs: epochs, patience: 99, classWeight: 'none' });
      const first = batch === batches[0];
      if (first) scoreOurs = mlpRows / (median(await timeIt(() => predictLogits(fit.mlp, data, all), 3)) / 1000);
      if (first) for (const provider of ['webgpu', 'cpu'] as const) ortScoring[provider] = await ortRowsPerSecond(fit.mlp, config, data, mlpRows, provider);
      fit.mlp.dispose();
      let generic: number | undefined;
      if (fused && first) {
        const base = await withoutFusedKernels(() => fitMlp(data, all, valid, config, { batchSize: batch, maxEpochs: epochs, patience: 99, classWeight: 'none' }));
        generic = base.samplesPerSecond;
        base.mlp.dispose();
      }
      let peer: number | undefined;
      if (py) {
        const r = runPeer(py, 'gpu_torch.py', {
          mlp: { x: path.join(tmp, 'mx.f32'), y: path.join(tmp, 'my.u8'), d: D, hidden: HIDDEN, l2: L2, batch, epochs, score: first, score_batch: SCORE_BATCH },
        });
        peer = r.train_samples_per_s as number;
        if (first) scorePeer = r.score_rows_per_s as number;
      }
      mlpResults.push({ batch, ours: fit.samplesPerSecond, peer, generic });
    }

    const peerDevice = peerInfo?.device;
    const device = `${info.device} ${peerDevice ?? ''}`;
    const tbps = Number(option(args, 'hbm-tbps') ?? KNOWN_TBPS.find(([re]) => re.test(device))?.[1] ?? NaN);

    rows.push(ratioRow(`K-Means step ${n.toLocaleString('en-US')} x ${D}, K=${K}`, 'ms', ourMs, peerKm?.ms_per_iter, 'ours <= PyTorch', (r) => r <= 1));
    if (Number.isFinite(tbps)) {
      const boundMs = (n * D * 4) / (tbps * 1e9);
      rows.push({ ...ratioRow(`K-Means step vs bandwidth bound (${tbps} TB/s)`, 'ms', ourMs, boundMs, 'within 5x', (r) => r <= 5), peer: `${boundMs.toFixed(3)} (bound)` });
    } else notes.push('bandwidth bound: unknown GPU; pass --hbm-tbps=<TB/s> for that row');
    for (const m of mlpResults) {
      rows.push(ratioRow(`MLP 32-128-64-1 training, batch ${m.batch}`, 'samples/s', m.ours, m.peer, 'ours >= 0.5x PyTorch', (r) => r >= 0.5));
    }
    if (genericMs !== undefined) rows.push(ratioRow('K-Means step: fused WGSL vs tfjs generic ops (peer column)', 'ms', ourMs, genericMs, ''));
    const withGeneric = mlpResults.find((m) => m.generic !== undefined);
    if (withGeneric) rows.push(ratioRow(`MLP training, batch ${withGeneric.batch}: fused Adam vs tf.train.adam (peer column)`, 'samples/s', withGeneric.ours, withGeneric.generic, ''));
    rows.push(ratioRow(`scoring ${mlpRows.toLocaleString('en-US')} rows (batches of ${SCORE_BATCH})`, 'rows/s', scoreOurs, scorePeer, ''));
    for (const [provider, rate] of Object.entries(ortScoring)) rows.push(ratioRow(`scoring ${mlpRows.toLocaleString('en-US')} rows, onnxruntime ${provider} provider (the model's graph)`, 'rows/s', rate, scorePeer, ''));

    // The two K-Means steps start from the same centroids: their cluster sizes should agree
    // (a few rows on a distance tie may go either way in float32).
    if (peerKm) {
      const moved = ourStep.counts.reduce((s, c, i) => s + Math.abs(c - peerKm.counts[i]), 0) / 2;
      notes.push(`K-Means check: the cluster sizes after one step differ from PyTorch's by ${moved} of ${n} rows (float32 distance ties)`);
      if (moved > n * 1e-4) mismatch = `K-Means step: cluster sizes differ from PyTorch's by ${moved} rows, more than rounding explains`;
    }
    notes.push(`ours: backend ${info.backend} on ${info.device}; PyTorch ${peerInfo?.torch ?? 'not importable (pip/apt: torch) — peer columns n/a'} on ${peerDevice ?? '-'}${peerDevice === 'cpu' ? ` (${peerInfo?.threads} threads)` : ''}.`);
    notes.push(`K-Means: median of ${reps} steps after 2 warm-ups, each ending with the sums read back to the host; ours reads [X | 1] (N x ${D + 1} floats); PyTorch: addmm + argmin + index_add_ + bincount, data resident, synchronized.`);
    notes.push('bandwidth bound: N x 32 x 4 bytes read once at the GPU\'s peak memory bandwidth.');
    if (genericMs !== undefined) notes.push(`K-Means generic ops (AUDIENCE_WEBGPU_FUSED=0): median of ${Math.min(reps, 3)} steps after 1 warm-up.`);
    notes.push(`MLP: ${epochs} epochs of ${mlpRows.toLocaleString('en-US')} rows after a warm-up; ours through the product's loop (batches gathered on the host, per-epoch validation); PyTorch: Adam, BCEWithLogits, data resident on the device, after one warm-up epoch.`);
    notes.push('scoring: both copy host rows to the device in batches and read the logits back; median of 3.');
    notes.push("onnxruntime rows: the MLP's ONNX graph (models/onnx, the model's part: calibration and 0-100 score included) fed batches of 65,536 rows transposed before timing; WebGPU provider (Dawn), or CPU provider on every core; median of 3.");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  await report('gpu', rows, notes);
  // After the report: the measurements are kept, and the run still fails.
  if (mismatch) throw new Error(mismatch);
}

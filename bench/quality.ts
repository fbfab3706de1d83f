/**
 * Propensity quality on the bundled UCI Online Shoppers data (label Revenue): the MLP and
 * its logistic baseline vs scikit-learn's logistic regression and MLP and XGBoost, each on
 * the same seeded stratified splits and the same transformed features. Mean and standard
 * deviation over the seeds, all measured on the test split.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { loadSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { stratifiedSplit } from '../src/models/propensity/checks.js';
import { loadLabeled, trainPropensity } from '../src/models/propensity/train.js';
import { ModelStore } from '../src/models/registry.js';
import { silentProgress } from '../src/util/progress.js';
import { BENCH_DIR, findPython, option, report, runPeer } from './common.js';

const ROOT = path.resolve(BENCH_DIR, '..');

export async function run(args: string[]): Promise<void> {
  await initBackend();
  const seeds = Number(option(args, 'seeds') ?? 5);
  const data = await openDataset([path.join(ROOT, 'examples/data/online_shoppers_intention.csv')]);
  const transform = await fitTransform(data, loadSpec(path.join(ROOT, 'examples/online_shoppers.features.json')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-quality-'));
  const store = new ModelStore(path.join(tmp, 'models'));
  const labeled = await loadLabeled(data, transform, 'Revenue', silentProgress);
  fs.writeFileSync(path.join(tmp, 'x.f32'), labeled.x);
  fs.writeFileSync(path.join(tmp, 'y.u8'), labeled.y);
  const py = findPython(['sklearn', 'numpy']);
  const results = new Map<string, Array<{ roc: number; pr: number; f1: number }>>();
  const add = (model: string, roc: number, pr: number, f1: number) => {
    if (!results.has(model)) results.set(model, []);
    results.get(model)!.push({ roc, pr, f1 });
  };
  for (let seed = 0; seed < seeds; seed++) {
    const { report: r, model } = await trainPropensity(data, transform, store, { name: 'q', label: 'Revenue', seed });
    model.dispose();
    add('audience-engine MLP (128,64)', r.test.mlp.rocAuc, r.test.mlp.prAuc, r.test.mlp.atThreshold.f1);
    add('audience-engine logistic baseline', r.test.baseline.rocAuc, r.test.baseline.prAuc, r.test.baseline.atThreshold.f1);
    if (py) {
      const split = stratifiedSplit(labeled.y, 0.15, 0.2, seed);
      for (const k of ['train', 'valid', 'test'] as const) fs.writeFileSync(path.join(tmp, `${k}.i32`), split[k]);
      const peers = runPeer(py, 'quality_peers.py', {
        x: path.join(tmp, 'x.f32'), y: path.join(tmp, 'y.u8'), d: labeled.d, seed,
        train: path.join(tmp, 'train.i32'), valid: path.join(tmp, 'valid.i32'), test: path.join(tmp, 'test.i32'),
      }) as unknown as Array<{ model: string; roc_auc: number; pr_auc: number; f1: number }>;
      for (const p of peers) add(p.model, p.roc_auc, p.pr_auc, p.f1);
    }
    process.stdout.write(`seed ${seed} done\n`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const stat = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
    return `${m.toFixed(4)} ± ${s.toFixed(4)}`;
  };
  const rows = [...results.entries()].map(([model, rs]) => ({
    model,
    'ROC-AUC': stat(rs.map((r) => r.roc)),
    'PR-AUC': stat(rs.map((r) => r.pr)),
    'F1 (threshold: max F1 on validation)': stat(rs.map((r) => r.f1)),
  }));
  await report('quality', rows, [
    `UCI Online Shoppers (12,330 sessions, 15.5% purchases), label Revenue; ${seeds} seeded stratified splits 65/15/20 (train/validation/test); mean ± sd on test.`,
    'Same transformed features for everyone (examples/online_shoppers.features.json); peers train on the train rows, XGBoost stops early on the validation rows.',
    py ? '' : 'Python peers not importable: apt-get install python3-sklearn python3-xgboost',
  ].filter(Boolean));
}

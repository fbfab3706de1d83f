/**
 * Propensity quality across datasets: the MLP (piecewise-linear numeric inputs, the
 * default, and standardized inputs) and its logistic baseline vs scikit-learn's logistic
 * regression and MLP and XGBoost, each on the same seeded stratified splits and the same
 * transformed features. Datasets: the bundled UCI Online Shoppers data (with its feature spec,
 * and with features inferred as `audience train` does without one) and UCI Adult data, and a
 * synthetic marketing table with known structure (a "999 = never contacted" sentinel, heavy
 * tails, an interaction, a non-monotone age effect). Mean and standard deviation over the
 * seeds of ROC-AUC, PR-AUC and log loss on the test split, and each other variant's paired
 * difference from the default over the same splits (mean, and a 95% t interval: a change
 * whose interval holds 0 is not shown by these seeds). `--no-peers` skips the Python peers.
 * `--datasets=shoppers,adult`,
 * `--seeds=5`, `--variants=default,refit` (variants whose name holds one of these), `--try="l2=0.0001
 * dropout=0.1"` (repeatable: the default with those train flags).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import { loadSpec, type FeatureSpec } from '../src/features/spec.js';
import { openDataset, type Dataset } from '../src/io/dataset.js';
import type { TrainPropensityOptions } from '../src/models/propensity/options.js';
import { PROPENSITY } from '../src/models/propensity/train.js';
import { camel, checkParams, optionsOf } from '../src/models/params.js';
import { PROPENSITY_KIND } from '../src/models/propensity/kind.js';
import { Rng } from '../src/util/rng.js';
import { BENCH_DIR, findPython, meanSd, option, report, runPeer } from './common.js';

const ROOT = path.resolve(BENCH_DIR, '..');

interface QualityDataset {
  name: string;
  about: string;
  /** The data, its feature spec and its 0/1 label column. */
  load(tmp: string): Promise<{ data: Dataset; spec: FeatureSpec; label: string }>;
}

/** The Adult income label as 0/1 (`>50K` is 1), in a copy: the engine takes 0/1, true/false, yes/no labels. */
function adultCopy(tmp: string): string {
  const lines = fs.readFileSync(path.join(ROOT, 'examples/data/adult.csv'), 'utf8').trimEnd().split('\n');
  const out = [lines[0].replace(/,income$/, ',high_income'), ...lines.slice(1).map((l) => l.replace(/,\s*(>50K|<=50K)\.?$/, (_m, v: string) => `,${v === '>50K' ? 1 : 0}`))];
  const file = path.join(tmp, 'adult01.csv');
  fs.writeFileSync(file, `${out.join('\n')}\n`);
  return file;
}

/**
 * A synthetic marketing table of `n` rows with known structure: pdays (999 = never
 * contacted, 85% of rows; recent contact converts), a lognormal call duration (log-linear
 * effect), age (young and old convert more), a signed heavy-tailed balance, a geometric
 * campaign count, an interaction x1 * x2, and a job category.
 */
function syntheticCopy(tmp: string, n = 30_000, seed = 5): string {
  const rng = new Rng(seed);
  const lines = ['pdays,duration,age,balance,campaign,x1,x2,job,y'];
  for (let i = 0; i < n; i++) {
    const contacted = rng.next() < 0.15;
    const pdays = contacted ? Math.floor(rng.next() * 30) : 999;
    const duration = Math.exp(4.5 + rng.normal());
    const age = 18 + Math.floor(rng.next() * 60);
    const balance = Math.exp(6 + 1.5 * rng.normal()) * (rng.next() < 0.1 ? -1 : 1);
    const campaign = 1 + Math.floor(-Math.log(1 - rng.next()) * 2);
    const [x1, x2] = [rng.normal(), rng.normal()];
    const job = ['admin', 'blue-collar', 'student', 'retired'][rng.int(4)];
    const z = -3 + (contacted ? 1.5 - pdays / 15 : 0) + 1.2 * Math.log(duration / 90) + (age < 25 || age > 60 ? 0.8 : 0) + 0.8 * x1 * x2 - 0.15 * campaign + (job === 'student' ? 0.5 : 0) + 0.3 * Math.sign(balance);
    lines.push([pdays, duration.toFixed(1), age, balance.toFixed(0), campaign, x1.toFixed(3), x2.toFixed(3), job, rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0].join(','));
  }
  const file = path.join(tmp, 'synthetic.csv');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function inferred(file: string, label: string) {
  const data = await openDataset([file]);
  return { data, spec: (await inferSpec(data, { exclude: [label] })).spec, label };
}

const DATASETS: QualityDataset[] = [
  {
    name: 'shoppers',
    about: 'UCI Online Shoppers (12,330 sessions, 15.5% purchases), label Revenue, features examples/online_shoppers.features.json',
    async load() {
      return {
        data: await openDataset([path.join(ROOT, 'examples/data/online_shoppers_intention.csv')]),
        spec: loadSpec(path.join(ROOT, 'examples/online_shoppers.features.json')),
        label: 'Revenue',
      };
    },
  },
  {
    name: 'shoppers-inferred',
    about: 'UCI Online Shoppers, features inferred (as `audience train` does without a spec: the integer-coded OperatingSystems, Browser, Region and TrafficType are numeric)',
    load: async () => inferred(path.join(ROOT, 'examples/data/online_shoppers_intention.csv'), 'Revenue'),
  },
  { name: 'adult', about: 'UCI Adult (32,561 people, 24% income >50K), features inferred', load: async (tmp) => inferred(adultCopy(tmp), 'high_income') },
  { name: 'synthetic', about: 'synthetic marketing table (30,000 rows; sentinel, heavy tails, interaction), features inferred', load: async (tmp) => inferred(syntheticCopy(tmp), 'y') },
];

/** The MLP variants measured: name and options. The first is the default. */
const VARIANTS: Array<[string, Partial<TrainPropensityOptions>]> = [
  ['audience-engine MLP, PLE inputs (default)', {}],
  ['audience-engine MLP, PLE inputs, no refit', { refit: 'no' }],
  ['audience-engine MLP, PLE inputs, 16 bins', { bins: 16 }],
  ['audience-engine MLP, PLE inputs, PLE-LR embedding 16', { embedding: 16 }],
  ['audience-engine MLP, standardized inputs', { numeric: 'standard' }],
  ['audience-engine MLP, PLE inputs, TabM-mini k=4', { ensemble: 4 }],
];

interface Score {
  roc: number;
  pr: number;
  logLoss: number;
}

/** Runs the suite: a table per dataset, and one with every model's mean rank. */
export async function run(args: string[]): Promise<void> {
  await initBackend();
  const seeds = Number(option(args, 'seeds') ?? 5);
  const only = option(args, 'datasets')?.split(',');
  const variants = option(args, 'variants')?.split(',');
  // `--try="l2=0.0001 dropout=0.1"` (repeatable): the default with those flags, as `audience train propensity` reads them.
  const tries = args.filter((a) => a.startsWith('--try=')).map((a) => a.slice(6));
  const measured: Array<[string, Partial<TrainPropensityOptions>]> = [
    ...VARIANTS.filter(([v]) => !variants || variants.some((w) => v.includes(w))),
    ...tries.map((t): [string, Partial<TrainPropensityOptions>] => {
      const flags = Object.fromEntries(t.split(/\s+/).map((kv) => kv.split('=') as [string, string]));
      const parsed = optionsOf(PROPENSITY_KIND, 'q', { label: 'y', ...checkParams(PROPENSITY_KIND, flags) }) as Record<string, unknown>;
      const given = Object.keys(flags).map(camel);
      return [`audience-engine MLP, PLE inputs, ${t}`, Object.fromEntries(given.map((k) => [k, parsed[k]]))];
    }),
  ];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-quality-'));
  const py = args.includes('--no-peers') ? undefined : findPython(['sklearn', 'numpy']);
  const rows: Array<Record<string, string>> = [];
  const notes: string[] = [];
  for (const ds of DATASETS.filter((d) => !only || only.includes(d.name))) {
    const { data, spec, label } = await ds.load(tmp);
    const transform = await fitTransform(data, spec);
    const results = new Map<string, Score[]>();
    const add = (model: string, s: Score) => results.set(model, [...(results.get(model) ?? []), s]);
    const seconds: Record<string, number[]> = {};
    for (let seed = 0; seed < seeds; seed++) {
      // The rows and this seed's split, read once for every variant and the peers.
      const prepared = await PROPENSITY.prepare(data, transform, { name: 'q', label, seed, allowSmall: true });
      const { labeled, split } = prepared;
      for (const [variant, options] of measured) {
        const started = performance.now();
        // Fitted and evaluated, never saved: the estimator's steps without the store.
        const opts: TrainPropensityOptions = { name: 'q', label, seed, allowSmall: true, ...options };
        const fitted = await PROPENSITY.fit(prepared, opts);
        const r = await PROPENSITY.evaluate(prepared, fitted, opts);
        fitted.dispose();
        (seconds[variant] ??= []).push((performance.now() - started) / 1000);
        const m = r.test.mlp;
        add(variant, { roc: m.rocAuc, pr: m.prAuc, logLoss: m.logLoss });
        if (variant === measured[0][0]) add('audience-engine logistic baseline', { roc: r.test.baseline.rocAuc, pr: r.test.baseline.prAuc, logLoss: r.test.baseline.logLoss });
      }
      if (py) {
        fs.writeFileSync(path.join(tmp, 'x.f32'), labeled.x);
        fs.writeFileSync(path.join(tmp, 'y.u8'), labeled.y);
        for (const k of ['train', 'valid', 'test'] as const) fs.writeFileSync(path.join(tmp, `${k}.i32`), split[k]);
        const peers = runPeer(py, 'quality_peers.py', {
          x: path.join(tmp, 'x.f32'), y: path.join(tmp, 'y.u8'), d: labeled.d, seed,
          train: path.join(tmp, 'train.i32'), valid: path.join(tmp, 'valid.i32'), test: path.join(tmp, 'test.i32'),
        }) as unknown as Array<{ model: string; roc_auc: number; pr_auc: number; log_loss: number }>;
        for (const p of peers) add(p.model, { roc: p.roc_auc, pr: p.pr_auc, logLoss: p.log_loss });
      }
      process.stderr.write(`${ds.name}: seed ${seed} done\n`);
    }
    for (const [model, rs] of results) {
      rows.push({ dataset: ds.name, model, 'ROC-AUC': meanSd(rs.map((r) => r.roc)), 'PR-AUC': meanSd(rs.map((r) => r.pr)), 'log loss': meanSd(rs.map((r) => r.logLoss)) });
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [variant] of measured.slice(1)) notes.push(`${ds.name}, ${variant.replace('audience-engine MLP, ', '')} - default, paired over the ${seeds} splits: ${pairedDifference(results.get(variant)!, results.get(measured[0][0])!)}.`);
    notes.push(`${ds.name}: ${ds.about}; seconds a training run (MLP, baseline, evaluation, importance): ${Object.entries(seconds).map(([v, s]) => `${v.replace('audience-engine MLP, ', '')} ${mean(s).toFixed(1)}`).join(', ')}.`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  await report('quality', rows, [
    `${seeds} seeded stratified splits 65/15/20 (train/validation/test) per dataset; mean ± sd on test. Same transformed features for everyone; peers train on the train rows, XGBoost (depth 4, lr 0.03) stops early on the validation rows (and is refitted on train + validation with those rounds); XGBoost with its defaults trains on train + validation.`,
    ...notes,
    py ? '' : args.includes('--no-peers') ? 'Python peers skipped (--no-peers).' : 'Python peers not importable: apt-get install python3-sklearn python3-xgboost',
  ].filter(Boolean));
}

/** Two-sided 97.5% quantiles of Student's t for 1-9 degrees of freedom (a 95% interval). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262];

/** "ROC-AUC +0.0001 [-0.0003, +0.0005], ..." : the mean paired difference a - b per metric over the same splits, with its 95% t interval. */
function pairedDifference(a: Score[], b: Score[]): string {
  const n = Math.min(a.length, b.length);
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  return (['roc', 'pr', 'logLoss'] as const)
    .map((k) => {
      const d = Array.from({ length: n }, (_, i) => a[i][k] - b[i][k]);
      const m = d.reduce((x, y) => x + y, 0) / n;
      const sd = n > 1 ? Math.sqrt(d.reduce((x, y) => x + (y - m) ** 2, 0) / (n - 1)) : NaN;
      const half = (T975[Math.min(n - 2, T975.length - 1)] ?? 1.96) * (sd / Math.sqrt(n));
      return `${{ roc: 'ROC-AUC', pr: 'PR-AUC', logLoss: 'log loss' }[k]} ${sign(m)} [${sign(m - half)}, ${sign(m + half)}]`;
    })
    .join(', ');
}

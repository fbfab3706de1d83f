/**
 * Uplift quality against the oracle: `audience generate --campaign` rows (`--rows`, 100,000;
 * `--seeds` campaigns, 3), the uplift estimator's prepare / fit / evaluate (nothing saved) as
 * `audience train uplift` runs them (features inferred without the planted segment, the email,
 * the pre-period count and the true effect), and on the same test rows the oracle: the rows
 * ranked by their true_uplift. Per learner and baseline: the Qini coefficient and its ratio to
 * the oracle's (goal: the chosen learner >= 0.9x); and the persuadables: the true mean uplift
 * of the top 20% by the chosen learner against the mean over every test row (the demo's
 * goal: >= 2x).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { upliftEvaluation } from '../src/metrics/uplift.js';
import { predictLogits } from '../src/models/nn/fit.js';
import { combineUplift } from '../src/models/uplift/model.js';
import type { FittedUplift } from '../src/models/uplift/fit.js';
import type { PreparedUplift } from '../src/models/uplift/prepare.js';
import { UPLIFT } from '../src/models/uplift/train.js';
import { CAMPAIGN_COLUMNS, generateCampaign } from '../src/synthetic/campaign.js';
import { initBackend } from '../src/compute/backend.js';
import { median, option, report } from './common.js';

/** The true effect of every row, in file order. */
async function trueUplift(file: string): Promise<Float64Array> {
  const parts: number[] = [];
  for await (const b of (await openDataset([file])).read([{ name: 'true_uplift', as: 'number' }])) parts.push(...(b.columns.get('true_uplift') as Float64Array));
  return Float64Array.from(parts);
}

export async function run(args: string[]): Promise<void> {
  const rows = Number(option(args, 'rows') ?? 100_000);
  const seeds = Number(option(args, 'seeds') ?? 3);
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-uplift-'));
  const ratios = new Map<string, number[]>();
  const qinis = new Map<string, number[]>();
  const persuadables: number[] = [];
  const seconds: number[] = [];
  const chosen: string[] = [];
  try {
    for (let seed = 1; seed <= seeds; seed++) {
      const file = path.join(dir, `campaign-${seed}.parquet`);
      await writeFile(file, CAMPAIGN_COLUMNS, generateCampaign({ visitors: rows, seed }));
      const data = await openDataset([file]);
      const { spec } = await inferSpec(data, { exclude: ['true_segment', 'email', 'past_orders', 'true_uplift', 'treatment', 'converted'] });
      const transform = await fitTransform(data, spec);
      const opts = { name: 'bench', label: 'converted', treatment: 'treatment', seed };
      const prepared = await UPLIFT.prepare(data, transform, opts);
      const started = performance.now();
      const fitted = await UPLIFT.fit(prepared, opts);
      const result = await UPLIFT.evaluate(prepared, fitted, opts);
      seconds.push((performance.now() - started) / 1000);
      const truth = await trueUplift(file);
      if (truth.length !== prepared.rows.y.length) throw new Error('rows were left out: the oracle would not line up');
      const test = prepared.split.test;
      const tau = Float64Array.from(test, (r) => truth[r]);
      const oracle = upliftEvaluation(tau, Uint8Array.from(test, (r) => prepared.rows.t[r]), Uint8Array.from(test, (r) => prepared.rows.y[r]));
      const add = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
      add(qinis, 'oracle (true_uplift)', oracle.qini);
      for (const [name, e] of Object.entries(result.test)) {
        add(qinis, name, e.qini);
        add(ratios, name, e.qini / oracle.qini);
      }
      chosen.push(result.learner.chosen);
      add(qinis, 'chosen by validation (saved)', result.test[result.learner.chosen].qini);
      add(ratios, 'chosen by validation (saved)', result.test[result.learner.chosen].qini / oracle.qini);
      // Persuadables: the true effect of the chosen learner's top 20% of test rows.
      const top = await upliftTop(fitted, prepared, test);
      persuadables.push(meanOf(Float64Array.from(top, (r) => truth[r])) / meanOf(tau));
      fitted.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (xs: number[] | undefined, d = 5) => (xs ? `${median(xs).toFixed(d)} (${xs.map((x) => x.toFixed(d)).join(', ')})` : '-');
  await report(
    'uplift',
    [...qinis.keys()].map((name) => ({ model: name, 'qini, median (per seed)': fmt(qinis.get(name)), 'x oracle': fmt(ratios.get(name), 3) })),
    [
      `${rows.toLocaleString('en-US')} campaign rows per seed, ${seeds} seeds; test = 25% of each arm; chosen learner per seed: ${chosen.join(', ')}; fit + evaluate ${fmt(seconds, 1)} s`,
      `goal: the chosen learner's Qini >= 0.9x the oracle's; persuadables (top 20% by the chosen learner) true uplift / the average's: ${fmt(persuadables, 2)} (goal >= 2x)`,
    ],
  );
}

const meanOf = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;

/** The test rows in the top 20% by the chosen learner's uplift. */
async function upliftTop(fitted: FittedUplift, prepared: PreparedUplift, test: Int32Array): Promise<Int32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [role, mlp] of Object.entries(fitted.networks)) out[role] = await predictLogits(mlp, prepared.rows, test);
  const u = combineUplift(fitted.learner, out, fitted.treatedShare);
  const order = Array.from(test.keys()).sort((a, b) => u[b] - u[a]);
  return Int32Array.from(order.slice(0, Math.round(0.2 * test.length)), (i) => test[i]);
}

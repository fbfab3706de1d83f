/**
 * The held-out check of issue 17, run exactly as a user runs the product: `audience train
 * propensity --input train.csv --label L`, then `audience score --input test.csv --keep L`,
 * ROC-AUC from the score file; and the lookalike with the training file's positives as seeds
 * (`audience train lookalike --seed-filter "L = V" --exclude L`), scored on the test file:
 * the share of the test file's positives in its top 10%. Peers (bench/peers/holdout_peers.py)
 * fit on the same raw CSV files: XGBoost with its defaults and a logistic regression (for the
 * lookalike, the positive-unlabeled baseline: positives against the rest of the training file).
 *
 * Default: `--seeds=3` stratified 75/25 splits of the bundled UCI Online Shoppers file.
 * `--train=FILE --test=FILE --label=COL [--positive=V]` runs it once on your own split.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, ident } from '../src/io/duckdb.js';
import { rocAuc } from '../src/metrics/classification.js';
import { expansionQuality } from '../src/models/lookalike/evaluate.js';
import { Rng } from '../src/util/rng.js';
import { BENCH_DIR, findPython, meanSd, option, report, runPeer } from './common.js';

const ROOT = path.resolve(BENCH_DIR, '..');
const BIN = path.join(ROOT, 'bin/audience.js');

/** One train/test pair and its label. */
interface Split {
  name: string;
  train: string;
  test: string;
  label: string;
  positive: string;
}

/**
 * Stratified 75/25 splits of a headed CSV without quoted fields (the bundled Shoppers file),
 * written to `dir` as <seed>-train.csv and <seed>-test.csv.
 */
function splitCsv(file: string, label: string, positive: string, seed: number, dir: string): Split {
  const [header, ...rows] = fs.readFileSync(file, 'utf8').trimEnd().split(/\r?\n/);
  const at = header.split(',').indexOf(label);
  const rng = new Rng(seed);
  const train: string[] = [];
  const test: string[] = [];
  for (const cls of [true, false]) {
    const members = rng.shuffle(rows.filter((r) => (r.split(',')[at] === positive) === cls));
    const cut = Math.round(members.length * 0.25);
    test.push(...members.slice(0, cut));
    train.push(...members.slice(cut));
  }
  const write = (name: string, part: string[]) => {
    const out = path.join(dir, `${seed}-${name}.csv`);
    fs.writeFileSync(out, `${header}\n${rng.shuffle(part).join('\n')}\n`);
    return out;
  };
  return { name: `split ${seed}`, train: write('train', train), test: write('test', test), label, positive };
}

/** Runs the CLI; returns its stdout. @throws Error with its stderr when it fails. */
function audience(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`audience ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Each scored row's `score` column and whether its kept label is the positive value (a yes/no label is kept as 1/0). */
async function scored(folder: string, score: string, split: Split): Promise<{ scores: Float64Array; labels: Float64Array }> {
  const con = await connect();
  try {
    const label = ident(split.label);
    const result = await con.runAndReadAll(
      `SELECT CAST(${ident(score)} AS DOUBLE), CAST(${label} AS VARCHAR), typeof(${label}) FROM read_parquet($1)`,
      [path.join(folder, '*.parquet')],
    );
    const rows = result.getRows();
    const positive = (v: unknown, type: unknown) => (type === 'DOUBLE' && !Number.isFinite(Number(split.positive)) ? Number(v) === 1 : v === split.positive || Number(v) === Number(split.positive));
    return { scores: Float64Array.from(rows, (r) => Number(r[0])), labels: Float64Array.from(rows, (r) => (positive(r[1], r[2]) ? 1 : 0)) };
  } finally {
    con.closeSync();
  }
}

/** The share of the positives among the top 10% of rows by score (the lookalike's own held-out measure). */
function recallAt10(scores: Float64Array, labels: Float64Array): number {
  const all = Int32Array.from(scores.keys());
  return expansionQuality(Float32Array.from(scores), all, Uint8Array.from(labels), [0.1]).recall[0];
}

/** Our propensity model's test ROC-AUC and the lookalike's recall@10%, through the CLI. */
async function ours(split: Split, dir: string): Promise<{ rocAuc: number; recall10: number; method: string }> {
  const store = path.join(dir, `${split.name.replace(/\W/g, '-')}-models`);
  const out = (kind: string) => path.join(dir, `${split.name.replace(/\W/g, '-')}-${kind}`);
  const positive = ['--positive', split.positive];
  audience(['train', 'propensity', '--input', split.train, '--label', split.label, ...positive, '--store', store, '--quiet']);
  audience(['score', '--model', 'propensity', '--input', split.test, '--output', out('p'), '--keep', split.label, '--store', store, '--quiet']);
  const p = await scored(out('p'), 'propensity_probability', split);
  const trained = audience(['train', 'lookalike', '--input', split.train, '--exclude', split.label, '--seed-filter', `${split.label} = ${split.positive}`, '--store', store]);
  audience(['score', '--model', 'lookalike', '--input', split.test, '--output', out('l'), '--keep', split.label, '--store', store, '--quiet']);
  const l = await scored(out('l'), 'lookalike_similarity', split);
  const method = /^(\S.*?)\s+\(this model/m.exec(trained)?.[1]?.replace(/\s+\d.*$/, '') ?? '?';
  return { rocAuc: rocAuc(p.scores, p.labels), recall10: recallAt10(l.scores, l.labels), method };
}

/** Runs the suite: per split, ours and the peers; then mean ± sd. */
export async function run(args: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-holdout-'));
  const given = option(args, 'train');
  const splits: Split[] = given
    ? [{ name: path.basename(given), train: given, test: option(args, 'test') ?? '', label: option(args, 'label') ?? 'y', positive: option(args, 'positive') ?? 'yes' }]
    : Array.from({ length: Number(option(args, 'seeds') ?? 3) }, (_, i) =>
        splitCsv(path.join(ROOT, 'examples/data/online_shoppers_intention.csv'), 'Revenue', 'YES', i + 1, dir),
      );
  const py = findPython(['sklearn', 'xgboost']);
  const results = new Map<string, Array<{ rocAuc: number; recall10: number }>>();
  const add = (model: string, r: { rocAuc: number; recall10: number }) => results.set(model, [...(results.get(model) ?? []), r]);
  const methods: string[] = [];
  try {
    for (const split of splits) {
      const r = await ours(split, dir);
      add('audience-engine (propensity; lookalike)', r);
      methods.push(r.method);
      if (py) {
        const peers = runPeer(py, 'holdout_peers.py', { train: split.train, test: split.test, label: split.label, positive: split.positive, seed: 0 }) as unknown as Array<{ model: string; roc_auc: number; recall10: number }>;
        for (const p of peers) add(p.model, { rocAuc: p.roc_auc, recall10: p.recall10 });
      }
      process.stderr.write(`${split.name} done\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Paired by split: on how many splits ours is ahead of each peer.
  const mine = results.get('audience-engine (propensity; lookalike)') ?? [];
  const ahead = [...results].filter(([model]) => !model.startsWith('audience-engine')).map(([model, rs]) => {
    const won = (k: 'rocAuc' | 'recall10') => rs.filter((r, i) => mine[i][k] > r[k]).length;
    return `ahead of ${model} on ${won('rocAuc')} of ${rs.length} splits by ROC-AUC, ${won('recall10')} of ${rs.length} by positives in the top 10%`;
  });
  const rows = [...results].map(([model, rs]) => ({ model, 'ROC-AUC': meanSd(rs.map((r) => r.rocAuc)), 'positives in top 10%': meanSd(rs.map((r) => r.recall10)) }));
  // Your own split is reported apart, so that it does not replace the bundled data's record.
  await report(given ? 'holdout-own' : 'holdout', rows, [
    given ? `train ${given}, test ${option(args, 'test')}, label ${splits[0].label} = ${splits[0].positive}.` : `${splits.length} stratified 75/25 splits of examples/data/online_shoppers_intention.csv (label Revenue), mean ± sd over splits.`,
    'Ours through the CLI with its defaults; the lookalike seeds are the training file\'s positives, its score ranks the test file. Peers fit on the raw CSV (numbers as they are, text one-hot).',
    `Lookalike score chosen by its held-out seeds: ${methods.join('; ')}.`,
    ...ahead.map((a) => `Ours ${a}.`),
    py ? '' : 'Python peers not importable: apt-get install python3-sklearn python3-xgboost',
  ].filter(Boolean));
}

/**
 * `npm run demo`: the whole path on the bundled UCI Online Shoppers data, through the same
 * commands a user runs: train segments (sweeping k) and a purchase-propensity model, score
 * every session with both in one pass, and show how often each segment and each
 * propensity bucket bought; then from synthetic purchase events, behavior features as of a
 * date and a lifetime-value model scored 90 days later.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberColumn } from '../io/columns.js';
import { openDataset } from '../io/dataset.js';
import { table } from '../report/text.js';
import { audienceFilesText, shellLine } from './demo-text.js';
import { main } from './main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(root, 'examples/data/online_shoppers_intention.csv');
const SPEC = path.join(root, 'examples/online_shoppers.features.json');
const AUDIENCES = path.join(root, 'examples/online_shoppers.audiences.json');
const OUT = path.join(root, 'out/demo');
fs.mkdirSync(OUT, { recursive: true });

async function step(title: string, argv: string[]): Promise<void> {
  process.stdout.write(`\n== ${title}\n$ audience ${shellLine(argv)}\n`);
  const code = await main(argv);
  if (code !== 0) process.exit(code);
}

/** Purchase rate per value of a score column (Revenue was not a model input). */
async function conversionBy(column: string, as: 'number' | 'text', label: string): Promise<string> {
  const scores = await openDataset([path.join(OUT, 'scores/scores-*.parquet')]);
  const sessions = await openDataset([DATA]);
  const groups: Array<string | number> = [];
  for await (const b of scores.read([{ name: column, as }])) {
    for (const g of Array.from(b.columns.get(column) as ArrayLike<string | number | null>)) groups.push(g ?? '(not in it)');
  }
  const bought: number[] = [];
  for await (const b of sessions.read([{ name: 'Revenue', as: 'number' }])) for (const v of numberColumn(b, 'Revenue')) bought.push(v);
  const stats = new Map<string | number, { n: number; pos: number }>();
  groups.forEach((g, i) => {
    const s = stats.get(g) ?? { n: 0, pos: 0 };
    s.n++;
    s.pos += bought[i];
    stats.set(g, s);
  });
  const overall = bought.reduce((a, b) => a + b, 0) / bought.length;
  const order = ['high', 'medium', 'low', 'member', 'holdout', '(not in it)'];
  const keys = [...stats.keys()].sort((a, b) => (typeof a === 'number' ? a - (b as number) : order.indexOf(String(a)) - order.indexOf(String(b))));
  return table(
    keys.map((k) => {
      const s = stats.get(k)!;
      return { [label]: k, sessions: s.n, 'purchase rate': `${((100 * s.pos) / s.n).toFixed(1)}%`, 'vs average': `${(s.pos / s.n / overall).toFixed(2)}x` };
    }),
  );
}

await step('Train behavioral segments on 12,330 sessions (k from 3 to 8, chosen by silhouette)', [
  'train', 'kmeans', '--input', DATA, '--features', SPEC, '--k', '3..8', '--name', 'demo-segments', '--seed', '7',
]);
await step('Train a purchase-propensity model (label Revenue; MLP beside a logistic baseline; how it treats visitor types)', [
  'train', 'propensity', '--input', DATA, '--features', SPEC, '--label', 'Revenue', '--name', 'demo-purchase', '--seed', '7', '--sensitive', 'VisitorType',
]);
await step('Write the model report: curves, deciles, calibration, feature influence, fairness by visitor type', [
  'report', 'demo-purchase', '--out', path.join(OUT, 'demo-purchase.html'),
]);
await step('Train a lookalike of the buyers (seeds: Revenue = true), evaluated on held-out buyers', [
  'train', 'lookalike', '--input', DATA, '--features', SPEC, '--seed-filter', 'Revenue = true', '--name', 'demo-lookalike', '--seed', '7',
]);
await step('Score every session with the three models in one pass, and build the audiences', [
  'score', '--input', DATA, '--model', 'demo-segments', '--model', 'demo-purchase', '--model', 'demo-lookalike',
  '--audiences', AUDIENCES, '--output', path.join(OUT, 'scores'), '--overwrite',
]);
process.stdout.write(`\n== Purchases by segment (Revenue was not a segmentation input)\n${await conversionBy('demo-segments_segment', 'number', 'segment')}\n`);
process.stdout.write(`\n== Purchases by propensity bucket (high = top 20% of scores; in-sample: these sessions trained the model)\n${await conversionBy('demo-purchase_bucket', 'text', 'bucket')}\n`);
process.stdout.write(`\n== Purchases by audience membership\n${await conversionBy('aud_high_intent', 'text', 'high_intent')}\n`);

// From raw events: purchases of a known buy-till-you-die process, features as of two dates,
// a lifetime-value model trained on the first and scored on the second.
const EVENTS = path.join(OUT, 'events');
await step('Generate purchase events (synthetic, buy-till-you-die) for 20,000 customers', [
  'generate', '--events', '--customers', '20000', '--seed', '7', '--out', path.join(EVENTS, 'events.csv'),
]);
for (const [asOf, file] of [['2025-01-01', 'train.parquet'], ['2025-04-01', 'now.parquet']]) {
  await step(`Behavior features as of ${asOf}, with what each customer spent in the 90 days after it`, [
    'events', '--input', path.join(EVENTS, 'events.csv'), '--id', 'customer_id', '--time', 'date', '--amount', 'amount', '--category', 'category',
    '--as-of', asOf, '--horizon', '90d', '--out', path.join(EVENTS, file),
  ]);
}
await step('Train a lifetime-value model (zero-inflated lognormal) beside the last window and BG/NBD', [
  'train', 'cltv', '--input', path.join(EVENTS, 'train.parquet'), '--label', 'future_value', '--name', 'demo-value', '--seed', '7',
]);
await step('Score the customers 90 days later; an audience of high predicted value with a low chance of buying soon', [
  'score', '--input', path.join(EVENTS, 'now.parquet'), '--model', 'demo-value', '--audiences', path.join(root, 'examples/value.audiences.json'),
  '--output', path.join(EVENTS, 'scores'), '--overwrite',
]);
process.stdout.write(
  `\nScores and audience files: ${path.relative(process.cwd(), path.join(OUT, 'scores'))}/ (${audienceFilesText(path.join(OUT, 'scores'))})\n` +
    `Lifetime value: ${path.relative(process.cwd(), path.join(EVENTS, 'scores'))}/ (demo-value_value, _p_active, _percentile, _bucket)\n` +
    `Model report: ${path.relative(process.cwd(), path.join(OUT, 'demo-purchase.html'))} (any model: audience report NAME --out FILE.html)\n` +
    'Models: audience models show demo-segments | demo-purchase | demo-lookalike | demo-value\n',
);
process.exit(0);

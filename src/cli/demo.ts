/**
 * `npm run demo`: the whole path on the bundled UCI Online Shoppers data, through the same
 * commands a user runs: train segments (sweeping k) and a purchase-propensity model, score
 * every session with both in one pass, and show how often each segment and each
 * propensity bucket bought; then from synthetic purchase events, behavior features as of a
 * date and a lifetime-value model scored 90 days later; then the loop: a randomized campaign
 * measured against its holdout, an uplift model of who responded because of it, and the
 * persuadables audience of the next population.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberColumn } from '../io/columns.js';
import { openDataset } from '../io/dataset.js';
import { connect } from '../io/duckdb.js';
import { table } from '../render/table.js';
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

/** The campaign's own split, as a campaign tool exports it: who was sent it (members.csv) and who was held out (holdout.csv). */
async function splitCampaign(file: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const con = await connect();
  for (const [name, arm] of [['members.csv', 1], ['holdout.csv', 0]] as const) {
    await con.run('COPY (SELECT visitor_id FROM read_parquet($1) WHERE treatment = $2) TO $3 (FORMAT csv, HEADER true)', [file, arm, path.join(dir, name)]);
  }
  con.closeSync();
}

/** The true mean uplift of the persuadables' members against every scored visitor's. */
async function persuadablesText(scores: string): Promise<string> {
  const con = await connect();
  const [all, members] = (await con.runAndReadAll("SELECT avg(true_uplift), avg(true_uplift) FILTER (WHERE aud_persuadables = 'member') FROM read_parquet($1)", [path.join(scores, 'scores-*.parquet')])).getRows()[0].map(Number);
  con.closeSync();
  return table([
    { visitors: 'everyone', 'true uplift (mean)': all.toFixed(4), 'vs average': '1.00x' },
    { visitors: 'persuadables (members)', 'true uplift (mean)': members.toFixed(4), 'vs average': `${(members / all).toFixed(2)}x` },
  ]);
}

await step('Train behavioral segments on 12,330 sessions (k from 3 to 8, chosen by silhouette)', [
  'train', 'kmeans', '--input', DATA, '--features', SPEC, '--k', '3..8', '--name', 'demo-segments', '--seed', '7',
]);
await step('Train a purchase-propensity model (label Revenue; MLP beside a logistic baseline; how it treats visitor types)', [
  'train', 'propensity', '--input', DATA, '--features', SPEC, '--label', 'Revenue', '--name', 'demo-purchase', '--seed', '7', '--sensitive', 'VisitorType',
]);
await step('Write the model report: curves, deciles, calibration, feature influence, fairness by visitor type', [
  'report', 'demo-purchase', '--out', path.join(OUT, 'demo-purchase.html'), '--overwrite',
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
  'generate', '--events', '--customers', '20000', '--seed', '7', '--out', path.join(EVENTS, 'events.csv'), '--overwrite',
]);
for (const [asOf, file] of [['2025-01-01', 'train.parquet'], ['2025-04-01', 'now.parquet']]) {
  await step(`Behavior features as of ${asOf}, with what each customer spent in the 90 days after it`, [
    'events', '--input', path.join(EVENTS, 'events.csv'), '--id', 'customer_id', '--time', 'date', '--amount', 'amount', '--category', 'category',
    '--as-of', asOf, '--horizon', '90d', '--out', path.join(EVENTS, file), '--overwrite',
  ]);
}
await step('Train a lifetime-value model (zero-inflated lognormal) beside the last window and BG/NBD', [
  'train', 'cltv', '--input', path.join(EVENTS, 'train.parquet'), '--label', 'future_value', '--name', 'demo-value', '--seed', '7',
]);
await step('Score the customers 90 days later; an audience of high predicted value with a low chance of buying soon', [
  'score', '--input', path.join(EVENTS, 'now.parquet'), '--model', 'demo-value', '--audiences', path.join(root, 'examples/value.audiences.json'),
  '--output', path.join(EVENTS, 'scores'), '--overwrite',
]);
// The loop: a randomized campaign's outcomes measured against its holdout, then an uplift model
// of who responded because of it, scored on the next population as a persuadables audience.
const CAMPAIGN = path.join(OUT, 'campaign');
await step('Generate a randomized campaign over 30,000 synthetic visitors (half sent it; a known effect per visitor)', [
  'generate', '--campaign', '--visitors', '30000', '--seed', '7', '--out', path.join(CAMPAIGN, 'campaign.parquet'), '--overwrite',
]);
await splitCampaign(path.join(CAMPAIGN, 'campaign.parquet'), path.join(CAMPAIGN, 'audiences', 'campaign'));
await step('Measure the campaign: members (sent it) against the holdout, with CUPED on past orders', [
  'measure', '--audiences', path.join(CAMPAIGN, 'audiences'), '--outcomes', path.join(CAMPAIGN, 'campaign.parquet'), '--id', 'visitor_id',
  '--outcome', 'converted', '--pre', 'past_orders', '--out', path.join(CAMPAIGN, 'measure.json'), '--overwrite',
]);
await step('Train an uplift model on the campaign: who converts because of it (T-, X- and DR-learners on the MLP)', [
  'train', 'uplift', '--input', path.join(CAMPAIGN, 'campaign.parquet'), '--treatment', 'treatment', '--label', 'converted',
  '--exclude', 'true_segment,email,past_orders,true_uplift', '--name', 'demo-uplift', '--seed', '7', '--quiet',
]);
await step('Generate the next population (other visitors) and score it: the top 20% by predicted uplift are the persuadables', [
  'generate', '--campaign', '--visitors', '30000', '--seed', '8', '--out', path.join(CAMPAIGN, 'next.parquet'), '--overwrite',
]);
await step('Score the next population with the uplift model and build the persuadables audience', [
  'score', '--input', path.join(CAMPAIGN, 'next.parquet'), '--model', 'demo-uplift', '--keep', 'true_uplift',
  '--audiences', path.join(root, 'examples/uplift.audiences.json'), '--output', path.join(CAMPAIGN, 'scores'), '--overwrite',
]);
process.stdout.write(`\n== The persuadables' true effect (synthetic data: each visitor's true_uplift is known)\n${await persuadablesText(path.join(CAMPAIGN, 'scores'))}\n`);

process.stdout.write(
  `\nScores and audience files: ${path.relative(process.cwd(), path.join(OUT, 'scores'))}/ (${audienceFilesText(path.join(OUT, 'scores'))})\n` +
    `Lifetime value: ${path.relative(process.cwd(), path.join(EVENTS, 'scores'))}/ (demo-value_value, _p_active, _percentile, _bucket)\n` +
    `Model report: ${path.relative(process.cwd(), path.join(OUT, 'demo-purchase.html'))} (any model: audience report NAME --out FILE.html)\n` +
    `Campaign loop: ${path.relative(process.cwd(), CAMPAIGN)}/ (measure.json; scores/ with the persuadables audience)\n` +
    'Models: audience models show demo-segments | demo-purchase | demo-lookalike | demo-value | demo-uplift\n',
);
process.exit(0);

/**
 * `npm run demo`: the whole path on the bundled UCI Online Shoppers data, through the same
 * commands a user runs: train segments (sweeping k), score every session, print profiles
 * and how often each segment bought.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberColumn } from '../io/columns.js';
import { openDataset } from '../io/dataset.js';
import { table } from './format.js';
import { main } from './main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(root, 'examples/data/online_shoppers_intention.csv');
const SPEC = path.join(root, 'examples/online_shoppers.features.json');
const OUT = path.join(root, 'out/demo');

async function step(title: string, argv: string[]): Promise<void> {
  process.stdout.write(`\n== ${title}\n$ audience ${argv.join(' ')}\n`);
  const code = await main(argv);
  if (code !== 0) process.exit(code);
}

async function conversionBySegment(): Promise<string> {
  const scores = await openDataset([path.join(OUT, 'scores/scores-*.parquet')]);
  const sessions = await openDataset([DATA]);
  const segment: number[] = [];
  for await (const b of scores.read([{ name: 'demo-segments_segment', as: 'number' }])) segment.push(...numberColumn(b, 'demo-segments_segment'));
  const bought: number[] = [];
  for await (const b of sessions.read([{ name: 'Revenue', as: 'number' }])) bought.push(...numberColumn(b, 'Revenue'));
  const k = Math.max(...segment) + 1;
  const n = new Float64Array(k);
  const pos = new Float64Array(k);
  segment.forEach((s, i) => {
    n[s]++;
    pos[s] += bought[i];
  });
  const overall = bought.reduce((a, b) => a + b, 0) / bought.length;
  return table(
    Array.from({ length: k }, (_, s) => ({
      segment: s,
      sessions: n[s],
      'purchase rate': `${((100 * pos[s]) / n[s]).toFixed(1)}%`,
      'vs average': `${(pos[s] / n[s] / overall).toFixed(2)}x`,
    })),
  );
}

await step('Train behavioral segments on 12,330 sessions (k from 3 to 8, chosen by silhouette)', [
  'train', 'kmeans', '--input', DATA, '--features', SPEC, '--k', '3..8', '--name', 'demo-segments', '--seed', '7',
]);
await step('Score every session', ['score', '--input', DATA, '--model', 'demo-segments', '--output', path.join(OUT, 'scores'), '--overwrite']);
process.stdout.write(`\n== Purchases by segment (Revenue was not a model input)\n${await conversionBySegment()}\n`);
process.stdout.write(`\nScores: ${path.relative(process.cwd(), path.join(OUT, 'scores'))}/  Model: audience models show demo-segments\n`);
process.exit(0);

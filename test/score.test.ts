/** Scoring in shards with rejected rows, without an id column: row ids stay input row numbers. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { initBackend } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { parseSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { openTable } from '../src/io/table.js';
import { scoreDataset } from '../src/jobs/score-dataset.js';
import { trainKMeans } from '../src/models/kmeans/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore } from '../src/models/registry.js';

it('leaves rejected rows out, lists them, and keeps every other row its own row_id across shards', async () => {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-score-'));
  const rows = Array.from({ length: 40 }, (_, i) => [i % 2 ? 10 + (i % 5) : i % 5, i % 3]);
  const csv = (bad: Set<number>) => `x,y\n${rows.map(([x, y], i) => `${bad.has(i) ? 'oops' : x},${y}`).join('\n')}\n`;
  fs.writeFileSync(path.join(dir, 'train.csv'), csv(new Set()));
  fs.writeFileSync(path.join(dir, 'bad.csv'), csv(new Set([3, 4, 17, 39])));
  const train = await openDataset([path.join(dir, 'train.csv')]);
  const transform = await fitTransform(train, parseSpec({ numeric: ['x', 'y'] }));
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(train, transform, store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  const out = path.join(dir, 'out');
  const m = await scoreDataset(await openDataset([path.join(dir, 'bad.csv')]), [model], { output: out, shardRows: 10, maxRejects: 4 });
  model.dispose();

  expect(m.shards).toBe(4);
  expect(m.rows).toBe(36);
  expect(m.rejected).toBe(4);
  const ids: number[] = [];
  for (const f of m.files) {
    for await (const b of (await openTable(path.join(out, f.path))).read([{ name: 'row_id', as: 'bigint' }])) ids.push(...Array.from(b.columns.get('row_id') as BigInt64Array, Number));
  }
  expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => ![3, 4, 17, 39].includes(i)));
  const errors = fs.readFileSync(path.join(out, 'errors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(errors.map((e) => [e.id, e.row, e.column, e.value])).toEqual([
    // row: the 1-based data row of the file; id: row_id, the 0-based position across the input files.
    [3, 4, 'x', 'oops'],
    [4, 5, 'x', 'oops'],
    [17, 18, 'x', 'oops'],
    [39, 40, 'x', 'oops'],
  ]);
  expect(fs.readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);

  const strict = scoreDataset(await openDataset([path.join(dir, 'bad.csv')]), [await loadScoringModel(store, 'seg')], { output: path.join(dir, 'strict'), shardRows: 10, maxRejects: 3 });
  await expect(strict).rejects.toThrow(/more rows could not be read than the job allows \(3\)/);
});

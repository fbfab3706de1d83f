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
import { scoreDataset } from '../src/execution/score-dataset.js';
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

it('20 score jobs with audiences in one process, shards on the reused pool: tensors and open files do not grow', async () => {
  const { tf } = await import('../src/compute/backend.js');
  const { parseAudiences } = await import('../src/audiences/definition.js');
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-score20-'));
  const csv = `id,x,y,email\n${Array.from({ length: 300 }, (_, i) => `${i + 1},${i % 7},${i % 3},v${i}@example.com`).join('\n')}\n`;
  fs.writeFileSync(path.join(dir, 'v.csv'), csv);
  const data = await openDataset([path.join(dir, 'v.csv')]);
  const transform = await fitTransform(data, parseSpec({ id: 'id', numeric: ['x', 'y'] }));
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(data, transform, store, { k: 3, name: 'seg', nInit: 1 })).model.dispose();
  const audiences = parseAudiences({ identifiers: { email: 'email' }, audiences: [{ name: 'near', rule: 'seg.distance <= 1', holdout: 0.2 }] }, path.join(dir, 'aud.json'));
  const openFiles = () => fs.readdirSync('/proc/self/fd').length;
  const run = async (i: number) => {
    const model = await loadScoringModel(store, 'seg');
    // `store` set and 2 threads asked for: the shards go to the process's pool.
    const m = await scoreDataset(data, [model], { output: path.join(dir, `out-${i}`), shardRows: 100, audiences, store: store.root }, { workers: 2 });
    model.dispose();
    fs.rmSync(path.join(dir, `out-${i}`), { recursive: true });
    return m;
  };
  const first = await run(0);
  const tensors = tf.memory().numTensors;
  const files = openFiles();
  for (let i = 1; i < 20; i++) expect((await run(i)).audiences!.summaries[0].members).toBe(first.audiences!.summaries[0].members);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(openFiles()).toBeLessThanOrEqual(files + 2);
});

it('audience profiles from the staged columns in SQL equal GroupProfiler over the input rows', async () => {
  const { GroupProfiler } = await import('../src/models/profile.js');
  const { parseAudiences } = await import('../src/audiences/definition.js');
  const { textColumn } = await import('../src/io/columns.js');
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-profile-'));
  const devices = ['mobile', 'desktop', 'tablet', '', 'tv'];
  const lines = Array.from({ length: 500 }, (_, i) => `${i + 1},${i % 13 === 0 ? '' : (i * 7) % 50},${i % 9 === 0 ? -1 : (i * 31) % 400},${['yes', 'no', 'maybe', ' Y '][i % 4]},${devices[i % 5]}`);
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,x,dur,member,device\n${lines.join('\n')}\n`);
  const data = await openDataset([path.join(dir, 'v.csv')]);
  const spec = parseSpec({ id: 'id', numeric: ['x', { name: 'dur', log: true }], boolean: ['member'], categorical: ['device'] });
  const transform = await fitTransform(data, spec);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(data, transform, store, { k: 3, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  const audiences = parseAudiences({ audiences: [{ name: 'a', rule: 'seg.segment = 0' }, { name: 'b', rule: 'seg.distance <= 1', holdout: 0.3 }] }, path.join(dir, 'aud.json'));
  const m = await scoreDataset(data, [model], { output: path.join(dir, 'out'), shardRows: 150, audiences });
  model.dispose();
  // The reference: GroupProfiler over the input, with the memberships the output lists.
  const status: string[][] = [[], []];
  for (const f of m.files) {
    for await (const b of (await openTable(path.join(dir, 'out', f.path))).read([{ name: 'aud_a', as: 'text' }, { name: 'aud_b', as: 'text' }])) {
      status[0].push(...(textColumn(b, 'aud_a') as string[]));
      status[1].push(...(textColumn(b, 'aud_b') as string[]));
    }
  }
  for (const [a, summary] of m.audiences!.summaries.entries()) {
    const profiler = new GroupProfiler(model.transform, 1);
    for await (const b of data.read((await import('../src/features/transform.js')).columnRequest(model.transform))) {
      profiler.add(b, Int8Array.from({ length: b.rows }, (_, i) => (status[a][b.first + i] ? 0 : -1)));
    }
    const [reference] = profiler.result();
    const ours = summary.profile!;
    expect(ours.map((e) => e.feature)).toEqual(reference.entries.slice(0, 12).map((e) => e.feature));
    ours.forEach((e, i) => {
      const r = reference.entries[i];
      for (const k of ['value', 'population', 'score'] as const) expect(e[k]).toBeCloseTo(r[k], 9);
    });
  }
});

it('scoring a file without a column a model reads names the model, the column and the file', async () => {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-missing-'));
  fs.writeFileSync(path.join(dir, 'train.csv'), `x,y\n${Array.from({ length: 40 }, (_, i) => `${i % 5},${i % 3}`).join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'later.csv'), `x\n${Array.from({ length: 10 }, (_, i) => `${i}`).join('\n')}\n`);
  const train = await openDataset([path.join(dir, 'train.csv')]);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(train, await fitTransform(train, parseSpec({ numeric: ['x', 'y'] })), store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  await expect(scoreDataset(await openDataset([path.join(dir, 'later.csv')]), [model], { output: path.join(dir, 'out') })).rejects.toThrow(
    /model seg@1 reads column "y", which .*later\.csv does not have \(columns: x\)/,
  );
  model.dispose();
  expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
});

it('scores two models that read one column differently (numbers for one, categories for the other) as each alone', async () => {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-two-reads-'));
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,zip,x\n${Array.from({ length: 60 }, (_, i) => `${i},${(i * 7) % 5},${i % 4}`).join('\n')}\n`);
  const data = await openDataset([path.join(dir, 'v.csv')]);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(data, await fitTransform(data, parseSpec({ id: 'id', numeric: ['zip', 'x'] })), store, { k: 2, name: 'num', nInit: 1 })).model.dispose();
  (await trainKMeans(data, await fitTransform(data, parseSpec({ id: 'id', numeric: ['x'], categorical: ['zip'] })), store, { k: 3, name: 'cat', nInit: 1 })).model.dispose();
  const segments = async (names: string[], out: string) => {
    const models = await Promise.all(names.map((n) => loadScoringModel(store, n)));
    const m = await scoreDataset(data, models, { output: path.join(dir, out) });
    for (const model of models) model.dispose();
    const cols: Record<string, number[]> = {};
    for (const f of m.files) {
      for await (const b of (await openTable(path.join(dir, out, f.path))).read(names.map((n) => ({ name: `${n}_segment`, as: 'number' as const })))) {
        for (const n of names) (cols[n] ??= []).push(...(b.columns.get(`${n}_segment`) as Float64Array));
      }
    }
    return cols;
  };
  const both = await segments(['num', 'cat'], 'both');
  expect(both.num).toEqual((await segments(['num'], 'num')).num);
  expect(both.cat).toEqual((await segments(['cat'], 'cat')).cat);
  expect(new Set(both.cat).size).toBeGreaterThan(1);
});

it('carries a Parquet column read by DuckDB as the part is written to the rows it belongs to, rejected rows left out, as a CSV of the same rows', async () => {
  await initBackend();
  const { connect } = await import('../src/io/duckdb.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-sourced-'));
  const lines = Array.from({ length: 5000 }, (_, i) => `${10_000 - i},${[3, 4, 2100, 4999].includes(i) ? 'oops' : i % 7},${i % 3},${i % 5 === 0 ? '' : `"${i % 11 === 0 ? '\ufeff' : ''}note ${i} ""q"", é"`},${i % 4 === 0 ? 'NaN' : i / 2}`);
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,x,y,note,amount\n${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'train.csv'), `id,x,y\n${Array.from({ length: 30 }, (_, i) => `${i},${i % 7},${i % 3}`).join('\n')}\n`);
  const con = await connect();
  // x as text in Parquet too (rejects); row groups of 2,048 rows: three shards.
  await con.run(`COPY (SELECT id, x, y, note, CAST(amount AS DOUBLE) AS amount FROM read_csv($1, all_varchar = true, header = true)) TO $2 (FORMAT parquet, ROW_GROUP_SIZE 2048)`, [path.join(dir, 'v.csv'), path.join(dir, 'v.parquet')]);
  con.closeSync();
  const train = await openDataset([path.join(dir, 'train.csv')]);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(train, await fitTransform(train, parseSpec({ id: 'id', numeric: ['x', 'y'] })), store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  const run = async (file: string, out: string) => {
    const m = await scoreDataset(await openDataset([path.join(dir, file)]), [model], { output: path.join(dir, out), shardRows: 2048, maxRejects: 10, keep: ['note', 'amount'] });
    const rows: string[] = [];
    for (const f of m.files) {
      const req = [{ name: 'id', as: 'text' as const }, { name: 'seg_segment', as: 'text' as const }, { name: 'note', as: 'text' as const }, { name: 'amount', as: 'text' as const }];
      for await (const b of (await openTable(path.join(dir, out, f.path))).read(req)) {
        for (let i = 0; i < b.rows; i++) rows.push(req.map((r) => String((b.columns.get(r.name) as (string | null)[])[i])).join('|'));
      }
    }
    return { m, rows };
  };
  const parquet = await run('v.parquet', 'p');
  const csv = await run('v.csv', 'c');
  model.dispose();
  expect(parquet.m.shards).toBeGreaterThan(1);
  expect(parquet.rows).toEqual(csv.rows);
  // By hand: each kept row's note and amount are its own (a NaN amount stored as null, as the read gives it).
  expect(parquet.m.rejected).toBe(4);
  expect(parquet.rows.length).toBe(4996);
  expect(parquet.rows[5]).toMatch(/^9993\|\d\|note 7 "q", é\|3\.5$/); // rows 3 and 4 rejected
  expect(parquet.rows[0]).toMatch(/^10000\|\d\|null\|null$/);
  expect(parquet.rows[2099]).toMatch(/^7898\|\d\|note 2102 "q", é\|1051\.0$/); // and row 2100
  // A leading U+FEFF is dropped as a read into JavaScript drops it (the CSV path, and training);
  // counted in SQL, since reading the output back into JavaScript would drop it too.
  expect(parquet.rows[9]).toMatch(/^9989\|\d\|note 11 "q", é\|5\.5$/);
  const check = await connect();
  const marked = (out: string) => check.runAndReadAll("SELECT count(*) FROM read_parquet($1) WHERE starts_with(note, chr(65279))", [path.join(dir, out, '*.parquet')]);
  expect((await marked('p')).getRows()[0][0]).toBe(0n);
  expect((await marked('c')).getRows()[0][0]).toBe(0n);
  check.closeSync();
});

it('refuses a pass-through column as the read did: a later file\'s text numbers parsed, a DATE named, undecodable text named with its rows', async () => {
  await initBackend();
  const { connect } = await import('../src/io/duckdb.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-sourced-types-'));
  const con = await connect();
  const make = (file: string, kx: string) => con.run(`COPY (SELECT i AS id, i % 4 AS x, ${kx} AS kx FROM range(6) t(i)) TO '${path.join(dir, file)}' (FORMAT parquet)`);
  await make('f1.parquet', 'i * 10');
  await make('f2.parquet', "CASE i WHEN 0 THEN '12' WHEN 1 THEN 'NA' WHEN 2 THEN ' 7 ' ELSE NULL END");
  await make('f3.parquet', "DATE '2024-01-01' + CAST(i AS INTEGER)");
  await make('bad.parquet', "CASE WHEN i = 4 THEN '\\xFF\\xFEab'::BLOB ELSE 'ok'::BLOB END");
  con.closeSync();
  const train = await openDataset([path.join(dir, 'f1.parquet')]);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(train, await fitTransform(train, parseSpec({ id: 'id', numeric: ['x'] })), store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  const score = async (files: string[], keep: string, out: string) => scoreDataset(await openDataset(files.map((f) => path.join(dir, f))), [model], { output: path.join(dir, out), keep: [keep] });
  try {
    const m = await score(['f1.parquet', 'f2.parquet'], 'kx', 'o12');
    const kx: Array<number | null> = [];
    for (const f of m.files) for await (const b of (await openTable(path.join(dir, 'o12', f.path))).read([{ name: 'kx', as: 'number' }])) kx.push(...Array.from(b.columns.get('kx') as Float64Array, (v) => (Number.isNaN(v) ? null : v)));
    expect(kx).toEqual([0, 10, 20, 30, 40, 50, 12, null, 7, null, null, null]);
    await expect(score(['f1.parquet', 'f3.parquet'], 'kx', 'o13')).rejects.toThrow(/f3\.parquet: column "kx" holds DATE, expected numbers/);
    await expect(score(['bad.parquet'], 'kx', 'obad')).rejects.toThrow(/bad\.parquet \(data rows 1-6\): read failed: .*not valid UTF8/);
    expect(fs.existsSync(path.join(dir, 'obad'))).toBe(false);
  } finally {
    model.dispose();
  }
});

it('an audience rule on an input column that a model reads as categories sees its numbers (infinities are not nulls)', async () => {
  await initBackend();
  const { parseAudiences } = await import('../src/audiences/definition.js');
  const { connect } = await import('../src/io/duckdb.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-rule-cat-'));
  const con = await connect();
  // c: 1.0, 2.0, +inf, -inf or null by row; 40 rows, 8 of them null.
  await con.run(`COPY (SELECT i AS id, i % 3 AS x, CASE i % 5 WHEN 0 THEN 1.0 WHEN 1 THEN 2.0 WHEN 2 THEN 'inf'::DOUBLE WHEN 3 THEN '-inf'::DOUBLE END AS c FROM range(40) t(i)) TO '${path.join(dir, 'v.parquet')}' (FORMAT parquet)`);
  con.closeSync();
  const data = await openDataset([path.join(dir, 'v.parquet')]);
  const store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(data, await fitTransform(data, parseSpec({ id: 'id', numeric: ['x'], categorical: ['c'] })), store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
  const model = await loadScoringModel(store, 'seg');
  const audiences = parseAudiences({ audiences: [{ name: 'blank', rule: 'c is null' }, { name: 'big', rule: 'c > 1.5' }] }, path.join(dir, 'aud.json'));
  const m = await scoreDataset(data, [model], { output: path.join(dir, 'out'), audiences });
  model.dispose();
  const members = Object.fromEntries(m.audiences!.summaries.map((s) => [s.name, s.members]));
  // By hand: rows with i % 5 = 4 are null (8); 2.0 and +inf are above 1.5 (16).
  expect(members).toEqual({ blank: 8, big: 16 });
});

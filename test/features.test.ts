import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import { parseSpec } from '../src/features/spec.js';
import { columnRequest, transform } from '../src/features/transform.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

let dir: string;

function csv(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function firstBatch(file: string, t: Awaited<ReturnType<typeof fitTransform>>) {
  const data = await openDataset([file]);
  for await (const b of data.read(columnRequest(t))) return b;
  throw new Error('no batch');
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-feat-'));
});

describe('feature spec validation', () => {
  it.each([
    [[], /expected a JSON object/],
    [{ numeric: ['a'], colour: 1 }, /unknown key "colour"/],
    [{ numeric: 'a' }, /"numeric" must be a list/],
    [{ numeric: [{ name: 'a', impute: 'median' }] }, /"numeric"\[0\] \(a\): impute must be/],
    [{ categorical: [{ name: 'c', top: 0 }] }, /top must be an integer/],
    [{ numeric: ['a'], boolean: ['a'] }, /column "a" is listed twice/],
    [{ id: 'a', numeric: ['a'] }, /id column and cannot also be a feature/],
    [{ numeric: [] }, /no features/],
    [{ numeric: ['a'], onInvalid: 'drop' }, /"onInvalid" must be/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseSpec(raw, 'spec.json')).toThrow(message);
  });

  it('accepts names and objects', () => {
    expect(parseSpec({ id: 'v', numeric: ['a', { name: 'b', log: true, impute: 0 }], categorical: ['c'], boolean: ['d'] })).toEqual({
      id: 'v',
      numeric: [{ name: 'a' }, { name: 'b', log: true, impute: 0 }],
      categorical: [{ name: 'c' }],
      boolean: [{ name: 'd' }],
    });
  });
});

describe('fit and transform', () => {
  it('learns imputation, scaling, vocabularies and booleans equal to hand-computed values', async () => {
    const file = csv('train.csv', 'x,c,b\n1,red,yes\n2,blue,no\n3,red,yes\n,green,maybe\n');
    const data = await openDataset([file]);
    const t = await fitTransform(data, parseSpec({ numeric: ['x'], categorical: [{ name: 'c', top: 1 }], boolean: ['b'] }));
    const [x, c, b] = t.features;
    // x: valid 1,2,3 -> fill = mean 2; imputed column 1,2,3,2 -> mean 2, population std sqrt(0.5).
    expect(x).toMatchObject({ kind: 'numeric', fill: 2, mean: 2, invalid: 1 });
    expect((x as { std: number }).std).toBeCloseTo(Math.sqrt(0.5), 12);
    // c: top 1 -> red; blue and green become (other).
    expect(c).toMatchObject({ kind: 'categorical', levels: ['red'], other: true, shares: [0.5, 0.5] });
    // b: yes/no parsed, 'maybe' invalid; rate 2/3 -> fill 1.
    expect(b).toMatchObject({ kind: 'boolean', rate: 2 / 3, fill: 1, invalid: 1 });
    expect(t.outputs).toEqual(['x', 'c=red', 'c=(other)', 'b']);

    const block = transform(t, await firstBatch(file, t));
    const s = Math.sqrt(0.5);
    expect(Array.from(block.data)).toEqual(
      [-1 / s, 1, 0, 1, 0, 0, 1, 0, 1 / s, 1, 0, 1, 0, 0, 1, 1].map((v) => Math.fround(v)),
    );
    expect(block.imputed).toBe(2);
    expect(Array.from(block.ids as BigInt64Array)).toEqual([0n, 1n, 2n, 3n]);
  });

  it('applies the training statistics at scoring time, not the new data’s', async () => {
    const train = await openDataset([csv('tr.csv', 'x\n0\n10\n')]);
    const t = await fitTransform(train, parseSpec({ numeric: [{ name: 'x', log: false }] })); // mean 5, std 5
    const block = transform(t, await firstBatch(csv('sc.csv', 'x\n100\n200\n'), t));
    expect(Array.from(block.data)).toEqual([19, 39]); // (100 - 5) / 5, (200 - 5) / 5
  });

  it('log features model log1p and treat negatives as invalid', async () => {
    const data = await openDataset([csv('log.csv', 'x\n0\n' + `${Math.E - 1}\n` + '-3\n')]);
    const t = await fitTransform(data, parseSpec({ numeric: [{ name: 'x', log: true, impute: 0 }] }));
    expect(t.features[0]).toMatchObject({ invalid: 1, fill: 0 });
    // modelled values 0, 1, and the fill log1p(0) = 0: mean 1/3.
    expect((t.features[0] as { mean: number }).mean).toBeCloseTo(1 / 3, 12);
  });

  it('with onInvalid "error" names the file, column and row', async () => {
    const file = csv('strict.csv', 'x\n1\n\n3\n');
    const data = await openDataset([file]);
    const t = await fitTransform(data, parseSpec({ numeric: ['x'], onInvalid: 'error' }));
    const batch = await firstBatch(file, t);
    expect(() => transform(t, batch)).toThrow(/strict\.csv: column "x", data row 2 holds NaN, expected a finite number/);
  });

  it('an integer code read back as a float ("3.0", a DOUBLE column) is the level "3", not an unseen one; "01" stays a code of its own', async () => {
    const t = await fitTransform(await openDataset([csv('codes.csv', 'region,zip\n1,01\n2,1\n3,01\n1,1\n')]), parseSpec({ categorical: ['region', 'zip'] }));
    expect(t.features[0]).toMatchObject({ levels: ['1', '2', '3'] });
    expect(t.features[1]).toMatchObject({ levels: ['01', '1'] });
    // pandas writes an integer column with nulls as floats: a DOUBLE column in Parquet.
    const file = path.join(dir, 'codes.parquet');
    await writeFile(file, [{ name: 'region', type: 'DOUBLE' }, { name: 'zip', type: 'VARCHAR' }], (async function* () {
      yield { rows: 4, columns: { region: Float64Array.from([1, 2, 3, NaN]), zip: ['01', '1.0', '1', null] } };
    })());
    const block = transform(t, await firstBatch(file, t));
    const onehot = (row: number) => Array.from(block.data.subarray(row * block.cols, (row + 1) * block.cols));
    // Columns: region=1, region=2, region=3, zip=01, zip=1 (every level kept: no "(other)"; a null, unseen, is all zeros).
    expect(t.outputs).toEqual(['region=1', 'region=2', 'region=3', 'zip=01', 'zip=1']);
    expect([0, 1, 2, 3].map(onehot)).toEqual([
      [1, 0, 0, 1, 0],
      [0, 1, 0, 0, 1],
      [0, 0, 1, 0, 1],
      [0, 0, 0, 0, 0],
    ]);
  });

  it('refuses a column with no valid value', async () => {
    const file = path.join(dir, 'empty.parquet');
    await writeFile(file, [{ name: 'x', type: 'DOUBLE' }], (async function* () {
      yield { rows: 2, columns: { x: Float64Array.from([NaN, NaN]) } };
    })());
    await expect(fitTransform(await openDataset([file]), parseSpec({ numeric: ['x'] }))).rejects.toThrow(/column "x" has no valid numeric value in 2 rows/);
    // In CSV, DuckDB types an all-empty column as text: the reader says so.
    const data = await openDataset([csv('empty.csv', 'x,y\n,1\n,2\n')]);
    await expect(fitTransform(data, parseSpec({ numeric: ['x'] }))).rejects.toThrow(/column "x" has no valid numeric value in 2 rows/);
  });
});

describe('--features auto', () => {
  it('infers id, numeric (log for long tails), categorical and boolean columns and skips free text', async () => {
    const file = path.join(dir, 'visitors.parquet');
    await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors: 5000, seed: 3 }));
    const { spec, notes } = await inferSpec(await openDataset([file]), { exclude: ['converted', 'true_segment'] });
    expect(spec.id).toBe('visitor_id');
    expect(spec.categorical.map((c) => c.name)).toEqual(['device', 'channel', 'country']);
    expect(spec.boolean.map((c) => c.name)).toEqual(['is_returning', 'has_account']);
    expect(spec.numeric.map((c) => c.name)).toContain('avg_session_seconds');
    expect(spec.numeric.find((c) => c.name === 'email_opens')?.log).toBe(true);
    expect(notes.some((n) => /^email: skipped/.test(n))).toBe(true);
    expect(() => parseSpec(JSON.parse(JSON.stringify(spec)))).not.toThrow();
  });
});

/**
 * Categorical level codes have two implementations: the SQL a DuckDB read evaluates (scoring
 * reads codes, not text) and JavaScript's (io/levels.ts levelCodes, as transform() always
 * mapped text). For any cells and levels (whole numbers with zero fractions, nulls, unicode,
 * the level "(missing)"), a read of the codes from a real file equals the codes of the same
 * file read as text: in Parquet (text and DOUBLE columns) and CSV.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { listValue } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { levelCoding, transform, type FittedCategorical, type FittedTransform } from '../src/features/transform.js';
import { connect } from '../src/io/duckdb.js';
import { levelCodes } from '../src/io/levels.js';
import { openTable } from '../src/io/table.js';
import type { ColumnBatch, ColumnRequest } from '../src/io/columns.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'levels-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cellText = fc.oneof(
  // A leading U+FEFF: JavaScript's reads lose it (@duckdb/node-api's TextDecoder), so the codes must too.
  fc.constantFrom('3', '3.0', '3.00', '-2.0', '-0.0', '03', '3.5', '1e3', '(missing)', 'a.b', ' x', 'x ', '', 'é', '3.0 ', '\ufeff3.0', '\ufeffx', 'x\ufeff', '\ufeff\ufeffx'),
  fc.string({ maxLength: 6, unit: 'grapheme' }),
);
const cells = fc.array(fc.option(cellText, { nil: null, freq: 5 }), { minLength: 1, maxLength: 40 });
const feature = (levels: string[], other: boolean): FittedCategorical => ({ kind: 'categorical', name: 'c', levels, other }) as FittedCategorical;

async function readAll(file: string, request: ColumnRequest[]): Promise<ColumnBatch[]> {
  const table = await openTable(file);
  const out: ColumnBatch[] = [];
  for await (const b of table.read(request)) out.push(b);
  return out;
}

/** Codes read by SQL and codes of the text read, over every batch. */
async function bothWays(file: string, f: FittedCategorical): Promise<[number[], number[]]> {
  const coding = levelCoding(f);
  const batches = await readAll(file, [{ name: 'c', as: 'text' }, { name: 'c', as: 'level', levels: coding }]);
  const sql = batches.flatMap((b) => [...(b.columns.get(coding.key) as Float64Array)]);
  const js = batches.flatMap((b) => [...levelCodes(b.columns.get('c') as (string | null)[], coding)]);
  return [sql, js];
}

let n = 0;
async function write(values: Array<string | null>, type: 'VARCHAR' | 'DOUBLE', format: 'parquet' | 'csv'): Promise<string> {
  const con = await connect();
  const file = path.join(dir, `t${n++}.${format}`);
  try {
    const cast = type === 'DOUBLE' ? 'TRY_CAST(c AS DOUBLE)' : 'c';
    await con.run(`COPY (SELECT ${cast} AS c FROM (SELECT unnest($1::VARCHAR[]) AS c)) TO '${file}' (FORMAT ${format === 'csv' ? 'csv, HEADER true, FORCE_QUOTE *' : 'parquet'})`, [listValue(values)] as never);
  } finally {
    con.closeSync();
  }
  return file;
}

describe('level codes read by SQL', () => {
  it('equal the JavaScript codes of the same cells, in Parquet text and DOUBLE columns and CSV', async () => {
    await fc.assert(
      // Up to 8 levels (coded in SQL) or 65 and more (read as text, coded in JavaScript).
      fc.asyncProperty(cells, fc.oneof(fc.array(cellText, { maxLength: 8 }), fc.array(cellText, { minLength: 65, maxLength: 90 })), fc.boolean(), fc.constantFrom<'VARCHAR' | 'DOUBLE'>('VARCHAR', 'DOUBLE'), fc.constantFrom<'parquet' | 'csv'>('parquet', 'csv'), async (values, levels, other, type, format) => {
          const file = await write(values, type, format);
          const [sql, js] = await bothWays(file, feature(levels, other));
          expect(sql).toEqual(js);
        }),
      { numRuns: 40 },
    );
  });

  it('give transform() the same one-hot block as the text did (unseen to "(other)", or a row of zeros)', async () => {
    const file = await write(['a', 'b', null, '3.0', 'zz', '3'], 'VARCHAR', 'parquet');
    for (const other of [true, false]) {
      const f = feature(['3', 'a', '(missing)'], other);
      const t = { id: { column: null, as: 'row' }, features: [f], outputs: ['c=3', 'c=a', 'c=(missing)', ...(other ? ['c=(other)'] : [])], reads: { c: 'text' }, onInvalid: 'impute' } as unknown as FittedTransform;
      const [text] = await readAll(file, [{ name: 'c', as: 'text' }]);
      const [coded] = await readAll(file, [{ name: 'c', as: 'level', levels: levelCoding(f) }]);
      expect(coded.columns.has('c')).toBe(false);
      expect([...transform(t, coded).data]).toEqual([...transform(t, text).data]);
      // Checked by hand: a -> "a", b unseen, null -> "(missing)", 3.0 and 3 -> "3", zz unseen.
      const w = other ? 4 : 3;
      const row = (j: number) => Array.from({ length: w }, (_, k) => (k === j ? 1 : 0));
      expect([...transform(t, text).data]).toEqual([1, 3, 2, 0, 3, 0].flatMap((j) => row(other || j < 3 ? j : -1)));
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { numberColumn, textColumn, type ColumnBatch } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';
import { openTable } from '../src/io/table.js';
import { PartWriter, writeFile } from '../src/io/writer.js';

let dir: string;

async function collect(gen: AsyncIterable<ColumnBatch>): Promise<ColumnBatch[]> {
  const out: ColumnBatch[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

async function* one<T>(x: T) {
  yield x;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-io-'));
  const n = 12_345;
  const id = new BigInt64Array(n);
  const x = new Float64Array(n);
  const s: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    id[i] = BigInt(i + 1);
    x[i] = i % 100 === 0 ? NaN : i * 0.5;
    s.push(i % 7 === 0 ? null : `v${i % 3}`);
  }
  await writeFile(path.join(dir, 'a.parquet'), [
    { name: 'id', type: 'BIGINT' },
    { name: 'x', type: 'DOUBLE' },
    { name: 's', type: 'VARCHAR' },
  ], one({ rows: n, columns: { id, x, s } }));
});

describe('Parquet reading and writing', () => {
  it('round-trips numbers, nulls, text and ids in fixed-size batches', async () => {
    const t = await openTable(path.join(dir, 'a.parquet'));
    expect(t.format).toBe('parquet');
    expect(t.rowCount).toBe(12_345);
    expect(t.rowGroups?.reduce((a, b) => a + b, 0)).toBe(12_345);
    expect(t.columns.map((c) => [c.name, c.kind])).toEqual([['id', 'numeric'], ['x', 'numeric'], ['s', 'text']]);
    const batches = await collect(t.read([{ name: 'id', as: 'bigint' }, { name: 'x', as: 'number' }, { name: 's', as: 'text' }], { batchRows: 5000 }));
    expect(batches.map((b) => b.rows)).toEqual([5000, 5000, 2345]);
    expect(batches.map((b) => b.offset)).toEqual([0, 5000, 10000]);
    const b = batches[1];
    const i = 2100; // row 7100 of the file; 7100 % 100 === 0, so x is null there
    expect((b.columns.get('id') as BigInt64Array)[i]).toBe(7101n);
    expect(numberColumn(b, 'x')[i]).toBeNaN();
    expect(numberColumn(b, 'x')[i + 1]).toBe(7101 * 0.5);
    expect(textColumn(b, 's')[7007 - 5000]).toBeNull(); // 7007 % 7 === 0
    expect(textColumn(b, 's')[7008 - 5000]).toBe(`v${7008 % 3}`);
  });

  it('writes part files of bounded size, each renamed into place whole', async () => {
    const out = path.join(dir, 'parts');
    const w = new PartWriter(out, 'p', [{ name: 'v', type: 'INTEGER' }], 1000);
    await w.write(2500, { v: Int32Array.from({ length: 2500 }, (_, i) => i) });
    const files = await w.close();
    expect(files.map((f) => [path.basename(f.path), f.rows])).toEqual([
      ['p-00000.parquet', 1000],
      ['p-00001.parquet', 1000],
      ['p-00002.parquet', 500],
    ]);
    expect(fs.readdirSync(out).some((f) => f.endsWith('.tmp'))).toBe(false);
    const data = await openDataset([path.join(out, 'p-*.parquet')]);
    expect(data.rowCount).toBe(2500);
    const batches = await collect(data.read([{ name: 'v', as: 'number' }]));
    expect(batches.map((b) => b.first)).toEqual([0, 1000, 2000]);
    expect(numberColumn(batches[2], 'v')[499]).toBe(2499);
  });
});

describe('CSV and Arrow IPC', () => {
  it('reads CSV with types detected by DuckDB', async () => {
    const file = path.join(dir, 'c.csv');
    fs.writeFileSync(file, 'a,b,c\n1,x,true\n2,,false\n,z,true\n');
    const t = await openTable(file);
    const [b] = await collect(t.read([{ name: 'a', as: 'number' }, { name: 'b', as: 'text' }, { name: 'c', as: 'number' }]));
    expect(Array.from(numberColumn(b, 'a'))).toEqual([1, 2, NaN]);
    expect(textColumn(b, 'b')).toEqual(['x', null, 'z']);
    expect(Array.from(numberColumn(b, 'c'))).toEqual([1, 0, 1]);
  });

  it('reads Arrow IPC files with apache-arrow', async () => {
    const file = path.join(dir, 'd.arrow');
    const table = tableFromArrays({ n: Float64Array.from([1.5, 2.5, 3.5]), s: ['a', 'b', 'c'] });
    fs.writeFileSync(file, tableToIPC(table, 'file'));
    const t = await openTable(file);
    expect(t.format).toBe('arrow');
    expect(t.columns.map((c) => c.kind)).toEqual(['numeric', 'text']);
    const [b] = await collect(t.read([{ name: 'n', as: 'number' }, { name: 's', as: 'text' }]));
    expect(Array.from(numberColumn(b, 'n'))).toEqual([1.5, 2.5, 3.5]);
    expect(textColumn(b, 's')).toEqual(['a', 'b', 'c']);
  });
});

describe('bad input gets a clear error naming the file and column', () => {
  it('missing file', async () => {
    await expect(openTable(path.join(dir, 'nope.parquet'))).rejects.toThrow(/nope\.parquet: file not found/);
  });

  it('corrupt Parquet file', async () => {
    const file = path.join(dir, 'corrupt.parquet');
    fs.writeFileSync(file, 'this is not parquet');
    await expect(openTable(file)).rejects.toThrow(/corrupt\.parquet: not a Parquet file \(Parquet starts with "PAR1"\)/);
  });

  it('corrupt Arrow file', async () => {
    const file = path.join(dir, 'corrupt.arrow');
    fs.writeFileSync(file, 'not arrow either');
    await expect(openTable(file)).rejects.toThrow(/corrupt\.arrow: cannot read as Arrow IPC/);
  });

  it('unknown file type', async () => {
    const file = path.join(dir, 'x.xlsx');
    fs.writeFileSync(file, '');
    await expect(openTable(file)).rejects.toThrow(/unknown file type/);
  });

  it('missing column, listing the columns there are', async () => {
    const t = await openTable(path.join(dir, 'a.parquet'));
    await expect(collect(t.read([{ name: 'spend', as: 'number' }]))).rejects.toThrow(/a\.parquet: no column "spend" \(columns: id, x, s\)/);
  });

  it('non-numeric column asked for as numbers, with the first offending row', async () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, 'visits\n1\n2\nmany\n4\n');
    const t = await openTable(file);
    await expect(collect(t.read([{ name: 'visits', as: 'number' }]))).rejects.toThrow(/bad\.csv: column "visits", data row 3: "many" is not a number/);
  });

  it('unmatched glob', async () => {
    await expect(openDataset([path.join(dir, 'none-*.parquet')])).rejects.toThrow(/no files match/);
  });
});

describe('paths and names never become SQL', () => {
  it('reads a file whose name and columns look like SQL injection', async () => {
    const file = path.join(dir, "x'); DROP TABLE t; --.parquet");
    await writeFile(file, [{ name: 'a"; DROP TABLE t; --', type: 'DOUBLE' }], one({ rows: 2, columns: { 'a"; DROP TABLE t; --': Float64Array.from([1, 2]) } }));
    const t = await openTable(file);
    expect(t.columns[0].name).toBe('a"; DROP TABLE t; --');
    const [b] = await collect(t.read([{ name: 'a"; DROP TABLE t; --', as: 'number' }]));
    expect(Array.from(numberColumn(b, 'a"; DROP TABLE t; --'))).toEqual([1, 2]);
  });
});

describe('row ranges (shards) and rejected values', () => {
  const ids = (batches: ColumnBatch[]) => batches.flatMap((b) => Array.from(b.columns.get('id') as BigInt64Array, Number));

  it('reads exactly rows [start, end) of Parquet, CSV and Arrow files, with file row offsets', async () => {
    const n = 3000;
    const id = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const csv = path.join(dir, 'r.csv');
    const pq = path.join(dir, 'r.parquet');
    await writeFile(csv, [{ name: 'id', type: 'BIGINT' }], one({ rows: n, columns: { id } }));
    await writeFile(pq, [{ name: 'id', type: 'BIGINT' }], one({ rows: n, columns: { id } }));
    const arrow = path.join(dir, 'r.arrow');
    // Several record batches, so a range starts inside one and ends inside another.
    const parts = [0, 1000, 2000].map((s) => tableFromArrays({ id: id.slice(s, s + 1000) }));
    fs.writeFileSync(arrow, tableToIPC(parts[0].concat(parts[1], parts[2]), 'stream'));
    for (const file of [csv, pq, arrow]) {
      const t = await openTable(file);
      const batches = await collect(t.read([{ name: 'id', as: 'bigint' }], { range: { start: 950, end: 2100 }, batchRows: 500 }));
      expect(ids(batches), file).toEqual(Array.from({ length: 1150 }, (_, i) => 950 + i));
      expect(batches[0].offset, file).toBe(950);
      expect(batches[1].offset, file).toBe(batches[0].offset + batches[0].rows);
    }
  });

  it('with badNumbers "report", lists text in a number column as rejects and reads it as missing', async () => {
    const file = path.join(dir, 'rejects.csv');
    fs.writeFileSync(file, 'id,visits\n1,3\n2,many\n3,\n4,5.5\n5,n/a\n6,1..2\n');
    const t = await openTable(file);
    const [b] = await collect(t.read([{ name: 'id', as: 'bigint' }, { name: 'visits', as: 'number' }], { badNumbers: 'report' }));
    expect(Array.from(numberColumn(b, 'visits'))).toEqual([3, NaN, NaN, 5.5, NaN, NaN]);
    // Blank and "n/a" are missing values (imputed later); text that is no number is a reject.
    expect(b.rejects).toEqual([
      { row: 1, column: 'visits', value: 'many' },
      { row: 5, column: 'visits', value: '1..2' },
    ]);
  });
});

describe('DuckDB vectors in bulk (io/vectors.ts)', () => {
  it('writes numbers of every width with NaN as NULL, chunk after chunk, and reads them back as DuckDB stored them', async () => {
    const { DuckDBDataChunk, DOUBLE, FLOAT, INTEGER, BIGINT } = await import('@duckdb/node-api');
    const { setChunkNumbers } = await import('../src/io/vectors.js');
    const { copyColumn } = await import('../src/io/table.js');
    const { connect } = await import('../src/io/duckdb.js');
    const con = await connect();
    try {
      await con.run('CREATE TEMP TABLE t (d DOUBLE, f FLOAT, i INTEGER, b BIGINT)');
      const appender = await con.createAppender('t', null, 'temp');
      const chunk = DuckDBDataChunk.create([DOUBLE, FLOAT, INTEGER, BIGINT]);
      // Two chunks through the same DuckDBDataChunk: the NULL of the first must not stay in the second.
      const first = { d: Float64Array.of(1.5, NaN, -2), f: Float64Array.of(0.1, 2, NaN), i: Float64Array.of(3, NaN, 7), b: BigInt64Array.of(10n, -20n, 2n ** 40n) };
      const second = { d: Float64Array.of(4, 5, 6), f: Float32Array.of(1, 2, 3), i: Int32Array.of(8, 9, 10), b: BigInt64Array.of(1n, 2n, 3n) };
      for (const rows of [first, second]) {
        chunk.reset();
        chunk.rowCount = 3;
        [rows.d, rows.f, rows.i, rows.b].forEach((v, c) => setChunkNumbers(chunk, c, v, 0, 3));
        appender.appendDataChunk(chunk);
      }
      appender.closeSync();
      const got = (await con.runAndReadAll('SELECT d, f, i, b::VARCHAR FROM t')).getRows();
      expect(got).toEqual([
        [1.5, Math.fround(0.1), 3, '10'],
        [null, 2, null, '-20'],
        [-2, null, 7, String(2n ** 40n)],
        [4, 1, 8, '1'],
        [5, 2, 9, '2'],
        [6, 3, 10, '3'],
      ]);
      // Read back in bulk: NULL is NaN in a number column; a null in an id column is reported by its index.
      const result = await con.run('SELECT d, i, b FROM t');
      const read = (await result.fetchChunk())!;
      const d = new Float64Array(8).fill(7);
      expect(copyColumn(read, 0, 1, 3, d, 2)).toBe(-1);
      expect(Array.from(d)).toEqual([7, 7, NaN, -2, 4, 7, 7, 7]);
      const i = new Float64Array(6);
      copyColumn(read, 1, 0, 6, i, 0);
      expect(Array.from(i)).toEqual([3, NaN, 7, 8, 9, 10]);
      const ids = new BigInt64Array(6);
      expect(copyColumn(read, 2, 0, 6, ids, 0)).toBe(-1);
      expect(ids[2]).toBe(2n ** 40n);
      const withNull = (await (await con.run('SELECT i::BIGINT FROM t')).fetchChunk())!;
      expect(copyColumn(withNull, 0, 0, 6, new BigInt64Array(6), 0)).toBe(1); // the null id's index
    } finally {
      con.closeSync();
    }
  });
});

it('reads a number column\'s nulls as NaN exactly where DuckDB has them, at any row of a 2,048-row chunk (property)', async () => {
  const fc = (await import('fast-check')).default;
  const { listValue } = await import('@duckdb/node-api');
  const { copyColumn } = await import('../src/io/table.js');
  const { chunkNumbers } = await import('../src/io/vectors.js');
  const { connect } = await import('../src/io/duckdb.js');
  const con = await connect();
  try {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 2047 }), { maxLength: 80 }), fc.integer({ min: 0, max: 2000 }), async (nulls, start) => {
        const result = await con.run('SELECT CASE WHEN list_contains($1, i) THEN NULL ELSE CAST(i AS DOUBLE) * 0.5 END AS x FROM range(2048) t(i)', [listValue(nulls.length ? nulls : [-1])] as never);
        const chunk = (await result.fetchChunk())!;
        expect(chunkNumbers(chunk, 0)).toBeDefined(); // the bulk path (a DOUBLE), not the per-value one
        const n = chunk.rowCount - start;
        const out = new Float64Array(n);
        expect(copyColumn(chunk, 0, start, n, out, 0)).toBe(-1);
        expect(Array.from(out)).toEqual(Array.from({ length: n }, (_, k) => (nulls.includes(start + k) ? NaN : (start + k) * 0.5)));
      }),
      { numRuns: 40 },
    );
  } finally {
    con.closeSync();
  }
});

it('refuses a Parquet column named as the reader\'s row numbers when the file is opened, naming it', async () => {
  const { connect } = await import('../src/io/duckdb.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-frn-'));
  const file = path.join(dir, 'v.parquet');
  const con = await connect();
  await con.run(`COPY (SELECT i AS id, i AS File_Row_Number FROM range(3) t(i)) TO '${file}' (FORMAT parquet)`);
  con.closeSync();
  await expect(openTable(file)).rejects.toThrow(/v\.parquet: column "File_Row_Number" has the name the Parquet reader gives its row numbers; rename it/);
});

/**
 * Files as real writers make them: Arrow types and codecs, Parquet without string annotations,
 * CSV exports with numbers as text and odd layouts, ids of every type. Inputs are made here
 * with DuckDB and apache-arrow; expected values are written out by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Binary,
  CompressionType,
  Decimal,
  Int64,
  LargeUtf8,
  RecordBatchWriter,
  Table,
  Utf8View,
  compressionRegistry,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import lz4 from 'lz4js';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import { numberColumn, textColumn, type ColumnBatch, type ColumnRequest } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';
import { connect } from '../src/io/duckdb.js';
import { canonicalId } from '../src/io/ids.js';
import { parseNumberText } from '../src/io/number-text.js';
import { mixedLineEnds } from '../src/io/csv-layout.js';
import { openTable } from '../src/io/table.js';
import { UserError } from '../src/util/errors.js';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-real-'));
});

async function readAll(file: string, request: ColumnRequest[]): Promise<ColumnBatch> {
  const t = await openTable(file);
  const batches: ColumnBatch[] = [];
  for await (const b of t.read(request)) batches.push(b);
  expect(batches.length).toBe(1);
  return batches[0];
}

async function duck(sql: string): Promise<void> {
  const con = await connect();
  try {
    await con.run(sql);
  } finally {
    con.closeSync();
  }
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A zstd frame of one raw (stored) block: valid Zstandard (RFC 8878), enough to test decoding. */
function zstdStored(data: Uint8Array): Uint8Array {
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; single segment, 4-byte content size
  const size = data.length;
  const fcs = [size & 255, (size >> 8) & 255, (size >> 16) & 255, (size >>> 24) & 255];
  const block = (size << 3) | 1; // last block, raw
  const out = new Uint8Array(header.length + 4 + 3 + size);
  out.set([...header, ...fcs, block & 255, (block >> 8) & 255, (block >> 16) & 255]);
  out.set(data, header.length + 7);
  return out;
}

describe('Arrow IPC as writers make it', () => {
  it('reads decimals with their scale: decimal(10,2) 1034 stored is 10.34', async () => {
    const n = 3;
    const words = new Uint32Array(n * 4);
    [1034, 5934, 99].forEach((v, i) => (words[i * 4] = v));
    const dec = makeVector(makeData({ type: new Decimal(2, 10, 128), length: n, data: words }));
    const table = new Table({ spend: dec });
    const file = path.join(dir, 'dec.arrow');
    fs.writeFileSync(file, tableToIPC(table, 'file'));
    const b = await readAll(file, [{ name: 'spend', as: 'number' }]);
    expect(Array.from(numberColumn(b, 'spend'))).toEqual([10.34, 59.34, 0.99]);
    expect((await openTable(file)).columns[0].kind).toBe('numeric');
  });

  it('reads Utf8View, LargeUtf8 and Binary strings as text', async () => {
    const dev = ['mobile', 'desktop', 'tablet', 'mobile'];
    const enc = new TextEncoder();
    const table = new Table({
      a: vectorFromArray(dev, new Utf8View()),
      b: vectorFromArray(dev, new LargeUtf8()),
      c: vectorFromArray(dev.map((d) => enc.encode(d)), new Binary()),
    });
    const file = path.join(dir, 'strings.arrow');
    fs.writeFileSync(file, tableToIPC(table, 'file'));
    const t = await openTable(file);
    expect(t.columns.map((c) => c.kind)).toEqual(['text', 'text', 'text']);
    const b = await readAll(file, ['a', 'b', 'c'].map((name) => ({ name, as: 'text' as const })));
    for (const name of ['a', 'b', 'c']) expect(textColumn(b, name)).toEqual(dev);
  });

  it.each([
    ['LZ4 frame', CompressionType.LZ4_FRAME, { encode: (d: Uint8Array) => Uint8Array.from(lz4.compress(d)) }],
    ['ZSTD', CompressionType.ZSTD, { encode: zstdStored }],
  ])('decodes %s-compressed record batch bodies', async (_name, type, encoder) => {
    const decoder = compressionRegistry.get(type)!;
    expect(decoder?.decode).toBeTypeOf('function'); // registered by the reader module
    compressionRegistry.set(type, { ...decoder, ...encoder });
    const ids = Array.from({ length: 5000 }, (_, i) => BigInt(i) + 9_007_199_254_740_993n);
    const table = new Table({ id: vectorFromArray(ids, new Int64()), x: vectorFromArray(ids.map((_, i) => i % 17)) });
    const writer = new RecordBatchWriter({ compressionType: type } as never);
    writer.writeAll(table);
    const file = path.join(dir, `c${type}.arrow`);
    fs.writeFileSync(file, await writer.toUint8Array());
    compressionRegistry.set(type, decoder);
    const b = await readAll(file, [{ name: 'id', as: 'bigint' }, { name: 'x', as: 'number' }]);
    expect(Array.from(b.columns.get('id') as BigInt64Array)).toEqual(ids);
    expect(numberColumn(b, 'x')[16]).toBe(16);
  });
});

describe('ZSTD frames as other encoders write them', () => {
  it('decodes a single-segment frame (what libzstd writes for a buffer) into an 8-byte aligned buffer, as 64-bit columns need', () => {
    // fzstd returns such a frame's content as a view 12 bytes into its own allocation.
    const decoded = compressionRegistry.get(CompressionType.ZSTD)!.decode!(zstdStored(new Uint8Array(new BigInt64Array([1n, 2n ** 60n, -3n]).buffer)));
    expect(decoded.byteOffset % 8).toBe(0);
    expect(Array.from(new BigInt64Array(decoded.buffer, decoded.byteOffset, 3))).toEqual([1n, 2n ** 60n, -3n]);
  });

  it('reads an IPC file whose int64 and float64 buffers are ZSTD frames that decode to views (RLE blocks)', async () => {
    const decoder = compressionRegistry.get(CompressionType.ZSTD)!;
    // A constant buffer as one single-segment frame holding one RLE block: smaller than the data, so the writer keeps it.
    const rle = (data: Uint8Array) => {
      if (data.length === 0 || data.some((b) => b !== data[0])) return zstdStored(data); // larger than the data: stored uncompressed
      const n = data.length;
      const block = (n << 3) | (1 << 1) | 1;
      return new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0, n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24, block & 255, (block >> 8) & 255, (block >> 16) & 255, data[0]]);
    };
    compressionRegistry.set(CompressionType.ZSTD, { ...decoder, encode: rle });
    const n = 1000;
    const table = new Table({ big: vectorFromArray(Array.from({ length: n }, () => 0n), new Int64()), x: vectorFromArray(new Float64Array(n)) });
    const writer = new RecordBatchWriter({ compressionType: CompressionType.ZSTD } as never);
    writer.writeAll(table);
    const file = path.join(dir, 'zstd-rle.arrow');
    fs.writeFileSync(file, await writer.toUint8Array());
    compressionRegistry.set(CompressionType.ZSTD, decoder);
    const b = await readAll(file, [{ name: 'big', as: 'number' }, { name: 'x', as: 'number' }]);
    expect([b.rows, numberColumn(b, 'big')[999], numberColumn(b, 'x')[0]]).toEqual([n, 0, 0]);
  });
});

describe('Parquet as other writers make it', () => {
  it('reads BYTE_ARRAY strings without the UTF8 annotation as text', async () => {
    const file = path.join(dir, 'blob.parquet');
    await duck(`COPY (SELECT i AS visitor_id, CAST(['mobile','desktop','tablet'][i % 3 + 1] AS BLOB) AS device FROM range(30) t(i)) TO '${file}' (FORMAT parquet)`);
    const t = await openTable(file);
    expect(t.columns.find((c) => c.name === 'device')!.kind).toBe('text');
    const { spec } = await inferSpec(await openDataset([file]));
    expect(spec.categorical.map((c) => c.name)).toEqual(['device']);
  });

  it('opens an arrow-rs file with a Null column, skips that column with its reason, and DuckDB keeps working', async () => {
    const file = path.resolve('test/fixtures/arrow-rs-null-column.parquet');
    const t = await openTable(file);
    expect(t.rowCount).toBe(300);
    const { spec, notes } = await inferSpec(await openDataset([file]));
    expect(spec.id).toBe('visitor_id');
    expect(spec.categorical.map((c) => c.name)).toEqual(['device']);
    expect(notes.find((n) => n.startsWith('email:'))).toMatch(/skipped \(empty/);
    // The shared DuckDB instance was recovered after the failed metadata query.
    const other = path.join(dir, 'after.parquet');
    await duck(`COPY (SELECT 1 AS x) TO '${other}' (FORMAT parquet)`);
    expect((await openTable(other)).rowCount).toBe(1);
  });

  it('a file DuckDB cannot decode is a UserError naming the file, not an internal error', async () => {
    const file = path.join(dir, 'corrupt.parquet');
    await duck(`COPY (SELECT i AS id, hash(i) AS h FROM range(200000) t(i)) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
    const bytes = fs.readFileSync(file);
    for (let i = 1000; i < bytes.length / 2; i += 7) bytes[i] ^= 0x5a; // data pages damaged, footer intact
    fs.writeFileSync(file, bytes);
    const t = await openTable(file);
    const reading = (async () => {
      for await (const _ of t.read([{ name: 'h', as: 'number' }])) void _;
    })();
    await expect(reading).rejects.toBeInstanceOf(UserError);
    await expect(reading).rejects.toThrow(/corrupt\.parquet: read failed near data row/);
  });

  it('skips the pandas index column', async () => {
    const file = path.join(dir, 'pandas.parquet');
    await duck(`COPY (SELECT i AS __index_level_0__, i % 7 AS sessions, i % 3 AS views FROM range(50) t(i)) TO '${file}' (FORMAT parquet)`);
    const { spec, notes } = await inferSpec(await openDataset([file]));
    expect(spec.numeric.map((f) => f.name)).toEqual(['sessions', 'views']);
    expect(notes[0]).toMatch(/__index_level_0__: skipped \(a row index/);
  });
});

describe('ids of every type', () => {
  it('compares ids by value', () => {
    expect(canonicalId('12346.0')).toBe('12346');
    expect(canonicalId(' 12346 ')).toBe('12346');
    expect(canonicalId(12346)).toBe('12346');
    expect(canonicalId(12346n)).toBe('12346');
    expect(canonicalId('+007')).toBe('7');
    expect(canonicalId('18446744073709551615')).toBe('18446744073709551615');
    expect(canonicalId('a1b2-UUID')).toBe('a1b2-UUID');
    expect(canonicalId('12.5')).toBe('12.5');
    expect(canonicalId('')).toBeNull();
    expect(canonicalId(null)).toBeNull();
  });

  it('carries UBIGINT ids above 2^63 exactly, as text', async () => {
    const file = path.join(dir, 'ubig.parquet');
    await duck(`COPY (SELECT (18446744073709551615 - i)::UBIGINT AS visitor_id, i % 5 AS x FROM range(10) t(i)) TO '${file}' (FORMAT parquet)`);
    const data = await openDataset([file]);
    const { spec } = await inferSpec(data);
    expect(spec.id).toBe('visitor_id');
    const b = await readAll(file, [{ name: 'visitor_id', as: 'text' }]);
    expect(textColumn(b, 'visitor_id')[0]).toBe('18446744073709551615');
    await expect(readAll(file, [{ name: 'visitor_id', as: 'bigint' }])).rejects.toThrow(/UBIGINT, expected integers that fit 64 bits/);
  });

  it('finds consecutive int64 ids above 2^53 unique (not a numeric feature)', async () => {
    const file = path.join(dir, 'big53.parquet');
    await duck(`COPY (SELECT 9007199254740993 + i AS customer_id, i % 5 AS x FROM range(1000) t(i)) TO '${file}' (FORMAT parquet)`);
    const { spec } = await inferSpec(await openDataset([file]));
    expect(spec.id).toBe('customer_id');
    expect(spec.numeric.map((f) => f.name)).toEqual(['x']);
  });
});

describe('numbers written as text, and CSV layout', () => {
  it('parses numbers as exports write them', () => {
    expect(parseNumberText('2,485')).toBe(2485);
    expect(parseNumberText('66.82%')).toBe(66.82);
    expect(parseNumberText('$1,362.50')).toBe(1362.5);
    expect(parseNumberText('-€12.00')).toBe(-12);
    expect(parseNumberText('1e-3')).toBe(0.001);
    expect(parseNumberText(' ')).toBeNaN();
    expect(parseNumberText('N/A')).toBeNaN();
    expect(parseNumberText('Inf')).toBe(Infinity);
    expect(parseNumberText('1,5')).toBeUndefined(); // a decimal comma is not read as 15
    expect(parseNumberText('12,34,567')).toBeUndefined();
    expect(parseNumberText('many')).toBeUndefined();
  });

  it('a column of numbers with blanks, separators, % and currency is numeric with missing values', async () => {
    const file = write(
      'export.csv',
      '# Analytics export\n# Range: 2024-01-01 - 2024-01-31\n\nvisitor_id,sessions,revenue,rate,score\n' +
        '1,"2,485","$1,362.50",66.82%,Inf\n2,12,$5.00,1.5%,0.5\n3, ,,0%,NaN\n4,7,$0.00,2%,1\nTotal,"2,504","$1,367.50",,\n',
    );
    const t = await openTable(file);
    expect(t.rowCount).toBe(4); // the totals row is left out
    const { spec, notes } = await inferSpec(await openDataset([file]));
    expect(spec.numeric.map((f) => f.name)).toEqual(['sessions', 'revenue', 'rate', 'score']);
    expect(notes.find((n) => n.startsWith('sessions'))).toMatch(/numbers written as text; 1 blank or missing/);
    const b = await readAll(file, ['sessions', 'revenue', 'rate'].map((name) => ({ name, as: 'number' as const })));
    expect(Array.from(numberColumn(b, 'sessions'))).toEqual([2485, 12, NaN, 7]);
    expect(Array.from(numberColumn(b, 'revenue'))).toEqual([1362.5, 5, NaN, 0]);
    expect(Array.from(numberColumn(b, 'rate'))).toEqual([66.82, 1.5, 0, 2]);
  });

  it('reads CSV values past the sniffer\'s sample exactly: late floats, late missing values, ids beyond 2^63', async () => {
    const n = 25_000;
    const rows = Array.from({ length: n }, (_, i) => `${BigInt(2) ** 64n - 1n - BigInt(i)},${i < n - 2 ? i % 10 : ['8.5', 'n/a'][n - 1 - i]}`);
    const file = write('late.csv', `visitor_id,sessions\n${rows.join('\n')}\n`);
    const t = await openTable(file);
    const ids: string[] = [];
    const sessions: number[] = [];
    for await (const b of t.read([{ name: 'visitor_id', as: 'text' }, { name: 'sessions', as: 'number' }])) {
      ids.push(...textColumn(b, 'visitor_id').map(String));
      sessions.push(...numberColumn(b, 'sessions'));
    }
    expect(ids[0]).toBe('18446744073709551615');
    expect(new Set(ids).size).toBe(n);
    expect(sessions.slice(-2)).toEqual([NaN, 8.5]); // "n/a" then "8.5", past the 20,480 rows DuckDB samples
    const { spec } = await inferSpec(await openDataset([file]));
    expect(spec.id).toBe('visitor_id');
  });

  it('names the data row of a late value that is no number', async () => {
    const rows = Array.from({ length: 22_000 }, (_, i) => `${i},${i === 21_500 ? 'oops' : i % 7}`);
    const file = write('late-bad.csv', `id,x\n${rows.join('\n')}\n`);
    const t = await openTable(file);
    const reading = (async () => {
      for await (const _ of t.read([{ name: 'x', as: 'number' }])) void _;
    })();
    await expect(reading).rejects.toThrow(/column "x", data row 21501: "oops" is not a number/);
  });

  it('decides the decimal mark per column from its values, whatever the separator; refuses a column either mark reads', async () => {
    // UCI Bank Marketing's layout: ";" between fields, "." decimals, Excel's "#####" overflow cells.
    const bank = write('bank.csv', 'id;cons.price.idx;emp.var.rate;euribor\n' + Array.from({ length: 40 }, (_, i) => `${i};${['93.994', '93.2', '94.465', '92.893'][i % 4]};${i % 10 === 3 ? '#####' : ['1.4', '-0.1', '-1.8', '1.1'][i % 4]};${['4,857', '4,961', '0,635', '1,25'][i % 4]}`).join('\n') + '\n');
    const bankSpec = await inferSpec(await openDataset([bank]));
    expect(bankSpec.spec.numeric.map((f) => f.name)).toEqual(['cons.price.idx', 'emp.var.rate', 'euribor']);
    const rows = await readAll(bank, ['cons.price.idx', 'emp.var.rate', 'euribor'].map((name) => ({ name, as: 'number' as const })));
    expect(Array.from(numberColumn(rows, 'cons.price.idx')).slice(0, 4)).toEqual([93.994, 93.2, 94.465, 92.893]);
    expect(Array.from(numberColumn(rows, 'emp.var.rate')).slice(0, 4)).toEqual([1.4, -0.1, -1.8, NaN]); // row 3 is "#####": missing
    expect(Array.from(numberColumn(rows, 'euribor')).slice(0, 4)).toEqual([4.857, 4.961, 0.635, 1.25]);

    // A "," file with quoted decimal commas ("0,25"): read as such.
    const us = write('us-comma.csv', 'id,spend,device\n' + Array.from({ length: 40 }, (_, i) => `${i},"${i},25",${['a', 'b'][i % 2]}`).join('\n') + '\n');
    const usSpec = await inferSpec(await openDataset([us]));
    expect(usSpec.spec.numeric.map((f) => f.name)).toEqual(['spend']);
    expect(Array.from(numberColumn(await readAll(us, [{ name: 'spend', as: 'number' }]), 'spend')).slice(0, 3)).toEqual([0.25, 1.25, 2.25]);

    // A ";" file whose values all read either way ("1,125": 1.125 or 1125) is refused until a spec names the mark.
    const eu = write('eu.csv', 'id;weight;device\n' + Array.from({ length: 40 }, (_, i) => `${i};"${1 + (i % 4)},125";${['a', 'b'][i % 2]}`).join('\n') + '\n');
    const euSpec = await inferSpec(await openDataset([eu]));
    expect(euSpec.spec.numeric).toEqual([]);
    expect(euSpec.notes.find((x) => x.startsWith('weight'))).toMatch(/skipped \(its numbers read with either decimal mark, e\.g\. "1,125"; list it in a feature spec with "decimal"/);
    await expect(readAll(eu, [{ name: 'weight', as: 'number' }])).rejects.toThrow(/column "weight": its numbers read with either decimal mark .*"decimal": "\."/);
    const fitted = await fitTransform(await openDataset([eu]), { numeric: [{ name: 'weight', decimal: ',' }], categorical: [], boolean: [] });
    expect(fitted.features[0]).toMatchObject({ name: 'weight', decimal: ',' });
    expect(fitted.features[0].kind === 'numeric' && fitted.features[0].rawMean).toBeCloseTo(2.625, 12);
    // Evidence both ways ("1.5" and "2,5") is refused too.
    const mixed = write('mixed.csv', 'id;w;d\n' + Array.from({ length: 10 }, (_, i) => `${i};${i % 2 ? '1.5' : '2,5'};${i % 3}`).join('\n') + '\n');
    await expect(readAll(mixed, [{ name: 'w', as: 'number' }])).rejects.toThrow(/e\.g\. "2,5", "1\.5"|e\.g\. "1\.5", "2,5"/);

    const stray = write('stray.csv', 'id,spend,device\n' + Array.from({ length: 100 }, (_, i) => `${i},${i === 50 ? 'unknown' : i === 60 ? '(45.00)' : i * 2},${['a', 'b'][i % 2]}`).join('\n') + '\n');
    const straySpec = await inferSpec(await openDataset([stray]));
    expect(straySpec.spec.numeric).toEqual([{ name: 'spend', invalidText: 'missing' }]);
    const strayFit = await fitTransform(await openDataset([stray]), straySpec.spec);
    const spend = strayFit.features.find((f) => f.name === 'spend')!;
    expect(spend.kind === 'numeric' && [spend.invalid, spend.min]).toEqual([1, -45]);
  });

  it('never takes a contact column (email, phone) for a feature', async () => {
    const file = write('contacts.csv', 'id,phone,visits\n' + Array.from({ length: 30 }, (_, i) => `${i},+1415555${String(i % 3).padStart(4, '0')},${i % 4}`).join('\n') + '\n');
    const { spec, notes } = await inferSpec(await openDataset([file]));
    expect(spec.categorical).toEqual([]);
    expect(notes.find((n) => n.startsWith('phone'))).toMatch(/skipped \(a contact identifier/);
  });

  it('finds mixed line ends across its 1 MiB read chunks: a CRLF split between two chunks is one CRLF', () => {
    const head = 'a,b\r\n' + '1,2\r\n'.repeat(1000);
    const pad = 'x'.repeat((1 << 20) - head.length - 1);
    const file = write('chunked.csv', `${head}${pad}\r\n3,4\r\n5,6\n`);
    expect(mixedLineEnds(file)).toEqual({ crlf: 1, lf: 1004 });
    expect(mixedLineEnds(write('alike.csv', `${head}${pad}\r\n3,4\r\n`))).toBeUndefined();
  });

  it('skips Excel\'s "sep=;" first line', async () => {
    const file = write('excel.csv', 'sep=;\nid;x;y\n1;2;3\n4;5;6\n7;8;9\n');
    const b = await readAll(file, [{ name: 'x', as: 'number' }]);
    expect(Array.from(numberColumn(b, 'x'))).toEqual([2, 5, 8]);
  });

  it.each([
    ['a header and rows in another delimiter', 'id;x;y\n1;2;3\n2;3;4\n3;4;5\n4,5,6\n5,6,7\n6,7,8\n7,8,9\n8,9,10\n9,1,2\n10,2,3\n', /first 4 lines do not parse like the rest.*line 1 is "id;x;y"/],
    ['no header line', '1,2,3\n4,5,6\n7,8,9\n', /no header line found/],
    ['an empty file', '', /the file is empty/],
    ['a header only', 'a,b,c\n', /no data rows/],
    ['duplicate column names', 'a,b,a\n1,2,3\n4,5,6\n', /column "a" appears twice/],
    // DuckDB's names ignore case: it renamed the second Sessions_1 without a word.
    ['column names that differ only in case', 'id,sessions,Sessions\n1,2,3\n4,5,6\n', /columns "sessions" and "Sessions" differ only in case in the header \(column names ignore case\) \(line 1\)/],
  ])('refuses a CSV with %s', async (_what, text, message) => {
    await expect(openTable(write(`bad-${Math.random().toString(36).slice(2)}.csv`, text))).rejects.toThrow(message);
  });
});

describe('encodings and line ends as exports write them', () => {
  const rows = (text: string[]) => text.join('');
  it.each([
    ['UTF-16LE with a BOM, tab-separated (Excel "Unicode Text", Google Ads)', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rows(['id\tcity\tsales\r\n', '1\tKöln\t12.5\r\n', '2\tMünchen\t7\r\n', '3\tKöln\t1\r\n']), 'utf16le')])],
    ['UTF-16BE with a BOM', () => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(rows(['id,city,sales\n', '1,Köln,12.5\n', '2,München,7\n', '3,Köln,1\n']), 'utf16le').swap16()])],
    ['CR-only line ends (Mac Excel)', () => Buffer.from(rows(['id,city,sales\r', '1,Köln,12.5\r', '2,München,7\r', '3,Köln,1\r']))],
    ['lines ending in both CRLF and LF (a header from one tool, rows from another)', () => Buffer.from(rows(['id,city,sales\r\n', '1,Köln,12.5\r\n', '2,München,7\n', '3,Köln,1\n']))],
    ['a UTF-8 BOM and CRLF', () => Buffer.from(rows(['\ufeffid,city,sales\r\n', '1,Köln,12.5\r\n', '2,München,7\r\n', '3,Köln,1\r\n']))],
  ])('reads %s exactly', async (_what, bytes) => {
    const file = path.join(dir, `enc-${Math.random().toString(36).slice(2)}.csv`);
    fs.writeFileSync(file, bytes());
    const b = await readAll(file, [{ name: 'id', as: 'text' }, { name: 'city', as: 'text' }, { name: 'sales', as: 'number' }]);
    expect(textColumn(b, 'city')).toEqual(['Köln', 'München', 'Köln']);
    expect(Array.from(numberColumn(b, 'sales'))).toEqual([12.5, 7, 1]);
    expect((await openTable(file)).path).toBe(file); // messages name the file, never the normalized copy
  });

  it('keeps short, long and quoted rows caught in a file read through its normalized copy', async () => {
    const file = write('mixed-short.csv', 'id,x,y\r\n1,2,3\r\n4,5\n7,8,9\n');
    await expect(readAll(file, [{ name: 'x', as: 'number' }])).rejects.toThrow(/mixed-short\.csv/);
    const quoted = write('mixed-quoted.csv', 'id,note\r\n1,"a\r\nb"\n2,c\n');
    expect(textColumn(await readAll(quoted, [{ name: 'note', as: 'text' }]), 'note')).toEqual(['a\nb', 'c']);
  });

  it.each([
    ['Latin-1', Buffer.from('id,city\n1,K\xf6ln\n2,Paris\n', 'latin1'), /not UTF-8: byte 0xF6 on line 2 .*Latin-1 or Windows-1252.*iconv -f WINDOWS-1252 -t UTF-8/],
    ['MacRoman with CR line ends', Buffer.from('id,city\r1,K\x9aln\r2,Paris\r', 'latin1'), /not UTF-8: byte 0x9A on line 2 .*MacRoman.*iconv -f MACINTOSH -t UTF-8/],
    ['UTF-16 without a BOM', Buffer.from('id,city\n1,Paris\n', 'utf16le'), /NUL bytes.*UTF-16 without a byte-order mark/],
  ])('refuses %s naming the encoding and the conversion, never with a parser dump', async (_what, bytes, message) => {
    const file = path.join(dir, `enc8-${Math.random().toString(36).slice(2)}.csv`);
    fs.writeFileSync(file, bytes);
    const refused = openTable(file);
    await expect(refused).rejects.toThrow(message);
    await expect(refused).rejects.toBeInstanceOf(UserError);
  });
});

describe('files that are not what their name says', () => {
  it.each([
    ['an Excel workbook named .csv', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]), Buffer.from('[Content_Types].xml xl/workbook.xml')]), 'export.csv', /an Excel workbook \(\.xlsx\), not a CSV file; save it from Excel as "CSV UTF-8".*libreoffice --headless --convert-to csv/],
    ['an Excel workbook', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]), Buffer.from('[Content_Types].xml xl/workbook.xml')]), 'export.xlsx', /an Excel workbook \(\.xlsx\)/],
    ['an Excel 97 workbook named .csv', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]), 'old.csv', /an Excel 97-2003 workbook \(\.xls\), not a CSV file/],
    ['a gzip file without .gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), 'visits.csv', /gzip-compressed, not a CSV file; name it .*visits\.csv\.gz/],
    ['a Feather V1 file', Buffer.concat([Buffer.from('FEA1'), Buffer.alloc(64)]), 'iris.feather', /a Feather V1 file \(R's feather package, pandas before 1\.0\).*write_feather/],
  ])('refuses %s saying what it is', async (_what, bytes, name, message) => {
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
    fs.writeFileSync(file, bytes);
    await expect(openTable(file)).rejects.toThrow(message);
  });

  it('refuses a CSV row with a field too many or too few, naming its line and data row, early or past the sniffer\'s sample', async () => {
    const header = 'id,a,b,email';
    const rows = (n: number, bad: number, line: string) => [header, ...Array.from({ length: n }, (_, i) => (i + 1 === bad ? line : `${i + 1},${i},${i * 2},v${i}@x.com`))].join('\n') + '\n';
    // Early: DuckDB's sniffer gives up on the delimiter and reads each line as one column (once a "no column id" refusal).
    const early = path.join(dir, 'ragged-early.csv');
    fs.writeFileSync(early, rows(200, 37, '37,36,72,v36@x.com,extra,fields'));
    await expect(openTable(early)).rejects.toThrow(/ragged-early\.csv: data row 37 \(line 38, if no value above it spans lines\) has more than 4 fields where the header has 4 \(delimiter ","\); correct that line/);
    const short = path.join(dir, 'ragged-short.csv');
    fs.writeFileSync(short, rows(200, 5, '5,4'));
    await expect(openTable(short)).rejects.toThrow(/ragged-short\.csv: data row 5 \(line 6, if no value above it spans lines\) has 2 fields where the header has 4/);
    // Late: past the sniffer's sample, once a 23-line dump of DuckDB's settings and suggestions.
    const late = path.join(dir, 'ragged-late.csv');
    fs.writeFileSync(late, rows(25_000, 24_990, '24990,1,2,v@x.com,x'));
    const err = await openTable(late).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toMatch(/ragged-late\.csv: data row 24990 \(line 24991, if no value above it spans lines\) has more than 4 fields where the header has 4/);
    expect(err!.message.split('\n')).toHaveLength(1);
    // One row ending in a delimiter: the sniffer gives up, DuckDB's strict read takes the row, the lines are counted here.
    const trailing = path.join(dir, 'trailing-row.csv');
    fs.writeFileSync(trailing, `${['id,a,b', ...Array.from({ length: 300 }, (_, i) => `${i + 1},${i},x${i === 1 ? ',' : ''}`)].join('\n')}\n`);
    await expect(openTable(trailing)).rejects.toThrow(/trailing-row\.csv: data row 2 \(line 3\) has 4 fields where the header has 3 \(delimiter ","\): it ends with a delimiter, an empty field the header does not name/);
  });

  it('reads quoted values that first appear past the sniffer\'s sample as quoted: no quotes kept, a quoted delimiter one field', async () => {
    const file = path.join(dir, 'late-quotes.csv');
    const rows = Array.from({ length: 25_000 }, (_, i) => (i + 1 === 22_000 ? '22000,"mobile","toys, games"' : i + 1 === 24_000 ? '24000,tv,5" screen' : `${i + 1},desktop,books`));
    fs.writeFileSync(file, `id,device,category\n${rows.join('\n')}\n`);
    const t = await openTable(file);
    expect(t.rowCount).toBe(25_000);
    const got = await readAll(file, [{ name: 'id', as: 'text' }, { name: 'device', as: 'text' }, { name: 'category', as: 'text' }]);
    const [ids, device, category] = ['id', 'device', 'category'].map((c) => textColumn(got, c));
    const at = (id: string) => ids.indexOf(id);
    expect([device[at('22000')], category[at('22000')]]).toEqual(['mobile', 'toys, games']);
    expect(category[at('24000')]).toBe('5" screen'); // a quote inside an unquoted value stays text
    expect(ids).toHaveLength(25_000);
  });

  it('refuses a Parquet file whose columns differ only in case (DuckDB renamed one Sessions_1), nested columns taken whole', async () => {
    const file = path.join(dir, 'case-twins.parquet');
    await duck(`COPY (SELECT 1 AS id, {'a': 1, 'b': {'c': 2}} AS st, 2.5 AS sessions, 3 AS Xessions FROM range(3)) TO '${file}' (FORMAT parquet)`);
    // pandas and Spark write such names; DuckDB does not, so the second name is patched in place (same length: the footer stays valid).
    const bytes = fs.readFileSync(file);
    for (let i = bytes.indexOf('Xessions'); i !== -1; i = bytes.indexOf('Xessions', i + 1)) bytes.write('S', i);
    fs.writeFileSync(file, bytes);
    await expect(openTable(file)).rejects.toThrow(/case-twins\.parquet: columns "sessions" and "Sessions" differ only in case \(column names ignore case\)/);
    const ipc = path.join(dir, 'case-twins.arrow');
    fs.writeFileSync(ipc, tableToIPC(new Table({ sessions: vectorFromArray([1.5, 2.5]), Sessions: vectorFromArray([3, 4]) }), 'file'));
    await expect(openTable(ipc)).rejects.toThrow(/case-twins\.arrow: columns "sessions" and "Sessions" differ only in case/);
  });

  it('refuses a file named .parquet that is not Parquet (a CSV, empty, cut off), saying what it is', async () => {
    const csv = path.join(dir, 'misnamed.parquet');
    fs.writeFileSync(csv, 'id,x\n1,2\n');
    await expect(openTable(csv)).rejects.toThrow(/misnamed\.parquet: not a Parquet file \(Parquet starts with "PAR1"\); it starts with text, "id,x\\n1,2"\.\.\.: if it is a CSV file, name it \.csv/);
    const empty = path.join(dir, 'zero-bytes.parquet');
    fs.writeFileSync(empty, '');
    await expect(openTable(empty)).rejects.toThrow(/zero-bytes\.parquet: not a Parquet file .*the file is empty/);
    const whole = path.join(dir, 'whole.parquet');
    await duck(`COPY (SELECT range AS id FROM range(1000)) TO '${whole}' (FORMAT parquet)`);
    const cut = path.join(dir, 'cut.parquet');
    fs.writeFileSync(cut, fs.readFileSync(whole).subarray(0, 200));
    await expect(openTable(cut)).rejects.toThrow(/cut\.parquet: a damaged or cut-off Parquet file \(it does not end with "PAR1"\)/);
  });

  it('reads Parquet and Arrow IPC by their magic bytes, whatever the name', async () => {
    const pq = path.join(dir, 'export.dat');
    await duck(`COPY (SELECT range AS id, range * 2 AS x FROM range(5)) TO '${pq}' (FORMAT parquet)`);
    expect(Array.from(numberColumn(await readAll(pq, [{ name: 'x', as: 'number' }]), 'x'))).toEqual([0, 2, 4, 6, 8]);
    const ipc = path.join(dir, 'export.bin');
    fs.writeFileSync(ipc, tableToIPC(new Table({ x: vectorFromArray([1.5, 2.5]) }), 'file'));
    expect(Array.from(numberColumn(await readAll(ipc, [{ name: 'x', as: 'number' }]), 'x'))).toEqual([1.5, 2.5]);
  });
});

describe('dataset folders (Spark, Hive, polars, DuckDB, pandas)', () => {
  it('reads a hive-partitioned folder: part files in order, markers skipped, partition keys as columns', async () => {
    const root = path.join(dir, 'visits.parquet');
    await duck(`COPY (SELECT range AS id, range % 3 AS region, CASE WHEN range < 4 THEN '2024-01-01' ELSE '2024-01-02' END AS day, range * 1.5 AS spend FROM range(8)) TO '${root}' (FORMAT parquet, PARTITION_BY (day, region))`);
    fs.writeFileSync(path.join(root, '_SUCCESS'), '');
    fs.writeFileSync(path.join(root, '._SUCCESS.crc'), 'crc');
    fs.writeFileSync(path.join(root, '_committed_123'), '{}');
    const data = await openDataset([root]);
    expect(data.tables.length).toBe(6); // 2 days x 3 regions
    expect(data.columns.map((c) => c.name)).toEqual(['id', 'spend', 'day', 'region']);
    expect(data.rowCount).toBe(8);
    const got: Array<[string, number, string, number]> = [];
    for await (const b of data.read([{ name: 'id', as: 'text' }, { name: 'spend', as: 'number' }, { name: 'day', as: 'text' }, { name: 'region', as: 'number' }])) {
      for (let i = 0; i < b.rows; i++) got.push([textColumn(b, 'id')[i]!, numberColumn(b, 'spend')[i], textColumn(b, 'day')[i]!, numberColumn(b, 'region')[i]]);
    }
    expect(got.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(Array.from({ length: 8 }, (_, i) => [String(i), i * 1.5, i < 4 ? '2024-01-01' : '2024-01-02', i % 3]));
    const { spec } = await inferSpec(data);
    expect(spec.numeric.map((f) => f.name)).toContain('region');
  });

  it('refuses a folder without data, and a link inside one', async () => {
    const empty = path.join(dir, 'empty.parquet');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, '_SUCCESS'), '');
    await expect(openDataset([empty])).rejects.toThrow(/a folder with no data file/);
    const linked = path.join(dir, 'linked');
    fs.mkdirSync(linked);
    fs.symlinkSync('/etc/hostname', path.join(linked, 'part-0.csv'));
    await expect(openDataset([linked])).rejects.toThrow(/is a link; a dataset folder is read from its own files only/);
  });
});

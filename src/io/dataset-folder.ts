/**
 * A folder as a dataset, as Spark, Hive, polars, DuckDB and pandas (partition_cols) write one:
 * its part files, in path order, with the writers' markers skipped (`_SUCCESS`,
 * `_committed_*`, `_started_*`, `_metadata`: every name starting with "_" or "."; `.crc`
 * checksums) and hive partition folders (`day=2024-01-01/part-0.parquet`) giving each file's
 * rows a constant column per key (URL-decoded; `__HIVE_DEFAULT_PARTITION__` is null).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { ColumnBatch, ColumnData, ColumnInfo, ColumnRequest } from './columns.js';
import { batchKey } from './columns.js';
import { levelCodes } from './levels.js';
import { parseNumberText } from './number-text.js';
import type { Table } from './table.js';

/** A data file of a dataset folder and its partition values, key by key in folder order. */
export interface PartFile {
  file: string;
  partitions: Array<[string, string | null]>;
}

const SKIPPED = /^[._]|\.crc$/i;
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/**
 * The data files below `dir`, sorted by path, with their hive partition values.
 * @throws UserError for a folder with no data file, a link inside it (a dataset's parts are
 *   its own files), or parts whose partition keys differ.
 */
export function partFiles(dir: string): PartFile[] {
  const out: PartFile[] = [];
  const walk = (at: string, partitions: Array<[string, string | null]>) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (SKIPPED.test(entry.name)) continue;
      const full = path.join(at, entry.name);
      if (entry.isSymbolicLink()) throw new UserError(`${dir}: ${full} is a link; a dataset folder is read from its own files only`);
      if (entry.isDirectory()) {
        const kv = /^([^=]+)=(.*)$/.exec(entry.name);
        walk(full, kv ? [...partitions, [decode(kv[1]), kv[2] === HIVE_NULL ? null : decode(kv[2])]] : partitions);
      } else if (entry.isFile()) out.push({ file: full, partitions });
    }
  };
  walk(dir, []);
  if (out.length === 0) throw new UserError(`${dir}: a folder with no data file (markers such as _SUCCESS and .crc files are not data)`);
  const keys = out[0].partitions.map(([k]) => k).join('/');
  const other = out.find((p) => p.partitions.map(([k]) => k).join('/') !== keys);
  if (other) throw new UserError(`${dir}: its parts are partitioned by different keys (${keys || 'none'} for ${out[0].file}, ${other.partitions.map(([k]) => k).join('/') || 'none'} for ${other.file})`);
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A table with its hive partition values as constant columns (read as text, or as numbers
 * and integers where asked and the value is one).
 * @throws UserError when a key is also a column of the file.
 */
export function withPartitions(table: Table, partitions: Array<[string, string | null]>): Table {
  if (partitions.length === 0) return table;
  const clash = partitions.find(([k]) => table.columns.some((c) => c.name === k));
  if (clash) throw new UserError(`${table.path}: partition key "${clash[0]}" is also a column of the file`);
  const values = new Map(partitions);
  const columns: ColumnInfo[] = [...table.columns, ...partitions.map(([name]) => ({ name, type: 'VARCHAR', kind: 'text' as const, inferred: true }))];
  return {
    ...table,
    layout: { ...table.layout, partitions },
    columns,
    async *read(request, options) {
      const own = request.filter((r) => !values.has(r.name));
      for await (const batch of table.read(own, options)) {
        for (const r of request) if (values.has(r.name)) batch.columns.set(batchKey(r), constant(values.get(r.name)!, r, batch, table.path));
        yield { ...batch, columns: new Map(request.map((r) => [batchKey(r), batch.columns.get(batchKey(r))!])) };
      }
    },
  };
}

/** A partition value repeated for every row of the batch, in the form asked for. */
function constant(value: string | null, r: ColumnRequest, batch: ColumnBatch, file: string): ColumnData {
  if (r.as === 'text') return new Array<string | null>(batch.rows).fill(value);
  if (r.as === 'level') return new Float64Array(batch.rows).fill(levelCodes([value], r.levels!)[0]);
  if (r.as === 'number') {
    const v = parseNumberText(value, r.decimalMark === ',');
    if (v === undefined && r.textNotNumber !== 'missing') throw new UserError(`${file}: partition "${r.name}" is ${JSON.stringify(value)}, expected a number`);
    return new Float64Array(batch.rows).fill(v ?? NaN);
  }
  if (value === null || !/^[-+]?\d+$/.test(value)) throw new UserError(`${file}: partition "${r.name}" is ${JSON.stringify(value)}, expected an integer id`);
  return new BigInt64Array(batch.rows).fill(BigInt(value));
}

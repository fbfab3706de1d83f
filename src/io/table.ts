/**
 * One input file (Parquet, CSV or Arrow IPC), read in column batches with bounded memory.
 * Parquet and CSV go through DuckDB; Arrow IPC through apache-arrow.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBVector } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { readArrowBatches, readArrowSchema } from './arrow.js';
import type { ColumnBatch, ColumnData, ColumnInfo, ColumnRequest } from './columns.js';
import { isIntegerType, kindOfType } from './columns.js';
import { connect, duckMessage, ident } from './duckdb.js';

export type Format = 'parquet' | 'csv' | 'arrow';

export interface ReadOptions {
  /** Rows per yielded batch (default 65,536). */
  batchRows?: number;
  /** Stop after this many rows. */
  limit?: number;
  /** Only rows [start, end) of the file (a shard); batch offsets stay file row numbers. */
  range?: { start: number; end: number };
  /**
   * A text value in a column asked for as numbers: 'fail' (default) refuses the column;
   * 'report' reads the row's value as missing and lists it in the batch's `rejects`.
   */
  badNumbers?: 'fail' | 'report';
}

export interface Table {
  path: string;
  format: Format;
  columns: ColumnInfo[];
  /** Total rows; undefined for Arrow IPC streams, whose length is only known after reading them. */
  rowCount: number | undefined;
  /** Rows per Parquet row group, in file order (Parquet only). */
  rowGroups?: number[];
  read(request: ColumnRequest[], options?: ReadOptions): AsyncGenerator<ColumnBatch>;
}

export const DEFAULT_BATCH_ROWS = 65_536;

const FORMATS: Array<[RegExp, Format]> = [
  [/\.(parquet|pq)$/i, 'parquet'],
  [/\.(csv|tsv|txt)(\.gz|\.zst)?$/i, 'csv'],
  [/\.(arrow|feather|ipc|arrows)$/i, 'arrow'],
];

export function formatOf(file: string): Format {
  for (const [re, format] of FORMATS) if (re.test(file)) return format;
  throw new UserError(`${file}: unknown file type; expected .parquet, .csv (or .tsv, .csv.gz) or .arrow/.feather (Arrow IPC)`);
}

const SCANNERS: Record<Exclude<Format, 'arrow'>, string> = {
  parquet: 'read_parquet($1)',
  csv: 'read_csv($1)',
};

export async function openTable(file: string): Promise<Table> {
  const abs = path.resolve(file);
  const stat = fs.statSync(abs, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`${file}: file not found`);
  if (!stat.isFile()) throw new UserError(`${file}: not a regular file`);
  const format = formatOf(abs);
  if (format === 'arrow') {
    const columns = await readArrowSchema(abs);
    return {
      path: abs,
      format,
      columns,
      rowCount: undefined,
      read: (request, options) => checkedRead(abs, columns, request, options, () => readArrowBatches(abs, request, options)),
    };
  }

  const con = await connect();
  const scan = SCANNERS[format];
  try {
    const described = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${scan}`, [abs]);
    const columns: ColumnInfo[] = described.getRows().map((r) => ({
      name: String(r[0]),
      type: String(r[1]),
      kind: kindOfType(String(r[1])),
    }));
    let rowGroups: number[] | undefined;
    let rowCount: number;
    if (format === 'parquet') {
      const meta = await con.runAndReadAll(
        'SELECT row_group_id, max(row_group_num_rows) FROM parquet_metadata($1) GROUP BY row_group_id ORDER BY row_group_id',
        [abs],
      );
      rowGroups = meta.getRows().map((r) => Number(r[1]));
      rowCount = rowGroups.reduce((a, b) => a + b, 0);
    } else {
      const counted = await con.runAndReadAll(`SELECT count(*) FROM ${scan}`, [abs]);
      rowCount = Number(counted.getRows()[0][0]);
    }
    const table: Table = {
      path: abs,
      format,
      columns,
      rowCount,
      rowGroups,
      read: (request, options) => checkedRead(abs, columns, request, options, () => readDuck(table, format, request, options)),
    };
    return table;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file}: cannot read as ${format}: ${duckMessage(err)}`, { cause: err });
  } finally {
    con.closeSync();
  }
}

/** Validates the request against the schema before the first row is read. */
async function* checkedRead(
  file: string,
  columns: ColumnInfo[],
  request: ColumnRequest[],
  options: ReadOptions | undefined,
  read: () => AsyncGenerator<ColumnBatch>,
): AsyncGenerator<ColumnBatch> {
  const lenient = options?.badNumbers === 'report' && formatOf(file) !== 'arrow';
  for (const req of request) {
    const col = columns.find((c) => c.name === req.name);
    if (!col) {
      throw new UserError(`${file}: no column "${req.name}" (columns: ${columns.map((c) => c.name).join(', ')})`);
    }
    if (req.as === 'number' && col.kind !== 'numeric' && col.kind !== 'boolean' && !(lenient && col.kind === 'text')) {
      throw new UserError(`${file}: column "${req.name}" holds ${col.type}, expected numbers${await firstNonNumeric(file, req.name)}`);
    }
    if (req.as === 'bigint' && !isIntegerType(col.type)) {
      throw new UserError(`${file}: column "${req.name}" holds ${col.type}, expected integers`);
    }
  }
  yield* read();
}

/** For a text column asked for as numbers, the first value that is not one (CSV/Parquet only). */
async function firstNonNumeric(file: string, column: string): Promise<string> {
  const format = formatOf(file);
  if (format === 'arrow') return '';
  const con = await connect();
  try {
    const c = ident(column);
    const r = await con.runAndReadAll(
      `SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST(${c} AS VARCHAR) AS v FROM ${SCANNERS[format]})
       WHERE v IS NOT NULL AND TRY_CAST(v AS DOUBLE) IS NULL LIMIT 1`,
      [file],
    );
    const row = r.getRows()[0];
    return row ? `; data row ${row[0]} holds ${JSON.stringify(row[1])}` : '; it holds no number at all (an empty column?)';
  } catch {
    return '';
  } finally {
    con.closeSync();
  }
}

/** Marks the internal columns that carry a rejected text value next to a lenient number column. */
const REJECT = '\u0000reject:';

async function* readDuck(table: Table, format: Exclude<Format, 'arrow'>, request: ColumnRequest[], options: ReadOptions = {}): AsyncGenerator<ColumnBatch> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const textKind = new Set(table.columns.filter((c) => c.kind === 'text').map((c) => c.name));
  const lenient = request.filter((r) => options.badNumbers === 'report' && r.as === 'number' && textKind.has(r.name));
  const select = request.map((r, i) => {
    const c = ident(r.name);
    if (lenient.includes(r)) return `TRY_CAST(${c} AS DOUBLE) AS c${i}`;
    const cast = r.as === 'number' ? 'DOUBLE' : r.as === 'bigint' ? 'BIGINT' : 'VARCHAR';
    return `CAST(${c} AS ${cast}) AS c${i}`;
  });
  // The raw value where a lenient cast failed (null elsewhere): it becomes a reject.
  lenient.forEach((r, i) => select.push(`CASE WHEN TRY_CAST(${ident(r.name)} AS DOUBLE) IS NULL THEN ${ident(r.name)} END AS r${i}`));
  const read: ColumnRequest[] = [...request, ...lenient.map((r) => ({ name: REJECT + r.name, as: 'text' as const }))];
  const params: Array<string | number> = [table.path];
  const range = options.range;
  let sql: string;
  if (format === 'parquet') {
    // file_row_number filters prune whole row groups, so a shard reads only its own.
    sql = `SELECT ${select.join(', ') || '1'} FROM read_parquet($1, file_row_number = true)`;
    if (range) {
      sql += ' WHERE file_row_number >= $2 AND file_row_number < $3';
      params.push(range.start, range.end);
    }
  } else {
    sql = `SELECT ${select.join(', ') || '1'} FROM read_csv($1)`;
    if (range) {
      sql += ' OFFSET $2';
      params.push(range.start);
    }
  }
  const rangeRows = range ? range.end - range.start : Infinity;
  const limit = Math.min(rangeRows, options.limit ?? Infinity);
  if (limit !== Infinity) {
    sql += ` LIMIT $${params.length + 1}`;
    params.push(limit);
  }
  const con: DuckDBConnection = await connect();
  let offset = range?.start ?? 0;
  try {
    const result = await con.stream(sql, params);
    let builder = new BatchBuilder(table.path, read, batchRows, offset);
    for (;;) {
      let chunk: DuckDBDataChunk | null;
      try {
        chunk = await result.fetchChunk();
      } catch (err) {
        throw readError(table, offset + builder.rows, err);
      }
      if (!chunk || chunk.rowCount === 0) break;
      let start = 0;
      while (start < chunk.rowCount) {
        start += builder.append(chunk, start);
        if (builder.full) {
          yield withRejects(builder.finish());
          offset += builder.rows;
          builder = new BatchBuilder(table.path, read, batchRows, offset);
        }
      }
    }
    if (builder.rows > 0) yield withRejects(builder.finish());
  } finally {
    con.closeSync();
  }
}

/** Moves the internal reject columns of a batch into its `rejects` list. */
function withRejects(batch: ColumnBatch): ColumnBatch {
  for (const [name, col] of [...batch.columns]) {
    if (!name.startsWith(REJECT)) continue;
    batch.columns.delete(name);
    const column = name.slice(REJECT.length);
    (col as (string | null)[]).forEach((value, row) => {
      if (value !== null) (batch.rejects ??= []).push({ row, column, value });
    });
  }
  batch.rejects?.sort((a, b) => a.row - b.row);
  return batch;
}

function readError(table: Table, row: number, err: unknown): UserError {
  let where = `near row ${row}`;
  if (table.rowGroups) {
    let first = 0;
    for (let g = 0; g < table.rowGroups.length; g++) {
      if (row < first + table.rowGroups[g]) {
        where += ` (row group ${g})`;
        break;
      }
      first += table.rowGroups[g];
    }
  }
  return new UserError(`${table.path}: read failed ${where}: ${duckMessage(err)}`, { cause: err });
}

/** Copies DuckDB's 2,048-row chunks into fixed-size column batches. */
class BatchBuilder {
  rows = 0;
  private readonly cols: ColumnData[];

  constructor(
    private readonly source: string,
    private readonly request: ColumnRequest[],
    private readonly capacity: number,
    private readonly offset: number,
  ) {
    this.cols = request.map((r) =>
      r.as === 'number' ? new Float64Array(capacity) : r.as === 'bigint' ? new BigInt64Array(capacity) : new Array<string | null>(capacity),
    );
  }

  get full(): boolean {
    return this.rows === this.capacity;
  }

  /** Appends rows of the chunk from `start`; returns how many fit. */
  append(chunk: DuckDBDataChunk, start: number): number {
    const n = Math.min(chunk.rowCount - start, this.capacity - this.rows);
    for (let c = 0; c < this.cols.length; c++) {
      const nullAt = copyVector(chunk.getColumnVector(c), start, n, this.cols[c], this.rows);
      if (nullAt >= 0) {
        throw new UserError(`${this.source}: id column "${this.request[c].name}" is null at row ${this.offset + this.rows + nullAt}`);
      }
    }
    this.rows += n;
    return n;
  }

  finish(): ColumnBatch {
    const columns = new Map<string, ColumnData>();
    this.request.forEach((r, i) => {
      const col = this.cols[i];
      columns.set(r.name, col instanceof Float64Array || col instanceof BigInt64Array ? col.subarray(0, this.rows) : col.slice(0, this.rows));
    });
    return { source: this.source, offset: this.offset, first: this.offset, rows: this.rows, columns };
  }
}

interface TypedVector {
  items: Float64Array | BigInt64Array;
  validity: { itemValid(i: number): boolean; data: unknown };
}

/** Copies n values; returns the index of a null met in an integer column (which cannot hold one), else -1. */
function copyVector(vector: DuckDBVector, start: number, n: number, out: ColumnData, at: number): number {
  if (out instanceof Float64Array || out instanceof BigInt64Array) {
    // DOUBLE and BIGINT vectors expose their buffer; copy it whole, then mark nulls.
    const v = vector as unknown as TypedVector;
    (out as Float64Array).set((v.items as Float64Array).subarray(start, start + n), at);
    if (v.validity.data) {
      for (let i = 0; i < n; i++) {
        if (!v.validity.itemValid(start + i)) {
          if (out instanceof Float64Array) out[at + i] = NaN;
          else return i;
        }
      }
    }
    return -1;
  }
  for (let i = 0; i < n; i++) out[at + i] = vector.getItem(start + i) as string | null;
  return -1;
}

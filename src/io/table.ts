/**
 * One input file (Parquet, CSV or Arrow IPC), read in column batches with bounded memory.
 * Parquet and CSV go through DuckDB; Arrow IPC through apache-arrow.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import { chunkNumbers, isValid, validityBits } from './vectors.js';
import { UserError } from '../util/errors.js';
import { readArrowBatches, readArrowSchema } from './arrow.js';
import type { ColumnBatch, ColumnData, ColumnInfo, ColumnRequest } from './columns.js';
import { batchKey, firstNameTwins, fitsInt64, kindOfType } from './columns.js';
import { codedInSql, jsTextSql, levelCodes, levelCodeSql, levelParams } from './levels.js';
import { checkCsvLayout, csvReadError, csvScanOptions, csvTextOptions, MixedLineEnds, type CsvLayout } from './csv-layout.js';
import { formatOf, type Format } from './file-kind.js';
import { inspectText, needsCopy, normalizedCopy, type TextEncoding } from './text-normalize.js';
import { decideDecimalMarks } from './decimal-mark.js';
import { connect, duckMessage, ident, recoverFrom } from './duckdb.js';
import { parseBool, parseNumberText } from './number-text.js';
import { SOURCE_ROW, type OutputColumn, type SourcedColumns } from './writer.js';

export type { Format } from './file-kind.js';

export interface ReadOptions {
  /** Rows per yielded batch (default 65,536). */
  batchRows?: number;
  /** Stop after this many rows. */
  limit?: number;
  /** Only rows [start, end) of the file (a shard); batch offsets stay file row numbers. */
  range?: { start: number; end: number };
  /**
   * A text value that is not a number, in a column asked for as numbers: 'fail' (default)
   * stops the read naming the data row; 'report' reads it as missing and lists it in the
   * batch's `rejects`; 'missing' reads it as missing (NaN) and says nothing.
   */
  badNumbers?: 'fail' | 'report' | 'missing';
}

/**
 * What opening a file decided, as plain data: its columns (with a CSV's decimal marks), row
 * count, row groups, a CSV's layout and the encoding of the copy it is read through. A job's
 * plan stores it, and its shards (threads, queue workers, a resumed run) reopen the file from
 * it (reopenTable) without describing, sniffing or counting it again.
 */
export interface TableLayout {
  /** The file (absolute). */
  path: string;
  format: Format;
  columns: ColumnInfo[];
  rowCount: number | undefined;
  rowGroups?: number[];
  csv?: CsvLayout;
  /** A CSV read through a normalized UTF-8 copy (text-normalize.ts): the encoding it was copied from. */
  copy?: TextEncoding;
  /** Hive partition keys of a dataset folder's part (dataset-folder.ts), added as columns. */
  partitions?: Array<[string, string | null]>;
}

export interface Table {
  /** What opening it decided (reopenTable takes it back). */
  layout: TableLayout;
  /** The file as the user named it (absolute). */
  path: string;
  /** What DuckDB reads: `path`, or a normalized UTF-8 copy of a CSV (text-normalize.ts). */
  readPath?: string;
  format: Format;
  columns: ColumnInfo[];
  /** Total rows; undefined for Arrow IPC streams, whose length is only known after reading them. */
  rowCount: number | undefined;
  /** Rows per Parquet row group, in file order (Parquet only). */
  rowGroups?: number[];
  /**
   * The DuckDB table function that reads the file (`readPath ?? path` bound as $1) for SQL over
   * it: a CSV's columns as the file's own text in the checked layout (its data rows are the
   * first `rowCount`: a totals row comes after them), a Parquet file's as stored. Absent for Arrow IPC.
   */
  textScan?: string;
  read(request: ColumnRequest[], options?: ReadOptions): AsyncGenerator<ColumnBatch>;
}

export const DEFAULT_BATCH_ROWS = 65_536;

/**
 * BYTE_ARRAY without the UTF8 annotation (Impala, older Spark) holds strings: read it as text.
 * A file is read as its own columns: partition keys in its path (day=.../) are added by the
 * dataset (dataset-folder.ts) for every format alike, not by DuckDB's hive detection.
 */
const PARQUET_SCAN = 'read_parquet($1, binary_as_string = true, hive_partitioning = false)';
/** PARQUET_SCAN with each row's `file_row_number` (0-based). */
const PARQUET_ROWS = 'read_parquet($1, binary_as_string = true, hive_partitioning = false, file_row_number = true)';

/**
 * Opens a Parquet, CSV or Arrow IPC file: its columns, row count and (Parquet) row groups.
 * CSV files are checked for what DuckDB's sniffer decided (see csv-layout.ts): a lost header or
 * lost rows are refused, a trailing totals row is left out.
 * @throws UserError naming the file when it is missing, of an unknown type, unreadable or empty.
 */
export async function openTable(file: string): Promise<Table> {
  const abs = path.resolve(file);
  const stat = fs.statSync(abs, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`${file}: file not found`);
  if (!stat.isFile()) throw new UserError(`${file}: not a regular file`);
  const format = formatOf(abs, file);
  if (format === 'arrow') {
    const columns = await readArrowSchema(abs);
    refuseCaseTwins(columns.map((c) => c.name), file);
    return tableOf({ path: abs, format, columns, rowCount: undefined }, abs);
  }
  let layout: CsvLayout | undefined;
  try {
    const { csv, readPath, copy } = format === 'csv' ? await csvLayout(abs) : { csv: undefined, readPath: abs, copy: undefined };
    layout = csv;
    const scan = csv ? `read_csv($1${csvScanOptions(csv)})` : PARQUET_SCAN;
    const columns: ColumnInfo[] = await withConnection(async (con) => {
      const described = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${scan}`, [readPath]);
      return described.getRows().map((r) => {
        const col: ColumnInfo = { name: String(r[0]), type: String(r[1]), kind: kindOfType(String(r[1])) };
        // CSV types are the sniffer's guess from a sample: values are read as text and parsed row by row.
        if (csv) col.inferred = true;
        return col;
      });
    });
    if (csv) await withConnection((con) => decideDecimalMarks(con, `read_csv($1${csvTextOptions(csv)})`, readPath, columns, csv.delimiter));
    let rowGroups: number[] | undefined;
    let rowCount: number;
    if (format === 'parquet') {
      const names = await parquetNames(abs);
      refuseCaseTwins(names, file);
      const taken = names.find((n) => n.toLowerCase() === 'file_row_number');
      // Reads ask DuckDB for each row's number under this name (a shard's rows, sourced columns).
      if (taken) throw new UserError(`${file}: column "${taken}" has the name the Parquet reader gives its row numbers; rename it where the file is written`);
      const labels = await parquetLabels(abs);
      for (const name of labels.names) {
        const col = columns.find((c) => c.name === name);
        if (col) Object.assign(col, { label: true }, labels.horizonDays && { horizonDays: labels.horizonDays });
      }
      rowGroups = await parquetRowGroups(abs);
      rowCount = rowGroups ? rowGroups.reduce((a, b) => a + b, 0) : await countRows(abs, scan);
    } else {
      // Counted as the rows will be read (the layout's quote, every value text), not by the sniffer's sample.
      rowCount = (await countRows(readPath, `read_csv($1${csvTextOptions(csv!)})`)) - (csv!.trailer ? 1 : 0);
      if (rowCount <= 0) throw new UserError(`${file}: no data rows (a header line only, or an empty file)`);
    }
    return tableOf({ path: abs, format, columns, rowCount, ...(rowGroups && { rowGroups }), ...(csv && { csv }), ...(copy && { copy }) }, readPath);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // A CSV line DuckDB cannot read (a field too many or too few): the line named in a few words.
    if (format === 'parquet' && /No magic bytes found at end of file/.test(duckMessage(err))) throw new UserError(`${file}: a damaged or cut-off Parquet file (it does not end with "PAR1"); write it again`, { cause: err });
    throw (layout && csvReadError(err, file, layout)) || new UserError(`${file}: cannot read as ${format}: ${duckMessage(err)}`, { cause: err });
  }
}

/**
 * A file opened again from the layout an earlier openTable decided (a plan's): nothing is
 * described, sniffed or counted; a CSV that needs a normalized copy gets this process's (one
 * per file version on this host). The caller checks the file is the one planned from
 * (fingerprints): a changed file would be read with a stale layout.
 * @throws UserError when the file is gone, or its bytes are no longer valid in the planned encoding.
 */
export async function reopenTable(layout: TableLayout): Promise<Table> {
  const stat = fs.statSync(layout.path, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new UserError(`${layout.path}: file not found (it was there when the job was planned)`);
  return tableOf(layout, layout.copy ? await normalizedCopy(layout.path, layout.path, layout.copy) : layout.path);
}

/** The Table of a layout, read from `readPath` (the file, or a CSV's normalized copy). */
function tableOf(layout: TableLayout, readPath: string): Table {
  const { path: abs, format, columns, csv } = layout;
  if (format === 'arrow') {
    return { layout, path: abs, format, columns, rowCount: undefined, read: (request, options) => checkedRead(abs, columns, request, options, (req) => readArrowBatches(abs, req, options)) };
  }
  // The columns as the file's own text, in the layout checked when opened (CSV); the typed scan otherwise.
  const readScan = csv ? `read_csv($1${csvTextOptions(csv)})` : PARQUET_SCAN;
  const table: Table = {
    layout,
    path: abs,
    ...(readPath !== abs && { readPath }),
    format,
    columns,
    rowCount: layout.rowCount,
    rowGroups: layout.rowGroups,
    textScan: readScan,
    read: (request, options) => checkedRead(abs, columns, request, options, (req) => readDuck(table, readScan, req, options)),
  };
  return table;
}

/**
 * A CSV's layout as DuckDB's sniffer decided it, checked (csv-layout.ts), read through a
 * normalized copy where its encoding or line ends need one (text-normalize.ts).
 */
async function csvLayout(abs: string): Promise<{ csv: CsvLayout; readPath: string; copy?: TextEncoding }> {
  let copy: TextEncoding | undefined;
  if (!/\.(gz|zst)$/i.test(abs)) {
    const text = inspectText(abs, abs);
    if (needsCopy(text)) copy = text.encoding;
  }
  const readPath = copy ? await normalizedCopy(abs, abs, copy) : abs;
  try {
    return { csv: await checkCsvLayout(readPath, abs), readPath, copy };
  } catch (err) {
    if (!(err instanceof MixedLineEnds) || copy) throw err;
    const copied = await normalizedCopy(abs, abs, 'utf-8');
    return { csv: await checkCsvLayout(copied, abs), readPath: copied, copy: 'utf-8' };
  }
}

async function withConnection<T>(work: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const con = await connect();
  try {
    return await work(con);
  } finally {
    con.closeSync();
  }
}

async function countRows(abs: string, scan: string): Promise<number> {
  return withConnection(async (con) => Number((await con.runAndReadAll(`SELECT count(*) FROM ${scan}`, [abs])).getRows()[0][0]));
}

/**
 * The columns a Parquet file's metadata marks as labels (`audience_labels`, written by
 * `audience events`) and the days of the window they cover (`audience_horizon_days`).
 */
async function parquetLabels(abs: string): Promise<{ names: string[]; horizonDays?: number }> {
  try {
    return await withConnection(async (con) => {
      const r = await con.runAndReadAll(
        "SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata($1) WHERE key::VARCHAR IN ('audience_labels', 'audience_horizon_days')",
        [abs],
      );
      const kv = new Map(r.getRows().map(([k, v]) => [String(k), String(v)]));
      const days = Number(kv.get('audience_horizon_days'));
      return { names: (kv.get('audience_labels') ?? '').split(',').filter(Boolean), ...(days > 0 && { horizonDays: days }) };
    });
  } catch (err) {
    recoverFrom(err);
    return { names: [] };
  }
}

/**
 * Refuses a file with two columns of one name, or of names that differ only in case (pandas and Spark write
 * them): DuckDB's names ignore case; it renamed the second Parquet column (`Sessions_1`)
 * without a word, and could not stage an Arrow file's two.
 * @throws UserError naming the file and both columns.
 */
function refuseCaseTwins(names: string[], file: string): void {
  const twins = firstNameTwins(names);
  if (!twins) return;
  const twice = twins[0] === twins[1] ? `column "${twins[0]}" appears twice` : `columns "${twins[0]}" and "${twins[1]}" differ only in case (column names ignore case)`;
  throw new UserError(`${file}: ${twice}; rename one where the file is written`);
}

/** A Parquet file's own top-level column names (parquet_schema: the root, then each column with its nested children after it), before DuckDB renames any. */
async function parquetNames(abs: string): Promise<string[]> {
  const rows = await withConnection(async (con) => (await con.runAndReadAll('SELECT name, num_children FROM parquet_schema($1)', [abs])).getRows());
  const names: string[] = [];
  // Depth-first: skip each column's descendants to reach the next top-level column.
  for (let i = 1; i < rows.length; ) {
    names.push(String(rows[i][0]));
    let skip = Number(rows[i][1] ?? 0);
    i++;
    while (skip > 0 && i < rows.length) {
      skip += Number(rows[i][1] ?? 0) - 1;
      i++;
    }
  }
  return names;
}

/**
 * Rows per row group from the Parquet footer, or undefined when DuckDB cannot list them
 * (its row-group statistics fail on some writers' types, e.g. arrow-rs's Null columns; the
 * rows still read, and the file is then sharded by row ranges).
 */
async function parquetRowGroups(abs: string): Promise<number[] | undefined> {
  try {
    return await withConnection(async (con) => {
      const meta = await con.runAndReadAll(
        'SELECT row_group_id, max(row_group_num_rows) FROM parquet_metadata($1) GROUP BY row_group_id ORDER BY row_group_id',
        [abs],
      );
      return meta.getRows().map((r) => Number(r[1]));
    });
  } catch (err) {
    recoverFrom(err);
    return undefined;
  }
}

/**
 * Validates the request against the schema, then reads. Text columns asked for as numbers
 * are read as text and parsed here (io/number-text.ts) the same way for every format; a text
 * that is not a number fails the read (`badNumbers: 'fail'`, naming the data row) or becomes
 * a reject record (`'report'`).
 */
async function* checkedRead(
  file: string,
  columns: ColumnInfo[],
  request: ColumnRequest[],
  options: ReadOptions | undefined,
  read: (request: ColumnRequest[]) => AsyncGenerator<ColumnBatch>,
): AsyncGenerator<ColumnBatch> {
  const textNumbers = new Map<string, boolean>(); // column -> decimal comma
  const lenient = new Set(request.filter((r) => r.textNotNumber === 'missing').map((r) => r.name));
  const textIntegers = new Set<string>();
  const textBooleans = new Set<string>();
  for (const req of request) {
    const col = columns.find((c) => c.name === req.name);
    if (!col) {
      throw new UserError(`${file}: no column "${req.name}" (columns: ${columns.map((c) => c.name).join(', ')})`);
    }
    if (req.as === 'number' && col.inferred && col.kind === 'boolean') textBooleans.add(req.name);
    else if (req.as === 'number' && (col.kind === 'text' || col.inferred)) textNumbers.set(req.name, decimalCommaOf(file, col, req));
    else if (req.as === 'number' && col.kind !== 'numeric' && col.kind !== 'boolean') {
      throw new UserError(`${file}: column "${req.name}" holds ${col.type}, expected numbers`);
    }
    if (req.as === 'bigint' && col.inferred) textIntegers.add(req.name);
    else if (req.as === 'bigint' && !fitsInt64(col.type)) {
      throw new UserError(`${file}: column "${req.name}" holds ${col.type}, expected integers that fit 64 bits`);
    }
  }
  const asText = (name: string) => textNumbers.has(name) || textIntegers.has(name) || textBooleans.has(name);
  const asRead = request.map((r) => (asText(r.name) && r.as !== 'level' ? { name: r.name, as: 'text' as const } : r));
  for await (const batch of read(asRead)) {
    for (const [name, decimalComma] of textNumbers) {
      const text = batch.columns.get(name) as (string | null)[];
      const out = new Float64Array(batch.rows);
      for (let i = 0; i < batch.rows; i++) {
        const v = parseNumberText(text[i], decimalComma);
        if (v !== undefined) {
          out[i] = v;
          continue;
        }
        out[i] = NaN;
        if (options?.badNumbers === 'missing' || lenient.has(name)) continue;
        if (options?.badNumbers !== 'report') {
          throw new UserError(`${file}: column "${name}", data row ${batch.offset + i + 1}: ${JSON.stringify(text[i])} is not a number (blanks, NA and NaN count as missing)`);
        }
        (batch.rejects ??= []).push({ row: i, column: name, value: text[i]! });
      }
      batch.columns.set(name, out);
    }
    for (const name of textBooleans) batch.columns.set(name, Float64Array.from(batch.columns.get(name) as (string | null)[], parseBool));
    for (const name of textIntegers) batch.columns.set(name, integers(batch.columns.get(name) as (string | null)[], file, name, batch.offset));
    batch.rejects?.sort((a, b) => a.row - b.row);
    yield batch;
  }
}

/**
 * Whether a text column asked for as numbers has a decimal comma: the request's mark (a
 * feature spec's "decimal"), else what the column's values showed.
 * @throws UserError when the values leave the mark open and the request names none.
 */
function decimalCommaOf(file: string, col: ColumnInfo, req: ColumnRequest): boolean {
  if (req.decimalMark) return req.decimalMark === ',';
  if (col.decimalAmbiguous) {
    throw new UserError(
      `${file}: column "${col.name}": its numbers read with either decimal mark (e.g. ${col.decimalAmbiguous.map((v) => JSON.stringify(v)).join(', ')}); ` +
        'name the mark in a feature spec: {"name": "' + col.name + '", "decimal": "."} or "decimal": ","',
    );
  }
  return Boolean(col.decimalComma);
}

/** Text cells as 64-bit integers (an id column asked for as such). */
function integers(text: (string | null)[], file: string, column: string, offset: number): BigInt64Array {
  const out = new BigInt64Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const t = text[i]?.trim() ?? '';
    if (!/^[-+]?\d+$/.test(t) || BigInt(t) > 2n ** 63n - 1n || BigInt(t) < -(2n ** 63n)) {
      throw new UserError(`${file}: column "${column}", data row ${offset + i + 1}: ${JSON.stringify(text[i])} is not an integer that fits 64 bits`);
    }
    out[i] = BigInt(t);
  }
  return out;
}

/**
 * Those of `columns` that a plain Parquet file (no partition values) gives the part writer
 * as a read would give them (io/writer.ts SourcedColumns): rows [start, end) by their row
 * number; text as JavaScript receives it (jsTextSql); numbers only from this file's number
 * or boolean columns (text and other types are parsed or refused by the read), NaN as NULL
 * as the writer stores it. Undefined when none is: the columns go through the read.
 */
export function sourcedColumns(table: Table, columns: OutputColumn[], range: { start: number; end: number }): SourcedColumns | undefined {
  if (table.format !== 'parquet' || table.layout.partitions?.length) return undefined;
  const plain = (c: OutputColumn) => {
    const kind = table.columns.find((x) => x.name === c.name)?.kind;
    return c.type === 'VARCHAR' || (c.type === 'DOUBLE' && (kind === 'numeric' || kind === 'boolean'));
  };
  const sourced = columns.filter(plain);
  if (sourced.length === 0) return undefined;
  const cast = (c: OutputColumn) => {
    const v = `CAST(${ident(c.name)} AS ${c.type})`;
    return `${c.type === 'DOUBLE' ? `CASE WHEN isnan(${v}) THEN NULL ELSE ${v} END` : jsTextSql(v)} AS ${ident(c.name)}`;
  };
  return {
    names: sourced.map((c) => c.name),
    relation: `SELECT CAST(file_row_number AS DOUBLE) AS ${SOURCE_ROW}, ${sourced.map(cast).join(', ')} FROM ${PARQUET_ROWS} WHERE file_row_number >= $2 AND file_row_number < $3`,
    values: [table.readPath ?? table.path, range.start, range.end],
    where: `${table.path} (data rows ${range.start + 1}-${range.end})`,
  };
}

/** Reads through DuckDB; `scan` is the table function with the file as $1 (read_parquet, or read_csv with its options). */
async function* readDuck(table: Table, scan: string, request: ColumnRequest[], options: ReadOptions = {}): AsyncGenerator<ColumnBatch> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const params: unknown[] = [table.readPath ?? table.path];
  const select = request.map((r, i) => {
    if (codedInSql(r)) {
      const coding = r.levels!;
      if (coding.keys.length === 0) return `CAST(${coding.unseen} AS DOUBLE) AS c${i}`;
      params.push(...levelParams(coding));
      return `CAST(${levelCodeSql(`CAST(${ident(r.name)} AS VARCHAR)`, params.length - 2)} AS DOUBLE) AS c${i}`;
    }
    const cast = r.as === 'number' ? 'DOUBLE' : r.as === 'bigint' ? 'BIGINT' : 'VARCHAR';
    return `CAST(${ident(r.name)} AS ${cast}) AS c${i}`;
  });
  const range = options.range;
  let sql: string;
  if (table.format === 'parquet') {
    // file_row_number filters prune whole row groups, so a shard reads only its own.
    sql = `SELECT ${select.join(', ') || '1'} FROM ${PARQUET_ROWS}`;
    if (range) {
      sql += ` WHERE file_row_number >= $${params.length + 1} AND file_row_number < $${params.length + 2}`;
      params.push(range.start, range.end);
    }
  } else {
    sql = `SELECT ${select.join(', ') || '1'} FROM ${scan}`;
    if (range) {
      sql += ` OFFSET $${params.length + 1}`;
      params.push(range.start);
    }
  }
  // A CSV's row count leaves out a totals row: never read past it.
  const rangeRows = Math.min(range ? range.end - range.start : Infinity, (table.rowCount ?? Infinity) - (range?.start ?? 0));
  const limit = Math.min(rangeRows, options.limit ?? Infinity);
  if (limit !== Infinity) {
    sql += ` LIMIT $${params.length + 1}`;
    params.push(Math.max(0, limit));
  }
  const con: DuckDBConnection = await connect();
  let offset = range?.start ?? 0;
  try {
    let result;
    try {
      result = await con.stream(sql, params as never);
    } catch (err) {
      throw readError(table, offset, err);
    }
    let builder = new BatchBuilder(table.path, request, batchRows, offset);
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
          yield builder.finish();
          offset += builder.rows;
          builder = new BatchBuilder(table.path, request, batchRows, offset);
        }
      }
    }
    if (builder.rows > 0) yield builder.finish();
  } finally {
    con.closeSync();
  }
}

function readError(table: Table, row: number, err: unknown): UserError {
  const line = table.layout.csv && csvReadError(err, table.path, table.layout.csv);
  if (line) return line;
  let where = `near data row ${row + 1}`;
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
      r.as === 'number' || codedInSql(r) ? new Float64Array(capacity) : r.as === 'bigint' ? new BigInt64Array(capacity) : new Array<string | null>(capacity),
    );
  }

  get full(): boolean {
    return this.rows === this.capacity;
  }

  /** Appends rows of the chunk from `start`; returns how many fit. */
  append(chunk: DuckDBDataChunk, start: number): number {
    const n = Math.min(chunk.rowCount - start, this.capacity - this.rows);
    for (let c = 0; c < this.cols.length; c++) {
      const nullAt = copyColumn(chunk, c, start, n, this.cols[c], this.rows);
      if (nullAt >= 0) {
        throw new UserError(`${this.source}: id column "${this.request[c].name}" is null at data row ${this.offset + this.rows + nullAt + 1}`);
      }
    }
    this.rows += n;
    return n;
  }

  finish(): ColumnBatch {
    const columns = new Map<string, ColumnData>();
    this.request.forEach((r, i) => {
      const col = this.cols[i];
      if (r.as === 'level' && Array.isArray(col)) columns.set(batchKey(r), levelCodes(col.slice(0, this.rows), r.levels!));
      else columns.set(batchKey(r), col instanceof Float64Array || col instanceof BigInt64Array ? col.subarray(0, this.rows) : col.slice(0, this.rows));
    });
    return { source: this.source, offset: this.offset, first: this.offset, rows: this.rows, columns };
  }
}

/**
 * Copies rows [start, start + n) of column c of a chunk into `out` from index `at`; returns
 * the index (from start) of a null met in an integer column (which cannot hold one), else -1.
 * Numbers are copied whole (io/vectors.ts: DuckDB's C API, no per-value accessor), NULL as
 * NaN; a numeric column of another type than out's is converted by the typed-array copy;
 * text goes through node-api's public getItem.
 */
export function copyColumn(chunk: DuckDBDataChunk, c: number, start: number, n: number, out: ColumnData, at: number): number {
  if (out instanceof Float64Array || out instanceof BigInt64Array) {
    const numbers = chunkNumbers(chunk, c);
    if (numbers) {
      const part = numbers.values.subarray(start, start + n);
      if (out instanceof BigInt64Array === part instanceof BigInt64Array) (out as Float64Array).set(part as Float64Array, at);
      else for (let i = 0; i < n; i++) out[at + i] = (out instanceof BigInt64Array ? BigInt(Math.trunc(Number(part[i]))) : Number(part[i])) as never;
      if (numbers.valid) {
        const bits = validityBits(numbers.valid);
        for (let i = 0; i < n; i++) {
          if (isValid(bits, start + i)) continue;
          if (out instanceof Float64Array) out[at + i] = NaN;
          else return i;
        }
      }
      return -1;
    }
  }
  const vector = chunk.getColumnVector(c);
  for (let i = 0; i < n; i++) {
    const item = vector.getItem(start + i) as number | bigint | string | null;
    if (out instanceof BigInt64Array) {
      if (item === null) return i;
      out[at + i] = BigInt(item as bigint);
    } else if (out instanceof Float64Array) out[at + i] = item === null ? NaN : Number(item);
    else out[at + i] = item as string | null;
  }
  return -1;
}

/**
 * Writes rows to Parquet (or CSV) part files through DuckDB: batches are appended to a
 * temporary table (data chunks, not row by row), which is COPY'd to `<name>.tmp` and renamed
 * when whole, so a reader never sees a half-written file. Memory is bounded by rowsPerFile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BIGINT, DOUBLE, DuckDBAppender, DuckDBConnection, DuckDBDataChunk, FLOAT, INTEGER, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { connect, duckMessage, ident } from './duckdb.js';
import { UserError } from '../util/errors.js';
import { checkOutputFile, makeFolder, namingTarget } from '../util/files.js';
import { setChunkNumbers } from './vectors.js';

export type OutputType = 'DOUBLE' | 'FLOAT' | 'INTEGER' | 'BIGINT' | 'VARCHAR';
export type OutputData = Float64Array | Float32Array | Int32Array | BigInt64Array | (string | null)[];

export interface OutputColumn {
  name: string;
  type: OutputType;
}

const DUCK_TYPES: Record<OutputType, DuckDBType> = { DOUBLE, FLOAT, INTEGER, BIGINT, VARCHAR };
const CHUNK = 2048;

export interface WrittenFile {
  path: string;
  rows: number;
}

export type OutputFormat = 'parquet' | 'csv';

/** The column of a part's rows that joins them to their sourced columns: each row's row number in its input file (a DOUBLE). */
export const SOURCE_ROW = '__src_row';

/**
 * Columns of a part that DuckDB reads from the input when the part is written, joined to the
 * rows by their row number in the file (SOURCE_ROW, which the batches then carry instead), so
 * their values never pass through JavaScript.
 */
export interface SourcedColumns {
  names: string[];
  /** SQL of a relation of SOURCE_ROW and those columns; its `$n` (from $1) bound by `values`. */
  relation: string;
  values: unknown[];
  /** The input and rows it reads, for messages: "in.parquet (data rows 1-500000)". */
  where: string;
}

/**
 * Writes rows to numbered part files (`<prefix>-00000.parquet`, ...) of at most rowsPerFile
 * rows each, through DuckDB appenders; each part is whole under its final name or absent.
 */
export class PartWriter {
  private con: DuckDBConnection | undefined;
  private appender: DuckDBAppender | undefined;
  private rowsInPart = 0;
  private part = 0;
  private readonly chunk: DuckDBDataChunk;
  /** The columns the batches fill: the schema's, less the sourced ones, with SOURCE_ROW when there are some. */
  private readonly filled: OutputColumn[];
  readonly written: WrittenFile[] = [];

  /** Files are `<dir>/<prefix>-00000.parquet`, `-00001`...; `sourced` columns are read by DuckDB when each part is written. */
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly schema: OutputColumn[],
    private readonly rowsPerFile = 4_000_000,
    private readonly format: OutputFormat = 'parquet',
    private readonly sourced?: SourcedColumns,
  ) {
    makeFolder(dir);
    // The row numbers as DOUBLE (exact below 2^53): filled from a Float64Array, not a BigInt a row.
    this.filled = sourced ? [...schema.filter((c) => !sourced.names.includes(c.name)), { name: SOURCE_ROW, type: 'DOUBLE' }] : schema;
    this.chunk = DuckDBDataChunk.create(this.filled.map((c) => DUCK_TYPES[c.type]));
  }

  async write(rows: number, columns: Record<string, OutputData>): Promise<void> {
    for (let start = 0; start < rows; ) {
      const appender = await this.openPart();
      const n = Math.min(CHUNK, rows - start, this.rowsPerFile - this.rowsInPart);
      this.chunk.reset();
      this.chunk.rowCount = n;
      this.filled.forEach((col, c) => {
        const data = columns[col.name];
        if (!data) throw new Error(`output column ${col.name} missing`);
        fillVector(this.chunk, c, data, start, n);
      });
      appender.appendDataChunk(this.chunk);
      this.rowsInPart += n;
      start += n;
      if (this.rowsInPart >= this.rowsPerFile) await this.closePart();
    }
  }

  /** Flushes the last part; returns every file written (one empty file, with the schema, for no rows). */
  async close(): Promise<WrittenFile[]> {
    if (this.written.length === 0) await this.openPart();
    await this.closePart();
    return this.written;
  }

  /** Drops buffered rows and any temporary file; written parts stay. */
  abort(): void {
    this.appender?.closeSync();
    this.appender = undefined;
    this.con?.closeSync();
    this.con = undefined;
    fs.rmSync(this.tmpPath(), { force: true });
  }

  private partPath(): string {
    return path.join(this.dir, `${this.prefix}-${String(this.part).padStart(5, '0')}.${this.format}`);
  }

  private tmpPath(): string {
    return `${this.partPath()}.tmp`;
  }

  private async openPart(): Promise<DuckDBAppender> {
    if (this.appender) return this.appender;
    this.con ??= await connect();
    const cols = this.filled.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
    await this.con.run(`CREATE OR REPLACE TEMP TABLE part_rows (${cols})`);
    this.appender = await this.con.createAppender('part_rows', null, 'temp');
    this.rowsInPart = 0;
    return this.appender;
  }

  private async closePart(): Promise<void> {
    if (!this.appender || !this.con) return;
    this.appender.flushSync();
    this.appender.closeSync();
    this.appender = undefined;
    const tmp = this.tmpPath();
    const options = this.format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
    const s = this.sourced;
    if (s) {
      // The input's rows first (a failure there is the input's), then the schema's columns in
      // order, the sourced ones from the input's rows of the same row numbers.
      try {
        await this.con.run(`CREATE OR REPLACE TEMP TABLE part_source AS ${s.relation}`, s.values as never);
      } catch (err) {
        throw new UserError(`${s.where}: read failed: ${duckMessage(err)}`, { cause: err });
      }
      const select = this.schema.map((c) => `${s.names.includes(c.name) ? 's' : 'p'}.${ident(c.name)}`).join(', ');
      const rows = `SELECT ${select} FROM part_rows p JOIN part_source s USING (${SOURCE_ROW}) ORDER BY ${SOURCE_ROW}`;
      const copied = Number((await this.con.run(`COPY (${rows}) TO $1 (${options})`, [tmp])).rowsChanged);
      await this.con.run('DROP TABLE part_source');
      if (copied !== this.rowsInPart) throw new Error(`${this.partPath()}: ${copied} of its ${this.rowsInPart} rows met their row in the input`);
    } else await this.con.run(`COPY part_rows TO $1 (${options})`, [tmp]);
    await this.con.run('DROP TABLE part_rows');
    fs.renameSync(tmp, this.partPath());
    this.written.push({ path: this.partPath(), rows: this.rowsInPart });
    this.part += 1;
    this.rowsInPart = 0;
  }
}

/** Writes rows [start, start + n) of a column into the chunk: numbers in bulk (io/vectors.ts, NaN as NULL), text through node-api's public setItem. */
function fillVector(chunk: DuckDBDataChunk, c: number, data: OutputData, start: number, n: number): void {
  if (!Array.isArray(data)) {
    setChunkNumbers(chunk, c, data, start, n);
    return;
  }
  const vector = chunk.getColumnVector(c);
  for (let i = 0; i < n; i++) vector.setItem(i, data[start + i]);
  vector.flush();
}

/** One whole file (Parquet or CSV by extension), written in batches, renamed into place on close. */
export class FileWriter {
  private readonly writer: PartWriter;

  constructor(
    readonly file: string,
    schema: OutputColumn[],
    sourced?: SourcedColumns,
  ) {
    const format: OutputFormat = /\.csv$/i.test(file) ? 'csv' : 'parquet';
    this.writer = new PartWriter(path.dirname(path.resolve(file)), `.${path.basename(file)}.part`, schema, Infinity, format, sourced);
  }

  /** Appends rows. @throws the writer's error naming this file, not its temporary part (a full disk: `cannot write out.csv`). */
  async write(rows: number, columns: Record<string, OutputData>): Promise<void> {
    try {
      await this.writer.write(rows, columns);
    } catch (err) {
      throw namingTarget(err, this.file);
    }
  }

  /** Writes the file whole and renames it into place. @throws as write does. */
  async close(): Promise<WrittenFile> {
    try {
      const [part] = await this.writer.close();
      fs.renameSync(part.path, this.file);
      return { path: path.resolve(this.file), rows: part.rows };
    } catch (err) {
      throw namingTarget(err, this.file);
    }
  }

  abort(): void {
    this.writer.abort();
  }
}

/**
 * Writes batches to one Parquet or CSV file (by extension), under a temporary name renamed
 * when whole; an existing regular file is replaced, anything else at the path is refused.
 */
export async function writeFile(
  file: string,
  schema: OutputColumn[],
  batches: AsyncIterable<{ rows: number; columns: Record<string, OutputData> }>,
): Promise<WrittenFile> {
  checkOutputFile(file);
  const writer = new FileWriter(file, schema);
  try {
    for await (const b of batches) await writer.write(b.rows, b.columns);
    return await writer.close();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

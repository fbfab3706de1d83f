/** Adds computed columns to part files already written (percentiles, audience memberships). */
import fs from 'node:fs';
import path from 'node:path';
import type { ColumnBatch, ColumnRequest } from './columns.js';
import { openTable } from './table.js';
import { connect } from './duckdb.js';
import { PartWriter, type OutputColumn, type OutputData, type WrittenFile } from './writer.js';

/** How a column of an output type is read back: VARCHAR as text, BIGINT as 64-bit integers, the rest as numbers. */
export function readAs(type: OutputColumn['type']): ColumnRequest['as'] {
  return type === 'VARCHAR' ? 'text' : type === 'BIGINT' ? 'bigint' : 'number';
}

/** Reads parts in order; `first` is the batch's first row across all parts. */
export async function* readParts(files: WrittenFile[], columns: OutputColumn[]): AsyncGenerator<{ batch: ColumnBatch; first: number }> {
  let first = 0;
  for (const file of files) {
    const table = await openTable(file.path);
    for await (const batch of table.read(columns.map((c) => ({ name: c.name, as: readAs(c.type) })))) {
      yield { batch, first };
      first += batch.rows;
    }
  }
}

/**
 * Appends computed columns to each part: the compute reads only the `read` columns, its
 * output goes to a small temporary Parquet file, and DuckDB joins the two by position into
 * the new part (no round trip of the other columns through JavaScript), written under a
 * temporary name and renamed over the original.
 */
export async function addColumns(
  dir: string,
  files: WrittenFile[],
  columns: OutputColumn[],
  added: OutputColumn[],
  compute: (batch: ColumnBatch, first: number) => Record<string, OutputData> | Promise<Record<string, OutputData>>,
  read: OutputColumn[] = columns,
): Promise<OutputColumn[]> {
  const staging = path.join(dir, '.rewrite');
  fs.rmSync(staging, { recursive: true, force: true });
  let first = 0;
  const con = await connect();
  try {
    for (const file of files) {
      const name = path.basename(file.path);
      const extra = new PartWriter(staging, `${name}.added`, added, Infinity, 'parquet');
      for await (const { batch } of readParts([file], read)) {
        await extra.write(batch.rows, await compute(batch, first));
        first += batch.rows;
      }
      const [part] = await extra.close();
      const tmp = path.join(staging, name);
      const format = name.endsWith('.csv') ? 'FORMAT csv, HEADER true' : 'FORMAT parquet, COMPRESSION zstd';
      const scan = name.endsWith('.csv') ? 'read_csv($1)' : 'read_parquet($1)';
      await con.run(`COPY (SELECT * FROM ${scan} POSITIONAL JOIN read_parquet($2)) TO $3 (${format})`, [file.path, part.path, tmp]);
      fs.renameSync(tmp, file.path);
      fs.rmSync(part.path, { force: true });
    }
  } finally {
    con.closeSync();
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return [...columns, ...added];
}

/**
 * Adds columns to part files already written: each part is read back batch by batch and
 * written anew with the extra columns, under a temporary name renamed over the original.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ColumnBatch, ColumnRequest } from './columns.js';
import { openTable } from './table.js';
import { PartWriter, type OutputColumn, type OutputData, type WrittenFile } from './writer.js';

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

export async function addColumns(
  dir: string,
  files: WrittenFile[],
  columns: OutputColumn[],
  added: OutputColumn[],
  compute: (batch: ColumnBatch, first: number) => Record<string, OutputData> | Promise<Record<string, OutputData>>,
): Promise<OutputColumn[]> {
  const all = [...columns, ...added];
  const staging = path.join(dir, '.rewrite');
  fs.rmSync(staging, { recursive: true, force: true });
  let first = 0;
  for (const file of files) {
    const name = path.basename(file.path);
    const writer = new PartWriter(staging, name, all, Infinity, name.endsWith('.csv') ? 'csv' : 'parquet');
    for await (const { batch } of readParts([file], columns)) {
      const out: Record<string, OutputData> = {};
      for (const c of columns) out[c.name] = batch.columns.get(c.name) as OutputData;
      Object.assign(out, await compute(batch, first));
      await writer.write(batch.rows, out);
      first += batch.rows;
    }
    const [part] = await writer.close();
    fs.renameSync(part.path, file.path);
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return all;
}

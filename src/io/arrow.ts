/** Arrow IPC files (file or stream format) read batch by batch with apache-arrow. */
import fs from 'node:fs';
import { RecordBatchReader, type Vector } from 'apache-arrow';
import { UserError, errorMessage } from '../util/errors.js';
import type { ColumnBatch, ColumnData, ColumnInfo, ColumnRequest } from './columns.js';
import { kindOfType } from './columns.js';

async function open(file: string): Promise<RecordBatchReader> {
  try {
    const reader = await RecordBatchReader.from(fs.createReadStream(file));
    await reader.open();
    if (!reader.schema) throw new Error('no schema');
    return reader;
  } catch (err) {
    throw new UserError(`${file}: cannot read as Arrow IPC: ${errorMessage(err)}`, { cause: err });
  }
}

export async function readArrowSchema(file: string): Promise<ColumnInfo[]> {
  const reader = await open(file);
  const columns = reader.schema.fields.map((f) => {
    const type = String(f.type);
    return { name: f.name, type, kind: kindOfType(type) };
  });
  await reader.cancel();
  return columns;
}

export async function* readArrowBatches(
  file: string,
  request: ColumnRequest[],
  options: { batchRows?: number; limit?: number; range?: { start: number; end: number } } = {},
): AsyncGenerator<ColumnBatch> {
  const reader = await open(file);
  const from = options.range?.start ?? 0;
  // `limit` counts rows from the first one read; `end` is a file row number.
  const end = Math.min(options.range?.end ?? Infinity, from + (options.limit ?? Infinity));
  const maxRows = options.batchRows ?? 65_536;
  let base = 0; // file row number of the record batch's first row
  let offset = 0;
  try {
    for await (const recordBatch of reader) {
      const stop = Math.min(recordBatch.numRows, end - base);
      for (let start = Math.max(0, from - base); start < stop; ) {
        const rows = Math.min(maxRows, stop - start);
        offset = base + start;
        const columns = new Map<string, ColumnData>();
        for (const req of request) {
          const vector = recordBatch.getChild(req.name);
          if (!vector) throw new UserError(`${file}: no column "${req.name}" in a record batch`);
          columns.set(req.name, convert(vector, start, rows, req, file, offset));
        }
        yield { source: file, offset, first: offset, rows, columns };
        start += rows;
      }
      base += recordBatch.numRows;
      if (base >= end) break;
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file}: Arrow read failed near row ${offset}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await reader.cancel();
  }
}

function convert(vector: Vector, start: number, rows: number, req: ColumnRequest, file: string, offset: number): ColumnData {
  if (req.as === 'number') {
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = vector.get(start + i);
      out[i] = v === null || v === undefined ? NaN : Number(v);
    }
    return out;
  }
  if (req.as === 'bigint') {
    const out = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = vector.get(start + i);
      if (v === null || v === undefined) throw new UserError(`${file}: id column "${req.name}" is null at row ${offset + i}`);
      out[i] = BigInt(v);
    }
    return out;
  }
  const out = new Array<string | null>(rows);
  for (let i = 0; i < rows; i++) {
    const v = vector.get(start + i);
    out[i] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

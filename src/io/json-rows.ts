/**
 * Rows given as JSON objects (a request body's `rows`) as a column batch, read the way the file
 * readers read a column: numbers as a Float64Array (null = NaN), text as strings (a number or
 * boolean in a text column written as its text, as a Parquet integer column reads as text).
 */
import type { ColumnBatch, ColumnData, ColumnRequest } from './columns.js';
import type { OutputData } from './writer.js';
import { UserError } from '../util/errors.js';

/** A cell of a JSON row. */
export type JsonCell = number | string | boolean | null;

/**
 * Refuses a row with a field outside `known`.
 * @param where names the rows in errors, e.g. "rows".
 * @throws UserError naming the row (0-based, as in the body) and the field.
 */
export function checkRowFields(rows: Array<Record<string, JsonCell>>, known: ReadonlySet<string>, where: string): void {
  for (const [i, row] of rows.entries()) {
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw new UserError(`${where}[${i}] has the field "${key}", which no model reads (fields read: ${[...known].join(', ')})`);
    }
  }
}

/**
 * The columns `requests` of `rows` as one batch. Every requested column must be a key of every
 * row (null for a missing value).
 * @param where names the rows in errors, e.g. "rows".
 * @throws UserError naming the row (0-based, as in the body), the field and what was expected.
 */
export function jsonRowsBatch(rows: Array<Record<string, JsonCell>>, requests: ColumnRequest[], where: string): ColumnBatch {
  const columns = new Map<string, ColumnData>();
  for (const r of requests) {
    if (r.as === 'number') {
      const col = new Float64Array(rows.length);
      for (const [i, row] of rows.entries()) col[i] = numberCell(row, r.name, `${where}[${i}]`);
      columns.set(r.name, col);
    } else {
      columns.set(
        r.name,
        rows.map((row, i) => {
          const v = cell(row, r.name, `${where}[${i}]`);
          return v === null ? null : String(v);
        }),
      );
    }
  }
  return { source: where, offset: 0, first: 0, rows: rows.length, columns };
}

function cell(row: Record<string, JsonCell>, name: string, at: string): JsonCell {
  if (!Object.hasOwn(row, name)) throw new UserError(`${at} has no "${name}"; give null for a missing value`);
  return row[name];
}

function numberCell(row: Record<string, JsonCell>, name: string, at: string): number {
  const v = cell(row, name, at);
  if (v === null) return NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number') throw new UserError(`${at}.${name} is ${JSON.stringify(v).slice(0, 60)}; expected a number or null`);
  return v;
}

/** Row `i` of output columns as a JSON object: NaN as null, 64-bit integers as numbers. */
export function outputRow(outputs: Record<string, OutputData>, i: number): Record<string, JsonCell> {
  const row: Record<string, JsonCell> = {};
  for (const [name, col] of Object.entries(outputs)) {
    const v = col[i];
    row[name] = typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? null : (v ?? null);
  }
  return row;
}

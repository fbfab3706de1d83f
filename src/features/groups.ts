/**
 * Sensitive-attribute columns read beside the features, for fairness by group: their values
 * as text, whatever their type, without making them model inputs.
 */
import type { ColumnBatch, ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { UserError } from '../util/errors.js';
import type { FittedTransform } from './transform.js';

/**
 * How to read column `name` for its groups: nothing more when the transform already reads
 * it (a feature), else as text.
 * @throws UserError naming the file and its columns when the column is not there.
 */
export function groupRequest(data: Dataset, t: FittedTransform, name: string): ColumnRequest[] {
  if (!data.columns.some((c) => c.name === name)) {
    throw new UserError(`${data.tables[0].path}: no column "${name}" to measure fairness by (sensitive; columns: ${data.columns.map((c) => c.name).join(', ')})`);
  }
  return t.reads[name] ? [] : [{ name, as: 'text' }];
}

/** The values of column `name` in a batch as group names (null for missing), rows in order. */
export function groupValues(batch: ColumnBatch, name: string): Array<string | null> {
  const col = batch.columns.get(name);
  if (!col) throw new Error(`column ${name} was not read`);
  const out: Array<string | null> = new Array(batch.rows);
  for (let i = 0; i < batch.rows; i++) {
    const v = (col as ArrayLike<unknown>)[i];
    out[i] = v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v).trim() || null;
  }
  return out;
}

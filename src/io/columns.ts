/** Column batches: what readers produce and features/ consumes. */

/**
 * How a reader hands a column over: numbers (NaN = null), text (null = null), 64-bit integers
 * (ids; no nulls), or a categorical's level codes (`levels`: numbers, each cell's level index).
 */
export type ReadAs = 'number' | 'text' | 'bigint' | 'level';

/**
 * A categorical feature's levels as a read turns cells into codes: the cell's text keyed as
 * io/levels.ts categoryOf keys it ("3.0" is "3", null is "(missing)"), its code where
 * the key is in `keys`, else `unseen`. The codes are those transform() gives the same cells.
 */
export interface LevelCoding {
  /** The batch column the codes go to (a column can be read both as text and as codes). */
  key: string;
  keys: string[];
  codes: number[];
  unseen: number;
}

export interface ColumnRequest {
  name: string;
  as: ReadAs;
  /** With `as: 'level'`: how cells become codes. */
  levels?: LevelCoding;
  /** For this column, text that is not a number is a missing value (overrides the read's badNumbers). */
  textNotNumber?: 'missing';
  /** The decimal mark of numbers written as text, when a feature spec names it (else the file's values decide). */
  decimalMark?: '.' | ',';
}

/** Broad kind of a source column, from its storage type. */
export type ColumnKind = 'numeric' | 'boolean' | 'text' | 'other';

export interface ColumnInfo {
  name: string;
  /** Storage type as DuckDB or Arrow names it (BIGINT, DOUBLE, VARCHAR, Utf8...). */
  type: string;
  kind: ColumnKind;
  /**
   * The type was guessed from a sample of text (CSV), not stored by the writer: values are read
   * as the file's text and parsed row by row, ids are carried as text.
   */
  inferred?: boolean;
  /** A label written by `audience events` (future_value...): never a feature unless named as the label. */
  label?: boolean;
  /** For a label column from `audience events --horizon`: the days of the window it covers. */
  horizonDays?: number;
  /** Numbers in this text column use a decimal comma ("1.075,50"), as its values show (io/decimal-mark.ts). */
  decimalComma?: boolean;
  /** Values whose decimal mark the column leaves open ("1.234" in a ";" file): numbers need a spec's "decimal". */
  decimalAmbiguous?: string[];
}

export type NumberColumn = Float64Array;
export type TextColumn = (string | null)[];
export type ColumnData = NumberColumn | TextColumn | BigInt64Array;

export interface ColumnBatch {
  /** The file the rows came from. */
  source: string;
  /** Index of the batch's first row within that file. */
  offset: number;
  /** Index of the batch's first row within the whole dataset (several files). */
  first: number;
  rows: number;
  columns: Map<string, ColumnData>;
  /** Rows (index within the batch) whose text value could not be read as a number; they hold NaN. */
  rejects?: Array<{ row: number; column: string; value: string }>;
}

/** The key of a request's column in a batch: its name, or a level-coded read's own key. */
export function batchKey(r: ColumnRequest): string {
  return r.levels?.key ?? r.name;
}

/** A batch column read as numbers. @throws Error when it was read otherwise (a bug). */
export function numberColumn(batch: ColumnBatch, name: string): NumberColumn {
  const col = batch.columns.get(name);
  if (!(col instanceof Float64Array)) throw new Error(`column ${name} was not read as numbers`);
  return col;
}

/** A batch column read as text. @throws Error when it was read otherwise (a bug). */
export function textColumn(batch: ColumnBatch, name: string): TextColumn {
  const col = batch.columns.get(name);
  if (!Array.isArray(col)) throw new Error(`column ${name} was not read as text`);
  return col;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/i;

/** The broad kind of a DuckDB storage type (Arrow types are classified by type id in io/arrow.ts). */
export function kindOfType(type: string): ColumnKind {
  if (NUMERIC.test(type)) return 'numeric';
  if (/^BOOLEAN$/i.test(type)) return 'boolean';
  if (/^(VARCHAR|UUID)$/i.test(type)) return 'text';
  return 'other';
}

/**
 * Integer types whose every value fits a signed 64-bit integer (UBIGINT, HUGEINT and UHUGEINT
 * do not), by DuckDB's names: io/arrow.ts names Arrow's integer columns the same way.
 */
const INT64_SAFE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/i;

/** Whether ids of this storage type can be carried as BigInt64 (else they are carried as exact text). */
export function fitsInt64(type: string): boolean {
  return INT64_SAFE.test(type);
}

/**
 * The first two non-empty names equal when case is ignored, as DuckDB compares names (it
 * renames the second, `Sessions_1`, without a word), in their order; undefined when there are
 * none. A Map: a header of 10,000 names took seconds compared pair by pair.
 */
export function firstNameTwins(names: string[]): [first: string, second: string] | undefined {
  const seen = new Map<string, string>();
  for (const n of names) {
    if (n === '') continue;
    const first = seen.get(n.toLowerCase());
    if (first !== undefined) return [first, n];
    seen.set(n.toLowerCase(), n);
  }
  return undefined;
}

/**
 * `--features auto`: a feature spec guessed from the schema and a sample of rows, with a note
 * per decision so the user can save the spec, read why, and edit it.
 */
import type { ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { parseNumberText } from '../io/number-text.js';
import { UserError } from '../util/errors.js';
import type { FeatureSpec } from './spec.js';
import { parseBool } from './transform.js';

export interface InferredSpec {
  spec: FeatureSpec;
  notes: string[];
}

const SAMPLE_ROWS = 50_000;
const ID_NAME = /^(id|.*[_ ]id|.*Id|.*ID|uuid|visitor|user|customer)$/;
/** The index pandas writes as a column (to_parquet, to_csv): row labels, never a feature. */
const PANDAS_INDEX = /^(__index_level_\d+__|Unnamed: 0|column0)$/;

/**
 * Guesses a feature spec from the schema and the first 50,000 rows: the id (named like one and
 * unique, compared as exact text so ids above 2^53 stay distinct), booleans, categoricals,
 * numbers (including text columns whose every value is a number as exports write them:
 * "2,485", "66.82%", "$1,362.50", blanks and NA as missing), each decision with a note.
 * @throws UserError when a named column is missing or no usable feature is found.
 */
export async function inferSpec(data: Dataset, opts: { id?: string; exclude?: string[] } = {}): Promise<InferredSpec> {
  const exclude = new Set(opts.exclude ?? []);
  for (const name of [...exclude, ...(opts.id ? [opts.id] : [])]) {
    if (!data.columns.some((c) => c.name === name)) {
      throw new UserError(`${data.tables[0].path}: no column "${name}" (columns: ${data.columns.map((c) => c.name).join(', ')})`);
    }
  }
  const candidates = data.columns.filter((c) => !exclude.has(c.name));
  // Text, and every column that may be the id, is sampled as exact text.
  const asText = (c: { name: string; kind: string }) => c.kind === 'text' || (ID_NAME.test(c.name) && !opts.id) || c.name === opts.id;
  const request: ColumnRequest[] = candidates
    .filter((c) => c.kind !== 'other')
    .map((c) => ({ name: c.name, as: asText(c) ? 'text' : 'number' }));
  const sample = new Map<string, Array<number | string | null>>();
  for (const r of request) sample.set(r.name, []);
  let rows = 0;
  for await (const batch of data.read(request, { limit: SAMPLE_ROWS })) {
    for (const r of request) {
      const col = batch.columns.get(r.name)!;
      const out = sample.get(r.name)!;
      for (let i = 0; i < batch.rows; i++) out.push((col as ArrayLike<number | string | null>)[i]);
    }
    rows += batch.rows;
  }

  const spec: FeatureSpec = { numeric: [], categorical: [], boolean: [] };
  const notes: string[] = [];
  let id = opts.id;
  for (const col of candidates) {
    if (col.kind === 'other') {
      notes.push(`${col.name}: skipped (type ${col.type} is not numeric, boolean or text; cast it to one of those to use it)`);
      continue;
    }
    if (PANDAS_INDEX.test(col.name) && col.name !== opts.id) {
      notes.push(`${col.name}: skipped (a row index written by pandas or a spreadsheet, not a feature)`);
      continue;
    }
    let values = sample.get(col.name)!;
    let distinct = new Set(values.filter((v) => v !== null && !(typeof v === 'number' && Number.isNaN(v))));
    if (col.name === id) continue;
    if (distinct.size === 0) {
      notes.push(`${col.name}: skipped (empty: every value in the first ${rows} rows is null)`);
      continue;
    }
    if (id === undefined && ID_NAME.test(col.name) && distinct.size === rows) {
      id = col.name;
      notes.push(`${col.name}: id (unique in the first ${rows} rows, named like an id)`);
      continue;
    }
    let numbersAsText = false;
    if (col.kind !== 'text' && asText(col)) {
      // An id-like name that was not unique: analyse the column as what it is.
      values = values.map((v) => (v === null ? NaN : Number(v)));
      distinct = new Set(values.filter((v) => !Number.isNaN(v)));
    } else if (col.kind === 'text') {
      const parsed = values.map((v) => parseNumberText(v as string | null));
      const numbers = parsed.filter((v) => v !== undefined && !Number.isNaN(v));
      if (numbers.length > 0 && parsed.every((v) => v !== undefined) && ![...distinct].every((v) => !Number.isNaN(parseBool(v as string)))) {
        numbersAsText = true;
        values = parsed as number[];
        distinct = new Set(numbers as number[]);
      }
    }
    const numeric = col.kind === 'numeric' || numbersAsText;
    if (col.kind === 'boolean' || (numeric && [...distinct].every((v) => v === 0 || v === 1))) {
      spec.boolean.push({ name: col.name });
      notes.push(`${col.name}: boolean (${col.type}, values 0/1)`);
    } else if (col.kind === 'text' && !numbersAsText && distinct.size > 0 && [...distinct].every((v) => !Number.isNaN(parseBool(v as string)))) {
      spec.boolean.push({ name: col.name });
      notes.push(`${col.name}: boolean (text values ${[...distinct].slice(0, 4).join('/')})`);
    } else if (col.kind === 'text' && !numbersAsText) {
      if (distinct.size > 1000 || distinct.size > rows * 0.5) {
        notes.push(`${col.name}: skipped (text with ${distinct.size} distinct values in ${rows} rows: an identifier or free text?)`);
        continue;
      }
      spec.categorical.push({ name: col.name });
      notes.push(`${col.name}: categorical (${distinct.size} distinct values; the 20 most frequent kept)`);
    } else {
      const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (nums.length === 0) {
        notes.push(`${col.name}: skipped (no numeric value in the first ${rows} rows)`);
        continue;
      }
      let sum = 0;
      let min = Infinity;
      for (const v of nums) {
        sum += v;
        if (v < min) min = v;
      }
      const mean = sum / nums.length;
      const std = Math.sqrt(nums.reduce((a, v) => a + (v - mean) ** 2, 0) / nums.length);
      if (std === 0) {
        notes.push(`${col.name}: skipped (constant ${mean} in the first ${rows} rows)`);
        continue;
      }
      // Long right tails (counts, durations, money) cluster better on a log scale.
      const log = min >= 0 && mean > 0 && std / mean > 1.5;
      spec.numeric.push(log ? { name: col.name, log: true } : { name: col.name });
      const missing = values.length - nums.length;
      const how = numbersAsText ? ` (numbers written as text${missing ? `; ${missing} blank or missing in the first ${rows} rows, imputed` : ''})` : '';
      notes.push(`${col.name}: numeric${log ? ', log scale (non-negative, long tail)' : ''}${how}`);
    }
  }
  if (id !== undefined) spec.id = id;
  else notes.push('(no id column found: visitors are identified by row number across the input files)');
  if (spec.numeric.length + spec.categorical.length + spec.boolean.length === 0) {
    throw new UserError(`${data.tables[0].path}: no usable feature column found`);
  }
  return { spec, notes };
}

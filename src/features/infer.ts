/**
 * `--features auto`: a feature spec guessed from the schema and a sample of rows, with a note
 * per decision so the user can save the spec, read why, and edit it.
 */
import type { ColumnInfo, ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { parseBool, parseNumberText } from '../io/number-text.js';
import { UserError } from '../util/errors.js';
import type { FeatureSpec } from './spec.js';

export interface InferredSpec {
  spec: FeatureSpec;
  notes: string[];
}

const SAMPLE_ROWS = 50_000;
const ID_NAME = /^(id|.*[_ ]id|.*Id|.*ID|uuid|visitor|user|customer)$/;
/** The index pandas writes as a column (to_parquet, to_csv): row labels, never a feature. */
const PANDAS_INDEX = /^(__index_level_\d+__|Unnamed: 0|column0)$/;
/** Contact identifiers: for activation exports, never model inputs. */
const CONTACT = /^(e-?mail|email_?address|phone|phone_?number|mobile|tel|telephone)$/i;
/** Up to this share of a column's values may be text that is no number for it still to be numeric (those read as missing). */
export const MAX_NON_NUMBER_SHARE = 0.05;

/**
 * Guesses a feature spec from the schema and the first 50,000 rows. Every column is sampled as
 * its exact text, so ids above 2^53 stay distinct and numbers written as text ("2,485",
 * "66.82%", "$1,362.50", "1.075,50" in ";" files, blanks and NA as missing) count as numbers.
 * The id is a column named like one whose values are unique; a column whose values are
 * numbers but for at most 5% other text is numeric, that text read as missing (and said so).
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
  const request: ColumnRequest[] = candidates.filter((c) => c.kind !== 'other').map((c) => ({ name: c.name, as: 'text' }));
  const sample = new Map<string, Array<string | null>>(request.map((r) => [r.name, []]));
  let rows = 0;
  for await (const batch of data.read(request, { limit: SAMPLE_ROWS })) {
    for (const r of request) sample.get(r.name)!.push(...(batch.columns.get(r.name) as Array<string | null>));
    rows += batch.rows;
  }

  const spec: FeatureSpec = { numeric: [], categorical: [], boolean: [] };
  const notes: string[] = [];
  let id = opts.id;
  for (const col of candidates) {
    if (col.name === id) continue;
    if (col.kind === 'other') {
      notes.push(`${col.name}: skipped (type ${col.type} is not numeric, boolean or text; cast it to one of those to use it)`);
      continue;
    }
    if (col.label) {
      notes.push(`${col.name}: skipped (a label of the following window, written by audience events: never a feature)`);
      continue;
    }
    if (PANDAS_INDEX.test(col.name)) {
      notes.push(`${col.name}: skipped (a row index written by pandas or a spreadsheet, not a feature)`);
      continue;
    }
    const values = sample.get(col.name)!;
    const present = values.filter((v): v is string => v !== null && v.trim() !== '');
    const distinct = new Set(present);
    if (distinct.size === 0) {
      notes.push(`${col.name}: skipped (empty: every value in the first ${rows} rows is null)`);
      continue;
    }
    if (CONTACT.test(col.name)) {
      notes.push(`${col.name}: skipped (a contact identifier: for activation exports, not a feature)`);
      continue;
    }
    if (id === undefined && ID_NAME.test(col.name) && distinct.size === rows) {
      id = col.name;
      notes.push(`${col.name}: id (unique in the first ${rows} rows, named like an id)`);
      continue;
    }
    const note = decide(col, values, distinct, rows, spec);
    if (note) notes.push(`${col.name}: ${note}`);
  }
  if (id !== undefined) spec.id = id;
  else notes.push('(no id column found: visitors are identified by row number across the input files)');
  if (spec.numeric.length + spec.categorical.length + spec.boolean.length === 0) {
    throw new UserError(`${data.tables[0].path}: no usable feature column found`);
  }
  return { spec, notes };
}

/** Adds one sampled column to the spec as boolean, numeric or categorical, or skips it; returns the note. */
function decide(col: ColumnInfo, values: Array<string | null>, distinct: Set<string>, rows: number, spec: FeatureSpec): string {
  if ([...distinct].every((v) => !Number.isNaN(parseBool(v)))) {
    spec.boolean.push({ name: col.name });
    return `boolean (values ${[...distinct].slice(0, 4).join('/')})`;
  }
  if (col.decimalAmbiguous) {
    return `skipped (its numbers read with either decimal mark, e.g. ${col.decimalAmbiguous.map((v) => JSON.stringify(v)).join(', ')}; list it in a feature spec with "decimal": "." or ",")`;
  }
  const parsed = values.map((v) => parseNumberText(v, col.decimalComma));
  const numbers = parsed.filter((v): v is number => v !== undefined && !Number.isNaN(v));
  const notNumbers = values.filter((_, i) => parsed[i] === undefined);
  const given = numbers.length + notNumbers.length;
  if (notNumbers.length === 0 && numbers.length > 0 && numbers.every((v) => v === 0 || v === 1)) {
    spec.boolean.push({ name: col.name });
    return `boolean (${col.type}, values 0/1)`;
  }
  if (numbers.length > 0 && notNumbers.length <= MAX_NON_NUMBER_SHARE * given && (col.kind !== 'text' || notNumbers.length < numbers.length)) {
    const finite = numbers.filter(Number.isFinite);
    if (finite.length === 0) return `skipped (no finite number in the first ${rows} rows)`;
    let sum = 0;
    let min = Infinity;
    for (const v of finite) {
      sum += v;
      if (v < min) min = v;
    }
    const mean = sum / finite.length;
    const std = Math.sqrt(finite.reduce((a, v) => a + (v - mean) ** 2, 0) / finite.length);
    if (std === 0) return `skipped (constant ${mean} in the first ${rows} rows)`;
    // Long right tails (counts, durations, money) cluster better on a log scale.
    const log = min >= 0 && mean > 0 && std / mean > 1.5;
    const lenient = notNumbers.length > 0;
    spec.numeric.push({ name: col.name, ...(log && { log: true }), ...(lenient && { invalidText: 'missing' as const }) });
    const missing = values.length - numbers.length - notNumbers.length;
    const how = [
      col.kind === 'text' && `numbers written as text${col.decimalComma ? ' with a decimal comma' : ''}`,
      missing > 0 && `${missing} blank or missing in the first ${rows} rows, imputed`,
      lenient && `${notNumbers.length} values that are not numbers (e.g. ${JSON.stringify(notNumbers[0])}) read as missing`,
    ].filter(Boolean);
    return `numeric${log ? ', log scale (non-negative, long tail)' : ''}${how.length ? ` (${how.join('; ')})` : ''}`;
  }
  if (!col.decimalComma && notNumbers.length > numbers.length) {
    const euro = notNumbers.filter((v) => parseNumberText(v, true) !== undefined).length;
    if (euro >= (1 - MAX_NON_NUMBER_SHARE) * notNumbers.length) {
      return `skipped (its values look like numbers with a decimal comma, e.g. ${JSON.stringify(notNumbers[0])}, in a file whose fields are separated by ","; write it with a decimal point, or with ";" between fields)`;
    }
  }
  if (numbers.length > 0 && notNumbers.length <= numbers.length) {
    return `skipped (${numbers.length} of ${given} values are numbers, but ${notNumbers.length} are not, e.g. ${JSON.stringify(notNumbers[0])}; clean the column, or list it in a feature spec)`;
  }
  if (distinct.size > 1000 || distinct.size > rows * 0.5) return `skipped (text with ${distinct.size} distinct values in ${rows} rows: an identifier or free text?)`;
  spec.categorical.push({ name: col.name });
  return `categorical (${distinct.size} distinct values; the 20 most frequent kept)`;
}

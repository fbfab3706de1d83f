/**
 * Categorical cells as levels: the key a cell counts under (categoryOf), and level codes
 * computed by the read itself (a SQL expression DuckDB evaluates over whole vectors) or, for
 * readers without SQL (Arrow IPC), from the text here. Scoring reads each categorical feature
 * as codes, so no cell's text crosses into JavaScript and back (1M rows, 3 categoricals: 61 ms
 * as codes against 583 ms as text, in the read alone; measured once in a one-off script, not a
 * bench row).
 */
import { listValue } from '@duckdb/node-api';
import type { ColumnRequest, LevelCoding, TextColumn } from './columns.js';

export const MISSING = '(missing)';

/** A whole number written with a zero fraction: "3.0", "-12.00" (also used in SQL: RE2 reads it the same way). */
export const ZERO_FRACTION = /^(-?\d+)\.0+$/;

/**
 * The level a categorical cell counts under: its text, a whole number's without its zero
 * fraction ("3.0" is "3": pandas writes an integer code column that has nulls as floats, and
 * a DOUBLE column reads back as "3.0"), or "(missing)" for null. Leading zeros stay ("01" is
 * a code, not 1).
 */
export function categoryOf(v: string | null): string {
  return v === null ? MISSING : v.replace(ZERO_FRACTION, '$1');
}

/** A fitted feature's levels by index, keyed as categoryOf keys cells (levels stored by older versions as "3.0" included; a later duplicate wins). */
export function levelIndex(levels: string[]): Map<string, number> {
  return new Map(levels.map((l, j) => [categoryOf(l), j]));
}

const indexes = new WeakMap<LevelCoding, Map<string, number>>();

/** Cells as codes in JavaScript: the reference the SQL expression is tested against, and the read of formats without SQL. */
export function levelCodes(text: TextColumn, coding: LevelCoding): Float64Array {
  let index = indexes.get(coding);
  if (!index) indexes.set(coding, (index = new Map(coding.keys.map((k, j) => [k, coding.codes[j]]))));
  const seen = new Map<string | null, number>();
  const out = new Float64Array(text.length);
  for (let i = 0; i < text.length; i++) {
    let code = seen.get(text[i]);
    if (code === undefined) seen.set(text[i], (code = index.get(categoryOf(text[i])) ?? coding.unseen));
    out[i] = code;
  }
  return out;
}

/**
 * The SQL of a VARCHAR as JavaScript receives it from @duckdb/node-api: its UTF-8 decoding
 * (TextDecoder) drops one leading U+FEFF, so every text read through JavaScript (training's
 * included) lacks it; SQL that stands in for such a read drops it too.
 */
export function jsTextSql(text: string): string {
  return `CASE WHEN starts_with(${text}, chr(65279)) THEN substr(${text}, 2) ELSE ${text} END`;
}

/**
 * Levels a read codes in SQL: list_position is a scan of the keys for each cell (about 1 ns
 * a key), cheaper than reading the text into JavaScript (about 0.2 us a cell) up to this many
 * (both measured once in one-off scripts, not bench rows).
 */
export const MAX_SQL_LEVELS = 64;

/**
 * The SQL of a cell's code: `column` is the cell as VARCHAR (NULL for null); `$p` binds the keys,
 * `$p+1` the codes (levelParams). The zero fraction is stripped only where the text has a dot.
 */
export function levelCodeSql(column: string, p: number): string {
  const text = `(${jsTextSql(column)})`;
  const key = `coalesce(CASE WHEN contains(${text}, '.') THEN regexp_replace(${text}, '${ZERO_FRACTION.source}', '\\1') ELSE ${text} END, '${MISSING}')`;
  return `coalesce(list_extract($${p + 1}, list_position($${p}, ${key})), $${p + 2})`;
}

/** Whether a read codes this request in SQL (a level request of at most MAX_SQL_LEVELS keys); other level requests are read as text and coded by levelCodes. */
export function codedInSql(r: ColumnRequest): boolean {
  return r.as === 'level' && r.levels!.keys.length <= MAX_SQL_LEVELS;
}

/** The values levelCodeSql binds, in order: keys, codes, the unseen code. */
export function levelParams(coding: LevelCoding): unknown[] {
  return [listValue(coding.keys), listValue(coding.codes), coding.unseen];
}

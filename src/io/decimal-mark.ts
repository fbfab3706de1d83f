/**
 * The decimal mark of each text column of a CSV file, decided from its values: the field
 * separator says nothing about it (UCI's Bank Marketing file is ";"-separated with "."
 * decimals). A "." or "," followed by other than three digits ("93.2", "1,5", "0.125"), a
 * leading zero or a bare mark before the digits ("0,125", ".5"), a mark after a group of
 * thousands ("1.075,50", "1,075.50") or two thousands marks ("1.234.567") each say which mark
 * is the decimal one. A column with evidence both ways, or (in a ";" file) with only "1.234" or
 * only "1,234" values, is ambiguous: reading it as numbers is refused with examples until a
 * feature spec names its "decimal".
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnInfo } from './columns.js';
import { ident } from './duckdb.js';

/** Rows of the file whose values decide (the rest are parsed the same way, and fail loudly if they do not parse). */
export const DECIMAL_SAMPLE_ROWS = 100_000;

const SIGN = '^[-+(]?[$€£¥]?\\s?';
const END = '\\s?%?\\s?€?\\)?$';
/** Values only a decimal mark `d` (with thousands mark `k`) explains, as regular expressions. */
const only = (d: string, k: string) => [
  `${SIGN}\\d*${d}(\\d{1,2}|\\d{4,})${END}`,
  `${SIGN}0${d}\\d+${END}`,
  `${SIGN}\\d{4,}${d}\\d+${END}`,
  `${SIGN}\\d{1,3}(${k}\\d{3})+${d}\\d*${END}`,
  `${SIGN}\\d{1,3}(${k}\\d{3}){2,}${END}`,
];
const POINT = only('\\.', ',');
const COMMA = only(',', '\\.');
/** Values either mark explains: one mark followed by exactly three digits. */
const THREE = { point: `${SIGN}[1-9]\\d{0,2}\\.\\d{3}${END}`, comma: `${SIGN}[1-9]\\d{0,2},\\d{3}${END}` };

/** What the values of one column say about its decimal mark. */
export interface DecimalEvidence {
  mark: '.' | ',' | undefined;
  /** Example values when the column is ambiguous (see the module comment). */
  ambiguous?: string[];
}

/**
 * Decides the decimal mark of every text column of a CSV (read as text by `scan`, the file
 * bound as $1) from its first DECIMAL_SAMPLE_ROWS rows, and records it on the column
 * (`decimalComma`, or `decimalAmbiguous` with examples).
 */
export async function decideDecimalMarks(con: DuckDBConnection, scan: string, file: string, columns: ColumnInfo[], delimiter: string): Promise<void> {
  const text = columns.filter((c) => c.kind === 'text');
  if (text.length === 0) return;
  const any = (patterns: string[], col: string) => patterns.map((p) => `regexp_matches(trim(${col}), '${p}')`).join(' OR ');
  const select = text.flatMap((c) => {
    const col = ident(c.name);
    return [any(POINT, col), any(COMMA, col), any([THREE.point], col), any([THREE.comma], col)].map((cond) => `any_value(${col}) FILTER (WHERE ${cond})`);
  });
  const row = (await con.runAndReadAll(`SELECT ${select.join(', ')} FROM (SELECT * FROM ${scan} LIMIT ${DECIMAL_SAMPLE_ROWS})`, [file])).getRows()[0];
  text.forEach((c, i) => {
    const [point, comma, point3, comma3] = row.slice(i * 4, i * 4 + 4).map((v) => (v === null ? undefined : String(v)));
    const e = evidence(point, comma, point3, comma3, delimiter);
    if (e.mark === ',') c.decimalComma = true;
    if (e.ambiguous) c.decimalAmbiguous = e.ambiguous;
  });
}

/** The decision from an example of each kind of value (undefined where the column has none). */
export function evidence(point: string | undefined, comma: string | undefined, point3: string | undefined, comma3: string | undefined, delimiter: string): DecimalEvidence {
  if (point !== undefined && comma !== undefined) return { mark: undefined, ambiguous: [point, comma] };
  if (point !== undefined) return { mark: '.' };
  if (comma !== undefined) return { mark: ',' };
  // Only "1.234" or "1,234": a "," file writes "." decimals (and quotes "1,234" as thousands);
  // a ";" file may write either.
  if (delimiter === ';' && (point3 !== undefined || comma3 !== undefined)) return { mark: undefined, ambiguous: [(point3 ?? comma3)!] };
  return { mark: '.' };
}

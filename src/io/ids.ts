/**
 * Visitor ids compared by value, whatever the writer made of them: 12346, "12346",
 * "12346.0" (pandas writes an integer column that had nulls as floats), " 12346 " and a
 * UBIGINT 12346 are one id. Ids that are not numbers (UUIDs, hashes, e-mails) compare as
 * trimmed text, case-sensitive.
 */

const INTEGRAL_TEXT = /^\+?(-?\d+)(?:\.0*)?$/;

/**
 * The canonical text of an id value: the key to compare ids by; null for a missing id.
 * Integral numbers (number, bigint, or text such as "12346.0") become their plain decimal
 * digits; a float that is not integral keeps JavaScript's shortest round-trip text.
 */
export function canonicalId(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  }
  const s = String(v).trim();
  if (s === '') return null;
  const m = INTEGRAL_TEXT.exec(s);
  if (!m) return s;
  const digits = m[1].replace(/^(-?)0+(?=\d)/, '$1');
  return digits === '-0' ? '0' : digits;
}

/** The share of an id list that must match the scored or training rows before it is trusted. */
export const ID_MATCH_MIN_SHARE = 0.5;

/** "812 of 1,000 ids (81.2%)": how much of an id list matched. */
export function matchText(matched: number, total: number): string {
  const pct = total ? ((100 * matched) / total).toFixed(1) : '0';
  return `${matched.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ids (${pct}%)`;
}

/** JavaScript's String.prototype.trim set (WhiteSpace and LineTerminator) in RE2 syntax. */
const TRIM_SET = '[\\s\\v\\pZ\\x{FEFF}]';

/** JavaScript's `text.trim()` as a DuckDB SQL expression over a VARCHAR expression. */
export function trimSql(text: string): string {
  return `regexp_replace(${text}, '^${TRIM_SET}+|${TRIM_SET}+$', '', 'g')`;
}

/** An integer's canonical text (RE2, matched whole): its ASCII digits without a leading zero, or "-" and them. */
const CANONICAL_DIGITS = '-?[1-9][0-9]*|0';

/**
 * `canonicalId` as a DuckDB SQL expression over a VARCHAR expression `text` (a quoted column):
 * the same key for the same text, so ids compare by value inside SQL (suppression lists,
 * one row per id). Integer-typed ids need no expression: their decimal text is canonical.
 */
export function canonicalIdSql(text: string): string {
  const t = trimSql(text);
  const digits = `regexp_replace(regexp_extract(${t}, '^\\+?(-?\\d+)', 1), '^(-?)0+(\\d)', '\\1\\2')`;
  // Plain digits without a leading zero (most ids) are their own canonical text: one cheap match instead of the trims.
  return `(CASE WHEN regexp_full_match(${text}, '${CANONICAL_DIGITS}') THEN ${text} WHEN ${t} = '' THEN NULL WHEN regexp_matches(${t}, '^\\+?-?\\d+(\\.0*)?$') THEN (CASE WHEN ${digits} = '-0' THEN '0' ELSE ${digits} END) ELSE ${t} END)`;
}

/** The SQL of an id's key, its value compared as canonicalId does: text (`text`) canonicalized, an integer as its decimal text. `column` is quoted SQL. */
export function idKeySql(column: string, text: boolean): string {
  return text ? canonicalIdSql(column) : `CAST(${column} AS VARCHAR)`;
}

/**
 * Whether the canonical key `key` is the key of one of the integer ids `ids` (a subquery), as
 * `key IN (their decimal texts)` is, without casting every id to text: a canonical key of an
 * integer is plain digits without a leading zero, which read back to the same integer.
 */
export function keyOfIntegerIdSql(key: string, ids: string): string {
  return `(regexp_full_match(${key}, '${CANONICAL_DIGITS}') AND TRY_CAST(${key} AS BIGINT) IN (${ids}))`;
}


/**
 * How an events table writes its times, decided from the values themselves, and the DuckDB SQL
 * that turns the staged time text (column `t`) into a TIMESTAMP (UTC, no time zone).
 *
 * - All-digit values: YYYYMMDD dates (CDNOW, GA4's event_date) or epoch seconds, milliseconds,
 *   microseconds (GA4's event_timestamp) or nanoseconds. The ranges taken are disjoint, each the
 *   years 1973-2286 in its unit (YYYYMMDD: the years 1900-2199, valid months and days), so no
 *   value fits two; a column whose values fall outside them, or across two, is refused.
 * - Day, month and year as 1-2 / 1-2 / 2 or 4 digits ("08-11-16", "11/8/2016"): every order the
 *   values allow (day-month-year, month-day-year, and year-month-day for two-digit years) is a
 *   candidate; one candidate is read, several are refused naming them and --time-format.
 * - Anything else: ISO 8601 dates and timestamps, as DuckDB casts them.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';

export interface TimeEncoding {
  /** SQL over the text column `t` giving a TIMESTAMP (NULL where a value does not parse). */
  sql: string;
  params: string[];
  /** What was taken, for the output: "YYYYMMDD dates", "epoch microseconds", ... */
  description: string;
}

/** Epoch units: the factor to microseconds and the range of values taken as that unit. */
export const EPOCH_UNITS: Array<{ name: string; perMicro: number; min: number; max: number }> = [
  { name: 'seconds', perMicro: 1e6, min: 1e8, max: 1e10 },
  { name: 'milliseconds', perMicro: 1e3, min: 1e11, max: 1e13 },
  { name: 'microseconds', perMicro: 1, min: 1e14, max: 1e16 },
  { name: 'nanoseconds', perMicro: 1e-3, min: 1e17, max: 1e19 },
];

const DIGITS = "'\\d+(\\.\\d+)?'";
const YYYYMMDD = "'(19|20|21)\\d\\d(0[1-9]|1[0-2])(0[1-9]|[12]\\d|3[01])'";
/** Day, month and year in some order, then an optional time: groups a, separator, b, separator, c, time. */
const DMY = '^(\\d{1,2})([-/.])(\\d{1,2})([-/.])(\\d{2}|\\d{4})(?:[ T](\\d{1,2}:\\d{2}(?::\\d{2})?))?$';

/**
 * Decides how the staged time column `t` (text) of `staged` (a Parquet file) writes times.
 * @param format a strptime format given by the user (--time-format): taken as it is.
 * @throws UserError for all-digit values no unit explains, and for day/month text that reads
 *   in more than one order (naming the candidates and --time-format).
 */
export async function timeEncoding(con: DuckDBConnection, staged: string, format: string | undefined, column: string): Promise<TimeEncoding> {
  if (format) return { sql: 'try_strptime(t, $2)', params: [format], description: `the format ${format}` };
  const r = await con.runAndReadAll(
    `SELECT count(t), count(*) FILTER (WHERE regexp_full_match(trim(t), ${DIGITS})),
       count(*) FILTER (WHERE regexp_full_match(trim(t), ${YYYYMMDD})), min(TRY_CAST(t AS DOUBLE)), max(TRY_CAST(t AS DOUBLE)),
       count(*) FILTER (WHERE regexp_matches(trim(t), $2))
     FROM read_parquet($1)`,
    [staged, DMY],
  );
  const [present, digits, ymd, min, max, dmy] = r.getRows()[0].map(Number);
  if (present > 0 && digits === present) return epochOrDate(present, ymd, min, max, column);
  if (present > 0 && dmy === present) return dayMonthYear(con, staged, column);
  return { sql: 'TRY_CAST(t AS TIMESTAMP)', params: [], description: 'ISO 8601 text' };
}

/** All-digit times: YYYYMMDD when every value is such a date, else the one epoch unit whose range holds every value. */
function epochOrDate(present: number, ymd: number, min: number, max: number, column: string): TimeEncoding {
  if (ymd === present) return { sql: "try_strptime(trim(t), '%Y%m%d')", params: [], description: 'YYYYMMDD dates' };
  const unit = EPOCH_UNITS.find((u) => min >= u.min && max < u.max);
  if (!unit) {
    throw new UserError(
      `column "${column}": its times are numbers from ${min} to ${max}, which no one encoding explains ` +
        `(taken: YYYYMMDD dates, or epoch seconds, milliseconds, microseconds or nanoseconds of the years 1973-2286). ` +
        'Write them as ISO dates (YYYY-MM-DD) or name the format with --time-format.',
    );
  }
  const micros = unit.perMicro === 1 ? 'round(CAST(t AS DOUBLE))' : `round(CAST(t AS DOUBLE) * ${unit.perMicro})`;
  return { sql: `make_timestamp(CAST(${micros} AS BIGINT))`, params: [], description: `epoch ${unit.name}` };
}

interface Order {
  name: string;
  /** strptime codes of groups a, b, c (the year's code chosen by its width). */
  codes: [string, string, string];
  /** Whether (a, b, c) is a valid date in this order. */
  fits: (a: number, b: number, c: number, yearDigits: number) => boolean;
}

const ORDERS: Order[] = [
  { name: 'day-month-year', codes: ['%d', '%m', 'Y'], fits: (a, b) => a >= 1 && a <= 31 && b >= 1 && b <= 12 },
  { name: 'month-day-year', codes: ['%m', '%d', 'Y'], fits: (a, b) => a >= 1 && a <= 12 && b >= 1 && b <= 31 },
  { name: 'year-month-day', codes: ['Y', '%m', '%d'], fits: (_a, b, c, yd) => yd === 2 && b >= 1 && b <= 12 && c >= 1 && c <= 31 },
];

/**
 * Day/month/year text: the orders every distinct value allows. One is read with strptime
 * (with and without a time of day); several are refused.
 */
async function dayMonthYear(con: DuckDBConnection, staged: string, column: string): Promise<TimeEncoding> {
  const rows = (
    await con.runAndReadAll(
      `SELECT DISTINCT ${[1, 2, 3, 4, 5, 6].map((g) => `regexp_extract(trim(t), $2, ${g})`).join(', ')} FROM read_parquet($1) WHERE t IS NOT NULL`,
      [staged, DMY],
    )
  ).getRows().map((r) => r.map(String));
  const seps = new Set(rows.flatMap((r) => [r[1], r[3]]));
  const yearDigits = new Set(rows.map((r) => r[4].length));
  const times = new Set(rows.map((r) => (r[5] === '' ? 0 : r[5].split(':').length)));
  const orders = ORDERS.filter((o) => yearDigits.size === 1 && rows.every((r) => o.fits(Number(r[0]), Number(r[2]), Number(r[4]), r[4].length)));
  const example = rows[0].slice(0, 5).join('');
  if (orders.length !== 1 || seps.size !== 1) {
    const candidates = orders.map((o) => `${o.name} (--time-format "${formatOf(o, [...seps][0], [...yearDigits][0])}")`);
    throw new UserError(
      `column "${column}": dates such as ${JSON.stringify(example)} ` +
        (orders.length > 1 ? `read in more than one order: ${candidates.join(', or ')}` : 'fit no one day, month and year order') +
        '. Name the format with --time-format, or write dates as YYYY-MM-DD.',
    );
  }
  const base = formatOf(orders[0], [...seps][0], [...yearDigits][0]);
  const clock = [...(times.has(2) ? [' %H:%M', 'T%H:%M'] : []), ...(times.has(3) ? [' %H:%M:%S', 'T%H:%M:%S'] : [])];
  const used = [base, ...clock.map((c) => base + c)];
  return {
    sql: `try_strptime(trim(t), [${used.map((_f, i) => `$${i + 2}`).join(', ')}])`,
    params: used,
    description: `${orders[0].name} text (${base})`,
  };
}

/** The strptime format of an order with its separator and year width. */
function formatOf(order: Order, sep: string, yearDigits: number): string {
  return order.codes.map((c) => (c === 'Y' ? (yearDigits === 4 ? '%Y' : '%y') : c)).join(sep);
}

const DAY_MS = 86_400_000;
/** ISO 8601 as `audience events` reads it: a date, then optionally a time of day and a UTC zone. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Days since 1970-01-01 of a valid calendar date, else undefined. */
function civilDay(y: number, m: number, d: number): number | undefined {
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d ? ms / DAY_MS : undefined;
}

/**
 * The UTC day (days since 1970-01-01) of one event's time given as JSON, read as `audience
 * events` reads a column of such values (one value decides: the epoch units' ranges are
 * disjoint, and none holds a YYYYMMDD date): ISO 8601 text (a date, or a date and time in UTC:
 * no zone, Z or +00:00; `audience events` reads another offset's wall clock, so one is refused
 * here rather than read differently), YYYYMMDD numbers, or epoch seconds, milliseconds,
 * microseconds or nanoseconds of the years 1973-2286.
 * @returns the day, or the reason the value is not a time.
 */
export function eventDay(value: unknown): { day: number } | { reason: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { reason: `${value} is not a time` };
    const text = String(value);
    const ymd = /^(19|20|21)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(text) ? civilDay(Number(text.slice(0, 4)), Number(text.slice(4, 6)), Number(text.slice(6))) : undefined;
    if (ymd !== undefined) return { day: ymd };
    const unit = EPOCH_UNITS.find((u) => value >= u.min && value < u.max);
    if (!unit) return { reason: `${value} is neither a YYYYMMDD date nor epoch seconds, milliseconds, microseconds or nanoseconds of the years 1973-2286` };
    return { day: Math.floor(Math.round(value * unit.perMicro) / (DAY_MS * 1000)) };
  }
  if (typeof value !== 'string') return { reason: `expected a time (ISO 8601 text or epoch number), got ${value === null ? 'null' : typeof value}` };
  const m = ISO.exec(value.trim());
  const shown = JSON.stringify(value.slice(0, 40));
  if (!m) return { reason: `${shown} is not an ISO 8601 date or time (e.g. "2024-06-30" or "2024-06-30T10:00:00Z")` };
  const day = civilDay(Number(m[1]), Number(m[2]), Number(m[3]));
  if (day === undefined || (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59))) return { reason: `${shown} is not a valid date and time` };
  if (m[7] !== undefined && m[7] !== 'Z' && !/^[+-]00(:?00)?$/.test(m[7])) return { reason: `${shown} has the offset ${m[7]}: give times in UTC (Z)` };
  return { day };
}

/**
 * Behavior features from raw events (orders, sessions, page views), one row per id as of a
 * date, point-in-time correct: only events on or before the as-of date are used. The
 * features are the recency, frequency and monetary (RFM) family this field uses (Fader,
 * Hardie and Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", 2005),
 * computed for each id by features/visitor.ts (the one implementation the online view uses
 * too) over the events DuckDB reads, times and orders: recency, frequency (events, active days),
 * monetary (total, mean, max), tenure, inter-purchase time (mean and standard deviation of
 * the gaps between active days), counts and amounts over trailing 7/30/90/365-day windows,
 * distinct categories and the shares of the most frequent ones, sessions and events per
 * session. With a horizon, the labels of the following window are added (future_value,
 * future_orders, converted) and marked as labels in the file's metadata, so that training on
 * one never uses another as a feature.
 *
 * Events are read with the product's readers (every real-file rule applies: numbers written
 * as text, exact ids), staged as Parquet, and every column is bound as a quoted identifier.
 * DuckDB parses the times, counts the categories (the most frequent get share columns) and
 * streams the events ordered by id; each id's events become its row here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ColumnRequest } from '../io/columns.js';
import { openDataset } from '../io/dataset.js';
import { connect } from '../io/duckdb.js';
import { stageColumns } from '../io/stage.js';
import { writeFile, type OutputColumn, type OutputData } from '../io/writer.js';
import { checkOutputFile, namingTarget } from '../util/files.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { timeEncoding } from './event-times.js';
import { featureColumns, LABEL_COLUMNS, parseHorizon, topShares, visitorFeatures, WINDOWS, type FeatureLayout, type FeatureValue, type VisitorEvent } from './visitor.js';

export { LABEL_COLUMNS, parseHorizon, WINDOWS };
/** The Parquet metadata key naming the label columns. */
export const LABELS_KEY = 'audience_labels';

export interface EventsOptions {
  input: string[];
  /** Column names in the events: the id, the time, and optionally an amount, a category, a session. */
  id: string;
  time: string;
  amount?: string;
  category?: string;
  session?: string;
  /** YYYY-MM-DD: events on or before this day are used. */
  asOf: string;
  /** Days after the as-of date whose events give the labels. */
  horizonDays?: number;
  /** Categories whose share gets a column (the most frequent ones). Default 5. */
  topCategories?: number;
  /** strptime format of a text time column (e.g. "%d/%m/%Y") when it is not ISO 8601. */
  timeFormat?: string;
  out: string;
}

export interface EventsResult {
  rows: number;
  events: number;
  columns: string[];
  labels: string[];
  /** Events after the as-of date (and its horizon) that were not used. */
  later: number;
  /** How the time column was read: "YYYYMMDD dates", "epoch microseconds", "ISO 8601 text"... */
  times: string;
}

/** Row `row` (0-based) of the inputs read in order, as `file, data row N` (1-based in its file). */
function rowPlace(tables: Array<{ path: string; rows: number | undefined }>, row: number): string {
  let first = 0;
  for (const t of tables) {
    if (t.rows === undefined || row < first + t.rows) return `${t.path}, data row ${row - first + 1}`;
    first += t.rows;
  }
  return `data row ${row + 1} of the inputs`;
}

/**
 * Reads the events into a staged Parquet file with columns id, t (the time as text), amount,
 * category, session; returns its path.
 * @throws UserError naming a missing column.
 */
async function stageEvents(opts: EventsOptions, dir: string): Promise<{ staged: string; tables: Array<{ path: string; rows: number | undefined }> }> {
  const wanted: Array<[string, string | undefined, ColumnRequest['as']]> = [
    ['id', opts.id, 'text'],
    ['t', opts.time, 'text'],
    ['amount', opts.amount, 'number'],
    ['category', opts.category, 'text'],
    ['session', opts.session, 'text'],
  ];
  const used = wanted.filter((w): w is [string, string, ColumnRequest['as']] => w[1] !== undefined).map(([alias, name, as]) => ({ alias, name, as }));
  const data = await openDataset(opts.input);
  return { staged: await stageColumns(data, used, path.join(dir, 'events.parquet')), tables: data.tables.map((t) => ({ path: t.path, rows: t.rowCount })) };
}

/**
 * Builds the per-id features as of `asOf` and writes them to `out` (Parquet), labels too when
 * a horizon is given.
 * @throws UserError for a bad date or horizon, a missing column, times that do not parse
 *   (naming an example), or no events on or before the as-of date.
 */
export async function buildEventFeatures(opts: EventsOptions): Promise<EventsResult> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.asOf) || Number.isNaN(Date.parse(`${opts.asOf}T00:00:00Z`))) {
    throw new UserError(`--as-of ${opts.asOf}: expected a date as YYYY-MM-DD`);
  }
  if (!/\.parquet$/i.test(opts.out)) throw new UserError(`--out ${opts.out}: name a .parquet file`);
  checkOutputFile(opts.out);
  const top = opts.topCategories ?? 5;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audience-events-'));
  const con = await connect();
  try {
    const { staged, tables } = await stageEvents(opts, dir);
    const time = await timeEncoding(con, staged, opts.timeFormat, opts.time);
    // __row: the row's place in the inputs read in order (the staged file keeps it), to name the first bad time.
    await con.run(`CREATE OR REPLACE TEMP TABLE ev AS SELECT id, t AS t_text, ${time.sql} AS t${opts.amount ? ', amount' : ''}${opts.category ? ', category' : ''}${opts.session ? ', session' : ''}, file_row_number AS __row FROM read_parquet($1, file_row_number = true)`, [staged, ...time.params]);
    const bad = (await con.runAndReadAll('SELECT count(*), arg_min(t_text, __row), min(__row) FROM ev WHERE t IS NULL AND t_text IS NOT NULL')).getRows()[0];
    if (Number(bad[0]) > 0) {
      throw new UserError(
        `${rowPlace(tables, Number(bad[2]))}: column "${opts.time}": ${JSON.stringify(bad[1])} is not a time${Number(bad[0]) > 1 ? ` (${bad[0]} values in all)` : ''}; give dates as YYYY-MM-DD, timestamps, epoch seconds, or name the format with --time-format (e.g. "%d/%m/%Y")`,
      );
    }
    const nullIds = Number((await con.runAndReadAll('SELECT count(*) FROM ev WHERE id IS NULL')).getRows()[0][0]);
    if (nullIds > 0) throw new UserError(`column "${opts.id}": ${nullIds} events have no id`);
    // The as-of day ends at midnight after it; the horizon runs from there. $1 is the as-of date.
    const asOf = 'CAST($1 AS DATE)';
    const cutoff = `(${asOf} + INTERVAL 1 DAY)`;
    const used = (await con.runAndReadAll(`SELECT count(*) FILTER (WHERE t < ${cutoff}), count(*) FROM ev`, [opts.asOf])).getRows()[0].map(Number);
    if (used[0] === 0) throw new UserError(`no event on or before ${opts.asOf} (${used[1]} events in all): choose a later --as-of`);

    const counts = opts.category ? (await con.runAndReadAll(`SELECT category, count(*) FROM ev WHERE t < ${cutoff} AND category IS NOT NULL GROUP BY category`, [opts.asOf])).getRows() : [];
    const layout: FeatureLayout = {
      amount: opts.amount !== undefined,
      category: opts.category !== undefined,
      session: opts.session !== undefined,
      shares: topShares(counts.map(([c, n]) => [String(c), Number(n)]), top),
      ...(opts.horizonDays !== undefined && { horizonDays: Math.trunc(opts.horizonDays) }),
    };
    const labels = opts.horizonDays ? [...LABEL_COLUMNS] : [];
    const horizon = opts.horizonDays ? `${cutoff} + INTERVAL ${Math.trunc(opts.horizonDays)} DAY` : cutoff;
    const rowsFile = path.join(dir, 'features.parquet');
    await writeFile(rowsFile, [{ name: opts.id, type: 'VARCHAR' }, ...featureColumns(layout)], visitorRows(con, opts, layout, horizon));
    const kv = labels.length ? `, KV_METADATA {${LABELS_KEY}: '${labels.join(',')}', audience_horizon_days: '${Math.trunc(opts.horizonDays!)}'}` : '';
    try {
      await con.run(`COPY (SELECT * FROM read_parquet($1)) TO $2 (FORMAT parquet, COMPRESSION zstd${kv})`, [rowsFile, `${path.resolve(opts.out)}.tmp`]);
      fs.renameSync(`${path.resolve(opts.out)}.tmp`, opts.out);
    } catch (err) {
      throw namingTarget(err, opts.out); // a full disk names --out, not its temporary file (removed below)
    }
    const described = (await con.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($1)', [opts.out])).getRows().map((r) => String(r[0]));
    const rows = Number((await con.runAndReadAll('SELECT count(*) FROM read_parquet($1)', [opts.out])).getRows()[0][0]);
    const later = Number((await con.runAndReadAll(`SELECT count(*) FROM ev WHERE t >= ${horizon}`, [opts.asOf])).getRows()[0][0]);
    return { rows, events: used[0], columns: described, labels, later, times: time.description };
  } finally {
    con.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${opts.out}.tmp`, { force: true });
  }
}

/** Ids' rows per written batch. */
const ROWS_PER_BATCH = 8192;

/**
 * Every id's features (visitorFeatures) as batches of output columns, ids in DuckDB's order:
 * the events before `horizon` (SQL over the as-of date, $1) streamed ordered by id, one id's
 * events at a time.
 */
async function* visitorRows(con: DuckDBConnection, opts: EventsOptions, layout: FeatureLayout, horizon: string): AsyncGenerator<{ rows: number; columns: Record<string, OutputData> }> {
  const columns = [{ name: opts.id, type: 'VARCHAR' as const }, ...featureColumns(layout)];
  const asOfDay = Date.parse(`${opts.asOf}T00:00:00Z`) / 86_400_000;
  const pick = (on: boolean, col: string) => (on ? col : 'NULL');
  const result = await con.stream(
    `SELECT id, CAST(t::DATE - DATE '1970-01-01' AS INTEGER), ${pick(layout.amount, 'amount')}, ${pick(layout.category, 'category')}, ${pick(layout.session, 'session')} FROM ev WHERE t < ${horizon} ORDER BY id`,
    [opts.asOf],
  );
  let ids: string[] = [];
  let rows: FeatureValue[][] = [];
  let id: string | undefined;
  let events: VisitorEvent[] = [];
  const flush = () => {
    const features = id === undefined ? null : visitorFeatures(events, asOfDay, layout);
    if (features) {
      ids.push(id!);
      rows.push(features);
    }
    events = [];
  };
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (const [rawId, day, amount, category, session] of chunk.getRows()) {
      if (rawId !== id) {
        flush();
        id = String(rawId);
      }
      events.push({ day: Number(day), amount: amount === null ? NaN : Number(amount), category: category === null ? null : String(category), session: session === null ? null : String(session) });
    }
    if (rows.length >= ROWS_PER_BATCH) {
      yield { rows: ids.length, columns: outputColumns(columns, ids, rows) };
      [ids, rows] = [[], []];
    }
  }
  flush();
  if (ids.length) yield { rows: ids.length, columns: outputColumns(columns, ids, rows) };
}

/** Rows of feature values (after the id) as typed output columns: BIGINT as BigInt64, INTEGER as Int32, DOUBLE with NaN for null. */
function outputColumns(columns: OutputColumn[], ids: string[], rows: FeatureValue[][]): Record<string, OutputData> {
  const out: Record<string, OutputData> = { [columns[0].name]: ids };
  for (const [j, c] of columns.slice(1).entries()) {
    if (c.type === 'BIGINT') out[c.name] = BigInt64Array.from(rows, (r) => BigInt(r[j] ?? 0));
    else if (c.type === 'INTEGER') out[c.name] = Int32Array.from(rows, (r) => r[j] ?? 0);
    else out[c.name] = Float64Array.from(rows, (r) => r[j] ?? NaN);
  }
  return out;
}

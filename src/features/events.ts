/**
 * Behavior features from raw events (orders, sessions, page views), one row per id as of a
 * date, point-in-time correct: only events on or before the as-of date are used. The
 * features are the recency, frequency and monetary (RFM) family this field uses (Fader,
 * Hardie and Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", 2005),
 * computed by DuckDB SQL over the events: recency, frequency (events, active days),
 * monetary (total, mean, max), tenure, inter-purchase time (mean and standard deviation of
 * the gaps between active days), counts and amounts over trailing 7/30/90/365-day windows,
 * distinct categories and the shares of the most frequent ones, sessions and events per
 * session. With a horizon, the labels of the following window are added (future_value,
 * future_orders, converted) and marked as labels in the file's metadata, so that training on
 * one never uses another as a feature.
 *
 * Events are read with the product's readers (every real-file rule applies: numbers written
 * as text, exact ids), staged as Parquet, and every column is bound as a quoted identifier.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ColumnRequest } from '../io/columns.js';
import { openDataset } from '../io/dataset.js';
import { connect, ident } from '../io/duckdb.js';
import { checkOutputFile, writeFile, type OutputColumn } from '../io/writer.js';
import { UserError } from '../util/errors.js';
import { timeEncoding } from './event-times.js';

/** Trailing windows, days before the end of the as-of date. */
export const WINDOWS = [7, 30, 90, 365];
/** The label columns a horizon adds, named in the output's Parquet metadata under LABELS_KEY. */
export const LABEL_COLUMNS = ['future_value', 'future_orders', 'converted'];
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

/** `90d`, `12w` or a number of days. @throws UserError for anything else. */
export function parseHorizon(text: string): number {
  const m = /^(\d+)\s*([dw]?)$/i.exec(text.trim());
  const days = m ? Number(m[1]) * (m[2].toLowerCase() === 'w' ? 7 : 1) : NaN;
  if (!(days >= 1 && days <= 3650)) throw new UserError(`--horizon ${text}: expected days such as 90d (or weeks, 13w), from 1 to 3650 days`);
  return days;
}

/** A column name for a category value: `category_share_<value>`, lower case, letters, digits and "_" only. */
function shareColumn(value: string, taken: Set<string>): string {
  const base = `category_share_${value.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 40) || 'blank'}`;
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Reads the events into a staged Parquet file with columns id, t (the time as text), amount,
 * category, session; returns its path.
 * @throws UserError naming a missing column.
 */
async function stageEvents(opts: EventsOptions, dir: string): Promise<string> {
  const data = await openDataset(opts.input);
  const wanted: Array<[string, string | undefined, ColumnRequest['as']]> = [
    ['id', opts.id, 'text'],
    ['t', opts.time, 'text'],
    ['amount', opts.amount, 'number'],
    ['category', opts.category, 'text'],
    ['session', opts.session, 'text'],
  ];
  const used = wanted.filter((w): w is [string, string, ColumnRequest['as']] => w[1] !== undefined);
  const request: ColumnRequest[] = used.map(([, name, as]) => ({ name, as }));
  const schema: OutputColumn[] = used.map(([alias, , as]) => ({ name: alias, type: as === 'number' ? 'DOUBLE' : 'VARCHAR' }));
  const file = path.join(dir, 'events.parquet');
  await writeFile(
    file,
    schema,
    (async function* () {
      for await (const b of data.read(request)) {
        yield { rows: b.rows, columns: Object.fromEntries(used.map(([alias, name]) => [alias, b.columns.get(name) as never])) };
      }
    })(),
  );
  return file;
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
    const staged = await stageEvents(opts, dir);
    const time = await timeEncoding(con, staged, opts.timeFormat, opts.time);
    await con.run(`CREATE OR REPLACE TEMP TABLE ev AS SELECT id, t AS t_text, ${time.sql} AS t${opts.amount ? ', amount' : ''}${opts.category ? ', category' : ''}${opts.session ? ', session' : ''} FROM read_parquet($1)`, [staged, ...time.params]);
    const bad = (await con.runAndReadAll('SELECT count(*), any_value(t_text) FILTER (WHERE t IS NULL AND t_text IS NOT NULL) FROM ev WHERE t IS NULL')).getRows()[0];
    if (Number(bad[0]) > 0) {
      throw new UserError(
        `column "${opts.time}": ${bad[0]} values are not a time (e.g. ${JSON.stringify(bad[1])}); give dates as YYYY-MM-DD, timestamps, epoch seconds, or name the format with --time-format (e.g. "%d/%m/%Y")`,
      );
    }
    const nullIds = Number((await con.runAndReadAll('SELECT count(*) FROM ev WHERE id IS NULL')).getRows()[0][0]);
    if (nullIds > 0) throw new UserError(`column "${opts.id}": ${nullIds} events have no id`);
    // The as-of day ends at midnight after it; the horizon runs from there. $1 is the as-of date.
    const asOf = 'CAST($1 AS DATE)';
    const cutoff = `(${asOf} + INTERVAL 1 DAY)`;
    const counts = (await con.runAndReadAll(`SELECT count(*) FILTER (WHERE t < ${cutoff}), count(*) FROM ev`, [opts.asOf])).getRows()[0].map(Number);
    if (counts[0] === 0) throw new UserError(`no event on or before ${opts.asOf} (${counts[1]} events in all): choose a later --as-of`);

    const cols: string[] = [];
    const params: unknown[] = [opts.asOf];
    const add = (expr: string, name: string) => cols.push(`${expr} AS ${ident(name)}`);
    add(`date_diff('day', max(t)::DATE, ${asOf})`, 'recency_days');
    add('count(*)', 'events');
    add('count(DISTINCT t::DATE)', 'active_days');
    add(`date_diff('day', min(t)::DATE, ${asOf})`, 'tenure_days');
    if (opts.amount) {
      add('coalesce(sum(amount), 0)', 'amount_total');
      add('avg(amount)', 'amount_mean');
      add('max(amount)', 'amount_max');
      // Gamma-Gamma's input: the mean of the repeat purchases (each active day after the first,
      // its amounts summed), as Fader, Hardie and Lee (2005) fit it; null without a repeat day.
      add('sum(amount) FILTER (WHERE t::DATE > first_day) / nullif(count(DISTINCT t::DATE) - 1, 0)', 'amount_repeat_mean');
    }
    for (const w of WINDOWS) {
      add(`count(*) FILTER (WHERE t >= ${cutoff} - INTERVAL ${w} DAY)`, `events_${w}d`);
      if (opts.amount) add(`coalesce(sum(amount) FILTER (WHERE t >= ${cutoff} - INTERVAL ${w} DAY), 0)`, `amount_${w}d`);
    }
    if (opts.category) {
      add('count(DISTINCT category)', 'distinct_categories');
      const levels = (
        await con.runAndReadAll(`SELECT category FROM ev WHERE t < ${cutoff} AND category IS NOT NULL GROUP BY category ORDER BY count(*) DESC, category LIMIT ${Math.trunc(top)}`, [opts.asOf])
      ).getRows();
      const taken = new Set<string>();
      for (const [level] of levels) {
        params.push(String(level));
        add(`count(*) FILTER (WHERE category = $${params.length}) / count(*)`, shareColumn(String(level), taken));
      }
    }
    if (opts.session) {
      add('count(DISTINCT session)', 'sessions');
      add('count(*) / nullif(count(DISTINCT session), 0)', 'events_per_session');
    }
    // Gaps between consecutive active days (days), per id: mean and standard deviation (null with one active day).
    const gaps = `SELECT id, avg(gap) AS interpurchase_days_mean, stddev_pop(gap) AS interpurchase_days_sd FROM (
      SELECT id, date_diff('day', lag(d) OVER (PARTITION BY id ORDER BY d), d) AS gap FROM (SELECT DISTINCT id, t::DATE AS d FROM ev WHERE t < ${cutoff})
    ) GROUP BY id`;
    const past = `(SELECT *, min(t::DATE) OVER (PARTITION BY id) AS first_day FROM ev WHERE t < ${cutoff})`;
    const features = `SELECT id, ${cols.join(', ')} FROM ${past} GROUP BY id`;
    const labels = opts.horizonDays ? [...LABEL_COLUMNS] : [];
    const horizon = opts.horizonDays ? `${cutoff} + INTERVAL ${Math.trunc(opts.horizonDays)} DAY` : cutoff;
    const future = `SELECT id, ${opts.amount ? 'coalesce(sum(amount), 0)' : 'CAST(NULL AS DOUBLE)'} AS future_value, count(*) AS future_orders FROM ev WHERE t >= ${cutoff} AND t < ${horizon} GROUP BY id`;
    const labelCols = opts.horizonDays
      ? ', coalesce(h.future_value, 0) AS future_value, coalesce(h.future_orders, 0) AS future_orders, CAST(coalesce(h.future_orders, 0) > 0 AS INTEGER) AS converted'
      : '';
    const select = `SELECT f.id AS ${ident(opts.id)}, f.* EXCLUDE (id), g.* EXCLUDE (id)${labelCols}
      FROM (${features}) f JOIN (${gaps}) g USING (id)${opts.horizonDays ? ` LEFT JOIN (${future}) h USING (id)` : ''} ORDER BY f.id`;
    const kv = labels.length ? `, KV_METADATA {${LABELS_KEY}: '${labels.join(',')}', audience_horizon_days: '${Math.trunc(opts.horizonDays!)}'}` : '';
    params.push(`${path.resolve(opts.out)}.tmp`);
    await con.run(`COPY (${select}) TO $${params.length} (FORMAT parquet, COMPRESSION zstd${kv})`, params as never);
    fs.renameSync(`${path.resolve(opts.out)}.tmp`, opts.out);
    const described = (await con.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($1)', [opts.out])).getRows().map((r) => String(r[0]));
    const rows = Number((await con.runAndReadAll('SELECT count(*) FROM read_parquet($1)', [opts.out])).getRows()[0][0]);
    const later = Number((await con.runAndReadAll(`SELECT count(*) FROM ev WHERE t >= ${horizon}`, [opts.asOf])).getRows()[0][0]);
    return { rows, events: counts[0], columns: described, labels, later, times: time.description };
  } finally {
    con.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${opts.out}.tmp`, { force: true });
  }
}

/**
 * One visitor's behavior features from its events, as of a day: the single implementation
 * behind both `audience events` (features/events.ts calls it for every id of a file) and the
 * online view (server/online: one visitor's stored events), so a feature online is the
 * feature the batch file holds, by construction.
 *
 * The features are the recency, frequency and monetary (RFM) family (Fader, Hardie and Lee,
 * "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", 2005): recency, events,
 * active days, tenure, inter-purchase days (mean and population standard deviation of the gaps
 * between consecutive active days), amount total / mean / max, the mean spend of the repeat
 * days (each active day after the first, its amounts summed; Gamma-Gamma's input), counts and
 * amounts over trailing windows, distinct categories and the shares of given ones, sessions and
 * events per session; with a horizon, the labels of the following days.
 *
 * Time is counted in UTC days (days since 1970-01-01): an event counts up to the end of its
 * day, as the as-of day ends at midnight after it. Every feature depends on an event's day
 * only, never its time of day. Sums run over the events in one canonical order (day, amount,
 * category, session), so the result never depends on the order events were given in.
 */
import type { OutputColumn } from '../io/writer.js';
import { UserError } from '../util/errors.js';

/** Trailing windows, days up to and including the as-of day. */
export const WINDOWS = [7, 30, 90, 365];
/** The label columns a horizon adds. */
export const LABEL_COLUMNS = ['future_value', 'future_orders', 'converted'];

/** One event: its UTC day (days since 1970-01-01), amount (NaN: none), category and session (null: none). */
export interface VisitorEvent {
  day: number;
  amount: number;
  category: string | null;
  session: string | null;
}

/** Which features exist: the optional fields the events carry, the category shares, the horizon. */
export interface FeatureLayout {
  amount: boolean;
  category: boolean;
  session: boolean;
  /** Category values whose share gets a column, and the column's name. */
  shares: Array<{ value: string; column: string }>;
  /** Days after the as-of day whose events give the labels; none: no labels. */
  horizonDays?: number;
}

/** A feature value: a number, or null (undefined, such as the gaps of a one-day visitor). */
export type FeatureValue = number | null;

/** The feature columns of a layout, in output order, with their Parquet types (counts and days BIGINT, the rest DOUBLE). */
export function featureColumns(layout: FeatureLayout): OutputColumn[] {
  const big = (name: string): OutputColumn => ({ name, type: 'BIGINT' });
  const dbl = (name: string): OutputColumn => ({ name, type: 'DOUBLE' });
  const cols = [big('recency_days'), big('events'), big('active_days'), big('tenure_days')];
  if (layout.amount) cols.push(dbl('amount_total'), dbl('amount_mean'), dbl('amount_max'), dbl('amount_repeat_mean'));
  for (const w of WINDOWS) cols.push(big(`events_${w}d`), ...(layout.amount ? [dbl(`amount_${w}d`)] : []));
  if (layout.category) cols.push(big('distinct_categories'), ...layout.shares.map((s) => dbl(s.column)));
  if (layout.session) cols.push(big('sessions'), dbl('events_per_session'));
  cols.push(dbl('interpurchase_days_mean'), dbl('interpurchase_days_sd'));
  if (layout.horizonDays !== undefined) cols.push(dbl('future_value'), big('future_orders'), { name: 'converted', type: 'INTEGER' });
  return cols;
}

/** Events in the canonical order: day, amount (none last), category, session. */
function canonical(events: readonly VisitorEvent[]): VisitorEvent[] {
  const text = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);
  const amount = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);
  return [...events].sort((a, b) => a.day - b.day || amount(a.amount, b.amount) || text(a.category, b.category) || text(a.session, b.session));
}

/** Sum of the amounts present (0 for none) and their count. */
function sumAmounts(events: readonly VisitorEvent[]): { sum: number; n: number } {
  let sum = 0;
  let n = 0;
  for (const e of events) {
    if (!Number.isNaN(e.amount)) {
      sum += e.amount;
      n++;
    }
  }
  return { sum, n };
}

/** Mean and population standard deviation of the gaps (days) between consecutive distinct days; null for one day. */
function gapStats(days: number[]): [FeatureValue, FeatureValue] {
  if (days.length < 2) return [null, null];
  const gaps = days.slice(1).map((d, i) => d - days[i]);
  const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
  const variance = gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length;
  return [mean, Math.sqrt(variance)];
}

/**
 * The features of one visitor as of `asOfDay` (a UTC day number), in featureColumns(layout)
 * order, from its events (any order; those after the as-of day only give the labels).
 * @returns null when the visitor has no event on or before the as-of day (no row, as in the batch file).
 */
export function visitorFeatures(events: readonly VisitorEvent[], asOfDay: number, layout: FeatureLayout): FeatureValue[] | null {
  const sorted = canonical(events);
  const past = sorted.filter((e) => e.day <= asOfDay);
  if (past.length === 0) return null;
  const days = [...new Set(past.map((e) => e.day))];
  const out: FeatureValue[] = [asOfDay - days[days.length - 1], past.length, days.length, asOfDay - days[0]];
  if (layout.amount) {
    const all = sumAmounts(past);
    let max = -Infinity;
    for (const e of past) if (e.amount > max) max = e.amount;
    const repeat = sumAmounts(past.filter((e) => e.day > days[0]));
    out.push(all.sum, all.n ? all.sum / all.n : null, all.n ? max : null, days.length > 1 && repeat.n ? repeat.sum / (days.length - 1) : null);
  }
  for (const w of WINDOWS) {
    const recent = past.filter((e) => e.day > asOfDay - w);
    out.push(recent.length);
    if (layout.amount) out.push(sumAmounts(recent).sum);
  }
  if (layout.category) {
    out.push(new Set(past.flatMap((e) => (e.category === null ? [] : [e.category]))).size);
    for (const s of layout.shares) out.push(past.filter((e) => e.category === s.value).length / past.length);
  }
  if (layout.session) {
    const sessions = new Set(past.flatMap((e) => (e.session === null ? [] : [e.session]))).size;
    out.push(sessions, sessions ? past.length / sessions : null);
  }
  out.push(...gapStats(days));
  if (layout.horizonDays !== undefined) {
    const future = sorted.filter((e) => e.day > asOfDay && e.day <= asOfDay + layout.horizonDays!);
    out.push(layout.amount ? sumAmounts(future).sum : 0, future.length, future.length > 0 ? 1 : 0);
  }
  return out;
}

/** The share column a category value names before any clash: `category_share_<value>`, lower case, letters, digits and "_" only. */
export function shareBase(value: string): string {
  return `category_share_${value.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 40) || 'blank'}`;
}

/** A category value's share column, `_2`, `_3`... after its base when an earlier value took it. */
function shareColumn(value: string, taken: Set<string>): string {
  const base = shareBase(value);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * The category shares a layout gets: the `top` most frequent categories (most events first,
 * then by value in code-point order), each with its column name.
 * @param counts events per category, over every visitor's events on or before the as-of day.
 */
export function topShares(counts: Iterable<[string, number]>, top: number): FeatureLayout['shares'] {
  const byCode = (a: string, b: string) => (a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || byCode(a[0], b[0])).slice(0, Math.max(0, Math.trunc(top)));
  const taken = new Set<string>();
  return ranked.map(([value]) => ({ value, column: shareColumn(value, taken) }));
}

/** `90d`, `12w` or a number of days. @throws UserError for anything else. */
export function parseHorizon(text: string): number {
  const m = /^(\d+)\s*([dw]?)$/i.exec(text.trim());
  const days = m ? Number(m[1]) * (m[2].toLowerCase() === 'w' ? 7 : 1) : NaN;
  if (!(days >= 1 && days <= 3650)) throw new UserError(`--horizon ${text}: expected days such as 90d (or weeks, 13w), from 1 to 3650 days`);
  return days;
}

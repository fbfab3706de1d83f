/** `audience events`: per-id behavior features (and labels) from an events table, as of a date. */
import { buildEventFeatures, LABEL_COLUMNS, parseHorizon, WINDOWS } from '../../features/events.js';
import { list, num, str, type Command } from '../args.js';
import { checkNewOutputFile } from '../../util/files.js';
import { INPUT_OPTIONS, OVERWRITE_HELP, OVERWRITE_OPTIONS } from './common.js';

/** `audience events`: features per customer from raw events as of a date, with future-value labels. */
export const events: Command = {
  name: 'events',
  usage: `audience events --input orders.csv --id customer_id --time date [--amount amount]
                [--category category] [--session session_id] --as-of 2024-06-30
                [--horizon 90d] [--top-categories 5] [--time-format "%d/%m/%Y"] --out features.parquet
                [--overwrite]

One row per id with at least one event on or before the as-of date (events after it are
never used), computed per id by the function the online view runs too (audience serve --online):
  recency_days        days from the last event to the as-of date
  events, active_days events, and distinct days with an event
  tenure_days         days from the first event to the as-of date
  interpurchase_days_mean, _sd   gaps between consecutive active days (null with one day)
  amount_total, amount_mean, amount_max                       (with --amount)
  amount_repeat_mean  mean spend of the repeat purchase days (after the first; null without one)
  events_Nd, amount_Nd  over the last N = ${WINDOWS.join('/')} days up to the as-of date
  distinct_categories, category_share_<value> for the --top-categories most frequent (with --category)
  sessions, events_per_session                                   (with --session)
With --horizon (days, e.g. 90d or 13w) the labels of the window after the as-of date:
  ${LABEL_COLUMNS.join(', ')} (sum of amounts, events, events > 0)
marked as labels in the file's metadata: 'audience features' and training never use them
as features unless one is named with --label.
Times are detected from the values, and the output says which was taken: ISO 8601 dates and
timestamps; YYYYMMDD numbers (CDNOW, GA4 event_date); epoch seconds, milliseconds,
microseconds (GA4 event_timestamp) or nanoseconds, each taken for the years 1973-2286 only,
so no value fits two; day/month/year text ("08-11-16", "11/8/2016") when the values allow
one order only. Whatever stays ambiguous is refused with the candidates: name the format
with --time-format (strptime codes, e.g. "%d-%m-%y"). Inputs: Parquet, CSV or Arrow, read with the
same rules as every other command (numbers written as text, exact ids).
${OVERWRITE_HELP}`,
  options: {
    ...INPUT_OPTIONS,
    id: { type: 'string' },
    time: { type: 'string' },
    amount: { type: 'string' },
    category: { type: 'string' },
    session: { type: 'string' },
    'as-of': { type: 'string' },
    horizon: { type: 'string' },
    'top-categories': { type: 'string' },
    'time-format': { type: 'string' },
    out: { type: 'string', short: 'o' },
    ...OVERWRITE_OPTIONS,
  },
  async run(values) {
    const input = list(values.input);
    if (input.length === 0) str(undefined, '--input', 'events');
    checkNewOutputFile('--out', str(values.out, '--out', 'events'), Boolean(values.overwrite));
    const result = await buildEventFeatures({
      input,
      id: str(values.id, '--id', 'events'),
      time: str(values.time, '--time', 'events'),
      amount: values.amount as string | undefined,
      category: values.category as string | undefined,
      session: values.session as string | undefined,
      asOf: str(values['as-of'], '--as-of', 'events'),
      horizonDays: typeof values.horizon === 'string' ? parseHorizon(values.horizon) : undefined,
      topCategories: num(values['top-categories'], '--top-categories', { int: true, min: 0, max: 100 }),
      timeFormat: values['time-format'] as string | undefined,
      out: str(values.out, '--out', 'events'),
    });
    process.stdout.write(
      `Wrote ${result.rows} ids x ${result.columns.length - 1} columns to ${values.out} from ${result.events} events on or before ${values['as-of']}` +
        (result.labels.length ? `; labels: ${result.labels.join(', ')}` : '') +
        (result.later ? ` (${result.later} later events not used)` : '') +
        `\nTimes in "${values.time}" read as ${result.times}.\n`,
    );
  },
};

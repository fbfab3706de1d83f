/**
 * `audience events`: features equal values computed by hand on a small events file (windows
 * at their edges, the as-of boundary, one-event customers, ids whose events all come later),
 * no feature changes when events after the as-of date are added, labels are marked so that
 * feature inference leaves them out, and bad times are refused with an example.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEventFeatures, parseHorizon } from '../src/features/events.js';
import { inferSpec } from '../src/features/infer.js';
import { openDataset } from '../src/io/dataset.js';
import { connect } from '../src/io/duckdb.js';
import { DEFAULT_BTYD, gammaDraw, generateEvents } from '../src/synthetic/events.js';
import { Rng } from '../src/util/rng.js';
import { customerSummary, fitBtyd } from '../src/models/btyd/customers.js';

let dir: string;
const EVENTS = `customer_id,date,amount,category,session
a,2024-01-01,10,shoes,s1
a,2024-01-01,5,hats,s1
a,2024-01-11,20,shoes,s2
a,2024-02-24,1,shoes,s3
a,2024-03-01,7,shoes,s3
b,2024-02-28,"$1,000.00",hats,s4
c,2024-03-05,3,shoes,s5
a,2024-03-20,100,hats,s6
a,2024-03-31,1,hats,s6
a,2024-04-01,50,hats,s7
`;

async function rowsOf(sql: string, file: string): Promise<Record<string, unknown>[]> {
  const con = await connect();
  try {
    const r = await con.runAndReadAll(sql, [file]);
    return r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    con.closeSync();
  }
}

async function rows(file: string): Promise<Record<string, unknown>[]> {
  return rowsOf('SELECT * FROM read_parquet($1) ORDER BY 1', file);
}

const base = () => ({ id: 'customer_id', time: 'date', amount: 'amount', category: 'category', session: 'session', asOf: '2024-03-01' });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-events-'));
  fs.writeFileSync(path.join(dir, 'ev.csv'), EVENTS);
});

describe('audience events', () => {
  it('computes RFM, windows, categories, sessions and labels equal to values computed by hand', async () => {
    const out = path.join(dir, 'f.parquet');
    const r = await buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], horizonDays: 30, out });
    expect(r.rows).toBe(2); // c's only event is after the as-of date
    const [a, b] = await rows(out);
    expect(a).toMatchObject({
      customer_id: 'a',
      recency_days: 0, // an event on the as-of day itself counts
      events: 5,
      active_days: 4,
      tenure_days: 60, // 2024-01-01 to 2024-03-01 (a leap year)
      amount_total: 43,
      amount_max: 20,
      events_7d: 2, // 2024-02-24 is the first day of the 7-day window ending 2024-03-01
      amount_7d: 8,
      events_30d: 2,
      events_90d: 5,
      distinct_categories: 2,
      category_share_shoes: 0.8,
      category_share_hats: 0.2,
      sessions: 3,
      interpurchase_days_mean: 20, // gaps 10, 44, 6 days
      future_value: 101, // 2024-03-20 and 2024-03-31; 2024-04-01 is the 31st day after
      future_orders: 2,
      converted: 1,
    });
    expect(a.amount_mean).toBeCloseTo(8.6, 12);
    expect(a.amount_repeat_mean).toBeCloseTo((20 + 1 + 7) / 3, 12); // the days after the first: 20, 1, 7
    expect(b.amount_repeat_mean).toBeNull();
    expect(a.events_per_session).toBeCloseTo(5 / 3, 12);
    expect(a.interpurchase_days_sd).toBeCloseTo(Math.sqrt(((10 - 20) ** 2 + (44 - 20) ** 2 + (6 - 20) ** 2) / 3), 12);
    expect(b).toMatchObject({ customer_id: 'b', recency_days: 2, events: 1, amount_total: 1000, interpurchase_days_mean: null, future_value: 0, converted: 0 });
  });

  it('no feature uses an event after the as-of date: adding later events changes nothing', async () => {
    const rng = new Rng(7);
    const extra = Array.from({ length: 200 }, (_, i) => `${['a', 'b', 'c', 'd'][rng.int(4)]},2024-03-${String(2 + (i % 27)).padStart(2, '0')},${rng.int(500)},x${rng.int(9)},z${i}`);
    fs.writeFileSync(path.join(dir, 'ev-more.csv'), `${EVENTS}${extra.join('\n')}\n`);
    const before = path.join(dir, 'before.parquet');
    const after = path.join(dir, 'after.parquet');
    await buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], out: before });
    await buildEventFeatures({ ...base(), input: [path.join(dir, 'ev-more.csv')], out: after });
    expect(await rows(after)).toEqual(await rows(before));
  });

  it('marks the labels, so feature inference never takes one for a feature', async () => {
    const { spec, notes } = await inferSpec(await openDataset([path.join(dir, 'f.parquet')]));
    const names = [...spec.numeric, ...spec.boolean, ...spec.categorical].map((f) => f.name);
    for (const label of ['future_value', 'future_orders', 'converted']) expect(names).not.toContain(label);
    expect(notes.find((n) => n.startsWith('future_value'))).toMatch(/a label of the following window/);
  });

  it('reads epoch seconds and named formats, and refuses times that do not parse with an example', async () => {
    fs.writeFileSync(path.join(dir, 'epoch.csv'), 'id,ts\nx,1709164800\nx,1709251200\n'); // 2024-02-29, 2024-03-01 UTC
    const epoch = path.join(dir, 'epoch.parquet');
    await buildEventFeatures({ input: [path.join(dir, 'epoch.csv')], id: 'id', time: 'ts', asOf: '2024-03-01', out: epoch });
    expect(await rows(epoch)).toMatchObject([{ id: 'x', events: 2, active_days: 2, tenure_days: 1 }]);
    fs.writeFileSync(path.join(dir, 'eu.csv'), 'id,day\nx,02/01/2024\nx,01/03/2024\n');
    await buildEventFeatures({ input: [path.join(dir, 'eu.csv')], id: 'id', time: 'day', timeFormat: '%d/%m/%Y', asOf: '2024-03-01', out: path.join(dir, 'eu.parquet') });
    expect(await rows(path.join(dir, 'eu.parquet'))).toMatchObject([{ id: 'x', events: 2, tenure_days: 59 }]);
    fs.writeFileSync(path.join(dir, 'text.csv'), 'id,day\nx,2024-03-01\nx,yesterday\nx,2024-02-31\n');
    // The first bad value named by its file and data row, and how many there are.
    await expect(buildEventFeatures({ input: [path.join(dir, 'text.csv')], id: 'id', time: 'day', asOf: '2024-03-01', out: path.join(dir, 'bad.parquet') })).rejects.toThrow(
      /text\.csv, data row 2: column "day": "yesterday" is not a time \(2 values in all\).*--time-format/,
    );
    expect(fs.existsSync(path.join(dir, 'bad.parquet'))).toBe(false);
    await expect(buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], asOf: '2024-3-1', out: path.join(dir, 'x.parquet') })).rejects.toThrow(/expected a date as YYYY-MM-DD/);
    await expect(buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], asOf: '2023-01-01', out: path.join(dir, 'x.parquet') })).rejects.toThrow(/no event on or before 2023-01-01/);
    expect(parseHorizon('13w')).toBe(91);
    expect(() => parseHorizon('3 months')).toThrow(/expected days such as 90d/);
  });
});

describe('times as exports write them', () => {
  // The same four events (2024-02-29 10:00, 2024-03-01, 2024-03-02, 1997-01-01 is not among them) in each encoding.
  const at = ['2024-02-28T10:00:00Z', '2024-02-29T00:00:00Z', '2024-03-01T23:59:59Z', '2024-03-02T00:00:00Z'].map((t) => Date.parse(t));
  const encodings: Array<[string, (ms: number) => string, RegExp]> = [
    ['epoch seconds', (ms) => String(ms / 1000), /epoch seconds/],
    ['epoch milliseconds', (ms) => String(ms), /epoch milliseconds/],
    ['epoch microseconds (GA4 event_timestamp)', (ms) => `${ms}000`, /epoch microseconds/],
    ['epoch nanoseconds', (ms) => `${ms}000000`, /epoch nanoseconds/],
  ];
  it.each(encodings)('reads %s and says so', async (_name, write, said) => {
    const file = path.join(dir, `enc-${said.source.replace(/\W/g, '')}.csv`);
    fs.writeFileSync(file, `id,t\n${at.map((ms) => `x,${write(ms)}`).join('\n')}\n`);
    const r = await buildEventFeatures({ input: [file], id: 'id', time: 't', asOf: '2024-03-01', horizonDays: 1, out: `${file}.parquet` });
    expect(r.times).toMatch(said);
    // 3 events on or before 2024-03-01 (its last second included), 1 on the day after.
    expect(await rows(`${file}.parquet`)).toMatchObject([{ id: 'x', events: 3, active_days: 3, tenure_days: 2, future_orders: 1 }]);
  });

  it('reads YYYYMMDD numbers as dates (CDNOW, GA4 event_date), never as epoch seconds', async () => {
    const file = path.join(dir, 'ymd.csv');
    fs.writeFileSync(file, 'id,event_date\nx,20240228\nx,20240229\ny,20240301\ny,20240302\n');
    const r = await buildEventFeatures({ input: [file], id: 'id', time: 'event_date', asOf: '2024-03-01', out: `${file}.parquet` });
    expect(r.times).toBe('YYYYMMDD dates');
    expect(await rows(`${file}.parquet`)).toMatchObject([{ id: 'x', tenure_days: 2, recency_days: 1 }, { id: 'y', tenure_days: 0 }]);
  });

  it('refuses numbers no one unit explains, and day/month text that reads in several orders, naming the candidates', async () => {
    const nums = path.join(dir, 'nums.csv');
    fs.writeFileSync(nums, 'id,t\nx,5000000\nx,1700000000\n'); // 1970 in seconds beside 2023
    await expect(buildEventFeatures({ input: [nums], id: 'id', time: 't', asOf: '2024-03-01', out: `${nums}.parquet` })).rejects.toThrow(/numbers from 5000000 to 1700000000, which no one encoding explains/);
    const superstore = path.join(dir, 'superstore.csv'); // dd-mm-yy, as Tableau's Superstore sample writes it
    fs.writeFileSync(superstore, 'id,order_date\nx,08-11-16\nx,12-06-16\ny,11-10-15\n');
    const refused = buildEventFeatures({ input: [superstore], id: 'id', time: 'order_date', asOf: '2016-12-31', out: `${superstore}.parquet` });
    await expect(refused).rejects.toThrow(/"08-11-16" read in more than one order: day-month-year \(--time-format "%d-%m-%y"\), or month-day-year .*, or year-month-day/);
    expect(fs.existsSync(`${superstore}.parquet`)).toBe(false);
    const r = await buildEventFeatures({ input: [superstore], id: 'id', time: 'order_date', timeFormat: '%d-%m-%y', asOf: '2016-12-31', out: `${superstore}.parquet` });
    expect(r.rows).toBe(2);
    expect((await rows(`${superstore}.parquet`))[0]).toMatchObject({ id: 'x', recency_days: 53, tenure_days: 202 }); // 2016-06-12 .. 2016-11-08 .. 2016-12-31
    const us = path.join(dir, 'us.csv'); // one value past 12 in the first place settles the order
    fs.writeFileSync(us, 'id,day\nx,11/8/2016\nx,11/28/2016 14:30\n');
    const us1 = await buildEventFeatures({ input: [us], id: 'id', time: 'day', asOf: '2016-12-31', out: `${us}.parquet` });
    expect(us1.times).toBe('month-day-year text (%m/%d/%Y)');
    expect(await rows(`${us}.parquet`)).toMatchObject([{ id: 'x', tenure_days: 53, recency_days: 33 }]);
  });
});

describe('the CDNOW sample (Fader, Hardie and Lee 2005)', () => {
  it('reads its YYYYMMDD dates and fits Gamma-Gamma on repeat purchases to the published values', async () => {
    const out = path.join(dir, 'cdnow.parquet');
    const r = await buildEventFeatures({ input: [path.resolve('test/fixtures/cdnow.csv')], id: 'customer_id', time: 'date', amount: 'dollar_value', asOf: '1997-09-30', horizonDays: 273, out });
    expect(r).toMatchObject({ rows: 2357, events: 4960, times: 'YYYYMMDD dates' });
    const [sums] = await rowsOf('SELECT count(*) FILTER (WHERE future_value > 0) AS buyers, round(sum(future_value), 2) AS total FROM read_parquet($1)', out);
    expect(sums).toEqual({ buyers: 684, total: 70976.39 });
    const summaries = (await rowsOf('SELECT active_days, tenure_days, recency_days, amount_repeat_mean FROM read_parquet($1)', out)).map((c) =>
      customerSummary(Number(c.active_days), Number(c.tenure_days), Number(c.recency_days), c.amount_repeat_mean === null ? NaN : Number(c.amount_repeat_mean)),
    );
    const fit = fitBtyd(summaries, 1);
    // lifetimes' documentation: GammaGammaFitter on this sample gives p 6.25, q 3.74, v 15.44.
    expect(fit.spend.p).toBeCloseTo(6.25, 2);
    expect(fit.spend.q).toBeCloseTo(3.74, 2);
    expect(fit.spend.gamma).toBeCloseTo(15.44, 2);
    // BG/NBD in days: r 0.243, alpha 4.414 weeks = 30.9 days, a 0.793, b 2.426 (Fader, Hardie and Lee 2005).
    expect(fit.params.r).toBeCloseTo(0.243, 2);
    expect(fit.params.alpha / 7).toBeCloseTo(4.414, 1);
  });
});

describe('synthetic buy-till-you-die events', () => {
  it('draws Gamma variates with the right mean and variance', () => {
    const rng = new Rng(3);
    for (const [shape, rate] of [[2.5, 4], [0.3, 2]]) {
      const xs = Array.from({ length: 100_000 }, () => gammaDraw(rng, shape, rate));
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
      expect(Math.abs(mean / (shape / rate) - 1)).toBeLessThan(0.02);
      expect(Math.abs(variance / (shape / rate ** 2) - 1)).toBeLessThan(0.06);
    }
  });

  it('generates events inside the period whose mean spend follows the Gamma-Gamma parameters, and feeds audience events', async () => {
    const ev = generateEvents({ customers: 4000, days: 540, seed: 5 });
    expect(generateEvents({ customers: 50, days: 540, seed: 5 })).toEqual(generateEvents({ customers: 50, days: 540, seed: 5 }));
    expect(ev.every((e) => e.date >= '2024-01-01' && e.date < '2025-06-24' && e.amount > 0)).toBe(true);
    const expected = (DEFAULT_BTYD.spendShape * DEFAULT_BTYD.gamma) / (DEFAULT_BTYD.q - 1); // E[p / nu], nu ~ Gamma(q, gamma)
    const mean = ev.reduce((a, e) => a + e.amount, 0) / ev.length;
    expect(Math.abs(mean / expected - 1)).toBeLessThan(0.1);
    expect(new Set(ev.map((e) => e.id)).size).toBe(4000); // every customer buys once at least
    fs.writeFileSync(path.join(dir, 'syn.csv'), `customer_id,date,amount,category\n${ev.map((e) => `${e.id},${e.date},${e.amount},${e.category}`).join('\n')}\n`);
    const r = await buildEventFeatures({ input: [path.join(dir, 'syn.csv')], id: 'customer_id', time: 'date', amount: 'amount', category: 'category', asOf: '2024-12-31', horizonDays: 90, out: path.join(dir, 'syn.parquet') });
    expect(r.rows).toBe(4000); // all acquired in the first 90 days
    expect(r.events + r.later).toBeLessThanOrEqual(ev.length);
  });
});

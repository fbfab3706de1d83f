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

async function rows(file: string): Promise<Record<string, unknown>[]> {
  const con = await connect();
  try {
    const r = await con.runAndReadAll('SELECT * FROM read_parquet($1) ORDER BY 1', [file]);
    return r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    con.closeSync();
  }
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
    fs.writeFileSync(path.join(dir, 'eu.csv'), 'id,day\nx,29/02/2024\nx,01/03/2024\n');
    await buildEventFeatures({ input: [path.join(dir, 'eu.csv')], id: 'id', time: 'day', timeFormat: '%d/%m/%Y', asOf: '2024-03-01', out: path.join(dir, 'eu.parquet') });
    expect(await rows(path.join(dir, 'eu.parquet'))).toMatchObject([{ id: 'x', events: 2, tenure_days: 1 }]);
    await expect(buildEventFeatures({ input: [path.join(dir, 'eu.csv')], id: 'id', time: 'day', asOf: '2024-03-01', out: path.join(dir, 'bad.parquet') })).rejects.toThrow(
      /column "day": 2 values are not a time \(e\.g\. "\d\d\/\d\d\/2024"\).*--time-format/,
    );
    expect(fs.existsSync(path.join(dir, 'bad.parquet'))).toBe(false);
    await expect(buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], asOf: '2024-3-1', out: path.join(dir, 'x.parquet') })).rejects.toThrow(/expected a date as YYYY-MM-DD/);
    await expect(buildEventFeatures({ ...base(), input: [path.join(dir, 'ev.csv')], asOf: '2023-01-01', out: path.join(dir, 'x.parquet') })).rejects.toThrow(/no event on or before 2023-01-01/);
    expect(parseHorizon('13w')).toBe(91);
    expect(() => parseHorizon('3 months')).toThrow(/expected days such as 90d/);
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

/**
 * The online view (audience serve --online): parity with `audience events --as-of` for random
 * event histories (fast-check: ids, days, windows' edges, missing amounts and categories, as-of
 * days) and on the demo's generated events, whose online scores equal batch `audience score`
 * to 1e-6; audience enters and exits for thresholds crossed both ways and for a window expiring
 * (the sweep, with the view's clock moved); suppression by a rule on a feature; the long poll;
 * bad events refused one by one with their reasons while the good ones are kept; the key.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEventFeatures } from '../src/features/events.js';
import { connect } from '../src/io/duckdb.js';
import { openDataset } from '../src/io/dataset.js';
import { loadAudiences } from '../src/audiences/definition.js';
import { scoreDataset } from '../src/execution/score-dataset.js';
import { loadScoringModel } from '../src/models/load.js';
import { SqliteOnlineStore } from '../src/server/online/store.js';
import { loadOnlineView } from '../src/server/online/view.js';
import { AS_OF, inProcessApp, onlineFixture, type OnlineFixture } from './online-fixture.js';

const DAY_MS = 86_400_000;
let fx: OnlineFixture;
let runs = 0;

/** Rows of a Parquet file keyed by its first column, bigints as numbers. */
async function rowsById(file: string): Promise<Map<string, Record<string, unknown>>> {
  const con = await connect();
  try {
    const rows = (await con.runAndReadAll('SELECT * FROM read_parquet($1)', [file])).getRowObjectsJS();
    return new Map(rows.map((r) => [String(Object.values(r)[0]), Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))]));
  } finally {
    con.closeSync();
  }
}

/** An app with an online view over a fresh store; `view` is the file's JSON, `clock` its time. */
async function onlineApp(view: Record<string, unknown>, audiences?: unknown, clock: { now: number } = { now: Date.now() }, extra = {}): Promise<FastifyInstance> {
  const dir = path.join(fx.dir, `view-${runs++}`);
  fs.mkdirSync(dir);
  if (audiences) fs.writeFileSync(path.join(dir, 'audiences.json'), JSON.stringify(audiences));
  fs.writeFileSync(path.join(dir, 'online.json'), JSON.stringify({ ...view, ...(audiences ? { audiences: 'audiences.json' } : {}) }));
  return inProcessApp(fx, { online: { view: loadOnlineView(path.join(dir, 'online.json')), store: new SqliteOnlineStore(dir), now: () => clock.now }, ...extra });
}

const post = (app: FastifyInstance, events: unknown[]) => app.inject({ method: 'POST', url: '/v1/events', payload: { events } });
const visitor = async (app: FastifyInstance, id: string, asOf?: string) => app.inject({ method: 'GET', url: `/v1/visitors/${encodeURIComponent(id)}${asOf ? `?asOf=${asOf}` : ''}` });

beforeAll(async () => {
  fx = await onlineFixture(500);
}, 240_000);

describe('online features equal audience events', () => {
  it('for random event histories, every id and every feature, as of random days (property)', async () => {
    const day = (d: number) => new Date(Date.UTC(2024, 0, 1) + d * DAY_MS).toISOString().slice(0, 10);
    const event = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd'),
      day: fc.integer({ min: 0, max: 400 }),
      clock: fc.option(fc.integer({ min: 0, max: 86_399 }), { nil: undefined }),
      amount: fc.option(fc.double({ min: -50, max: 500, noNaN: true }), { nil: null, freq: 5 }),
      category: fc.option(fc.constantFrom('shoes', 'hats', 'Home & Garden', 'toys'), { nil: null, freq: 5 }),
      session: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: null, freq: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 420 }), fc.integer({ min: 0, max: 4 }), async (events, asOf, top) => {
        const time = (e: (typeof events)[number]) => (e.clock === undefined ? day(e.day) : `${day(e.day)}T${new Date(e.clock * 1000).toISOString().slice(11, 19)}Z`);
        const app = await onlineApp({ events: { id: 'customer_id', time: 'ts', amount: 'total', category: 'kind', session: 'visit' }, topCategories: top });
        try {
          const res = await post(app, events.map((e) => ({ customer_id: e.id, ts: time(e), total: e.amount, kind: e.category, visit: e.session })));
          expect(res.json()).toEqual({ accepted: events.length, refused: [] });
          const csv = path.join(fx.dir, `prop-${runs}.csv`);
          fs.writeFileSync(csv, `customer_id,ts,total,kind,visit\n${events.map((e) => `${e.id},${time(e)},${e.amount ?? ''},${e.category ?? ''},${e.session ?? ''}`).join('\n')}\n`);
          const out = path.join(fx.dir, `prop-${runs}.parquet`);
          let batch = new Map<string, Record<string, unknown>>();
          try {
            await buildEventFeatures({ input: [csv], id: 'customer_id', time: 'ts', amount: 'total', category: 'kind', session: 'visit', asOf: day(asOf), topCategories: top, out });
            batch = await rowsById(out);
          } catch (err) {
            expect(String(err)).toMatch(/no event on or before/);
          }
          for (const id of ['a', 'b', 'c', 'd']) {
            const got = await visitor(app, id, day(asOf));
            const want = batch.get(id);
            if (!want) {
              expect(got.statusCode).toBe(404);
              continue;
            }
            const { customer_id: _id, ...features } = want;
            expect(got.json().features).toEqual(features);
          }
        } finally {
          await app.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it("on the demo's events: features as of the batch date, scores equal batch audience score to 1e-6, percentiles and buckets placed among that run's as it placed them, members and holdouts as it drew them", async () => {
    const features = await rowsById(fx.features);
    // Audiences with holdouts, an id list and an earlier audience to suppress: the batch run and the view get the same file.
    const listed = [...features.keys()].filter((_, i) => i % 3 === 0);
    fs.writeFileSync(path.join(fx.dir, 'suppress.csv'), `customer_id\n${listed.join('\n')}\n`);
    const audiences = {
      seed: 7,
      audiences: [
        { name: 'top_value', rule: 'value.bucket = "high"', holdout: 0.3 },
        { name: 'active', rule: 'events_365d >= 1', holdout: 0.2, suppress: { ids: path.join(fx.dir, 'suppress.csv'), audiences: ['top_value'] } },
      ],
    };
    fs.writeFileSync(path.join(fx.dir, 'demo-audiences.json'), JSON.stringify(audiences));
    const models = await Promise.all(fx.models.map((m) => loadScoringModel(fx.store, m)));
    await scoreDataset(await openDataset([fx.features]), models, { output: path.join(fx.dir, 'demo-scores'), audiences: loadAudiences(path.join(fx.dir, 'demo-audiences.json')) });
    for (const m of models) m.dispose();
    const view = { events: { id: 'customer_id', time: 'date', amount: 'amount', category: 'category' }, models: fx.models, reference: '../demo-scores' };
    const app = await onlineApp(view, audiences, { now: Date.parse(`${AS_OF}T12:00:00Z`) });
    try {
      for (let i = 0; i < fx.events.length; i += 1000) {
        const res = await post(app, fx.events.slice(i, i + 1000).map((e) => ({ customer_id: e.id, date: e.date, amount: e.amount, category: e.category })));
        expect(res.statusCode).toBe(200);
      }
      const scores = await rowsById(path.join(fx.dir, 'demo-scores', 'scores-00000.parquet'));
      const ids = [...features.keys()].slice(0, 150);
      let high = 0;
      const seen = { member: 0, holdout: 0 };
      for (const id of ids) {
        const got = (await visitor(app, id, AS_OF)).json();
        const { customer_id: _id, future_value: _v, future_orders: _o, converted: _c, ...want } = features.get(id)!;
        expect(got.features).toEqual(want);
        const batch = scores.get(id)!;
        expect(Object.keys(got.scores).sort()).toEqual(['behavior_distance', 'behavior_segment', 'purchase_bucket', 'purchase_percentile', 'purchase_probability', 'purchase_score', 'value_bucket', 'value_p_active', 'value_percentile', 'value_value']);
        for (const [k, v] of Object.entries(got.scores)) {
          if (typeof v === 'string') expect(v, `${id} ${k}`).toBe(batch[k]);
          else expect(Math.abs((v as number) - Number(batch[k])), `${id} ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(Number(batch[k]))));
        }
        const drawn = (status: string) => audiences.audiences.map((a) => a.name).filter((a) => batch[`aud_${a}`] === status);
        expect({ audiences: got.audiences, holdout: got.holdout }, id).toEqual({ audiences: drawn('member'), holdout: drawn('holdout') });
        seen.member += got.audiences.length;
        seen.holdout += got.holdout.length;
        if (batch.value_bucket === 'high') high++;
      }
      expect(high).toBeGreaterThan(5);
      expect(seen.member).toBeGreaterThan(20);
      expect(seen.holdout).toBeGreaterThan(5);
      expect(Object.keys((await visitor(app, ids[0], AS_OF)).json().reference)).toEqual(['value@1', 'purchase@1']);
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('category shares beyond the top ones', () => {
  it('are given to the models as the visitor\'s shares (0 for a category no event has), the features staying those of audience events', async () => {
    const app = await onlineApp({ events: { id: 'customer_id', time: 'date', amount: 'amount', category: 'category' }, models: ['purchase@1'] });
    try {
      await post(app, [
        { customer_id: 's1', date: '2024-06-01', amount: 10, category: 'shoes' },
        { customer_id: 's1', date: '2024-06-20', amount: 30, category: 'home' },
        { customer_id: 's2', date: '2024-06-21', amount: 5, category: 'shoes' },
      ]);
      const got = (await visitor(app, 's1', '2024-06-30')).json();
      expect(Object.keys(got.features).filter((k) => k.startsWith('category_share_'))).toEqual(['category_share_shoes', 'category_share_home']);
      const reads = fx.store.manifest('purchase@1').features.features.map((f) => f.name);
      expect(reads).toContain('category_share_toys');
      const row = Object.fromEntries(reads.map((r) => [r, got.features[r] ?? 0]));
      const direct = await app.inject({ method: 'POST', url: '/v1/score', payload: { models: ['purchase@1'], rows: [row] } });
      expect(got.scores).toEqual(direct.json().rows[0]);
    } finally {
      await app.close();
    }
  });
});

describe('audiences online', () => {
  const at = (d: string) => Date.parse(`${d}T12:00:00Z`);
  const audiences = {
    audiences: [
      { name: 'big_basket', rule: 'amount_mean >= 50' },
      { name: 'recent', rule: 'events_7d >= 1' },
      { name: 'likely', rule: 'purchase.probability >= 0', suppress: { rule: 'amount_total >= 1000' } },
    ],
  };
  const view = { events: { id: 'customer_id', time: 'date', amount: 'amount', category: 'category' }, models: ['purchase@1'], sweepSeconds: 3600 };
  const ev = (id: string, date: string, amount: number) => ({ customer_id: id, date, amount, category: 'shoes' });
  const changes = async (app: FastifyInstance, name: string, after = 0, wait = 0) => (await app.inject({ method: 'GET', url: `/v1/audiences/${name}/changes?after=${after}&wait=${wait}` })).json();
  const summary = (body: { changes: Array<{ id: string; change: string }> }) => body.changes.map((c) => `${c.change} ${c.id}`);

  it('enter and exit for thresholds crossed both ways, a suppression rule on a feature, and a 7-day window expiring at the sweep', async () => {
    const clock = { now: at('2024-06-30') };
    const app = await onlineApp(view, audiences, clock);
    try {
      await post(app, [ev('v1', '2024-06-30', 60)]);
      expect((await visitor(app, 'v1')).json().audiences).toEqual(['big_basket', 'recent', 'likely']);
      await post(app, [ev('v1', '2024-06-29', 1), ev('v1', '2024-06-29', 1), ev('v1', '2024-06-28', 1)]); // mean 63/4
      expect((await visitor(app, 'v1')).json().audiences).toEqual(['recent', 'likely']);
      await post(app, [ev('v1', '2024-06-30', 2000)]); // mean 2063/5, total over 1000: suppressed from likely
      const now = (await visitor(app, 'v1')).json();
      expect(now.audiences).toEqual(['big_basket', 'recent']);
      expect(now.scores.purchase_probability).toBeGreaterThanOrEqual(0); // the rule holds: only the suppression keeps v1 out
      expect(summary(await changes(app, 'big_basket'))).toEqual(['enter v1', 'exit v1', 'enter v1']);
      expect(summary(await changes(app, 'likely'))).toEqual(['enter v1', 'exit v1']);
      const recent = await changes(app, 'recent');
      expect(summary(recent)).toEqual(['enter v1']);
      // Eight days on: the last event leaves the 7-day window; the sweep logs the exit.
      clock.now = at('2024-07-08');
      expect((await visitor(app, 'v1')).json().audiences).toEqual(['big_basket']);
      expect(summary(await changes(app, 'recent', recent.cursor))).toEqual([]);
      const swept = await app.services.online!.sweep();
      expect(swept.map((c) => `${c.audience} ${c.change}`)).toEqual(['recent exit']);
      const after = await changes(app, 'recent', recent.cursor);
      expect(summary(after)).toEqual(['exit v1']);
      expect(after.changes[0].at).toBe('2024-07-08T12:00:00.000Z');
      expect(await app.services.online!.sweep()).toEqual([]); // once per day
      // As of an earlier day, the view is as it was then.
      expect((await visitor(app, 'v1', '2024-06-29')).json().features.events).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('the sweep runs every sweepSeconds by itself: a window expiring is logged within the period', async () => {
    const clock = { now: at('2024-06-30') };
    const app = await onlineApp({ ...view, sweepSeconds: 1 }, audiences, clock);
    try {
      await post(app, [ev('w1', '2024-06-30', 5)]);
      const entered = await changes(app, 'recent');
      expect(summary(entered)).toEqual(['enter w1']);
      clock.now = at('2024-07-08');
      const started = Date.now();
      expect(summary(await changes(app, 'recent', entered.cursor, 5))).toEqual(['exit w1']);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await app.close();
    }
  });

  it('the long poll answers as soon as a change is logged; unknown audiences are 404', async () => {
    const app = await onlineApp(view, audiences, { now: at('2024-06-30') });
    try {
      const started = Date.now();
      const waiting = changes(app, 'recent', 0, 20);
      await new Promise((r) => setTimeout(r, 300));
      await post(app, [ev('v2', '2024-06-30', 5)]);
      expect(summary(await waiting)).toEqual(['enter v2']);
      expect(Date.now() - started).toBeLessThan(10_000);
      const missing = await app.inject({ method: 'GET', url: '/v1/audiences/nope/changes' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().message).toBe('the online view keeps no audience "nope" (audiences: big_basket, recent, likely)');
    } finally {
      await app.close();
    }
  });

  it('refuses bad events one by one with the reason and keeps the good ones; all bad is a 400', async () => {
    const app = await onlineApp(view, undefined, { now: at('2024-06-30') });
    try {
      const payload = `{"events": [
        {"customer_id": "g1", "date": "2024-06-30T10:00:00Z", "amount": 12.5, "category": "shoes"},
        {"customer_id": "g2", "date": "2024-06-30", "amount": 1, "colour": "red"},
        {"customer_id": "g3", "date": "2024-13-01", "amount": 1},
        {"customer_id": "g4", "date": "2024-06-30", "amount": 1e400},
        {"customer_id": "g5", "date": "2024-06-30T10:00:00+02:00"},
        {"date": "2024-06-30"},
        {"customer_id": "g7", "date": 1719741600, "amount": null, "category": null}]}`;
      const res = await app.inject({ method: 'POST', url: '/v1/events', payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        accepted: 2,
        refused: [
          { index: 1, reason: 'unknown field "colour" (fields: customer_id, date, amount, category)' },
          { index: 2, reason: '"date": "2024-13-01" is not a valid date and time' },
          { index: 3, reason: '"amount" must be a finite number or null, got Infinity' },
          { index: 4, reason: '"date": "2024-06-30T10:00:00+02:00" has the offset +02:00: give times in UTC (Z)' },
          { index: 5, reason: '"customer_id" must be a non-empty string (at most 256 characters) or a number (the visitor\'s id)' },
        ],
      });
      expect((await visitor(app, 'g1')).json().features.amount_total).toBe(12.5);
      expect((await visitor(app, 'g7')).json().features.events).toBe(1); // epoch seconds: 2024-06-30T10:00:00Z
      expect((await visitor(app, 'g2')).statusCode).toBe(404);
      const none = await post(app, [{ customer_id: 'x', date: 'yesterday' }]);
      expect(none.statusCode).toBe(400);
      expect(none.json().message).toBe('no event accepted: events[0]: "date": "yesterday" is not an ISO 8601 date or time (e.g. "2024-06-30" or "2024-06-30T10:00:00Z")');
    } finally {
      await app.close();
    }
  });

  it('needs the API key on every online route when one is set; without --online the routes say how to start one', async () => {
    const app = await onlineApp(view, audiences, { now: at('2024-06-30') }, { apiKey: 'k' });
    try {
      expect((await post(app, [ev('v', '2024-06-30', 1)])).statusCode).toBe(401);
      expect((await visitor(app, 'v')).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v1/audiences/recent/changes' })).statusCode).toBe(401);
      const ok = await app.inject({ method: 'POST', url: '/v1/events', payload: { events: [ev('v', '2024-06-30', 1)] }, headers: { authorization: 'Bearer k' } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
    const plain = await inProcessApp(fx);
    try {
      const res = await visitor(plain, 'v');
      expect(res.statusCode).toBe(404);
      expect(res.json().message).toMatch(/start it with audience serve --online view.json/);
    } finally {
      await plain.close();
    }
  });
});

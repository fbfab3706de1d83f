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
import { scoreDataset } from '../src/jobs/score-dataset.js';
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

  it("on the demo's events: features as of the batch date, and scores equal batch audience score to 1e-6", async () => {
    const app = await onlineApp({ events: { id: 'customer_id', time: 'date', amount: 'amount', category: 'category' }, models: fx.models });
    try {
      for (let i = 0; i < fx.events.length; i += 1000) {
        const res = await post(app, fx.events.slice(i, i + 1000).map((e) => ({ customer_id: e.id, date: e.date, amount: e.amount, category: e.category })));
        expect(res.statusCode).toBe(200);
      }
      const models = await Promise.all(fx.models.map((m) => loadScoringModel(fx.store, m)));
      await scoreDataset(await openDataset([fx.features]), models, { output: path.join(fx.dir, 'demo-scores') });
      for (const m of models) m.dispose();
      const features = await rowsById(fx.features);
      const scores = await rowsById(path.join(fx.dir, 'demo-scores', 'scores-00000.parquet'));
      const ids = [...features.keys()].slice(0, 150);
      for (const id of ids) {
        const got = (await visitor(app, id, AS_OF)).json();
        const { customer_id: _id, future_value: _v, future_orders: _o, converted: _c, ...want } = features.get(id)!;
        expect(got.features).toEqual(want);
        expect(Object.keys(got.scores).length).toBe(6);
        for (const [k, v] of Object.entries(got.scores)) {
          const w = Number(scores.get(id)![k]);
          expect(Math.abs((v as number) - w), `${id} ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w)));
        }
      }
    } finally {
      await app.close();
    }
  }, 120_000);
});

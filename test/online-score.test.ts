/**
 * POST /v1/score against batch `audience score` on the same rows (every output to 1e-6
 * relative, the segment exactly), for three models trained on `audience events` features;
 * refusals name the row and field (unknown, missing, wrong type), the limits hold, and the key
 * is required when one is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import { connect } from '../src/io/duckdb.js';
import { openDataset } from '../src/io/dataset.js';
import { loadScoringModel } from '../src/models/load.js';
import { scoreDataset } from '../src/execution/score-dataset.js';
import { MAX_SCORE_ROWS } from '../src/server/limits.js';
import { ModelCache } from '../src/server/model-cache.js';
import type { ScoringModel } from '../src/models/model.js';
import { inProcessApp, onlineFixture, type OnlineFixture } from './online-fixture.js';

let fx: OnlineFixture;
let app: FastifyInstance;
/** The batch scores by customer_id, and the feature rows the models read. */
let batch: Map<string, Record<string, unknown>>;
let rows: Array<Record<string, number | string | null>>;

beforeAll(async () => {
  fx = await onlineFixture(600);
  const models = await Promise.all(fx.models.map((m) => loadScoringModel(fx.store, m)));
  await scoreDataset(await openDataset([fx.features]), models, { output: path.join(fx.dir, 'scores') });
  const reads = [...new Set(models.flatMap((m) => m.transform.features.map((f) => f.name)))];
  for (const m of models) m.dispose();
  const con = await connect();
  try {
    const scored = (await con.runAndReadAll(`SELECT * FROM read_parquet($1)`, [path.join(fx.dir, 'scores', '*.parquet')])).getRowObjectsJS();
    batch = new Map(scored.map((r) => [String(r.customer_id), r]));
    const feats = (await con.runAndReadAll(`SELECT customer_id, ${reads.map((r) => `"${r}"`).join(', ')} FROM read_parquet($1) ORDER BY customer_id LIMIT 200`, [fx.features])).getRowObjectsJS();
    rows = feats.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : (v as number | string | null)])));
  } finally {
    con.closeSync();
  }
  app = await inProcessApp(fx);
}, 240_000);

afterAll(async () => {
  await app?.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/score', payload: body as object, headers });

describe('POST /v1/score', () => {
  it('equals batch audience score on the same rows, every output of every pinned model', async () => {
    const res = await post({ models: ['value', 'purchase@1', 'behavior@latest'], rows });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.models.map((m: { ref: string }) => m.ref)).toEqual(fx.models);
    expect(body.models.every((m: { engine: string }) => m.engine === 'onnx')).toBe(true);
    expect(body.rows).toHaveLength(rows.length);
    let compared = 0;
    for (const [i, row] of rows.entries()) {
      const expected = batch.get(String(row.customer_id))!;
      const got = body.rows[i];
      expect(Object.keys(got).sort()).toEqual(['behavior_distance', 'behavior_segment', 'purchase_probability', 'purchase_score', 'value_p_active', 'value_value']);
      for (const [k, v] of Object.entries(got)) {
        const want = Number(expected[k]);
        expect(Math.abs((v as number) - want), `${row.customer_id} ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        compared++;
      }
    }
    expect(compared).toBe(rows.length * 6);
  });

  it('one row at a time (the three graphs joined in one session) equals the batch too, in the models\' column order', async () => {
    for (const row of rows.slice(0, 40)) {
      const res = await post({ models: fx.models, rows: [row] });
      expect(res.statusCode, res.body).toBe(200);
      const got = res.json().rows[0];
      expect(Object.keys(got)).toEqual(['value_value', 'value_p_active', 'purchase_probability', 'purchase_score', 'behavior_segment', 'behavior_distance']);
      const expected = batch.get(String(row.customer_id))!;
      for (const [k, v] of Object.entries(got)) expect(Math.abs((v as number) - Number(expected[k])), `${row.customer_id} ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(Number(expected[k]))));
    }
  });

  it('refuses one model named twice, naming it', async () => {
    const res = await post({ models: ['purchase@1', 'purchase'], rows: [rows[0]] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('models name purchase@1 twice (as a version and as the name that means it, or twice alike); name each model once');
  });

  it('scores one row again from the cache, and a model alone', async () => {
    const whole = await post({ models: ['purchase'], rows: [rows[0]] });
    const res = await post({ models: ['purchase'], rows: [{ ...rows[0], recency_days: null }] });
    expect(res.statusCode).toBe(200);
    expect(res.json().imputed).toBe(whole.json().imputed + 1);
    expect(Object.keys(res.json().rows[0])).toEqual(['purchase_probability', 'purchase_score']);
  });

  it('refuses rows naming the row and field: unknown, missing, wrong type; and bodies past the limits', async () => {
    const unknown = await post({ models: ['purchase'], rows: [rows[0], { ...rows[1], future_value: 3 }] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(/^rows\[1\] has the field "future_value", which no model reads/);
    const { recency_days: _dropped, ...partial } = rows[0];
    const missing = await post({ models: ['purchase'], rows: [partial] });
    expect(missing.json().message).toBe('rows[0] has no "recency_days"; give null for a missing value');
    const typed = await post({ models: ['purchase'], rows: [{ ...rows[0], events: 'many' }] });
    expect(typed.json().message).toBe('rows[0].events is "many"; expected a number or null');
    const many = await post({ models: ['purchase'], rows: Array.from({ length: MAX_SCORE_ROWS + 1 }, () => rows[0]) });
    expect(many.statusCode).toBe(400);
    expect(many.json().message).toMatch(/body\.rows must NOT have more than 1000 items/);
    const model = await post({ models: ['nope'], rows: [rows[0]] });
    expect(model.statusCode).toBe(400);
    expect(model.json().message).toMatch(/no model named "nope"/);
    const extra = await post({ models: ['purchase'], rows: [rows[0]], explain: true });
    expect(extra.json().message).toBe('body has an unknown field "explain"');
  });

  it('needs the API key when one is set', async () => {
    const keyed = await inProcessApp(fx, { apiKey: 'sekret' });
    try {
      const res = await keyed.inject({ method: 'POST', url: '/v1/score', payload: { models: ['purchase'], rows: [rows[0]] } });
      expect(res.statusCode).toBe(401);
      const ok = await keyed.inject({ method: 'POST', url: '/v1/score', payload: { models: ['purchase'], rows: [rows[0]] }, headers: { authorization: 'Bearer sekret' } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await keyed.close();
    }
  });
});

describe('the model cache under requests', () => {
  it('a model let go while a request still scores with it is released after that request, not under it', async () => {
    const reference = new ModelCache(fx.store);
    const tight = new ModelCache(fx.store, 1); // holds one model: every other model asked for lets one go
    const sample = rows.slice(0, 3);
    const reversed = [...fx.models].reverse();
    try {
      const want = await reference.withScorer(fx.models, (s) => s.score(sample, 'rows'));
      const wantReversed = await reference.withScorer(reversed, (s) => s.score(sample, 'rows'));
      const got = await tight.withScorer(fx.models, async (s) => {
        // Another request meanwhile: its models push this one's out of the cache (and back in, anew).
        expect(await tight.withScorer(reversed, (t) => t.score(sample, 'rows'))).toEqual(wantReversed);
        return s.score(sample, 'rows');
      });
      expect(got).toEqual(want);
      // Later requests load what was let go again.
      expect(await tight.withScorer(fx.models, (s) => s.score(sample, 'rows'))).toEqual(want);
    } finally {
      await reference.close();
      await tight.close();
    }
  });
});

describe('RowScorer.create', () => {
  it('refuses two versions of one model (same columns), naming both and the column', async () => {
    const { RowScorer } = await import('../src/server/row-scorer.js');
    const version = (v: number) => ({ manifest: { name: 'purchase', version: v }, outputs: [{ name: 'purchase_probability' }] }) as unknown as ScoringModel;
    await expect(RowScorer.create([version(1), version(2)])).rejects.toThrow('purchase@1 and purchase@2 both write the column purchase_probability; score them in separate requests');
    await expect(RowScorer.create([version(2), version(2)])).rejects.toThrow('models name purchase@2 twice');
  });
});

/** Uplift: Qini, AUUC and uplift at k% by hand; the meta-learners on a campaign with a known effect; scoring and refusals. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainFromParams } from '../src/training/train.js';
import { checkTrainParams } from '../src/models/params.js';
import { UPLIFT_KIND } from '../src/models/uplift/kind.js';
import { API_NAMES } from '../src/server/param-names.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { transformedBatches } from '../src/features/blocks.js';
import { spearman } from '../src/metrics/regression.js';
import { upliftEvaluation } from '../src/metrics/uplift.js';
import { loadScoringModel, outlineModel } from '../src/models/load.js';
import { renderReport } from '../src/report/report.js';
import { ModelStore } from '../src/models/registry.js';
import type { UpliftReport } from '../src/models/uplift/evaluate.js';
import type { UpliftModel } from '../src/models/uplift/model.js';
import { CAMPAIGN_COLUMNS, campaignColumns, generateCampaign } from '../src/synthetic/campaign.js';

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-uplift-'));
  await writeFile(path.join(dir, 'campaign.parquet'), CAMPAIGN_COLUMNS, generateCampaign({ visitors: 16_000, seed: 2 }));
});

describe('uplift metrics', () => {
  it('Qini, its normalization, AUUC and uplift at k% of four rows, by hand', () => {
    // Ranked: treated converter, control non-converter, treated non-converter, control converter.
    // Q(k) = 1, 1, 1, 0 (the last: 1 - 1 x 2/2); y = Q/4; trapezoids: 0.03125 + 0.0625 + 0.0625 + 0.03125.
    const e = upliftEvaluation([3, 2, 1, 0], [1, 0, 1, 0], [1, 0, 0, 1]);
    expect(e.qini).toBeCloseTo(0.1875, 12);
    // This order is the best there is for these outcomes.
    expect(e.qiniNormalized).toBeCloseTo(1, 12);
    // Uplift curve (rate_t - rate_c) k: 0 (no control yet), 2, 1.5, 0; area 0.0625 + 0.109375 + 0.046875.
    expect(e.auuc).toBeCloseTo(0.21875, 12);
    // Top 30% of 4 rows reaches 2 rows: 1/1 - 0/1; the top 10 and 20% hold no control row.
    expect(e.upliftAt[30]).toBeCloseTo(1, 12);
    expect(e.upliftAt[10]).toBeNaN();
    expect(e.overall).toBeCloseTo(0, 12);
    // The reverse order is below the random line.
    expect(upliftEvaluation([0, 1, 2, 3], [1, 0, 1, 0], [1, 0, 0, 1]).qini).toBeLessThan(0);
  });

  it('depends on the order of the scores only, not on the order of the rows or of tied scores', () => {
    const row = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.boolean());
    fc.assert(
      fc.property(fc.array(row, { minLength: 4, maxLength: 60 }), fc.integer(), (rows, seed) => {
        const t = rows.map((r) => Number(r[1]));
        if (!t.includes(1) || !t.includes(0)) return;
        const s = rows.map((r) => r[0]);
        const y = rows.map((r) => Number(r[2]));
        const a = upliftEvaluation(s, t, y);
        const perm = rows.map((_, i) => i).sort((i, j) => ((i * 7919 + seed) % 101) - ((j * 7919 + seed) % 101));
        const b = upliftEvaluation(perm.map((i) => Math.exp(s[i])), perm.map((i) => t[i]), perm.map((i) => y[i]));
        expect(b.qini).toBeCloseTo(a.qini, 12);
        expect(b.auuc).toBeCloseTo(a.auuc, 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('audience train uplift', () => {
  it('learns the planted effect: every learner and baseline reported, the saved model ranks by the true uplift', async () => {
    const store = new ModelStore(path.join(dir, 'models'));
    const out = await trainFromParams({
      kind: 'uplift',
      name: 'u',
      input: [path.join(dir, 'campaign.parquet')],
      params: { label: 'converted', treatment: 'treatment', exclude: ['true_segment', 'email', 'past_orders'], 'max-epochs': 40, seed: 3 },
      store,
    });
    expect(out.report).toMatch(/t-learner mlp/);
    const report = store.manifest('u').metrics as unknown as UpliftReport;
    expect(Object.keys(report.test).sort()).toEqual(['dr-learner mlp', 's-learner logistic', 't-learner logistic', 't-learner mlp', 'x-learner mlp']);
    expect(Object.keys(report.learner.validQini).sort()).toEqual(['dr-learner mlp', 't-learner logistic', 't-learner mlp', 'x-learner mlp']);
    // The chosen candidate is the best on validation.
    expect(Math.max(...Object.values(report.learner.validQini))).toBe(report.learner.validQini[report.learner.chosen]);
    expect(report.test[report.learner.chosen].qini).toBeGreaterThan(0);
    // The model report page: the Qini curves and the table, the kept candidate marked.
    const page = await renderReport(store.manifest('u'));
    expect(page).toMatch(/<h2>Uplift on the test rows<\/h2>/);
    expect(page).toContain(`${report.learner.chosen} (saved)`);
    expect(page).toMatch(/<svg/);
    // Scored through the loader (tfjs: no ONNX graph for this kind), the uplift follows the planted one.
    const loaded = await loadScoringModel(store, 'u');
    expect(loaded.engine).toBe('tfjs');
    const model = loaded as unknown as UpliftModel;
    expect(model.outputs.map((o) => o.name)).toEqual(['u_uplift']);
    expect(model.ranked).toEqual([{ source: 'u_uplift', percentile: 'u_percentile', rank: 'u_rank' }]);
    const data = await openDataset([path.join(dir, 'campaign.parquet')]);
    const truth: number[] = [];
    const pred: number[] = [];
    for await (const { batch, block } of transformedBatches(data, model.transform, [{ name: 'true_uplift', as: 'number' }])) {
      pred.push(...(await model.predict(block)));
      truth.push(...(batch.columns.get('true_uplift') as Float64Array));
    }
    model.dispose();
    expect(spearman(pred, truth)).toBeGreaterThan(0.6);
  });

  it('refuses a missing treatment column, and an arm too small, naming them', async () => {
    const base = { kind: 'uplift', name: 'v', input: [path.join(dir, 'campaign.parquet')], store: new ModelStore(path.join(dir, 'm2')) };
    await expect(trainFromParams({ ...base, params: { label: 'converted', treatment: 'arm' } })).rejects.toThrow(/campaign.parquet: no treatment column "arm" \(columns: visitor_id/);
    await expect(trainFromParams({ ...base, params: { label: 'converted', treatment: 'treatment', 'min-arm': 9000 } })).rejects.toThrow(/the treated arm has \d+ rows with an outcome and \d+ conversions; uplift needs at least 9000 rows/);
    await expect(trainFromParams({ ...base, params: { label: 'converted' } })).rejects.toThrow(/--treatment is required/);
  });
});

describe('audience train uplift with several treatment arms (--control)', () => {
  it("fits a T-learner per arm against the control: each arm's Qini on its rows, over 0.7x the oracle's; the best arm per visitor", async () => {
    const file = path.join(dir, 'arms.parquet');
    await writeFile(file, campaignColumns(2), generateCampaign({ visitors: 18_000, seed: 4, treatedShare: 2 / 3, arms: 2 }));
    const data = await openDataset([file]);
    // The generator: each arm's observed lift over the control is its mean true effect (within 3 standard errors).
    const rows: Array<{ t: number; y: number; u: number[] }> = [];
    for await (const b of data.tables[0].read([{ name: 'treatment', as: 'number' }, { name: 'converted', as: 'number' }, { name: 'true_uplift_1', as: 'number' }, { name: 'true_uplift_2', as: 'number' }])) {
      const [t, y, u1, u2] = ['treatment', 'converted', 'true_uplift_1', 'true_uplift_2'].map((c) => b.columns.get(c) as Float64Array);
      for (let i = 0; i < t.length; i++) rows.push({ t: t[i], y: y[i], u: [u1[i], u2[i]] });
    }
    const rate = (k: number) => rows.filter((r) => r.t === k).reduce((s, r) => s + r.y, 0) / rows.filter((r) => r.t === k).length;
    for (const k of [1, 2]) {
      const arm = rows.filter((r) => r.t === k);
      const se = Math.sqrt((rate(k) * (1 - rate(k))) / arm.length + (rate(0) * (1 - rate(0))) / rows.filter((r) => r.t === 0).length);
      expect(Math.abs(rate(k) - rate(0) - arm.reduce((s, r) => s + r.u[k - 1], 0) / arm.length)).toBeLessThan(3 * se);
    }

    const store = new ModelStore(path.join(dir, 'arms-models'));
    const params = { label: 'converted', treatment: 'treatment', control: '0', exclude: ['true_segment', 'email', 'past_orders'], 'max-epochs': 30, seed: 3 };
    const out = await trainFromParams({ kind: 'uplift', name: 'm', input: [file], params, store });
    expect(out.report).toMatch(/t-learner (mlp|logistic), arm 2 \(saved\)/);
    const report = store.manifest('m').metrics as unknown as UpliftReport;
    expect(report.arms).toEqual(['1', '2']);
    const names = ['t-learner mlp', 't-learner logistic', 's-learner logistic'];
    expect(Object.keys(report.test).sort()).toEqual(names.flatMap((n) => [`${n}, arm 1`, `${n}, arm 2`]).sort());
    expect(Object.keys(report.learner.validQini).sort()).toEqual(['t-learner logistic', 't-learner mlp']);
    expect(Math.max(...Object.values(report.learner.validQini))).toBe(report.learner.validQini[report.learner.chosen]);

    // Scored: each arm's uplift and the best arm; on every row, each arm's Qini against the oracle's (rows ranked by that arm's true effect).
    const model = (await loadScoringModel(store, 'm')) as unknown as UpliftModel;
    expect(model.outputs.map((o) => o.name)).toEqual(['m_uplift', 'm_arm', 'm_uplift_1', 'm_uplift_2']);
    // A service job plans its columns from the manifest alone: the same columns (it once named only m_uplift, and the job's files lacked the arms).
    expect(outlineModel(store, 'm').outputs).toEqual(model.outputs);
    const perArm: number[][] = [[], []];
    const best: number[] = [];
    for await (const { block } of transformedBatches(data, model.transform, [])) {
      const r = await model.predictArms(block);
      r.perArm.forEach((u, k) => perArm[k].push(...u));
      best.push(...r.arm);
      const scored = await model.score(block);
      expect(scored.m_arm).toEqual(Array.from(r.arm, String));
      expect(scored.m_uplift).toEqual(r.best);
    }
    model.dispose();
    for (const k of [1, 2]) {
      const at = rows.flatMap((r, i) => (r.t === 0 || r.t === k ? [i] : []));
      const q = (score: number[]) => upliftEvaluation(at.map((i) => score[i]), at.map((i) => Number(rows[i].t === k)), at.map((i) => rows[i].y)).qini;
      const oracle = q(rows.map((r) => r.u[k - 1]));
      expect(oracle).toBeGreaterThan(0);
      expect(q(perArm[k - 1])).toBeGreaterThan(0.7 * oracle);
    }
    // Where the arms' true effects differ by over 0.05, the predicted best arm is the true one for most visitors.
    const clear = rows.flatMap((r, i) => (Math.abs(r.u[0] - r.u[1]) > 0.05 ? [i] : []));
    const right = clear.filter((i) => best[i] === (rows[i].u[0] > rows[i].u[1] ? 1 : 2)).length;
    expect(right / clear.length).toBeGreaterThan(0.7);
  });

  it('refuses --treated with --control, a learner of one treated arm, and a control value the column does not hold', async () => {
    const base = { kind: 'uplift', name: 'w', input: [path.join(dir, 'arms.parquet')], store: new ModelStore(path.join(dir, 'm3')) };
    const p = { label: 'converted', treatment: 'treatment', 'max-epochs': 1 };
    await expect(trainFromParams({ ...base, params: { ...p, control: '0', treated: '1' } })).rejects.toThrow(/--treated and --control: give one/);
    // Refused before any data is read: an input that does not exist is never opened, and the service's submission check names params.x.
    await expect(trainFromParams({ ...base, input: [path.join(dir, 'missing.parquet')], params: { ...p, control: '0', treated: '1' } })).rejects.toThrow(/^--treated and --control: give one \(--treated VALUE/);
    expect(() => checkTrainParams(UPLIFT_KIND, 'w', { ...p, control: '0', treated: '1' }, API_NAMES)).toThrow(/^params\.treated and params\.control: give one/);
    await expect(trainFromParams({ ...base, params: { ...p, control: '0', learner: 'x' } })).rejects.toThrow(/--learner x: with several treatment arms \(--control\) the learner is a T-learner per arm/);
    await expect(trainFromParams({ ...base, input: [path.join(dir, 'campaign.parquet')], params: { ...p, control: '7' } })).rejects.toThrow(/the arm "1" has|the control \("7"\) arm has 0 rows/);
  });
});

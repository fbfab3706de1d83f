/** Uplift: Qini, AUUC and uplift at k% by hand; the meta-learners on a campaign with a known effect; scoring and refusals. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainFromParams } from '../src/training/train.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { transformedBatches } from '../src/features/blocks.js';
import { spearman } from '../src/metrics/regression.js';
import { upliftEvaluation } from '../src/metrics/uplift.js';
import { loadScoringModel } from '../src/models/load.js';
import { renderReport } from '../src/report/report.js';
import { ModelStore } from '../src/models/registry.js';
import type { UpliftReport } from '../src/models/uplift/train.js';
import type { UpliftModel } from '../src/models/uplift/model.js';
import { CAMPAIGN_COLUMNS, generateCampaign } from '../src/synthetic/campaign.js';

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

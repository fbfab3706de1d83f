import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { elementBudget } from '../src/compute/memory.js';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import { numberColumn } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { scoreDataset } from '../src/execution/score-dataset.js';
import { loadScoringModel } from '../src/models/load.js';
import { readSeedIds } from '../src/models/lookalike/seeds.js';
import { parseSeedFilter } from '../src/models/lookalike/params.js';
import { normalizeRows, SeedIndex } from '../src/models/lookalike/similarity.js';
import { trainLookalike } from '../src/models/lookalike/train.js';
import { ModelStore } from '../src/models/registry.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { Rng } from '../src/util/rng.js';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-look-'));
});

describe('seed similarity kernels', () => {
  /** Checks `index` against cosines computed here, on every `every`-th row of x (rows x d). */
  async function expectBruteForce(index: SeedIndex, seeds: Float32Array, x: Float32Array, d: number, k: number, every = 1) {
    const knn = await index.similarity(x, 'knn');
    const cen = await index.similarity(x, 'centroid');
    const s = seeds.length / d;
    const ns = normalizeRows(seeds, d);
    const nx = normalizeRows(x, d);
    const c = new Float32Array(d);
    for (let i = 0; i < s; i++) for (let j = 0; j < d; j++) c[j] += ns[i * d + j] / s;
    const nc = normalizeRows(c, d);
    const sims = new Float32Array(s);
    for (let i = 0; i < x.length / d; i += every) {
      for (let t = 0; t < s; t++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += nx[i * d + j] * ns[t * d + j];
        sims[t] = dot;
      }
      sims.sort();
      expect(knn[i]).toBeCloseTo(sims.subarray(s - k).reduce((a, b) => a + b, 0) / k, 4);
      let dot = 0;
      for (let j = 0; j < d; j++) dot += nx[i * d + j] * nc[j];
      expect(cen[i]).toBeCloseTo(dot, 4);
    }
  }

  it('k-nearest and centroid similarity equal a brute-force computation', async () => {
    const rng = new Rng(4);
    const d = 5;
    const seeds = Float32Array.from({ length: 40 * d }, () => rng.normal());
    const index = new SeedIndex(seeds, d, 3);
    await expectBruteForce(index, seeds, Float32Array.from({ length: 300 * d }, () => rng.normal()), d, 3);
    index.dispose();
  });

  it('stays right over a full batch and a partial one, of a seed count that is not a power of two', async () => {
    // 1,925 seeds: webgpu's topk pads rows to 2,048, which once took a batch past lavapipe's
    // 128 MiB binding limit, and the similarities read back as zeros.
    const rng = new Rng(5);
    const d = 4;
    const seeds = Float32Array.from({ length: 1925 * d }, () => rng.normal());
    const index = new SeedIndex(seeds, d, 50);
    const rows = index.batchRows() + 100;
    await expectBruteForce(index, seeds, Float32Array.from({ length: rows * d }, () => rng.normal()), d, 50, 17);
    index.dispose();
  });

  it('bounds the rows x seeds matrix per batch (never N x S at once; on webgpu, the width topk pads to)', () => {
    const index = new SeedIndex(new Float32Array(10_000 * 4), 4, 10);
    const width = tf.getBackend() === 'webgpu' ? 16_384 : 10_000;
    expect(index.batchRows() * width).toBeLessThanOrEqual(elementBudget());
    index.dispose();
  });

  it('parses seed filters', () => {
    expect(parseSeedFilter('converted = 1')).toEqual({ column: 'converted', value: '1' });
    expect(parseSeedFilter(' tier = "gold plus" ')).toEqual({ column: 'tier', value: 'gold plus' });
    expect(() => parseSeedFilter('converted > 1')).toThrow(/expected column = value/);
  });
});

describe('lookalike training and scoring', () => {
  it('recovers held-out seeds of a planted group, and ranks exactly the non-seeds', async () => {
    const file = path.join(dir, 'v.parquet');
    // On webgpu (lavapipe in CI, 5-8x slower than wasm here) half the visitors: the same planted group, 400 seeds.
    const visitors = process.env.AUDIENCE_BACKEND === 'webgpu' ? 10_000 : 20_000;
    await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors, seed: 8 }));
    const data = await openDataset([file]);
    // Seeds: 400 of the planted "researchers" (segment 4, 12% of visitors).
    const researchers: string[] = [];
    for await (const b of data.read([{ name: 'visitor_id', as: 'number' }, { name: 'true_segment', as: 'number' }])) {
      const ids = numberColumn(b, 'visitor_id');
      numberColumn(b, 'true_segment').forEach((s, i) => s === 4 && researchers.push(String(ids[i])));
    }
    const seedFile = path.join(dir, 'seeds.csv');
    fs.writeFileSync(seedFile, `visitor_id\n${researchers.slice(0, 400).join('\n')}\n999999999\n888888888\n`);
    const { spec } = await inferSpec(data, { exclude: ['converted', 'true_segment'] });
    const transform = await fitTransform(data, spec);
    const store = new ModelStore(path.join(dir, 'models'));
    const seeds = await readSeedIds(seedFile, 'visitor_id');
    const before = tf.memory().numTensors;
    const { model, report } = await trainLookalike(data, transform, store, { name: 'look', seeds, seed: 1 });
    expect(report.seeds).toMatchObject({ given: 402, found: 400, missing: 2 });
    expect(report.seeds.missingExamples.sort()).toEqual(['888888888', '999999999']);
    const [ours] = report.evaluation;
    // The saved model scores with the own method (embedding, classifier, blend) that found the most held-out seeds at 10%.
    const own = report.evaluation.filter((e) => e.own);
    expect(own.map((e) => e.own)).toEqual(['embedding', 'classifier', 'blend']);
    const chosen = report.evaluation.filter((e) => e.chosen);
    expect(chosen).toHaveLength(1);
    expect(chosen[0].own).toBe(report.method);
    for (const e of own) expect(chosen[0].recall[2]).toBeGreaterThanOrEqual(e.recall[2]);
    expect(model.state.method).toBe(report.method);
    // The rest of the group is 12% of visitors: recall@10% well above 10% means it found them.
    expect(ours.recall[2]).toBeGreaterThan(0.6);
    expect(ours.auc).toBeGreaterThan(0.9);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const scorer = await loadScoringModel(store, 'look');
    const out = path.join(dir, 'scores');
    await scoreDataset(data, [scorer], { output: out });
    scorer.dispose();
    const scores = await openDataset([path.join(out, 'scores-*.parquet')]);
    let seedsSeen = 0;
    const ranks: number[] = [];
    for await (const b of scores.read([{ name: 'look_is_seed', as: 'number' }, { name: 'look_rank', as: 'number' }])) {
      const isSeed = numberColumn(b, 'look_is_seed');
      const rank = numberColumn(b, 'look_rank');
      for (let i = 0; i < b.rows; i++) {
        if (isSeed[i]) {
          seedsSeen++;
          expect(rank[i]).toBeNaN(); // seeds are not part of the expansion
        } else ranks.push(rank[i]);
      }
    }
    expect(seedsSeen).toBe(400);
    // Ranks are 1..n over the non-seeds, each once: a top-5% cut is exactly 5% of them.
    expect(ranks.sort((a, b) => a - b)).toEqual(Array.from({ length: visitors - 400 }, (_, i) => i + 1));
  });

  it('refuses too few seeds, saying how many were found', async () => {
    const file = path.join(dir, 'small.parquet');
    await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors: 3000, seed: 2 }));
    const data = await openDataset([file]);
    const { spec } = await inferSpec(data, { exclude: ['converted', 'true_segment'] });
    const transform = await fitTransform(data, spec);
    await expect(
      trainLookalike(data, transform, new ModelStore(path.join(dir, 'm2')), { name: 'x', seeds: { ids: ['1', '2', '3', 'nope'], file: 'ids.csv' } }),
    ).rejects.toThrow(/3 of 4 seeds are in the population; at least 100 are needed.*1 ids not found, e\.g\. nope/);
  });
});

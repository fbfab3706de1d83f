import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { transformedBatches } from '../src/features/blocks.js';
import { fitTransform } from '../src/features/fit.js';
import { parseSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile, type OutputColumn, type OutputData } from '../src/io/writer.js';
import type { AnomalyModel } from '../src/models/anomaly/model.js';
import { trainAnomaly } from '../src/models/anomaly/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore } from '../src/models/registry.js';
import { Rng } from '../src/util/rng.js';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-anom-'));
});

describe('anomaly scores and niche segments', () => {
  it('finds a planted small dense group far from the main segments, and labels its members', async () => {
    // 20,000 visitors in 4 broad blobs, a 300-visitor tight group far away (the niche; its
    // rows come first), and scattered points.
    const rng = new Rng(3);
    const n = 20_600;
    const cols = { x: new Float64Array(n), y: new Float64Array(n), z: new Float64Array(n), planted: new Int32Array(n) };
    const centers = [[0, 0, 0], [6, 0, 0], [0, 6, 0], [0, 0, 6]];
    for (let i = 0; i < n; i++) {
      let c: number[];
      let s: number;
      if (i < 300) [c, s, cols.planted[i]] = [[20, 20, 20], 0.3, 1];
      else if (i < 600) [c, s] = [[rng.next() * 40 - 10, rng.next() * 40 - 10, rng.next() * 40 - 10], 0];
      else [c, s] = [centers[i % 4], 1];
      cols.x[i] = c[0] + s * rng.normal();
      cols.y[i] = c[1] + s * rng.normal();
      cols.z[i] = c[2] + s * rng.normal();
    }
    const file = path.join(dir, 'n.parquet');
    const schema: OutputColumn[] = [...['x', 'y', 'z'].map((name) => ({ name, type: 'DOUBLE' as const })), { name: 'planted', type: 'INTEGER' }];
    await writeFile(file, schema, (async function* () {
      yield { rows: n, columns: cols as unknown as Record<string, OutputData> };
    })());
    const data = await openDataset([file]);
    const transform = await fitTransform(data, parseSpec({ numeric: ['x', 'y', 'z'] }));
    const store = new ModelStore(path.join(dir, 'models'));
    const before = tf.memory().numTensors;
    const { model, report } = await trainAnomaly(data, transform, store, { name: 'odd', seed: 1 }); // default k = 8
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const kept = report.candidates.filter((c) => c.kept);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    const big = kept.find((c) => Math.abs(c.size - 300) < 60);
    expect(big).toBeDefined();
    expect(report.profiles[big!.niche].entries[0].value).toBeGreaterThan(15); // its x, y or z is near 20

    const loaded = (await loadScoringModel(store, 'odd')) as AnomalyModel;
    let plantedInNiche = 0;
    let othersInNiche = 0;
    let row = 0;
    for await (const { block } of transformedBatches(data, loaded.transform)) {
      const { score, niche } = await loaded.predict(block);
      for (let i = 0; i < block.rows; i++, row++) {
        if (row < 300) {
          if (niche[i] === big!.niche) plantedInNiche++;
        } else if (niche[i] === big!.niche) othersInNiche++;
        else if (row >= 600) expect(score[i]).toBeLessThan(6); // main-blob visitors are not far outliers
      }
    }
    loaded.dispose();
    expect(plantedInNiche).toBeGreaterThan(290);
    expect(othersInNiche).toBeLessThan(15); // a scattered point may fall near the group
  });
});

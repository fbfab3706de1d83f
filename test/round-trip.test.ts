/**
 * The estimator contract, for every model kind: a fitted model saved to the store and loaded
 * back scores any block of inputs exactly as the model in memory did (a property over random
 * blocks, fast-check), and a damaged manifest is refused with the field that is wrong.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/compute/backend.js';
import { buildEventFeatures } from '../src/features/events.js';
import { fitTransform } from '../src/features/fit.js';
import { inferSpec } from '../src/features/infer.js';
import type { FeatureBlock } from '../src/features/transform.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { trainAnomaly } from '../src/models/anomaly/train.js';
import { trainBgNbd } from '../src/models/btyd/train.js';
import { trainCltv } from '../src/models/cltv/train.js';
import { trainKMeans } from '../src/models/kmeans/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { trainLookalike } from '../src/models/lookalike/train.js';
import type { ScoringModel } from '../src/models/model.js';
import { trainPropensity } from '../src/models/propensity/train.js';
import { ModelStore } from '../src/models/registry.js';
import { generateEvents } from '../src/synthetic/events.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { setWarnSink } from '../src/util/warn.js';

let dir: string;
let store: ModelStore;
const trained = new Map<string, ScoringModel>();

beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-roundtrip-'));
  store = new ModelStore(path.join(dir, 'models'));
  const file = path.join(dir, 'v.parquet');
  await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors: 12_000, seed: 4 }));
  const data = await openDataset([file]);
  const transform = await fitTransform(data, (await inferSpec(data, { exclude: ['converted', 'true_segment', 'email'] })).spec);
  trained.set('kmeans', (await trainKMeans(data, transform, store, { k: 4, name: 'seg', nInit: 1 })).model);
  trained.set('propensity', (await trainPropensity(data, transform, store, { name: 'buy', label: 'converted', maxEpochs: 3, allowSmall: true, allowLeakage: true })).model);
  trained.set('lookalike', (await trainLookalike(data, transform, store, { name: 'look', seeds: { column: 'converted', value: '1' }, minSeeds: 10 })).model);
  trained.set('anomaly', (await trainAnomaly(data, transform, store, { name: 'odd', k: 4 })).model);
  const events = generateEvents({ customers: 3000, days: 400, seed: 2 });
  fs.writeFileSync(path.join(dir, 'ev.csv'), `customer_id,date,amount\n${events.map((e) => `${e.id},${e.date},${e.amount}`).join('\n')}\n`);
  const features = path.join(dir, 'f.parquet');
  await buildEventFeatures({ input: [path.join(dir, 'ev.csv')], id: 'customer_id', time: 'date', amount: 'amount', asOf: '2024-10-01', horizonDays: 60, out: features });
  const fdata = await openDataset([features]);
  const ftransform = await fitTransform(fdata, (await inferSpec(fdata)).spec);
  trained.set('cltv', (await trainCltv(fdata, ftransform, store, { name: 'value', label: 'future_value', maxEpochs: 3 })).model);
  trained.set('bgnbd', (await trainBgNbd(fdata, store, { name: 'btyd' })).model);
}, 240_000);

/** A random block of standardized inputs for a model (values within a few spreads, as transforms produce). */
function blocks(model: ScoringModel) {
  const cols = model.manifest.features.outputs.length;
  return fc.integer({ min: 1, max: 64 }).chain((rows) =>
    fc.float32Array({ minLength: rows * cols, maxLength: rows * cols, min: -4, max: 4, noNaN: true }).map(
      (data): FeatureBlock => ({ ids: Array.from({ length: rows }, (_, i) => String(i)), rows, cols, data, names: model.manifest.features.outputs, imputed: 0 }),
    ),
  );
}

describe('save and load', () => {
  it.each(['kmeans', 'propensity', 'lookalike', 'anomaly', 'cltv', 'bgnbd'])('%s: the loaded model scores every block as the trained one did (property)', async (kind) => {
    const model = trained.get(kind)!;
    const loaded = await loadScoringModel(store, `${model.manifest.name}@${model.manifest.version}`);
    try {
      expect(loaded.outputs).toEqual(model.outputs);
      await fc.assert(
        fc.asyncProperty(blocks(model), async (block) => {
          expect(await loaded.score(block)).toEqual(await model.score(block));
        }),
        { numRuns: 15 },
      );
    } finally {
      loaded.dispose();
    }
  });

  it('a manifest of the wrong shape is skipped with the field named, and loading it is refused', async () => {
    const model = trained.get('kmeans')!;
    const file = path.join(store.root, model.manifest.name, String(model.manifest.version), 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.features.outputs = 'oops';
    fs.writeFileSync(file, JSON.stringify(manifest));
    const warnings: string[] = [];
    const prev = setWarnSink((m) => warnings.push(m));
    try {
      await expect(loadScoringModel(store, 'seg@1')).rejects.toThrow(/no model named "seg"/);
    } finally {
      setWarnSink(prev);
    }
    expect(warnings.join('\n')).toMatch(/seg\/1\/manifest\.json: not a model manifest \(\/features\/outputs must be array\); this version is skipped/);
  });

  // Each kind's learned state is checked against its schema on load: a damaged field is named, never a TypeError in scoring.
  it.each([
    ['propensity', (st: Record<string, any>): void => {
      st.mlp.hidden = 'wide';
    }, /buy@1 \(propensity\): manifest\.json is damaged: state\/mlp\/hidden must be array/],
    ['lookalike', (st: Record<string, any>): void => {
      st.mode = 'nearest';
    }, /look@1 \(lookalike\): manifest\.json is damaged: state\/mode/],
    ['anomaly', (st: Record<string, any>): void => {
      delete st.threshold;
    }, /odd@1 \(anomaly\): manifest\.json is damaged: state must have required properties? threshold/],
    ['cltv', (st: Record<string, any>): void => {
      st.maxValue = -1;
    }, /value@1 \(cltv\): manifest\.json is damaged: state\/maxValue must be >= 0/],
    ['bgnbd', (st: Record<string, any>): void => {
      st.params.r = 'one';
    }, /btyd@1 \(bgnbd\): manifest\.json is damaged: state\/params\/r must be number/],
  ] as const)('%s: a damaged state is refused on load, naming the field', async (kind, damage, message) => {
    const model = trained.get(kind)!;
    const file = path.join(store.root, model.manifest.name, String(model.manifest.version), 'manifest.json');
    const original = fs.readFileSync(file, 'utf8');
    const manifest = JSON.parse(original);
    damage(manifest.state);
    fs.writeFileSync(file, JSON.stringify(manifest));
    try {
      await expect(loadScoringModel(store, `${model.manifest.name}@${model.manifest.version}`)).rejects.toThrow(message);
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});

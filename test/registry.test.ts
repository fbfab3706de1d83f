import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { parseSpec } from '../src/features/spec.js';
import { transformedBatches } from '../src/features/blocks.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { KMeansModel } from '../src/models/kmeans/model.js';
import { trainKMeans } from '../src/models/kmeans/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore, type NewManifest } from '../src/models/registry.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { systemErrorMessage } from '../src/util/errors.js';
import { processStartTime } from '../src/util/process.js';
import { mountTmpfs, NO_TMPFS, unmountAll } from './tmpfs.js';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-reg-'));
});

function manifest(name: string): NewManifest {
  return {
    kind: 'kmeans',
    name,
    backend: { name: 'wasm', device: 'test' },
    features: { id: { column: null, as: 'row' }, features: [], reads: {}, outputs: ['a', 'b'], onInvalid: 'impute', rows: 1, fingerprint: 'f' },
    params: {},
    metrics: {},
    data: { inputs: [], rows: 1, fingerprint: 'f' },
  };
}

describe('model store', () => {
  it('versions, resolves, promotes and refuses unknown references', async () => {
    const store = new ModelStore(path.join(dir, 'store'));
    const w = [{ name: 'centroids', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }];
    expect(store.save(manifest('seg'), w).version).toBe(1);
    expect(store.save(manifest('seg'), w).version).toBe(2);
    expect(store.resolve('seg')).toEqual({ name: 'seg', version: 2 });
    store.promote('seg@1');
    expect(store.resolve('seg')).toEqual({ name: 'seg', version: 1 });
    expect(store.resolve('seg@latest')).toEqual({ name: 'seg', version: 2 });
    expect(() => store.resolve('seg@7')).toThrow(/has no version 7 \(versions: 1, 2\)/);
    expect(() => store.resolve('seg@v2')).toThrow('model reference "seg@v2": the version after @ is a number or "latest" (versions of seg: 1, 2)');
    expect(() => store.resolve('seg@1.0')).toThrow(/the version after @ is a number/);
    expect(() => store.resolve('other')).toThrow(/no model named "other".*\(models: seg\)/);
    expect(() => store.save(manifest('../escape'), w)).toThrow(/model name/);
    // A name keeps its kind: a bgnbd version under a kmeans name would make the bare name score as another model.
    expect(() => store.save({ ...manifest('seg'), kind: 'bgnbd' }, w)).toThrow('model "seg" is a kmeans model (versions 1, 2); give the bgnbd model another name');
    expect(store.versions('seg')).toEqual([1, 2]);
    const { weights } = store.load('seg@2');
    expect(Array.from(weights.get('centroids')!.data)).toEqual([1, 2, 3, 4]);
    // The weights are in the tfjs weights-manifest format.
    const modelJson = JSON.parse(fs.readFileSync(path.join(store.dir('seg', 2), 'model.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(store.dir('seg', 2), 'weights.bin'));
    const decoded = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), modelJson.weightsManifest[0].weights);
    expect(Array.from(await decoded.centroids.data())).toEqual([1, 2, 3, 4]);
    decoded.centroids.dispose();
  });
});

describe('K-Means save and load', () => {
  it('a loaded model gives identical assignments, and training leaves no tensors', async () => {
    const file = path.join(dir, 'v.parquet');
    await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors: 20_000, seed: 5 }));
    const data = await openDataset([file]);
    const t = await fitTransform(data, parseSpec({ id: 'visitor_id', numeric: ['sessions', 'page_views', { name: 'avg_session_seconds', log: true }, 'bounce_rate'], categorical: ['device'], boolean: ['has_account'] }));
    const store = new ModelStore(path.join(dir, 'models'));
    const before = tf.memory().numTensors;
    const { model, report: { profiles } } = await trainKMeans(data, t, store, { k: 4, name: 'behavior', nInit: 2 });
    expect(profiles).toHaveLength(4);
    expect(profiles.reduce((a, p) => a + p.size, 0)).toBe(20_000);
    const loaded = (await loadScoringModel(store, 'behavior')) as KMeansModel;
    expect(loaded.manifest.version).toBe(1);
    expect(loaded.manifest.data.fingerprint).toBe(t.fingerprint);
    for await (const { block } of transformedBatches(data, loaded.transform)) {
      const a = await model.predict(block);
      const b = await loaded.predict(block);
      expect(b.segment).toEqual(a.segment);
      expect(b.distance).toEqual(a.distance);
    }
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** Saving a version when things go wrong (a save killed midway, the store's mode, a full disk). */
afterAll(unmountAll);

const weights = (floats: number) => [{ name: 'centroids', shape: [floats], data: new Float32Array(floats) }];

/** The identity of a process that has exited: its pid and start time, as a killed save left them. */
async function deadProcess(): Promise<{ pid: number; start: string }> {
  const p = spawn('sleep', ['30']);
  const who = { pid: p.pid!, start: processStartTime(p.pid!)! };
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
  return who;
}

describe('saving a model version', () => {
  it('removes the temporary folders of saves that were killed midway, and keeps a live one', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-store-'));
    const store = new ModelStore(root);
    store.save(manifest('seg'), weights(4));
    const dead = await deadProcess();
    const killed = path.join(root, 'seg', `.tmp-${dead.pid}-${dead.start}-Ab12Cd`);
    const otherModel = path.join(root, 'other', `.tmp-${dead.pid}-${dead.start}-Zz99Yy`);
    const live = path.join(root, 'seg', `.tmp-${process.pid}-${processStartTime(process.pid)}-Qq11Ww`);
    // A folder of an older release's save (no process in its name): removed once an hour old.
    const oldStyle = path.join(root, 'seg', '.tmp-kX3b9a');
    const recentOldStyle = path.join(root, 'seg', '.tmp-p0Q1r2');
    for (const d of [killed, otherModel, live, oldStyle, recentOldStyle]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'weights.bin'), Buffer.alloc(16));
    }
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(oldStyle, hoursAgo, hoursAgo);

    expect(store.save(manifest('seg'), weights(4)).version).toBe(2);
    expect([killed, otherModel, oldStyle].filter((d) => fs.existsSync(d))).toEqual([]);
    expect([live, recentOldStyle].filter((d) => fs.existsSync(d))).toEqual([live, recentOldStyle]);
    expect(store.versions('seg')).toEqual([1, 2]);
  });

  it("gives a version folder the store's mode, not 0700", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-store-'));
    fs.mkdirSync(path.join(root, 'seg'));
    fs.chmodSync(path.join(root, 'seg'), 0o755);
    const store = new ModelStore(root);
    store.save(manifest('seg'), weights(4));
    expect((fs.statSync(store.dir('seg', 1)).mode & 0o777).toString(8)).toBe('755');
  });

  it('a full disk names the file it could not write, and leaves no temporary folder', (ctx) => {
    const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ae-store-')), 'small');
    if (!mountTmpfs(root, '256k')) return ctx.skip(NO_TMPFS);
    let thrown: unknown;
    try {
      new ModelStore(root).save(manifest('seg'), weights(1 << 17)); // 512 KiB of weights
    } catch (err) {
      thrown = err;
    }
    expect(systemErrorMessage(thrown)).toMatch(new RegExp(`^cannot write ${root}/seg/\\.tmp-${process.pid}-\\d*-\\w+/weights\\.bin: no space left on the device$`));
    expect(fs.readdirSync(path.join(root, 'seg'))).toEqual([]);
  });
});

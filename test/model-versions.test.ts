/** Versions of a model: promote and roll back through the history, compare two versions (CLI functions and API). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { initBackend } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { openDataset } from '../src/io/dataset.js';
import { parseSpec } from '../src/features/spec.js';
import { compareOnSample, diffManifests } from '../src/models/diff.js';
import { trainKMeans } from '../src/models/kmeans/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore } from '../src/models/registry.js';
import { startServer, type Server } from './service-helpers.js';

let dir: string;
let store: ModelStore;
let server: Server;

beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-versions-'));
  const rows = Array.from({ length: 600 }, (_, i) => `${i},${(i % 3) * 10 + (i % 7) / 7},${(i % 5) * 4 + (i % 11) / 11}`);
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,x,y\n${rows.join('\n')}\n`);
  const data = await openDataset([path.join(dir, 'v.csv')]);
  const transform = await fitTransform(data, parseSpec({ id: 'id', numeric: ['x', 'y'] }));
  store = new ModelStore(path.join(dir, 'models'));
  for (const k of [3, 3, 5]) (await trainKMeans(data, transform, store, { k, name: 'seg', nInit: 1, seed: k })).model.dispose();
  server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', store.root]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('promote and roll back', () => {
  it('walks back through the promotions, then to none, then refuses', () => {
    expect(store.resolve('seg').version).toBe(3); // nothing promoted: the latest
    store.promote('seg@2');
    store.promote('seg@1');
    store.promote('seg@1'); // promoting the promoted version again records nothing
    expect(store.resolve('seg').version).toBe(1);
    expect(store.rollback('seg')).toEqual({ name: 'seg', from: 1, to: 2 });
    expect(store.resolve('seg').version).toBe(2);
    expect(store.rollback('seg')).toEqual({ name: 'seg', from: 2, to: null });
    expect(store.resolve('seg').version).toBe(3);
    expect(() => store.rollback('seg')).toThrow(/model "seg": no earlier promotion to roll back to \(none is promoted\)/);
  });
});

describe('diff', () => {
  it('shows parameters changed, metric deltas, fingerprints, and segments changed on a sample', async () => {
    const diff = diffManifests(store.manifest('seg@1'), store.manifest('seg@3'));
    expect(diff.params.find((p) => p.param === 'k')).toEqual({ param: 'k', a: 3, b: 5 });
    const inertia = diff.metrics.find((m) => m.metric === 'inertia')!;
    expect(inertia.delta).toBeCloseTo(inertia.b! - inertia.a!, 9);
    expect(diff.data.find((d) => d.field === 'data fingerprint')!.same).toBe(true);
    const [a, b] = [await loadScoringModel(store, 'seg@1'), await loadScoringModel(store, 'seg@3')];
    const sample = await compareOnSample(a, b, await openDataset([path.join(dir, 'v.csv')]), 250);
    const self = await compareOnSample(a, a, await openDataset([path.join(dir, 'v.csv')]), 250);
    a.dispose();
    b.dispose();
    expect(sample.rows).toBe(250);
    expect(sample.changed.find((c) => c.output === 'seg_segment')!.share).toBeGreaterThan(0);
    expect(self.changed.find((c) => c.output === 'seg_segment')!.share).toBe(0);
  });

  it('the API answers the same diff, rolls back, and refuses a version that is not a number', async () => {
    const r = await server.request('GET', '/v1/models/seg/diff?a=1&b=3');
    expect(r.status).toBe(200);
    // The response schema (OpenAPI) serializes the whole diff: nothing dropped.
    expect(r.body).toEqual(JSON.parse(JSON.stringify(diffManifests(store.manifest('seg@1'), store.manifest('seg@3')))));
    const listed = await server.request('GET', '/v1/models/seg');
    expect(listed.body.versions[0].metrics).toEqual(JSON.parse(JSON.stringify(store.manifest('seg@1').metrics)));
    expect((await server.request('GET', '/v1/models')).body.models).toEqual([{ name: 'seg', versions: [1, 2, 3], promoted: null }]);
    expect((await server.request('GET', '/v1/models/seg/diff?a=1&b=x')).status).toBe(400);
    expect((await server.request('GET', '/v1/models/seg/diff?a=1&b=9')).body.message).toMatch(/model "seg" has no version 9/);
    store.promote('seg@2');
    const rolled = await server.request('POST', '/v1/models/seg/rollback');
    expect(rolled.body).toEqual({ name: 'seg', from: 2, to: null });
  });

  it('refuses to diff two different models (the versions of one are compared)', async () => {
    const data = await openDataset([path.join(dir, 'v.csv')]);
    const transform = await fitTransform(data, parseSpec({ id: 'id', numeric: ['x', 'y'] }));
    (await trainKMeans(data, transform, store, { k: 3, name: 'other', nInit: 1, seed: 1 })).model.dispose();
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
    try {
      expect(await main(['models', 'diff', 'seg@1', 'other@1', '--store', store.root])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toMatch(/compares two versions of one model; seg@1 and other@1 are different models/);
  });
});

describe('models list', () => {
  /** `audience models ARGS` on `root`: its exit code and stdout. */
  async function models(root: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
    try {
      return { code: await main(['models', ...args, '--store', root]), stdout };
    } finally {
      spy.mockRestore();
    }
  }

  it('--json gives numbers and the latest version; the table shows the latest version, not the promoted one', async () => {
    // seg's three versions in a store of their own, version 1 dated years earlier and promoted.
    const root = path.join(dir, 'list-models');
    fs.cpSync(path.join(store.root, 'seg'), path.join(root, 'seg'), { recursive: true });
    fs.rmSync(path.join(root, 'seg', 'promoted'), { force: true });
    const first = path.join(root, 'seg', '1', 'manifest.json');
    fs.writeFileSync(first, JSON.stringify({ ...JSON.parse(fs.readFileSync(first, 'utf8')), createdAt: '2020-01-02T03:04:05.000Z' }));
    const local = new ModelStore(root);
    local.promote('seg@1');
    const latest = local.manifest('seg@3').createdAt;
    const json = await models(root, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ models: [{ name: 'seg', kind: 'kmeans', versions: [1, 2, 3], promoted: 1, latest: 3, createdAt: latest }] });
    const text = await models(root);
    expect(text.stdout).toContain(latest.slice(0, 19));
    expect(text.stdout).not.toContain('2020-01-02');
    local.rollback('seg');
    expect(JSON.parse((await models(root, 'list', '--json')).stdout).models[0].promoted).toBeNull();
  });
});

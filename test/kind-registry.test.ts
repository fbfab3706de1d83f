/**
 * A model kind is one descriptor, registered once (models/kinds.ts registerKind): a toy kind
 * declared and registered in this file alone gets the train command's flags and help, the
 * score command's help, the service's request schema and submission checks, training, scoring
 * and a report page, with no other file touched. Any of those paths that still listed the
 * kinds itself would refuse "toy" (an unknown kind) and fail here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/compute/backend.js';
import { transformedBatches } from '../src/features/blocks.js';
import type { FittedNumeric, FeatureBlock } from '../src/features/transform.js';
import { connect } from '../src/io/duckdb.js';
import { textReport, type KindDescriptor } from '../src/models/kind.js';
import type { Estimator } from '../src/models/estimator.js';
import { kindNames, registerKind } from '../src/models/kinds.js';
import { kindColumns, kindRanked, StoredModel, type KindOutputs, type ScoringModel } from '../src/models/model.js';
import { int, real, flag, withDefaults, type KindOptions } from '../src/models/params.js';
import { ModelStore, trainedOn, type Manifest } from '../src/models/registry.js';
import { htmlTable } from '../src/render/html.js';
import { DataRoots } from '../src/server/paths.js';
import { trainJobSchema } from '../src/server/schemas.js';
import { checkTrain } from '../src/server/submit.js';
import { UserError } from '../src/util/errors.js';
import { runMain } from './helpers.js';

// ---- The toy kind: the distance of each visitor from the training rows' mean, in the transformed space, times --toy-scale.

const TOY_PARAMS = {
  'toy-scale': real('multiplies every distance', { above: 0, max: 100 }, 1),
  'toy-min-rows': int('refuse with fewer rows', 1, 1_000_000, 10),
  'toy-quiet': flag('say less in the report'),
};
type ToyOptions = KindOptions<typeof TOY_PARAMS> & { name: string };
interface ToyReport {
  rows: number;
  meanDistance: number;
  quiet: boolean;
}
interface Prepared {
  blocks: FeatureBlock[];
  rows: number;
  cols: number;
  inputs: Array<{ path: string }>;
  transform: Manifest['features'];
}
interface Fitted {
  mean: Float32Array;
  dispose(): void;
}

const TOY_OUTPUTS: KindOutputs = { columns: [{ output: 'distance', type: 'FLOAT' }], ranked: [{ source: 'distance', percentile: 'percentile' }] };

/** Each row's distance from `mean`, times `scale`. */
function distances(block: FeatureBlock, mean: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(block.rows);
  for (let r = 0; r < block.rows; r++) {
    let s = 0;
    for (let c = 0; c < block.cols; c++) s += (block.data[r * block.cols + c] - mean[c]) ** 2;
    out[r] = scale * Math.sqrt(s);
  }
  return out;
}

class ToyModel extends StoredModel implements ScoringModel {
  constructor(
    manifest: Manifest,
    readonly mean: Float32Array,
  ) {
    super(manifest);
  }
  get outputs() {
    return kindColumns(TOY_OUTPUTS, this.manifest.name);
  }
  get ranked() {
    return kindRanked(TOY_OUTPUTS, this.manifest.name);
  }
  async score(block: FeatureBlock) {
    return { [this.col('distance')]: distances(block, this.mean, Number(this.manifest.params.scale)) };
  }
  dispose() {}
}

/** The toy's trainer: prepare, fit, evaluate, save. */
const TOY_ESTIMATOR: Estimator<ToyOptions, Prepared, Fitted, ToyReport, ToyModel> = {
  async prepare(data, transform, opts) {
    const blocks: FeatureBlock[] = [];
    for await (const { block } of transformedBatches(data, transform)) blocks.push(block);
    const rows = blocks.reduce((n, b) => n + b.rows, 0);
    if (rows < withDefaults(TOY_PARAMS, opts).toyMinRows) throw new UserError(`the toy needs ${opts.toyMinRows} rows, got ${rows}`);
    return { blocks, rows, cols: transform.outputs.length, inputs: data.tables, transform } satisfies Prepared;
  },
  async fit(p: Prepared) {
    const mean = new Float32Array(p.cols);
    for (const b of p.blocks) for (let i = 0; i < b.data.length; i++) mean[i % p.cols] += b.data[i] / p.rows;
    return { mean, dispose() {} } satisfies Fitted;
  },
  async evaluate(p: Prepared, f: Fitted, opts) {
    const all = p.blocks.flatMap((b) => [...distances(b, f.mean, 1)]);
    return { rows: p.rows, meanDistance: all.reduce((s, d) => s + d, 0) / all.length, quiet: withDefaults(TOY_PARAMS, opts).toyQuiet };
  },
  async save(store, p: Prepared, f: Fitted, report, opts) {
    const backend = await initBackend();
    const manifest = store.save({ ...trainedOn('toy', opts.name, backend, p.transform, p.inputs, p.rows), params: { scale: withDefaults(TOY_PARAMS, opts).toyScale }, metrics: { ...report } }, [{ name: 'mean', shape: [p.cols], data: f.mean }]);
    return new ToyModel(manifest, f.mean);
  },
};

const TOY: KindDescriptor<ToyOptions, ToyReport, typeof TOY_PARAMS> = {
  kind: 'toy',
  summary: 'a toy: the distance from the mean',
  help: 'Scoring adds <name>_distance and <name>_percentile.',
  params: TOY_PARAMS,
  checkData(data) {
    if (!data.columns.some((c) => c.name === 'a')) throw new UserError(`${data.tables[0].path}: the toy reads a column "a"`);
  },
  excluded: () => ['secret'],
  estimator: async () => TOY_ESTIMATOR,
  load: async (m, w) => new ToyModel(m, w.get('mean')!.data),
  outputs: () => TOY_OUTPUTS,
  outputsHelp: '<name>_distance (from the training mean), _percentile',
  report: {
    ...textReport((r: ToyReport) => (r.quiet ? 'toy.' : `toy: ${r.rows} rows, mean distance ${r.meanDistance.toFixed(3)}`)),
    summary: (m) => [`Toy rows are ${(m.metrics.meanDistance as number).toFixed(3)} from their mean on average.`],
    sections: async (m) => [{ title: 'Toy distances', blocks: [htmlTable([{ rows: String(m.metrics.rows), 'mean distance': (m.metrics.meanDistance as number).toFixed(3) }])] }],
  },
};

// ---- The CLI in this process, as a user runs it.

let dir: string;

const run = (...args: string[]) => runMain(args);

const ROWS = 60;
const row = (i: number) => ({ id: i + 1, a: (i * 7) % 13, b: (i * i) % 17, secret: i % 2 });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kind-registry-'));
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,a,b,secret\n${Array.from({ length: ROWS }, (_, i) => Object.values(row(i)).join(',')).join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'no-a.csv'), 'id,b\n1,2\n2,3\n');
  registerKind(TOY);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a kind registered in one place', () => {
  it('is listed with its flags and help by audience train and score', async () => {
    expect(kindNames()).toContain('toy');
    const help = await run('train', '--help');
    expect(help.stdout).toContain('KIND: kmeans, propensity, lookalike, anomaly, cltv, uplift, bgnbd, toy');
    expect(help.stdout).toContain('toy (a toy: the distance from the mean):');
    expect(help.stdout).toMatch(/--toy-scale X +multiplies every distance \(default 1; > 0 and <= 100\)/);
    const own = await run('train', 'toy', '--help');
    expect(own.stdout).toContain('audience train toy --input');
    expect(own.stdout).toContain('--toy-min-rows N');
    expect(own.stdout).toContain('Scoring adds <name>_distance and <name>_percentile.');
    expect((await run('score', '--help')).stdout).toContain('  toy: <name>_distance (from the training mean), _percentile');
    // The top-level help loads no command (cli/commands/index.ts): it points to train's, which lists the kinds (above).
    expect((await run('--help')).stdout).toMatch(/train +train a model of one kind \(audience train --help lists the kinds\)/);
    // Its flags are parsed and checked as its schemas say.
    const bad = await run('train', 'toy', '--input', path.join(dir, 'v.csv'), '--store', path.join(dir, 'models'), '--toy-scale', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--toy-scale 0: expected a number > 0');
    const unknown = await run('train', 'toy', '--input', path.join(dir, 'v.csv'), '--store', path.join(dir, 'models'), '--k', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--k: not an option of audience train toy');
  });

  it('the service takes it: the request schema lists it, the submission checks run its params and data checks', async () => {
    const schema = trainJobSchema();
    const body = { type: 'train', model: 'toy', name: 't', input: ['v.csv'], params: { 'toy-scale': 2 } };
    expect(Value.Check(schema, body)).toBe(true);
    expect(Value.Check(schema, { ...body, model: 'toy2' })).toBe(false);
    expect(JSON.stringify(schema)).toContain('toy: features, id, exclude, toy-scale, toy-min-rows, toy-quiet');
    const roots = new DataRoots([dir]);
    const store = new ModelStore(path.join(dir, 'models'));
    const spec = await checkTrain(body as never, roots, store);
    expect(spec).toMatchObject({ model: 'toy', name: 't', params: { 'toy-scale': 2 } });
    await expect(checkTrain({ ...body, params: { 'toy-scale': 200 } } as never, roots, store)).rejects.toThrow('params.toy-scale 200: expected a number > 0 and <= 100');
    await expect(checkTrain({ ...body, params: { 'toy-quiet': 'yes' } } as never, roots, store)).rejects.toThrow('params.toy-quiet: expected true or false');
    await expect(checkTrain({ ...body, params: { k: 3 } } as never, roots, store)).rejects.toThrow('params.k: not an option of a toy train job (its options: params.features,');
    await expect(checkTrain({ ...body, input: ['no-a.csv'] } as never, roots, store)).rejects.toThrow('the toy reads a column "a"');
  });

  it('trains, scores and reports through the descriptor alone', async () => {
    const store = path.join(dir, 'models');
    const trained = await run('train', 'toy', '--input', path.join(dir, 'v.csv'), '--id', 'id', '--name', 't', '--toy-scale', '2', '--store', store, '--quiet');
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^Saved t@1 \(\w+\)\ntoy: 60 rows, mean distance \d+\.\d{3}\n$/);
    const { manifest, weights } = new ModelStore(store).load('t');
    expect(manifest.kind).toBe('toy');
    // Its excluded column was left out of the inferred features.
    expect(manifest.features.features.map((f) => f.name).sort()).toEqual(['a', 'b']);
    expect((await run('models', 'show', 't', '--store', store)).stdout).toContain('toy: 60 rows, mean distance');

    const out = path.join(dir, 'scores');
    const scored = await run('score', '--input', path.join(dir, 'v.csv'), '--model', 't', '--out', out, '--store', store, '--quiet');
    expect(scored.code, scored.stderr).toBe(0);
    const db = await connect();
    const rows = (await db.runAndReadAll(`SELECT id, t_distance, t_percentile FROM read_parquet('${path.join(out, 'scores-*.parquet')}') ORDER BY id`)).getRowObjects();
    expect(rows).toHaveLength(ROWS);
    // By hand: standardize a and b with the stored statistics, the distance from the stored mean, times 2.
    const stats = Object.fromEntries(manifest.features.features.map((f) => [f.name, f as FittedNumeric]));
    const mean = weights.get('mean')!.data;
    const order = manifest.features.outputs;
    for (const r of rows) {
      const raw = row(Number(r.id) - 1) as Record<string, number>;
      const z = order.map((name) => (raw[name] - stats[name].mean) / stats[name].std);
      const expected = 2 * Math.sqrt(z.reduce((s, v, i) => s + (v - mean[i]) ** 2, 0));
      expect(Number(r.t_distance)).toBeCloseTo(expected, 4);
    }
    // Ranked over the population as its outputs declare: the farthest visitor is at the top.
    const far = rows.reduce((a, b) => (Number(b.t_distance) > Number(a.t_distance) ? b : a));
    expect(Number(far.t_percentile)).toBe(Math.max(...rows.map((r) => Number(r.t_percentile))));

    const page = path.join(dir, 't.html');
    const report = await run('report', 't', '--out', page, '--store', store);
    expect(report.code, report.stderr).toBe(0);
    const html = fs.readFileSync(page, 'utf8');
    expect(html).toContain('toy model, version 1');
    expect(html).toContain('Toy rows are');
    expect(html).toContain('Toy distances');
  });
});

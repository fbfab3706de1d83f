/**
 * `audience models export --format onnx`: the file, run by a plain onnxruntime-node session fed
 * raw columns as DuckDB reads them (no product code between), gives the values the score files
 * hold, as scored on tfjs (the reference engine); and `audience score` on the default engine
 * writes the same scores as on tfjs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { connect } from '../src/io/duckdb.js';
import { writeFile } from '../src/io/writer.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

let dir: string;
let store: string;
let input: string;

async function cli(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const code = await main([...args, '--store', store]);
  spy.mockRestore();
  expect(code, out).toBe(0);
  return out;
}

async function rows(sql: string, ...params: string[]): Promise<Record<string, unknown>[]> {
  const con = await connect();
  try {
    return (await con.runAndReadAll(sql, params)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    con.closeSync();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-export-'));
  store = path.join(dir, 'models');
  input = path.join(dir, 'v.parquet');
  await writeFile(input, VISITOR_COLUMNS, generateVisitors({ visitors: 3000, batchRows: 3000, seed: 9 }));
  await cli(['train', 'kmeans', '--input', input, '--exclude', 'email,true_segment,converted', '--k', '4', '--n-init', '1', '--name', 'seg']);
  await cli(['train', 'propensity', '--input', input, '--label', 'converted', '--exclude', 'email,true_segment', '--name', 'buy', '--allow-small', '--max-epochs', '5']);
}, 300_000);

describe('models export --format onnx', () => {
  it('runs anywhere onnxruntime runs: raw columns in, the score columns out', async () => {
    await cli(['score', '--input', input, '--model', 'seg', '--model', 'buy', '--output', path.join(dir, 'tfjs'), '--engine', 'tfjs']);
    const reference = await rows(`SELECT * FROM read_parquet($1) ORDER BY visitor_id`, path.join(dir, 'tfjs', '*.parquet'));
    for (const model of ['seg', 'buy']) {
      const file = path.join(dir, `${model}.onnx`);
      const said = await cli(['models', 'export', model, '--format', 'onnx', '--out', file]);
      expect(said).toMatch(/inputs, one value per visitor: .*device \(string\)/);
      const session = await ort.InferenceSession.create(file);
      // Each input column as DuckDB reads it: numbers (booleans 1/0) as DOUBLE, text with null as "(missing)".
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const meta = session.inputMetadata.find((m) => m.name === name) as { type?: string } | undefined;
        const text = meta?.type === 'string';
        const col = await rows(`SELECT ${text ? `coalesce(CAST("${name}" AS VARCHAR), '(missing)')` : `CAST("${name}" AS DOUBLE)`} AS v FROM read_parquet($1) ORDER BY visitor_id`, input);
        feeds[name] = text ? new ort.Tensor('string', col.map((r) => String(r.v)), [col.length]) : new ort.Tensor('float64', Float64Array.from(col, (r) => (r.v === null ? NaN : Number(r.v))), [col.length]);
      }
      const out = await session.run(feeds);
      for (const name of session.outputNames.filter((n) => n !== 'imputed')) {
        const got = Array.from(out[name].data as ArrayLike<number>);
        const want = reference.map((r) => Number(r[name]));
        expect(got.length).toBe(want.length);
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
      }
      await session.release();
    }
  });

  it('audience score on the default engine writes what tfjs writes, and says which engine scored', async () => {
    await cli(['score', '--input', input, '--model', 'seg', '--model', 'buy', '--output', path.join(dir, 'onnx')]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'onnx', 'manifest.json'), 'utf8'));
    expect(manifest.models.map((m: { engine: string }) => m.engine)).toEqual([expect.stringMatching(/^onnxruntime-node .* \(cpu\)$/), expect.stringMatching(/^onnxruntime-node/)]);
    const [diff] = await rows(
      `SELECT count(*) AS n, count(*) FILTER (WHERE a.seg_segment <> b.seg_segment OR a.buy_score <> b.buy_score) AS changed, max(abs(a.buy_probability - b.buy_probability)) AS dp, max(abs(a.seg_distance - b.seg_distance)) AS dd
       FROM read_parquet($1) a JOIN read_parquet($2) b USING (visitor_id)`,
      path.join(dir, 'onnx', '*.parquet'),
      path.join(dir, 'tfjs', '*.parquet'),
    );
    expect(Number(diff.n)).toBe(3000);
    expect(Number(diff.changed)).toBe(0);
    expect(Number(diff.dp)).toBeLessThan(1e-5);
    expect(Number(diff.dd)).toBeLessThan(1e-4);
  });

  it('refuses a kind without a graph, an existing file and another format', async () => {
    fs.writeFileSync(path.join(dir, 'taken.onnx'), '');
    // A kind without a graph: seg's files under another name and kind (the refusal reads only the manifest's kind).
    fs.cpSync(path.join(store, 'seg', '1'), path.join(store, 'near', '1'), { recursive: true });
    const manifest = path.join(store, 'near', '1', 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), name: 'near', kind: 'lookalike' }));
    for (const [args, message] of [
      [['models', 'export', 'near', '--out', path.join(dir, 'near.onnx')], /^error: near@1 is a lookalike model; export as ONNX takes kmeans, propensity, anomaly and cltv models\n/],
      [['models', 'export', 'seg', '--out', path.join(dir, 'taken.onnx')], /the file exists/],
      [['models', 'export', 'seg', '--format', 'pmml', '--out', path.join(dir, 'x.pmml')], /the export format is onnx/],
    ] as const) {
      let err = '';
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
      const code = await main([...args, '--store', store]);
      spy.mockRestore();
      expect(code).toBe(2);
      expect(err).toMatch(message);
    }
  });
});

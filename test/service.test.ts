/** The job service end to end, against a real server on a loopback port. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/io/duckdb.js';
import { openTable } from '../src/io/table.js';
import { writeFile } from '../src/io/writer.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';

let server: Server;
let dir: string;
let root: string;
const FILES = 12;
const ROWS = 20_000;

beforeAll(async () => {
  ({ dir, root } = await visitorRoot(FILES, ROWS));
  server = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models')]);
});

afterAll(async () => {
  await server?.stop();
});

describe('train and score jobs through the API', () => {
  it('trains: submit (202 with links), poll, results with the model version and its metrics', async () => {
    const submitted = await server.request('POST', '/v1/jobs', {
      type: 'train',
      model: 'kmeans',
      name: 'behavior',
      input: ['v-00.parquet'],
      params: { k: 4, exclude: 'converted,true_segment,email', 'n-init': 1 },
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body.links.self).toBe(`/v1/jobs/${submitted.body.id}`);
    const job = await waitJob(server, submitted.body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.result.model).toEqual({ name: 'behavior', version: 1 });
    expect(job.result.metrics.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(ROWS);
    expect(job.backend.name).toBeTruthy();

    const p = await server.request('POST', '/v1/jobs', {
      type: 'train',
      model: 'propensity',
      name: 'purchase',
      input: ['v-00.parquet', 'v-01.parquet'],
      params: { label: 'converted', exclude: 'true_segment,email', 'max-epochs': 40, patience: 2, 'allow-small': true },
    });
    // Training reports its progress in the job's stage: samples of at most max-epochs passes, the ETA a range (early stopping),
    // with the expected end first from the second pass on.
    const training = /^training: mlp \S+ of (at most \S+|~\S+ \(at most \S+\)) samples, \S+ samples\/s, eta (\S+ to \S+ \(early stopping\)|~\S+ \(early stopping: \S+ to \S+\))$/;
    const seen = await waitJob(server, p.body.id, (j) => training.test(j.stage ?? '') || !['queued', 'running'].includes(j.status));
    expect(seen.stage).toMatch(training);
    const pj = await waitJob(server, p.body.id);
    expect(pj.error).toBeNull();
    expect(pj.result.metrics.test.mlp.rocAuc).toBeGreaterThan(0.6);
    expect(pj.log).toMatch(/Saved purchase@1/);

    const models = await server.request('GET', '/v1/models');
    expect(models.body.models.map((m: { name: string }) => m.name).sort()).toEqual(['behavior', 'purchase']);
    const purchase = await server.request('GET', '/v1/models/purchase');
    expect(purchase.body.versions[0]).toMatchObject({ version: 1, kind: 'propensity' });
  });

  it('scores in shards: every row once, files read back with the manifest row counts, audiences, manifest last', async () => {
    const submitted = await server.request('POST', '/v1/jobs', {
      type: 'score',
      input: ['v-*.parquet'],
      models: ['behavior', 'purchase@1'],
      output: 'scores/a',
      audiences: { audiences: [{ name: 'hot', rule: 'purchase.percentile >= 90' }] },
      options: { keep: ['converted'] },
    });
    expect(submitted.status).toBe(202);
    const job = await waitJob(server, submitted.body.id);
    expect(job.error).toBeNull();
    expect(job.progress).toMatchObject({ rowsDone: FILES * ROWS, rowsTotal: FILES * ROWS, shardsDone: FILES, shardsTotal: FILES });
    expect(job.progress.rowsPerSecond).toBeGreaterThan(0);
    const out = path.join(root, 'scores/a');
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.files).toHaveLength(FILES);
    expect(manifest.rows).toBe(FILES * ROWS);
    for (const f of manifest.files) expect((await openTable(path.join(out, f.path))).rowCount).toBe(f.rows);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]); // staging removed
    const hot = manifest.audiences.summaries[0];
    expect(hot.members + hot.holdout).toBeGreaterThan(0.09 * FILES * ROWS);
    expect(hot.members + hot.holdout).toBeLessThan(0.11 * FILES * ROWS);
    expect(job.result.files).toEqual(manifest.files);
    // The kept input column, written by the shard workers, matches the input visitor by visitor.
    const con = await connect();
    const joined = (await con.runAndReadAll(`SELECT count(*), count(*) FILTER (WHERE s.converted = CAST(v.converted AS DOUBLE)) FROM '${out}/scores-*.parquet' s JOIN '${root}/v-*.parquet' v USING (visitor_id)`)).getRows()[0];
    con.closeSync();
    expect(joined).toEqual([BigInt(FILES * ROWS), BigInt(FILES * ROWS)]);

    const metrics = await server.request('GET', '/metrics');
    expect(metrics.text).toMatch(/audience_jobs\{status="succeeded"\} 3/);
    expect(metrics.text).toMatch(new RegExp(`audience_rows_scored ${FILES * ROWS}`));
    expect(metrics.text).toMatch(/audience_shard_seconds_count 12/);
  });

  it('lists jobs newest first, by status, a page at a time', async () => {
    const all = await server.request('GET', '/v1/jobs?limit=2');
    expect(all.body.jobs).toHaveLength(2);
    expect(all.body.jobs[0].type).toBe('score');
    // A list leaves out each job's result and log (a manifest, a report); the job itself has them.
    expect(all.body.jobs.flatMap((j: object) => Object.keys(j).filter((k) => k === 'result' || k === 'log'))).toEqual([]);
    const one = await server.request('GET', `/v1/jobs/${all.body.jobs[0].id}`);
    expect(one.body.result.rows).toBeGreaterThan(0);
    expect(one.body).toHaveProperty('log');
    const rest = await server.request('GET', `/v1/jobs?limit=2&after=${all.body.next}`);
    expect(rest.body.jobs.map((j: { type: string }) => j.type)).toEqual(['train']);
    expect(rest.body.next).toBeNull();
    const failed = await server.request('GET', '/v1/jobs?status=failed');
    expect(failed.body.jobs).toEqual([]);
  });

  it('rows with unreadable values go to errors.jsonl up to the limit; beyond it the job fails with a summary', async () => {
    // sessions holds "oops" in 5 rows, so DuckDB reads the column as text.
    const rows = 5000;
    let bad = 0;
    const batches = (async function* () {
      for await (const b of generateVisitors({ visitors: rows, batchRows: rows, seed: 9 })) {
        const sessions = Array.from(b.columns.sessions as Int32Array, (v, i) => (i % 1000 === 7 ? (bad++, 'oops') : String(v)));
        yield { rows: b.rows, columns: { ...b.columns, sessions } };
      }
    })();
    await writeFile(path.join(root, 'bad.csv'), VISITOR_COLUMNS.map((c) => (c.name === 'sessions' ? { name: c.name, type: 'VARCHAR' as const } : c)), batches);
    expect(bad).toBe(5);

    const strict = await server.request('POST', '/v1/jobs', { type: 'score', input: ['bad.csv'], models: ['behavior'], output: 'scores/strict', options: { maxRejects: 2 } });
    const failed = await waitJob(server, strict.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/more rows could not be read than the job allows \(2\).*bad\.csv data row 8, column "sessions" holds "oops"/);

    const lenient = await server.request('POST', '/v1/jobs', { type: 'score', input: ['bad.csv'], models: ['behavior'], output: 'scores/lenient', options: { maxRejects: 100 } });
    const done = await waitJob(server, lenient.body.id);
    expect(done.error).toBeNull();
    expect(done.result.rows).toBe(rows - 5);
    expect(done.result.rejected).toBe(5);
    const lines = fs.readFileSync(path.join(root, 'scores/lenient/errors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.row)).toEqual([8, 1008, 2008, 3008, 4008]);
    expect(lines[0]).toMatchObject({ column: 'sessions', value: 'oops', reason: 'not a number' });
    expect(typeof lines[0].id).toBe('number'); // the visitor_id of that row
  });

  it('cancel stops a running job within a shard and leaves no partial output', async () => {
    const submitted = await server.request('POST', '/v1/jobs', { type: 'score', input: ['v-*.parquet'], models: ['behavior', 'purchase'], output: 'scores/c' });
    const running = await waitJob(server, submitted.body.id, (j) => j.progress.shardsDone >= 1 || !['queued', 'running'].includes(j.status));
    expect(running.status).toBe('running');
    const cancelled = await server.request('POST', `/v1/jobs/${submitted.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    // Its emptied output folder goes too.
    expect(fs.existsSync(path.join(root, 'scores/c'))).toBe(false);
    await new Promise((r) => setTimeout(r, 500)); // a runner that outlived the kill would write now
    expect(fs.existsSync(path.join(root, 'scores/c'))).toBe(false);
    expect((await server.request('GET', `/v1/jobs/${submitted.body.id}`)).body.status).toBe('cancelled');
    const again = await server.request('POST', `/v1/jobs/${submitted.body.id}/cancel`);
    expect(again.status).toBe(409);
  });
});

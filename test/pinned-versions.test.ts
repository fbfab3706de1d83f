/**
 * A score job scores with the versions its models resolved to when it was submitted (issue 31):
 * a promotion, rollback or new training after submission, or before a crashed job resumes,
 * must not change which version scores any shard. The job is stored as the server stores it
 * (checkScore, JobStore), the store changed, and only then run as its runner process runs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { connect } from '../src/io/duckdb.js';
import { writeFile } from '../src/io/writer.js';
import { runStoredJob } from '../src/server/jobs/run-job.js';
import { JobStore } from '../src/server/jobs/store.js';
import { ModelStore } from '../src/models/registry.js';
import { DataRoots } from '../src/server/paths.js';
import { checkScore } from '../src/server/submit.js';
import type { ScoreJobBody } from '../src/server/schemas.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

let dir: string;
let root: string;
let store: string;
let jobs: JobStore;

async function train(k: number): Promise<void> {
  const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(['train', 'kmeans', '--input', path.join(root, 'v.parquet'), '--name', 'pin', '--k', String(k), '--n-init', '1', '--store', store]);
  quiet.mockRestore();
  expect(code).toBe(0);
}

/** The largest segment number in a job's scores, and the models its manifest names. */
async function scored(output: string): Promise<{ maxSegment: number; models: string[] }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
  const con = await connect();
  try {
    const r = await con.runAndReadAll('SELECT max(pin_segment) FROM read_parquet($1)', [path.join(output, 'scores-*.parquet')]);
    return { maxSegment: Number(r.getRows()[0][0]), models: manifest.models.map((m: { name: string; version: number }) => `${m.name}@${m.version}`) };
  } finally {
    con.closeSync();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-pin-'));
  root = path.join(dir, 'root');
  store = path.join(dir, 'models');
  fs.mkdirSync(root, { recursive: true });
  await writeFile(path.join(root, 'v.parquet'), VISITOR_COLUMNS, generateVisitors({ visitors: 3000, batchRows: 1000, seed: 4 }));
  await train(3); // pin@1: segments 0..2
  await train(6); // pin@2: segments 0..5
  new ModelStore(store).promote('pin@1');
  jobs = new JobStore(path.join(dir, 'jobs.sqlite'));
});

async function submit(output: string): Promise<string> {
  const body = { type: 'score', input: ['v.parquet'], models: ['pin'], output, options: { shardRows: 1000 } } as ScoreJobBody;
  const spec = await checkScore(body, new DataRoots([root]), new ModelStore(store), () => jobs.activeIds());
  return jobs.create('score', spec as unknown as Record<string, unknown>).id;
}

describe('a score job keeps the versions it was submitted with', () => {
  it('stores name@version, and scores every shard with it after a promotion', async () => {
    const id = await submit('scores/a');
    expect(jobs.get(id)!.spec.models).toEqual(['pin@1']);
    new ModelStore(store).promote('pin@2');
    expect(jobs.claimNext()?.id).toBe(id);
    await runStoredJob(jobs.file, id, store);
    expect(jobs.get(id)!.status).toBe('succeeded');
    expect(await scored(path.join(root, 'scores/a'))).toEqual({ maxSegment: 2, models: ['pin@1'] });
  });
});

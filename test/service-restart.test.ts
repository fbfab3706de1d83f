/** kill -9 of the server mid-job: the restarted server resumes the job and the output equals a clean run's. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobStore } from '../src/server/jobs/store.js';
import { differingRows, startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';

let server: Server;
let dir: string;
let root: string;
let args: string[];

beforeAll(async () => {
  ({ dir, root } = await visitorRoot(12, 20_000));
  args = ['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models')];
  server = await startServer(args);
});

afterAll(async () => {
  await server?.stop();
});


it('resumes a job after kill -9 from its finished shards, with output value-for-value equal to a clean run', async () => {
  const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 5, 'n-init': 1 } });
  expect((await waitJob(server, train.body.id)).status).toBe('succeeded');
  const job = (output: string) => ({
    type: 'score',
    input: ['v-*.parquet'],
    models: ['behavior'],
    output,
    audiences: { audiences: [{ name: 'near', rule: 'behavior.distance <= 1', holdout: 0.1 }] },
  });

  const clean = await server.request('POST', '/v1/jobs', job('clean'));
  expect((await waitJob(server, clean.body.id)).status).toBe('succeeded');

  const crashed = await server.request('POST', '/v1/jobs', job('crashed'));
  const mid = await waitJob(server, crashed.body.id, (j) => j.progress.shardsDone >= 3 || !['queued', 'running'].includes(j.status));
  expect(mid.status).toBe('running');
  const store = new JobStore(path.join(dir, 'data', 'jobs.sqlite'));
  const runner = store.get(crashed.body.id)!.runnerPid!;
  store.close();
  await server.kill9();

  // The orphaned runner exits (its IPC channel closed); nothing half-written is visible.
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(runner, 0);
      await new Promise((r) => setTimeout(r, 50));
    } catch {
      break;
    }
  }
  expect(() => process.kill(runner, 0)).toThrow();
  const out = path.join(root, 'crashed');
  expect(fs.readdirSync(out).filter((f) => !f.startsWith('.'))).toEqual([]);

  server = await startServer(args);
  expect(server.output()).toMatch(new RegExp(`resuming 1 job\\(s\\) left running: ${crashed.body.id}`));
  const done = await waitJob(server, crashed.body.id);
  expect(done.error).toBeNull();
  expect(done.status).toBe('succeeded');
  expect(done.attempts).toBe(2);

  const a = JSON.parse(fs.readFileSync(path.join(root, 'clean', 'manifest.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  expect(b.files).toEqual(a.files);
  expect(b.audiences.summaries.map((s: { members: number }) => s.members)).toEqual(a.audiences.summaries.map((s: { members: number }) => s.members));
  for (const f of a.files) expect(await differingRows(path.join(root, 'clean', f.path), path.join(out, f.path))).toBe(0);
  for (const f of ['members.parquet', 'holdout.csv']) {
    expect(fs.readFileSync(path.join(out, 'audiences/near', f))).toEqual(fs.readFileSync(path.join(root, 'clean', 'audiences/near', f)));
  }
});

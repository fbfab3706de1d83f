/**
 * The job store's disk fills up (SQLITE_FULL) under a running server: the server stays up,
 * keeps the job pending with the reason, answers 503 to submissions and says so in /readyz;
 * once there is room again, the job goes on and finishes. The store lives on a small tmpfs
 * (root only; skipped, saying why, where this machine does not allow mounting one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobStore } from '../src/server/jobs/store.js';
import { startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';
import { fillDisk, mountTmpfs, NO_TMPFS, unmountAll } from './tmpfs.js';

let dir: string;
let root: string;
let data: string | undefined;
let server: Server | undefined;

/** The runner pid of a running job, read from the store (undefined until the scheduler recorded it). */
function runnerPid(store: string, id: string): number | undefined {
  const jobs = new JobStore(store);
  try {
    return jobs.get(id)?.runnerPid ?? undefined;
  } finally {
    jobs.close();
  }
}

beforeAll(async () => {
  ({ dir, root } = await visitorRoot(1, 20_000));
  const at = path.join(dir, 'data');
  if (mountTmpfs(at, '4m')) data = at;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  unmountAll();
});

const train = (name: string) => ({ type: 'train', model: 'kmeans', name, input: ['v-00.parquet'], params: { k: 3, 'n-init': 1 } });

it('a full job store disk: the server stays up, the job waits with the reason, 503 on submission and in /readyz, then it goes on', async (ctx) => {
  if (!data) return ctx.skip(NO_TMPFS);
  server = await startServer(['--data-root', root, '--data-dir', data, '--store', path.join(dir, 'models')]);
  const store = path.join(data, 'jobs.sqlite');
  const job = await server.request('POST', '/v1/jobs', train('seg'));
  expect(job.status).toBe(202);
  let pid: number | undefined;
  for (let i = 0; i < 400 && !(pid = runnerPid(store, job.body.id)); i++) await new Promise((r) => setTimeout(r, 25));
  expect(pid).toBeDefined();

  fillDisk(path.join(data, 'filler'));
  process.kill(pid!, 'SIGKILL'); // the scheduler must now record the runner's death in a store it cannot write
  const waiting = await waitJob(server, job.body.id, (j) => /cannot be written/.test(j.stage ?? '') || j.status !== 'running', 20_000);
  expect(waiting.status).toBe('running');
  expect(waiting.stage).toMatch(/^waiting: the job store cannot be written \(cannot write .*jobs\.sqlite: no space left on the device\)/);
  expect(server.proc.exitCode).toBeNull();
  expect((await server.request('GET', '/healthz')).status).toBe(200);
  const ready = await server.request('GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ ready: false, store: expect.stringMatching(/jobs\.sqlite: no space left on the device/) });
  const refused = await server.request('POST', '/v1/jobs', train('seg2'));
  expect(refused.status, refused.text).toBe(503);
  expect(refused.body.message).toMatch(/the job store cannot be written \(cannot write .*jobs\.sqlite: no space left on the device\); retry when \/readyz is ready/);

  fs.rmSync(path.join(data, 'filler'));
  const done = await waitJob(server, job.body.id, undefined, 120_000);
  expect(done.error).toBeNull();
  expect(done.status).toBe('succeeded');
  expect(done.attempts).toBe(2);
  expect((await server.request('GET', '/readyz')).body).toEqual({ ready: true });
  const again = await server.request('POST', '/v1/jobs', train('seg2'));
  expect(again.status).toBe(202);
  expect((await waitJob(server, again.body.id)).status).toBe('succeeded');
  expect(server.output()).toMatch(/"msg":"the job store cannot be written/);
}, 240_000);

it('a job store that cannot be created for a full disk says so, not that it is damaged', (ctx) => {
  const full = path.join(dir, 'full-data');
  if (!mountTmpfs(full, '64k')) return ctx.skip(NO_TMPFS);
  fillDisk(path.join(full, 'filler'));
  expect(() => new JobStore(path.join(full, 'jobs.sqlite'))).toThrow(/^cannot write .*full-data\/jobs\.sqlite: no space left on the device$/);
});

/**
 * /readyz proves the job store takes a write, at most once a second: a burst of probes (a
 * load balancer's, or 1,000 pollers') costs one write and its fsync, and a store that stops
 * taking writes is reported within the second.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { JobStore } from '../src/server/jobs/store.js';
import { inProcessService } from './service-helpers.js';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { PROBE_TTL_MS } from '../src/server/routes/health.js';

let dir: string;
let jobs: JobStore;
let app: FastifyInstance;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-probes-'));
  ({ app, jobs } = await inProcessService(dir));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  jobs?.close();
});

it('writes to the job store at most once per PROBE_TTL_MS, and reports a store that stopped taking writes after it', async () => {
  let now = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => now);
  let fail: string | undefined;
  const probe = vi.spyOn(jobs, 'probeWrite').mockImplementation(() => fail);
  try {
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/readyz' })));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    expect(probe).toHaveBeenCalledTimes(1);
    fail = 'cannot write jobs.sqlite: no space left on the device';
    now += PROBE_TTL_MS - 1;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    now += 1;
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ ready: false, store: fail });
    expect(probe).toHaveBeenCalledTimes(2);
  } finally {
    vi.restoreAllMocks();
  }
});

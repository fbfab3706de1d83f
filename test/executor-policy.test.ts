/** Where shards run is decided by the policy the command or server composed, never by the environment deep in execution/. */
import os from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { executorPolicyFromEnv } from '../src/execution/policy.js';
import { computeWorkers } from '../src/compute/workers.js';
import { SMALL_HOST_THREAD_ROWS, shardExecutorKind } from '../src/execution/shard-pool.js';
import type { ShardJob } from '../src/execution/shard-task.js';
import { UserError } from '../src/util/errors.js';

const job = {} as ShardJob; // only whether there is one matters here
const saved = { REDIS_URL: process.env.REDIS_URL, AUDIENCE_WORKERS: process.env.AUDIENCE_WORKERS };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

it('reads REDIS_URL and AUDIENCE_WORKERS from the environment it is given, and refuses a count that is not one', () => {
  expect(executorPolicyFromEnv({})).toEqual({ queue: undefined, workers: undefined });
  expect(executorPolicyFromEnv({ REDIS_URL: ' redis://10.0.0.5:6379 ', AUDIENCE_WORKERS: '3' })).toEqual({ queue: 'redis://10.0.0.5:6379', workers: 3 });
  expect(executorPolicyFromEnv({ AUDIENCE_WORKERS: '0' }).workers).toBe(0);
  for (const bad of ['two', '-1', '1.5', '+2', '1e0', '0x2', '257']) {
    expect(() => executorPolicyFromEnv({ AUDIENCE_WORKERS: bad })).toThrow(UserError);
    expect(() => executorPolicyFromEnv({ AUDIENCE_WORKERS: bad })).toThrow(`AUDIENCE_WORKERS=${bad}: expected a whole number`);
  }
});

it('chooses from the policy alone: the environment of the process that runs the shards does not change it', () => {
  process.env.REDIS_URL = 'redis://127.0.0.1:1';
  process.env.AUDIENCE_WORKERS = '4';
  expect(shardExecutorKind({}, job, 1000, 10)).toEqual({ kind: 'process' });
  expect(shardExecutorKind({ workers: 2 }, job, 1000, 10)).toEqual({ kind: 'threads', workers: 2 });
  expect(shardExecutorKind({ workers: 3 }, job, 1000, 2)).toEqual({ kind: 'threads', workers: 2 }); // no more threads than shards
  expect(shardExecutorKind({ queue: 'redis://h:1', workers: 2 }, job, 1000, 10)).toEqual({ kind: 'queue', url: 'redis://h:1' });
  // Models given as objects (no store references) can only score in this process.
  expect(shardExecutorKind({ queue: 'redis://h:1', workers: 2 }, undefined, 1000, 10)).toEqual({ kind: 'process' });
});

it('by default, threads pay off on a small host only from SMALL_HOST_THREAD_ROWS rows', () => {
  const small = shardExecutorKind({}, job, 1000, 10);
  expect(small).toEqual({ kind: 'process' }); // under 200,000 rows: never threads
  if (os.cpus().length < 4) expect(shardExecutorKind({}, job, SMALL_HOST_THREAD_ROWS - 1, 40)).toEqual({ kind: 'process' });
});

it('training reads AUDIENCE_WORKERS as scoring does: a bad value is refused, not ignored', () => {
  process.env.AUDIENCE_WORKERS = 'abc';
  expect(() => computeWorkers(1_000_000)).toThrow('AUDIENCE_WORKERS=abc: expected a whole number');
  process.env.AUDIENCE_WORKERS = '3';
  expect(computeWorkers(1_000_000)).toBe(3);
});

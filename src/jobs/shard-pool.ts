/**
 * Runs a score job's shards: on a Piscina pool of worker threads, one tfjs backend each (on the
 * CPU, wasm runs one thread per backend, so one worker per core is how more cores help), or
 * in this process for small jobs and on a GPU, where one feeder thread is what the device
 * wants. The pool is created once per process and reused by later jobs. The CLI's `score` and
 * the service's runner both run their shards here: one shard loop.
 */
import os from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { tf } from '../compute/backend.js';
import { computeWorkers } from '../compute/workers.js';
import { scoreShard, type ScorePlan, type ShardResult } from './score.js';
import { guardShard } from './guard.js';
import { crossedError, type ShardJob } from './shard-task.js';
import type { Shard } from './shards.js';
import type { FileFingerprint } from '../io/fingerprint.js';
import { redisUrl, runShardsOnQueue } from './queue.js';

let pool: Piscina | undefined;

/** The process's shard pool, created on first use with `threads` workers at most (also what `audience worker` runs queued shards on). */
export function shardPool(threads: number): Piscina {
  if (!pool || pool.options.maxThreads < threads) {
    void pool?.destroy();
    pool = new Piscina({
      filename: new URL('./shard-task-boot.mjs', import.meta.url).href,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 30_000,
      env: { ...process.env, AUDIENCE_BACKEND: tf.getBackend() },
    });
  }
  return pool;
}

/** Below 4 cores, the rows from which shard threads pay off (between the two measurements below). */
export const SMALL_HOST_THREAD_ROWS = 4_000_000;

/**
 * Worker threads for shards of `rows` rows: computeWorkers' rule, from 4 cores up. Below 4
 * cores, only from SMALL_HOST_THREAD_ROWS rows: on 2 cores one process already keeps both
 * busy on small jobs (DuckDB's threads read and write while the wasm thread scores; `npm
 * run bench -- scoring`: 2 workers took 1.12x the in-process time at 1.2M rows, the service
 * bench 1.25x at 1M), while at 10M rows 2 workers took 0.82x (43.4 s against 53.1 s).
 * AUDIENCE_WORKERS overrides.
 */
export function shardWorkers(rows: number): number {
  if (process.env.AUDIENCE_WORKERS === undefined && os.cpus().length < 4 && rows < SMALL_HOST_THREAD_ROWS) return 0;
  return computeWorkers(rows);
}

export interface RunShardsOptions {
  staging: string;
  /** The run's fence (jobs/fence.ts), recorded in the staging's owner.json. */
  fence: string;
  /** The inputs' fingerprints as the job planned them, by file (table) index: each shard checks its file's. */
  inputs?: FileFingerprint[];
  /** Rejected rows the whole job tolerates. */
  maxRejects: number;
  /** Rows scored so far, as they are scored. */
  onRows?: (rows: number) => void;
  /** Each finished shard, in the order they finish; may throw to stop the job. */
  onShard?: (result: ShardResult) => void;
  /** Shards on the queue: why they are not moving ("0 workers connected for 90 s ..."); undefined once they move again. */
  onWaiting?: (why: string | undefined) => void;
  signal?: AbortSignal;
}

/**
 * Scores `shards` of a job and returns their results (in the order they finished). Shards run
 * on `shardWorkers(rows)` threads, or in process when that is under 2. The reject budget of each shard is what earlier shards left of `maxRejects`.
 * @throws UserError when the input is bad (a shard's message), DeviceError when a thread's GPU
 *   device failed, Error for a bug.
 */
export async function runShards(job: ShardJob | undefined, plan: ScorePlan, shards: Shard[], opts: RunShardsOptions): Promise<{ results: ShardResult[]; workers: number }> {
  const results: ShardResult[] = [];
  const rejected = () => results.reduce((n, r) => n + r.rejected, 0);
  const finished = (r: ShardResult) => {
    results.push(r);
    opts.onShard?.(r);
  };
  // Several hosts: the shards go through the queue (REDIS_URL), run by `audience worker`s.
  const url = redisUrl();
  if (url && job) return { results: await runShardsOnQueue(url, job, shards, opts), workers: 0 };
  // Without a job description (models given as objects, not store references), in process.
  const workers = job ? Math.min(shards.length, shardWorkers(shards.reduce((n, s) => n + s.end - s.start, 0))) : 0;
  if (workers < 2 || !job) {
    for (const shard of shards) {
      opts.signal?.throwIfAborted();
      guardShard(job?.roots, plan.data.tables[shard.table].path, opts.staging);
      finished(await scoreShard(plan, shard, opts.staging, { fence: opts.fence, input: opts.inputs?.[shard.table], rejectBudget: opts.maxRejects - rejected(), onRows: opts.onRows }));
    }
    return { results, workers: 0 };
  }
  const piscina = shardPool(workers);
  const queue = [...shards];
  const lane = async () => {
    for (let shard = queue.shift(); shard; shard = queue.shift()) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (n: number) => opts.onRows?.(n));
      try {
        const task = { job, shard, staging: opts.staging, fence: opts.fence, input: opts.inputs?.[shard.table], rejectBudget: opts.maxRejects - rejected(), progress: port2 };
        finished(await piscina.run(task, { transferList: [port2], signal: opts.signal }));
      } catch (err) {
        queue.length = 0; // the other lanes stop after their current shard
        throw crossedError(err);
      } finally {
        port1.close();
      }
    }
  };
  // Every lane ends before this returns or throws: no thread still writes into staging then.
  const settled = await Promise.allSettled(Array.from({ length: workers }, lane));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { results, workers };
}

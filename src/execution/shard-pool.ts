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
import { autoWorkers } from '../compute/workers.js';
import { scoreShard, type ScorePlan, type ShardResult } from '../scoring/score.js';
import { guardShard } from '../scoring/guard.js';
import type { ShardJob } from './shard-task.js';
import { crossedError } from '../util/errors.js';
import '../compute/read.js'; // registers DeviceError's code, so a thread's failed device is typed again here
import type { Shard } from '../scoring/shards.js';
import type { FileFingerprint } from '../io/fingerprint.js';
import type { ExecutorPolicy } from './policy.js';

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
 * Worker threads for shards of `rows` rows: `forced` when given; else autoWorkers' rule from 4
 * cores up, and below 4 cores only from SMALL_HOST_THREAD_ROWS rows: on 2 cores one process
 * already keeps both busy on smaller jobs (DuckDB's threads read and write while onnxruntime
 * scores on both cores). `audience score` on 2 cores, onnx engine (docs/benchmarks.md): in
 * process against 2 threads, 1M rows 4.4-4.8 s against 6.7-6.8, 6M 15.8 against 17.9, 10M
 * 28.9-31.1 against 24.2-27.9.
 */
export function shardWorkers(rows: number, forced?: number): number {
  if (forced !== undefined) return forced;
  if (os.cpus().length < 4 && rows < SMALL_HOST_THREAD_ROWS) return 0;
  return autoWorkers(rows);
}

/**
 * Where a job's shards run, chosen once where the command or server is composed: in this
 * process (models loaded here: the plan holds them), on this process's Piscina threads
 * (each loads the job's pinned models itself), or on `audience worker` hosts through Redis.
 */
export type ShardExecutor = { kind: 'process'; plan: ScorePlan; roots?: string[] } | { kind: 'threads'; job: ShardJob; workers: number } | { kind: 'queue'; job: ShardJob; url: string };

/**
 * The executor for a job of `rows` rows under `policy`: the queue when it names one, threads
 * when shardWorkers says they pay off (2 or more), else this process. `job` is undefined when
 * the models are objects, not store references (they can only score here).
 */
export function shardExecutorKind(policy: ExecutorPolicy, job: ShardJob | undefined, rows: number, shards: number): { kind: 'process' } | { kind: 'threads'; workers: number } | { kind: 'queue'; url: string } {
  if (policy.queue && job) return { kind: 'queue', url: policy.queue };
  const workers = job ? Math.min(shards, shardWorkers(rows, policy.workers)) : 0;
  return workers >= 2 ? { kind: 'threads', workers } : { kind: 'process' };
}

/**
 * The executor for a job's shards under `policy` (shardExecutorKind decides where): in this
 * process with the plan `inProcess` gives (its models loaded only then), or threads and the
 * queue with `job`.
 */
export async function chooseExecutor(policy: ExecutorPolicy, job: ShardJob | undefined, shards: Shard[], inProcess: () => Promise<{ plan: ScorePlan; roots?: string[] }>): Promise<ShardExecutor> {
  const how = shardExecutorKind(policy, job, shards.reduce((n, s) => n + s.end - s.start, 0), shards.length);
  return how.kind === 'process' ? { kind: 'process', ...(await inProcess()) } : { ...how, job: job! };
}

export interface RunShardsOptions {
  staging: string;
  /** The run's fence (scoring/fence.ts), recorded in the staging's owner.json. */
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
 * Scores `shards` of a job on `executor` and returns their results (in the order they
 * finished) and the threads used. The reject budget of each shard is what earlier shards left
 * of `maxRejects`.
 * @throws UserError when the input is bad (a shard's message), DeviceError when a thread's GPU
 *   device failed, Error for a bug.
 */
export async function runShards(executor: ShardExecutor, shards: Shard[], opts: RunShardsOptions): Promise<{ results: ShardResult[]; workers: number }> {
  const results: ShardResult[] = [];
  const rejected = () => results.reduce((n, r) => n + r.rejected, 0);
  const finished = (r: ShardResult) => {
    results.push(r);
    opts.onShard?.(r);
  };
  if (executor.kind === 'queue') {
    const { runShardsOnQueue } = await import('./shard-queue.js'); // BullMQ loaded only for a job on the queue
    return { results: await runShardsOnQueue(executor.url, executor.job, shards, opts), workers: 0 };
  }
  if (executor.kind === 'process') {
    const { plan, roots } = executor;
    for (const shard of shards) {
      opts.signal?.throwIfAborted();
      guardShard(roots, plan.data.tables[shard.table].path, opts.staging);
      finished(await scoreShard(plan, shard, opts.staging, { fence: opts.fence, input: opts.inputs?.[shard.table], rejectBudget: opts.maxRejects - rejected(), onRows: opts.onRows }));
    }
    return { results, workers: 0 };
  }
  const { job, workers } = executor;
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

/**
 * Shards over several hosts, the coordinator's side: with `REDIS_URL`, a score job's shard
 * tasks (shard-task.ts, the same plain input Piscina runs locally) become BullMQ jobs on the
 * queue `audience-shards`, and `audience worker` processes on any host run them
 * (queue-worker.ts). The process that planned the job (the service's runner, or `audience
 * score`) waits for its shards and then runs the finalize itself, once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { UserError } from '../util/errors.js';
import { OWNER } from '../scoring/output.js';
import type { ShardResult } from '../scoring/score.js';
import type { ShardJob, ShardTask } from './shard-task.js';
import type { RunShardsOptions } from './shard-pool.js';
import type { Shard } from '../scoring/shards.js';
import { QueueClient } from './queue-client.js';

/** A shard job's data: the shard task without its progress port, and who owned the staging folder when it was queued. */
export type ShardJobData = Omit<ShardTask, 'progress'> & { owner: string };

/** Options of the queued path: the pool's (what the caller hears), and how often a shard is tried. */
export interface QueueRunOptions extends RunShardsOptions {
  /** Tries per shard (default 3), with exponential backoff from 2 s. */
  attempts?: number;
}

/**
 * Runs `shards` of `job` as BullMQ jobs and waits for all of them; returns their results.
 * Each shard may reject up to the job's whole limit; the sum is checked when all are done.
 * @throws UserError for bad input (the shard's message) or more rejected rows than allowed;
 *   Error naming the shard when one fails after its attempts.
 */
export async function runShardsOnQueue(url: string, job: ShardJob, shards: Shard[], opts: QueueRunOptions): Promise<ShardResult[]> {
  const client = await QueueClient.open(url);
  const run = randomUUID().slice(0, 8);
  const done = new Map<number, number>();
  const owner = fs.readFileSync(path.join(opts.staging, OWNER), 'utf8');
  try {
    const results = await client.run<ShardJobData, ShardResult>(
      shards.map((shard) => ({
        id: `${run}-${shard.index}`,
        name: 'shard',
        label: `shard ${shard.index}`,
        data: { job, shard, staging: opts.staging, fence: opts.fence, input: opts.inputs?.[shard.table], rejectBudget: opts.maxRejects, owner },
      })),
      {
        signal: opts.signal,
        attempts: opts.attempts,
        onResult: (r) => opts.onShard?.(r),
        onWaiting: opts.onWaiting,
        onProgress: (i, data) => {
          if (typeof data !== 'number') return;
          opts.onRows?.(data - (done.get(i) ?? 0));
          done.set(i, data);
        },
      },
    );
    const rejected = results.reduce((n, r) => n + r.rejected, 0);
    if (rejected > opts.maxRejects) throw new UserError(`more rows could not be read than the job allows (${opts.maxRejects}): ${rejected} across the shards`);
    return results;
  } finally {
    await client.close();
  }
}

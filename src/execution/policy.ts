/**
 * Where a run's shards may go, as the command or server that composes the run decides it: the
 * policy type and its reading from the environment. Kept apart from the shard pool so that the
 * server process, which only hands the policy to its runners, loads neither Piscina nor the engines.
 */
import { UserError } from '../util/errors.js';
import { redisUrl } from './redis.js';

/**
 * Where a run's shards may go, decided once where the command or server is composed (the CLI's
 * `score`, `audience serve` for its runners), never read from the environment here: `queue`, a
 * Redis URL, sends them to `audience worker` hosts; else `workers` threads, forced (0: this
 * process) or, when undefined, by shardWorkers' rule.
 */
export interface ExecutorPolicy {
  queue?: string;
  workers?: number;
}

/**
 * The policy the environment sets, for the composition roots that take it from there (the
 * CLI's `score`, and `audience serve` before it hands it to its runners): REDIS_URL (the queue),
 * AUDIENCE_WORKERS (shard threads, 0 for this process).
 * @throws UserError naming the variable when AUDIENCE_WORKERS is not a whole number from 0.
 */
export function executorPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ExecutorPolicy {
  const raw = env.AUDIENCE_WORKERS?.trim();
  const workers = raw ? Number(raw) : undefined;
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new UserError(`AUDIENCE_WORKERS=${raw}: expected a whole number of shard threads from 0 (0: score in this process), or leave it unset for the default`);
  return { queue: redisUrl(env), workers };
}

/**
 * Where a run's shards may go, as the command or server that composes the run decides it: the
 * policy type and its reading from the environment. Kept apart from the shard pool so that the
 * server process, which only hands the policy to its runners, loads neither Piscina nor the engines.
 */
import { envWorkers } from '../util/workers-env.js';
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
 * @throws UserError naming the variable when AUDIENCE_WORKERS is not a whole number from 0 to MAX_WORKERS (util/workers-env.ts).
 */
export function executorPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ExecutorPolicy {
  return { queue: redisUrl(env), workers: envWorkers(env) };
}

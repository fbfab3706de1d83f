/**
 * One score run, as `audience score` (execution/score-dataset.ts) and the service's runner
 * (server/jobs/runner.ts) both drive it: the shards on the executor the caller chose, then the
 * finalize. The callers differ only in how they plan and record (a resumed job, progress in the
 * job store, the roots checked again).
 */
import path from 'node:path';
import type { FileFingerprint } from '../io/fingerprint.js';
import type { ModelOutline } from '../models/model.js';
import { requireUnchanged } from '../scoring/input-checks.js';
import { STAGING } from '../scoring/output.js';
import { finalizeScore, type ScoreManifest, type ScorePlan, type ShardResult } from '../scoring/score.js';
import { runShards, type RunShardsOptions, type ShardExecutor } from './shard-pool.js';
import type { Shard } from '../scoring/shards.js';

/** One score run as the CLI and the service both drive it: the plan, where its shards run, which are left. */
export interface ScoreRun {
  plan: ScorePlan<ModelOutline>;
  executor: ShardExecutor;
  /** The shards to score (all, or those a resumed job has not finished). */
  shards: Shard[];
  /** Shards a resumed job finished before, adopted from its staging. */
  done?: ShardResult[];
  dir: string;
  fence: string;
  /** The inputs' fingerprints as planned: every shard checks its file's, and all are checked again before the finalize. */
  inputs?: FileFingerprint[];
}

/**
 * Scores a run's shards on its executor, then finalizes the output from them (finalizeScore):
 * the one path of `audience score` and of the service's runner. `beforeFinalize` checks what
 * the caller must (the service: paths inside the roots again).
 * @returns the manifest, the threads used, and the seconds of scoring and of the finalize.
 * @throws UserError for bad input or an input that changed since it was planned.
 */
export async function runScore(run: ScoreRun, hooks: Pick<RunShardsOptions, 'onRows' | 'onShard' | 'onWaiting' | 'signal'> & { beforeFinalize?: () => void } = {}): Promise<{ manifest: ScoreManifest; workers: number; scoring: number; finalizing: number }> {
  const started = performance.now();
  const done = run.done ?? [];
  const before = done.reduce((n, r) => n + r.rejected, 0);
  const { results, workers } = await runShards(run.executor, run.shards, { ...hooks, staging: path.join(run.dir, STAGING), fence: run.fence, inputs: run.inputs, maxRejects: run.plan.maxRejects - before });
  results.push(...done);
  hooks.beforeFinalize?.();
  if (run.inputs) requireUnchanged(run.inputs); // every shard read the file the job planned from
  const scored = performance.now();
  const manifest = await finalizeScore(run.plan, run.dir, results, () => (performance.now() - started) / 1000, run.fence);
  return { manifest, workers, scoring: (scored - started) / 1000, finalizing: (performance.now() - scored) / 1000 };
}


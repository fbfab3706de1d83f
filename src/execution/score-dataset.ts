/** A whole score run in this process (the CLI's `score`): plan, shards, finalize. */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../compute/backend.js';
import type { Dataset } from '../io/dataset.js';
import type { ScoringModel } from '../models/model.js';
import { pinnedRef } from '../models/load.js';
import { selfIdentity } from '../util/process.js';
import { silentProgress } from '../util/progress.js';
import { claimStaging, prepareOutput, removeIfEmpty, removeScoreOutput } from '../scoring/output.js';
import { fingerprintFile } from '../io/fingerprint.js';
import { shippedLayouts } from '../scoring/guard.js';
import { runFence } from '../scoring/fence.js';
import { planScore, type ScoreManifest, type ScoreOptions } from '../scoring/score.js';
import { chooseExecutor } from './shard-pool.js';
import type { ExecutorPolicy } from './policy.js';
import { runScore } from './run-score.js';
import { planShards } from '../scoring/shards.js';
import { DEFAULT_SHARD_ROWS } from '../scoring/score-options.js';

/**
 * The whole run: plan, the shards where `policy` sends them (default: this process or its
 * threads by shardWorkers' rule; with models as objects, never threads), finalize. A run that fails
 * removes what it staged, and the folder itself when it made it; an earlier output it was to
 * replace (overwrite) stays as it was.
 * @throws UserError for bad input or an input that changed while the run read it; the output
 *   folder then holds nothing of this run.
 */
export async function scoreDataset(data: Dataset, models: ScoringModel[], opts: ScoreOptions, policy: ExecutorPolicy = {}): Promise<ScoreManifest> {
  const plan = planScore(data, models, opts.audiences, opts.maxRejects ?? 0, { columns: opts.keep ?? [], source: '--keep' });
  await initBackend();
  const dir = path.resolve(opts.output);
  const created = !fs.existsSync(dir);
  prepareOutput(dir, opts.overwrite ?? false);
  const fence = runFence();
  claimStaging(dir, { ...selfIdentity(), fence });
  try {
    const inputs = data.tables.map((t) => fingerprintFile(t.path));
    const shards = await planShards(data, opts.shardRows ?? DEFAULT_SHARD_ROWS);
    const total = shards.reduce((s, x) => s + x.end - x.start, 0);
    const progress = opts.progress ?? silentProgress;
    let done = 0;
    // Threads and queue workers reopen the inputs from this plan's layouts (nothing counted again) and load the pinned versions.
    const job = opts.store
      ? { input: data.tables.map((t) => t.path), tables: shippedLayouts(data.tables.map((t) => t.layout)), models: models.map(pinnedRef), store: path.resolve(opts.store), audiences: opts.audiences, maxRejects: plan.maxRejects, topFeatures: opts.topFeatures, engine: opts.engine, keep: opts.keep }
      : undefined;
    const executor = await chooseExecutor(policy, job, shards, async () => ({ plan }));
    const { manifest } = await runScore(
      { plan, executor, shards, dir, fence, inputs },
      {
        onRows: (n) => progress.update((done += n), total),
        onShard: (r) => progress.update((done += r.rejected), total),
        // Through Redis: why the shards wait (no worker connected, stalled, Redis not answering), as `audience train` says it.
        onWaiting: (why) => why && process.stderr.write(`waiting: ${why}\n`),
      },
    );
    return manifest;
  } catch (err) {
    removeScoreOutput(dir, true);
    if (created) removeIfEmpty(dir);
    throw err;
  }
}

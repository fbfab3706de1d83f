/**
 * The shard task: scores one shard of a score job, as a Piscina task on a worker thread (or
 * in process for small jobs). Its input is plain and serialisable (paths, model references,
 * row range, options), so the same task can run on another host. A worker keeps the plan of
 * the job it last served (inputs opened, models loaded, backend initialised once per thread)
 * and reuses it for that job's next shards.
 */
import type { MessagePort } from 'node:worker_threads';
import { initBackend } from '../compute/backend.js';
import type { AudienceSet } from '../audiences/definition.js';
import type { TableLayout } from '../io/table.js';
import { loadScoringModel } from '../models/load.js';
import type { ScoringEngine, ScoringModel } from '../models/model.js';
import { ModelStore } from '../models/registry.js';
import { encodeError, errorCode } from '../util/errors.js';
import type { FileFingerprint } from '../io/fingerprint.js';
import { requireUnchanged } from '../scoring/input-checks.js';
import { guardShard, openJobInputs } from '../scoring/guard.js';
import { planScore, scoreShard, type ScorePlan, type ShardResult } from '../scoring/score.js';
import type { Shard } from '../scoring/shards.js';

/** What a shard task needs to build the job's plan: the same for every shard of a job. */
export interface ShardJob {
  input: string[];
  /** The inputs as the job's plan opened them (io/table.ts TableLayout): reopened without counting or sniffing again. */
  tables?: TableLayout[];
  models: string[];
  /** Model store folder. */
  store: string;
  /** The audiences of the job (plain data: rule trees, names, paths), for the columns they carry. */
  audiences?: AudienceSet;
  maxRejects: number;
  /** Propensity models add `<name>_top_features`. */
  topFeatures?: boolean;
  /** The engine the job's models score on (models/load.ts). */
  engine?: ScoringEngine;
  /** Input columns copied into the scores. */
  keep?: string[];
  /** The server's data roots: inputs and staging are resolved inside them right before use (scoring/guard.ts); none from the CLI. */
  roots?: string[];
}

export interface ShardTask {
  job: ShardJob;
  shard: Shard;
  /** The job's staging folder. */
  staging: string;
  /** The run's fence (scoring/fence.ts): the part is renamed in only while it holds the staging. */
  fence: string;
  /** The shard's file as the job planned it (checked before the shard reads it, and after). */
  input?: FileFingerprint;
  /** Rejected rows the job still tolerates. */
  rejectBudget: number;
  /** Receives the number of rows scored, batch by batch (progress). */
  progress?: MessagePort;
}

let cached: { key: string; plan: ScorePlan; models: ScoringModel[] } | undefined;

/** The job's plan, built once per thread and job. */
async function planFor(job: ShardJob): Promise<ScorePlan> {
  const key = JSON.stringify(job);
  if (cached?.key === key) return cached.plan;
  for (const m of cached?.models ?? []) m.dispose();
  cached = undefined;
  const store = new ModelStore(job.store);
  const models: ScoringModel[] = [];
  try {
    for (const ref of job.models) models.push(await loadScoringModel(store, ref, { topFeatures: job.topFeatures, engine: job.engine }));
    const plan = planScore(await openJobInputs(job.roots, job.input, job.tables), models, job.audiences, job.maxRejects, { columns: job.keep ?? [], source: 'keep' });
    cached = { key, plan, models };
    return plan;
  } catch (err) {
    for (const m of models) m.dispose();
    throw err;
  }
}

/**
 * Scores one shard into `<staging>/scores-NNNNN.<fence>.parquet`; returns its counts.
 * @throws UserError for bad input (the message crosses threads as a UserError: see below).
 */
export default async function scoreShardTask(task: ShardTask): Promise<ShardResult> {
  try {
    await initBackend();
    if (task.input) requireUnchanged([task.input]); // before the plan opens the file
    const plan = await planFor(task.job);
    guardShard(task.job.roots, plan.data.tables[task.shard.table].path, task.staging);
    return await scoreShard(plan, task.shard, task.staging, { fence: task.fence, input: task.input, rejectBudget: task.rejectBudget, onRows: (n) => task.progress?.postMessage(n) });
  } catch (err) {
    // An error crosses threads as a plain Error (structured clone keeps only its message): bad
    // input and a failed device travel encoded with their code (util/errors.ts), a bug as itself.
    if (errorCode(err) !== 'AE_INTERNAL') throw new Error(encodeError(err));
    throw err;
  } finally {
    task.progress?.close();
  }
}

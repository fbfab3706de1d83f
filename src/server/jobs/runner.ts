/**
 * Runs a stored score job to completion in this process, resuming from its finished shards:
 * a shard is redone unless the store says it is done and its staged file is in place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../compute/backend.js';
import { parseAudiences } from '../../audiences/definition.js';
import type { Dataset } from '../../io/dataset.js';
import type { TableLayout } from '../../io/table.js';
import { loadScoringModel, outlineModel, pinnedRef } from '../../models/load.js';
import type { ScoringEngine, ScoringModel } from '../../models/model.js';
import type { ModelStore } from '../../models/registry.js';
import { fingerprintChange, fingerprintFile, type FileFingerprint } from '../../io/fingerprint.js';
import { selfIdentity } from '../../util/process.js';
import { claimStaging, prepareOutput, STAGING } from '../../scoring/output.js';
import { adoptParts, jobFence, reclaimStaging } from '../../scoring/fence.js';
import { planScore, type ShardResult } from '../../scoring/score.js';
import { chooseExecutor } from '../../execution/shard-pool.js';
import type { ExecutorPolicy } from '../../execution/policy.js';
import { runScore } from '../../execution/run-score.js';
import { DEFAULT_MAX_REJECTS } from '../../scoring/score-options.js';
import type { ShardJob } from '../../execution/shard-task.js';
import { planShards } from '../../scoring/shards.js';
import { DEFAULT_SHARD_ROWS } from '../../scoring/score-options.js';
import type { JobStore } from './store.js';
import { UserError } from '../../util/errors.js';
import { unchangedPath, writableFolder } from '../../util/roots.js';
import { openableAudiences, openableInputs, openJobInputs, shippedLayouts } from '../../scoring/guard.js';


/** A score job as stored: paths already resolved and checked by the server. */
export interface ScoreJobSpec {
  input: string[];
  models: string[];
  output: string;
  /** The audience definitions (the JSON of an audiences file), with `base` for relative id files. */
  audiences?: { definition: unknown; base: string };
  shardRows?: number;
  maxRejects?: number;
  overwrite?: boolean;
  /** Propensity models add `<name>_top_features` (about 4x the scoring time). */
  topFeatures?: boolean;
  /** The engine the models score on (models/load.ts; default onnx). */
  engine?: ScoringEngine;
  /** Input columns copied into the scores. */
  keep?: string[];
  /** The server's data roots: every path is resolved again inside them right before it is opened or written (util/roots.ts). */
  roots?: string[];
  /**
   * The inputs as submission opened them (io/table.ts TableLayout: columns, row counts, a
   * CSV's layout) and their fingerprints then: the runner, its threads and queue workers
   * reopen them from these, after checking each file is still the one planned from. Jobs
   * stored before these existed open their inputs again.
   */
  tables?: TableLayout[];
  fingerprints?: FileFingerprint[];
}

/** A train job as stored: the model kind, its name, inputs and the train options (flags without dashes). */
export interface TrainJobSpec {
  model: string;
  name: string;
  input: string[];
  /** The kind's params (models/<kind>/params.ts), checked at submission: numbers, text, booleans, lists of text. */
  params?: Record<string, unknown>;
  /** The server's data roots (see ScoreJobSpec.roots). */
  roots?: string[];
}


/**
 * Runs a stored score job to its end in this process: plans its shards (recording the inputs'
 * fingerprints) or resumes from the finished ones (checking them), scores the rest on the
 * executor `policy` picks (the server's, handed to its runner), then finalizes.
 * @returns the job's result: output folder, manifest and stage times (seconds).
 * @throws UserError for bad input or a changed input file.
 */
export async function runScoreJob(jobs: JobStore, id: string, models: ModelStore, policy: ExecutorPolicy = {}): Promise<Record<string, unknown>> {
  const job = jobs.get(id);
  if (!job) throw new Error(`job ${id} not found`);
  const spec = job.spec as unknown as ScoreJobSpec;
  const setupStart = performance.now();
  const backend = await initBackend();
  jobs.update(id, { backend: backend.backend, device: backend.device, stage: 'planning' });
  const roots = spec.roots;
  // Each planned file inside the roots now (a link swapped in since submission is refused first), then unchanged since.
  if (spec.tables) await openableInputs(roots, spec.tables.map((t) => t.path));
  // At its first start (a resumed job checks against the fingerprints it started from, below).
  const first = jobs.shards(id).length === 0;
  const submitted = first && spec.fingerprints && spec.tables ? fingerprintChange(spec.fingerprints, spec.tables.map((t) => t.path)) : undefined;
  if (submitted) throw new UserError(`an input changed since the job was submitted: ${submitted}. Its plan (columns, row counts) came from the old file; resubmit the job`);
  const data = await openJobInputs(roots, spec.input, spec.tables);
  const scoring = { topFeatures: spec.topFeatures, engine: spec.engine };
  // Outlines (manifests alone) name the columns; weights are loaded only where shards score in this process.
  const audiences = spec.audiences ? openableAudiences(roots, parseAudiences(spec.audiences.definition, 'audiences', spec.audiences.base)) : undefined;
  const outlined = planScore(data, spec.models.map((ref) => outlineModel(models, ref, scoring)), audiences, spec.maxRejects ?? DEFAULT_MAX_REJECTS, { columns: spec.keep ?? [], source: 'options.keep' });
  const dir = writableFolder(roots, spec.output, 'output');
  const staging = path.join(dir, STAGING);
  const files = data.tables.map((t) => t.path);
  // This attempt's fence: its parts carry it, and shards of earlier attempts or other jobs cannot rename theirs in.
  const fence = jobFence(id, job.attempts);
  const recorded = await startOrResume(jobs, id, { spec, data, dir, staging, fence, files });
  const shards = jobs.shards(id);
  jobs.update(id, { stage: 'scoring' });
  const adopted = adoptParts(staging, id, fence, shards.filter((s) => s.status === 'done').map((s) => s.index));
  const done: ShardResult[] = shards.filter((s) => s.status === 'done' && adopted.has(s.index));
  const todo = shards.filter((s) => !done.includes(s));
  let rejected = done.reduce((n, r) => n + r.rejected, 0);
  const shardJob: ShardJob = { input: files, tables: shippedLayouts(data.tables.map((t) => t.layout)), models: outlined.models.map(pinnedRef), store: models.root, audiences, maxRejects: outlined.maxRejects, topFeatures: spec.topFeatures, engine: spec.engine, keep: spec.keep, roots };
  const loaded: ScoringModel[] = [];
  try {
    // In this process, the pinned versions' weights are loaded here; threads and workers load their own.
    const executor = await chooseExecutor(policy, shardJob, todo, async () => {
      for (const ref of shardJob.models) loaded.push(await loadScoringModel(models, ref, scoring));
      return { plan: { ...outlined, models: loaded }, roots };
    });
    const run = await runScore(
      { plan: outlined, executor, shards: todo, done, dir, fence, inputs: recorded },
      {
        onRows: (n) => jobs.addRows(id, n),
        onWaiting: (why) => jobs.update(id, { stage: why ? `scoring: waiting: ${why}` : 'scoring' }),
        onShard: (r) => {
          jobs.shardDone(id, r);
          rejected += r.rejected;
          if (rejected > outlined.maxRejects) {
            throw new UserError(`${rejected} rows could not be read, more than the job allows (${outlined.maxRejects}); see the rejects of shard ${r.index} in ${staging}`);
          }
        },
        beforeFinalize: () => {
          jobs.update(id, { stage: 'finalizing' });
          unchangedPath(roots, dir, 'output');
          for (const a of audiences?.audiences ?? []) if (a.suppress.ids) unchangedPath(roots, a.suppress.ids, `audience "${a.name}": suppress.ids`);
        },
      },
    );
    // Setup: everything before the shards ran (planning, adopting staged parts, loading models here).
    const stageSeconds = { setup: (performance.now() - setupStart) / 1000 - run.scoring - run.finalizing, scoring: run.scoring, finalizing: run.finalizing, workers: run.workers };
    return { output: dir, manifest: path.join(dir, 'manifest.json'), ...run.manifest, stageSeconds };
  } finally {
    for (const m of loaded) m.dispose();
  }
}

/**
 * A job's first start claims its output's staging, records its inputs' fingerprints (those of
 * submission when the plan has them) and its shards; a resumed one checks the inputs are
 * unchanged, reclaims the staging under this attempt's fence and drops partial leftovers.
 * @returns the fingerprints every shard checks its file against.
 * @throws UserError when an input changed since the job started.
 */
async function startOrResume(jobs: JobStore, id: string, at: { spec: ScoreJobSpec; data: Dataset; dir: string; staging: string; fence: string; files: string[] }): Promise<FileFingerprint[] | undefined> {
  const { spec, data, dir, staging, fence, files } = at;
  if (jobs.shards(id).length === 0) {
    const active = jobs.activeIds();
    prepareOutput(dir, spec.overwrite ?? false, 'options.overwrite', (other) => other !== id && active.has(other));
    claimStaging(dir, { ...selfIdentity(), job: id, fence });
    const recorded = spec.fingerprints ?? files.map(fingerprintFile);
    jobs.setInputs(id, recorded);
    jobs.setShards(id, await planShards(data, spec.shardRows ?? DEFAULT_SHARD_ROWS));
    return recorded;
  }
  const recorded = jobs.get(id)?.inputs ?? undefined;
  const changed = recorded ? fingerprintChange(recorded, files) : undefined;
  if (changed) throw new UserError(`an input changed since the job started: ${changed}. Its finished shards came from the old file; resubmit the job to score the new one`);
  reclaimStaging(dir, id, fence);
  jobs.resetPartialRows(id);
  // Leftovers of an interrupted shard: temporary files are never part of the output.
  if (fs.existsSync(staging)) for (const f of fs.readdirSync(staging)) if (f.endsWith('.tmp')) fs.rmSync(path.join(staging, f), { force: true });
  return recorded;
}

/**
 * The service's runner: one stored job run to its end in this process. The service starts
 * it as a child process per running job (server/jobs/runner-main.ts), so the compute never blocks
 * the HTTP event loop and a cancel is a kill. A score job resumes from its finished shards;
 * a train job runs training/train.ts with its stored, typed params. The outcome (result or
 * error, and what the job printed) is recorded in the job store in one write.
 */
import { ModelStore } from '../../models/registry.js';
import { errorMessage, systemErrorMessage, UserError } from '../../util/errors.js';
import { removeIfEmpty, removeScoreOutput } from '../../scoring/output.js';
import { openableInputs, openableParams, outputStillInside } from '../../scoring/guard.js';
import type { ExecutorPolicy } from '../../execution/policy.js';
import { runScoreJob, type ScoreJobSpec, type TrainJobSpec } from './runner.js';
import { JobStore, LOG_CHARS, StoreWriteError } from './store.js';
import { trainFromParams } from '../../training/train.js';
import { API_NAMES } from '../param-names.js';
import { reportingProgress } from '../../util/progress.js';

/** A progress stage recorded in the job, when the store can be written: progress is not worth failing the job for. */
function recordStage(jobs: JobStore, id: string, stage: string): void {
  try {
    jobs.update(id, { stage });
  } catch (err) {
    if (!(err instanceof StoreWriteError)) throw err;
  }
}

/**
 * Runs job `id` of the job store at `dbFile` (if it is running: claimed by the scheduler),
 * with models in `storeDir`; a job's work goes where `policy` says (the server's): a score job's
 * shards, a K-Means fit's rows.
 * @throws UserError when the job does not exist; rethrows a bug after recording it as the job's error.
 */
export async function runStoredJob(dbFile: string, id: string, storeDir: string | undefined, policy: ExecutorPolicy = {}): Promise<void> {
  const jobs = new JobStore(dbFile);
  const models = new ModelStore(storeDir);
  // What the job prints (a train job's report) is stored with its outcome, in the same write.
  let log = '';
  const write = process.stdout.write.bind(process.stdout);
  try {
    const job = jobs.get(id);
    if (!job) throw new UserError(`job ${id} not found in ${jobs.file}`);
    if (job.status !== 'running') return;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      log = (log + chunk.toString()).slice(-LOG_CHARS);
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      let result: Record<string, unknown>;
      if (job.type === 'score') {
        result = await runScoreJob(jobs, id, models, policy);
      } else {
        const spec = job.spec as unknown as TrainJobSpec;
        jobs.update(id, { stage: 'training' });
        const input = await openableInputs(spec.roots, spec.input);
        const outcome = await trainFromParams({
          kind: spec.model,
          name: spec.name,
          input,
          params: openableParams(spec.roots, spec.params ?? {}),
          store: models,
          roots: spec.roots,
          onWaiting: (why) => jobs.update(id, { stage: why ? `training: waiting: ${why}` : 'training' }),
          progress: reportingProgress((line) => recordStage(jobs, id, `training: ${line}`)),
          names: API_NAMES, // what training refuses names the request's params.x, as the submission's checks do
          queue: policy.queue,
        });
        process.stdout.write(`${outcome.report}\n`);
        const manifest = models.manifest(`${outcome.name}@${outcome.version}`);
        jobs.update(id, { backend: manifest.backend.name, device: manifest.backend.device });
        result = { model: { name: outcome.name, version: outcome.version }, metrics: manifest.metrics, data: manifest.data };
      }
      jobs.finish(id, 'succeeded', { result, log });
    } catch (err) {
      // The store cannot record an outcome now (a full disk): the runner exits saying so and
      // the scheduler retries the job, which keeps what it wrote.
      if (err instanceof StoreWriteError) throw err;
      const system = systemErrorMessage(err);
      const message = err instanceof UserError ? err.message : (system ?? `internal error: ${errorMessage(err)}`);
      // A failed score job leaves nothing of its own behind (staging included): a resubmission starts
      // clean; an earlier output it was to replace stays. Only once it has planned its shards is the staging its own.
      const output = (job.spec as unknown as ScoreJobSpec).output;
      if (job.type === 'score' && jobs.shards(id).length > 0 && outputStillInside(job.spec as unknown as ScoreJobSpec)) {
        removeScoreOutput(output, true);
        removeIfEmpty(output);
      }
      jobs.finish(id, 'failed', { error: message, log });
      if (!(err instanceof UserError) && !system) throw err;
    }
  } finally {
    process.stdout.write = write;
    jobs.close();
  }
}

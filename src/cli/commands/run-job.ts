/**
 * `audience run-job`: runs one stored job in this process. The service starts it as a child
 * process per running job, so the compute never blocks the HTTP event loop and a cancel is a
 * kill. It exits when its parent goes away (the IPC channel closes), so a killed server leaves
 * no runner behind to race the one its restart starts.
 */
import { runScoreJob, type TrainJobSpec } from '../../jobs/runner.js';
import { JobStore, LOG_CHARS } from '../../jobs/store.js';
import { ModelStore } from '../../models/registry.js';
import { removeIfEmpty, removeScoreOutput } from '../../jobs/output.js';
import { errorMessage, systemErrorMessage, UserError } from '../../util/errors.js';
import { str, type Command } from '../args.js';
import type { Values } from './common.js';
import { trainModel } from './train.js';


export const runJob: Command = {
  name: 'run-job',
  summary: 'run one job of the service\'s job store (started by `audience serve`)',
  usage: `audience run-job --db DATA_DIR/jobs.sqlite --job ID [--store DIR]

Internal: \`audience serve\` starts one per running job. Runs a queued-or-running job to its
end, resuming a score job from its finished shards, and records the outcome in the store.`,
  options: {
    db: { type: 'string' },
    job: { type: 'string' },
    store: { type: 'string' },
  },
  async run(values) {
    if (process.send) process.on('disconnect', () => process.exit(137));
    const jobs = new JobStore(str(values.db, '--db', 'run-job'));
    const id = str(values.job, '--job', 'run-job');
    const models = new ModelStore(typeof values.store === 'string' ? values.store : undefined);
    const job = jobs.get(id);
    if (!job) throw new UserError(`job ${id} not found in ${jobs.file}`);
    if (job.status !== 'running') return;
    // What the job prints (a train job's report) is stored with its outcome, in the same write.
    let log = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      log = (log + chunk.toString()).slice(-LOG_CHARS);
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      let result: Record<string, unknown>;
      if (job.type === 'score') {
        result = await runScoreJob(jobs, id, models);
      } else {
        const spec = job.spec as unknown as TrainJobSpec;
        jobs.update(id, { stage: 'training' });
        const params: Values = Object.fromEntries(Object.entries(spec.params ?? {}).map(([k, v]) => [k, typeof v === 'boolean' ? v : String(v)]));
        const saved = await trainModel(spec.model, { ...params, input: spec.input, name: spec.name, store: models.root, quiet: true });
        const manifest = models.manifest(`${saved.name}@${saved.version}`);
        jobs.update(id, { backend: manifest.backend.name, device: manifest.backend.device });
        result = { model: saved, metrics: manifest.metrics, data: manifest.data };
      }
      jobs.finish(id, 'succeeded', { result, log });
    } catch (err) {
      const system = systemErrorMessage(err);
      const message = err instanceof UserError ? err.message : (system ?? `internal error: ${errorMessage(err)}`);
      // A failed score job leaves nothing of its own behind (staging included): a resubmission starts
      // clean. Only once it has planned its shards is the folder's product output its own.
      if (job.type === 'score' && jobs.shards(id).length > 0) {
        const output = (job.spec as unknown as { output: string }).output;
        removeScoreOutput(output);
        removeIfEmpty(output);
      }
      jobs.finish(id, 'failed', { error: message, log });
      if (!(err instanceof UserError) && !system) throw err;
    } finally {
      process.stdout.write = write;
      jobs.close();
    }
  },
};

/**
 * Entry point of a runner process: `node --import tsx/esm src/server/jobs/runner-main.ts --db FILE
 * --job ID [--store DIR] [--queue REDIS_URL] [--workers N]`, started by the service's scheduler,
 * which composes where a score job's shards go (--queue: `audience worker` hosts; --workers:
 * shard threads, 0 for this process; neither: shardWorkers' rule). It exits when its parent goes
 * away (the IPC channel closes), so a killed server leaves no runner behind to race the one
 * its restart starts. Exit codes: 0 done (the outcome is in the job store), 2 bad arguments
 * or a job store that cannot be written (a full disk), 1 a bug (recorded as the job's error,
 * and printed).
 */
import { parseArgs } from 'node:util';
import { UserError, errorMessage, systemErrorMessage } from '../../util/errors.js';
import { runStoredJob } from './run-job.js';
import { MAX_WORKERS } from '../../util/workers-env.js';

if (process.send) process.on('disconnect', () => process.exit(137));
try {
  const { values } = parseArgs({ options: { db: { type: 'string' }, job: { type: 'string' }, store: { type: 'string' }, queue: { type: 'string' }, workers: { type: 'string' } }, strict: true });
  if (!values.db || !values.job) throw new UserError('runner: --db FILE and --job ID are required');
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0 && workers <= MAX_WORKERS)) throw new UserError(`runner: --workers ${values.workers}: expected a whole number from 0 to ${MAX_WORKERS}`);
  await runStoredJob(values.db, values.job, values.store, { queue: values.queue, workers });
  process.exit(0);
} catch (err) {
  // Bad input, and the file system or the job store saying no, are words and exit 2; a bug, its stack and 1.
  const words = err instanceof UserError ? err.message : systemErrorMessage(err);
  process.stderr.write(words !== undefined ? `error: ${words}\n` : `internal error: ${err instanceof Error ? (err.stack ?? errorMessage(err)) : String(err)}\n`);
  process.exit(words !== undefined ? 2 : 1);
}

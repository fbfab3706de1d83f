/**
 * Entry point of a runner process: `node --import tsx/esm src/jobs/runner-main.ts --db FILE
 * --job ID [--store DIR]`, started by the service's scheduler. It exits when its parent goes
 * away (the IPC channel closes), so a killed server leaves no runner behind to race the one
 * its restart starts. Exit codes: 0 done (the outcome is in the job store), 2 bad arguments,
 * 1 a bug (recorded as the job's error, and printed).
 */
import { parseArgs } from 'node:util';
import { UserError, errorMessage } from '../util/errors.js';
import { runStoredJob } from './run-job.js';

if (process.send) process.on('disconnect', () => process.exit(137));
try {
  const { values } = parseArgs({ options: { db: { type: 'string' }, job: { type: 'string' }, store: { type: 'string' } }, strict: true });
  if (!values.db || !values.job) throw new UserError('runner: --db FILE and --job ID are required');
  await runStoredJob(values.db, values.job, values.store);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${err instanceof UserError ? 'error' : 'internal error'}: ${err instanceof UserError ? err.message : err instanceof Error ? (err.stack ?? errorMessage(err)) : String(err)}\n`);
  process.exit(err instanceof UserError ? 2 : 1);
}

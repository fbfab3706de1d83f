/**
 * The job service started and run until SIGTERM or SIGINT: the data folder locked, the job
 * store and the online view opened, the app (server/app.ts) listening, the scheduler resuming
 * what was left running. `audience serve` (cli/commands/serve.ts) parses its flags into a
 * ServeConfig and imports this module only then, so its --help loads none of it.
 */
import path from 'node:path';
import { initBackend } from '../compute/backend.js';
import type { ExecutorPolicy } from '../execution/policy.js';
import { configureDuckDB } from '../io/duckdb.js';
import { ModelStore } from '../models/registry.js';
import { setWarnSink } from '../util/warn.js';
import { buildApp, type AppOptions } from './app.js';
import { lockDataDir } from './jobs/lock.js';
import { JobStore } from './jobs/store.js';
import { CHECK_MEMORY_LIMIT } from './limits.js';
import { openOnlineStore } from './online/open-store.js';
import { loadOnlineView } from './online/view.js';
import { DataRoots } from './paths.js';
import { Scheduler } from './scheduler.js';

/**
 * Connections the kernel may hold before they are accepted (capped by net.core.somaxconn). Node's
 * default, 511, drops the SYNs of a larger burst of new clients, which then wait about a second
 * to retry: 1,000 pollers connecting at once saw p99s over a second from that alone.
 */
const LISTEN_BACKLOG = 4096;

/** What `audience serve` was told, checked: where it listens, what it reads and keeps, its limits and where jobs' work goes. */
export interface ServeConfig {
  port: number;
  host: string;
  /** Folders that requests' paths must stay inside. */
  roots: string[];
  /** The job store, the data-folder lock and the online view's SQLite store live here. */
  dataDir: string;
  /** The model store's folder (ModelStore's default when absent). */
  storeDir?: string;
  concurrency: number;
  maxAttempts: number;
  maxQueued: number;
  /** Request bodies' limit in bytes. */
  bodyLimit: number;
  logLevel: string;
  /** Requests need "Authorization: Bearer <key>" when set. */
  apiKey?: string;
  /** The online view's definition file (`--online`), when the server keeps one. */
  onlineView?: string;
  executor: ExecutorPolicy;
}

/**
 * Serves until SIGTERM or SIGINT, then stops (running jobs resume on the next start).
 * @throws UserError when the data folder is another server's (jobs/lock.ts) or the online view's file is refused.
 */
export async function serve(config: ServeConfig): Promise<void> {
  configureDuckDB({ memory_limit: CHECK_MEMORY_LIMIT }); // this thread's DuckDB too (submissions are checked on others: server/checker.ts)
  const unlock = lockDataDir(config.dataDir);
  let jobs: JobStore | undefined;
  try {
    const backend = await initBackend();
    jobs = new JobStore(path.join(config.dataDir, 'jobs.sqlite'));
    const online = config.onlineView ? { view: loadOnlineView(config.onlineView), store: await openOnlineStore(config.dataDir, config.executor.queue) } : undefined;
    await listenUntilStopped(config, { jobs, backend, models: new ModelStore(config.storeDir), roots: new DataRoots(config.roots), online });
  } finally {
    jobs?.close();
    unlock();
  }
}

/** What serve() opened for the app. */
interface Opened {
  jobs: JobStore;
  backend: { backend: string; device: string };
  models: ModelStore;
  roots: DataRoots;
  online?: AppOptions['online'];
}

/** Listens, resumes what was left running, and serves until SIGTERM or SIGINT. */
async function listenUntilStopped(config: ServeConfig, { jobs, backend, models, roots, online }: Opened): Promise<void> {
  const { concurrency, maxAttempts, maxQueued, bodyLimit, port, host, logLevel, executor, apiKey } = config;
  const scheduler = new Scheduler(jobs, { concurrency, modelStore: models.root, maxAttempts, executor });
  const app = await buildApp({
    logLevel,
    jobs,
    scheduler,
    models,
    roots,
    backend: { name: backend.backend, device: backend.device },
    apiKey,
    maxQueued,
    bodyLimit,
    online,
    queue: executor.queue,
  });
  scheduler.setLog(app.log);
  const restoreWarnings = setWarnSink((message) => app.log.warn(message));
  app.addHook('onClose', async () => void setWarnSink(restoreWarnings));
  const address = await app.listen({ port, host, backlog: LISTEN_BACKLOG });
  const resumed = scheduler.start();
  // One write, so a reader that sees the address sees the resumed jobs too.
  process.stdout.write(
    `audience-engine listening on ${address} (backend ${backend.backend}, ${concurrency} job(s) at a time, data roots ${roots.roots.join(', ')}, jobs in ${jobs.file}` +
      `${apiKey ? ', API key required' : ''})\n` +
      (resumed.length ? `resuming ${resumed.length} job(s) left running: ${resumed.join(', ')}\n` : ''),
  );
  await new Promise<void>((resolve) => {
    const stop = async () => {
      process.stdout.write('stopping: running jobs will resume on the next start\n');
      await app.close();
      await scheduler.stop();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

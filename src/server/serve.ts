/**
 * The job service started and run until SIGTERM or SIGINT: the data folder locked, the job
 * store and the online view opened, the app (server/app.ts) listening, the scheduler resuming
 * what was left running. `audience serve` (cli/commands/serve.ts) parses its flags into a
 * ServeConfig and imports this module only then, so its --help loads none of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../compute/backend.js';
import type { ExecutorPolicy } from '../execution/policy.js';
import { configureDuckDB } from '../io/duckdb.js';
import { ModelStore } from '../models/registry.js';
import { makeFolder } from '../util/files.js';
import { setWarnSink } from '../util/warn.js';
import { buildApp, type AppOptions } from './app.js';
import { LOCK_FILE, lockDataDir } from './jobs/lock.js';
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
 * A start that fails before it listens (a busy port, a refused online view) leaves no data
 * folder behind when it made that folder; one that existed is kept as it was found: the job
 * store and online store files this start created there are removed (removeAdded).
 * @throws UserError when the data folder is another server's (jobs/lock.ts) or the online view's file is refused.
 */
export async function serve(config: ServeConfig): Promise<void> {
  configureDuckDB({ memory_limit: CHECK_MEMORY_LIMIT }); // this thread's DuckDB too (submissions are checked on others: server/checker.ts)
  const view = config.onlineView ? loadOnlineView(config.onlineView, '--online') : undefined; // refused before anything is written
  const created = makeFolder(config.dataDir);
  const found = created ? undefined : new Set(fs.readdirSync(config.dataDir)); // what a folder that was there held
  let unlock: (() => void) | undefined;
  let jobs: JobStore | undefined;
  let listening = false;
  try {
    unlock = lockDataDir(config.dataDir);
    const backend = await initBackend();
    jobs = new JobStore(path.join(config.dataDir, 'jobs.sqlite'));
    const online = view ? { view, store: await openOnlineStore(config.dataDir, config.executor.queue) } : undefined;
    await listenUntilStopped(config, { jobs, backend, models: new ModelStore(config.storeDir), roots: new DataRoots(config.roots), online }, () => (listening = true));
  } finally {
    jobs?.close();
    // Removed while still locked, so no other server is using it; a folder whose lock another server holds is left alone.
    if (created && unlock && !listening) fs.rmSync(created, { recursive: true, force: true });
    if (found && unlock && !listening) removeAdded(config.dataDir, found);
    unlock?.();
  }
}

/**
 * Removes what a failed start added to a data folder that was there (`found`: its entries
 * before): a job store or online store it created, with their -wal/-shm; the lock is left to
 * its release. A SQLite companion of a file that was there is kept: it may hold that store's
 * committed writes.
 */
function removeAdded(dir: string, found: Set<string>): void {
  for (const name of fs.readdirSync(dir)) {
    const owner = /^(.*)-(wal|shm|journal)$/.exec(name)?.[1];
    if (found.has(name) || name === LOCK_FILE || (owner !== undefined && found.has(owner))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
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
async function listenUntilStopped(config: ServeConfig, { jobs, backend, models, roots, online }: Opened, listening: () => void): Promise<void> {
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
  let address: string;
  try {
    address = await app.listen({ port, host, backlog: LISTEN_BACKLOG });
  } catch (err) {
    await app.close(); // the checker's threads, the online store and the warning sink, as a stop would
    throw err;
  }
  listening();
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

/** `audience serve`: the batch job service (Fastify) with its job store and runners. */
import { checkRedisUrl } from '../../execution/redis.js';
import { executorPolicyFromEnv, type ExecutorPolicy } from '../../execution/policy.js';
import path from 'node:path';
import { initBackend } from '../../compute/backend.js';
import { lockDataDir } from '../../server/jobs/lock.js';
import { JobStore } from '../../server/jobs/store.js';
import { ModelStore } from '../../models/registry.js';
import { buildApp, type AppOptions } from '../../server/app.js';
import { loadOnlineView } from '../../server/online/view.js';
import { openOnlineStore } from '../../server/online/open-store.js';
import { configureDuckDB } from '../../io/duckdb.js';
import { CHECK_MEMORY_LIMIT } from '../../server/limits.js';
import { DataRoots } from '../../server/paths.js';
import { Scheduler } from '../../server/scheduler.js';
import { UserError } from '../../util/errors.js';
import { setWarnSink } from '../../util/warn.js';
import { list, num, type Command } from '../args.js';

const env = process.env;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/**
 * Connections the kernel may hold before they are accepted (capped by net.core.somaxconn). Node's
 * default, 511, drops the SYNs of a larger burst of new clients, which then wait about a second
 * to retry: 1,000 pollers connecting at once saw p99s over a second from that alone.
 */
const LISTEN_BACKLOG = 4096;

/** `audience serve`: the job service (server/app.ts) with its scheduler of runner processes. */
export const serve: Command = {
  name: 'serve',
  usage: `audience serve [--port 8080] [--host 127.0.0.1] [--data-root DIR ...] [--data-dir DIR]
               [--store DIR] [--concurrency 1] [--max-queued 100] [--body-limit 1048576] [--max-attempts 3]
               [--online view.json]

  --port N          listen port (AUDIENCE_PORT; 0 picks a free one; default 8080)
  --host H          listen address (AUDIENCE_HOST; default 127.0.0.1, 0.0.0.0 for all)
  --data-root DIR   a folder jobs may read from and write to; repeat for several
                    (AUDIENCE_DATA_ROOTS, separated by ':'; default the current folder).
                    Every input, output and file named in a job must resolve (after
                    symlinks) inside one; relative paths start at the first.
  --data-dir DIR    where the job store lives: DIR/jobs.sqlite (AUDIENCE_DATA_DIR; default ./data).
                    One server per folder: DIR/server.lock names the holder; a second
                    server on the same folder refuses to start.
  --store DIR       model store (AUDIENCE_MODEL_STORE; default ./models)
  --concurrency N   jobs run at once, each in its own process (AUDIENCE_CONCURRENCY; default 1)
  --max-queued N    queued jobs beyond which submissions get 429 (AUDIENCE_MAX_QUEUED; default 100)
  --body-limit N    request body limit in bytes (default 1 MiB; larger gets 413)
  --max-attempts N  runs of a job whose runner process dies (killed, out of memory) before
                    it fails; each retry resumes from the finished shards after a backoff
                    of 2, 4, 8... seconds (AUDIENCE_MAX_ATTEMPTS; default 3)
  --log-level L     the JSON log on stdout (pino): one line per request with its id, job
                    events with the job id, every 500 with its stack; trace, debug, info
                    (default), warn, error, silent (AUDIENCE_LOG_LEVEL)
  --online FILE     keep an online view: events posted to POST /v1/events (durable before the
                    answer), GET /v1/visitors/:id (features as 'audience events' computes them,
                    scores, audiences), GET /v1/audiences/:name/changes (enters and exits, long
                    poll). FILE names the event fields, models and audiences (see docs/online.md);
                    its state is DIR/online.sqlite (--data-dir), or Redis with REDIS_URL.
Submissions are checked on worker threads, DuckDB there under AUDIENCE_CHECK_MEMORY
(default 1GB); a CSV's first MiB is checked first (at most 10,000 fields a line).
Several hosts: --redis URL (or REDIS_URL) sends score jobs' shards to 'audience worker'
processes through BullMQ; the finalize still runs here. See 'audience worker --help'.
Without it, each runner scores a job's shards itself, or on one worker thread per core
(from 4 cores up; on fewer from 4,000,000 rows); AUDIENCE_WORKERS=N forces N (0: none).
API key: set AUDIENCE_API_KEY; then every route but /healthz and /readyz needs
"Authorization: Bearer <key>". (An environment variable, not a flag: flags show in ps.)

Routes: POST /v1/jobs, GET /v1/jobs[?status=&limit=&after=], GET /v1/jobs/:id,
POST /v1/jobs/:id/cancel, GET /v1/models, GET /v1/models/:name, GET /v1/models/:name/diff?a=&b=,
POST /v1/models/:name/rollback, POST /v1/score (rows of features in, model outputs out),
with --online POST /v1/events, GET /v1/visitors/:id, GET /v1/audiences/:name/changes;
GET /healthz, GET /readyz (503 while Redis does not answer), GET /metrics (Prometheus), GET /docs (OpenAPI). Jobs survive restarts: a job that was
running when the server stopped (or was killed) resumes from its finished shards.`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-root': { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    store: { type: 'string' },
    concurrency: { type: 'string' },
    'max-queued': { type: 'string' },
    'body-limit': { type: 'string' },
    'max-attempts': { type: 'string' },
    'log-level': { type: 'string' },
    redis: { type: 'string' },
    online: { type: 'string' },
  },
  async run(values) {
    // Several hosts: the runners send their shards to the workers through Redis (execution/shard-queue.ts).
    // Where runners send jobs' work: composed here once, handed to each runner (scheduler.ts) and to the routes.
    const fromEnv = executorPolicyFromEnv();
    const queue = typeof values.redis === 'string' ? checkRedisUrl(values.redis) : fromEnv.queue && checkRedisUrl(fromEnv.queue, 'REDIS_URL');
    const executor = { ...fromEnv, queue };
    const port = num(values.port ?? env.AUDIENCE_PORT ?? '8080', '--port', { int: true, min: 0, max: 65535 })!;
    const host = String(values.host ?? env.AUDIENCE_HOST ?? '127.0.0.1');
    const rootList = list(values['data-root']);
    const roots = new DataRoots(rootList.length ? rootList : (env.AUDIENCE_DATA_ROOTS?.split(':').filter(Boolean) ?? [process.cwd()]));
    const dataDir = path.resolve(String(values['data-dir'] ?? env.AUDIENCE_DATA_DIR ?? 'data'));
    const models = new ModelStore(typeof values.store === 'string' ? path.resolve(values.store) : undefined);
    const concurrency = num(values.concurrency ?? env.AUDIENCE_CONCURRENCY ?? '1', '--concurrency', { int: true, min: 1 })!;
    const maxQueued = num(values['max-queued'] ?? env.AUDIENCE_MAX_QUEUED ?? '100', '--max-queued', { int: true, min: 0 })!;
    const bodyLimit = num(values['body-limit'] ?? String(1 << 20), '--body-limit', { int: true, min: 1024 })!;

    const maxAttempts = num(values['max-attempts'] ?? env.AUDIENCE_MAX_ATTEMPTS ?? '3', '--max-attempts', { int: true, min: 1 })!;
    const logLevel = String(values['log-level'] ?? env.AUDIENCE_LOG_LEVEL ?? 'info');
    if (!LEVELS.includes(logLevel)) throw new UserError(`--log-level ${logLevel}: expected one of ${LEVELS.join(', ')}`);
    configureDuckDB({ memory_limit: CHECK_MEMORY_LIMIT }); // this thread's DuckDB too (submissions are checked on others: server/checker.ts)
    const unlock = lockDataDir(dataDir);
    let jobs: JobStore | undefined;
    try {
      const backend = await initBackend();
      jobs = new JobStore(path.join(dataDir, 'jobs.sqlite'));
      const online = typeof values.online === 'string' ? { view: loadOnlineView(path.resolve(values.online)), store: await openOnlineStore(dataDir, queue) } : undefined;
      await serveWith({ jobs, backend, roots, models, concurrency, maxAttempts, maxQueued, bodyLimit, port, host, logLevel, online, executor });
    } finally {
      jobs?.close();
      unlock();
    }
  },
};

interface ServeSetup {
  jobs: JobStore;
  backend: { backend: string; device: string };
  roots: DataRoots;
  models: ModelStore;
  concurrency: number;
  maxAttempts: number;
  maxQueued: number;
  bodyLimit: number;
  port: number;
  host: string;
  logLevel: string;
  online?: AppOptions['online'];
  executor: ExecutorPolicy;
}

/** Listens, resumes what was left running, and serves until SIGTERM or SIGINT. */
async function serveWith({ jobs, backend, roots, models, concurrency, maxAttempts, maxQueued, bodyLimit, port, host, logLevel, online, executor }: ServeSetup): Promise<void> {
  const scheduler = new Scheduler(jobs, { concurrency, modelStore: models.root, maxAttempts, executor });
  const app = await buildApp({
    logLevel,
    jobs,
    scheduler,
    models,
    roots,
    backend: { name: backend.backend, device: backend.device },
    apiKey: env.AUDIENCE_API_KEY || undefined,
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
      `${env.AUDIENCE_API_KEY ? ', API key required' : ''})\n` +
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

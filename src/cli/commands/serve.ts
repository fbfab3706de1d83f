/** `audience serve`: the batch job service (Fastify) with its job store and runners. */
import path from 'node:path';
import { checkRedisUrl } from '../../execution/redis.js';
import { executorPolicyFromEnv } from '../../execution/policy.js';
import type { ServeConfig } from '../../server/serve.js';
import { UserError } from '../../util/errors.js';
import { list, num, type Command } from '../args.js';

const env = process.env;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

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
    // Where runners send jobs' work: composed here once, handed to each runner (scheduler.ts) and to the routes.
    const fromEnv = executorPolicyFromEnv();
    const queue = typeof values.redis === 'string' ? checkRedisUrl(values.redis) : fromEnv.queue && checkRedisUrl(fromEnv.queue, 'REDIS_URL');
    const rootList = list(values['data-root']);
    const logLevel = String(values['log-level'] ?? env.AUDIENCE_LOG_LEVEL ?? 'info');
    if (!LEVELS.includes(logLevel)) throw new UserError(`--log-level ${logLevel}: expected one of ${LEVELS.join(', ')}`);
    const config: ServeConfig = {
      port: num(values.port ?? env.AUDIENCE_PORT ?? '8080', '--port', { int: true, min: 0, max: 65535 })!,
      host: String(values.host ?? env.AUDIENCE_HOST ?? '127.0.0.1'),
      roots: rootList.length ? rootList : (env.AUDIENCE_DATA_ROOTS?.split(':').filter(Boolean) ?? [process.cwd()]),
      dataDir: path.resolve(String(values['data-dir'] ?? env.AUDIENCE_DATA_DIR ?? 'data')),
      storeDir: typeof values.store === 'string' ? path.resolve(values.store) : undefined,
      concurrency: num(values.concurrency ?? env.AUDIENCE_CONCURRENCY ?? '1', '--concurrency', { int: true, min: 1 })!,
      maxQueued: num(values['max-queued'] ?? env.AUDIENCE_MAX_QUEUED ?? '100', '--max-queued', { int: true, min: 0 })!,
      bodyLimit: num(values['body-limit'] ?? String(1 << 20), '--body-limit', { int: true, min: 1024 })!,
      maxAttempts: num(values['max-attempts'] ?? env.AUDIENCE_MAX_ATTEMPTS ?? '3', '--max-attempts', { int: true, min: 1 })!,
      logLevel,
      apiKey: env.AUDIENCE_API_KEY || undefined,
      onlineView: typeof values.online === 'string' ? path.resolve(values.online) : undefined,
      executor: { ...fromEnv, queue },
    };
    // Imported now: --help loads neither the server nor the engines.
    await (await import('../../server/serve.js')).serve(config);
  },
};

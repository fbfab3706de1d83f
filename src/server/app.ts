/**
 * The HTTP API (Fastify). Jobs are validated and stored here, run by the scheduler's runner
 * processes, and read back from the store; no request waits on compute.
 */
import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { JobRecord, JobStore } from '../jobs/store.js';
import type { ModelStore } from '../models/registry.js';
import { UserError } from '../util/errors.js';
import { createMetrics } from './metrics.js';
import type { DataRoots } from './paths.js';
import type { Scheduler } from './scheduler.js';
import { Accepted, ErrorReply, JobId, JobRequest, ListQuery, ModelNameParams, type ScoreJobBody, type TrainJobBody } from './schemas.js';
import { checkScore, checkTrain } from './submit.js';

export interface AppOptions {
  jobs: JobStore;
  scheduler: Scheduler;
  models: ModelStore;
  roots: DataRoots;
  backend: { name: string; device: string };
  apiKey?: string;
  /** Queued jobs beyond which a submission is answered 429. */
  maxQueued: number;
  bodyLimit: number;
  /** Log level of the JSON request and job log (pino, on stdout): 'info' by default, 'silent' for none. */
  logLevel?: string;
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

/** Constant-time comparison of the Bearer token with the key (digests, so lengths never leak). */
function authorized(header: string | undefined, key: string): boolean {
  const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const a = crypto.createHash('sha256').update(token).digest();
  const b = crypto.createHash('sha256').update(key).digest();
  return crypto.timingSafeEqual(a, b) && token.length > 0;
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Ajv's first issue in words, with the field, and what was allowed where Ajv leaves it out. */
function validationMessage(context: string, issues: ValidationIssue[]): string {
  const e = issues[0];
  const field = `${context}${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'enum') return `${field} must be one of: ${(e.params.allowedValues as string[]).join(', ')}`;
  if (e.keyword === 'additionalProperties') return `${field} has an unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'discriminator') return `${field}.type must be "train" or "score"`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

/** A job as the API shows it: status, progress with rate and ETA, timings, backend, results. */
function jobView(job: JobRecord): Record<string, unknown> {
  const ms = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : null);
  const now = new Date().toISOString();
  // The rate of this run (shards finished before a restart are not in it); after the end, its average.
  const runEnd = job.status === 'running' ? now : job.finishedAt;
  const runSeconds = job.runStartedAt && runEnd ? (ms(job.runStartedAt, runEnd) ?? 0) / 1000 : null;
  const rate = runSeconds && job.runRows > 0 ? job.runRows / runSeconds : null;
  const left = job.rowsTotal !== null ? job.rowsTotal - job.rowsDone : null;
  const spec = job.spec;
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    stage: job.stage,
    request: job.type === 'score' ? { input: spec.input, models: spec.models, output: spec.output } : { model: spec.model, name: spec.name, input: spec.input },
    progress: {
      rowsDone: job.rowsDone,
      rowsTotal: job.rowsTotal,
      shardsDone: job.shardsDone,
      shardsTotal: job.shardsTotal,
      rowsPerSecond: rate,
      etaSeconds: job.status === 'running' && rate && left !== null ? left / rate : null,
    },
    timings: {
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      queuedSeconds: (ms(job.createdAt, job.startedAt ?? (job.status === 'queued' ? now : null)) ?? 0) / 1000,
      runSeconds: job.startedAt ? (ms(job.startedAt, job.finishedAt ?? now) ?? 0) / 1000 : null,
    },
    backend: job.backend ? { name: job.backend, device: job.device } : null,
    attempts: job.attempts,
    result: job.result,
    error: job.error,
    /** The runner's last output lines (a train job's report). */
    log: job.log,
    links: { self: `/v1/jobs/${job.id}`, cancel: `/v1/jobs/${job.id}/cancel` },
  };
}

/** The Fastify app with every route, strict validation, the log and the error mapping (UserError -> 400). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { jobs, scheduler, models, roots } = opts;
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }), // one line per request, written when it completes (below)
    bodyLimit: opts.bodyLimit,
    // Strict: an unknown field is an error (not dropped), and no type is coerced ("5" is not 5).
    ajv: { customOptions: { discriminator: true, allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are JSON: any other content type is a 415, not a schema error about its parsed form.
  app.removeContentTypeParser('text/plain');
  let ready = false;

  await app.register(swagger, {
    openapi: {
      info: { title: 'audience-engine', version: '0.1.0', description: 'Train and score audience models in batch jobs.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.apiKey ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (req, reply) => {
    if (!opts.apiKey || OPEN_ROUTES.has(req.url.split('?')[0])) return;
    if (!authorized(req.headers.authorization, opts.apiKey)) {
      reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'a valid API key is required: Authorization: Bearer <key>' });
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, _req, reply) => {
    if ((err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ statusCode: 415, error: 'Unsupported Media Type', message: 'send the body as JSON (Content-Type: application/json)' });
    }
    if (err.validation) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: validationMessage(err.validationContext ?? 'body', err.validation) });
    if (err instanceof UserError) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error(err);
    return reply.code(status).send({ statusCode: status, error: status === 500 ? 'Internal Server Error' : err.name, message: status === 500 ? 'internal error; see the server log' : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  const registry = createMetrics(jobs, () => opts.backend);
  const notFound = (id: string) => ({ statusCode: 404, error: 'Not Found', message: `no job ${id}` });

  app.post(
    '/v1/jobs',
    { schema: { summary: 'Submit a train or score job', body: JobRequest, response: { 202: Accepted, 400: ErrorReply, 409: ErrorReply, 415: ErrorReply, 429: ErrorReply } } },
    async (req, reply) => {
      const body = req.body as TrainJobBody | ScoreJobBody;
      if (jobs.counts().queued >= opts.maxQueued) {
        return reply.code(429).send({ statusCode: 429, error: 'Too Many Requests', message: `the queue is full (${opts.maxQueued} jobs waiting); retry when jobs have started` });
      }
      const spec = body.type === 'train' ? await checkTrain(body, roots) : await checkScore(body, roots, models, () => jobs.activeIds());
      if (body.type === 'score') {
        const holder = jobs.activeWithOutput((spec as { output: string }).output);
        if (holder) {
          return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: `output ${body.output} is in use by job ${holder} (queued or running); wait for it, cancel it, or choose another folder` });
        }
      }
      const job = jobs.create(body.type, spec as unknown as Record<string, unknown>);
      req.log.info({ job: job.id, type: body.type }, 'job submitted');
      scheduler.poke();
      reply.header('location', `/v1/jobs/${job.id}`);
      return reply.code(202).send({ id: job.id, status: job.status, links: { self: `/v1/jobs/${job.id}`, cancel: `/v1/jobs/${job.id}/cancel` } });
    },
  );

  app.get('/v1/jobs', { schema: { summary: 'List jobs, newest first', querystring: ListQuery } }, async (req) => {
    const { status, after } = req.query;
    const limit = Number(req.query.limit ?? 50);
    const page = jobs.list({ status, limit, after });
    return { jobs: page.map(jobView), next: page.length === limit ? page[page.length - 1].id : null };
  });

  app.get('/v1/jobs/:id', { schema: { summary: 'A job: status, progress, timings, results', params: JobId } }, async (req, reply) => {
    const job = jobs.get(req.params.id);
    return job ? jobView(job) : reply.code(404).send(notFound(req.params.id));
  });

  app.post('/v1/jobs/:id/cancel', { schema: { summary: 'Cancel a queued or running job', params: JobId } }, async (req, reply) => {
    const job = jobs.get(req.params.id);
    if (!job) return reply.code(404).send(notFound(req.params.id));
    req.log.info({ job: job.id }, 'job cancel requested');
    if (!(await scheduler.cancel(job.id))) {
      return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: `job ${job.id} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}` });
    }
    return jobView(jobs.get(job.id)!);
  });

  app.get('/v1/models', { schema: { summary: 'Models in the store' } }, async () => ({
    models: models.names().map((name) => ({ name, versions: models.versions(name), promoted: models.promoted(name) ?? null })),
  }));

  app.get('/v1/models/:name', { schema: { summary: 'A model: its versions with kind, metrics and data', params: ModelNameParams } }, async (req, reply) => {
    const { name } = req.params;
    if (!models.names().includes(name)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no model "${name}"` });
    return {
      name,
      promoted: models.promoted(name) ?? null,
      versions: models.versions(name).map((v) => {
        const m = models.manifest(`${name}@${v}`);
        return { version: v, kind: m.kind, createdAt: m.createdAt, backend: m.backend, data: m.data, params: m.params, metrics: m.metrics };
      }),
    };
  });

  app.get('/healthz', { schema: { summary: 'Liveness, backend and job counts' } }, async () => ({
    status: 'ok',
    backend: opts.backend,
    jobs: jobs.counts(),
    running: scheduler.active,
    uptimeSeconds: process.uptime(),
  }));

  app.get('/readyz', { schema: { summary: 'Ready to take jobs' } }, async (_req, reply) => (ready ? { ready: true } : reply.code(503).send({ ready: false })));

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.addHook('onReady', async () => {
    ready = true;
  });
  app.addHook('onClose', async () => {
    ready = false;
  });
  return app;
}

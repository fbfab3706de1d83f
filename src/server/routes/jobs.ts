/** The job routes: submit, list, read, cancel. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { JobRecord } from '../jobs/store.js';
import { Accepted, ErrorReply, JobId, jobRequestSchema, JobView, JobList, ListQuery, type ScoreJobBody, type TrainJobBody } from '../schemas.js';
import { CheckersBusyError } from '../checker.js';
import { pingRedis } from '../../execution/redis.js';
import { findKind } from '../../models/kinds.js';
import { storeUnavailable } from '../plugins/errors.js';
import type { Services } from '../services.js';

/** A job as the API shows it: status, progress with rate and ETA, timings, backend, results. */
export function jobView(job: Readonly<JobRecord>): Static<typeof JobView> {
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
    request: job.type === 'score' ? { input: spec.input, models: spec.models, output: spec.output } : { model: spec.model, name: spec.name, input: spec.input, params: spec.params ?? {} },
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

/** An answer that refuses a submission: its status, the Retry-After seconds (a 503's), and the error body. */
interface Refusal {
  code: 409 | 429 | 503;
  retryAfter?: string;
  body: { statusCode: number; error: string; message: string };
}

/**
 * Why a job cannot be queued now, asked before it is checked: the job store cannot be
 * written (503), the queue is full (429), or Redis does not answer for a job whose work goes
 * through the queue (503). Null when it can be queued.
 */
async function queueRefusal(services: Services, body: TrainJobBody | ScoreJobBody): Promise<Refusal | null> {
  const { jobs, maxQueued } = services;
  const unwritable = jobs.probeWrite();
  if (unwritable) return { code: 503, retryAfter: '30', body: storeUnavailable(unwritable) };
  if (jobs.counts().queued >= maxQueued) {
    return { code: 429, body: { statusCode: 429, error: 'Too Many Requests', message: `the queue is full (${maxQueued} jobs waiting); retry when jobs have started` } };
  }
  // Several hosts: a job whose work goes through the queue is refused while Redis is away, not failed later.
  const url = services.queue;
  if (url && (body.type === 'score' || findKind(body.model)?.usesWorkers)) {
    const answer = await pingRedis(url);
    if (answer !== 'ok') {
      return {
        code: 503,
        retryAfter: '30',
        body: { statusCode: 503, error: 'Service Unavailable', message: `Redis (REDIS_URL) does not answer (${answer}): the job's work cannot be queued; retry when /readyz is ready` },
      };
    }
  }
  return null;
}

/**
 * Checks a submission on a checking thread (server/checker.ts: this thread keeps answering
 * meanwhile), passing its warnings to `warn`; a score job's output folder must not be an
 * active job's.
 * @returns the checked spec, or the refusal: 503 while every checker is busy, 409 for an output in use.
 * @throws what the check throws (a UserError, which the error handler answers 400).
 */
async function checkedSpec(services: Services, body: TrainJobBody | ScoreJobBody, warn: (w: string) => void): Promise<{ spec: Record<string, unknown> } | Refusal> {
  const { jobs, checker } = services;
  let spec: Record<string, unknown>;
  try {
    const checked = await checker.check(body, jobs.activeIds());
    for (const w of checked.warnings) warn(w);
    spec = checked.spec;
  } catch (err) {
    if (!(err instanceof CheckersBusyError)) throw err;
    return { code: 503, retryAfter: '5', body: { statusCode: 503, error: 'Service Unavailable', message: err.message } };
  }
  if (body.type === 'score') {
    const holder = jobs.activeWithOutput((spec as { output: string }).output);
    if (holder) {
      return { code: 409, body: { statusCode: 409, error: 'Conflict', message: `output ${body.output} is in use by job ${holder} (queued or running); wait for it, cancel it, or choose another folder` } };
    }
  }
  return { spec };
}

/** POST /v1/jobs (train or score, checked before it is queued), GET /v1/jobs[/:id], POST /v1/jobs/:id/cancel. */
export const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { jobs, scheduler } = app.services;
  const notFound = (id: string) => ({ statusCode: 404, error: 'Not Found', message: `no job ${id}` });
  // A job whose next state waits on a job store that cannot be written says so as its stage.
  const view = (job: Readonly<JobRecord>) => {
    const waiting = scheduler.waiting(job.id);
    return waiting ? { ...jobView(job), stage: `waiting: ${waiting}` } : jobView(job);
  };

  app.post(
    '/v1/jobs',
    { schema: { summary: 'Submit a train or score job', body: jobRequestSchema(), response: { 202: Accepted, 400: ErrorReply, 409: ErrorReply, 415: ErrorReply, 429: ErrorReply, 503: ErrorReply } } },
    async (req, reply) => {
      const body = req.body as TrainJobBody | ScoreJobBody;
      const refused = (r: Refusal) => (r.retryAfter ? reply.code(r.code).header('retry-after', r.retryAfter) : reply.code(r.code)).send(r.body);
      const refusal = await queueRefusal(app.services, body);
      if (refusal) return refused(refusal);
      const checked = await checkedSpec(app.services, body, (w) => req.log.warn(w));
      if (!('spec' in checked)) return refused(checked);
      const job = jobs.create(body.type, checked.spec);
      req.log.info({ job: job.id, type: body.type }, 'job submitted');
      scheduler.poke();
      reply.header('location', `/v1/jobs/${job.id}`);
      return reply.code(202).send({ id: job.id, status: job.status, links: { self: `/v1/jobs/${job.id}`, cancel: `/v1/jobs/${job.id}/cancel` } });
    },
  );

  app.get('/v1/jobs', { schema: { summary: 'List jobs, newest first', querystring: ListQuery, response: { 200: JobList } } }, async (req) => {
    const { status, after } = req.query;
    const limit = Number(req.query.limit ?? 50);
    const page = jobs.list({ status, limit, after });
    // Without result and log: a page of 50 full views could hold 50 manifests and reports.
    return { jobs: page.map((job) => ({ ...view(job), result: undefined, log: undefined })), next: page.length === limit ? page[page.length - 1].id : null };
  });

  app.get('/v1/jobs/:id', { schema: { summary: 'A job: status, progress, timings, results', params: JobId, response: { 200: JobView, 404: ErrorReply } } }, async (req, reply) => {
    const job = jobs.read(req.params.id); // parsed once per change of the store: polls of a job are cheap
    return job ? view(job) : reply.code(404).send(notFound(req.params.id));
  });

  app.post(
    '/v1/jobs/:id/cancel',
    { schema: { summary: 'Cancel a queued or running job', params: JobId, response: { 200: JobView, 404: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      const job = jobs.get(req.params.id);
      if (!job) return reply.code(404).send(notFound(req.params.id));
      req.log.info({ job: job.id }, 'job cancel requested');
      if (!(await scheduler.cancel(job.id))) {
        return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: `job ${job.id} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}` });
      }
      return view(jobs.get(job.id)!);
    },
  );
};

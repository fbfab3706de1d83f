/** Probes and metrics: /healthz (liveness, backend, job counts), /readyz (the job store writable, probed at most once a second; Redis), /metrics (Prometheus). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createMetrics } from '../metrics.js';
import { Health, Ready } from '../schemas.js';
import { pingRedis } from '../../execution/redis.js';

/** How long /readyz reuses the job store's last write probe (ms). */
export const PROBE_TTL_MS = 1000;

/** Liveness (/healthz), readiness (/readyz: the job store takes a write, Redis answers) and Prometheus metrics (/metrics). */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { jobs, scheduler, backend, queue } = app.services;
  let ready = false;
  const registry = createMetrics(jobs, () => backend);
  // The store's write probe at most once per PROBE_TTL_MS: a burst of probes costs one write (and its fsync), not one each.
  let probed: { at: number; problem: string | undefined } | undefined;
  const probe = () => {
    if (!probed || Date.now() - probed.at >= PROBE_TTL_MS) probed = { at: Date.now(), problem: jobs.probeWrite() };
    return probed.problem;
  };

  app.get('/healthz', { schema: { summary: 'Liveness, backend and job counts', response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    backend,
    jobs: jobs.counts(),
    running: scheduler.active,
    uptimeSeconds: process.uptime(),
  }));

  app.get('/readyz', { schema: { summary: 'Ready to take jobs: the job store takes writes (and, with --redis or REDIS_URL, Redis answers)', response: { 200: Ready, 503: Ready } } }, async (_req, reply) => {
    if (!ready) return reply.code(503).send({ ready: false });
    const store = probe();
    if (store) return reply.code(503).send({ ready: false, store });
    if (!queue) return { ready: true };
    const redis = await pingRedis(queue);
    return redis === 'ok' ? { ready: true, redis } : reply.code(503).send({ ready: false, redis });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format): jobs by status, rows scored, rows/s per job, shard seconds, backend', produces: ['text/plain'] } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.addHook('onReady', async () => {
    ready = true;
  });
  app.addHook('onClose', async () => {
    ready = false;
  });
};

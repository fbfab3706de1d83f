/** One log line per request, written when it completes: request id, method, URL, status, milliseconds. */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export const requestLog = fp(async (app) => {
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });
}) as FastifyPluginAsync;

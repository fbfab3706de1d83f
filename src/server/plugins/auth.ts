/** API key: every route but the open ones needs "Authorization: Bearer <key>" (compared in constant time). */
import crypto from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/** Routes open without the key (probes). */
export const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

/** Constant-time comparison of the Bearer token with the key (digests, so lengths never leak). */
export function authorized(header: string | undefined, key: string): boolean {
  const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const a = crypto.createHash('sha256').update(token).digest();
  const b = crypto.createHash('sha256').update(key).digest();
  return crypto.timingSafeEqual(a, b) && token.length > 0;
}

/** Checks the key on every request of the app (not encapsulated: it guards every route). */
export const auth = fp<{ apiKey?: string }>(async (app, opts) => {
  if (!opts.apiKey) return;
  const key = opts.apiKey;
  app.addHook('onRequest', async (req, reply) => {
    if (OPEN_ROUTES.has(req.url.split('?')[0])) return;
    if (!authorized(req.headers.authorization, key)) {
      reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'a valid API key is required: Authorization: Bearer <key>' });
    }
  });
}) as FastifyPluginAsync<{ apiKey?: string }>;

/**
 * Errors as answers: schema failures and bad input (UserError) are 400 with the field and what
 * was expected, a conflict with work in progress (ConflictError) 409, a job store that cannot
 * be written (StoreWriteError) 503, a body that is not JSON is 415, an unknown route 404;
 * anything else is a 500 whose stack goes to the log. Every error body carries a stable `code`
 * from util/errors.ts ERROR_CODES beside its message: the error's own, else its status's.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { audiencesProblem } from '../../audiences/definition.js';
import { ConflictError, errorCode, UserError, type ErrorCode } from '../../util/errors.js';
import { StoreWriteError } from '../jobs/store.js';

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Ajv's first issue in words, with the field, and what was allowed where Ajv leaves it out. */
export function validationMessage(context: string, issues: ValidationIssue[]): string {
  const e = issues[0];
  const field = `${context}${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'enum') return `${field} must be one of: ${(e.params.allowedValues as string[]).join(', ')}`;
  if (e.keyword === 'additionalProperties') return `${field} has an unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'discriminator') return `${field}.type must be "train" or "score"`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

/** The 503 answer while the job store cannot be written (`why`: "cannot write <file>: <reason>"). */
export function storeUnavailable(why: string) {
  return { statusCode: 503, error: 'Service Unavailable', message: `the job store cannot be written (${why}); retry when /readyz is ready` };
}

/** The code of an error answer that names none, by its status. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'AE_BAD_INPUT',
  401: 'AE_UNAUTHORIZED',
  404: 'AE_NOT_FOUND',
  409: 'AE_CONFLICT',
  413: 'AE_TOO_LARGE',
  415: 'AE_MEDIA_TYPE',
  429: 'AE_QUEUE_FULL',
  503: 'AE_UNAVAILABLE',
};

export const errors = fp(async (app) => {
  // Every error body gets its code (routes answering 404 or 429 themselves included).
  app.addHook('preSerialization', async (_req, reply, payload) => {
    if (reply.statusCode < 400 || !payload || typeof payload !== 'object' || Array.isArray(payload) || 'code' in payload) return payload;
    return { ...payload, code: CODE_OF_STATUS[reply.statusCode] ?? (reply.statusCode >= 500 ? 'AE_INTERNAL' : 'AE_BAD_INPUT') };
  });
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, req, reply) => {
    if ((err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ statusCode: 415, error: 'Unsupported Media Type', code: 'AE_MEDIA_TYPE', message: 'send the body as JSON (Content-Type: application/json)' });
    }
    if (err.validation) {
      // Audience definitions get the words a definitions file gets (one schema, one message).
      const body = req.body as { audiences?: unknown } | undefined;
      const audiences = err.validationContext === 'body' && err.validation[0]?.instancePath.startsWith('/audiences') ? audiencesProblem(body?.audiences) : undefined;
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: 'AE_VALIDATION', message: audiences ? `audiences: ${audiences}` : validationMessage(err.validationContext ?? 'body', err.validation) });
    }
    if (err instanceof StoreWriteError) return reply.code(503).header('retry-after', '30').send({ ...storeUnavailable(err.message), code: 'AE_STORE_UNAVAILABLE' });
    if (err instanceof ConflictError) return reply.code(409).send({ statusCode: 409, error: 'Conflict', code: errorCode(err), message: err.message });
    if (err instanceof UserError) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: errorCode(err), message: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error(err);
    return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', ...(status === 500 && { code: 'AE_INTERNAL' }), message: status === 500 ? 'internal error; see the server log' : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));
}) as FastifyPluginAsync;

/**
 * The online view's routes (server/online/engine.ts): POST /v1/events, GET /v1/visitors/{id},
 * GET /v1/audiences/{name}/changes (long poll). Without `--online` they answer 404 saying how to
 * start one.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAX_CHANGES_PER_POLL, MAX_CHANGES_WAIT_SECONDS } from '../limits.js';
import { AudienceParams, ChangesQuery, ChangesReply, ErrorReply, EventsReply, EventsRequest, VisitorParams, VisitorQuery, VisitorReply } from '../schemas.js';

const DAY_MS = 86_400_000;
const DEFAULT_WAIT_SECONDS = 25;

/** POST /v1/events, GET /v1/visitors/:id, GET /v1/audiences/:name/changes. */
export const onlineRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { online } = app.services;
  const notFound = (message: string) => ({ statusCode: 404, error: 'Not Found', message });
  const noView = notFound('this server keeps no online view: start it with audience serve --online view.json');

  app.post(
    '/v1/events',
    {
      schema: {
        summary: 'Store events (durable before the answer); each bad event is refused with its reason, the good ones kept',
        body: EventsRequest,
        response: { 200: EventsReply, 400: ErrorReply, 404: ErrorReply, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      if (!online) return reply.code(404).send(noView);
      const { accepted, refused } = await online.ingest(req.body.events);
      if (accepted === 0) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `no event accepted: events[${refused[0].index}]: ${refused[0].reason}` });
      return { accepted, refused };
    },
  );

  app.get(
    '/v1/visitors/:id',
    {
      schema: {
        summary: "A visitor's features as audience events computes them (as of a day), every model's outputs, and its audiences",
        params: VisitorParams,
        querystring: VisitorQuery,
        response: { 200: VisitorReply, 400: ErrorReply, 404: ErrorReply },
      },
    },
    async (req, reply) => {
      if (!online) return reply.code(404).send(noView);
      const asOf = req.query.asOf;
      const ms = asOf === undefined ? undefined : Date.parse(`${asOf}T00:00:00Z`);
      if (ms !== undefined && (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== asOf)) {
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `querystring.asOf ${asOf} is not a date (YYYY-MM-DD)` });
      }
      const view = await online.visitor(req.params.id, ms === undefined ? undefined : ms / DAY_MS);
      return view ?? reply.code(404).send(notFound(`visitor "${req.params.id}" has no event on or before ${asOf ?? 'today'}`));
    },
  );

  app.get(
    '/v1/audiences/:name/changes',
    {
      schema: {
        summary: "An audience's enters and exits after a cursor, waiting up to `wait` seconds for one (long poll)",
        params: AudienceParams,
        querystring: ChangesQuery,
        response: { 200: ChangesReply, 400: ErrorReply, 404: ErrorReply },
      },
    },
    async (req, reply) => {
      if (!online) return reply.code(404).send(noView);
      const { name } = req.params;
      if (!online.audienceNames().includes(name)) return reply.code(404).send(notFound(`the online view keeps no audience "${name}" (audiences: ${online.audienceNames().join(', ') || 'none'})`));
      const after = Number(req.query.after ?? 0);
      const wait = Number(req.query.wait ?? DEFAULT_WAIT_SECONDS);
      const limit = Number(req.query.limit ?? MAX_CHANGES_PER_POLL);
      if (wait > MAX_CHANGES_WAIT_SECONDS || limit < 1 || limit > MAX_CHANGES_PER_POLL) {
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `querystring: wait is 0 to ${MAX_CHANGES_WAIT_SECONDS} seconds and limit 1 to ${MAX_CHANGES_PER_POLL}` });
      }
      const changes = await online.changesAfter(name, after, limit, wait * 1000);
      return { changes, cursor: changes.length ? changes[changes.length - 1].cursor : after };
    },
  );
};

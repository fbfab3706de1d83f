/**
 * POST /v1/score: rows of features in, each model's outputs out, with no state: the lowest-latency
 * path, for callers that hold the features themselves. The models are the stored versions as
 * batch scoring loads them (server/model-cache.ts), scored by server/row-scorer.ts, so a row
 * scores as the same row in a file scored by `audience score`: population outputs (percentile,
 * rank, bucket) are not per row and are left out.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pinnedRef } from '../../models/load.js';
import { ErrorReply, ScoreReply, ScoreRequest } from '../schemas.js';

/** POST /v1/score. */
export const scoreRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { modelCache } = app.services;
  app.post(
    '/v1/score',
    {
      schema: {
        summary: 'Score rows of features with stored models (no state; the outputs batch scoring writes per row, without percentiles and ranks)',
        body: ScoreRequest,
        response: { 200: ScoreReply, 400: ErrorReply, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req) => {
      return modelCache.withScorer(req.body.models, async (scorer) => {
        const scored = await scorer.score(req.body.rows, 'rows');
        return { models: scorer.models.map((m) => ({ ref: pinnedRef(m), kind: m.manifest.kind, engine: m.engine ?? 'tfjs' })), ...scored };
      });
    },
  );
};

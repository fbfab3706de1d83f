/**
 * POST /v1/score: rows of features in, each model's outputs out, with no state: the lowest-latency
 * path, for callers that hold the features themselves. The models are the stored versions as
 * batch scoring loads them (server/model-cache.ts), so a row scores as the same row in a file
 * scored by `audience score`: population outputs (percentile, rank, bucket) are not per row and
 * are left out.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { columnRequest } from '../../features/transform.js';
import type { ColumnRequest } from '../../io/columns.js';
import { checkRowFields, jsonRowsBatch, outputRow, type JsonCell } from '../../io/json-rows.js';
import { pinnedRef } from '../../models/load.js';
import { scoreColumns, type ScoringModel } from '../../models/model.js';
import type { OutputData } from '../../io/writer.js';
import { ErrorReply, ScoreReply, ScoreRequest } from '../schemas.js';

/** The columns a model reads from a row (its features; not its id). */
function featureRequests(model: ScoringModel): ColumnRequest[] {
  return columnRequest({ ...model.transform, id: { column: null, as: 'row' } });
}

/**
 * Every model's outputs for rows of features, as JSON rows. A row may carry the models' id
 * columns (not read); any other field no model reads is refused.
 * @throws UserError naming the row and field that is unknown, missing or of the wrong type.
 */
export async function scoreRows(models: ScoringModel[], rows: Array<Record<string, JsonCell>>, where: string): Promise<{ rows: Array<Record<string, JsonCell>>; imputed: number }> {
  const known = new Set(models.flatMap((m) => [...featureRequests(m).map((r) => r.name), ...(m.transform.id.column === null ? [] : [m.transform.id.column])]));
  checkRowFields(rows, known, where);
  const batches = models.map((m) => jsonRowsBatch(rows, featureRequests(m), where));
  // The models run at once: onnxruntime runs each session off the event loop.
  const scored = await Promise.all(models.map((m, i) => scoreColumns(m, batches[i])));
  const outputs: Record<string, OutputData> = Object.assign({}, ...scored.map((s) => s.outputs));
  return { rows: rows.map((_, i) => outputRow(outputs, i)), imputed: scored.reduce((a, s) => a + s.imputed, 0) };
}

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
      const models = await Promise.all(req.body.models.map((ref) => modelCache.get(ref)));
      const scored = await scoreRows(models, req.body.rows, 'rows');
      return { models: models.map((m) => ({ ref: pinnedRef(m), kind: m.manifest.kind, engine: m.engine ?? 'tfjs' })), ...scored };
    },
  );
};

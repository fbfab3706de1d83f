/** The model routes: the store's models, one model's versions, two versions compared, a rollback. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { diffManifests } from '../../models/diff.js';
import { ModelNameParams } from '../schemas.js';

const VersionQuery = Type.Object(
  { a: Type.String({ pattern: '^[0-9]+$', description: 'the first version' }), b: Type.String({ pattern: '^[0-9]+$', description: 'the second version' }) },
  { additionalProperties: false },
);

export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { models } = app.services;
  app.get('/v1/models', { schema: { summary: 'Models in the store' } }, async () => ({
    models: models.names().map((name) => ({ name, versions: models.versions(name), promoted: models.promoted(name) ?? null })),
  }));

  app.get(
    '/v1/models/:name/diff',
    { schema: { summary: 'Two versions compared: metrics with deltas, parameters changed, data fingerprints', params: ModelNameParams, querystring: VersionQuery } },
    async (req) => diffManifests(models.manifest(`${req.params.name}@${req.query.a}`), models.manifest(`${req.params.name}@${req.query.b}`)),
  );

  app.post('/v1/models/:name/rollback', { schema: { summary: 'Promote again the version promoted before (to: null, none: the latest)', params: ModelNameParams } }, async (req) =>
    models.rollback(req.params.name),
  );

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
};

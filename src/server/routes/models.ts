/** The model routes: the store's models, and one model's versions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ModelNameParams } from '../schemas.js';

export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { models } = app.services;
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
};

/** The model routes: the store's models, one model's versions, two versions compared, a rollback. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { diffManifests } from '../../models/diff.js';
import { renderReport } from '../../report/report.js';
import { ErrorReply, ModelDetail, ModelDiffView, ModelList, ModelNameParams, Rollback } from '../schemas.js';

const VersionQuery = Type.Object(
  { a: Type.String({ pattern: '^[0-9]+$', description: 'the first version' }), b: Type.String({ pattern: '^[0-9]+$', description: 'the second version' }) },
  { additionalProperties: false },
);

const VersionParams = Type.Object(
  { name: ModelNameParams.properties.name, version: Type.String({ pattern: '^[0-9]{1,9}$', description: 'version number' }) },
  { additionalProperties: false },
);

/** The model store over HTTP: models, versions, diff, rollback and the HTML report. */
export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { models } = app.services;
  const notFound = (what: string) => ({ statusCode: 404, error: 'Not Found', message: what });
  /** The model's report page, or a 404 naming what is missing. */
  const reportPage = async (name: string, version: number | undefined, reply: FastifyReply) => {
    if (!models.names().includes(name)) return reply.code(404).send(notFound(`no model "${name}"`));
    if (version !== undefined && !models.versions(name).includes(version)) return reply.code(404).send(notFound(`model "${name}" has no version ${version} (versions: ${models.versions(name).join(', ')})`));
    const html = await renderReport(models.manifest(version === undefined ? name : `${name}@${version}`));
    return reply.type('text/html; charset=utf-8').send(html);
  };

  app.get(
    '/v1/models/:name/report',
    { schema: { summary: "The model's HTML report (the promoted version, else the latest): charts, data checks, fairness by group", params: ModelNameParams, produces: ['text/html'], response: { 404: ErrorReply } } },
    async (req, reply) => reportPage(req.params.name, undefined, reply),
  );
  app.get(
    '/v1/models/:name/:version/report',
    { schema: { summary: 'The HTML report of one version', params: VersionParams, produces: ['text/html'], response: { 404: ErrorReply } } },
    async (req, reply) => reportPage(req.params.name, Number(req.params.version), reply),
  );
  app.get('/v1/models', { schema: { summary: 'Models in the store', response: { 200: ModelList } } }, async () => ({
    models: models.names().map((name) => ({ name, versions: models.versions(name), promoted: models.promoted(name) ?? null })),
  }));

  app.get(
    '/v1/models/:name/diff',
    { schema: { summary: 'Two versions compared: metrics with deltas, parameters changed, data fingerprints', params: ModelNameParams, querystring: VersionQuery, response: { 200: ModelDiffView, 400: ErrorReply } } },
    async (req) => diffManifests(models.manifest(`${req.params.name}@${req.query.a}`), models.manifest(`${req.params.name}@${req.query.b}`)),
  );

  app.post('/v1/models/:name/rollback', { schema: { summary: 'Promote again the version promoted before (to: null, none: the latest)', params: ModelNameParams, response: { 200: Rollback, 400: ErrorReply } } }, async (req) =>
    models.rollback(req.params.name),
  );

  app.get('/v1/models/:name', { schema: { summary: 'A model: its versions with kind, metrics and data', params: ModelNameParams, response: { 200: ModelDetail, 404: ErrorReply } } }, async (req, reply) => {
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

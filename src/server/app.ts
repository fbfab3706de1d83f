/**
 * The HTTP API (Fastify): one plugin per concern (auth, errors, the request log; the job,
 * model and health routes), the shared services decorated once. Jobs are validated and
 * stored here, run by the scheduler's runner processes, and read back from the store; no
 * request waits on compute.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { JobStore } from './jobs/store.js';
import type { ModelStore } from '../models/registry.js';
import { SubmissionChecker } from './checker.js';
import type { DataRoots } from './paths.js';
import { auth } from './plugins/auth.js';
import { errors } from './plugins/errors.js';
import { requestLog } from './plugins/request-log.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { scoreRoutes } from './routes/score.js';
import { ModelCache } from './model-cache.js';
import { OnlineEngine } from './online/engine.js';
import type { OnlineStore } from './online/store.js';
import type { OnlineView } from './online/view.js';
import { onlineRoutes } from './routes/online.js';
import type { Scheduler } from './scheduler.js';
import type { Services } from './services.js';

export interface AppOptions {
  jobs: JobStore;
  scheduler: Scheduler;
  models: ModelStore;
  roots: DataRoots;
  backend: { name: string; device: string };
  apiKey?: string;
  /** Queued jobs beyond which a submission is answered 429. */
  maxQueued: number;
  bodyLimit: number;
  /** The online view (`audience serve --online`): its file, its store; the clock (tests move it). */
  online?: { view: OnlineView; store: OnlineStore; now?: () => number };
  /** Log level of the JSON request and job log (pino, on stdout): 'info' by default, 'silent' for none. */
  logLevel?: string;
  /** The Redis URL that jobs' work goes through (the runners get it from the scheduler): submissions that need it are refused while it does not answer, and /readyz asks it. */
  queue?: string;
}

/** The Fastify app with every route, strict validation, the log and the error mapping (UserError -> 400). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }), // one line per request, written when it completes (request-log plugin)
    bodyLimit: opts.bodyLimit,
    // Strict: an unknown field is an error (not dropped), and no type is coerced ("5" is not 5).
    ajv: { customOptions: { discriminator: true, allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: true, keywords: ['expected', 'x-arg', 'x-list'] } }, // 'expected': what a field's messages say it must be (util/schema.ts); 'x-arg', 'x-list': help annotations of options declared for the CLI too (scoring/score-options.ts)
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are JSON: any other content type is a 415, not a schema error about its parsed form.
  app.removeContentTypeParser('text/plain');
  const checker = new SubmissionChecker(opts.roots.roots, opts.models.root);
  app.addHook('onClose', async () => checker.close());
  const modelCache = new ModelCache(opts.models);
  app.addHook('onClose', async () => modelCache.close());
  const online = opts.online && (await OnlineEngine.open(opts.online.view, opts.online.store, modelCache, opts.online.now));
  if (online) {
    online.start((err) => app.log.error(err, 'online view: sweep failed'));
    app.addHook('onClose', async () => {
      await online.close();
      await online.store.close();
    });
  }
  const services: Services = { jobs: opts.jobs, scheduler: opts.scheduler, models: opts.models, roots: opts.roots, checker, backend: opts.backend, maxQueued: opts.maxQueued, modelCache, ...(online && { online }), ...(opts.queue && { queue: opts.queue }) };
  app.decorate('services', services);

  await app.register(swagger, {
    openapi: {
      info: { title: 'audience-engine', version: '0.1.0', description: 'Train and score audience models in batch jobs.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.apiKey ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(auth, { apiKey: opts.apiKey });
  await app.register(requestLog);
  await app.register(errors);
  await app.register(jobRoutes);
  await app.register(modelRoutes);
  await app.register(scoreRoutes);
  await app.register(onlineRoutes);
  await app.register(healthRoutes);
  return app;
}

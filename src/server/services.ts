/** What the routes share, decorated once on the app as `services` (Fastify's decorate). */
import type { JobStore } from './jobs/store.js';
import type { ModelStore } from '../models/registry.js';
import type { SubmissionChecker } from './checker.js';
import type { ModelCache } from './model-cache.js';
import type { OnlineEngine } from './online/engine.js';
import type { DataRoots } from './paths.js';
import type { Scheduler } from './scheduler.js';

export interface Services {
  jobs: JobStore;
  scheduler: Scheduler;
  models: ModelStore;
  roots: DataRoots;
  /** Checks submissions on worker threads (checker.ts). */
  checker: SubmissionChecker;
  backend: { name: string; device: string };
  /** Queued jobs beyond which a submission is answered 429. */
  maxQueued: number;
  /** Models loaded once for the request paths (POST /v1/score, the online view). */
  modelCache: ModelCache;
  /** The online view (`audience serve --online`), when the server keeps one. */
  online?: OnlineEngine;
  /** The Redis URL that jobs' work goes through (`--redis` or REDIS_URL, read where the server is composed); none on one host. */
  queue?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/**
 * Models for the online tests, trained as a user would: synthetic purchase events (a known
 * buy-till-you-die process), `audience events` features as of a date with a 60-day horizon,
 * then three models on them: value (cltv), purchase (propensity on converted), behavior
 * (kmeans). Small and few epochs: the tests compare scoring paths, not model quality.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildEventFeatures } from '../src/features/events.js';
import type { FastifyInstance } from 'fastify';
import { JobStore } from '../src/server/jobs/store.js';
import { trainFromParams } from '../src/training/train.js';
import { buildApp, type AppOptions } from '../src/server/app.js';
import { DataRoots } from '../src/server/paths.js';
import { Scheduler } from '../src/server/scheduler.js';
import { ModelStore } from '../src/models/registry.js';
import { generateEvents, type SyntheticEvent } from '../src/synthetic/events.js';

export interface OnlineFixture {
  dir: string;
  store: ModelStore;
  events: SyntheticEvent[];
  /** events.csv: customer_id,date,amount,category. */
  eventsCsv: string;
  /** features.parquet: `audience events` as of AS_OF with the 60-day labels. */
  features: string;
  models: string[];
}

export const AS_OF = '2024-09-30';

/** Events of `customers` customers, their features, and the three models (a minute or less on 2 cores). */
export async function onlineFixture(customers = 800): Promise<OnlineFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-online-'));
  const events = generateEvents({ customers, days: 360, seed: 11 });
  const eventsCsv = path.join(dir, 'events.csv');
  fs.writeFileSync(eventsCsv, `customer_id,date,amount,category\n${events.map((e) => `${e.id},${e.date},${e.amount},${e.category}`).join('\n')}\n`);
  const features = path.join(dir, 'features.parquet');
  await buildEventFeatures({ input: [eventsCsv], id: 'customer_id', time: 'date', amount: 'amount', category: 'category', asOf: AS_OF, horizonDays: 60, out: features });
  const store = new ModelStore(path.join(dir, 'models'));
  const common = { input: [features], store };
  await trainFromParams({ ...common, kind: 'cltv', name: 'value', params: { label: 'future_value', id: 'customer_id', 'max-epochs': 3, hidden: '8' } });
  await trainFromParams({ ...common, kind: 'propensity', name: 'purchase', params: { label: 'converted', id: 'customer_id', 'max-epochs': 3, hidden: '8', refit: 'no', 'allow-small': true } });
  await trainFromParams({ ...common, kind: 'kmeans', name: 'behavior', params: { k: 3, id: 'customer_id', 'n-init': 1 } });
  return { dir, store, events, eventsCsv, features, models: ['value@1', 'purchase@1', 'behavior@1'] };
}

/** The service app in this process (no listener, no runners started), its job store in `dir`. */
export async function inProcessApp(fx: Pick<OnlineFixture, 'dir' | 'store'>, extra: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const jobs = new JobStore(path.join(fx.dir, `jobs-${process.pid}-${Math.random().toString(36).slice(2)}.sqlite`));
  const app = await buildApp({
    jobs,
    scheduler: new Scheduler(jobs, { concurrency: 1, modelStore: fx.store.root, maxAttempts: 1 }),
    models: fx.store,
    roots: new DataRoots([fx.dir]),
    backend: { name: 'test', device: 'cpu' },
    maxQueued: 10,
    bodyLimit: 1 << 20,
    logLevel: 'silent',
    ...extra,
  });
  app.addHook('onClose', async () => jobs.close());
  return app;
}

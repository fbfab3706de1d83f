/**
 * A shard worker: a thread with its own backend that scores whole shards of one job. It opens
 * the job's inputs and models itself (nothing large crosses threads) and reports rows done to
 * the job store directly, so progress moves while it computes.
 */
import { initBackend } from '../compute/backend.js';
import { serveRequests } from '../compute/workers.js';
import { openDataset } from '../io/dataset.js';
import { loadScoringModel } from '../models/load.js';
import type { ScoringModel } from '../models/model.js';
import { ModelStore } from '../models/registry.js';
import { parseAudiences } from '../audiences/definition.js';
import { planScore, scoreShard, type ScorePlan } from './score.js';
import type { Shard } from './shards.js';
import { JobStore } from './store.js';
import type { ScoreJobSpec } from './runner.js';

await initBackend();
let plan: ScorePlan | undefined;
let jobs: JobStore | undefined;
let jobId = '';
const models: ScoringModel[] = [];

serveRequests({
  async open(p: { db: string; job: string; store: string; spec: ScoreJobSpec; maxRejects: number }) {
    jobs = new JobStore(p.db);
    jobId = p.job;
    const store = new ModelStore(p.store);
    for (const ref of p.spec.models) models.push(await loadScoringModel(store, ref));
    const audiences = p.spec.audiences ? parseAudiences(p.spec.audiences.definition, 'audiences', p.spec.audiences.base) : undefined;
    plan = planScore(await openDataset(p.spec.input), models, audiences, p.maxRejects);
    return { result: null };
  },
  async score(p: { shard: Shard; staging: string; rejectBudget: number }) {
    const result = await scoreShard(plan!, p.shard, p.staging, { rejectBudget: p.rejectBudget, onRows: (n) => jobs!.addRows(jobId, n) });
    return { result };
  },
  async close() {
    for (const m of models) m.dispose();
    jobs?.close();
    return { result: null };
  },
});

/**
 * The outlier model's evaluate step: the outlier share and score distribution, the niche
 * candidates, and the kept niches profiled like segments. The report type.
 */
import { transformedBatches } from '../../features/blocks.js';
import { silentProgress } from '../../util/progress.js';
import { GroupProfiler, type GroupProfile } from '../profile.js';
import { fittedManifest, type FittedAnomaly, type PreparedAnomaly, type ScoreHistogram } from './fit.js';
import { AnomalyModel } from './model.js';
import type { NicheReport } from './niches.js';
import type { TrainAnomalyOptions } from './options.js';

/** What training an outlier model reports (and stores as the manifest's metrics). */
export interface AnomalyReport {
  k: number;
  threshold: number;
  outliers: number;
  outlierShare: number;
  spreads: number[];
  candidates: NicheReport[];
  profiles: GroupProfile[];
  /** Visitors by outlier score: absent in versions saved before it. */
  histogram?: ScoreHistogram;
}

/** The outlier share and score distribution, the niche candidates, and the kept niches profiled like segments. */
export async function evaluateAnomaly(p: PreparedAnomaly, f: FittedAnomaly, opts: TrainAnomalyOptions): Promise<AnomalyReport> {
  const kept = f.weights.nicheSpreads.length;
  let profiles: GroupProfile[] = [];
  if (kept) {
    // A model holding the niches (not saved: versions are immutable) assigns the rows to them.
    const draft = new AnomalyModel({ ...(await fittedManifest(p, f, opts)), version: 0, createdAt: '', metrics: {} }, f.weights, f.state);
    const profiler = new GroupProfiler(p.transform, kept);
    const profiling = (opts.progress ?? (() => silentProgress))('profile');
    try {
      for await (const { batch, block } of transformedBatches(p.data, p.transform)) {
        profiler.add(batch, (await draft.predict(block)).niche);
        profiling.update(batch.first + batch.rows, p.data.rowCount);
      }
    } finally {
      draft.dispose();
    }
    profiling.done();
    profiles = profiler.result().map((pr) => ({ ...pr, entries: pr.entries.slice(0, 12) }));
  }
  const { threshold } = f.state;
  return { k: f.k, threshold, outliers: f.outliers, outlierShare: f.outliers / Math.max(1, f.rows), spreads: Array.from(f.weights.spreads), candidates: f.candidates, profiles, histogram: f.histogram };
}


/**
 * The outlier model's estimator (models/estimator.ts), its steps each in its module: nothing
 * is read up front; fit (fit.ts: K-Means on everyone, each cluster's spread, the outliers, and
 * the niche search of niches.ts: small main clusters and groups of outliers, kept when dense
 * and far from every main segment); evaluate (evaluate.ts: the kept niches profiled like
 * segments); save (here).
 */
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { train, type Estimator } from '../estimator.js';
import type { ModelStore } from '../registry.js';
import { evaluateAnomaly, type AnomalyReport } from './evaluate.js';
import { fitAnomaly, fittedManifest, type FittedAnomaly, type PreparedAnomaly } from './fit.js';
import { AnomalyModel } from './model.js';
import type { TrainAnomalyOptions } from './options.js';

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function saveAnomaly(store: ModelStore, p: PreparedAnomaly, f: FittedAnomaly, report: AnomalyReport, opts: TrainAnomalyOptions): Promise<AnomalyModel> {
  return AnomalyModel.save(store, { ...(await fittedManifest(p, f, opts)), metrics: report as unknown as Record<string, unknown> }, f.weights, f.state);
}

/** The outlier model's estimator steps (see models/estimator.ts); nothing is read up front. */
export const ANOMALY: Estimator<TrainAnomalyOptions, PreparedAnomaly, FittedAnomaly, AnomalyReport, AnomalyModel> = {
  prepare: async (data, transform) => ({ data, transform }),
  fit: fitAnomaly,
  evaluate: evaluateAnomaly,
  save: saveAnomaly,
};

/**
 * Trains an anomaly model: ANOMALY's steps composed (see fitAnomaly and the module comment).
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function trainAnomaly(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainAnomalyOptions) {
  return train(ANOMALY, data, transform, store, opts);
}

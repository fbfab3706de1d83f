/**
 * The propensity model's estimator (models/estimator.ts), its steps each in its module:
 * prepare (prepare.ts: labeled rows in memory, data checks, a seeded stratified train /
 * validation / test split), fit (fit.ts: the MLP, then calibration and the decision threshold
 * on validation), evaluate (evaluate.ts: every metric on the untouched test split beside a
 * logistic-regression baseline fitted on the same split, baseline.ts), and save (here).
 */
import { initBackend } from '../../compute/backend.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { train, type Estimator } from '../estimator.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { evaluatePropensity, type PropensityReport } from './evaluate.js';
import { fitPropensity, type FittedPropensity } from './fit.js';
import { PropensityModel } from './model.js';
import type { TrainPropensityOptions } from './options.js';
import { preparePropensity, type PreparedPropensity } from './prepare.js';

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function savePropensity(store: ModelStore, p: PreparedPropensity, f: FittedPropensity, report: PropensityReport, opts: TrainPropensityOptions): Promise<PropensityModel> {
  const backend = await initBackend();
  const manifest = { ...trainedOn('propensity', opts.name, backend, p.transform, p.data.tables, p.labeled.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return PropensityModel.save(store, manifest, f.mlp, f.state);
}

/** The propensity model's estimator steps (see models/estimator.ts). */
export const PROPENSITY: Estimator<TrainPropensityOptions, PreparedPropensity, FittedPropensity, PropensityReport, PropensityModel> = {
  prepare: preparePropensity,
  fit: fitPropensity,
  evaluate: evaluatePropensity,
  save: savePropensity,
};

/**
 * Trains a propensity model: PROPENSITY's steps composed (a stratified 65/15/20 split, the MLP,
 * calibration and threshold on validation, every metric on the test rows beside a logistic
 * baseline, then saved).
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function trainPropensity(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainPropensityOptions) {
  return train(PROPENSITY, data, transform, store, opts);
}

/**
 * The CLTV model's estimator (models/estimator.ts), its steps each in its module: prepare
 * (prepare.ts: features and a money label in memory, a seeded 65/15/20 split stratified on
 * buying at all), fit (fit.ts: the zero-inflated lognormal MLP with early stopping on the
 * validation loss), evaluate (evaluate.ts: the test split beside two baselines trained on the
 * same rows, baselines.ts), and save (here).
 */
import { initBackend } from '../../compute/backend.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { train, type Estimator } from '../estimator.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { evaluateCltv, type CltvReport } from './evaluate.js';
import { fitCltv, type FittedCltv } from './fit.js';
import { CltvModel } from './model.js';
import type { TrainCltvOptions } from './options.js';
import { prepareCltv, type PreparedCltv } from './prepare.js';

/** Writes the fitted model, its params and report as the next version of `opts.name`. */
async function saveCltv(store: ModelStore, p: PreparedCltv, f: FittedCltv, report: CltvReport, opts: TrainCltvOptions): Promise<CltvModel> {
  const backend = await initBackend();
  const manifest = { ...trainedOn('cltv', opts.name, backend, p.transform, p.data.tables, p.valued.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return CltvModel.save(store, manifest, f.mlp, f.state);
}

/** The CLTV model's estimator steps (see models/estimator.ts). */
export const CLTV: Estimator<TrainCltvOptions, PreparedCltv, FittedCltv, CltvReport, CltvModel> = { prepare: prepareCltv, fit: fitCltv, evaluate: evaluateCltv, save: saveCltv };

/**
 * Trains a CLTV model: CLTV's steps composed (see the module comment) on `data`'s label (money over a horizon).
 * @returns the saved model (the caller disposes it) and its report.
 * @throws UserError for a missing or negative label, or too few buyers to fit.
 */
export async function trainCltv(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainCltvOptions) {
  return train(CLTV, data, transform, store, opts);
}

/**
 * The uplift model's estimator steps (models/estimator.ts), for a randomized campaign's rows
 * (treated and control, their features and a 0/1 outcome): prepare (rows in memory, each arm
 * split 60/15/25 stratified on the outcome), fit (three meta-learners on the product's MLP
 * code and a T-learner of logistic regressions, the same code without hidden layers; with
 * --learner auto the one with the best Qini coefficient on the validation rows is kept: the
 * logistic one too, so the saved model is never a worse choice on validation than that
 * baseline), evaluate (Qini, AUUC and uplift at 10/20/30% on the untouched test rows, every
 * candidate beside an S-learner logistic regression), save.
 *
 * The learners (the treated share e is the design's: the campaign was randomized, so the
 * propensity is that constant):
 * - T-learner: mu1 = P(y | x) on the treated, mu0 on the control; tau = mu1 - mu0.
 * - X-learner (Kunzel, Sekhon, Bickel and Yu, "Metalearners for estimating heterogeneous
 *   treatment effects using machine learning", PNAS 2019): imputed effects D1 = y - mu0(x) on
 *   the treated and D0 = mu1(x) - y on the control, each regressed on x (tau1, tau0);
 *   tau = e tau0 + (1 - e) tau1.
 * - DR-learner (Kennedy, "Towards optimal doubly robust estimation of heterogeneous causal
 *   effects", 2020 / EJS 2023): the pseudo-outcome mu1 - mu0 + t (y - mu1) / e - (1 - t)
 *   (y - mu0) / (1 - e) regressed on x. The nuisances here are the T-learner's, fitted on the
 *   same training rows (no cross-fitting: with early stopping on held-out rows the networks
 *   do not memorize them; the test rows decide how well it ranks).
 * Regressions are the same MLP with one linear output trained on squared error.
 *
 * Several treatment arms (--control VALUE: every other value of the treatment column is an
 * arm): a T-learner per arm against one control model, of MLPs and of logistic regressions
 * (the multi-treatment T-learner of Zhao and Harinen, "Uplift modeling for multiple
 * treatments with cost optimization", DSAA 2019, as causalml's BaseTClassifier fits it), each
 * arm's Qini on its own rows and the control's; the S-learner baseline takes one 0/1 input per
 * arm. The X- and DR-learners take one treated arm.
 */
import { initBackend } from '../../compute/backend.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { train, type Estimator } from '../estimator.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { UpliftModel, type UpliftState } from './model.js';
import type { TrainUpliftOptions } from './options.js';
import { prepareUplift, type PreparedUplift } from './prepare.js';
import { fitUplift, type FittedUplift } from './fit.js';
import { evaluateUplift, type UpliftReport } from './evaluate.js';

async function saveUplift(store: ModelStore, p: PreparedUplift, f: FittedUplift, report: UpliftReport, opts: TrainUpliftOptions): Promise<UpliftModel> {
  const backend = await initBackend();
  const state: UpliftState = { learner: f.learner, treatedShare: f.treatedShare, networks: Object.fromEntries(Object.entries(f.networks).map(([k, m]) => [k, m.config])), ...(p.arms && { arms: p.arms }) };
  const manifest = { ...trainedOn('uplift', opts.name, backend, p.transform, p.data.tables, p.rows.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return UpliftModel.save(store, manifest, f.networks, state);
}

/** The uplift model's estimator steps (see models/estimator.ts and the module comment). */
export const UPLIFT: Estimator<TrainUpliftOptions, PreparedUplift, FittedUplift, UpliftReport, UpliftModel> = {
  prepare: prepareUplift,
  fit: fitUplift,
  evaluate: evaluateUplift,
  save: saveUplift,
};

/** Trains an uplift model (UPLIFT's steps composed). @returns the saved model (the caller disposes it) and its report. */
export async function trainUplift(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainUpliftOptions) {
  return train(UPLIFT, data, transform, store, opts);
}

/**
 * The propensity estimator's evaluate step: the fitted network on the untouched test rows
 * beside its logistic baseline (baseline.ts), feature influence (importance.ts) and fairness
 * by group of each sensitive column; the report it returns and the manifest stores.
 */
import { fairnessByGroup, type FairnessReport } from '../../metrics/fairness.js';
import { silentProgress } from '../../util/progress.js';
import type { EpochRecord } from '../nn/fit.js';
import { baselineOnTest } from './baseline.js';
import type { DataChecks } from './checks.js';
import type { FittedPropensity, TrainingSummary } from './fit.js';
import { permutationImportance } from './importance.js';
import { resolve, type TrainPropensityOptions } from './options.js';
import type { PreparedPropensity } from './prepare.js';
import { onTest, type Evaluation } from './test-metrics.js';

/** What training a propensity model reports (and stores as the manifest's metrics). */
export interface PropensityReport {
  checks: DataChecks;
  split: { train: number; valid: number; test: number; positives: { train: number; valid: number; test: number } };
  threshold: { rule: string; value: number };
  test: { mlp: Evaluation; baseline: Evaluation };
  history: EpochRecord[];
  bestEpoch: number;
  baselineBestEpoch: number;
  importance: Array<{ feature: string; aucDrop: number }>;
  /** With a refit (see refitOnTrainAndValid): its rows, epochs and seconds, which `seconds` includes. */
  training: TrainingSummary;
  /** Per sensitive column, how the calibrated score treats its groups on the test rows at the threshold. */
  fairness?: FairnessReport[];
}

/**
 * Every metric on the untouched test rows, beside a logistic-regression baseline fitted,
 * calibrated and thresholded on the same split; permutation importance (Breiman, "Random
 * Forests", 2001) per feature; fairness by group of each sensitive column.
 */
export async function evaluatePropensity(p: PreparedPropensity, f: FittedPropensity, opts: TrainPropensityOptions): Promise<PropensityReport> {
  const o = resolve(opts);
  const progress = opts.progress ?? (() => silentProgress);
  const baseline = await baselineOnTest(p, o, f.training.refit !== undefined, progress);
  const mlp = await onTest(f.mlp, f.state.calibration, f.state.threshold, p);
  const importanceRows = p.split.test.subarray(0, Math.min(p.split.test.length, 20_000));
  const importance = await permutationImportance(f.mlp, p.labeled, importanceRows, p.groups, o.seed);
  const count = (rows: Int32Array) => rows.reduce((a, r) => a + p.labeled.y[r], 0);
  const { train, valid, test } = p.split;
  return {
    checks: p.checks,
    split: { train: train.length, valid: valid.length, test: test.length, positives: { train: count(train), valid: count(valid), test: count(test) } },
    threshold: { rule: o.threshold === 'f1' ? 'max F1 on validation' : `flag the top ${(100 * o.threshold).toFixed(1)}% on validation`, value: f.state.threshold },
    test: { mlp: mlp.evaluation, baseline: baseline.evaluation },
    history: f.history,
    bestEpoch: f.bestEpoch,
    baselineBestEpoch: baseline.bestEpoch,
    importance,
    training: f.training,
    ...(opts.sensitive?.length && {
      fairness: opts.sensitive.map((col, c) => fairnessByGroup(col, Array.from(test, (r) => p.labeled.groups[c][r]), mlp.testProbs, f.state.threshold, mlp.testY)),
    }),
  };
}

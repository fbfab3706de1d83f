/**
 * The CLTV estimator's evaluate step: value metrics on the untouched test rows beside the
 * baselines (baselines.ts), fairness by group; the report it returns and the manifest stores.
 */
import { rateThreshold } from '../../metrics/classification.js';
import { fairnessByGroup, type FairnessReport } from '../../metrics/fairness.js';
import { valueMetrics, type ValueMetrics } from '../../metrics/value.js';
import type { BgNbdParams } from '../btyd/bgnbd.js';
import type { GammaGammaParams } from '../btyd/gamma-gamma.js';
import { predictLogits, type EpochRecord } from '../nn/fit.js';
import { withDefaults } from '../params.js';
import { bgNbdBaseline, lastWindow } from './baselines.js';
import type { FittedCltv } from './fit.js';
import type { TrainCltvOptions } from './options.js';
import { CLTV_PARAMS } from './params.js';
import type { PreparedCltv } from './prepare.js';
import { zilnPredict } from './ziln.js';

/** What training a CLTV model reports (and stores as the manifest's metrics). */
export interface CltvReport {
  split: { train: number; valid: number; test: number; buyers: { train: number; test: number } };
  horizonDays: number | null;
  test: { model: ValueMetrics; lastWindow: ValueMetrics | string; bgNbd: ValueMetrics | string };
  bgNbd?: { params: BgNbdParams; spend: GammaGammaParams; customers: number };
  history: EpochRecord[];
  bestEpoch: number;
  training: { seconds: number; samplesPerSecond: number };
  /** The leakage check: the features that alone best rank who buys in the horizon (AUC as max(AUC, 1 - AUC)); absent in older versions. */
  singleFeatureAuc?: Array<{ feature: string; auc: number }>;
  /**
   * Per sensitive column on the test rows: selection = the top 10% by predicted value;
   * positives (for TPR, FPR) = the top 10% by actual value.
   */
  fairness?: FairnessReport[];
}

/**
 * Value metrics on the test rows beside the last window and BG/NBD + Gamma-Gamma fitted on
 * the training customers; fairness by group of each sensitive column.
 */
export async function evaluateCltv(p: PreparedCltv, f: FittedCltv, opts: TrainCltvOptions): Promise<CltvReport> {
  const { valued, split, bought, horizonDays } = p;
  const actual = Float64Array.from(split.test, (r) => valued.y[r]);
  const { value } = zilnPredict(await predictLogits(f.mlp, valued, split.test), split.test.length, f.state.maxValue);
  const window = lastWindow(valued, split.test, horizonDays);
  const btyd = bgNbdBaseline(valued, split.train, split.test, horizonDays, withDefaults(CLTV_PARAMS, opts).seed);
  const report: CltvReport = {
    split: {
      train: split.train.length,
      valid: split.valid.length,
      test: split.test.length,
      buyers: { train: split.train.reduce((a, r) => a + bought[r], 0), test: split.test.reduce((a, r) => a + bought[r], 0) },
    },
    horizonDays,
    test: {
      model: valueMetrics(value, actual),
      lastWindow: typeof window === 'string' ? window : valueMetrics(window, actual),
      bgNbd: typeof btyd === 'string' ? btyd : valueMetrics(btyd.pred, actual),
    },
    ...(typeof btyd !== 'string' && { bgNbd: { params: btyd.params, spend: btyd.spend, customers: btyd.customers } }),
    history: f.history,
    bestEpoch: f.bestEpoch,
    training: f.training,
    singleFeatureAuc: p.singleFeatureAuc,
  };
  if (opts.sensitive?.length) {
    const top = (v: ArrayLike<number>) => rateThreshold(v, 0.1);
    const highValue = Float64Array.from(actual, (a) => (a >= top(actual) && a > 0 ? 1 : 0));
    report.fairness = opts.sensitive.map((col, c) => fairnessByGroup(col, Array.from(split.test, (r) => valued.groups[c][r]), value, top(value), highValue));
  }
  return report;
}

/** A propensity network measured on the untouched test rows: every metric its report shows. */
import {
  brier,
  calibrationTable,
  classHistogram,
  confusionAt,
  liftTable,
  logLoss,
  prAuc,
  prCurve,
  rocAuc,
  rocCurve,
  type CalibrationBin,
  type Confusion,
  type CurvePoint,
  type DecileRow,
  type HistogramBin,
} from '../../metrics/classification.js';
import { predictLogits } from '../nn/fit.js';
import type { Mlp } from '../nn/mlp.js';
import { calibrate, type Calibration } from './calibration.js';
import type { PreparedPropensity } from './prepare.js';

/** One network's metrics on the test rows, its calibrated probabilities scored against the labels. */
export interface Evaluation {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  brier: number;
  /** Brier score of the uncalibrated probabilities, for comparison. */
  brierUncalibrated: number;
  atThreshold: Confusion;
  lift: DecileRow[];
  calibration: CalibrationBin[];
  /** For plots: ROC (fpr, tpr) and precision-recall (recall, precision) curves, score histogram by class. */
  curves: { roc: CurvePoint[]; pr: CurvePoint[]; histogram: HistogramBin[] };
}

/** Every metric of calibrated probabilities `calibrated` (and the raw logits' Brier) against the labels `y`, at `threshold`. */
function evaluate(logits: Float32Array, y: Uint8Array, calibrated: Float32Array, threshold: number): Evaluation {
  const raw = Float32Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
  return {
    rocAuc: rocAuc(calibrated, y),
    prAuc: prAuc(calibrated, y),
    logLoss: logLoss(calibrated, y),
    brier: brier(calibrated, y),
    brierUncalibrated: brier(raw, y),
    atThreshold: confusionAt(calibrated, y, threshold),
    lift: liftTable(calibrated, y),
    calibration: calibrationTable(calibrated, y),
    curves: { roc: rocCurve(calibrated, y), pr: prCurve(calibrated, y), histogram: classHistogram(calibrated, y) },
  };
}

/** A network's calibrated test-row probabilities and every test metric. */
export async function onTest(mlp: Mlp, calibration: Calibration, threshold: number, p: PreparedPropensity) {
  const testLogits = await predictLogits(mlp, p.labeled, p.split.test);
  const testY = Uint8Array.from(p.split.test, (r) => p.labeled.y[r]);
  const testProbs = Float32Array.from(testLogits, (z) => calibrate(calibration, z));
  return { testY, testProbs, evaluation: evaluate(testLogits, testY, testProbs, threshold) };
}

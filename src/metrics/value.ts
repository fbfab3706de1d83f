/** Predicted money against what was spent: error, ranking and deciles, and the prediction as a ranking of who buys at all. */
import { classHistogram, prCurve, rocAuc, rocCurve, type CurvePoint, type HistogramBin } from './classification.js';
import { mae, normalizedGini, rmse, spearman, valueDeciles } from './regression.js';

/** Predicted against actual values (see valueMetrics). */
export interface ValueMetrics {
  mae: number;
  rmse: number;
  normalizedGini: number;
  spearman: number;
  deciles: ReturnType<typeof valueDeciles>;
  /**
   * The prediction as a ranking of who buys at all in the horizon (actual value > 0): its
   * ROC-AUC, and for plots the ROC (fpr, tpr) and precision-recall (recall, precision) curves
   * and the predicted value's histogram for buyers and the rest.
   */
  buyers?: { rocAuc: number; roc: CurvePoint[]; pr: CurvePoint[]; histogram: HistogramBin[] };
}

/**
 * Metrics of predicted against actual values: MAE, RMSE, normalized Gini, Spearman, value
 * deciles, and the prediction's ROC for who spent above 0.
 */
export function valueMetrics(pred: ArrayLike<number>, actual: ArrayLike<number>): ValueMetrics {
  const bought = Uint8Array.from(actual as ArrayLike<number>, (a) => (a > 0 ? 1 : 0));
  return {
    mae: mae(pred, actual),
    rmse: rmse(pred, actual),
    normalizedGini: normalizedGini(pred, actual),
    spearman: spearman(pred, actual),
    deciles: valueDeciles(pred, actual),
    buyers: { rocAuc: rocAuc(pred, bought), roc: rocCurve(pred, bought), pr: prCurve(pred, bought), histogram: classHistogram(pred, bought) },
  };
}

/** HTML report pieces several kinds' sections use (models/<kind>/report.ts): score histograms, the training curve, short numbers. */
import type { HistogramBin } from '../metrics/classification.js';
import { lineChart } from '../render/charts.js';

/** Said where a version's manifest predates the stored curves. */
export const NO_CURVES = 'This version was trained before curves were stored in the model; train a new version for the ROC, precision-recall and histogram charts.';

/** A value in few digits: whole from 100, one decimal from 1, else three. */
export const short = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3));

/** A score histogram's bins as two series (`positive` and `negative`), for binnedChart. */
export function histogramRows(bins: HistogramBin[], positive: string, negative: string) {
  return bins.flatMap((h) => [
    { from: h.from, to: h.to, count: h.positives, series: positive },
    { from: h.from, to: h.to, count: h.negatives, series: negative },
  ]);
}

/** Training and validation loss by epoch, the restored best epoch in the title (`note` added after it). */
export function historyChart(history: Array<{ epoch: number; trainLoss: number; validLoss: number }>, best: number, note: string | undefined = '') {
  const last = history[history.length - 1]?.epoch ?? 1;
  const losses = history.flatMap((h) => [h.trainLoss, h.validLoss]).filter(Number.isFinite);
  return lineChart(
    [
      { name: 'training loss', points: history.map((h) => [h.epoch, h.trainLoss]) },
      { name: 'validation loss', points: history.map((h) => [h.epoch, h.validLoss]) },
    ],
    { title: `Training (best epoch ${best} restored${note})`, x: 'epoch', y: 'loss', xDomain: [1, Math.max(2, last)], yDomain: [Math.min(...losses) * 0.95, Math.max(...losses) * 1.05], xInteger: true },
  );
}

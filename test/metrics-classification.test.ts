import { describe, expect, it } from 'vitest';
import {
  brier,
  calibrationTable,
  confusionAt,
  liftTable,
  logLoss,
  maxF1Threshold,
  prAuc,
  rateThreshold,
  rocAuc,
} from '../src/metrics/classification.js';

describe('ROC-AUC', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when all tie', () => {
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
  });

  it('counts ties as one half (hand count)', () => {
    // positives {0.8, 0.4}, negatives {0.4, 0.2, 0.9}: pairs won 0.8>0.4, 0.8>0.2, 0.4=0.4 (1/2), 0.4>0.2
    // -> (1 + 1 + 0.5 + 1) / (2 * 3)
    expect(rocAuc([0.8, 0.4, 0.4, 0.2, 0.9], [1, 1, 0, 0, 0])).toBeCloseTo(3.5 / 6, 12);
  });

  it('is NaN with one class only', () => {
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});

describe('PR-AUC (average precision)', () => {
  it('matches a hand computation', () => {
    // sorted: 0.9(1) 0.8(0) 0.7(1) 0.1(0): AP = 1/2 * 1/1 + 1/2 * 2/3
    expect(prAuc([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('takes tied scores together', () => {
    // all tie: one threshold, precision 2/4, recall 1 -> 0.5
    expect(prAuc([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0])).toBeCloseTo(0.5, 12);
  });
});

describe('probability metrics', () => {
  it('log loss and Brier score equal hand values', () => {
    expect(logLoss([0.8, 0.4], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(brier([0.8, 0.4], [1, 0])).toBeCloseTo((0.04 + 0.16) / 2, 12);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true); // clipped, not Infinity
  });
});

describe('thresholds and the confusion matrix', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2];
  const labels = [1, 1, 0, 1, 0, 0];

  it('confusion at a threshold', () => {
    expect(confusionAt(scores, labels, 0.65)).toMatchObject({ tp: 2, fp: 1, tn: 2, fn: 1, precision: 2 / 3, recall: 2 / 3, rate: 0.5 });
  });

  it('max-F1 threshold: flag the top 4 (F1 = 2*3/(4+3) = 0.857)', () => {
    const t = maxF1Threshold(scores, labels);
    expect(t).toBe(0.6);
    expect(confusionAt(scores, labels, t).f1).toBeCloseTo(6 / 7, 12);
  });

  it('rate threshold flags the requested share', () => {
    expect(rateThreshold(scores, 1 / 3)).toBe(0.8);
    expect(confusionAt(scores, labels, rateThreshold(scores, 0.5)).rate).toBe(0.5);
  });
});

describe('lift, gains and calibration tables', () => {
  it('lift by decile and cumulative gains', () => {
    const s = Array.from({ length: 10 }, (_, i) => 1 - i / 10);
    const y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const t = liftTable(s, y, 5);
    expect(t[0]).toMatchObject({ decile: 1, rows: 2, positives: 2, rate: 1, lift: 5, cumulativeGain: 1 });
    expect(t[4].cumulativeGain).toBe(1);
  });

  it('calibration table bins predictions and observed rates', () => {
    const t = calibrationTable([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1], 10);
    expect(t.map((r) => r.rows)).toEqual([1, 2, 1]);
    expect(t[1]).toMatchObject({ from: 0.1, meanPredicted: (0.15 + 0.12) / 2, observedRate: 0.5 });
  });
});

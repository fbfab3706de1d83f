/** Value-prediction metrics against values computed by hand. */
import { describe, expect, it } from 'vitest';
import { averageRanks, mae, normalizedGini, rmse, spearman, valueDeciles } from '../src/metrics/regression.js';

describe('regression metrics', () => {
  it('MAE and RMSE', () => {
    expect(mae([1, 2, 3], [2, 2, 5])).toBeCloseTo(1, 12);
    expect(rmse([1, 2, 3], [2, 2, 5])).toBeCloseTo(Math.sqrt(5 / 3), 12);
  });

  it('Spearman with ties (average ranks)', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12);
    // Ranks [1,2,3,4] vs [1,3,2,4]: r = 1 - 6*2/(4*15) = 0.8 (no ties).
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
  });

  it('normalized Gini: 1 for the perfect order, -1 for the reverse, by hand in between', () => {
    const actual = [0, 0, 5, 10];
    expect(normalizedGini([0, 1, 2, 3], actual)).toBeCloseTo(1, 12);
    expect(normalizedGini([3, 2, 1, 0], actual)).toBeCloseTo(-1, 12);
    // Order by prediction: 10, 0, 5, 0 -> cumulative shares 2/3, 2/3, 1, 1 = 10/3; Gini = (10/3 - 5/2)/4 = 5/24.
    // Perfect: 10, 5, 0, 0 -> 2/3, 1, 1, 1 = 11/3; Gini = (11/3 - 5/2)/4 = 7/24. Normalized: 5/7.
    expect(normalizedGini([9, 8, 7, 1], [10, 0, 5, 0])).toBeCloseTo(5 / 7, 12);
  });

  it('deciles of the predictions, highest first', () => {
    const d = valueDeciles([4, 3, 2, 1], [40, 30, 20, 10], 2);
    expect(d).toEqual([
      { decile: 1, rows: 2, predicted: 3.5, actual: 35 },
      { decile: 2, rows: 2, predicted: 1.5, actual: 15 },
    ]);
  });
});

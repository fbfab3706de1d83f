/** Fairness by group against numbers computed by hand on a small case. */
import { describe, expect, it } from 'vitest';
import { fairnessByGroup } from '../src/metrics/fairness.js';

describe('fairness by group', () => {
  it('equals the hand-computed counts, rates, TPR, FPR, calibration and disparate impact', () => {
    //            a    a    a    a    b    b    b    null
    const groups = ['a', 'a', 'a', 'a', 'b', 'b', 'b', null];
    const scores = [0.9, 0.6, 0.4, 0.2, 0.7, 0.3, 0.1, 0.8];
    const labels = [1, 0, 1, 0, 1, 1, 0, 1];
    const f = fairnessByGroup('sex', groups, scores, 0.5, labels);
    expect(f.threshold).toBe(0.5);
    const [a, b, missing] = f.groups;
    // a: 4 rows, selected 0.9 and 0.6 -> 2/4; positives {0.9, 0.4}: TP 1 of 2; negatives {0.6, 0.2}: FP 1 of 2.
    expect(a).toMatchObject({ group: 'a', count: 4, selectionRate: 0.5, tpr: 0.5, fpr: 0.5, positiveRate: 0.5 });
    expect(a.meanScore).toBeCloseTo((0.9 + 0.6 + 0.4 + 0.2) / 4, 12);
    // b: 3 rows, selected 0.7 -> 1/3; positives {0.7, 0.3}: TP 1 of 2; negative {0.1}: FP 0 of 1.
    expect(b).toMatchObject({ group: 'b', count: 3, tpr: 0.5, fpr: 0 });
    expect(b.selectionRate).toBeCloseTo(1 / 3, 12);
    expect(b.positiveRate).toBeCloseTo(2 / 3, 12);
    // Missing values are their own group: 1 row, selected; no negatives -> FPR unknown.
    expect(missing).toMatchObject({ group: '(missing)', count: 1, selectionRate: 1, tpr: 1 });
    expect(missing.fpr).toBeNaN();
    // Disparate impact: each rate over the highest (1.0): a 0.5 and b 1/3, both under 0.8.
    expect(a.disparateImpact).toBeCloseTo(0.5, 12);
    expect(b.disparateImpact).toBeCloseTo(1 / 3, 12);
    expect([a.flagged, b.flagged, missing.flagged]).toEqual([true, true, false]);
    expect(f.disparateImpact).toBeCloseTo(1 / 3, 12);
    expect(f.fourFifthsRule).toBe('not met');
  });

  it('meets the four-fifths rule at exactly 0.8; unknown labels count in selection only', () => {
    const groups = ['x', 'x', 'x', 'x', 'x', 'y', 'y', 'y', 'y', 'y'];
    const scores = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]; // x selects 5/5, y 4/5
    const labels = [1, 0, NaN, 1, 0, 1, 1, 0, NaN, 0];
    const f = fairnessByGroup('g', groups, scores, 0.5, labels);
    expect(f.groups[0].selectionRate).toBe(1);
    expect(f.groups[1].disparateImpact).toBeCloseTo(0.8, 12);
    expect(f.fourFifthsRule).toBe('met');
    // x: labels 1,0,?,1,0 -> positive rate 2/4, TPR 2/2, FPR 2/2.
    expect(f.groups[0]).toMatchObject({ positiveRate: 0.5, tpr: 1, fpr: 1 });
    // Without labels: no error rates.
    expect(fairnessByGroup('g', groups, scores, 0.5).groups[0].tpr).toBeNaN();
  });
});

import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, silhouette } from '../src/metrics/clustering.js';

describe('clustering metrics', () => {
  it('silhouette equals the hand-computed value', () => {
    // Clusters {0, 1} and {10, 11} on a line: s = (b - a) / max(a, b) per point.
    const x = new Float32Array([0, 1, 10, 11]);
    const s = silhouette(x, new Int32Array([0, 0, 1, 1]), 4, 1);
    const expected = ((10.5 - 1) / 10.5 + (9.5 - 1) / 9.5 + (9.5 - 1) / 9.5 + (10.5 - 1) / 10.5) / 4;
    expect(s).toBeCloseTo(expected, 10);
  });

  it('silhouette scores singletons 0 and a single cluster 0', () => {
    const x = new Float32Array([0, 5, 6]);
    // point 0 alone: 0; points 5, 6: a = 1, b = 5.5 and 6 respectively.
    const s = silhouette(x, new Int32Array([0, 1, 1]), 3, 1);
    expect(s).toBeCloseTo((0 + (5 - 1) / 5 + (6 - 1) / 6) / 3, 10);
    expect(silhouette(x, new Int32Array([0, 0, 0]), 3, 1)).toBe(0);
  });

  it('ARI is 1 for identical labelings up to renaming, and matches a hand count', () => {
    expect(adjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toBe(1);
    // Contingency [[2,0],[1,1]] (n=4): index = C(2,2) = 1; rows [2,2] -> 2 pairs, cols [3,1] -> 3 pairs;
    // expected = 2*3/C(4,2) = 1; max = 2.5; ARI = (1 - 1) / (2.5 - 1) = 0.
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 0, 1])).toBeCloseTo(0, 12);
    // [[2,0],[0,1],[0,1]] vs n=4: index 1, rows [2,1,1] -> 1, cols [2,2] -> 2, expected 2/6, max 1.5.
    expect(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo((1 - 2 / 6) / (1.5 - 2 / 6), 12);
  });
});

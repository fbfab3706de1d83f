/**
 * Piecewise-linear encoding's bin edges (models/nn/ple.ts), checked by hand: quantile edges
 * collapse on a point mass; 'fill' gives the mass its own edge and spreads the other bins
 * over the rest, so a zero-inflated input keeps its tail's resolution.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fitPle } from '../src/models/nn/ple.js';

/** One column: `zeros` zeros, then 1..n. */
const column = (zeros: number, n: number) => Float32Array.from([...new Array(zeros).fill(0), ...Array.from({ length: n }, (_, i) => i + 1)]);
const all = (x: Float32Array) => Int32Array.from(x.keys());

it('quantile edges collapse on a point mass; fill keeps the tail resolved', () => {
  const x = column(900, 100); // 90% zeros, as capital gain in UCI Adult
  expect(fitPle(x, 1, all(x), [0], 4, 'quantile').edges[0]).toEqual([0, 100]);
  // The mass (0) is an edge; the 3 bins left are the terciles of 1..100 (ranks 0, 33, 66, 99 of the 100 values).
  expect(fitPle(x, 1, all(x), [0], 4, 'fill').edges[0]).toEqual([0, 1, 34, 67, 100]);
  // No point mass: fill is the quantiles.
  const y = column(0, 100);
  expect(fitPle(y, 1, all(y), [0], 4, 'fill')).toEqual(fitPle(y, 1, all(y), [0], 4, 'quantile'));
});

it('edges are ascending, distinct, span the training values, and number at most bins + 3 (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -5, max: 50 }), { minLength: 2, maxLength: 400 }), fc.integer({ min: 2, max: 32 }), (values, bins) => {
      const x = Float32Array.from(values);
      for (const binning of ['quantile', 'fill'] as const) {
        const e = fitPle(x, 1, all(x), [0], bins, binning);
        if (new Set(values).size === 1) {
          expect(e.columns).toEqual([]);
          continue;
        }
        const edges = e.edges[0];
        expect(edges[0]).toBe(Math.min(...values));
        expect(edges[edges.length - 1]).toBe(Math.max(...values));
        for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1]);
        expect(edges.length).toBeLessThanOrEqual(bins + 3);
      }
    }),
  );
});

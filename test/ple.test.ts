/**
 * Piecewise-linear encoding's bin edges (models/nn/ple.ts), checked by hand: quantile edges
 * collapse on a point mass; 'fill' gives the mass its own edge and spreads the other bins
 * over the rest, so a zero-inflated input keeps its tail's resolution.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { encodedWidth, fitPle, maxBins, PleEncoder } from '../src/models/nn/ple.js';

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

it('padded bins (for a per-column embedding) are the packed bins, each column in maxBins places, the rest 0', async () => {
  await initBackend();
  // Two columns encoded (0 and 2; column 1 is not), with 3 and 1 bins: maxBins 3.
  const e = { columns: [0, 2], edges: [[0, 1, 2, 4], [10, 20]] };
  expect(maxBins(e)).toBe(3);
  const packed = new PleEncoder(3, e);
  const padded = new PleEncoder(3, e, true);
  const x = tf.tensor2d([0.5, 7, 15, 3, -1, 25, -9, 0, 10], [3, 3]);
  const [ta, tb] = [packed.bins(x), padded.bins(x)];
  const a = (await ta.array()) as number[][];
  const b = (await tb.array()) as number[][];
  expect(a[0]).toEqual([0.5, 0, 0, 0.5]);
  expect(a[1]).toEqual([1, 1, 0.5, 1]); // 3 is half-way through [2, 4); 25 saturates
  for (let i = 0; i < 3; i++) expect(b[i]).toEqual([...a[i].slice(0, 3), a[i][3], 0, 0]);
  expect(encodedWidth(3, e)).toBe(3 + 4);
  expect(encodedWidth(3, e, 8)).toBe(3 + 2 * 8);
  tf.dispose([x, ta, tb]);
  packed.dispose();
  padded.dispose();
});

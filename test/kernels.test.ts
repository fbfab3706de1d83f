/**
 * The wasm BatchMatMul override (compute/kernels.ts): each branch (Aᵀ·B directly, Aᵀ·B as
 * (Bᵀ·A)ᵀ, A·Bᵀ, Aᵀ·Bᵀ, batched rank-3 operands) against a plain triple loop, with the
 * backend's tensor count unchanged (its temporaries are freed). On other backends the
 * override is off and the same checks hold for tfjs's own kernel.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';

/** C = op(A) op(B) for row-major batches: a [batch, m, k] (or [batch, k, m] when ta), b likewise. */
function reference(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = ta ? a[z * k * m + p * m + i] : a[z * m * k + i * k + p];
          const bv = tb ? b[z * n * k + j * k + p] : b[z * k * n + p * n + j];
          s += av * bv;
        }
        out[z * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

describe('BatchMatMul with transposed operands', () => {
  it.each([
    // [m, k, n]: a tall Aᵀ with a narrow B takes the (BᵀA)ᵀ form; a small A the direct one.
    [3, 200, 2],
    [40, 5, 30],
    [1, 7, 1],
    [17, 1, 9],
  ])('m=%i k=%i n=%i, every transpose combination, rank 2 and 3', async (m, k, n) => {
    await initBackend();
    for (const batch of [1, 3]) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const a = Float32Array.from({ length: batch * m * k }, (_, i) => ((i * 37) % 23) / 7 - 1.5);
        const b = Float32Array.from({ length: batch * k * n }, (_, i) => ((i * 53) % 19) / 5 - 1.8);
        const before = tf.memory().numTensors;
        const shapeA = ta ? [k, m] : [m, k];
        const shapeB = tb ? [n, k] : [k, n];
        const A = batch === 1 ? tf.tensor2d(a, shapeA as [number, number]) : tf.tensor3d(a, [batch, ...shapeA] as [number, number, number]);
        const B = batch === 1 ? tf.tensor2d(b, shapeB as [number, number]) : tf.tensor3d(b, [batch, ...shapeB] as [number, number, number]);
        const C = tf.matMul(A as tf.Tensor3D, B as tf.Tensor3D, ta, tb);
        const got = (await C.data()) as Float32Array;
        const want = reference(a, b, batch, m, k, n, ta, tb);
        expect(C.shape).toEqual(batch === 1 ? [m, n] : [batch, m, n]);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i])));
        tf.dispose([A, B, C]);
        expect(tf.memory().numTensors).toBe(before);
      }
    }
  });

  it('gradients through a dense layer (the transposes autodiff asks for) equal the hand-derived ones (property)', async () => {
    await initBackend();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), async (rows, d, h) => {
        const x = tf.tensor2d(Float32Array.from({ length: rows * d }, (_, i) => Math.sin(i + 1)), [rows, d]);
        const w = tf.tensor2d(Float32Array.from({ length: d * h }, (_, i) => Math.cos(i + 2)), [d, h]);
        // L = sum(X W): dL/dW = Xᵀ 1 (column sums of X repeated), dL/dX = 1 Wᵀ (row sums of W).
        const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D)))([x, w]);
        const xs = (await x.data()) as Float32Array;
        const ws = (await w.data()) as Float32Array;
        const gwv = (await gw.data()) as Float32Array;
        const gxv = (await gx.data()) as Float32Array;
        for (let j = 0; j < d; j++) {
          let col = 0;
          for (let i = 0; i < rows; i++) col += xs[i * d + j];
          for (let c = 0; c < h; c++) expect(gwv[j * h + c]).toBeCloseTo(col, 3);
        }
        for (let j = 0; j < d; j++) {
          let row = 0;
          for (let c = 0; c < h; c++) row += ws[j * h + c];
          for (let i = 0; i < rows; i++) expect(gxv[i * d + j]).toBeCloseTo(row, 3);
        }
        tf.dispose([x, w, gx, gw]);
      }),
      { numRuns: 25 },
    );
  });
});

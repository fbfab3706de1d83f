/**
 * Kernel fixes applied when a backend starts. On wasm, matMul with a transposed operand
 * skips XNNPACK (measured 2.3 vs 24 GFLOP/s), and every backward pass through a dense
 * layer asks for one. The override transposes explicitly, then runs the plain kernel, and
 * picks the cheaper form: wasm's Transpose is itself slow (3.4 ms for 4096 x 128), so
 * Aᵀ·B is computed as (Bᵀ·A)ᵀ when B plus the result are smaller than A (a weight
 * gradient whose output layer is narrow). Vectors are transposed too, not reshaped: a
 * Reshape view shares its input's buffer, and disposing it here corrupted variables in
 * training (caught by the propensity tests). One fix here speeds up autodiff,
 * layers and our own code alike.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Backend = { disposeData(id: object): void };

let patched = false;

/**
 * Replaces the wasm backend's BatchMatMul with one that transposes operands explicitly
 * before the multiply: XNNPACK skips transposed operands (measured 2.3 vs 24 GFLOP/s, see
 * DESIGN.md), which tfjs's gradients produce. Idempotent; a no-op on other backends.
 */
export function patchWasmMatMul(): void {
  if (patched || tf.getBackend() !== 'wasm') return;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!matMul || !transpose) return;
  const plain = matMul.kernelFunc;

  const kernelFunc: KernelFunc = (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
      backend: Backend;
      attrs: { transposeA: boolean; transposeB: boolean };
    };
    if (!attrs.transposeA && !attrs.transposeB) return plain(args);
    const temps: tf.TensorInfo[] = [];
    const run = (name: 'transpose' | 'matMul', kernelArgs: object): tf.TensorInfo => {
      const out = (name === 'matMul' ? plain : transpose.kernelFunc)({ backend, ...kernelArgs } as never) as tf.TensorInfo;
      temps.push(out);
      return out;
    };
    const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return run('transpose', { inputs: { x: t }, attrs: { perm } });
    };
    const product = (a: tf.TensorInfo, b: tf.TensorInfo) => run('matMul', { inputs: { a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    // Elements a transpose must move.
    const size = (t: tf.TensorInfo) => t.shape.reduce((x, y) => x * y, 1);
    const r = inputs.a.shape.length;
    const aCols = inputs.a.shape[r - 1];
    const bCols = inputs.b.shape[r - 1];
    let out: tf.TensorInfo;
    try {
      if (attrs.transposeA && attrs.transposeB) {
        out = swapLast(product(inputs.b, inputs.a)); // AᵀBᵀ = (BA)ᵀ
      } else if (attrs.transposeA) {
        const direct = size(inputs.a);
        const swapped = size(inputs.b) + aCols * bCols * (size(inputs.a) / (inputs.a.shape[r - 2] * aCols));
        out = direct <= swapped ? product(swapLast(inputs.a), inputs.b) : swapLast(product(swapLast(inputs.b), inputs.a)); // AᵀB = (BᵀA)ᵀ
      } else {
        out = product(inputs.a, swapLast(inputs.b));
      }
    } finally {
      for (const t of temps) if (t !== out!) backend.disposeData(t.dataId);
    }
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...matMul, kernelFunc });
  patched = true;
}

/**
 * The K-Means step as two WGSL kernels on the webgpu backend. tfjs's generic ops write and
 * re-read the rows x K distance matrix, and its float scatterND adds with compare-and-swap
 * atomics, which serialize when millions of rows land on K addresses. Here:
 *   1. assign: one thread per row reads its row once and keeps the K partial distances in
 *      registers (the centroid operand sits in workgroup memory): only labels are written;
 *   2. sums: threads own one column each, lanes of them stride over a slice of rows (so a
 *      workgroup reads contiguous memory) and keep K per-cluster accumulators in registers;
 *      each writes its partial sums once. No atomics; the partials are summed by tfjs.
 * Memory traffic: Xa read twice plus the labels, where the generic path also moves the
 * distance matrix three times and contends on atomics.
 */
import { tf } from '../../compute/backend.js';
import { deviceLimits, fusedKernels, runProgram, type WgslProgram } from '../../compute/webgpu.js';

const ASSIGN_THREADS = 128;
const SUM_THREADS = 256;
/** Registers per thread hold K accumulators: beyond this the generic ops are the better path. */
const MAX_K = 64;

/** Whether the fused kernels serve this shape on the current backend. */
export function fusedStepAvailable(d: number, k: number): boolean {
  return fusedKernels() && k <= MAX_K && d + 1 <= SUM_THREADS && (d + 1) * k * 4 <= deviceLimits().maxComputeWorkgroupStorageSize;
}

/** Labels (int32 [rows]) of the nearest centroid for each row of Xa [rows, D+1], given op [D+1, K]. */
export function assignLabels(xa: tf.Tensor2D, op: tf.Tensor2D): tf.Tensor1D {
  const [rows, d1] = xa.shape;
  const k = op.shape[1];
  const program: WgslProgram = {
    shaderKey: `audienceKMeansAssign_${d1}_${k}`,
    variableNames: ['points', 'op'],
    outputShape: [rows],
    workgroupSize: [ASSIGN_THREADS, 1, 1],
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(rows / ASSIGN_THREADS), 1, 1],
    size: true,
    getUserCode: () => `
      var<workgroup> opShared : array<f32, ${d1 * k}>;
      fn main(index : i32) {
        for (var i = i32(localIndex); i < ${d1 * k}; i = i + ${ASSIGN_THREADS}) {
          opShared[i] = op[i];
        }
        workgroupBarrier();
        if (index >= uniforms.size) {
          return;
        }
        var s : array<f32, ${k}>;
        let base = index * ${d1};
        for (var j = 0; j < ${d1}; j = j + 1) {
          let v = points[base + j];
          for (var c = 0; c < ${k}; c = c + 1) {
            s[c] = s[c] + v * opShared[j * ${k} + c];
          }
        }
        var best = 0;
        var bestValue = s[0];
        for (var c = 1; c < ${k}; c = c + 1) {
          if (s[c] < bestValue) {
            bestValue = s[c];
            best = c;
          }
        }
        result[index] = best;
      }`,
  };
  return runProgram(program, [xa, op], 'int32') as tf.Tensor1D;
}

/** Per-cluster sums of Xa's rows (the ones column gives the counts): [K, D+1]. */
export function clusterSums(xa: tf.Tensor2D, labels: tf.Tensor1D, k: number): tf.Tensor2D {
  const [rows, d1] = xa.shape;
  const lanes = Math.floor(SUM_THREADS / d1);
  // About 64 rows per thread at least, and no more workgroups than fill a large GPU once.
  const groups = Math.max(1, Math.min(1024, Math.ceil(rows / (lanes * 64))));
  const program: WgslProgram = {
    shaderKey: `audienceKMeansSums_${d1}_${k}`,
    variableNames: ['points', 'labels'],
    outputShape: [groups * lanes, k * d1],
    workgroupSize: [SUM_THREADS, 1, 1],
    dispatchLayout: { x: [0, 1] },
    dispatch: [groups, 1, 1],
    getUserCode: () => `
      fn main(unused : i32) {
        let t = i32(localIndex);
        let lane = t / ${d1};
        let j = t - lane * ${d1};
        if (lane >= ${lanes}) {
          return;
        }
        let rows = uniforms.pointsShape.x;
        let groups = i32(numWorkgroups.x);
        let g = i32(workgroupId.x);
        let chunk = (rows + groups - 1) / groups;
        let end = min(rows, (g + 1) * chunk);
        var acc : array<f32, ${k}>;
        for (var r = g * chunk + lane; r < end; r = r + ${lanes}) {
          let v = points[r * ${d1} + j];
          let c = labels[r];
          for (var q = 0; q < ${k}; q = q + 1) {
            acc[q] = acc[q] + select(0.0, v, q == c);
          }
        }
        let out = (g * ${lanes} + lane) * ${k * d1} + j;
        for (var q = 0; q < ${k}; q = q + 1) {
          result[out + q * ${d1}] = acc[q];
        }
      }`,
  };
  return tf.tidy(() => tf.sum(runProgram(program, [xa, labels], 'float32'), 0).reshape([k, d1]) as tf.Tensor2D);
}

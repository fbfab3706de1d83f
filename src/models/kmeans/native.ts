/**
 * Lloyd steps on onnxruntime-node's native kernels (onnx/train-graphs.ts lloydStepGraph): the
 * rows held on the host as [X | 1] chunks, each step one run per chunk on every core, the
 * chunks' sums added in float64. On the CPU this replaces tfjs-wasm (one thread per backend,
 * 128-bit SIMD) with MLAS (AVX2/AVX-512 with FMA).
 */
import ort from 'onnxruntime-node';
import { cpuSession } from '../nn/native.js';
import { lloydStepGraph } from '../onnx/train-graphs.js';
import { centroidOperandValues, splitSums } from './kernels.js';

/** Rows per run: the distances (rows x K) stay in cache-sized pieces. */
export const NATIVE_CHUNK_ROWS = 65_536;

/** One session per K over the same host rows. */
export class NativeLloyd {
  private readonly sessions = new Map<number, Promise<ort.InferenceSession>>();

  /** `chunks`: row-major [X | 1] values, d + 1 per row. */
  constructor(
    private readonly chunks: Float32Array[],
    private readonly d: number,
  ) {}

  /** Per-cluster sums (K x D) and counts (K) of the rows under `centroids` (K x D, row-major). */
  async sums(centroids: Float32Array, k: number): Promise<{ sums: Float64Array; counts: Float64Array }> {
    const d = this.d;
    let session = this.sessions.get(k);
    if (!session) this.sessions.set(k, (session = cpuSession(lloydStepGraph(d, k))));
    const s = await session;
    const op = new ort.Tensor('float32', centroidOperandValues(centroids, k, d), [d + 1, k]);
    const acc = new Float64Array(k * (d + 1));
    for (const chunk of this.chunks) {
      const out = await s.run({ xa: new ort.Tensor('float32', chunk, [chunk.length / (d + 1), d + 1]), op });
      const part = out.sums.data as Float32Array;
      for (let i = 0; i < part.length; i++) acc[i] += part[i];
    }
    return splitSums(acc, k, d);
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.then((x) => x.release());
    this.sessions.clear();
  }
}

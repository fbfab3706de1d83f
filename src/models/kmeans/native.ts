/**
 * Lloyd steps on onnxruntime-node's native kernels (onnx/train-graphs.ts lloydStepGraph): the
 * rows held on the host as [X | 1] chunks, each step one run per chunk, a run on each core at
 * once, the chunks' sums added in float64. On the CPU this replaces tfjs-wasm (one thread per backend,
 * 128-bit SIMD) with MLAS (AVX2/AVX-512 with FMA).
 */
import os from 'node:os';
import ort from 'onnxruntime-node';
import { cpuSession } from '../nn/native.js';
import { lloydStepGraph } from '../onnx/train-graphs.js';
import { centroidOperandValues, splitSums } from './kernels.js';

/** Rows per run: the distances (rows x K) stay in cache-sized pieces. */
export const NATIVE_CHUNK_ROWS = 32_768;

/**
 * Runs side by side, one intra-op thread each (data-parallel over the chunks): onnxruntime's
 * ScatterND runs on one thread, so one run on every core left a core idle for a third of the
 * step (measured at 1M x 32, K = 16: 52 ms with one two-thread run at a time, 26 ms with two
 * one-thread runs).
 */
const LANES = os.availableParallelism();

/** One set of sessions per K over the same host rows. */
export class NativeLloyd {
  private readonly sessions = new Map<number, Promise<ort.InferenceSession[]>>();

  /** `chunks`: row-major [X | 1] values, d + 1 per row. */
  constructor(
    private readonly chunks: Float32Array[],
    private readonly d: number,
  ) {}

  /** Per-cluster sums (K x D) and counts (K) of the rows under `centroids` (K x D, row-major); each lane's float64 total added in lane order (the same sums every run). */
  async sums(centroids: Float32Array, k: number): Promise<{ sums: Float64Array; counts: Float64Array }> {
    const d = this.d;
    let sessions = this.sessions.get(k);
    if (!sessions) {
      const graph = lloydStepGraph(d, k);
      this.sessions.set(k, (sessions = Promise.all(Array.from({ length: Math.min(LANES, this.chunks.length) || 1 }, () => cpuSession(graph, 1)))));
    }
    const lanes = await sessions;
    const op = new ort.Tensor('float32', centroidOperandValues(centroids, k, d), [d + 1, k]);
    const totals = await Promise.all(
      lanes.map(async (session, lane) => {
        const acc = new Float64Array(k * (d + 1));
        for (let c = lane; c < this.chunks.length; c += lanes.length) {
          const chunk = this.chunks[c];
          const out = await session.run({ xa: new ort.Tensor('float32', chunk, [chunk.length / (d + 1), d + 1]), op });
          const part = out.sums.data as Float32Array;
          for (let i = 0; i < part.length; i++) acc[i] += part[i];
        }
        return acc;
      }),
    );
    const acc = totals.reduce((a, b) => a.map((v, i) => v + b[i]));
    return splitSums(acc, k, d);
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.then((lanes) => lanes.forEach((x) => void x.release()));
    this.sessions.clear();
  }
}

/**
 * Runs a model's scoring graph (model-graphs.ts) on onnxruntime-node: the CPU execution
 * provider (MLAS kernels; one session per model; intra-op threads = the cores on the main
 * thread, 1 in a shard pool's worker thread, where the pool's lanes already use the cores),
 * fed the raw feature columns of a batch as the readers give them: numeric columns handed
 * over as their Float64Array (no per-value JavaScript), booleans as 1/0/NaN, categorical text
 * as categoryOf writes it.
 */
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { ColumnBatch } from '../../io/columns.js';
import { numberColumn, textColumn } from '../../io/columns.js';
import type { OutputData } from '../../io/writer.js';
import { booleanValues, categoryOf, type FittedTransform } from '../../features/transform.js';
import { featureInputs, type FeatureInput } from './transform-graph.js';

/** The engine and provider a process scores with, for `audience info` and manifests. */
export const ONNX_ENGINE = { engine: 'onnxruntime-node', version: ort.env.versions.node ?? 'unknown', provider: 'cpu' } as const;

/** One model's graph in an ORT session. */
export class OnnxScorer {
  private readonly inputs: FeatureInput[];

  private constructor(
    private readonly session: ort.InferenceSession,
    transform: FittedTransform,
    private readonly outputs: string[],
  ) {
    this.inputs = featureInputs(transform);
  }

  /**
   * A session of the graph `bytes` for a model with `transform`; `outputs` are the score columns it yields.
   * @throws Error when onnxruntime cannot load the graph (a bug: graphs are built here).
   */
  static async create(bytes: Uint8Array, transform: FittedTransform, outputs: string[], threads = isMainThread ? os.availableParallelism() : 1): Promise<OnnxScorer> {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    return new OnnxScorer(session, transform, outputs);
  }

  /** The score columns of a batch and the count of values imputed in it. */
  async run(batch: ColumnBatch): Promise<{ outputs: Record<string, OutputData>; imputed: number }> {
    const feeds: Record<string, ort.Tensor> = {};
    const n = batch.rows;
    for (const input of this.inputs) feeds[input.name] = feed(batch, input, n);
    const result = await this.session.run(feeds);
    const outputs: Record<string, OutputData> = {};
    for (const name of this.outputs) outputs[name] = result[name].data as OutputData;
    const imputed = Number(result.imputed.data[0]);
    for (const t of Object.values(result)) t.dispose();
    return { outputs, imputed };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** A feature's column as the graph's input tensor (numbers handed over as they are). */
function feed(batch: ColumnBatch, input: FeatureInput, n: number): ort.Tensor {
  if (input.kind === 'categorical') return new ort.Tensor('string', textColumn(batch, input.name).map(categoryOf), [n]);
  return new ort.Tensor('float64', input.kind === 'boolean' ? booleanValues(batch, input.name) : numberColumn(batch, input.name), [n]);
}

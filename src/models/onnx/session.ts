/**
 * Runs a model's scoring graph (model-graphs.ts) on onnxruntime-node: the CPU execution
 * provider (MLAS kernels; one session per model; intra-op threads = the cores on the main
 * thread, 1 in a shard pool's worker thread, where the pool's lanes already use the cores),
 * fed the raw feature columns of a batch as the readers give them: numeric columns handed
 * over as their Float64Array (no per-value JavaScript), booleans as 1/0/NaN, categoricals as
 * their level codes (the read's, features/transform.ts scoringRequest, or from their text).
 */
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { backendName } from '../../compute/backend.js';
import type { ColumnBatch } from '../../io/columns.js';
import { numberColumn } from '../../io/columns.js';
import type { OutputData } from '../../io/writer.js';
import { booleanValues, levelColumn, transform, type FittedCategorical, type FittedTransform } from '../../features/transform.js';
import type { Manifest, Weight } from '../registry.js';
import { scoringGraph, type KindGraph } from './model-graphs.js';
import { featureInputs, type FeatureInput } from './transform-graph.js';

/** The engine a process scores with, for `audience info` and manifests (its provider: onnxProvider). */
export const ONNX_ENGINE = { engine: 'onnxruntime-node', version: ort.env.versions.node ?? 'unknown' } as const;

/** onnxruntime's execution providers the product uses: MLAS on the CPU, or Dawn's WebGPU (over Vulkan, as tfjs-webgpu). */
export type OnnxProvider = 'cpu' | 'webgpu';

/**
 * The provider this process scores on: WebGPU where its tfjs backend is webgpu (a GPU host,
 * or lavapipe when asked for), else the CPU. AUDIENCE_ONNX_PROVIDER=cpu|webgpu overrides.
 * Nodes the WebGPU provider lacks a kernel for run on the CPU provider within the same session.
 */
export function onnxProvider(): OnnxProvider {
  const forced = process.env.AUDIENCE_ONNX_PROVIDER;
  if (forced === 'cpu' || forced === 'webgpu') return forced;
  return backendName() === 'webgpu' ? 'webgpu' : 'cpu';
}

/**
 * Batches of at most this many rows take the JavaScript transform (features/transform.ts, the
 * reference the graphs are tested against) and the model's part of the graph alone: for one
 * visitor the transform's nodes cost more than the transform itself.
 */
export const SMALL_BATCH_ROWS = 16;

/** One model's graph in an ORT session. */
export class OnnxScorer {
  private readonly inputs: FeatureInput[];

  private readonly categorical: Map<string, FittedCategorical>;

  private small: Promise<ort.InferenceSession> | undefined;

  private smallBytes: Uint8Array | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly transform: FittedTransform,
    /** The score columns this scorer yields. */
    readonly outputs: string[],
    private readonly options: ort.InferenceSession.SessionOptions,
    private readonly buildSmall: () => Uint8Array,
  ) {
    this.inputs = featureInputs(transform, false);
    this.categorical = new Map(transform.features.flatMap((f) => (f.kind === 'categorical' ? [[f.name, f]] : [])));
  }

  /**
   * A session of a stored version's scoring graph (its kind's `graph`), its categorical inputs
   * as level indices (computed here, as transform() does), yielding the score columns `outputs`.
   * @throws Error when onnxruntime cannot load it (a bug).
   */
  static async create(manifest: Manifest, weights: Map<string, Weight>, graph: KindGraph, outputs: string[], threads = isMainThread ? os.availableParallelism() : 1, provider = onnxProvider()): Promise<OnnxScorer> {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: provider === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // Its threads sleep between runs instead of spinning: on a small host they otherwise take
      // the core that reads and writes the next batch (in process, 1M rows on 2 cores: 350-380k
      // rows/s against 287-311k, and 2 s less CPU).
      ...(threads > 1 ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    };
    const session = await ort.InferenceSession.create(scoringGraph(manifest, weights, graph, false), options);
    // The model's part alone, for small batches: made on the first one.
    return new OnnxScorer(session, manifest.features, outputs, options, () => scoringGraph(manifest, weights, graph, false, true));
  }

  /** The model's part of the graph alone (ModelProto bytes; input `xT`, the transformed block transposed [d, N]), for small batches and OnnxRowSet. */
  smallGraph(): Uint8Array {
    return (this.smallBytes ??= this.buildSmall());
  }

  /** A few rows through the JavaScript transform, as the small graph's `xT` ([d, N] float32), and the count of values imputed. */
  smallInput(batch: ColumnBatch): { xT: ort.Tensor; imputed: number } {
    const block = transform({ ...this.transform, id: { column: null, as: 'row' } }, batch);
    const { rows: n, cols: d, data } = block;
    const xT = new Float32Array(n * d);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) xT[j * n + r] = data[r * d + j];
    return { xT: new ort.Tensor('float32', xT, [d, n]), imputed: block.imputed };
  }

  /** The score columns of a batch and the count of values imputed in it. */
  async run(batch: ColumnBatch): Promise<{ outputs: Record<string, OutputData>; imputed: number }> {
    if (batch.rows <= SMALL_BATCH_ROWS) return this.runSmall(batch);
    const feeds: Record<string, ort.Tensor> = {};
    const n = batch.rows;
    for (const input of this.inputs) feeds[input.name] = this.feed(batch, input, n);
    const result = await this.session.run(feeds);
    const imputed = Number(result.imputed.data[0]);
    return { outputs: takeOutputs(result, this.outputs), imputed };
  }

  /** A few rows: the JavaScript transform, then the model's part of the graph on the block, transposed. */
  private async runSmall(batch: ColumnBatch): Promise<{ outputs: Record<string, OutputData>; imputed: number }> {
    const { xT, imputed } = this.smallInput(batch);
    this.small ??= ort.InferenceSession.create(this.smallGraph(), { ...this.options, intraOpNumThreads: 1 });
    const result = await (await this.small).run({ xT });
    return { outputs: takeOutputs(result, this.outputs), imputed };
  }

  /** Releases the sessions. */
  async dispose(): Promise<void> {
    await this.session.release();
    if (this.small) await (await this.small).release();
  }

  /** A feature's column as the graph's input tensor: numbers handed over as they are, categoricals as their level codes. */
  private feed(batch: ColumnBatch, input: FeatureInput, n: number): ort.Tensor {
    const f = this.categorical.get(input.name);
    if (f) return new ort.Tensor('int32', new Int32Array(levelColumn(batch, f)), [n]);
    return new ort.Tensor('float64', input.kind === 'boolean' ? booleanValues(batch, input.name) : numberColumn(batch, input.name), [n]);
  }
}

/** The columns `names` of a session's result, as arrays (the result's tensors released). */
export function takeOutputs(result: ort.InferenceSession.ReturnType, names: string[]): Record<string, OutputData> {
  const outputs: Record<string, OutputData> = {};
  for (const name of names) outputs[name] = result[name].data as OutputData;
  for (const t of Object.values(result)) t.dispose();
  return outputs;
}

/**
 * The MLP classifier trained on onnxruntime-node's native kernels: each step is one run of
 * the step graph (onnx/train-graphs.ts: forward, weighted cross-entropy, backward, with the
 * weights as inputs and the gradients as outputs) on every core, and Adam updates the
 * weights, held here as Float32Arrays, in place (HostAdam). tfjs's per-op dispatch and the
 * wasm backend's single thread are out of the loop; the network (Mlp) gets the weights back
 * whenever the loop restores them, so what is saved and scored is the same kind of model.
 */
import os from 'node:os';
import ort from 'onnxruntime-node';
import { mlpForwardGraph, mlpParamShapes, mlpStepGraph, type StepLoss } from '../onnx/train-graphs.js';
import { gatherRows } from '../../util/matrix.js';
import { Rng } from '../../util/rng.js';
import { HostAdam } from './adam.js';
import type { Labeled, Stepper } from './fit.js';
import type { Mlp } from './mlp.js';

/** Rows per forward run when computing logits (a few MB of activations). */
const FORWARD_ROWS = 16_384;

/**
 * An ORT session of `graph` on the CPU provider with every core (intra-op threads), graph
 * optimizations on. Its threads do not spin between runs: the host's work between two steps
 * (the batch's rows, Adam) would share a core with a spinning thread.
 */
export function cpuSession(graph: Uint8Array, threads = os.availableParallelism()): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(graph, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}

/** A batch's targets y and row weights w (each over the batch's rows), one per row. */
export type BatchTargets = (rows: Int32Array) => { y: Float32Array; w: Float32Array };

/** Targets of a classifier: the 0/1 labels, each row weighted by its class's weight [negative, positive] over the batch's rows. */
export function classTargets(labels: Uint8Array, classWeights: [number, number]): BatchTargets {
  return (rows) => ({ y: Float32Array.from(rows, (r) => labels[r]), w: Float32Array.from(rows, (r) => classWeights[labels[r]] / rows.length) });
}

/**
 * Dropout masks for the native step: per hidden layer a pool of `rows` random masks (each
 * value 0 with probability p, else 1 / (1 - p)), drawn once from the seed; a batch takes a
 * window of consecutive pool rows at a random offset, handed to onnxruntime as a view (no
 * copy). The batch's rows come in a new random order every pass, so each row meets a mask
 * drawn at random from the pool, and rows of one batch meet different ones. Drawing fresh
 * masks every step (onnxruntime's RandomUniformLike) cost a quarter of the step (measured on
 * the 321-128-64 network at batch 4096: 10.5 ms against 8 ms without dropout).
 */
export class MaskPool {
  private readonly pools: Float32Array[];
  private readonly rng: Rng;

  constructor(
    private readonly hidden: number[],
    p: number,
    readonly rows: number,
    seed: number,
  ) {
    this.rng = new Rng(seed ^ 0xd7);
    const keep = 1 / (1 - p);
    this.pools = hidden.map((h) => Float32Array.from({ length: rows * h }, () => (this.rng.next() < p ? 0 : keep)));
  }

  /** The masks m0.. for a batch of `b` rows (at most the pool's rows), as graph inputs. */
  feeds(b: number): Record<string, ort.Tensor> {
    const at = this.rng.int(this.rows - b + 1);
    return Object.fromEntries(this.hidden.map((h, l) => [`m${l}`, new ort.Tensor('float32', this.pools[l].subarray(at * h, (at + b) * h), [b, h])]));
  }
}

/** Rows of a dropout pool for batches of `batch` rows: 16 batches, within 4,096..65,536 rows. */
export function maskPoolRows(batch: number): number {
  return Math.max(batch, Math.min(65_536, Math.max(4096, 16 * batch)));
}

/** The Stepper of a plain one-logit MLP on onnxruntime (see the module's note). */
export class NativeStepper implements Stepper {
  private readonly params: Float32Array[];
  private readonly shapes: number[][];
  private readonly adam: HostAdam;
  private averaged?: Float32Array[];
  private masks?: MaskPool;
  private lossSum = 0;
  private batches = 0;

  private constructor(
    private readonly mlp: Mlp,
    private readonly data: Pick<Labeled, 'x' | 'd'>,
    private readonly targets: BatchTargets,
    private readonly stepSession: ort.InferenceSession,
    private readonly forwardSession: ort.InferenceSession,
    values: Float32Array[],
    ema: boolean,
  ) {
    this.params = values;
    this.shapes = mlpParamShapes(mlp.config);
    this.adam = new HostAdam(values.map((v) => v.length), mlp.config.learningRate);
    if (ema) this.averaged = values.map((v) => Float32Array.from(v));
  }

  /**
   * A stepper for `mlp` (its current weights) on the rows of `data` (rows x d), each batch's
   * targets and row weights from `targets`, minimizing `loss`; `ema`: keep the moving
   * average. The caller checks nativeStepSupports.
   */
  static async create(mlp: Mlp, data: Pick<Labeled, 'x' | 'd'>, targets: BatchTargets, ema: boolean, loss: StepLoss = 'bce'): Promise<NativeStepper> {
    const [step, fwd] = await Promise.all([cpuSession(mlpStepGraph(mlp.config, loss)), cpuSession(mlpForwardGraph(mlp.config))]);
    return new NativeStepper(mlp, data, targets, step, fwd, await mlp.snapshot(), ema);
  }

  private paramFeeds(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
    this.params.forEach((p, i) => (feeds[`p${i}`] = new ort.Tensor('float32', p, this.shapes[i])));
    return feeds;
  }

  async step(rows: Int32Array): Promise<void> {
    const { loss, grads } = await this.gradients(rows);
    this.adam.apply(this.params, grads);
    this.lossSum += loss;
    this.batches++;
  }

  /** The batch loss (weighted cross-entropy with L2, as Mlp.trainStep) and its gradient by each parameter, at the weights in place. */
  async gradients(rows: Int32Array): Promise<{ loss: number; grads: Float32Array[] }> {
    const { d } = this.data;
    const b = rows.length;
    const x = gatherRows(this.data.x, this.data.d, rows);
    const { y, w } = this.targets(rows);
    const { hidden, dropout, seed } = this.mlp.config;
    if (dropout > 0 && (this.masks?.rows ?? 0) < b) this.masks = new MaskPool(hidden, dropout, maskPoolRows(b), seed);
    const feeds = { x: new ort.Tensor('float32', x, [b, d]), y: new ort.Tensor('float32', y, [b, 1]), w: new ort.Tensor('float32', w, [b, 1]), ...this.masks?.feeds(b) };
    const out = await this.stepSession.run(this.paramFeeds(feeds));
    return { loss: (out.loss.data as Float32Array)[0], grads: this.params.map((_, i) => out[`g${i}`].data as Float32Array) };
  }

  passLoss(): Promise<number> {
    const mean = this.lossSum / Math.max(1, this.batches);
    this.lossSum = 0;
    this.batches = 0;
    return Promise.resolve(mean);
  }

  average(decay: number): void {
    this.averaged!.forEach((a, i) => {
      const p = this.params[i];
      for (let j = 0; j < a.length; j++) a[j] = decay * a[j] + (1 - decay) * p[j];
    });
  }

  useAverage(): void {
    this.averaged!.forEach((a, i) => this.params[i].set(a));
  }

  snapshot(): Promise<Float32Array[]> {
    return Promise.resolve(this.params.map((p) => Float32Array.from(p)));
  }

  restore(values: Float32Array[]): void {
    values.forEach((v, i) => this.params[i].set(v));
    this.mlp.restore(values);
  }

  /** The outputs (rows x outputs, row-major) of the given rows of the data under the weights in place (no dropout), FORWARD_ROWS at a time. */
  async logits(rows: Int32Array): Promise<Float32Array> {
    const k = this.mlp.config.outputs ?? 1;
    const out = new Float32Array(rows.length * k);
    for (let s = 0; s < rows.length; s += FORWARD_ROWS) {
      const span = rows.subarray(s, Math.min(rows.length, s + FORWARD_ROWS));
      const result = await this.forwardSession.run(this.paramFeeds({ x: new ort.Tensor('float32', gatherRows(this.data.x, this.data.d, span), [span.length, this.data.d]) }));
      out.set(result.logit.data as Float32Array, s * k);
    }
    return out;
  }

  dispose(): void {
    void this.stepSession.release();
    void this.forwardSession.release();
  }
}

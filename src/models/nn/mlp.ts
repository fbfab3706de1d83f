/**
 * A multi-layer perceptron: ReLU hidden layers, dropout, L2, and one logit (binary outcomes)
 * or several outputs (a distribution's parameters, e.g. the CLTV model's zero-inflated
 * lognormal). For the binary case the backward pass is written out (weighted binary
 * cross-entropy, `trainStep`), so each step runs the few plain matMuls it needs: bias
 * gradients are a ones-row matMul, not a column Sum, and dropout masks are reused, not
 * recomputed. Other losses go through `lossStep` (tfjs autodiff). With no hidden layer and
 * one output it is logistic regression.
 */
import { Type, type Static } from 'typebox';
import { tf } from '../../compute/backend.js';
import { maxTensorBytes } from '../../compute/memory.js';
import { readData } from '../../compute/read.js';
import { UserError } from '../../util/errors.js';
import { fusedKernels } from '../../compute/webgpu.js';
import { WebGPUAdam } from './adam-webgpu.js';
import type { Weight } from '../registry.js';
import { Rng } from '../../util/rng.js';
import { encodedWidth, maxBins, PleEncoder, PleEncodingSchema } from './ple.js';

/**
 * A network's shape and training settings, stored with its weights. `encoding`: the
 * piecewise-linear encoding of numeric inputs before the first layer (see ple.ts).
 * `ensemble`: members of a TabM-mini ensemble (Gorishniy, Kotelnikov and Babenko, "TabM:
 * Advancing Tabular Deep Learning with Parameter-Efficient Ensembling", ICLR 2025): k networks
 * that share every hidden layer, each with its own multiplicative adapter on the input
 * (initialized to random signs) and its own output head, trained together; the prediction is
 * the mean of their probabilities. One logit only. Default 1 (a plain MLP).
 */
export const MlpConfigSchema = Type.Object({
  inputs: Type.Integer({ minimum: 1 }),
  hidden: Type.Array(Type.Integer({ minimum: 1 })),
  dropout: Type.Number({ minimum: 0, maximum: 1 }),
  l2: Type.Number({ minimum: 0 }),
  learningRate: Type.Number({ exclusiveMinimum: 0 }),
  seed: Type.Integer(),
  /** Output units (default 1: one logit). */
  outputs: Type.Optional(Type.Integer({ minimum: 1 })),
  encoding: Type.Optional(PleEncodingSchema),
  ensemble: Type.Optional(Type.Integer({ minimum: 1 })),
  /** With an encoding: each encoded column's bins through its own linear layer to this many values and a ReLU, before the first layer (default none). */
  embedding: Type.Optional(Type.Integer({ minimum: 1 })),
});

/** A network's configuration (see MlpConfigSchema). */
export type MlpConfig = Static<typeof MlpConfigSchema>;

let instances = 0;

/** One parameter of a network: its stored name, shape and how it starts. */
interface ParamSpec {
  name: string;
  shape: number[];
  init: 'glorot' | 'zeros' | 'signs';
}

/** The optimizer a training loop steps an Mlp with: tfjs's Adam, or the fused one on webgpu. */
export type MlpOptimizer = tf.AdamOptimizer | WebGPUAdam;

/**
 * Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) at the
 * config's learning rate, for one training run: the loop owns it and disposes it; a model
 * loaded for scoring has none. On webgpu a fused Adam: tfjs's costs ~90 of a step's ~140
 * dispatches.
 */
export function adamFor(config: MlpConfig): MlpOptimizer {
  return fusedKernels() ? new WebGPUAdam(config.learningRate) : tf.train.adam(config.learningRate);
}

/** A multilayer perceptron (ReLU hidden layers, one logit out) on tfjs, with its weights as variables. */
export class Mlp {
  /** [W1, b1, W2, b2, ..., Wout, bout]. */
  readonly params: tf.Variable[];
  private readonly names: string[];
  /** Each parameter's stored name (W0, b0, ..., R, E, Eb). */
  private readonly stored: string[];
  /** The index of E in params, or -1 without an embedding. */
  private readonly embedding: number;
  private readonly encoder?: PleEncoder;

  private constructor(
    readonly config: MlpConfig,
    values: Float32Array[],
  ) {
    const id = ++instances;
    if (config.encoding) this.encoder = new PleEncoder(config.inputs, config.encoding, (config.embedding ?? 0) > 0);
    this.names = [];
    this.params = [];
    // tf.variable(init) keeps init alive; inside tidy the init is freed and the variable kept.
    const add = (name: string, data: Float32Array, shape: number[]) => {
      this.names.push(`mlp${id}/${name}`);
      this.params.push(tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `mlp${id}/${name}`)));
    };
    const layout = Mlp.layout(config);
    for (const [i, { name, shape }] of layout.entries()) add(name, values[i], shape);
    this.stored = layout.map((p) => p.name);
    this.embedding = layout.findIndex((p) => p.name === 'E');
  }

  /**
   * Rows one forward (or attribution) pass may take so that its widest intermediate, rows x
   * the widest layer (the encoded input, a padded bins block, a hidden layer; times the
   * ensemble's members), stays within maxTensorBytes(): WebGPU binds each tensor whole
   * (lavapipe at most 128 MiB), and a wider one reads back as zeros. 256 to 65,536.
   */
  rowsPerPass(): number {
    const c = this.config;
    const embedding = c.encoding ? (c.embedding ?? 0) : 0;
    const padded = embedding > 0 && c.encoding ? c.encoding.columns.length * maxBins(c.encoding) : 0;
    const widest = this.members * Math.max(encodedWidth(c.inputs, c.encoding, embedding), padded, ...c.hidden);
    return Math.max(256, Math.min(65_536, Math.floor(maxTensorBytes() / (4 * widest))));
  }

  /**
   * `pass` (logits, embed, an attribution) over x (rows x d, row-major) in spans of at most
   * rowsPerPass() rows, read back into one array of rows x `width` values.
   */
  async inSpans(x: Float32Array, d: number, width: number, pass: (x: tf.Tensor2D) => tf.Tensor): Promise<Float32Array> {
    const rows = x.length / d;
    const out = new Float32Array(rows * width);
    const step = this.rowsPerPass();
    for (let s = 0; s < rows; s += step) {
      const m = Math.min(step, rows - s);
      const t = tf.tidy(() => pass(tf.tensor2d(x.subarray(s * d, (s + m) * d), [m, d])));
      out.set(await readData(t), s * width);
      t.dispose();
    }
    return out;
  }

  /** Members of the ensemble (1 for a plain MLP). */
  get members(): number {
    return this.config.ensemble ?? 1;
  }

  /**
   * The parameters, in order, with their stored names, shapes and initialization: [W0, b0,
   * ..., Wout, bout]; then the ensemble's input adapters R [k, inputs] (with k members the
   * output head is per member: Wout [k, h, 1], bout [k, 1, 1]); then, with an embedding of
   * D values, E [columns, maxBins, D] and its biases Eb [columns, 1, D].
   */
  private static layout(config: MlpConfig): ParamSpec[] {
    const embedding = config.encoding ? (config.embedding ?? 0) : 0;
    const sizes = [encodedWidth(config.inputs, config.encoding, embedding), ...config.hidden, config.outputs ?? 1];
    const k = config.ensemble ?? 1;
    const out: ParamSpec[] = [];
    for (let l = 0; l < sizes.length - 1; l++) {
      const last = l === sizes.length - 2;
      out.push({ name: `W${l}`, shape: k > 1 && last ? [k, sizes[l], sizes[l + 1]] : [sizes[l], sizes[l + 1]], init: 'glorot' });
      out.push({ name: `b${l}`, shape: k > 1 && last ? [k, 1, sizes[l + 1]] : [sizes[l + 1]], init: 'zeros' });
    }
    if (k > 1) out.push({ name: 'R', shape: [k, sizes[0]], init: 'signs' });
    if (embedding > 0 && config.encoding) {
      const columns = config.encoding.columns.length;
      out.push({ name: 'E', shape: [columns, maxBins(config.encoding), embedding], init: 'glorot' });
      out.push({ name: 'Eb', shape: [columns, 1, embedding], init: 'zeros' });
    }
    return out;
  }

  /** Glorot-uniform weights from the seed, zero biases, random-sign adapters: the same seed gives the same network. */
  static init(config: MlpConfig): Mlp {
    if ((config.ensemble ?? 1) > 1 && (config.outputs ?? 1) !== 1) throw new Error('an ensemble MLP has one logit out');
    const rng = new Rng(config.seed);
    const values = Mlp.layout(config).map(({ shape, init }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      if (init === 'signs') return Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1));
      if (init === 'zeros') return new Float32Array(n);
      const [fanIn, fanOut] = shape.slice(-2);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * limit);
    });
    return new Mlp(config, values);
  }

  /**
   * A network from stored weights, checked against the config's shapes.
   * @throws UserError naming the weight that is missing or has another size (a damaged weights.bin, or one from another version).
   */
  static fromWeights(config: MlpConfig, weights: Map<string, Weight>): Mlp {
    const values = Mlp.layout(config).map(({ name, shape }) => {
      const w = weights.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!w) throw new UserError(`weights.bin has no weight "${name}"; retrain the model, or restore the file`);
      if (w.data.length !== n) throw new UserError(`weights.bin: weight "${name}" has ${w.data.length} values where the manifest's network needs ${n} (${shape.join(' x ')}); retrain the model, or restore the file`);
      return w.data;
    });
    return new Mlp(config, values);
  }

  get layers(): number {
    return this.config.hidden.length + 1;
  }

  /**
   * The first layer's input for a batch of raw inputs x [B, d]: encoded when the config says
   * so; with an embedding, each column's bins [B, maxBins] times its own E [maxBins, D] plus
   * Eb, through a ReLU ("PLE-LR", Gorishniy, Rubachev and Babenko 2022), then x: [B, columns x D + d].
   */
  private input(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.encoder) return x;
    if (this.embedding < 0) return this.encoder.encode(x);
    const E = this.params[this.embedding] as tf.Tensor3D;
    const Eb = this.params[this.embedding + 1];
    const [columns, places, D] = E.shape;
    const B = x.shape[0];
    const bins = tf.transpose(tf.reshape(this.encoder.bins(x), [B, columns, places]), [1, 0, 2]) as tf.Tensor3D;
    const embedded = tf.relu(tf.add(tf.matMul(bins, E), Eb)); // [columns, B, D]
    return tf.concat([tf.reshape(tf.transpose(embedded, [1, 0, 2]), [B, columns * D]), x], 1) as tf.Tensor2D;
  }

  /**
   * The ensemble's members' logits [k, B, 1] for a batch (training: with dropout, seeded by
   * `step`): each member scales the input by its adapter, the hidden layers are shared, each
   * has its own output head.
   */
  private memberLogits(x: tf.Tensor2D, step?: number): tf.Tensor3D {
    const k = this.members;
    const L = this.layers;
    const B = x.shape[0];
    const x0 = this.input(x);
    const R = this.params[2 * L] as tf.Tensor2D;
    let a = tf.reshape(tf.mul(tf.expandDims(x0, 0), tf.expandDims(R, 1)), [k * B, x0.shape[1]]) as tf.Tensor2D;
    for (let l = 0; l < L - 1; l++) {
      a = tf.relu(tf.add(tf.matMul(a, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1])) as tf.Tensor2D;
      if (step !== undefined && this.config.dropout > 0) {
        const keep = tf.greaterEqual(tf.randomUniform(a.shape, 0, 1, 'float32', this.config.seed + step * 131 + l), this.config.dropout);
        a = tf.div(tf.mul(a, tf.cast(keep, 'float32')), 1 - this.config.dropout) as tf.Tensor2D;
      }
    }
    const h = tf.reshape(a, [k, B, a.shape[1]]) as tf.Tensor3D;
    return tf.add(tf.matMul(h, this.params[2 * (L - 1)] as tf.Tensor3D), this.params[2 * (L - 1) + 1]) as tf.Tensor3D;
  }

  /** Logits for a batch, without dropout (an ensemble's: the logit of its members' mean probability). The caller disposes the result. */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    if (this.members > 1) {
      return tf.tidy(() => {
        const p = tf.clipByValue(tf.mean(tf.sigmoid(this.memberLogits(x)), 0), 1e-7, 1 - 1e-7);
        return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor2D;
      });
    }
    return tf.tidy(() => {
      let a: tf.Tensor2D = this.input(x);
      for (let l = 0; l < this.layers; l++) {
        const z = tf.add(tf.matMul(a, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1]) as tf.Tensor2D;
        a = l < this.layers - 1 ? tf.relu(z) : z;
      }
      return a;
    });
  }

  /** Values a row of embed() has: the last hidden layer's width. */
  get embeddingWidth(): number {
    return this.config.hidden[this.config.hidden.length - 1];
  }

  /** The last hidden layer's activations (the learned embedding); needs a hidden layer. */
  embed(x: tf.Tensor2D): tf.Tensor2D {
    if (this.layers < 2) throw new Error('a network without hidden layers has no embedding');
    if (this.members > 1) throw new Error('an ensemble MLP has no single embedding');
    return tf.tidy(() => {
      let a: tf.Tensor2D = this.input(x);
      for (let l = 0; l < this.layers - 1; l++) a = tf.relu(tf.add(tf.matMul(a, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1])) as tf.Tensor2D;
      return a;
    });
  }

  /**
   * One Adam step on a batch: x [B, d], y and w (sample weights) [B, 1].
   * Returns the batch's weighted loss (a scalar the caller disposes).
   */
  trainStep(x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor2D, step: number, optimizer: MlpOptimizer): tf.Scalar {
    if (this.members > 1) return this.ensembleStep(x, y, w, step, optimizer);
    // An embedding's weights sit before the first layer, where the written-out pass stops: autodiff.
    if (this.embedding >= 0) return this.lossStep(x, (z) => tf.mean(tf.mul(w, tf.sub(tf.softplus(z), tf.mul(y, z)))) as tf.Scalar, step, optimizer);
    const { dropout, l2 } = this.config;
    const L = this.layers;
    const { grads, loss } = tf.tidy(() => {
      const B = x.shape[0];
      const ones = tf.ones([1, B]);
      const x0 = this.input(x);
      const acts: tf.Tensor2D[] = [x0];
      const pre: tf.Tensor2D[] = [];
      const masks: tf.Tensor2D[] = [];
      let a: tf.Tensor2D = x0;
      for (let l = 0; l < L - 1; l++) {
        const z = tf.add(tf.matMul(a, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1]) as tf.Tensor2D;
        let h = tf.relu(z);
        if (dropout > 0) {
          const keep = tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(h.shape, 0, 1, 'float32', this.config.seed + step * 131 + l), dropout), 'float32'), 1 - dropout) as tf.Tensor2D;
          masks.push(keep);
          h = tf.mul(h, keep);
        }
        pre.push(z);
        acts.push(h);
        a = h;
      }
      const z = tf.add(tf.matMul(a, this.params[2 * (L - 1)] as tf.Tensor2D), this.params[2 * (L - 1) + 1]) as tf.Tensor2D;
      // Weighted BCE on logits: w * (softplus(z) - y z); its gradient is w * (sigmoid(z) - y).
      let loss = tf.div(tf.sum(tf.mul(w, tf.sub(tf.softplus(z), tf.mul(y, z)))), B) as tf.Scalar;
      let dz = tf.div(tf.mul(w, tf.sub(tf.sigmoid(z), y)), B) as tf.Tensor2D;
      const grads: Record<string, tf.Tensor> = {};
      for (let l = L - 1; l >= 0; l--) {
        const W = this.params[2 * l] as tf.Tensor2D;
        let gW = tf.matMul(acts[l], dz, true, false);
        if (l2 > 0) {
          gW = tf.add(gW, tf.mul(W, l2));
          loss = tf.add(loss, tf.mul(tf.sum(tf.square(W)), l2 / 2)) as tf.Scalar;
        }
        grads[this.names[2 * l]] = gW;
        grads[this.names[2 * l + 1]] = tf.reshape(tf.matMul(ones, dz), [dz.shape[1]]);
        if (l > 0) {
          let da = tf.matMul(dz, W, false, true);
          da = tf.mul(da, tf.step(pre[l - 1]));
          if (dropout > 0) da = tf.mul(da, masks[l - 1]);
          dz = da as tf.Tensor2D;
        }
      }
      return { grads, loss };
    });
    this.apply(optimizer, grads);
    return loss;
  }

  /** trainStep for an ensemble: the members' mean weighted BCE (each member sees the whole batch), by autodiff. */
  private ensembleStep(x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor2D, step: number, optimizer: MlpOptimizer): tf.Scalar {
    const L = this.layers;
    const { value, grads } = tf.variableGrads(() => {
      const z = this.memberLogits(x, step); // [k, B, 1]; y, w [B, 1] broadcast over members
      let loss = tf.mean(tf.mul(w, tf.sub(tf.softplus(z), tf.mul(y, z)))) as tf.Scalar;
      if (this.config.l2 > 0) for (let l = 0; l < L; l++) loss = tf.add(loss, tf.mul(tf.sum(tf.square(this.params[2 * l])), this.config.l2 / 2)) as tf.Scalar;
      return loss;
    }, this.params);
    this.apply(optimizer, grads);
    return value;
  }

  /**
   * One Adam step on a batch x [B, d] for any loss of the outputs [B, outputs] (`lossOf`,
   * a mean over the batch), with dropout on the hidden layers and L2 on the weights, by
   * tfjs's autodiff. Returns the batch's loss (a scalar the caller disposes).
   */
  lossStep(x: tf.Tensor2D, lossOf: (out: tf.Tensor2D) => tf.Scalar, step: number, optimizer: MlpOptimizer): tf.Scalar {
    if (this.members > 1) throw new Error('lossStep: an ensemble MLP trains with trainStep (one logit)');
    const { dropout, l2 } = this.config;
    const L = this.layers;
    const { value, grads } = tf.variableGrads(() => {
      let a: tf.Tensor2D = this.input(x);
      for (let l = 0; l < L; l++) {
        const z = tf.add(tf.matMul(a, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1]) as tf.Tensor2D;
        if (l === L - 1) {
          a = z;
          break;
        }
        a = tf.relu(z);
        if (dropout > 0) {
          const keep = tf.greaterEqual(tf.randomUniform(a.shape, 0, 1, 'float32', this.config.seed + step * 131 + l), dropout);
          a = tf.div(tf.mul(a, tf.cast(keep, 'float32')), 1 - dropout) as tf.Tensor2D;
        }
      }
      let loss = lossOf(a);
      if (l2 > 0) for (let l = 0; l < L; l++) loss = tf.add(loss, tf.mul(tf.sum(tf.square(this.params[2 * l])), l2 / 2)) as tf.Scalar;
      return loss;
    }, this.params);
    this.apply(optimizer, grads);
    return value;
  }

  /** A copy of the current weights (for best-epoch restore and saving). */
  async snapshot(): Promise<Float32Array[]> {
    // Copies: a backend may hand back its own storage.
    return Promise.all(this.params.map(async (p) => Float32Array.from(await readData(p))));
  }

  restore(values: Float32Array[]): void {
    this.params.forEach((p, i) => {
      const t = tf.tensor(values[i], p.shape);
      p.assign(t);
      t.dispose();
    });
  }

  async toWeights(): Promise<Weight[]> {
    const values = await this.snapshot();
    return this.params.map((p, i) => ({ name: this.stored[i], shape: p.shape, data: values[i] }));
  }

  /** One optimizer update of the parameters from their gradients (by variable name); frees the gradients. */
  private apply(optimizer: MlpOptimizer, grads: Record<string, tf.Tensor>): void {
    if (optimizer instanceof WebGPUAdam) optimizer.apply(this.params, this.names.map((n) => grads[n]));
    else optimizer.applyGradients(grads as unknown as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
    for (const g of Object.values(grads)) g.dispose();
  }

  dispose(): void {
    for (const p of this.params) p.dispose();
    this.encoder?.dispose();
  }
}

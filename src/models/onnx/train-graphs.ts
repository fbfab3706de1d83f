/**
 * Training steps as ONNX graphs, run by onnxruntime-node on its native kernels (MLAS) with
 * every core: the weights go in as inputs and the gradients come out as outputs, so one
 * graph serves every step and the optimizer runs on the host's arrays (nn/native.ts).
 * - An MLP's step (nn/mlp.ts trainStep written out): the forward pass (the piecewise-linear
 *   bins as the scoring graph computes them, ReLU layers, dropout), the weighted binary
 *   cross-entropy (or the CLTV model's zero-inflated lognormal loss) with L2, and the
 *   backward pass by hand.
 * - The same network's logits (validation, without dropout).
 * - A Lloyd step of K-Means (kmeans/kernels.ts assignAndSum): distances as one product of
 *   Xa = [X | 1] by [-2C' ; |c|^2], the arg-min, per-cluster sums and counts as one
 *   scatter-add of Xa by the assignments.
 */
import type { MlpConfig } from '../nn/mlp.js';
import { encodedWidth } from '../nn/ple.js';
import { MIN_SCALE } from '../cltv/ziln.js';
import { GraphBuilder } from './graph.js';
import { pleBins } from './model-graphs.js';

/** The shapes of the MLP's parameters in order [W0, b0, ..., Wout, bout] (a plain network: no ensemble, no embedding). */
export function mlpParamShapes(config: MlpConfig): number[][] {
  const sizes = [encodedWidth(config.inputs, config.encoding), ...config.hidden, config.outputs ?? 1];
  return sizes.slice(0, -1).flatMap((n, l) => [[n, sizes[l + 1]], [sizes[l + 1]]]);
}

/** Whether a network has a native step for the loss: one output (bce) or three (ziln), no ensemble, no per-column embedding. */
export function nativeStepSupports(config: MlpConfig, lossKind: StepLoss = 'bce'): boolean {
  return (config.outputs ?? 1) === (lossKind === 'bce' ? 1 : 3) && (config.ensemble ?? 1) === 1 && !(config.encoding && (config.embedding ?? 0) > 0);
}

/** The parameters as graph inputs p0, p1, ... with their shapes. */
function paramInputs(g: GraphBuilder, config: MlpConfig): string[] {
  return mlpParamShapes(config).map((shape, i) => g.input(`p${i}`, 'float', shape));
}

/**
 * The forward pass from x [N, d] (rows): each layer's input, each hidden layer's output
 * (times its dropout mask m<l> [N, h], an input holding 0 or 1 / (1 - p), when training),
 * and the logit [N, 1].
 */
function forward(g: GraphBuilder, x: string, params: string[], config: MlpConfig, train: boolean): { inputs: string[]; logit: string } {
  const L = config.hidden.length + 1;
  let a = config.encoding ? g.node('Concat', [pleBins(g, x, config, true), x], { axis: 1 }) : x;
  const inputs: string[] = [];
  for (let l = 0; l < L; l++) {
    inputs.push(a);
    const z = g.node('Gemm', [a, params[2 * l], params[2 * l + 1]]);
    if (l === L - 1) return { inputs, logit: z };
    a = g.node('Relu', [z]);
    if (train && config.dropout > 0) a = g.node('Mul', [a, g.input(`m${l}`, 'float', config.hidden[l])]);
  }
  throw new Error('unreachable');
}

/** The loss a step graph differentiates: weighted binary cross-entropy of one logit, or the zero-inflated lognormal of three outputs (cltv/ziln.ts). */
export type StepLoss = 'bce' | 'ziln';

/**
 * The weighted binary cross-entropy of logits z [N, 1]: sum(w (softplus(z) - y z)), and its
 * gradient w (sigmoid(z) - y).
 */
function bceHead(g: GraphBuilder, z: string, y: string, w: string): { loss: string; dz: string } {
  const loss = g.node('ReduceSum', [g.node('Mul', [w, g.node('Sub', [g.node('Softplus', [z]), g.node('Mul', [y, z])])])], { keepdims: 0 });
  return { loss, dz: g.node('Mul', [w, g.node('Sub', [g.node('Sigmoid', [z]), y])]) };
}

/**
 * The zero-inflated lognormal loss (cltv/ziln.ts zilnLoss, each row weighted by w) of
 * outputs [N, 3] = (buy logit a, location m, raw scale r) for values y >= 0, and its
 * gradient by hand: with p = [y > 0], s = max(softplus(r), MIN_SCALE), u = (log y - m) / s,
 * the row's loss is softplus(a) - p a + p (log y + log s + log(2 pi) / 2 + u^2 / 2), so
 * d/da = sigmoid(a) - p, d/dm = -p u / s, d/dr = p (1 - u^2) / s sigmoid(r) where the floor
 * is not reached (else 0).
 */
function zilnHead(g: GraphBuilder, out: string, y: string, w: string): { loss: string; dz: string } {
  const [a, m, r] = g.nodeOutputs('Split', [out, g.tensor('split3', 'int64', [3], [1n, 1n, 1n])], { axis: 1 }, 3);
  const one = g.scalar('float', 1);
  const p = g.node('Cast', [g.node('Greater', [y, g.scalar('float', 0)])], { to: 1 });
  const logY = g.node('Log', [g.node('Add', [g.node('Mul', [p, y]), g.node('Sub', [one, p])])]);
  const sp = g.node('Softplus', [r]);
  const s = g.node('Max', [sp, g.scalar('float', MIN_SCALE)]);
  const u = g.node('Div', [g.node('Sub', [logY, m]), s]);
  const u2 = g.node('Mul', [u, u]);
  const density = g.node('Add', [g.node('Add', [logY, g.node('Log', [s])]), g.node('Add', [g.scalar('float', 0.5 * Math.log(2 * Math.PI)), g.node('Mul', [u2, g.scalar('float', 0.5)])])]);
  const row = g.node('Add', [g.node('Sub', [g.node('Softplus', [a]), g.node('Mul', [p, a])]), g.node('Mul', [p, density])]);
  const loss = g.node('ReduceSum', [g.node('Mul', [w, row])], { keepdims: 0 });
  const wp = g.node('Mul', [w, p]);
  const da = g.node('Mul', [w, g.node('Sub', [g.node('Sigmoid', [a]), p])]);
  const dm = g.node('Neg', [g.node('Div', [g.node('Mul', [wp, u]), s])]);
  const floor = g.node('Cast', [g.node('Greater', [sp, g.scalar('float', MIN_SCALE)])], { to: 1 });
  const dr = g.node('Mul', [g.node('Div', [g.node('Mul', [wp, g.node('Sub', [one, u2])]), s]), g.node('Mul', [g.node('Sigmoid', [r]), floor])]);
  return { loss, dz: g.node('Concat', [da, dm, dr], { axis: 1 }) };
}

/**
 * One training step's graph. Inputs: x [N, d], y [N, 1] (0/1 labels, or values for ziln),
 * w [N, 1] (each row's weight: its class weight, or 1, over the batch's rows), p0.. (the
 * parameters), with dropout m0.. (forward's masks). Outputs: `loss` (the batch's `lossKind`
 * weighted by w, plus l2 / 2 |W|^2 per weight matrix) and g0.. (its gradient by each
 * parameter), as Mlp.trainStep (bce) and Mlp.lossStep with zilnLoss compute them.
 * @throws Error for a network nativeStepSupports refuses.
 */
export function mlpStepGraph(config: MlpConfig, lossKind: StepLoss = 'bce'): Uint8Array {
  if (!nativeStepSupports(config, lossKind)) throw new Error(`mlpStepGraph: a plain network with ${lossKind === 'bce' ? 'one output' : 'three outputs'} only`);
  const g = new GraphBuilder('mlp-step');
  const x = g.input('x', 'float', config.inputs);
  const y = g.input('y', 'float', 1);
  const w = g.input('w', 'float', 1);
  const params = paramInputs(g, config);
  const { inputs, logit } = forward(g, x, params, config, true);
  const L = inputs.length;
  const head = lossKind === 'bce' ? bceHead(g, logit, y, w) : zilnHead(g, logit, y, w);
  let { loss, dz } = head;
  const rows = g.tensor('axes0', 'int64', [1], [0n]);
  const zero = g.scalar('float', 0);
  for (let l = L - 1; l >= 0; l--) {
    const W = params[2 * l];
    let gW = g.node('Gemm', [inputs[l], dz], { transA: 1 });
    if (config.l2 > 0) {
      gW = g.node('Add', [gW, g.node('Mul', [W, g.scalar('float', config.l2)])]);
      loss = g.node('Add', [loss, g.node('Mul', [g.node('ReduceSumSquare', [W], { keepdims: 0 }), g.scalar('float', config.l2 / 2)])]);
    }
    g.output(gW, `g${2 * l}`, 'float', mlpParamShapes(config)[2 * l]);
    g.output(g.node('ReduceSum', [dz, rows], { keepdims: 0 }), `g${2 * l + 1}`, 'float', mlpParamShapes(config)[2 * l + 1]);
    if (l === 0) break;
    // Through the ReLU (and dropout): the input a = relu(z) [* mask / (1 - p)] is > 0 exactly where the gradient passes.
    const da = g.node('Gemm', [dz, W], { transB: 1 });
    dz = g.node('Where', [g.node('Greater', [inputs[l], zero]), config.dropout > 0 ? g.node('Mul', [da, g.scalar('float', 1 / (1 - config.dropout))]) : da, zero]);
  }
  g.output(loss, 'loss', 'float', []);
  return g.toBytes({ kind: 'mlp-step' });
}

/** The network's outputs [N, outputs] for x [N, d] and the parameters p0.. (no dropout): Mlp.logits with the weights as inputs. */
export function mlpForwardGraph(config: MlpConfig): Uint8Array {
  if ((config.ensemble ?? 1) > 1 || (config.encoding && (config.embedding ?? 0) > 0)) throw new Error('mlpForwardGraph: a plain network only');
  const g = new GraphBuilder('mlp-forward');
  const x = g.input('x', 'float', config.inputs);
  const { logit } = forward(g, x, paramInputs(g, config), config, false);
  g.output(logit, 'logit', 'float', ['N', config.outputs ?? 1]);
  return g.toBytes({ kind: 'mlp-forward' });
}

/**
 * One Lloyd step on a batch: inputs xa [N, d + 1] (rows with a trailing 1) and op [d + 1, k]
 * (centroidOperandValues); output `sums` [k, d + 1]: per cluster the sum of its rows' xa, the
 * count last, added by one ScatterND (O(N d); a one-hot product costs O(N d k), measured 5x
 * slower).
 */
export function lloydStepGraph(d: number, k: number): Uint8Array {
  const g = new GraphBuilder('lloyd-step');
  const xa = g.input('xa', 'float', d + 1);
  const op = g.input('op', 'float', [d + 1, k]);
  const labels = g.node('ArgMin', [g.node('MatMul', [xa, op])], { axis: 1, keepdims: 1 });
  const zeros = g.tensor('zeros', 'float', [k, d + 1], new Float32Array(k * (d + 1)));
  g.output(g.node('ScatterND', [zeros, labels, xa], { reduction: 'add' }), 'sums', 'float', [k, d + 1]);
  return g.toBytes({ kind: 'lloyd-step' });
}

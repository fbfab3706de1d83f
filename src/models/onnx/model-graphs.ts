/**
 * Whole scoring functions as ONNX graphs: the fitted transform (transform-graph.ts), then the
 * model, then the outputs its score files carry, named like the score columns.
 * - K-Means: the nearest centroid by ||x||^2 - 2 x.c + ||c||^2 (one Gemm), the Euclidean
 *   distance to it (models/kmeans/kernels.ts nearestCentroid).
 * - Propensity: the MLP (nn/mlp.ts: piecewise-linear bins, their per-column embedding, a
 *   TabM-mini ensemble, ReLU layers) to a logit, the calibration (none, Platt, isotonic) in
 *   float64 as propensity/calibration.ts computes it, the 0-100 score rounded half up.
 * - CLTV: the MLP's three outputs to the probability of buying and the capped lognormal mean.
 * - Anomaly: the main and niche centroids' distances to the outlier score, cluster and niche.
 * Each kind's descriptor (models/kind.ts `graph`) names its graph here; kinds without one
 * (lookalike, bgnbd, uplift) score on tfjs.
 */
import type { Manifest, Weight } from '../registry.js';
import type { MlpConfig } from '../nn/mlp.js';
import { encodedWidth, maxBins } from '../nn/ple.js';
import type { Calibration } from '../propensity/calibration.js';
import { outputName } from '../model.js';
import { GraphBuilder } from './graph.js';
import { NICHE_REACH, type AnomalyState } from '../anomaly/model.js';
import { MIN_SCALE } from '../cltv/ziln.js';
import { centroidOperandValues } from '../kmeans/kernels.js';
import { transformNodes, type TransformNodes } from './transform-graph.js';

/** A kind's scoring graph after the transform's nodes: what its descriptor's `graph` holds. */
export interface KindGraph {
  /** The outputs (after `<name>_`) the graph yields. */
  outputs: string[];
  /** Distances to centroids: each categorical's part is the lookup of its level's row, not one-hot rows. */
  centroids?: boolean;
  /** Adds the model's nodes, from the transform's (`t`), writing the outputs named by `col`. */
  nodes(g: GraphBuilder, t: TransformNodes, manifest: Manifest, weights: Map<string, Weight>, col: (output: string) => string): void;
}

/** K-Means: the nearest centroid and the distance to it. */
export const KMEANS_GRAPH: KindGraph = { outputs: ['segment', 'distance'], centroids: true, nodes: (g, t, _m, w, col) => kmeansNodes(g, t, weight(w, 'centroids'), col) };

/** Propensity: the MLP to a calibrated probability and the 0-100 score. */
export const PROPENSITY_GRAPH: KindGraph = {
  outputs: ['probability', 'score'],
  nodes: (g, t, m, w, col) => propensityNodes(g, t.xT, m.state as { mlp: MlpConfig; calibration: Calibration }, inputOrder(w, m.state as { mlp: MlpConfig }, t.columns), col),
};

/** CLTV: the probability of buying and the capped lognormal mean. */
export const CLTV_GRAPH: KindGraph = {
  outputs: ['value', 'p_active'],
  nodes(g, t, m, w, col) {
    const state = m.state as { mlp: MlpConfig; maxValue?: number };
    cltvNodes(g, t.xT, inputOrder(w, state, t.columns), state.maxValue ?? Infinity, col);
  },
};

/** Anomaly: the outlier score, cluster and niche. */
export const ANOMALY_GRAPH: KindGraph = { outputs: ['score', 'cluster', 'niche'], centroids: true, nodes: (g, t, m, w, col) => anomalyNodes(g, t, (n) => weight(w, n), m.state as AnomalyState, col) };

/**
 * The scoring graph of a stored version (ModelProto bytes) with its kind's `graph`: from the
 * raw feature columns, or (`transformed`) from the transformed block (blockInput).
 * @throws Error for weights that do not fit the graph.
 */
export function scoringGraph(manifest: Manifest, weights: Map<string, Weight>, graph: KindGraph, text = true, transformed = false): Uint8Array {
  const g = new GraphBuilder(`${manifest.name}@${manifest.version}`);
  // Distances to centroids take each categorical as a lookup of its level's row, not one-hot rows.
  const nodes = transformed ? blockInput(g, manifest.features.outputs.length) : transformNodes(g, manifest.features, text, !graph.centroids || !denseFeatures(manifest));
  graph.nodes(g, nodes, manifest, weights, (o) => outputName(manifest.name, o));
  if (!transformed) g.output(nodes.imputed, 'imputed', 'int64', []);
  return g.toBytes({ model: `${manifest.name}@${manifest.version}`, kind: manifest.kind });
}

/**
 * An MLP's weights and config for X's column order: the raw inputs' rows of W0 (after the
 * bins or their embedding), the ensemble's adapter columns for them, and the columns the PLE
 * bins read, renumbered.
 */
function inputOrder(weights: Map<string, Weight>, state: { mlp: MlpConfig }, order: number[]): { weights: Map<string, Weight>; config: MlpConfig } {
  const config = state.mlp;
  const position = new Map(order.map((c, j) => [c, j]));
  const before = encodedWidth(config.inputs, config.encoding, config.encoding ? (config.embedding ?? 0) : 0) - config.inputs;
  const out = new Map(weights);
  const k = config.ensemble ?? 1;
  const d0 = before + config.inputs;
  // W0 [d0, h] (or [k, d0, 1] for an ensemble without hidden layers): rows before + c move to before + position(c).
  const w0 = weight(weights, 'W0');
  const blocks = k > 1 && config.hidden.length === 0 ? k : 1;
  const h = w0.length / blocks / d0;
  const moved = new Float32Array(w0.length);
  for (let m = 0; m < blocks; m++) {
    for (let r = 0; r < d0; r++) {
      const to = r < before ? r : before + position.get(r - before)!;
      moved.set(w0.subarray((m * d0 + r) * h, (m * d0 + r + 1) * h), (m * d0 + to) * h);
    }
  }
  out.set('W0', { ...weights.get('W0')!, data: moved });
  if (k > 1) {
    const R = weight(weights, 'R');
    const r2 = new Float32Array(R.length);
    for (let m = 0; m < k; m++) for (let r = 0; r < d0; r++) r2[m * d0 + (r < before ? r : before + position.get(r - before)!)] = R[m * d0 + r];
    out.set('R', { ...weights.get('R')!, data: r2 });
  }
  const encoding = config.encoding && { ...config.encoding, columns: config.encoding.columns.map((c) => position.get(c)!) };
  return { weights: out, config: { ...config, ...(encoding && { encoding }) } };
}

function weight(weights: Map<string, Weight>, name: string): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`weights.bin has no weight "${name}"`);
  return w.data;
}

/** The nearest of the centroids (K x d, X's column order) per row of the block (given transposed, d x N), as int64, and the Euclidean distance to it (float32). */
/**
 * The model's part alone, fed the transformed block transposed: input `xT` [d, N] (float32,
 * the block's columns in order, as features/transform.ts makes them). What a few rows score
 * through (session.ts), where the transform's nodes would cost more than the JavaScript
 * transform of those rows.
 */
function blockInput(g: GraphBuilder, d: number): TransformNodes {
  return { xT: g.input('xT', 'float', [d, 'N']), columns: Array.from({ length: d }, (_, j) => j), imputed: '', categorical: [] };
}

/** Whether a transform has a numeric or boolean feature (X is not empty without one-hot rows). */
function denseFeatures(manifest: Manifest): boolean {
  return manifest.features.features.some((f) => f.kind !== 'categorical');
}

/**
 * The nearest of the centroids (block column order, k x d) and the distance to it, by
 * ||x||^2 - 2 x.c + ||c||^2 (kmeans/kernels.ts nearestCentroid): one Gemm over X's columns,
 * and per categorical (when X has no one-hot rows) the -2 c[level] row of each centroid looked
 * up by the level index (a one-hot row's product is that one term, and its square adds 1),
 * an index past the levels (unseen, no "(other)") taking a row of zeros, as its one-hot row is.
 */
function nearestNodes(g: GraphBuilder, t: TransformNodes, centroids: Float32Array): { segment: string; distance: string } {
  const inX = new Set(t.columns);
  const looked = t.categorical.filter((c) => !inX.has(c.start)); // categoricals without one-hot rows in X
  const width = t.columns.length + looked.reduce((n, c) => n + c.width, 0); // the block's columns
  const k = centroids.length / width;
  const op = centroidOperandValues(centroids, k, width);
  const rows = (cols: number[]) => Float32Array.from(cols.flatMap((c) => Array.from(op.subarray(c * k, c * k + k))));
  let partial = g.node('Gemm', [t.xT, g.tensor('neg2ct', 'float', [t.columns.length, k], rows(t.columns)), g.tensor('cnorm', 'float', [k], op.subarray(width * k))], { transA: 1 });
  let sqNorm = g.node('ReduceSum', [g.node('Mul', [t.xT, t.xT]), g.tensor('axes0', 'int64', [1], [0n])], { keepdims: 0 });
  for (const c of looked) {
    const levels = Array.from({ length: c.width }, (_, j) => c.start + j);
    const table = g.tensor('neg2ct_levels', 'float', [c.width + 1, k], Float32Array.from([...rows(levels), ...new Array<number>(k).fill(0)]));
    const at = g.node('Min', [g.node('Cast', [c.idx], { to: 7 }), g.scalar('int64', c.width)]);
    partial = g.node('Add', [partial, g.node('Gather', [table, at], { axis: 0 })]);
    sqNorm = g.node('Add', [sqNorm, g.node('Cast', [g.node('Less', [at, g.scalar('int64', c.width)])], { to: 1 })]);
  }
  const segment = g.node('ArgMin', [partial], { axis: 1, keepdims: 0 });
  const distance = g.node('Sqrt', [g.node('Relu', [g.node('Add', [g.node('ReduceMin', [partial], { axes: [1], keepdims: 0 }), sqNorm])])]);
  return { segment, distance };
}

/** K-Means: the segment and the distance to it. */
function kmeansNodes(g: GraphBuilder, t: TransformNodes, centroids: Float32Array, col: (o: string) => string): void {
  const { segment, distance } = nearestNodes(g, t, centroids);
  g.output(g.node('Cast', [segment], { to: 6 }), col('segment'), 'int32');
  g.output(distance, col('distance'), 'float');
}

/**
 * Outliers (anomaly/model.ts predict): the distance to the nearest main centroid over that
 * cluster's spread; the niche of a small-segment cluster within NICHE_REACH spreads, else the
 * nearest niche centroid within NICHE_REACH of its spread for an outlier; the niche as a
 * double, NaN for none.
 */
function anomalyNodes(g: GraphBuilder, t: TransformNodes, w: (name: string) => Float32Array, state: AnomalyState, col: (o: string) => string): void {
  const main = nearestNodes(g, t, w('centroids'));
  const spread = g.node('Gather', [g.tensor('spreads', 'double', [state.nicheOfCluster.length], Array.from(w('spreads'), (s) => Math.max(1e-6, s))), main.segment]);
  const score = g.node('Cast', [g.node('Div', [g.node('Cast', [main.distance], { to: 11 }), spread])], { to: 1 });
  const reach = g.scalar('float', NICHE_REACH);
  const ofCluster = g.node('Gather', [g.tensor('niche_of_cluster', 'int64', [state.nicheOfCluster.length], state.nicheOfCluster.map(BigInt)), main.segment]);
  const none = g.scalar('int64', -1);
  let niche = g.node('Where', [g.node('And', [g.node('GreaterOrEqual', [ofCluster, g.scalar('int64', 0)]), g.node('LessOrEqual', [score, reach])]), ofCluster, none]);
  const niches = w('niches');
  if (niches.length) {
    const near = nearestNodes(g, t, niches);
    const nicheSpreads = w('niche_spreads');
    const within = g.node('LessOrEqual', [g.node('Cast', [near.distance], { to: 11 }), g.node('Gather', [g.tensor('niche_reach', 'double', [nicheSpreads.length], Array.from(nicheSpreads, (s) => NICHE_REACH * s)), near.segment])]);
    const smallSegment = g.tensor('small_segment_niche', 'bool', [nicheSpreads.length], Array.from(nicheSpreads, (_s, n) => (state.nicheOfCluster.includes(n) ? 1 : 0)));
    const take = [g.node('Less', [niche, g.scalar('int64', 0)]), g.node('Greater', [g.node('Cast', [score], { to: 11 }), g.scalar('double', state.threshold)]), g.node('Not', [g.node('Gather', [smallSegment, near.segment])]), within].reduce((a, b) => g.node('And', [a, b]));
    niche = g.node('Where', [take, near.segment, niche]);
  }
  g.output(score, col('score'), 'float');
  g.output(g.node('Cast', [main.segment], { to: 6 }), col('cluster'), 'int32');
  g.output(g.node('Where', [g.node('Less', [niche, g.scalar('int64', 0)]), g.scalar('double', NaN), g.node('Cast', [niche], { to: 11 })]), col('niche'), 'double');
}

/** CLTV (cltv/ziln.ts zilnPredict): the probability of buying and the capped lognormal mean, in float64, from the network's three outputs. */
function cltvNodes(g: GraphBuilder, x: string, mlp: { weights: Map<string, Weight>; config: MlpConfig }, cap: number, col: (o: string) => string): void {
  const out = g.node('Cast', [mlpLogitNodes(g, x, mlp.config, mlp.weights)], { to: 11 });
  const column = (j: number) => g.node('Gather', [out, g.tensor('col', 'int64', [], [BigInt(j)])], { axis: 1 });
  const [logit, loc, raw] = [column(0), column(1), column(2)];
  const p = g.node('Sigmoid', [logit]);
  const softplus = g.node('Where', [g.node('Greater', [raw, g.scalar('double', 30)]), raw, g.node('Log', [g.node('Add', [g.node('Exp', [raw]), g.scalar('double', 1)])])]);
  const scale = g.node('Max', [softplus, g.scalar('double', MIN_SCALE)]);
  const mean = g.node('Mul', [p, g.node('Exp', [g.node('Add', [loc, g.node('Div', [g.node('Mul', [scale, scale]), g.scalar('double', 2)])])])]);
  const value = Number.isFinite(cap) ? g.node('Min', [mean, g.scalar('double', cap)]) : mean;
  g.output(g.node('Cast', [value], { to: 1 }), col('value'), 'float');
  g.output(g.node('Cast', [p], { to: 1 }), col('p_active'), 'float');
}

/** The MLP's logit [N, 1] (or its outputs [N, outputs]) for the block given transposed, xT [d, N] (see nn/mlp.ts logits). */
export function mlpLogitNodes(g: GraphBuilder, xT: string, config: MlpConfig, weights: Map<string, Weight>): string {
  const L = config.hidden.length + 1;
  const sizes = [encodedWidth(config.inputs, config.encoding, config.encoding ? (config.embedding ?? 0) : 0), ...config.hidden, config.outputs ?? 1];
  const w = (name: string) => weight(weights, name);
  const k = config.ensemble ?? 1;
  const dense = (a: string, l: number, relu: boolean) => {
    const z = g.node('Add', [g.node('MatMul', [a, g.tensor(`W${l}`, 'float', [sizes[l], sizes[l + 1]], w(`W${l}`))]), g.tensor(`b${l}`, 'float', [sizes[l + 1]], w(`b${l}`))]);
    return relu ? g.node('Relu', [z]) : z;
  };
  let a: string;
  let first = 0;
  if (k === 1 && !config.encoding) {
    // The first layer straight from the transposed block: xT' . W0 + b0.
    const z = g.node('Gemm', [xT, g.tensor('W0', 'float', [sizes[0], sizes[1]], w('W0')), g.tensor('b0', 'float', [sizes[1]], w('b0'))], { transA: 1 });
    if (L === 1) return z;
    a = g.node('Relu', [z]);
    first = 1;
  } else if (k === 1 && config.encoding && !(config.embedding ?? 0) && L > 1) {
    // bins . W0[bins rows] + x . W0[x rows]: two products, no [N, bins + inputs] concatenation.
    const bins = sizes[0] - config.inputs;
    const W0 = w('W0');
    const h = sizes[1];
    const product = g.node('Add', [
      g.node('MatMul', [pleBins(g, xT, config), g.tensor('W0_bins', 'float', [bins, h], W0.subarray(0, bins * h))]),
      g.node('Gemm', [xT, g.tensor('W0_x', 'float', [config.inputs, h], W0.subarray(bins * h)), g.tensor('b0', 'float', [h], w('b0'))], { transA: 1 }),
    ]);
    a = g.node('Relu', [product]);
    first = 1;
  } else a = mlpInput(g, xT, config, weights);
  if (k > 1) {
    // Each member scales the input by its adapter: [k, B, d0] as [k*B, d0].
    const d0 = sizes[0];
    const scaled = g.node('Mul', [g.node('Unsqueeze', [a, g.tensor('axes0', 'int64', [1], [0n])]), g.tensor('R', 'float', [k, 1, d0], w('R'))]);
    a = g.node('Reshape', [scaled, g.tensor('shape', 'int64', [2], [-1n, BigInt(d0)])]);
  }
  for (let l = first; l < L - 1; l++) a = dense(a, l, true);
  const last = L - 1;
  if (k === 1) return dense(a, last, false);
  // Members' heads: [k, B, h] x [k, h, 1] + [k, 1, 1]; the logit of the members' mean probability.
  const h = sizes[last];
  const hk = g.node('Reshape', [a, g.tensor('shape', 'int64', [3], [BigInt(k), -1n, BigInt(h)])]);
  const z = g.node('Add', [g.node('MatMul', [hk, g.tensor(`W${last}`, 'float', [k, h, 1], w(`W${last}`))]), g.tensor(`b${last}`, 'float', [k, 1, 1], w(`b${last}`))]);
  const p = g.node('Clip', [g.node('ReduceMean', [g.node('Sigmoid', [z])], { axes: [0], keepdims: 0 }), g.scalar('float', 1e-7), g.scalar('float', 1 - 1e-7)]);
  return g.node('Sub', [g.node('Log', [p]), g.node('Log', [g.node('Sub', [g.scalar('float', 1), p])])]);
}

/**
 * The piecewise-linear bins [N, bins] of the block (given transposed, xT [d, N]) as PleEncoder
 * computes them, clip((x_c - lo) / width, 0, 1) per bin, taken as one product: x times the
 * bins' selection matrix scaled by 1 / width, plus -lo / width (a Gather of columns is many
 * times slower in onnxruntime). With an embedding every column takes maxBins places; a
 * padding place is always 0. `rowMajor`: the block is given as rows, x [N, d] (training graphs).
 */
export function pleBins(g: GraphBuilder, xT: string, config: MlpConfig, rowMajor = false): string {
  const e = config.encoding!;
  const padded = (config.embedding ?? 0) > 0;
  const places = maxBins(e);
  const scale: Array<[number, number]> = []; // (source column or -1, 1 / width)
  const offset: number[] = [];
  e.columns.forEach((c, i) => {
    const edges = e.edges[i];
    for (let t = 0; t + 1 < edges.length; t++) {
      const width = Math.fround(edges[t + 1] - edges[t]);
      scale.push([c, 1 / width]);
      offset.push(-Math.fround(edges[t]) / width);
    }
    for (let t = edges.length - 1; padded && t < places; t++) {
      scale.push([-1, 0]);
      offset.push(0);
    }
  });
  const n = scale.length;
  const select = new Float32Array(config.inputs * n);
  scale.forEach(([c, s], t) => c >= 0 && (select[c * n + t] = s));
  const z = g.node('Gemm', [xT, g.tensor('bin_select', 'float', [config.inputs, n], select), g.tensor('bin_offset', 'float', [n], offset)], { transA: rowMajor ? 0 : 1 });
  return g.node('Clip', [z, g.scalar('float', 0), g.scalar('float', 1)]);
}

/** The first layer's input [N, width] from the transposed block xT: x, or its piecewise-linear bins beside it, or their per-column embedding beside it (nn/ple.ts). */
function mlpInput(g: GraphBuilder, xT: string, config: MlpConfig, weights: Map<string, Weight>): string {
  const e = config.encoding;
  const x = g.node('Transpose', [xT], { perm: [1, 0] });
  if (!e) return x;
  const embedding = config.embedding ?? 0;
  const bins = pleBins(g, xT, config);
  if (embedding === 0) return g.node('Concat', [bins, x], { axis: 1 });
  const columns = e.columns.length;
  const places = maxBins(e);
  const b3 = g.node('Transpose', [g.node('Reshape', [bins, g.tensor('shape', 'int64', [3], [-1n, BigInt(columns), BigInt(places)])])], { perm: [1, 0, 2] });
  const E = g.tensor('E', 'float', [columns, places, embedding], weight(weights, 'E'));
  const Eb = g.tensor('Eb', 'float', [columns, 1, embedding], weight(weights, 'Eb'));
  const embedded = g.node('Relu', [g.node('Add', [g.node('MatMul', [b3, E]), Eb])]);
  const flat = g.node('Reshape', [g.node('Transpose', [embedded], { perm: [1, 0, 2] }), g.tensor('shape', 'int64', [2], [-1n, BigInt(columns * embedding)])]);
  return g.node('Concat', [flat, x], { axis: 1 });
}

/** Probability (calibrated, float64 then float32) and the 0-100 score. */
function propensityNodes(g: GraphBuilder, x: string, state: { calibration: Calibration }, mlp: { weights: Map<string, Weight>; config: MlpConfig }, col: (o: string) => string): void {
  const logit = g.node('Cast', [g.node('Squeeze', [mlpLogitNodes(g, x, mlp.config, mlp.weights), g.tensor('axes1', 'int64', [1], [1n])])], { to: 11 });
  const p = g.node('Cast', [calibrationNodes(g, logit, state.calibration)], { to: 1 });
  const score = g.node('Cast', [g.node('Floor', [g.node('Add', [g.node('Mul', [g.node('Cast', [p], { to: 11 }), g.scalar('double', 100)]), g.scalar('double', 0.5)])])], { to: 6 });
  g.output(p, col('probability'), 'float');
  g.output(score, col('score'), 'int32');
}

/** calibrate() on float64 logits [N]. */
function calibrationNodes(g: GraphBuilder, z: string, c: Calibration): string {
  if (c.method === 'none') return g.node('Sigmoid', [z]);
  if (c.method === 'platt') return g.node('Sigmoid', [g.node('Add', [g.node('Mul', [z, g.scalar('double', c.a)]), g.scalar('double', c.b)])]);
  const p = g.node('Sigmoid', [z]);
  const n = c.x.length;
  if (n === 1) return g.node('Expand', [g.scalar('double', c.y[0]), g.node('Shape', [p])]);
  // The knot at or below p: how many of x[0..n-2] are <= p, less one, at least 0.
  const knots = g.tensor('iso_x', 'double', [n - 1], c.x.slice(0, n - 1));
  const below = g.node('ReduceSum', [g.node('Cast', [g.node('LessOrEqual', [knots, g.node('Unsqueeze', [p, g.tensor('axes1', 'int64', [1], [1n])])])], { to: 7 }), g.tensor('axes1', 'int64', [1], [1n])], { keepdims: 0 });
  const lo = g.node('Max', [g.node('Sub', [below, g.scalar('int64', 1)]), g.scalar('int64', 0)]);
  const hi = g.node('Add', [lo, g.scalar('int64', 1)]);
  const xs = g.tensor('iso_xs', 'double', [n], c.x);
  const ys = g.tensor('iso_ys', 'double', [n], c.y);
  const [xl, xh, yl, yh] = [g.node('Gather', [xs, lo]), g.node('Gather', [xs, hi]), g.node('Gather', [ys, lo]), g.node('Gather', [ys, hi])];
  const span = g.node('Sub', [xh, xl]);
  const t = g.node('Where', [g.node('Greater', [span, g.scalar('double', 0)]), g.node('Div', [g.node('Sub', [p, xl]), span]), g.scalar('double', 0)]);
  const inner = g.node('Add', [yl, g.node('Mul', [t, g.node('Sub', [yh, yl])])]);
  const low = g.node('Where', [g.node('LessOrEqual', [p, g.scalar('double', c.x[0])]), g.scalar('double', c.y[0]), inner]);
  return g.node('Where', [g.node('GreaterOrEqual', [p, g.scalar('double', c.x[n - 1])]), g.scalar('double', c.y[n - 1]), low]);
}

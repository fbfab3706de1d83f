/**
 * The fitted feature transform (features/transform.ts) as ONNX nodes: per numeric feature the
 * validity checks (finite, within MAX_MAGNITUDE and the training range widened RANGE_BOUND
 * times, >= 0 under log), log1p, imputation and standardization, computed in float64 as the
 * JavaScript transform computes them, then rounded to float32; per boolean 0/1 or the fill;
 * per categorical its kept levels one-hot as (index == level) (the level's index from an ai.onnx.ml
 * LabelEncoder in an exported graph; unseen values to "(other)" when the fit had one). The
 * block comes out transposed (features x rows; see TransformNodes). The graph's inputs are the feature
 * columns, one row per visitor: float64 for numeric and boolean (1/0, NaN missing), text for
 * categorical (a null as "(missing)", a whole number without its zero fraction: categoryOf) in
 * an exported graph, the level's index in the engine's own (computed as transform() does).
 */
import { MAX_MAGNITUDE, modelValue, unseenIndex, validRange, type FittedNumeric, type FittedTransform } from '../../features/transform.js';
import { levelIndex } from '../../io/levels.js';
import type { GraphBuilder } from './graph.js';

/** The graph input a feature is fed through, and its element type. */
export interface FeatureInput {
  name: string;
  kind: 'numeric' | 'boolean' | 'categorical';
  /** Categorical features take their text (an exported graph) or their level's index (the engine's graph). */
  type: 'double' | 'string' | 'int32';
}

/**
 * The inputs of a transform's graph, in feature order. `text`: categorical features as text
 * (an exported graph); otherwise as the index of their level (levelIndex; an unseen value is
 * "(other)"'s index, or the level count when the fit had none), which the engine computes.
 */
export function featureInputs(t: FittedTransform, text = true): FeatureInput[] {
  return t.features.map((f) => ({ name: f.name, kind: f.kind, type: f.kind === 'categorical' ? (text ? 'string' : 'int32') : 'double' }));
}

/**
 * The transformed block as graph nodes: X transposed (float32, columns x N: per-feature steps
 * then broadcast a constant per row, which onnxruntime runs many times faster than a constant
 * per column), its columns in `columns` order, and the imputed count.
 */
export interface TransformNodes {
  xT: string;
  /** For each column of X, the transform's output (block column) it holds. */
  columns: number[];
  imputed: string;
  /**
   * Each categorical's level index [N] (int32 fed, or int64 from the LabelEncoder), its width
   * (levels, "(other)" included) and its first block column. Without one-hot rows (onehot
   * false), X holds the numeric and boolean columns alone and a model takes these instead.
   */
  categorical: Array<{ idx: string; width: number; start: number }>;
}

/**
 * Adds the transform's nodes to `g`, with one graph input per feature (`onehot` false: no
 * one-hot rows, X the numeric and boolean columns, the categoricals as their level indices; X
 * is '' when there are none). Numeric features (those
 * under log apart) and booleans are stacked into one matrix each, so every step is one node over
 * all of them, not one per column; categoricals are one-hot as (index == level). X's columns come in the
 * order of those groups (`columns` says which block column each is), and the model's graph
 * reorders its first weights to it, instead of moving the data back.
 * @param text categorical inputs as text through a LabelEncoder (an exported graph), else as level indices.
 */
export function transformNodes(g: GraphBuilder, t: FittedTransform, text = true, onehot = true): TransformNodes {
  const inputs = new Map(featureInputs(t, text).map((f) => [f.name, g.input(f.name, f.type)]));
  const blockColumn = new Map<string, number>();
  let c = 0;
  for (const f of t.features) {
    blockColumn.set(f.name, c);
    c += f.kind === 'categorical' ? f.levels.length + (f.other ? 1 : 0) : 1;
  }
  // Features as rows: the inputs one after the other, then [F, N].
  const stack = (names: string[]) => g.node('Reshape', [g.node('Concat', names.map((n) => inputs.get(n)!), { axis: 0 }), g.tensor('shape', 'int64', [2], [BigInt(names.length), -1n])]);
  const parts: string[] = [];
  const invalid: string[] = [];
  const columns: number[] = [];
  const numeric = t.features.filter((f): f is FittedNumeric => f.kind === 'numeric');
  for (const group of [numeric.filter((f) => !f.log), numeric.filter((f) => f.log)]) {
    if (group.length === 0) continue;
    const { x, bad } = numericNodes(g, stack(group.map((f) => f.name)), group);
    parts.push(x);
    invalid.push(bad);
    columns.push(...group.map((f) => blockColumn.get(f.name)!));
  }
  const booleans = t.features.filter((f) => f.kind === 'boolean');
  if (booleans.length) {
    const v = stack(booleans.map((f) => f.name));
    const bad = g.node('Not', [g.node('Or', [g.node('Equal', [v, g.scalar('double', 0)]), g.node('Equal', [v, g.scalar('double', 1)])])]);
    const fill = g.tensor('bool_fill', 'double', [booleans.length, 1], booleans.map((f) => f.fill));
    parts.push(g.node('Cast', [g.node('Where', [bad, fill, v])], { to: 1 }));
    invalid.push(bad);
    columns.push(...booleans.map((f) => blockColumn.get(f.name)!));
  }
  const categorical: TransformNodes['categorical'] = [];
  for (const f of t.features) {
    if (f.kind !== 'categorical') continue;
    const width = f.levels.length + (f.other ? 1 : 0);
    let idx = inputs.get(f.name)!;
    if (text) {
      // levelIndex semantics: each level keyed as categoryOf keys cells, a later duplicate winning.
      const index = levelIndex(f.levels);
      idx = g.node('LabelEncoder', [idx], { keys_strings: [...index.keys()], values_int64s: [...index.values()], default_int64: unseenIndex(f) }, 1, 'ai.onnx.ml');
    }
    categorical.push({ idx, width, start: blockColumn.get(f.name)! });
    if (!onehot) continue;
    // The one-hot rows [width, N] as (index == level), cast to float: an index past the levels
    // (unseen, no "(other)") is all zeros, as transform() leaves the row. onnxruntime's OneHot
    // took 2.7x the CPU of Equal + Cast here (K-Means graph, 500k rows: 199 against 73 ms).
    const levels = text ? g.tensor('levels', 'int64', [width, 1], Array.from({ length: width }, (_, j) => BigInt(j))) : g.tensor('levels', 'int32', [width, 1], Array.from({ length: width }, (_, j) => j));
    parts.push(g.node('Cast', [g.node('Equal', [g.node('Unsqueeze', [idx, g.tensor('axes0', 'int64', [1], [0n])]), levels])], { to: 1 }));
    columns.push(...Array.from({ length: width }, (_, j) => blockColumn.get(f.name)! + j));
  }
  const xT = parts.length === 0 ? '' : parts.length === 1 ? parts[0] : g.node('Concat', parts, { axis: 0 });
  const counts = invalid.map((b) => g.node('ReduceSum', [g.node('Cast', [b], { to: 6 })], { keepdims: 0 }));
  const sum = counts.length === 0 ? g.scalar('int32', 0) : counts.reduce((a, b) => g.node('Add', [a, b]));
  return { xT, columns, imputed: g.node('Cast', [sum], { to: 7 }), categorical };
}

/**
 * The numeric features' matrix X [F, N] (float64) standardized as transform() does: invalid
 * where not finite, beyond MAX_MAGNITUDE, outside the widened training range or negative under
 * log, then the fill; log1p where asked (every feature of the group, or none); (x - mean) / std;
 * rounded to float32 at the end.
 */
function numericNodes(g: GraphBuilder, x: string, features: FittedNumeric[]): { x: string; bad: string } {
  // x is [F, N]: each constant is one per feature, broadcast along its row.
  const F = features.length;
  const log = features[0].log;
  const vec = (stem: string, values: number[]) => g.tensor(stem, 'double', [F, 1], values);
  const ranges = features.map(validRange);
  // Valid: lo <= x <= hi with the bounds within MAX_MAGNITUDE (and lo >= 0 under log); NaN and
  // Inf fail a comparison, so one test covers every invalid case transform() names.
  const lo = vec('num_lo', ranges.map((r) => Math.max(r[0], -MAX_MAGNITUDE, log ? 0 : -Infinity)));
  const hi = vec('num_hi', ranges.map((r) => Math.min(r[1], MAX_MAGNITUDE)));
  const bad = g.node('Not', [g.node('And', [g.node('GreaterOrEqual', [x, lo]), g.node('LessOrEqual', [x, hi])])]);
  const m = log ? g.node('Log', [g.node('Add', [x, g.scalar('double', 1)])]) : x;
  const scale = features.map((f) => (f.std > 0 ? 1 / f.std : 1));
  const z = g.node('Mul', [g.node('Sub', [m, vec('num_mean', features.map((f) => f.mean))]), vec('num_scale', scale)]);
  const fill = vec('num_fill', features.map((f, i) => (modelValue(f.fill, f.log) - f.mean) * scale[i]));
  return { x: g.node('Cast', [g.node('Where', [bad, fill, z])], { to: 1 }), bad };
}

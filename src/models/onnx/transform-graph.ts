/**
 * The fitted feature transform (features/transform.ts) as ONNX nodes: per numeric feature the
 * validity checks (finite, within MAX_MAGNITUDE and the training range widened RANGE_BOUND
 * times, >= 0 under log), log1p, imputation and standardization, computed in float64 as the
 * JavaScript transform computes them, then rounded to float32; per boolean 0/1 or the fill;
 * per categorical its kept levels one-hot (an ai.onnx.ml LabelEncoder to the level's index,
 * unseen values to "(other)" when the fit had one). The graph's inputs are the feature
 * columns, one row per visitor: float64 for numeric and boolean (1/0, NaN missing), text for
 * categorical (a null as "(missing)", a whole number without its zero fraction: categoryOf).
 */
import { categoryOf, MAX_MAGNITUDE, modelValue, validRange, type FittedTransform } from '../../features/transform.js';
import type { GraphBuilder } from './graph.js';

/** The graph input a feature is fed through, and its element type. */
export interface FeatureInput {
  name: string;
  kind: 'numeric' | 'boolean' | 'categorical';
  type: 'double' | 'string';
}

/** The inputs of a transform's graph, in feature order. */
export function featureInputs(t: FittedTransform): FeatureInput[] {
  return t.features.map((f) => ({ name: f.name, kind: f.kind, type: f.kind === 'categorical' ? 'string' : 'double' }));
}

/**
 * Adds the transform's nodes to `g`, with one graph input per feature.
 * @returns the transformed block X (float32, rows x t.outputs.length) and the count of imputed
 *   values (int64 scalar), as names of values in `g`.
 */
export function transformNodes(g: GraphBuilder, t: FittedTransform): { x: string; imputed: string } {
  const columns: string[] = [];
  const invalid: string[] = [];
  const one = g.tensor('axes1', 'int64', [1], [1n]);
  for (const f of t.features) {
    if (f.kind === 'numeric') {
      const x = g.input(f.name, 'double');
      const [lo, hi] = validRange(f);
      const bad = [
        g.node('IsNaN', [x]),
        g.node('IsInf', [x]),
        g.node('Greater', [g.node('Abs', [x]), g.scalar('double', MAX_MAGNITUDE)]),
        g.node('Less', [x, g.scalar('double', f.log ? Math.max(lo, 0) : lo)]),
        g.node('Greater', [x, g.scalar('double', hi)]),
      ].reduce((a, b) => g.node('Or', [a, b]));
      const m = f.log ? g.node('Log', [g.node('Add', [x, g.scalar('double', 1)])]) : x;
      const scale = f.std > 0 ? 1 / f.std : 1;
      const z = g.node('Mul', [g.node('Sub', [m, g.scalar('double', f.mean)]), g.scalar('double', scale)]);
      const fillZ = (modelValue(f.fill, f.log) - f.mean) * scale;
      columns.push(g.node('Unsqueeze', [g.node('Cast', [g.node('Where', [bad, g.scalar('double', fillZ), z])], { to: 1 }), one]));
      invalid.push(bad);
    } else if (f.kind === 'boolean') {
      const v = g.input(f.name, 'double');
      const bad = g.node('Not', [g.node('Or', [g.node('Equal', [v, g.scalar('double', 0)]), g.node('Equal', [v, g.scalar('double', 1)])])]);
      columns.push(g.node('Unsqueeze', [g.node('Cast', [g.node('Where', [bad, g.scalar('double', f.fill), v])], { to: 1 }), one]));
      invalid.push(bad);
    } else {
      const s = g.input(f.name, 'string');
      const width = f.levels.length + (f.other ? 1 : 0);
      // levelIndex semantics: each level keyed as categoryOf keys cells, a later duplicate winning.
      const index = new Map(f.levels.map((l, j) => [categoryOf(l), j]));
      const idx = g.node('LabelEncoder', [s], { keys_strings: [...index.keys()], values_int64s: [...index.values()], default_int64: f.other ? f.levels.length : -1 }, 1, 'ai.onnx.ml');
      const range = g.tensor('levels', 'int64', [width], Array.from({ length: width }, (_, j) => BigInt(j)));
      columns.push(g.node('Cast', [g.node('Equal', [g.node('Unsqueeze', [idx, one]), range])], { to: 1 }));
    }
  }
  const x = columns.length === 1 ? columns[0] : g.node('Concat', columns, { axis: 1 });
  const counts = invalid.map((b) => g.node('ReduceSum', [g.node('Cast', [b], { to: 7 })], { keepdims: 0 }));
  const imputed = counts.length === 0 ? g.scalar('int64', 0) : counts.reduce((a, b) => g.node('Add', [a, b]));
  return { x, imputed };
}

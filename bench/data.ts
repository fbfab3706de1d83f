/** Synthetic benchmark data shared by the suites (same generator, same seed, same rows). */
import type { FeatureBlock } from '../src/features/transform.js';
import { Rng } from '../src/util/rng.js';

/** n rows x d features around k overlapping centers (Lloyd keeps moving, as on real behavior data). */
export function blobs(n: number, d: number, k: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.normal() * 0.5));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centers[rng.int(k)];
    for (let j = 0; j < d; j++) x[i * d + j] = c[j] + rng.normal();
  }
  return x;
}

/** Row-major data cut into feature blocks of `rows` rows (views, no copies). */
export function blocksOf(x: Float32Array, d: number, rows: number): FeatureBlock[] {
  const n = x.length / d;
  const out: FeatureBlock[] = [];
  for (let s = 0; s < n; s += rows) {
    const m = Math.min(rows, n - s);
    out.push({ ids: new BigInt64Array(0), rows: m, cols: d, data: x.subarray(s * d, (s + m) * d), names: [], imputed: 0 });
  }
  return out;
}

/** n rows x d standard normals with a 0/1 label from a curved logistic model (an MLP has something to learn). */
export function labeledRows(n: number, d: number, seed: number): { x: Float32Array; y: Uint8Array; d: number } {
  const rng = new Rng(seed);
  const w = Array.from({ length: d }, () => rng.normal());
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[i * d + j] = v;
      z += w[j] * v * (j % 3 === 0 ? v : 1) * 0.3;
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y, d };
}

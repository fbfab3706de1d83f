/** Feature influence of a propensity network: permutation importance (Breiman, "Random Forests", 2001) on test rows. */
import type { FeatureGroup } from '../../features/transform.js';
import { rocAuc } from '../../metrics/classification.js';
import { Rng } from '../../util/rng.js';
import type { Labeled } from '../nn/fit.js';
import type { Mlp } from '../nn/mlp.js';

/** The test AUC lost when one feature's columns are shuffled across `rows` (mean of `repeats`), highest first. */
export async function permutationImportance(mlp: Mlp, data: Labeled, rows: Int32Array, groups: FeatureGroup[], seed: number, repeats = 2) {
  const { d } = data;
  const n = rows.length;
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.y[r];
  });
  const auc = async (m: Float32Array) => rocAuc(await mlp.inSpans(m, d, 1, (b) => mlp.logits(b)), y);
  const base = await auc(x);
  const rng = new Rng(seed ^ 0x1e9);
  const out: Array<{ feature: string; aucDrop: number }> = [];
  for (const g of groups) {
    let drop = 0;
    for (let r = 0; r < repeats; r++) {
      const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      const shuffled = Float32Array.from(x);
      for (let i = 0; i < n; i++) for (let j = g.start; j < g.start + g.width; j++) shuffled[i * d + j] = x[perm[i] * d + j];
      drop += base - (await auc(shuffled));
    }
    out.push({ feature: g.name, aucDrop: drop / repeats });
  }
  return out.sort((a, b) => b.aucDrop - a.aucDrop);
}

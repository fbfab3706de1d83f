/** Clustering metrics: pure functions over typed arrays. */

/** Squared Euclidean distance between row a of x and row b of y (both row-major, d columns). */
export function sqDist(x: ArrayLike<number>, a: number, y: ArrayLike<number>, b: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = x[a * d + j] - y[b * d + j];
    s += t * t;
  }
  return s;
}

/** Index of the nearest centroid to row i of x, and the squared distance to it. */
export function nearest(x: ArrayLike<number>, i: number, centroids: ArrayLike<number>, k: number, d: number): [number, number] {
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < k; c++) {
    const dist = sqDist(x, i, centroids, c, d);
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return [best, bestD];
}

/**
 * Mean silhouette coefficient (Euclidean) of n points with labels. O(n^2 d): call it on a
 * sample. Points in singleton clusters score 0, as in scikit-learn.
 */
export function silhouette(x: ArrayLike<number>, labels: ArrayLike<number>, n: number, d: number): number {
  const k = Math.max(...Array.from(labels, Number)) + 1;
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) sizes[labels[i]]++;
  if (sizes.filter((s) => s > 0).length < 2) return 0;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sums[labels[j]] += Math.sqrt(sqDist(x, i, x, j, d));
    const own = labels[i];
    if (sizes[own] <= 1) continue;
    const a = sums[own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c] > 0) b = Math.min(b, sums[c] / sizes[c]);
    total += (b - a) / Math.max(a, b);
  }
  return total / n;
}

/** Adjusted Rand index between two labelings (1 = identical up to renaming, ~0 = chance). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error('labelings differ in length');
  const table = new Map<string, number>();
  const rowSums = new Map<number, number>();
  const colSums = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rowSums.set(a[i], (rowSums.get(a[i]) ?? 0) + 1);
    colSums.set(b[i], (colSums.get(b[i]) ?? 0) + 1);
  }
  const pairs = (m: number) => (m * (m - 1)) / 2;
  let index = 0;
  for (const v of table.values()) index += pairs(v);
  let sumA = 0;
  for (const v of rowSums.values()) sumA += pairs(v);
  let sumB = 0;
  for (const v of colSums.values()) sumB += pairs(v);
  const expected = (sumA * sumB) / pairs(n);
  const max = (sumA + sumB) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}

/**
 * Metrics of value predictions (customer lifetime value): errors, rank agreement and how well
 * the predictions concentrate the actual value, as the CLTV literature reports them.
 */
type Num = ArrayLike<number>;

function check(pred: Num, actual: Num): void {
  if (pred.length !== actual.length || pred.length === 0) throw new Error(`metrics need two arrays of one non-zero length (${pred.length}, ${actual.length})`);
}

/** Mean absolute error. */
export function mae(pred: Num, actual: Num): number {
  check(pred, actual);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i] - actual[i]);
  return s / pred.length;
}

/** Root mean squared error. */
export function rmse(pred: Num, actual: Num): number {
  check(pred, actual);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - actual[i]) ** 2;
  return Math.sqrt(s / pred.length);
}

/** Ranks 1..n with ties sharing their mean rank. */
export function averageRanks(x: Num): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const ranks = new Float64Array(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation (Pearson correlation of average ranks; NaN when one side is constant). */
export function spearman(pred: Num, actual: Num): number {
  check(pred, actual);
  const a = averageRanks(pred);
  const b = averageRanks(actual);
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** The Gini of the actual values ordered by the predictions: the area between the cumulative-value curve and the diagonal, x2. */
function gini(pred: Num, actual: Num): number {
  const order = Array.from({ length: pred.length }, (_, i) => i).sort((a, b) => pred[b] - pred[a] || a - b);
  const total = order.reduce((s, i) => s + actual[i], 0);
  let cum = 0;
  let area = 0;
  for (const i of order) {
    cum += actual[i];
    area += cum / total;
  }
  const n = order.length;
  return (area - (n + 1) / 2) / n;
}

/**
 * Normalized Gini: the Gini of the actual values ranked by the predictions over the Gini of
 * the perfect ranking (1 = perfect order, 0 = random); the CLTV metric of Wang, Liu and Miao,
 * "A Deep Probabilistic Model for Customer Lifetime Value Prediction" (2019). Ties in the
 * predictions are broken by row order. NaN when every actual value is 0.
 */
export function normalizedGini(pred: Num, actual: Num): number {
  check(pred, actual);
  return gini(pred, actual) / gini(actual, actual);
}

/** Per decile of the predictions (highest first): the mean predicted and the mean actual value. */
export function valueDeciles(pred: Num, actual: Num, bins = 10): Array<{ decile: number; rows: number; predicted: number; actual: number }> {
  check(pred, actual);
  const order = Array.from({ length: pred.length }, (_, i) => i).sort((a, b) => pred[b] - pred[a] || a - b);
  return Array.from({ length: bins }, (_, d) => {
    const rows = order.slice(Math.floor((d * order.length) / bins), Math.floor(((d + 1) * order.length) / bins));
    const mean = (f: (i: number) => number) => rows.reduce((s, i) => s + f(i), 0) / Math.max(1, rows.length);
    return { decile: d + 1, rows: rows.length, predicted: mean((i) => pred[i]), actual: mean((i) => actual[i]) };
  });
}

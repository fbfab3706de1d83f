/**
 * How well a score ranks visitors by their response to a campaign, measured on randomized
 * rows (treated and control, with 0/1 outcomes), as the uplift literature does:
 *
 * - Qini curve (Radcliffe, "Using control groups to target on predicted lift", 2007): targeting
 *   the top k rows by score, Q(k) = Y_t(k) - Y_c(k) N_t(k) / N_c(k), the treated conversions
 *   beyond what the control rate among those k predicts. Here x = k / N (share targeted) and
 *   y = Q(k) / N (incremental conversions per row of the whole set).
 * - Qini coefficient: the area between that curve and the random line (from (0, 0) to (1, Q(N)/N)),
 *   not normalized: in the units of y, so models of one data set compare directly, and the
 *   oracle (rows ranked by their true effect) gives the ceiling. `qiniNormalized` divides it
 *   by the area of the best ranking of the observed outcomes (treated converters first,
 *   control converters last), as scikit-uplift's qini_auc_score does; causalml scales its
 *   curves differently, which is why both are named.
 * - AUUC: the area between the uplift curve (rate_t(k) - rate_c(k)) x k / N and its random line.
 * - uplift at k%: rate_t - rate_c among the top k% by score.
 *
 * Rows with equal scores are taken together (a curve point only where the score changes), so
 * the order of ties does not change any value.
 */

export interface UpliftPoint {
  /** Share of rows targeted. */
  share: number;
  /** Q(k) / N. */
  qini: number;
}

export interface UpliftEvaluation {
  /** Area between the Qini curve and the random line (see the module comment). */
  qini: number;
  /** qini / the best ranking's (scikit-uplift's normalization). */
  qiniNormalized: number;
  /** Area between the uplift curve and its random line. */
  auuc: number;
  /** rate_t - rate_c among the top 10, 20 and 30% by score (NaN where a group is empty). */
  upliftAt: { 10: number; 20: number; 30: number };
  /** rate_t - rate_c over every row. */
  overall: number;
  /** The Qini curve at about 100 points (for a chart). */
  curve: UpliftPoint[];
}

interface Cum {
  k: number;
  nt: number;
  nc: number;
  yt: number;
  yc: number;
}

/** Cumulative counts at the end of each group of tied scores, highest score first. */
function cumulative(score: ArrayLike<number>, treated: ArrayLike<number>, y: ArrayLike<number>): Cum[] {
  const order = Array.from({ length: score.length }, (_, i) => i).sort((a, b) => score[b] - score[a]);
  const out: Cum[] = [{ k: 0, nt: 0, nc: 0, yt: 0, yc: 0 }];
  const c = { k: 0, nt: 0, nc: 0, yt: 0, yc: 0 };
  for (let i = 0; i < order.length; i++) {
    const r = order[i];
    c.k++;
    if (treated[r]) {
      c.nt++;
      c.yt += y[r];
    } else {
      c.nc++;
      c.yc += y[r];
    }
    if (i === order.length - 1 || score[order[i + 1]] !== score[r]) out.push({ ...c });
  }
  return out;
}

const qiniOf = (c: Cum) => c.yt - (c.nc ? (c.yc * c.nt) / c.nc : 0);
const upliftOf = (c: Cum) => (c.nt && c.nc ? (c.yt / c.nt - c.yc / c.nc) * c.k : 0);

/** Trapezoid area under f over the points (x = k / n), less the random line's (f(end) / 2). */
function areaAboveRandom(points: Cum[], f: (c: Cum) => number, n: number): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) area += ((points[i].k - points[i - 1].k) / n) * ((f(points[i]) + f(points[i - 1])) / (2 * n));
  return area - f(points[points.length - 1]) / (2 * n);
}

/** rate_t - rate_c among the top `share` of rows (whole tie groups up to that share). */
function upliftAtShare(points: Cum[], n: number, share: number): number {
  const at = points.find((c) => c.k >= share * n) ?? points[points.length - 1];
  return at.nt && at.nc ? at.yt / at.nt - at.yc / at.nc : NaN;
}

/**
 * Qini, AUUC and uplift at 10/20/30% of a score (higher = more responsive) on randomized rows.
 * @param treated 1 treated, 0 control, per row. @param y the 0/1 outcome per row.
 * @throws Error when the arrays differ in length or hold no treated or no control row.
 */
export function upliftEvaluation(score: ArrayLike<number>, treated: ArrayLike<number>, y: ArrayLike<number>): UpliftEvaluation {
  const n = score.length;
  if (treated.length !== n || y.length !== n) throw new Error(`uplift metrics need arrays of one length (${n}, ${treated.length}, ${y.length})`);
  const points = cumulative(score, treated, y);
  const all = points[points.length - 1];
  if (!all.nt || !all.nc) throw new Error('uplift metrics need treated and control rows');
  // The best ranking of these outcomes: treated converters, then the rest, then control converters.
  const best = Float64Array.from({ length: n }, (_, r) => (treated[r] ? (y[r] ? 2 : 1) : y[r] ? 0 : 1));
  const qini = areaAboveRandom(points, qiniOf, n);
  const ideal = areaAboveRandom(cumulative(best, treated, y), qiniOf, n);
  const step = Math.max(1, Math.floor(points.length / 100));
  return {
    qini,
    qiniNormalized: ideal > 0 ? qini / ideal : NaN,
    auuc: areaAboveRandom(points, upliftOf, n),
    upliftAt: { 10: upliftAtShare(points, n, 0.1), 20: upliftAtShare(points, n, 0.2), 30: upliftAtShare(points, n, 0.3) },
    overall: all.yt / all.nt - all.yc / all.nc,
    curve: points.filter((_, i) => i % step === 0 || i === points.length - 1).map((c) => ({ share: c.k / n, qini: qiniOf(c) / n })),
  };
}

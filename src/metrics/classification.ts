/**
 * Binary classification metrics: pure functions over typed arrays of scores (higher = more
 * likely positive) and labels (1/0).
 */

type Num = ArrayLike<number>;

function check(scores: Num, labels: Num): void {
  if (scores.length !== labels.length) throw new Error(`${scores.length} scores but ${labels.length} labels`);
}

/** Indices sorted by score, descending. */
function order(scores: Num): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => scores[b] - scores[a]);
}

/** Exact ROC-AUC; tied scores count one half (the Mann-Whitney U statistic). */
export function rocAuc(scores: Num, labels: Num): number {
  check(scores, labels);
  const idx = order(scores);
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos++;
    else neg++;
  }
  if (pos === 0 || neg === 0) return NaN;
  // Walk groups of tied scores from the top; each negative in a group ranks below all
  // positives seen before the group and ties with the group's positives.
  let posAbove = 0;
  let u = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    let gp = 0;
    let gn = 0;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) {
      if (labels[idx[j]] === 1) gp++;
      else gn++;
      j++;
    }
    u += gn * (posAbove + gp / 2);
    posAbove += gp;
    i = j;
  }
  return u / (pos * neg);
}

/**
 * PR-AUC as average precision (scikit-learn's average_precision_score): the sum over
 * thresholds of precision x recall gained, with tied scores taken together.
 */
export function prAuc(scores: Num, labels: Num): number {
  check(scores, labels);
  const idx = order(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) pos++;
  if (pos === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    let gp = 0;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) {
      if (labels[idx[j]] === 1) gp++;
      j++;
    }
    tp += gp;
    seen += j - i;
    ap += (gp / pos) * (tp / seen);
    i = j;
  }
  return ap;
}

const EPS = 1e-15;

/** Mean negative log-likelihood of probabilities (clipped to [1e-15, 1 - 1e-15]). */
export function logLoss(probs: Num, labels: Num): number {
  check(probs, labels);
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - EPS, Math.max(EPS, probs[i]));
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / probs.length;
}

/** Mean squared error of probabilities. */
export function brier(probs: Num, labels: Num): number {
  check(probs, labels);
  let s = 0;
  for (let i = 0; i < probs.length; i++) s += (probs[i] - labels[i]) ** 2;
  return s / probs.length;
}

export interface Confusion {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  /** Share of rows flagged positive. */
  rate: number;
}

/** Rows with score >= threshold are flagged positive. */
export function confusionAt(scores: Num, labels: Num, threshold: number): Confusion {
  check(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] >= threshold;
    if (labels[i] === 1 && flagged) tp++;
    else if (labels[i] === 1) fn++;
    else if (flagged) fp++;
    else tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { threshold, tp, fp, tn, fn, precision, recall, f1, rate: (tp + fp) / Math.max(1, scores.length) };
}

/** The threshold with the highest F1 (ties: the higher threshold). */
export function maxF1Threshold(scores: Num, labels: Num): number {
  check(scores, labels);
  const idx = order(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) pos++;
  let tp = 0;
  let flagged = 0;
  let best = -1;
  let bestT = idx.length ? scores[idx[0]] : 0.5;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) {
      if (labels[idx[j]] === 1) tp++;
      flagged++;
      j++;
    }
    const f1 = (2 * tp) / (flagged + pos);
    if (f1 > best) {
      best = f1;
      bestT = scores[idx[i]];
    }
    i = j;
  }
  return bestT;
}

/** The threshold that flags (about) the given share of rows: the score at that rank. */
export function rateThreshold(scores: Num, rate: number): number {
  const sorted = Float64Array.from(scores).sort().reverse();
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(rate * sorted.length) - 1));
  return sorted[k];
}

export interface DecileRow {
  decile: number;
  rows: number;
  positives: number;
  rate: number;
  /** Positive rate in the decile / overall positive rate. */
  lift: number;
  /** Share of all positives captured by this decile and those above it. */
  cumulativeGain: number;
}

/** Lift and cumulative gains by decile of score (decile 1 = highest scores). */
export function liftTable(scores: Num, labels: Num, bins = 10): DecileRow[] {
  check(scores, labels);
  const idx = order(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) pos++;
  const base = pos / Math.max(1, labels.length);
  const rows: DecileRow[] = [];
  let captured = 0;
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * idx.length) / bins);
    const end = Math.floor(((b + 1) * idx.length) / bins);
    let p = 0;
    for (let i = start; i < end; i++) if (labels[idx[i]] === 1) p++;
    captured += p;
    const n = end - start;
    rows.push({ decile: b + 1, rows: n, positives: p, rate: n ? p / n : 0, lift: n && base ? p / n / base : 0, cumulativeGain: pos ? captured / pos : 0 });
  }
  return rows;
}

export interface CalibrationBin {
  from: number;
  to: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/** Reliability table: predicted vs observed positive rate in equal-width probability bins. */
export function calibrationTable(probs: Num, labels: Num, bins = 10): CalibrationBin[] {
  check(probs, labels);
  const n = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < probs.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(probs[i] * bins)));
    n[b]++;
    sp[b] += probs[i];
    sy[b] += labels[i];
  }
  return Array.from({ length: bins }, (_, b) => ({
    from: b / bins,
    to: (b + 1) / bins,
    rows: n[b],
    meanPredicted: n[b] ? sp[b] / n[b] : NaN,
    observedRate: n[b] ? sy[b] / n[b] : NaN,
  })).filter((r) => r.rows > 0);
}

/** Points of a curve, for plots: x and y in [0, 1]. */
export type CurvePoint = [number, number];

/**
 * The ROC curve (false positive rate, true positive rate) at every distinct score, thinned
 * to at most `points` points by false positive rate (ties taken together, as
 * scikit-learn's roc_curve). Empty when a class is absent.
 */
export function rocCurve(scores: Num, labels: Num, points = 101): CurvePoint[] {
  return thin(sweep(scores, labels).map((s) => [s.fp / s.neg, s.tp / s.pos] as CurvePoint), points);
}

/** The precision-recall curve (recall, precision) at every distinct score, thinned to at most `points`. */
export function prCurve(scores: Num, labels: Num, points = 101): CurvePoint[] {
  return thin(
    sweep(scores, labels)
      .filter((s) => s.tp + s.fp > 0)
      .map((s) => [s.tp / s.pos, s.tp / (s.tp + s.fp)] as CurvePoint),
    points,
  );
}

/** Cumulative true and false positives at each distinct score, from the top. */
function sweep(scores: Num, labels: Num): Array<{ tp: number; fp: number; pos: number; neg: number }> {
  check(scores, labels);
  const idx = order(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) pos++;
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return [];
  const out = [{ tp: 0, fp: 0, pos, neg }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    for (; j < idx.length && scores[idx[j]] === scores[idx[i]]; j++) {
      if (labels[idx[j]] === 1) tp++;
      else fp++;
    }
    out.push({ tp, fp, pos, neg });
    i = j;
  }
  return out;
}

/** At most n points of a curve, evenly spaced along it, keeping both ends. */
function thin(curve: CurvePoint[], n: number): CurvePoint[] {
  if (curve.length <= n) return curve;
  return Array.from({ length: n }, (_, i) => curve[Math.round((i * (curve.length - 1)) / (n - 1))]);
}

export interface HistogramBin {
  from: number;
  to: number;
  positives: number;
  negatives: number;
}

/** Counts of positives and negatives in `bins` equal-width bins over [min, max] of the scores. */
export function classHistogram(scores: Num, labels: Num, bins = 20): HistogramBin[] {
  check(scores, labels);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    lo = Math.min(lo, scores[i]);
    hi = Math.max(hi, scores[i]);
  }
  if (!(hi >= lo)) return [];
  const width = hi > lo ? (hi - lo) / bins : 1;
  const out = Array.from({ length: bins }, (_, b) => ({ from: lo + b * width, to: lo + (b + 1) * width, positives: 0, negatives: 0 }));
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.floor((scores[i] - lo) / width));
    if (labels[i] === 1) out[b].positives++;
    else out[b].negatives++;
  }
  return out;
}

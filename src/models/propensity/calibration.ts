/**
 * Probability calibration fitted on the validation split, so that a score of 0.3 means
 * about 30%: Platt scaling (a logistic curve on the logit) or isotonic regression (a
 * monotone step function, pool-adjacent-violators, interpolated linearly between steps).
 */
import { Type, type Static } from 'typebox';
/** A fitted calibration as stored: none, Platt's (a, b), or isotonic steps (x ascending logits, y probabilities). */
export const CalibrationSchema = Type.Union([
  Type.Object({ method: Type.Literal('none') }),
  Type.Object({ method: Type.Literal('platt'), a: Type.Number(), b: Type.Number() }),
  Type.Object({ method: Type.Literal('isotonic'), x: Type.Array(Type.Number()), y: Type.Array(Type.Number({ minimum: 0, maximum: 1 })) }),
]);

/** A fitted calibration (see CalibrationSchema). */
export type Calibration = Static<typeof CalibrationSchema>;

export type CalibrationMethod = Calibration['method'];

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function plattLoss(logits: ArrayLike<number>, labels: ArrayLike<number>, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    const t = a * logits[i] + b;
    // log(1 + e^t) - y t, computed without overflow
    s += (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))) - labels[i] * t;
  }
  return s;
}

/** Fits p = sigmoid(a * logit + b) by Newton's method on the log loss, halving steps that do not lower it. */
export function fitPlatt(logits: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  let a = 1;
  let b = 0;
  let loss = plattLoss(logits, labels, a, b);
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i];
      const p = sigmoid(a * z + b);
      const r = p - labels[i];
      const s = p * (1 - p);
      ga += r * z;
      gb += r;
      haa += s * z * z;
      hab += s * z;
      hbb += s;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-12)) break;
    let da = (hbb * ga - hab * gb) / det;
    let db = (haa * gb - hab * ga) / det;
    let next = plattLoss(logits, labels, a - da, b - db);
    for (let halve = 0; halve < 30 && !(next <= loss); halve++) {
      da /= 2;
      db /= 2;
      next = plattLoss(logits, labels, a - da, b - db);
    }
    if (!(next <= loss)) break;
    a -= da;
    b -= db;
    const improved = loss - next;
    loss = next;
    if (Math.abs(da) + Math.abs(db) < 1e-10 || improved < 1e-12 * Math.max(1, loss)) break;
  }
  return { method: 'platt', a, b };
}

/** Pool adjacent violators on (probability, label) pairs sorted by probability. */
export function fitIsotonic(probs: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  const idx = Array.from({ length: probs.length }, (_, i) => i).sort((i, j) => probs[i] - probs[j]);
  const blocks: Array<{ sum: number; n: number; xs: number; }> = [];
  for (const i of idx) {
    blocks.push({ sum: labels[i], n: 1, xs: probs[i] });
    while (blocks.length > 1 && blocks[blocks.length - 2].sum / blocks[blocks.length - 2].n >= blocks[blocks.length - 1].sum / blocks[blocks.length - 1].n) {
      const top = blocks.pop()!;
      const prev = blocks[blocks.length - 1];
      prev.sum += top.sum;
      prev.n += top.n;
      prev.xs += top.xs;
    }
  }
  return { method: 'isotonic', x: blocks.map((b) => b.xs / b.n), y: blocks.map((b) => b.sum / b.n) };
}

/** Calibrated probability from a raw logit. */
export function calibrate(c: Calibration, logit: number): number {
  if (c.method === 'none') return sigmoid(logit);
  if (c.method === 'platt') return sigmoid(c.a * logit + c.b);
  const p = sigmoid(logit);
  const { x, y } = c;
  if (p <= x[0]) return y[0];
  if (p >= x[x.length - 1]) return y[y.length - 1];
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= p) lo = mid;
    else hi = mid;
  }
  const t = x[hi] > x[lo] ? (p - x[lo]) / (x[hi] - x[lo]) : 0;
  return y[lo] + t * (y[hi] - y[lo]);
}

/**
 * Fits the probability calibration on held-out logits: Platt scaling (Platt 1999, "Probabilistic
 * Outputs for Support Vector Machines"), isotonic regression by pool-adjacent-violators
 * (Zadrozny and Elkan 2002), or none.
 */
export function fitCalibration(method: CalibrationMethod, logits: Float32Array, labels: Uint8Array): Calibration {
  if (method === 'platt') return fitPlatt(logits, labels);
  if (method === 'isotonic') return fitIsotonic(Float32Array.from(logits, sigmoid), labels);
  return { method: 'none' };
}

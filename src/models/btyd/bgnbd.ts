/**
 * BG/NBD (beta-geometric / negative binomial distribution), the standard buy-till-you-die model
 * of repeat purchases: Fader, Hardie and Lee, "Counting Your Customers the Easy Way: An
 * Alternative to the Pareto/NBD Model", Marketing Science 24(2), 2005. While alive, a customer
 * buys at rate lambda ~ Gamma(r, alpha) (rate alpha); after each purchase they drop out with
 * probability p ~ Beta(a, b). Fitted by maximum likelihood (equation 6 of the paper) with
 * Nelder-Mead on the logarithms of the four parameters.
 */
import { maximumLikelihood } from '../../util/optimize.js';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** One customer's calibration summary: repeat purchases x, time of the last one t_x and age T (same units, e.g. days). */
export interface RfmSummary {
  x: number;
  tx: number;
  T: number;
}

const LANCZOS = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Gamma(z) for z > 0 (Lanczos approximation, g = 7, n = 9; relative error about 1e-15). */
export function lnGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const x = z - 1;
  let s = 0.99999999999980993;
  for (let i = 0; i < LANCZOS.length; i++) s += LANCZOS[i] / (x + i + 1);
  const t = x + LANCZOS.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The log-likelihood of one customer under BG/NBD (Fader, Hardie and Lee 2005, equation 6). */
export function bgNbdLogLikelihood(p: BgNbdParams, c: RfmSummary): number {
  const { r, alpha, a, b } = p;
  const { x, tx, T } = c;
  const base = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha) + lnGamma(a + b) + lnGamma(b + x) - lnGamma(b) - lnGamma(a + b + x);
  const alive = -(r + x) * Math.log(alpha + T);
  if (x === 0) return base + alive;
  const dropped = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  const m = Math.max(alive, dropped);
  return base + m + Math.log(Math.exp(alive - m) + Math.exp(dropped - m));
}

/**
 * Maximum-likelihood BG/NBD parameters for the customers' summaries.
 * @throws Error when there are no customers.
 */
export function fitBgNbd(customers: RfmSummary[]): BgNbdParams {
  if (customers.length === 0) throw new Error('BG/NBD needs at least one customer');
  const unpack = (v: number[]): BgNbdParams => ({ r: v[0], alpha: v[1], a: v[2], b: v[3] });
  const meanT = customers.reduce((s, c) => s + c.T, 0) / customers.length;
  // Start: a rate of one purchase per mean age, a mild dropout.
  return unpack(maximumLikelihood(customers, (v, c) => bgNbdLogLikelihood(unpack(v), c), [1, meanT, 1, 1]));
}

/** Gauss's hypergeometric function 2F1(a, b; c; z) for |z| < 1, by its series (to relative 1e-15). */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(Math.abs(z) < 1)) throw new Error(`2F1 series needs |z| < 1, got ${z}`);
  let term = 1;
  let sum = 1;
  for (let k = 0; k < 10_000; k++) {
    term *= ((a + k) * (b + k) * z) / ((c + k) * (k + 1));
    sum += term;
    if (Math.abs(term) <= 1e-15 * Math.abs(sum)) break;
  }
  return sum;
}

/**
 * Expected purchases in the next `t` time units of a customer with history (x, t_x, T)
 * (Fader, Hardie and Lee 2005, equation 10).
 */
export function expectedPurchases(p: BgNbdParams, c: RfmSummary, t: number): number {
  const { r, alpha, a, b } = p;
  const { x, tx, T } = c;
  const z = t / (alpha + T + t);
  const head = (a + b + x - 1) / (a - 1);
  const body = 1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
  const alive = 1 + (x > 0 ? (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x) : 0);
  return (head * body) / alive;
}

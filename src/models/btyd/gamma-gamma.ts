/**
 * The Gamma-Gamma model of spend per purchase, the companion of BG/NBD for customer lifetime
 * value: Fader, Hardie and Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base
 * Analysis", Journal of Marketing Research 42(4), 2005; and Fader and Hardie, "The Gamma-Gamma
 * Model of Monetary Value" (2013). Each purchase is Gamma(p, nu) for the customer's nu ~
 * Gamma(q, gamma); fitted by maximum likelihood on customers with repeat purchases.
 */
import { maximumLikelihood } from '../../util/optimize.js';
import { lnGamma } from './bgnbd.js';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

/** A customer's repeat purchases: how many (x >= 1) and their mean amount. */
export interface SpendSummary {
  x: number;
  mean: number;
}

/** The log-likelihood of one customer's mean spend under Gamma-Gamma. */
export function gammaGammaLogLikelihood(g: GammaGammaParams, c: SpendSummary): number {
  const { p, q, gamma } = g;
  const { x, mean } = c;
  return (
    lnGamma(p * x + q) - lnGamma(p * x) - lnGamma(q) + q * Math.log(gamma) + (p * x - 1) * Math.log(mean) + p * x * Math.log(x) - (p * x + q) * Math.log(gamma + mean * x)
  );
}

/**
 * Maximum-likelihood Gamma-Gamma parameters.
 * @throws Error without a customer who has a repeat purchase with a positive mean.
 */
export function fitGammaGamma(customers: SpendSummary[]): GammaGammaParams {
  const used = customers.filter((c) => c.x >= 1 && c.mean > 0);
  if (used.length === 0) throw new Error('Gamma-Gamma needs customers with repeat purchases');
  const unpack = (v: number[]): GammaGammaParams => ({ p: v[0], q: v[1], gamma: v[2] });
  const avg = used.reduce((s, c) => s + c.mean, 0) / used.length;
  return unpack(maximumLikelihood(used, (v, c) => gammaGammaLogLikelihood(unpack(v), c), [1, 2, avg]));
}

/** The expected spend per purchase of a customer (the posterior mean given x purchases averaging `mean`). */
export function expectedSpend(g: GammaGammaParams, c: SpendSummary): number {
  return ((g.gamma + c.mean * c.x) * g.p) / (g.p * c.x + g.q - 1);
}

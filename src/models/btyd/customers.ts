/**
 * BG/NBD with Gamma-Gamma spend on the columns `audience events` writes: each customer's
 * summary from active days, tenure, recency and the mean spend of repeat purchases (counted in
 * active days, times in days since the first purchase: the convention of the lifetimes
 * package), the two models fitted by maximum likelihood on a seeded sample of customers
 * (the parameters are population-level), and each customer's expected value over a horizon
 * (expected purchases, Fader, Hardie and Lee 2005 equation 10, x expected spend per purchase).
 */
import { Rng } from '../../util/rng.js';
import { expectedPurchases, fitBgNbd, type BgNbdParams } from './bgnbd.js';
import { expectedSpend, fitGammaGamma, type GammaGammaParams } from './gamma-gamma.js';

/**
 * The feature columns the summaries come from, in this order. The spend is the mean of the
 * repeat purchases (`amount_repeat_mean`), as Fader, Hardie and Lee fit Gamma-Gamma; versions
 * saved before it existed read `amount_mean` (LEGACY_SPEND), the input they were fitted on.
 */
export const RFM_COLUMNS = ['active_days', 'tenure_days', 'recency_days', 'amount_repeat_mean'] as const;
/** The spend column of BG/NBD versions saved before `amount_repeat_mean`: the mean of every purchase. */
export const LEGACY_SPEND = 'amount_mean';

/** Customers sampled for the maximum-likelihood fits. */
export const FIT_SAMPLE = 20_000;

export interface Btyd {
  params: BgNbdParams;
  spend: GammaGammaParams;
  /** Customers the fits used. */
  customers: number;
}

/** One customer's summary from [active days, tenure days, recency days, mean spend]; null when one of the first three is missing. */
export function customerSummary(active: number, tenure: number, recency: number, mean: number) {
  if (![active, tenure, recency].every(Number.isFinite)) return null;
  return { x: Math.max(0, active - 1), tx: Math.max(0, tenure - recency), T: Math.max(tenure, 1e-9), mean: Number.isFinite(mean) && mean > 0 ? mean : 0 };
}

/**
 * Fits BG/NBD on a seeded sample of up to FIT_SAMPLE customers and Gamma-Gamma on those of
 * them with repeat purchases and a positive mean spend.
 * @throws Error without customers, or without one who bought twice.
 */
export function fitBtyd(customers: Array<ReturnType<typeof customerSummary>>, seed: number): Btyd {
  const valid = customers.filter((c) => c !== null);
  const sample = new Rng(seed ^ 0xb6).shuffle(valid).slice(0, FIT_SAMPLE);
  return { params: fitBgNbd(sample), spend: fitGammaGamma(sample.filter((c) => c.x >= 1 && c.mean > 0)), customers: sample.length };
}

/** Expected purchases and value over `horizon` days of one customer (0 for a missing summary). */
export function btydValue(m: Btyd, c: ReturnType<typeof customerSummary>, horizon: number): { purchases: number; value: number } {
  if (c === null) return { purchases: 0, value: 0 };
  const purchases = expectedPurchases(m.params, c, horizon);
  return { purchases, value: purchases * expectedSpend(m.spend, { x: c.mean > 0 ? c.x : 0, mean: c.mean }) };
}

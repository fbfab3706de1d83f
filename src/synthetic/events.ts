/**
 * Synthetic purchase events from a known buy-till-you-die process, so tests can check event
 * features and, later, that BG/NBD recovers its parameters. Per customer (Fader, Hardie and
 * Lee, "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
 * Marketing Science 2005): a purchase rate lambda ~ Gamma(r, alpha) per day, a dropout
 * probability p ~ Beta(a, b) after each repeat purchase; the first purchase falls uniformly
 * in the first `acquisitionDays`, later ones at exponential gaps until dropout or the end of
 * the period. Spend per purchase follows the Gamma-Gamma model (Fader, Hardie and Lee 2005,
 * "RFM and CLV"): nu ~ Gamma(q, gamma) per customer, each amount ~ Gamma(shape, nu).
 */
import { Rng } from '../util/rng.js';

export interface BtydParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
  /** Gamma-Gamma spend: per-purchase shape p, and the scale prior (q, gamma). */
  spendShape: number;
  q: number;
  gamma: number;
}

/** Defaults in the range published fits find for retail (rates in purchases per day). */
export const DEFAULT_BTYD: BtydParams = { r: 0.25, alpha: 40, a: 0.8, b: 2.5, spendShape: 6, q: 4, gamma: 15 };

export interface SyntheticEvent {
  id: string;
  /** ISO date, YYYY-MM-DD. */
  date: string;
  amount: number;
  category: string;
}

const CATEGORIES = ['apparel', 'shoes', 'home', 'beauty', 'toys'];

/** A Gamma(shape, rate) draw (Marsaglia and Tsang 2000; shape < 1 by the boost u^(1/shape)). */
export function gammaDraw(rng: Rng, shape: number, rate: number): number {
  if (shape < 1) return gammaDraw(rng, shape + 1, rate) * Math.pow(rng.next() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u || 1e-300) < 0.5 * x * x + d * (1 - v + Math.log(v))) return (d * v) / rate;
  }
}

/**
 * Events of `customers` customers over `days` days from `start` (YYYY-MM-DD), sorted by
 * customer then date; customer ids are "c000001"...
 */
export function generateEvents(opts: { customers: number; days: number; start?: string; seed?: number; params?: BtydParams; acquisitionDays?: number }): SyntheticEvent[] {
  const rng = new Rng(opts.seed ?? 1);
  const p = opts.params ?? DEFAULT_BTYD;
  const start = Date.parse(`${opts.start ?? '2024-01-01'}T00:00:00Z`);
  const acquisition = opts.acquisitionDays ?? Math.min(opts.days, 90);
  const out: SyntheticEvent[] = [];
  const day = (t: number) => new Date(start + Math.floor(t) * 86_400_000).toISOString().slice(0, 10);
  for (let c = 0; c < opts.customers; c++) {
    const id = `c${String(c + 1).padStart(6, '0')}`;
    const lambda = gammaDraw(rng, p.r, p.alpha);
    const x = gammaDraw(rng, p.a, 1);
    const dropout = x / (x + gammaDraw(rng, p.b, 1));
    const nu = gammaDraw(rng, p.q, p.gamma);
    const favourite = CATEGORIES[rng.int(CATEGORIES.length)];
    const buy = (t: number) => {
      const category = rng.next() < 0.6 ? favourite : CATEGORIES[rng.int(CATEGORIES.length)];
      out.push({ id, date: day(t), amount: Math.round(gammaDraw(rng, p.spendShape, nu) * 100) / 100, category });
    };
    // The first purchase, then repeat purchases at exponential gaps; after each repeat one the
    // customer drops out with probability p (the BG/NBD timing: no dropout after the first).
    let t = rng.next() * acquisition;
    buy(t);
    for (;;) {
      t += -Math.log(1 - rng.next()) / Math.max(lambda, 1e-9);
      if (t >= opts.days) break;
      buy(t);
      if (rng.next() < dropout) break;
    }
  }
  return out;
}

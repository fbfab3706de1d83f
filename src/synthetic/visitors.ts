/**
 * Synthetic visitors with planted behavioral segments: counts, durations and rates with long
 * tails, categorical device/channel/country, booleans, ~2% nulls in some columns, an email,
 * a purchase label that depends on behavior, and the planted segment (`true_segment`) so
 * tests and benchmarks can check what a model recovers.
 */
import type { OutputColumn, OutputData } from '../io/writer.js';
import { Rng } from '../util/rng.js';

interface Archetype {
  name: string;
  weight: number;
  sessions: number;
  pageViews: number;
  productViews: number;
  cartAdds: number;
  sessionSeconds: number;
  daysSince: number;
  bounce: number;
  emailOpens: number;
  discount: number;
  device: [number, number, number]; // mobile, desktop, tablet
  channel: [number, number, number, number, number, number]; // organic, paid_search, social, email, direct, referral
  returning: number;
  account: number;
  /** Log-odds of converting, before behavior effects. */
  baseLogit: number;
}

export const ARCHETYPES: Archetype[] = [
  { name: 'window shoppers', weight: 0.25, sessions: 3, pageViews: 25, productViews: 14, cartAdds: 0.3, sessionSeconds: 240, daysSince: 12, bounce: 0.25, emailOpens: 0.5, discount: 0.1, device: [0.6, 0.3, 0.1], channel: [0.35, 0.2, 0.25, 0.02, 0.13, 0.05], returning: 0.5, account: 0.2, baseLogit: -3.2 },
  { name: 'loyal buyers', weight: 0.12, sessions: 12, pageViews: 60, productViews: 30, cartAdds: 5, sessionSeconds: 420, daysSince: 3, bounce: 0.1, emailOpens: 6, discount: 0.15, device: [0.35, 0.55, 0.1], channel: [0.15, 0.05, 0.05, 0.35, 0.35, 0.05], returning: 0.97, account: 0.9, baseLogit: -0.4 },
  { name: 'bargain hunters', weight: 0.15, sessions: 5, pageViews: 30, productViews: 18, cartAdds: 2, sessionSeconds: 200, daysSince: 8, bounce: 0.2, emailOpens: 9, discount: 0.7, device: [0.55, 0.35, 0.1], channel: [0.1, 0.15, 0.1, 0.5, 0.1, 0.05], returning: 0.8, account: 0.6, baseLogit: -1.6 },
  { name: 'bouncers', weight: 0.28, sessions: 1, pageViews: 1.5, productViews: 0.5, cartAdds: 0.02, sessionSeconds: 15, daysSince: 45, bounce: 0.85, emailOpens: 0.1, discount: 0.05, device: [0.75, 0.2, 0.05], channel: [0.3, 0.35, 0.25, 0.0, 0.05, 0.05], returning: 0.1, account: 0.03, baseLogit: -5 },
  { name: 'researchers', weight: 0.12, sessions: 6, pageViews: 80, productViews: 55, cartAdds: 1, sessionSeconds: 1100, daysSince: 6, bounce: 0.08, emailOpens: 1, discount: 0.1, device: [0.1, 0.8, 0.1], channel: [0.55, 0.15, 0.02, 0.03, 0.15, 0.1], returning: 0.7, account: 0.35, baseLogit: -2.0 },
  { name: 'mobile impulse', weight: 0.08, sessions: 2, pageViews: 12, productViews: 8, cartAdds: 3, sessionSeconds: 90, daysSince: 10, bounce: 0.3, emailOpens: 0.3, discount: 0.3, device: [0.95, 0.02, 0.03], channel: [0.05, 0.1, 0.8, 0.0, 0.03, 0.02], returning: 0.3, account: 0.15, baseLogit: -1.9 },
];

const DEVICES = ['mobile', 'desktop', 'tablet'];
const CHANNELS = ['organic', 'paid_search', 'social', 'email', 'direct', 'referral'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'CA', 'AU', 'BR', 'JP', 'IN'];
const COUNTRY_WEIGHTS = [0.35, 0.12, 0.1, 0.08, 0.05, 0.05, 0.04, 0.06, 0.04, 0.05, 0.03, 0.03];

export const VISITOR_COLUMNS: OutputColumn[] = [
  { name: 'visitor_id', type: 'BIGINT' },
  { name: 'sessions', type: 'INTEGER' },
  { name: 'page_views', type: 'INTEGER' },
  { name: 'product_views', type: 'INTEGER' },
  { name: 'cart_adds', type: 'INTEGER' },
  { name: 'avg_session_seconds', type: 'DOUBLE' },
  { name: 'days_since_last_visit', type: 'DOUBLE' },
  { name: 'bounce_rate', type: 'DOUBLE' },
  { name: 'email_opens', type: 'INTEGER' },
  { name: 'discount_share', type: 'DOUBLE' },
  { name: 'device', type: 'VARCHAR' },
  { name: 'channel', type: 'VARCHAR' },
  { name: 'country', type: 'VARCHAR' },
  { name: 'is_returning', type: 'INTEGER' },
  { name: 'has_account', type: 'INTEGER' },
  { name: 'email', type: 'VARCHAR' },
  { name: 'converted', type: 'INTEGER' },
  { name: 'true_segment', type: 'INTEGER' },
];

function poisson(rng: Rng, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.normal()));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.next();
  } while (p > l);
  return k - 1;
}

/** Positive value around `mean` with a long right tail (log-normal, sigma 0.6). */
function logNormal(rng: Rng, mean: number): number {
  return mean * Math.exp(0.6 * rng.normal() - 0.18);
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export interface GenerateOptions {
  visitors: number;
  seed?: number;
  batchRows?: number;
  /** Share of nulls in avg_session_seconds, days_since_last_visit and device. Default 0.02. */
  nullRate?: number;
}

/**
 * Synthetic visitors in batches of `batchRows` (65,536): behavior columns drawn per planted
 * segment (its index in `true_segment`), a `converted` label from a known logistic model,
 * nulls at `nullRate`; seeded, so the same options give the same rows.
 */
export async function* generateVisitors(opts: GenerateOptions): AsyncGenerator<{ rows: number; columns: Record<string, OutputData> }> {
  const rng = new Rng(opts.seed ?? 1);
  const batchRows = opts.batchRows ?? 65_536;
  const nullRate = opts.nullRate ?? 0.02;
  const weights = ARCHETYPES.map((a) => a.weight);
  for (let start = 0; start < opts.visitors; start += batchRows) {
    const n = Math.min(batchRows, opts.visitors - start);
    const col = {
      visitor_id: new BigInt64Array(n),
      sessions: new Int32Array(n),
      page_views: new Int32Array(n),
      product_views: new Int32Array(n),
      cart_adds: new Int32Array(n),
      avg_session_seconds: new Float64Array(n),
      days_since_last_visit: new Float64Array(n),
      bounce_rate: new Float64Array(n),
      email_opens: new Int32Array(n),
      discount_share: new Float64Array(n),
      device: new Array<string | null>(n),
      channel: new Array<string | null>(n),
      country: new Array<string | null>(n),
      is_returning: new Int32Array(n),
      has_account: new Int32Array(n),
      email: new Array<string | null>(n),
      converted: new Int32Array(n),
      true_segment: new Int32Array(n),
    };
    for (let i = 0; i < n; i++) {
      const s = rng.weighted(weights, 1);
      const a = ARCHETYPES[s];
      const id = start + i + 1;
      col.visitor_id[i] = BigInt(id);
      col.true_segment[i] = s;
      col.sessions[i] = 1 + poisson(rng, a.sessions - 1);
      col.page_views[i] = Math.max(1, poisson(rng, logNormal(rng, a.pageViews)));
      col.product_views[i] = Math.min(col.page_views[i], poisson(rng, logNormal(rng, a.productViews)));
      col.cart_adds[i] = poisson(rng, a.cartAdds);
      col.avg_session_seconds[i] = rng.next() < nullRate ? NaN : logNormal(rng, a.sessionSeconds);
      col.days_since_last_visit[i] = rng.next() < nullRate ? NaN : logNormal(rng, a.daysSince);
      col.bounce_rate[i] = clamp01(a.bounce + 0.08 * rng.normal());
      col.email_opens[i] = poisson(rng, a.emailOpens);
      col.discount_share[i] = clamp01(a.discount + 0.1 * rng.normal());
      col.device[i] = rng.next() < nullRate ? null : DEVICES[rng.weighted(a.device, 1)];
      col.channel[i] = CHANNELS[rng.weighted(a.channel, 1)];
      col.country[i] = COUNTRIES[rng.weighted(COUNTRY_WEIGHTS, 1)];
      col.is_returning[i] = rng.next() < a.returning ? 1 : 0;
      col.has_account[i] = rng.next() < a.account ? 1 : 0;
      col.email[i] = rng.next() < 0.6 ? `  Visitor${id}@Example.com ` : null;
      const logit =
        a.baseLogit + 0.35 * Math.log1p(col.cart_adds[i]) + 0.25 * Math.log1p(col.product_views[i]) - 1.2 * col.bounce_rate[i] + 0.4 * col.has_account[i] + 0.5 * rng.normal();
      col.converted[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
    yield { rows: n, columns: col };
  }
}

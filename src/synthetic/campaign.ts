/**
 * A synthetic randomized campaign over the synthetic visitors (visitors.ts): each visitor is
 * treated (sent the campaign) with a fixed probability, independently of everything else, and
 * converts with a probability that depends on behavior and, when treated, on a known
 * heterogeneous effect. `true_uplift` is each visitor's effect on the probability,
 * P(convert | treated, x) - P(convert | not treated, x): the oracle that uplift models are
 * measured against. Both potential outcomes come from one uniform draw per visitor.
 *
 * The effect, in log-odds (Radcliffe's four groups in marketing terms): bargain hunters who
 * open emails are persuadables (+1.6, +0.9 for the others), returning window shoppers and
 * mobile impulse buyers from social respond (+0.7, +0.8), loyal buyers are sure things who
 * resent the contact (-0.4: "sleeping dogs"), bouncers barely react (+0.1), and every visitor
 * gains 0.12 x log(1 + email opens) on top.
 *
 * With two arms (`arms: 2`) the treated are split evenly between the email (arm 1, the effect
 * above) and a discount (arm 2, discountEffect: mobile impulse buyers and window shoppers gain
 * most, bargain hunters a little, loyal buyers and bouncers nothing), so the best arm differs by
 * visitor; `true_uplift_1` and `true_uplift_2` are each arm's effect and `true_uplift` the
 * larger of them.
 */
import type { OutputColumn, OutputData } from '../io/writer.js';
import { Rng } from '../util/rng.js';
import { ARCHETYPES, generateVisitors, VISITOR_COLUMNS, type GenerateOptions } from './visitors.js';

export interface CampaignOptions extends GenerateOptions {
  /** Share of visitors treated (0 < share < 1; default 0.5). */
  treatedShare?: number;
  /** Treatment arms beside the control: 1 (default) or 2 (see the module comment). */
  arms?: number;
}

/** The visitors' columns, their own `converted` label replaced by the campaign's, and the campaign's: treatment, outcome, pre-period orders, true effect. */
export const CAMPAIGN_COLUMNS: OutputColumn[] = [
  ...VISITOR_COLUMNS.filter((c) => c.name !== 'converted'),
  { name: 'past_orders', type: 'INTEGER' },
  { name: 'treatment', type: 'INTEGER' },
  { name: 'converted', type: 'INTEGER' },
  { name: 'true_uplift', type: 'DOUBLE' },
];

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const segment = Object.fromEntries(ARCHETYPES.map((a, i) => [a.name, i]));

type EffectOf = (v: { segment: number; emailOpens: number; returning: number; channel: string | null }) => number;

/** The campaign's effect on one visitor's log-odds of converting (see the module comment). */
export const campaignEffect: EffectOf = (v) => {
  let tau = 0.12 * Math.log1p(v.emailOpens);
  if (v.segment === segment['bargain hunters']) tau += v.emailOpens >= 5 ? 1.6 : 0.9;
  else if (v.segment === segment['window shoppers']) tau += v.returning ? 0.7 : 0.1;
  else if (v.segment === segment['mobile impulse']) tau += v.channel === 'social' ? 0.8 : 0.3;
  else if (v.segment === segment['loyal buyers']) tau -= 0.4;
  else if (v.segment === segment['bouncers']) tau += 0.1;
  return tau;
};

/** The second arm's (a discount's) effect on one visitor's log-odds of converting (see the module comment). */
export const discountEffect: EffectOf = (v) => {
  if (v.segment === segment['mobile impulse']) return v.channel === 'social' ? 1.5 : 1.1;
  if (v.segment === segment['window shoppers']) return v.returning ? 1.2 : 0.6;
  if (v.segment === segment['bargain hunters']) return 0.3;
  return 0;
};

/** The effect of each treatment arm (1-based: ARM_EFFECTS[k - 1] is arm k's). */
export const ARM_EFFECTS: EffectOf[] = [campaignEffect, discountEffect];

/** The columns of a campaign with `arms` treatment arms: CAMPAIGN_COLUMNS, and each arm's true effect when there are several. */
export function campaignColumns(arms = 1): OutputColumn[] {
  return arms === 1 ? CAMPAIGN_COLUMNS : [...CAMPAIGN_COLUMNS, ...ARM_EFFECTS.slice(0, arms).map((_, k): OutputColumn => ({ name: `true_uplift_${k + 1}`, type: 'DOUBLE' }))];
}

/**
 * Synthetic campaign rows in the batches of `generateVisitors` (same visitors for the same
 * seed): the visitor columns, `past_orders` (a Poisson count with mean 4 x the untreated
 * probability: a pre-campaign covariate for CUPED), `treatment` (1 treated, 0 holdout; with
 * two arms 1 or 2, each half the treated share), `converted` and `true_uplift` (with two arms
 * also `true_uplift_1` and `true_uplift_2`). One arm draws the same rows as before arms existed.
 * @throws RangeError for arms other than 1 or 2.
 */
export async function* generateCampaign(opts: CampaignOptions): AsyncGenerator<{ rows: number; columns: Record<string, OutputData> }> {
  const share = opts.treatedShare ?? 0.5;
  const arms = opts.arms ?? 1;
  if (!Number.isInteger(arms) || arms < 1 || arms > ARM_EFFECTS.length) throw new RangeError(`arms: 1 to ${ARM_EFFECTS.length}, not ${arms}`);
  const rng = new Rng(((opts.seed ?? 1) * 7919 + 17) >>> 0);
  for await (const b of generateVisitors(opts)) {
    const c = b.columns as Record<string, OutputData>;
    const n = b.rows;
    const [seg, opens, returning, cart, views, bounce, account] = ['true_segment', 'email_opens', 'is_returning', 'cart_adds', 'product_views', 'bounce_rate', 'has_account'].map((k) => c[k] as ArrayLike<number>);
    const channel = c.channel as (string | null)[];
    const out = { past_orders: new Int32Array(n), treatment: new Int32Array(n), converted: new Int32Array(n), true_uplift: new Float64Array(n) };
    const perArm = Array.from({ length: arms > 1 ? arms : 0 }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const logit = ARCHETYPES[seg[i]].baseLogit + 0.35 * Math.log1p(cart[i]) + 0.25 * Math.log1p(views[i]) - 1.2 * bounce[i] + 0.4 * account[i];
      const p0 = sigmoid(logit);
      const visitor = { segment: seg[i], emailOpens: opens[i], returning: returning[i], channel: channel[i] };
      const p = ARM_EFFECTS.slice(0, arms).map((effect) => sigmoid(logit + effect(visitor)));
      let k = 0;
      for (let q = rng.next(), l = Math.exp(-4 * p0); q > l; q *= rng.next()) k++;
      out.past_orders[i] = k;
      // One draw: under the treated share, its place within the share picks the arm.
      const u = rng.next();
      out.treatment[i] = u < share ? 1 + Math.min(arms - 1, Math.floor((u / share) * arms)) : 0;
      out.converted[i] = rng.next() < (out.treatment[i] ? p[out.treatment[i] - 1] : p0) ? 1 : 0;
      out.true_uplift[i] = Math.max(...p) - p0;
      perArm.forEach((a, j) => (a[i] = p[j] - p0));
    }
    const armColumns = Object.fromEntries(perArm.map((a, j) => [`true_uplift_${j + 1}`, a]));
    yield { rows: n, columns: { ...Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'converted')), ...out, ...armColumns } };
  }
}

/** `audience generate --campaign`: a randomized campaign whose observed lift matches its planted effect. */
import { describe, expect, it } from 'vitest';
import { campaignEffect, CAMPAIGN_COLUMNS, generateCampaign } from '../src/synthetic/campaign.js';
import { ARCHETYPES } from '../src/synthetic/visitors.js';

describe('synthetic campaign', () => {
  it('treats at random, and the observed lift of each planted segment matches its mean true_uplift', async () => {
    const n = 60_000;
    const by = ARCHETYPES.map(() => ({ t: 0, ct: 0, c: 0, cc: 0, tau: 0, n: 0 }));
    let treated = 0;
    for await (const b of generateCampaign({ visitors: n, seed: 5, treatedShare: 0.3 })) {
      expect(Object.keys(b.columns).sort()).toEqual(CAMPAIGN_COLUMNS.map((c) => c.name).sort());
      const [seg, t, y, tau] = ['true_segment', 'treatment', 'converted', 'true_uplift'].map((k) => b.columns[k] as ArrayLike<number>);
      for (let i = 0; i < b.rows; i++) {
        const g = by[seg[i]];
        treated += t[i];
        g.n++;
        g.tau += tau[i];
        if (t[i]) {
          g.t++;
          g.ct += y[i];
        } else {
          g.c++;
          g.cc += y[i];
        }
      }
    }
    // 30% treated: within 4 standard errors of a binomial share.
    expect(Math.abs(treated / n - 0.3)).toBeLessThan(4 * Math.sqrt(0.21 / n));
    for (const g of by) {
      const [pt, pc] = [g.ct / g.t, g.cc / g.c];
      const se = Math.sqrt((pt * (1 - pt)) / g.t + (pc * (1 - pc)) / g.c);
      expect(Math.abs(pt - pc - g.tau / g.n)).toBeLessThan(4 * se + 1e-9);
    }
  });

  it('the planted effect: persuadable bargain hunters, sleeping-dog loyal buyers', () => {
    const seg = (name: string) => ARCHETYPES.findIndex((a) => a.name === name);
    expect(campaignEffect({ segment: seg('bargain hunters'), emailOpens: 9, returning: 1, channel: 'email' })).toBeCloseTo(1.6 + 0.12 * Math.log(10), 12);
    expect(campaignEffect({ segment: seg('loyal buyers'), emailOpens: 0, returning: 1, channel: 'direct' })).toBeCloseTo(-0.4, 12);
  });
});

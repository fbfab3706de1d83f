/**
 * BG/NBD (Fader, Hardie and Lee 2005): the likelihood equals values computed by hand, and the
 * fit recovers the parameters of data simulated from the model.
 */
import { describe, expect, it } from 'vitest';
import { bgNbdLogLikelihood, expectedPurchases, fitBgNbd, hyp2f1, lnGamma, type RfmSummary } from '../src/models/btyd/bgnbd.js';
import { expectedSpend, fitGammaGamma } from '../src/models/btyd/gamma-gamma.js';
import { DEFAULT_BTYD as P, gammaDraw } from '../src/synthetic/events.js';
import { nelderMead } from '../src/util/optimize.js';
import { Rng } from '../src/util/rng.js';


/** Customers simulated from BG/NBD with the default parameters: their summaries at T and purchases in (T, T + horizon]. */
function simulate(rng: Rng, n: number, T: number, horizon = 0): { customers: RfmSummary[]; future: number } {
  const customers: RfmSummary[] = [];
  let future = 0;
  for (let i = 0; i < n; i++) {
    const lambda = gammaDraw(rng, P.r, P.alpha);
    const u = gammaDraw(rng, P.a, 1);
    const dropout = u / (u + gammaDraw(rng, P.b, 1));
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += -Math.log(1 - rng.next()) / lambda;
      if (t > T + horizon) break;
      if (t <= T) {
        x++;
        tx = t;
      } else future++;
      if (rng.next() < dropout) break;
    }
    customers.push({ x, tx, T });
  }
  return { customers, future };
}

describe('BG/NBD', () => {
  it('ln Gamma and the likelihood equal hand-computed values', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // x = 0: L = (alpha / (alpha + T))^r.
    expect(bgNbdLogLikelihood({ r: 1, alpha: 1, a: 1, b: 1 }, { x: 0, tx: 0, T: 1 })).toBeCloseTo(Math.log(1 / 2), 12);
    // x = 1, r = alpha = a = b = 1, T = 2, t_x = 1: B(1,2)/B(1,1) / 3^2 + B(2,1)/B(1,1) / 2^2 = 1/18 + 1/8.
    expect(bgNbdLogLikelihood({ r: 1, alpha: 1, a: 1, b: 1 }, { x: 1, tx: 1, T: 2 })).toBeCloseTo(Math.log(1 / 18 + 1 / 8), 12);
  });

  it('Nelder-Mead finds the minimum of a quadratic', () => {
    const x = nelderMead((v) => (v[0] - 3) ** 2 + 10 * (v[1] + 1) ** 2, [0, 0], { tolerance: 1e-14, maxIterations: 5000 });
    expect(x[0]).toBeCloseTo(3, 4);
    expect(x[1]).toBeCloseTo(-1, 4);
  });

  it('2F1 and the conditional expectation: purchases in the next 90 days match a simulation', () => {
    expect(hyp2f1(1, 1, 2, 0.5)).toBeCloseTo(-Math.log(0.5) / 0.5, 12); // 2F1(1,1;2;z) = -ln(1-z)/z
    const { customers, future } = simulate(new Rng(21), 8000, 365, 90);
    const predicted = customers.reduce((sum, c) => sum + expectedPurchases(P, c, 90), 0);
    const actual = future;
    expect(Math.abs(predicted / actual - 1)).toBeLessThan(0.08);
  });

  it('Gamma-Gamma: the expected spend by hand, and the parameters recovered from simulated spend', () => {
    expect(expectedSpend({ p: 6, q: 4, gamma: 15 }, { x: 1, mean: 10 })).toBeCloseTo(150 / 9, 12);
    const rng = new Rng(4);
    const spend = Array.from({ length: 6000 }, () => {
      const nu = gammaDraw(rng, P.q, P.gamma);
      const x = 1 + rng.int(8);
      let s = 0;
      for (let k = 0; k < x; k++) s += gammaDraw(rng, P.spendShape, nu);
      return { x, mean: s / x };
    });
    const fit = fitGammaGamma(spend);
    expect(Math.abs(fit.p / P.spendShape - 1)).toBeLessThan(0.2);
    expect(Math.abs(fit.q / P.q - 1)).toBeLessThan(0.2);
    expect(Math.abs(fit.gamma / P.gamma - 1)).toBeLessThan(0.2);
  });

  it('recovers the parameters of 8,000 customers simulated from the model', () => {
    const { customers } = simulate(new Rng(11), 8000, 365);
    const fit = fitBgNbd(customers);
    // Stated tolerance: r within 10%, alpha, a and b within 20% (sampling error at this size).
    expect(Math.abs(fit.r / P.r - 1)).toBeLessThan(0.1);
    expect(Math.abs(fit.alpha / P.alpha - 1)).toBeLessThan(0.2);
    expect(Math.abs(fit.a / P.a - 1)).toBeLessThan(0.2);
    expect(Math.abs(fit.b / P.b - 1)).toBeLessThan(0.2);
  });
});

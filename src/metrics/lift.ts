/**
 * What an audience earned against its randomized holdout, from each group's summary
 * statistics (count, mean, sample variance): the difference in means with its 95% interval
 * and two-sided p-value (Welch's unpooled standard error, normal approximation), the minimum
 * detectable lift of a next run of the same sizes, and CUPED (Deng, Xu, Kohavi and Walker,
 * "Improving the sensitivity of online controlled experiments by utilizing pre-experiment
 * data", WSDM 2013): the outcome less theta x (the pre-period covariate - its mean), theta =
 * cov(X, Y) / var(X) over both groups together, which keeps the lift's expectation and cuts
 * its variance by the squared correlation.
 */

/** One group's statistics of an outcome Y: its count and mean, and its sample variance (ddof 1; NaN under 2 rows). */
export interface GroupStats {
  n: number;
  mean: number;
  variance: number;
}

/** A group's statistics of Y beside a pre-period covariate X: X's mean and variance, and cov(X, Y) (ddof 1). */
export interface CovariateStats extends GroupStats {
  preMean: number;
  preVariance: number;
  covariance: number;
}

export interface LiftEstimate {
  nMembers: number;
  nHoldout: number;
  memberMean: number;
  holdoutMean: number;
  /** memberMean - holdoutMean. */
  lift: number;
  /** lift -/+ 1.96 x the standard error sqrt(s2_m/n_m + s2_h/n_h). */
  liftLow: number;
  liftHigh: number;
  /** lift / holdoutMean (NaN when the holdout's mean is 0). */
  relativeLift: number;
  /** Two-sided, normal: 2 (1 - Phi(|lift| / se)). */
  pValue: number;
  /** lift x the audience's members (all of them, measured or not). */
  incremental: number;
  /** The smallest true lift a next run of these sizes and variances finds at 80% power, 5% two-sided: (z_0.975 + z_0.8) x se. */
  minDetectableLift: number;
}

export interface CupedEstimate extends LiftEstimate {
  /** cov(X, Y) / var(X) over members and holdout together. */
  theta: number;
  /** 1 - var(CUPED lift) / var(lift): the share of the lift's variance the covariate removed. */
  varianceReduction: number;
}

/** Phi^-1(0.975) and Phi^-1(0.8). */
export const Z_975 = 1.959963984540054;
export const Z_80 = 0.8416212335729143;

/** Hart's rational approximation of the normal tail: numerator and denominator coefficients, highest power first. */
const TAIL_NUM = [3.52624965998911e-2, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871, 221.213596169931, 220.206867912376];
const TAIL_DEN = [8.83883476483184e-2, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674, 637.333633378831, 793.826512519948, 440.413735824752];

/** A polynomial's value at x, its coefficients highest power first (Horner's rule). */
function horner(coefficients: number[], x: number): number {
  return coefficients.reduce((acc, c) => acc * x + c, 0);
}

/**
 * The standard normal's upper tail 1 - Phi(z) for z >= 0 (lower tail for z < 0 by symmetry),
 * within 1e-12 relative up to z = 7.07 and 1e-8 beyond (tested against scipy): Hart's
 * algorithm 5666 as given by G. West, "Better approximations to cumulative normal functions",
 * Wilmott Magazine 2009 (also vega-statistics' cumulativeNormal).
 */
export function normalTail(z: number): number {
  const x = Math.abs(z);
  let tail: number;
  if (x > 37) tail = 0;
  else {
    const e = Math.exp((-x * x) / 2);
    if (x < 7.07106781186547) {
      tail = (e * horner(TAIL_NUM, x)) / horner(TAIL_DEN, x);
    } else {
      const cf = x + 1 / (x + 2 / (x + 3 / (x + 4 / (x + 0.65))));
      tail = e / cf / 2.506628274631;
    }
  }
  return z >= 0 ? tail : 1 - tail;
}

/**
 * The lift of members over holdout from each group's statistics of one outcome.
 * @param members the audience's members, measured or not (for `incremental`).
 * @returns every field NaN where it is undefined (a group under 2 rows has no variance).
 */
export function liftOf(m: GroupStats, h: GroupStats, members: number): LiftEstimate {
  const lift = m.mean - h.mean;
  const se = Math.sqrt(m.variance / m.n + h.variance / h.n);
  const z = lift / se;
  const pValue = se > 0 ? 2 * normalTail(Math.abs(z)) : Number.isNaN(se) ? NaN : lift === 0 ? 1 : 0;
  return {
    nMembers: m.n,
    nHoldout: h.n,
    memberMean: m.mean,
    holdoutMean: h.mean,
    lift,
    liftLow: lift - Z_975 * se,
    liftHigh: lift + Z_975 * se,
    relativeLift: h.mean !== 0 ? lift / h.mean : NaN,
    pValue,
    incremental: lift * members,
    minDetectableLift: (Z_975 + Z_80) * se,
  };
}

/** Means, variance of X and cov(X, Y) of two groups together, from their own (Chan, Golub and LeVeque's pairwise update). */
export function pooledCovariate(a: CovariateStats, b: CovariateStats): { n: number; preMean: number; mean: number; preVariance: number; covariance: number } {
  const n = a.n + b.n;
  const dx = b.preMean - a.preMean;
  const dy = b.mean - a.mean;
  const w = (a.n * b.n) / n;
  const m2x = (a.n > 1 ? a.preVariance * (a.n - 1) : 0) + (b.n > 1 ? b.preVariance * (b.n - 1) : 0) + w * dx * dx;
  const cxy = (a.n > 1 ? a.covariance * (a.n - 1) : 0) + (b.n > 1 ? b.covariance * (b.n - 1) : 0) + w * dx * dy;
  return { n, preMean: a.preMean + (dx * b.n) / n, mean: a.mean + (dy * b.n) / n, preVariance: m2x / (n - 1), covariance: cxy / (n - 1) };
}

/**
 * The CUPED lift: each group's statistics of Y - theta (X - mean(X)), X's mean and theta taken
 * over both groups together (theta 0 when X does not vary), then `liftOf` on them.
 * Adjusted mean: mean_g - theta (preMean_g - preMean); adjusted variance:
 * var(Y)_g + theta^2 var(X)_g - 2 theta cov(X, Y)_g.
 */
export function cupedLiftOf(m: CovariateStats, h: CovariateStats, members: number): CupedEstimate {
  const all = pooledCovariate(m, h);
  const theta = all.preVariance > 0 ? all.covariance / all.preVariance : 0;
  const adjust = (g: CovariateStats): GroupStats => ({
    n: g.n,
    mean: g.mean - theta * (g.preMean - all.preMean),
    variance: Math.max(0, g.variance + theta * theta * g.preVariance - 2 * theta * g.covariance),
  });
  const plain = liftOf(m, h, members);
  const cuped = liftOf(adjust(m), adjust(h), members);
  const se2 = (e: LiftEstimate) => ((e.liftHigh - e.liftLow) / (2 * Z_975)) ** 2;
  return { ...cuped, theta, varianceReduction: 1 - se2(cuped) / se2(plain) };
}
